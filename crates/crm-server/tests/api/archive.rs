//! Archive and restore: archived clients and contracts leave lists, relations, search and
//! figures unless asked for, stay reachable by id with everything under them, and their history
//! records both.

use entity::{ContractStatus, PaymentStatus, Role};
use serde_json::{Value, json};

use crate::helpers::{error_codes, fixtures};

fn names(answer: &Value, list: &str, field: &str) -> Vec<String> {
    answer[list]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n[field].as_str().unwrap().to_owned())
        .collect()
}

test_both! {
    async fn an_archived_client_leaves_lists_search_and_figures_and_comes_back(app) {
        let db = &app.db;
        let (ann, ann_token) = app.user("ann", Role::Commercial, None).await;
        let acme = fixtures::client(db, "Acme", Some(ann)).await;
        let zephyr = fixtures::client(db, "Zephyr", Some(ann)).await;
        let contract = fixtures::contract(db, zephyr.id, "Z-1", "100.00", ContractStatus::Active).await;
        fixtures::payment(db, &contract, "40.00", PaymentStatus::Completed).await;
        fixtures::note(db, zephyr.id, None, "Zephyr note").await;

        // Ann archives her own prospect.
        let archived = app
            .gql_as(
                Some(&ann_token),
                "mutation($id: UUID!) { archiveClient(id: $id) { id archivedAt } }",
                json!({ "id": zephyr.id }),
            )
            .await;
        let archived_at = archived["data"]["archiveClient"]["archivedAt"].clone();
        assert!(archived_at.is_string(), "{archived}");
        // Archiving again changes nothing.
        let again = app
            .data("mutation($id: UUID!) { archiveClient(id: $id) { archivedAt } }", json!({ "id": zephyr.id }))
            .await;
        assert_eq!(again["archiveClient"]["archivedAt"], archived_at);

        let lists = "{ clients(orderBy: [{ field: COMPANY_NAME }]) { totalCount nodes { companyName } aggregate { count } }
            archived: clients(filter: { archived: true }) { nodes { companyName } }
            all: clients(filter: { includeArchived: true }, orderBy: [{ field: COMPANY_NAME }]) { totalCount nodes { companyName } }
            groups: clientGroups(by: [{ field: STATUS }]) { nodes { aggregate { count } } } }";
        let answer = app.data(lists, json!({})).await;
        assert_eq!(names(&answer, "clients", "companyName"), ["Acme"]);
        assert_eq!(answer["clients"]["totalCount"], 1);
        assert_eq!(answer["clients"]["aggregate"]["count"], 1);
        assert_eq!(names(&answer, "archived", "companyName"), ["Zephyr"]);
        assert_eq!(names(&answer, "all", "companyName"), ["Acme", "Zephyr"]);
        assert_eq!(answer["all"]["totalCount"], 2);
        assert_eq!(answer["groups"]["nodes"], json!([{ "aggregate": { "count": 1 } }]));

        // Reachable by id, everything under it intact.
        let own = app
            .data(
                "query($id: UUID!) { client(id: $id) { companyName archivedAt contracts { nodes { contractNumber } }
                    payments { aggregate { money(field: AMOUNT) { sum } } } } }",
                json!({ "id": zephyr.id }),
            )
            .await;
        assert_eq!(own["client"]["archivedAt"], archived_at);
        assert_eq!(own["client"]["contracts"]["nodes"], json!([{ "contractNumber": "Z-1" }]));
        assert_eq!(own["client"]["payments"]["aggregate"]["money"], json!([{ "sum": "40.00" }]));

        // Search leaves it out unless asked.
        let search = "query($all: Boolean) { search(query: \"zephyr\", includeArchived: $all) { nodes { kind } } }";
        let found = app.data(search, json!({})).await;
        assert_eq!(found["search"]["nodes"], json!([{ "kind": "NOTE" }]));
        let found = app.data(search, json!({ "all": true })).await;
        assert_eq!(found["search"]["nodes"].as_array().unwrap().len(), 2);

        // Restored: back everywhere; the history has both.
        app.data("mutation($id: UUID!) { restoreClient(id: $id) { archivedAt } }", json!({ "id": zephyr.id }))
            .await;
        let answer = app.data(lists, json!({})).await;
        assert_eq!(names(&answer, "clients", "companyName"), ["Acme", "Zephyr"]);
        assert_eq!(answer["archived"]["nodes"], json!([]));
        let history = app.system_notes(zephyr.id).await;
        assert!(history.iter().any(|n| n == "Client archived"), "{history:?}");
        assert!(history.iter().any(|n| n == "Client restored"), "{history:?}");

        // Someone else's client: not found for Ann.
        let (_, ben_token) = app.user("ben", Role::Commercial, None).await;
        let refused = app
            .gql_as(Some(&ben_token), "mutation($id: UUID!) { archiveClient(id: $id) { id } }", json!({ "id": acme.id }))
            .await;
        assert_eq!(error_codes(&refused), ["NOT_FOUND"]);
    }
}

test_both! {
    async fn an_archived_contract_leaves_its_client_s_lists_and_figures(app) {
        let db = &app.db;
        let (_, ann_token) = app.user("ann", Role::Commercial, None).await;
        let client = fixtures::client(db, "Acme", None).await;
        let kept = fixtures::contract(db, client.id, "K-1", "100.00", ContractStatus::Active).await;
        let old = fixtures::contract(db, client.id, "O-1", "900.00", ContractStatus::Completed).await;
        fixtures::payment(db, &old, "900.00", PaymentStatus::Completed).await;

        let refused = app
            .gql_as(Some(&ann_token), "mutation($id: UUID!) { archiveContract(id: $id) { id } }", json!({ "id": old.id }))
            .await;
        assert_eq!(error_codes(&refused), ["FORBIDDEN"]);
        app.data("mutation($id: UUID!) { archiveContract(id: $id) { id } }", json!({ "id": old.id }))
            .await;

        let answer = app
            .data(
                "query($id: UUID!) { contracts { nodes { contractNumber } aggregate { money(field: AMOUNT) { sum } } }
                   client(id: $id) { contracts { totalCount nodes { contractNumber } }
                     payments { nodes { amount } } }
                   contract(id: $id2) { contractNumber archivedAt } }"
                    .replace("$id2", &format!("\"{}\"", old.id))
                    .as_str(),
                json!({ "id": client.id }),
            )
            .await;
        assert_eq!(names(&answer, "contracts", "contractNumber"), ["K-1"]);
        assert_eq!(answer["contracts"]["aggregate"]["money"], json!([{ "sum": "100.00" }]));
        assert_eq!(answer["client"]["contracts"], json!({ "totalCount": 1, "nodes": [{ "contractNumber": "K-1" }] }));
        // Its payments stay.
        assert_eq!(answer["client"]["payments"]["nodes"], json!([{ "amount": "900.00" }]));
        assert_eq!(answer["contract"]["contractNumber"], "O-1");
        assert!(answer["contract"]["archivedAt"].is_string());
        let history = app.system_notes(client.id).await;
        assert!(history.iter().any(|n| n == "Contract O-1 archived"), "{history:?}");

        // Deleting for good is for admins: managers archive.
        let (_, mia_token) = app.user("mia", Role::Manager, None).await;
        for (query, id) in [
            ("mutation($id: UUID!) { deleteContract(id: $id) }", kept.id),
            ("mutation($id: UUID!) { deleteClient(id: $id) }", client.id),
        ] {
            let refused = app.gql_as(Some(&mia_token), query, json!({ "id": id })).await;
            assert_eq!(error_codes(&refused), ["FORBIDDEN"], "{query}");
        }
        let archived = app
            .gql_as(Some(&mia_token), "mutation($id: UUID!) { archiveContract(id: $id) { id } }", json!({ "id": kept.id }))
            .await;
        assert!(archived["errors"].is_null(), "{archived}");
    }
}
