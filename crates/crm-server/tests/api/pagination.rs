//! Relay pagination: keyset cursors forwards and backwards, stable across inserts, errors.

use entity::Role;
use serde_json::{Value, json};

use crate::helpers::{error_codes, fixtures, pluck_str};

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  clients(first: $first, after: $after, last: $last, before: $before,
          orderBy: [{ field: COMPANY_NAME }]) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { companyName } }
    nodes { companyName }
  }
}";

async fn seed_names(app: &crate::helpers::TestApp, names: &[&str]) {
    for name in names {
        fixtures::client(&app.db, name, None).await;
    }
}

test_both! {
    async fn pages_forward_and_backward_with_inserts_in_between(app) {
        seed_names(&app, &["C", "A", "E", "B", "D", "F", "G"]).await;

        let page1 = app.data(PAGE, json!({ "first": 3 })).await;
        let c = &page1["clients"];
        assert_eq!(pluck_str(c, "companyName"), ["A", "B", "C"]);
        assert_eq!(c["totalCount"], 7);
        assert_eq!(c["pageInfo"]["hasNextPage"], true);
        assert_eq!(c["pageInfo"]["hasPreviousPage"], false);
        assert_eq!(c["edges"][2]["cursor"], c["pageInfo"]["endCursor"]);
        assert_eq!(c["edges"][0]["cursor"], c["pageInfo"]["startCursor"]);

        // Rows inserted before the cursor do not shift the next page.
        seed_names(&app, &["AA", "0"]).await;
        let end = c["pageInfo"]["endCursor"].clone();
        let page2 = app.data(PAGE, json!({ "first": 3, "after": end })).await;
        let c2 = &page2["clients"];
        assert_eq!(pluck_str(c2, "companyName"), ["D", "E", "F"]);
        assert_eq!(c2["pageInfo"]["hasPreviousPage"], true);
        assert_eq!(c2["pageInfo"]["hasNextPage"], true);
        assert_eq!(c2["totalCount"], 9);

        let page3 = app.data(PAGE, json!({ "first": 3, "after": c2["pageInfo"]["endCursor"] })).await;
        assert_eq!(pluck_str(&page3["clients"], "companyName"), ["G"]);
        assert_eq!(page3["clients"]["pageInfo"]["hasNextPage"], false);

        // Backwards from D: the three rows before it, in list order.
        let d_cursor = c2["edges"][0]["cursor"].clone();
        let back = app.data(PAGE, json!({ "last": 3, "before": d_cursor })).await;
        assert_eq!(pluck_str(&back["clients"], "companyName"), ["AA", "B", "C"]);
        assert_eq!(back["clients"]["pageInfo"]["hasPreviousPage"], true);
        assert_eq!(back["clients"]["pageInfo"]["hasNextPage"], true);

        // The last rows of the whole list.
        let tail = app.data(PAGE, json!({ "last": 2 })).await;
        assert_eq!(pluck_str(&tail["clients"], "companyName"), ["F", "G"]);
        assert_eq!(tail["clients"]["pageInfo"]["hasPreviousPage"], true);
        assert_eq!(tail["clients"]["pageInfo"]["hasNextPage"], false);
    }
}

test_both! {
    async fn walking_every_page_visits_each_row_once(app) {
        // Ties on the sort key are broken by id, so pages never skip or repeat a row.
        for i in 0..9 {
            fixtures::client(&app.db, if i % 2 == 0 { "Same" } else { "Other" }, None).await;
        }
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let data = app.data(PAGE, json!({ "first": 2, "after": after })).await;
            let c = &data["clients"];
            for edge in c["edges"].as_array().unwrap() {
                seen.push(edge["cursor"].as_str().unwrap().to_owned());
            }
            if c["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = c["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 9);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 9);
    }
}

test_both! {
    async fn page_size_defaults_to_twenty_and_is_capped(app) {
        for i in 0..25 {
            fixtures::client(&app.db, &format!("Client {i:02}"), None).await;
        }
        let data = app.data(PAGE, json!({})).await;
        assert_eq!(data["clients"]["nodes"].as_array().unwrap().len(), 20);

        for (variables, field) in [
            (json!({ "first": 101 }), "first"),
            (json!({ "first": -1 }), "first"),
            (json!({ "last": 500 }), "last"),
            (json!({ "first": 2, "last": 2 }), "last"),
        ] {
            let response = app.gql(PAGE, variables.clone()).await;
            assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{variables}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], field, "{response}");
        }
        let zero = app.data(PAGE, json!({ "first": 0 })).await;
        assert_eq!(zero["clients"]["nodes"], json!([]));
        assert_eq!(zero["clients"]["pageInfo"]["hasNextPage"], true);
    }
}

test_both! {
    async fn a_tampered_or_foreign_cursor_is_a_bad_user_input(app) {
        seed_names(&app, &["A", "B"]).await;
        let data = app.data(PAGE, json!({ "first": 1 })).await;
        let cursor = data["clients"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();

        let mut tampered = cursor.clone();
        tampered.replace_range(3..6, "zzz");
        for bad in ["not a cursor", "eyJ4IjoxfQ", tampered.as_str()] {
            let response = app.gql(PAGE, json!({ "first": 1, "after": bad })).await;
            assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{bad}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], "after");
        }
        // A cursor made for another ordering is refused rather than misread.
        let response = app
            .gql(
                "query($after: String) { clients(first: 1, after: $after, orderBy: [{ field: CREATED_AT }]) { nodes { id } } }",
                json!({ "after": cursor }),
            )
            .await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "after", "{response}");
    }
}

/// A cursor's JSON, edited by `edit` and encoded again.
fn forge(cursor: &str, edit: impl FnOnce(&mut Value)) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut json: Value = serde_json::from_slice(&engine.decode(cursor).unwrap()).unwrap();
    edit(&mut json);
    engine.encode(json.to_string())
}

/// Asserts `BAD_USER_INPUT` naming `field`.
fn refused(response: &Value, field: &str) {
    assert_eq!(error_codes(response), ["BAD_USER_INPUT"], "{response}");
    assert_eq!(
        response["errors"][0]["extensions"]["field"], field,
        "{response}"
    );
}

test_both! {
    async fn a_cursor_is_accepted_only_by_its_own_list_and_ordering(app) {
        let acme = fixtures::client(&app.db, "Acme", None).await;
        let bolt = fixtures::client(&app.db, "Bolt", None).await;
        for client in [&acme, &bolt] {
            for number in ["1", "2"] {
                let contract = fixtures::contract(&app.db, client.id, &format!("{}-{number}", client.company_name), "100.00", entity::ContractStatus::Active).await;
                fixtures::payment(&app.db, &contract, "5.00", entity::PaymentStatus::Completed).await;
            }
            fixtures::note(&app.db, client.id, None, "hello").await;
        }
        const CLIENTS: &str = "query($after: String, $before: String, $order: [ClientOrder!]) {
          clients(first: 1, after: $after, before: $before, orderBy: $order) { nodes { companyName } pageInfo { endCursor } } }";
        const PAYMENTS: &str = "query($order: [PaymentOrder!]) { payments(first: 1, orderBy: $order) { pageInfo { endCursor } } }";
        let end = |data: &Value, list: &str| data[list]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();

        // A payments cursor, with the default order or one both lists have, is not a clients cursor.
        for order in [Value::Null, json!([{ "field": "CREATED_AT" }])] {
            let payment = end(&app.data(PAYMENTS, json!({ "order": order })).await, "payments");
            for argument in ["after", "before"] {
                let response = app.gql(CLIENTS, json!({ argument: payment, "order": order })).await;
                refused(&response, argument);
            }
        }
        // A clients cursor: fine on its own list and ordering, refused with another ordering.
        let by_name = json!([{ "field": "COMPANY_NAME" }]);
        let cursor = end(&app.data(CLIENTS, json!({ "order": by_name })).await, "clients");
        let next = app.data(CLIENTS, json!({ "after": cursor, "order": by_name })).await;
        assert_eq!(next["clients"]["nodes"], json!([{ "companyName": "Bolt" }]));
        for other in [Value::Null, json!([{ "field": "CREATED_AT" }]), json!([{ "field": "COMPANY_NAME", "direction": "DESC" }])] {
            refused(&app.gql(CLIENTS, json!({ "after": cursor, "order": other })).await, "after");
        }
        // Tampered: values that do not fit the ordering, a broken id, another list claimed.
        for forged in [
            forge(&cursor, |c| c["k"] = json!([true])),
            forge(&cursor, |c| c["k"] = json!(["Acme", "extra"])),
            forge(&cursor, |c| c["i"] = json!("not-a-uuid")),
            forge(&cursor, |c| c["o"] = json!("payments:companyName.al")),
        ] {
            refused(&app.gql(CLIENTS, json!({ "before": forged, "order": by_name })).await, "before");
        }

        // Relation pages of one table share their cursors with each other and with the root
        // list; another table's relation does not take them.
        const CONTRACTS: &str = "query($id: UUID!, $after: String) { client(id: $id) {
          contracts(first: 1, after: $after) { nodes { contractNumber } pageInfo { endCursor } }
          notes(first: 1, after: $after) { nodes { id } } } }";
        let first = app.data(CONTRACTS, json!({ "id": acme.id })).await;
        let contract_cursor = first["client"]["contracts"]["pageInfo"]["endCursor"].clone();
        let root = app
            .data("query($after: String) { contracts(first: 10, after: $after) { nodes { contractNumber } } }", json!({ "after": contract_cursor }))
            .await;
        assert_eq!(pluck_str(&root["contracts"], "contractNumber"), ["Acme-2", "Bolt-1", "Bolt-2"]);
        let response = app.gql(CONTRACTS, json!({ "id": bolt.id, "after": contract_cursor })).await;
        assert_eq!(response["data"]["client"]["contracts"]["nodes"], json!([{ "contractNumber": "Bolt-1" }]), "{response}");
        assert_eq!(response["data"]["client"]["notes"], Value::Null, "{response}");
        refused(&response, "after");
        assert_eq!(response["errors"][0]["path"], json!(["client", "notes"]), "{response}");
    }
}

test_both! {
    async fn every_type_has_a_root_list(app) {
        let rep = fixtures::user(&app.db, "erin", Role::Manager).await;
        let client = fixtures::client(&app.db, "Acme", Some(rep.id)).await;
        let contract = fixtures::contract(&app.db, client.id, "C-1", "10.00", entity::ContractStatus::Active).await;
        fixtures::payment(&app.db, &contract, "5.00", entity::PaymentStatus::Completed).await;
        fixtures::document(&app.db, client.id, None, None).await;
        fixtures::note(&app.db, client.id, None, "hi").await;
        fixtures::email_account(&app.db, rep.id).await;
        let data = app
            .data(
                "{ users { totalCount } clients { totalCount } contracts { totalCount } payments { totalCount }
                   documents { totalCount } clientNotes { totalCount } oauthEmailAccounts { totalCount } }",
                Value::Null,
            )
            .await;
        assert_eq!(data["users"]["totalCount"], 2, "the user and the test admin");
        for list in ["clients", "contracts", "payments", "documents", "clientNotes", "oauthEmailAccounts"] {
            assert_eq!(data[list]["totalCount"], 1, "{list}");
        }
    }
}

test_both! {
    async fn a_first_page_and_its_total_come_from_one_statement(app) {
        seed_names(&app, &["Alpha Tech", "Beta", "Gamma Tech", "Delta tech"]).await;
        const FILTERED: &str = "query($first: Int, $after: String, $text: String!) {
          clients(first: $first, after: $after, filter: { companyName: { containsInsensitive: $text } },
                  orderBy: [{ field: COMPANY_NAME }]) {
            totalCount nodes { companyName } pageInfo { endCursor } } }";
        app.take_statement_count();
        let page = app.data(FILTERED, json!({ "first": 2, "text": "tech" })).await;
        assert_eq!(pluck_str(&page["clients"], "companyName"), ["Alpha Tech", "Delta tech"]);
        assert_eq!(page["clients"]["totalCount"], 3);
        assert_eq!(app.take_statement_count(), 1, "page and count in one statement");

        // After a cursor the page no longer holds every match: the count is its own statement.
        let end = page["clients"]["pageInfo"]["endCursor"].clone();
        let next = app.data(FILTERED, json!({ "first": 2, "after": end, "text": "tech" })).await;
        assert_eq!(pluck_str(&next["clients"], "companyName"), ["Gamma Tech"]);
        assert_eq!(next["clients"]["totalCount"], 3);
        assert_eq!(app.take_statement_count(), 2);

        // No match, and an empty page of a non-empty list.
        let none = app.data(FILTERED, json!({ "first": 2, "text": "nothing" })).await;
        assert_eq!(none["clients"]["totalCount"], 0);
        let zero = app.data(FILTERED, json!({ "first": 0, "text": "tech" })).await;
        assert_eq!(zero["clients"]["nodes"], json!([]));
        assert_eq!(zero["clients"]["totalCount"], 3);
    }
}

test_both! {
    async fn a_total_count_is_reused_until_a_change_reaches_the_server(app) {
        let mut config = crate::helpers::test_config();
        config.server.count_cache_secs = 60;
        // The feed reads the log only when a write wakes it (or another instance notifies).
        config.live.change_poll_ms = 600_000;
        let router = app.router_with(&config);
        let count = async |router: &axum::Router| {
            let answer = crate::helpers::gql_on(
                router,
                Some(&app.token),
                "{ clients(first: 1, filter: { companyName: { containsInsensitive: \"counted\" } }) { totalCount } }",
                Value::Null,
            )
            .await;
            answer["data"]["clients"]["totalCount"].as_i64().unwrap()
        };
        if app.db_backend() == sea_orm::DbBackend::Postgres {
            // Both servers' listeners connected (each reads the log once when it connects).
            crate::helpers::wait_for_listeners(&app.db, 2).await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        fixtures::client(&app.db, "Counted 1", None).await;
        assert_eq!(count(&router).await, 1);
        // A row written behind the server's back: the count it kept stands until it hears of a
        // change (the feed's next read).
        fixtures::client(&app.db, "Counted 2", None).await;
        assert_eq!(count(&router).await, 1);
        // A write through the server forgets every count before its answer.
        let created = crate::helpers::gql_on(
            &router,
            Some(&app.token),
            "mutation { createClient(input: { companyName: \"Counted 3\" }) { id } }",
            Value::Null,
        )
        .await;
        assert!(created.get("errors").is_none(), "{created}");
        assert_eq!(count(&router).await, 3);
        if app.db_backend() == sea_orm::DbBackend::Postgres {
            // A write through another instance (the test's own server) reaches this one's feed
            // by notification: the count is counted again.
            fixtures::client(&app.db, "Counted 4", None).await;
            app.data("mutation { createClient(input: { companyName: \"Elsewhere\" }) { id } }", json!({})).await;
            let mut seen = 0;
            for _ in 0..50 {
                seen = count(&router).await;
                if seen == 4 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(seen, 4);
        }
    }
}
