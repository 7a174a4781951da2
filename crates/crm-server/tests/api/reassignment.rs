//! Writes under a visibility rule against a concurrent reassignment: a rep's write on a client
//! that is being taken from them waits for the reassignment, and once it is committed the
//! client is no longer theirs (`NOT_FOUND`, nothing written). The check and the write are never
//! apart: the reassignment is held open in a transaction of its own while the write runs.

use std::time::Duration;

use entity::{ContractStatus, Role, client_notes, clients, payments};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Backend, TestApp, error_codes, fixtures};

/// A rep, their client, and the colleague the client is being moved to.
struct Desk {
    rep: Uuid,
    rep_token: String,
    colleague: Uuid,
    client: clients::Model,
}

async fn desk(app: &TestApp) -> Desk {
    let (rep, rep_token) = app.user("rita", Role::Commercial, None).await;
    let (colleague, _) = app.user("carl", Role::Commercial, None).await;
    let client = fixtures::client(&app.db, "Acme", Some(rep)).await;
    Desk {
        rep,
        rep_token,
        colleague,
        client,
    }
}

/// Starts moving `client` to `to` (as `assignClient` does) without committing.
async fn start_reassignment(app: &TestApp, client: Uuid, to: Uuid) -> DatabaseTransaction {
    let txn = crm_server::db::begin_write(&app.db).await.unwrap();
    clients::Entity::update_many()
        .col_expr(clients::Column::AssignedTo, Expr::value(to))
        .filter(clients::Column::Id.eq(client))
        .exec(&txn)
        .await
        .unwrap();
    txn
}

/// Returns once a statement of the server waits for a lock (PostgreSQL). SQLite shows no
/// waiters: the request is given a moment to reach its write, which waits for the writer.
async fn until_a_statement_waits(app: &TestApp) {
    if app.backend == Backend::Sqlite {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return;
    }
    loop {
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db_backend(),
                "SELECT COUNT(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Sends `mutation` as the rep while the client's reassignment is open, and ends the
/// reassignment (`commit`, or roll it back) once the write waits for it. A write that does not
/// wait answers before the reassignment ends.
async fn during_reassignment(
    app: &TestApp,
    desk: &Desk,
    commit: bool,
    mutation: &str,
    variables: Value,
) -> Value {
    let txn = start_reassignment(app, desk.client.id, desk.colleague).await;
    let request = app.gql_as(Some(&desk.rep_token), mutation, variables);
    tokio::pin!(request);
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::select! {
            response = &mut request => Some(response),
            () = until_a_statement_waits(app) => None,
        }
    })
    .await
    .expect("the write neither answered nor waited");
    if commit {
        txn.commit().await.unwrap();
    } else {
        txn.rollback().await.unwrap();
    }
    match answered {
        Some(response) => response,
        None => request.await,
    }
}

fn refusal(response: &Value) -> (Vec<String>, Value) {
    (
        error_codes(response),
        response["errors"][0]["extensions"]["field"].clone(),
    )
}

const CREATE_NOTE: &str = "mutation($c: UUID!, $text: String!) { createClientNote(input: { clientId: $c, noteType: \"call\", content: $text }) { id content } }";

async fn notes_by(app: &TestApp, user: Uuid) -> u64 {
    client_notes::Entity::find()
        .filter(client_notes::Column::UserId.eq(user))
        .filter(client_notes::Column::NoteType.ne("system"))
        .count(&app.db)
        .await
        .unwrap()
}

test_both! {
    async fn a_rep_s_note_waits_for_a_reassignment_and_is_refused_once_it_lands(app) {
        let desk = desk(&app).await;
        // For a rep, the check that the client is theirs is part of the INSERT itself.
        app.gql_as(Some(&desk.rep_token), "{ me { id } }", Value::Null).await;
        app.take_statement_count();
        let written = app
            .gql_as(Some(&desk.rep_token), CREATE_NOTE, json!({ "c": desk.client.id, "text": "before" }))
            .await;
        assert!(written.get("errors").is_none(), "{written}");
        assert_eq!(app.take_statement_count(), 1, "check and insert in one statement");

        let moved = during_reassignment(&app, &desk, true, CREATE_NOTE, json!({ "c": desk.client.id, "text": "after" })).await;
        assert_eq!(refusal(&moved), (vec!["NOT_FOUND".to_owned()], json!("clientId")), "{moved}");
        assert_eq!(notes_by(&app, desk.rep).await, 1, "only the note written before the move");

        // A reassignment that is rolled back lets the waiting note through.
        let desk = Desk { client: fixtures::client(&app.db, "Bolt", Some(desk.rep)).await, ..desk };
        let kept = during_reassignment(&app, &desk, false, CREATE_NOTE, json!({ "c": desk.client.id, "text": "kept" })).await;
        assert_eq!(kept["data"]["createClientNote"]["content"], "kept", "{kept}");
        assert_eq!(notes_by(&app, desk.rep).await, 2);
    }
}

test_both! {
    async fn a_rep_s_payment_waits_for_a_reassignment_and_is_refused_once_it_lands(app) {
        let desk = desk(&app).await;
        let contract = fixtures::contract(&app.db, desk.client.id, "K-1", "1000.00", ContractStatus::Active).await;
        for mutation in [
            "mutation($c: UUID!) { recordPayment(input: { contractId: $c, amount: \"10.00\" }) { id } }",
            "mutation($c: UUID!) { createPayment(input: { contractId: $c, amount: \"10.00\", paymentDate: \"2026-05-01\" }) { id } }",
        ] {
            // Each round takes the client back first.
            clients::Entity::update_many()
                .col_expr(clients::Column::AssignedTo, Expr::value(desk.rep))
                .filter(clients::Column::Id.eq(desk.client.id))
                .exec(&app.db)
                .await
                .unwrap();
            let moved = during_reassignment(&app, &desk, true, mutation, json!({ "c": contract.id })).await;
            assert_eq!(refusal(&moved), (vec!["NOT_FOUND".to_owned()], json!("contractId")), "{mutation}: {moved}");
        }
        let taken = payments::Entity::find()
            .filter(payments::Column::ContractId.eq(contract.id))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(taken, 0);
        let history = client_notes::Entity::find()
            .filter(client_notes::Column::ClientId.eq(desk.client.id))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(history, 0, "no history entry either");
        // Unchanged for a payment on a client that stays hers.
        let kept = fixtures::client(&app.db, "Bolt", Some(desk.rep)).await;
        let contract = fixtures::contract(&app.db, kept.id, "K-2", "1000.00", ContractStatus::Active).await;
        let paid = app
            .gql_as(Some(&desk.rep_token), "mutation($c: UUID!) { recordPayment(input: { contractId: $c, amount: \"10.00\" }) { status } }", json!({ "c": contract.id }))
            .await;
        assert_eq!(paid["data"]["recordPayment"]["status"], "completed", "{paid}");
    }
}

test_both! {
    async fn a_rep_s_edits_wait_for_a_reassignment_and_are_refused_once_it_lands(app) {
        let desk = desk(&app).await;
        let note = fixtures::note(&app.db, desk.client.id, Some(desk.rep), "as written").await;
        let cases = [
            ("mutation($id: UUID!) { updateClientNote(id: $id, input: { content: \"edited\" }) { id } }", note.id),
            ("mutation($id: UUID!) { deleteClientNote(id: $id) }", note.id),
            ("mutation($id: UUID!) { updateClient(id: $id, input: { city: \"Lyon\" }) { id } }", desk.client.id),
            ("mutation($id: UUID!) { completeClientKyc(id: $id) { id } }", desk.client.id),
        ];
        let mut kyc_pending: clients::ActiveModel = desk.client.clone().into();
        kyc_pending.kyc_completed = sea_orm::ActiveValue::Set(false);
        sea_orm::ActiveModelTrait::update(kyc_pending, &app.db).await.unwrap();
        for (mutation, id) in cases {
            clients::Entity::update_many()
                .col_expr(clients::Column::AssignedTo, Expr::value(desk.rep))
                .filter(clients::Column::Id.eq(desk.client.id))
                .exec(&app.db)
                .await
                .unwrap();
            let moved = during_reassignment(&app, &desk, true, mutation, json!({ "id": id })).await;
            assert_eq!(refusal(&moved), (vec!["NOT_FOUND".to_owned()], json!("id")), "{mutation}: {moved}");
        }
        let note_now = client_notes::Entity::find_by_id(note.id).one(&app.db).await.unwrap().unwrap();
        assert_eq!(note_now.content, "as written");
        let client_now = clients::Entity::find_by_id(desk.client.id).one(&app.db).await.unwrap().unwrap();
        assert_eq!((client_now.city.as_deref(), client_now.kyc_completed), (Some("Paris"), false));
    }
}
