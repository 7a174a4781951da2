//! The change feed: every change to the live tables reaches the feed of every server instance
//! once, in order, whatever made it, and nothing is lost when a listener connection dies.

use std::time::Duration;

use crm_server::live::feed::{
    Change, Feed, Interest, Operation, Retention, Subscription, prune_through, since,
};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{Backend, fixtures};

/// Every change of every table.
const EVERYTHING: Interest = Interest {
    table: None,
    client: None,
};

/// The next change, within 10 s.
async fn next(changes: &mut Subscription) -> Change {
    let change = tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("a change within 10 s")
        .expect("the feed is open");
    (*change).clone()
}

test_both! {
    async fn every_change_reaches_the_feed_once_in_order(app) {
        let feed = Feed::start(app.db.clone(), Duration::from_millis(200), 4096);
        feed.started().await;
        let mut changes = feed.subscribe(EVERYTHING);
        let before = since(&app.db, 0, 1_000_000).await.unwrap().last().map_or(0, |c| c.seq);

        let client = fixtures::client(&app.db, "Live", None).await;
        app.data(
            "mutation($id: UUID!) { updateClient(id: $id, input: { city: \"Lyon\" }) { id } }",
            json!({ "id": client.id }),
        )
        .await;
        let contract = fixtures::contract(&app.db, client.id, "L-1", "100.00", entity::ContractStatus::Active).await;
        feed.wake();

        let created = next(&mut changes).await;
        assert_eq!(
            (created.table.as_str(), created.row_id, created.client_id, created.operation),
            ("clients", client.id, Some(client.id), Operation::Created)
        );
        let updated = next(&mut changes).await;
        assert_eq!((updated.table.as_str(), updated.operation), ("clients", Operation::Updated));
        let contract_created = next(&mut changes).await;
        assert_eq!(
            (contract_created.table.as_str(), contract_created.row_id, contract_created.client_id),
            ("contracts", contract.id, Some(client.id))
        );
        assert!(created.seq < updated.seq && updated.seq < contract_created.seq);
        // The contract moved the client's stored totals: the client changed too.
        let totals = next(&mut changes).await;
        assert_eq!((totals.table.as_str(), totals.row_id, totals.operation), ("clients", client.id, Operation::Updated));

        // The log holds the same, for a subscriber resuming after `before`.
        let logged = since(&app.db, before, 100).await.unwrap();
        assert_eq!(logged[..4], [created, updated, contract_created, totals]);
        assert!(changes.try_recv().is_none(), "each change once");

        // Entries older than the retention go, except the newest (numbers are not reused).
        let mut retention = Retention::default();
        let keep = Duration::from_millis(300);
        assert_eq!(retention.mark(&app.db, keep).await.unwrap(), None);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let through = retention.mark(&app.db, keep).await.unwrap().unwrap();
        assert_eq!(through, logged.last().unwrap().seq);
        assert!(prune_through(&app.db, through).await.unwrap() >= 3);
        assert_eq!(since(&app.db, 0, 100).await.unwrap(), logged[logged.len() - 1..]);
        let after = fixtures::client(&app.db, "After pruning", None).await;
        feed.wake();
        let change = next(&mut changes).await;
        assert_eq!((change.row_id, change.seq), (after.id, through + 1), "numbers go on");
    }
}

test_both! {
    async fn every_instance_hears_of_a_change_and_a_dead_listener_loses_nothing(app) {
        if app.backend != Backend::Postgres {
            return;
        }
        // Two instances' feeds: the one whose instance wrote notifies the other; the poll (2 s)
        // catches up on what a reconnecting listener missed.
        let poll = Duration::from_secs(2);
        let one = Feed::start(app.db.clone(), poll, 4096);
        let two = Feed::start(app.db.clone(), poll, 4096);
        one.started().await;
        two.started().await;
        let (mut on_one, mut on_two) = (one.subscribe(EVERYTHING), two.subscribe(EVERYTHING));
        // Both listeners connected (and the test server's own).
        assert_eq!(crate::helpers::wait_for_listeners(&app.db, 3).await, 3);
        let client = fixtures::client(&app.db, "Heard", None).await;
        let written = std::time::Instant::now();
        one.wake();
        assert_eq!(next(&mut on_one).await.row_id, client.id);
        assert_eq!(next(&mut on_two).await.row_id, client.id);
        assert!(written.elapsed() < Duration::from_secs(1), "notified, not polled: {:?}", written.elapsed());

        // The listeners' connections killed: a change made now still arrives (they reconnect
        // and read the log from where they were).
        app.db
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'crm-change-listener'",
            )
            .await
            .unwrap();
        let other = fixtures::client(&app.db, "After", None).await;
        one.wake();
        assert_eq!(next(&mut on_one).await.row_id, other.id);
        assert_eq!(next(&mut on_two).await.row_id, other.id);
    }
}

test_both! {
    /// Entries written by hand are read however their ids were written (as text on SQLite);
    /// one that cannot be read at all is skipped instead of stopping the log.
    async fn hand_written_log_entries_do_not_stop_the_log(app) {
        let before = since(&app.db, 0, 1_000_000).await.unwrap().last().map_or(0, |c| c.seq);
        let id = uuid::Uuid::now_v7();
        app.db.execute_unprepared(&format!(
            "INSERT INTO change_events (table_name, row_id, client_id, operation) \
             VALUES ('clients', '{id}', '{id}', 'updated')"
        )).await.unwrap();
        if app.backend == crate::helpers::Backend::Sqlite {
            app.db.execute_unprepared(
                "INSERT INTO change_events (table_name, row_id, client_id, operation) \
                 VALUES ('clients', 'not a uuid', NULL, 'updated')",
            ).await.unwrap();
        }
        let after = fixtures::client(&app.db, "After the hand-written entries", None).await;
        let read = since(&app.db, before, 100).await.unwrap();
        let ids: Vec<uuid::Uuid> = read.iter().map(|change| change.row_id).collect();
        assert_eq!(ids, [id, after.id], "{read:?}");
        assert_eq!(read[0].client_id, Some(id));
    }
}
