//! The audit trail: every field an update changes, with old and new values, actor, time and
//! request id, in the update's transaction; read by managers and admins.

use entity::{ContractStatus, PaymentStatus, Role};
use serde_json::{Value, json};

use crate::helpers::{error_codes, fixtures};

/// Rows of the trail, as `db` (a connection or a transaction) sees them.
async fn count(db: &impl sea_orm::ConnectionTrait) -> i64 {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM audit_entries",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

fn changes(answer: &Value, path: &str) -> Vec<(String, Value, Value)> {
    answer[path]["changes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["oldValue"].clone(),
                c["newValue"].clone(),
            )
        })
        .collect()
}

test_both! {
    async fn every_changed_field_is_recorded_with_who_and_when(app) {
        let db = &app.db;
        let (ann, ann_token) = app.user("ann", Role::Commercial, None).await;
        let client = fixtures::client(db, "Acme", Some(ann)).await;
        let contract = fixtures::contract(db, client.id, "A-1", "100.00", ContractStatus::Active).await;
        let payment = fixtures::payment(db, &contract, "10.00", PaymentStatus::Pending).await;

        app.data(
            "mutation($id: UUID!) { updateClient(id: $id, input: { companyName: \"Acme Group\", city: null }) { id } }",
            json!({ "id": client.id }),
        )
        .await;
        app.data(
            "mutation($id: UUID!) { updateContract(id: $id, input: { amount: \"150.00\" }) { id } }",
            json!({ "id": contract.id }),
        )
        .await;
        app.data(
            "mutation($id: UUID!) { updatePayment(id: $id, input: { amount: \"12.50\", status: completed }) { id } }",
            json!({ "id": payment.id }),
        )
        .await;
        app.data("mutation($id: UUID!) { archiveContract(id: $id) { id } }", json!({ "id": contract.id }))
            .await;

        let read = "query($c: UUID!, $k: UUID!, $p: UUID!) {
            client(id: $c) { changes { totalCount nodes { field oldValue newValue requestId changedAt actor { username } } } }
            contract(id: $k) { changes { nodes { field oldValue newValue } } }
            payment(id: $p) { changes { nodes { field oldValue newValue } } } }";
        let vars = json!({ "c": client.id, "k": contract.id, "p": payment.id });
        let answer = app.data(read, vars.clone()).await;
        let mut client_changes = changes(&answer, "client");
        client_changes.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            client_changes,
            vec![
                ("city".to_owned(), json!("Paris"), Value::Null),
                ("companyName".to_owned(), json!("Acme"), json!("Acme Group")),
            ]
        );
        let first = &answer["client"]["changes"]["nodes"][0];
        assert_eq!(answer["client"]["changes"]["totalCount"], 2);
        assert!(first["requestId"].is_string() && first["changedAt"].is_string(), "{first}");
        assert_eq!(first["actor"]["username"], "test-admin");
        // Newest first: the archive, then the amount.
        let contract_changes = changes(&answer, "contract");
        assert_eq!(contract_changes[0].0, "archivedAt");
        assert!(contract_changes[0].2.is_string());
        assert_eq!(contract_changes[1], ("amount".to_owned(), json!("100.00"), json!("150.00")));
        let mut payment_changes = changes(&answer, "payment");
        payment_changes.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            payment_changes,
            vec![
                ("amount".to_owned(), json!("10.00"), json!("12.50")),
                ("status".to_owned(), json!("pending"), json!("completed")),
            ]
        );

        // A refused update records nothing.
        let refused = app
            .gql(
                "mutation($id: UUID!) { updateContract(id: $id, input: { amount: \"-1\" }) { id } }",
                json!({ "id": contract.id }),
            )
            .await;
        assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"]);
        let again = app.data(read, vars.clone()).await;
        assert_eq!(changes(&again, "contract").len(), 2);

        // The trail's cost in round trips to the database: none (PostgreSQL: the update and
        // its entries are one statement; SQLite: two statements sent at once).
        let rename = "mutation($id: UUID!, $name: String!) { updateClient(id: $id, input: { companyName: $name }) { id } }";
        app.take_statement_count();
        app.data(rename, json!({ "id": client.id, "name": "Acme Group" })).await;
        let unchanged = app.take_statement_count();
        app.data(rename, json!({ "id": client.id, "name": "Acme Holding" })).await;
        let audited = app.take_statement_count();
        assert_eq!(audited, unchanged, "{unchanged} statements, {audited} with an entry");
        app.data(rename, json!({ "id": client.id, "name": "Acme Group" })).await;

        // Under a list: one statement for the rows' pages of changes, one for their counts,
        // whatever the number of rows (no statement per row).
        let other = fixtures::client(db, "Other", None).await;
        app.data(
            "mutation($id: UUID!) { updateClient(id: $id, input: { city: \"Lyon\" }) { id } }",
            json!({ "id": other.id }),
        )
        .await;
        app.take_statement_count();
        let listed = app
            .data(
                "{ clients(orderBy: [{ field: COMPANY_NAME }]) { nodes { companyName changes(first: 1) {
                    totalCount nodes { field newValue } pageInfo { hasNextPage } } } } }",
                json!({}),
            )
            .await;
        assert_eq!(app.take_statement_count(), 3, "{listed}");
        let nodes = &listed["clients"]["nodes"];
        assert_eq!(nodes[0]["companyName"], "Acme Group");
        assert_eq!(nodes[0]["changes"]["totalCount"], 4);
        assert_eq!(nodes[0]["changes"]["nodes"].as_array().map(Vec::len), Some(1));
        assert_eq!(nodes[0]["changes"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(nodes[1]["changes"]["totalCount"], 1);
        assert_eq!(nodes[1]["changes"]["nodes"], json!([{ "field": "city", "newValue": "Lyon" }]));
        assert_eq!(nodes[1]["changes"]["pageInfo"]["hasNextPage"], false);

        // Commercials may not read it.
        let answer = app
            .gql_as(
                Some(&ann_token),
                "query($c: UUID!) { client(id: $c) { changes { nodes { field } } } }",
                json!({ "c": client.id }),
            )
            .await;
        assert_eq!(error_codes(&answer), ["FORBIDDEN"], "{answer}");
    }
}

test_both! {
    async fn an_audit_entry_is_written_in_its_update_s_transaction(app) {
        use sea_orm::{EntityTrait, Set, TransactionTrait};
        let client = fixtures::client(&app.db, "Acme", None).await;
        let admin = crm_server::auth::Viewer { user_id: app.admin_id, role: Role::Admin };
        let txn = app.db.begin().await.unwrap();
        let mut renamed: entity::clients::ActiveModel = client.clone().into();
        renamed.company_name = Set("Renamed".to_owned());
        renamed.city = Set(client.city.clone());
        renamed.updated_at = Set(chrono::Utc::now());
        let after = crm_server::audit::update::<entity::clients::Entity>(&txn, admin, &client, renamed)
            .await
            .unwrap();
        // The row answered (on PostgreSQL, by the update and the entry's one statement) is the
        // row as SeaORM reads it.
        let read = entity::clients::Entity::find_by_id(client.id).one(&txn).await.unwrap().unwrap();
        assert_eq!(after, read);
        assert_eq!(after.company_name, "Renamed");
        // Only the field set to another value is recorded.
        assert_eq!(count(&txn).await, 1, "the entry is in the transaction");
        txn.rollback().await.unwrap();
        assert_eq!(count(&app.db).await, 0, "and goes with it");
        let kept = app.data("query($id: UUID!) { client(id: $id) { companyName } }", json!({ "id": client.id })).await;
        assert_eq!(kept["client"]["companyName"], "Acme");
    }
}
