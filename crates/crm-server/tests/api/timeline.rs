//! A client's timeline: every kind of item, newest first, paged across kinds, with actors.

use entity::{ContractStatus, PaymentStatus, Role};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::helpers::fixtures;

const TIMELINE: &str = "query($id: UUID!, $first: Int, $after: String) { client(id: $id) {
    timeline(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        nodes { kind at actor { username } node { __typename } } } } }";

fn kinds(answer: &Value) -> Vec<String> {
    answer["client"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

test_both! {
    async fn the_timeline_merges_every_kind_newest_first_and_pages_across_them(app) {
        let db = &app.db;
        let (ann, ann_token) = app.user("ann", Role::Commercial, None).await;
        let client = fixtures::client(db, "Acme", Some(ann)).await;
        // Four kinds at the same instant.
        let same = fixtures::at(2026, 3, 3);
        let note = fixtures::note(db, client.id, Some(ann), "Called them").await;
        let mut note: entity::client_notes::ActiveModel = note.into();
        note.created_at = Set(same);
        note.update(db).await.unwrap();
        let contract = fixtures::contract(db, client.id, "T-1", "100.00", ContractStatus::Active).await;
        let mut signed: entity::contracts::ActiveModel = contract.clone().into();
        signed.signed_at = Set(Some(same));
        signed.commercial_id = Set(Some(ann));
        signed.update(db).await.unwrap();
        let payment = fixtures::payment(db, &contract, "10.00", PaymentStatus::Completed).await;
        let mut paid: entity::payments::ActiveModel = payment.into();
        paid.created_at = Set(same);
        paid.update(db).await.unwrap();
        let document = fixtures::document(db, client.id, None, Some(ann)).await;
        let mut added: entity::documents::ActiveModel = document.into();
        added.created_at = Set(same);
        added.update(db).await.unwrap();
        // Then an update: a history entry (status) and its audit entries, now.
        app.data(
            "mutation($id: UUID!) { updateClient(id: $id, input: { status: inactive }) { id } }",
            json!({ "id": client.id }),
        )
        .await;

        let whole = app.data(TIMELINE, json!({ "id": client.id, "first": 50 })).await;
        let all = kinds(&whole);
        assert_eq!(whole["client"]["timeline"]["totalCount"], 6, "{all:?}");
        let mut newest: Vec<String> = all[..2].to_vec();
        newest.sort();
        assert_eq!(newest, ["CHANGE", "HISTORY"], "{all:?}");
        // Equal times: by kind, then id.
        assert_eq!(all[2..], ["CONTRACT_SIGNED", "DOCUMENT", "NOTE", "PAYMENT"], "{all:?}");
        let nodes = &whole["client"]["timeline"]["nodes"];
        let typename = |i: usize| nodes[i]["node"]["__typename"].as_str().unwrap().to_owned();
        assert_eq!((2..6).map(typename).collect::<Vec<_>>(), ["Contract", "Document", "ClientNote", "Payment"]);
        assert_eq!(nodes[2]["actor"]["username"], "ann");
        assert_eq!(nodes[3]["actor"]["username"], "ann");
        assert_eq!(nodes[4]["actor"]["username"], "ann");
        assert_eq!(nodes[5]["actor"], Value::Null);

        // One item per page: the same items in the same order.
        let mut paged = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app.data(TIMELINE, json!({ "id": client.id, "first": 1, "after": after })).await;
            paged.extend(kinds(&page));
            if page["client"]["timeline"]["pageInfo"]["hasNextPage"] == json!(false) {
                break;
            }
            after = page["client"]["timeline"]["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(paged, all);

        // A commercial's timeline has no audit entries.
        let own = app.gql_as(Some(&ann_token), TIMELINE, json!({ "id": client.id, "first": 50 })).await;
        let own_kinds = kinds(&own["data"]);
        assert!(!own_kinds.contains(&"CHANGE".to_owned()), "{own_kinds:?}");
        assert_eq!(own_kinds.len(), 5);
    }
}
