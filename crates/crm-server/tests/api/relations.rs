//! Relations both ways, computed fields, and the SQL statement count of the nested page.

use entity::{ContractStatus, PaymentStatus, Role};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes, fixtures, pluck_str};

test_both! {
    async fn every_relation_is_a_field_both_ways(app) {
        let rep = fixtures::user(&app.db, "hank", Role::Commercial).await;
        let client = fixtures::client(&app.db, "Acme", Some(rep.id)).await;
        let contract = fixtures::contract(&app.db, client.id, "R-1", "10.00", ContractStatus::Active).await;
        {
            use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
            let mut active = contract.clone().into_active_model();
            active.commercial_id = Set(Some(rep.id));
            active.update(&app.db).await.unwrap();
        }
        let payment = fixtures::payment(&app.db, &contract, "4.00", PaymentStatus::Completed).await;
        let document = fixtures::document(&app.db, client.id, Some(contract.id), Some(rep.id)).await;
        let note = fixtures::note(&app.db, client.id, Some(rep.id), "hello").await;
        let account = fixtures::email_account(&app.db, rep.id).await;

        let data = app
            .data(
                "query($c: UUID!, $u: UUID!, $p: UUID!, $d: UUID!, $n: UUID!, $a: UUID!) {
                  client(id: $c) {
                    assignedTo { username }
                    contracts { nodes { contractNumber client { companyName } commercial { username }
                                        payments { nodes { id } } documents { nodes { id } } } }
                    payments { nodes { id } } documents { nodes { id } } notes { nodes { id } }
                  }
                  user(id: $u) {
                    clients { nodes { companyName } } contracts { nodes { contractNumber } }
                    notes { nodes { id } } emailAccounts { nodes { id } }
                  }
                  payment(id: $p) { contract { contractNumber } client { companyName } }
                  document(id: $d) { client { companyName } contract { contractNumber } uploadedBy { username } }
                  clientNote(id: $n) { client { companyName } author { username } }
                  oauthEmailAccount(id: $a) { user { username } }
                }",
                json!({ "c": client.id, "u": rep.id, "p": payment.id, "d": document.id, "n": note.id, "a": account.id }),
            )
            .await;
        let c = &data["client"];
        assert_eq!(c["assignedTo"]["username"], "hank");
        let k = &c["contracts"]["nodes"][0];
        assert_eq!(k["client"]["companyName"], "Acme");
        assert_eq!(k["commercial"]["username"], "hank");
        assert_eq!(k["payments"]["nodes"][0]["id"], json!(payment.id));
        assert_eq!(k["documents"]["nodes"][0]["id"], json!(document.id));
        assert_eq!(c["payments"]["nodes"][0]["id"], json!(payment.id));
        assert_eq!(c["documents"]["nodes"][0]["id"], json!(document.id));
        assert_eq!(c["notes"]["nodes"][0]["id"], json!(note.id));
        let u = &data["user"];
        assert_eq!(pluck_str(&u["clients"], "companyName"), ["Acme"]);
        assert_eq!(pluck_str(&u["contracts"], "contractNumber"), ["R-1"]);
        assert_eq!(u["notes"]["nodes"][0]["id"], json!(note.id));
        assert_eq!(u["emailAccounts"]["nodes"][0]["id"], json!(account.id));
        assert_eq!(data["payment"], json!({ "contract": { "contractNumber": "R-1" }, "client": { "companyName": "Acme" } }));
        assert_eq!(
            data["document"],
            json!({ "client": { "companyName": "Acme" }, "contract": { "contractNumber": "R-1" }, "uploadedBy": { "username": "hank" } })
        );
        assert_eq!(data["clientNote"], json!({ "client": { "companyName": "Acme" }, "author": { "username": "hank" } }));
        assert_eq!(data["oauthEmailAccount"], json!({ "user": { "username": "hank" } }));
    }
}

test_both! {
    async fn a_lookup_by_id_reads_the_to_one_relations_it_selects_in_its_own_statement(app) {
        let (rep, rep_token) = app.user("rita", Role::Commercial, None).await;
        let client = fixtures::client(&app.db, "Acme", Some(rep)).await;
        let orphan = fixtures::client(&app.db, "Nobody's", None).await;
        let contract = fixtures::contract(&app.db, client.id, "J-1", "10.00", ContractStatus::Active).await;
        let document = fixtures::document(&app.db, client.id, Some(contract.id), Some(rep)).await;
        let by_id = "query($c: UUID!) { client(id: $c) { companyName assignedTo { id username role } } }";

        app.take_statement_count();
        let data = app.data(by_id, json!({ "c": client.id })).await;
        assert_eq!(data["client"], json!({ "companyName": "Acme", "assignedTo": { "id": rep, "username": "rita", "role": "commercial" } }));
        assert_eq!(app.take_statement_count(), 1, "the client and its user in one statement");

        // No one assigned: the join finds nothing and the field is null, with no other statement.
        let data = app.data(by_id, json!({ "c": orphan.id })).await;
        assert_eq!(data["client"], json!({ "companyName": "Nobody's", "assignedTo": null }));
        assert_eq!(app.take_statement_count(), 1);

        // Several relations, aliases and fragments; the same answer for a rep who sees the row
        // (the joins carry the rep's visibility conditions).
        let doc = "query($d: UUID!) { document(id: $d) { ...Refs by: uploadedBy { username } } }
                   fragment Refs on Document { client { companyName } contract { contractNumber } }";
        let expected = json!({ "document": { "client": { "companyName": "Acme" }, "contract": { "contractNumber": "J-1" }, "by": { "username": "rita" } } });
        assert_eq!(app.data(doc, json!({ "d": document.id })).await, expected);
        assert_eq!(app.take_statement_count(), 1);
        let as_rep = app.gql_as(Some(&rep_token), doc, json!({ "d": document.id })).await;
        assert_eq!(as_rep["data"], expected, "{as_rep}");

        // A relation of a joined row is read the usual way: one more statement per level.
        app.take_statement_count();
        let deeper = "query($d: UUID!) { document(id: $d) { contract { contractNumber client { assignedTo { username } } } } }";
        let data = app.data(deeper, json!({ "d": document.id })).await;
        assert_eq!(data["document"]["contract"]["client"]["assignedTo"]["username"], "rita");
        assert_eq!(app.take_statement_count(), 2);
    }
}

/// `n` clients, each with 3 contracts of 4 payments (inserted in bulk).
async fn seed_nested(app: &TestApp, n: usize) {
    use entity::{contracts, payments};
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let mut all_contracts = Vec::new();
    let mut all_payments = Vec::new();
    for i in 0..n {
        let c = fixtures::client(&app.db, &format!("Client {i:03}"), None).await;
        for j in 0..3 {
            let contract_id = uuid::Uuid::now_v7();
            all_contracts.push(contracts::ActiveModel {
                id: Set(contract_id),
                contract_number: Set(format!("N-{i}-{j}")),
                client_id: Set(c.id),
                commercial_id: Set(None),
                title: Set("Nested".into()),
                amount: Set(fixtures::dec("100.00")),
                currency: Set("EUR".into()),
                status: Set(ContractStatus::Active),
                start_date: Set(None),
                end_date: Set(None),
                signed_at: Set(None),
                created_at: Set(fixtures::at(2026, 1, 1)),
                updated_at: Set(fixtures::at(2026, 1, 1)),
                archived_at: Set(None),
            });
            for _ in 0..4 {
                all_payments.push(payments::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    contract_id: Set(contract_id),
                    client_id: Set(c.id),
                    amount: Set(fixtures::dec("10.00")),
                    payment_date: Set(fixtures::date(2026, 1, 2)),
                    payment_method: Set(None),
                    status: Set(PaymentStatus::Completed),
                    reference: Set(None),
                    idempotency_key: Set(None),
                    created_at: Set(fixtures::at(2026, 1, 2)),
                    updated_at: Set(fixtures::at(2026, 1, 2)),
                });
            }
        }
    }
    for chunk in all_contracts.chunks(100) {
        contracts::Entity::insert_many(chunk.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
    for chunk in all_payments.chunks(100) {
        payments::Entity::insert_many(chunk.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
}

const NESTED: &str = "query($n: Int!) {
  clients(first: $n, orderBy: [{ field: COMPANY_NAME }]) {
    nodes { id companyName
      contracts(orderBy: [{ field: ID }], first: 100) { nodes { id contractNumber amount status
        payments(orderBy: [{ field: ID }], first: 100) { nodes { id amount paymentDate status } } } } }
  }
}";

const NESTED_COUNTS: &str = "query($n: Int!) {
  clients(first: $n) { totalCount
    nodes { contracts { totalCount nodes { payments { totalCount nodes { id } } } } } }
}";

test_both! {
    async fn the_nested_page_runs_three_statements_whatever_its_size(app) {
        seed_nested(&app, 100).await;
        for n in [5, 50, 100] {
            app.take_statement_count();
            let data = app.data(NESTED, json!({ "n": n })).await;
            assert_eq!(data["clients"]["nodes"].as_array().unwrap().len(), n);
            assert_eq!(data["clients"]["nodes"][0]["contracts"]["nodes"][0]["payments"]["nodes"].as_array().unwrap().len(), 4);
            assert_eq!(app.take_statement_count(), 3, "nested page of {n} clients");

            // totalCount adds one statement per relation level that asks for it; the root list
            // counts in its own statement.
            let data = app.data(NESTED_COUNTS, json!({ "n": n })).await;
            assert_eq!(data["clients"]["totalCount"], 100);
            assert_eq!(data["clients"]["nodes"][0]["contracts"]["totalCount"], 3);
            assert_eq!(data["clients"]["nodes"][0]["contracts"]["nodes"][0]["payments"]["totalCount"], 4);
            assert_eq!(app.take_statement_count(), 5, "nested page with counts of {n} clients");
        }
    }
}

test_both! {
    async fn relation_pages_are_per_parent(app) {
        seed_nested(&app, 3).await;
        let data = app
            .data(
                "{ clients { nodes { contracts(first: 2, orderBy: [{ field: CONTRACT_NUMBER, direction: DESC }]) {
                     pageInfo { hasNextPage } nodes { contractNumber } } } } }",
                Value::Null,
            )
            .await;
        let nodes = data["clients"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 3);
        for (i, node) in nodes.iter().enumerate() {
            assert_eq!(pluck_str(&node["contracts"], "contractNumber"), [format!("N-{i}-2"), format!("N-{i}-1")]);
            assert_eq!(node["contracts"]["pageInfo"]["hasNextPage"], true);
        }
    }
}

/// The filter of one client's contracts (`$c`).
const MINE: &str = "{ clientId: { eq: $c } }";

/// The `contracts` root list with `args` and `filter` (`$c` is `client`): what that client's
/// relation page with the same arguments must answer.
async fn own_contracts(
    app: &TestApp,
    client: &Value,
    args: &str,
    filter: &str,
    selection: &str,
) -> Value {
    let data = app
        .data(
            &format!(
                "query($c: UUID!) {{ contracts({args}, filter: {filter}) {{ {selection} }} }}"
            ),
            json!({ "c": client }),
        )
        .await;
    data["contracts"].clone()
}

test_both! {
    async fn a_parent_with_many_more_rows_than_the_others_gets_the_same_pages(app) {
        // On SQLite a level's rows are read in order, at most as many as the pages can hold
        // plus one, and with the window when a parent has more: both ways answer alike.
        seed_nested(&app, 3).await;
        let clients = app.data("{ clients(orderBy: [{ field: COMPANY_NAME }]) { nodes { id } } }", Value::Null).await;
        let crowded: uuid::Uuid = serde_json::from_value(clients["clients"]["nodes"][0]["id"].clone()).unwrap();
        for n in 0..10 {
            fixtures::contract(&app.db, crowded, &format!("M-{n:02}"), "5.00", ContractStatus::Draft).await;
        }
        // 13 + 3 + 3 contracts; 2 per page holds 3 × 3 + 1 = 10 (the window), 20 per page 64.
        // Text keys are ordered by the database; the others (amounts, then ids on ties) by
        // the server when the rows come in one capped statement.
        for first in [2, 20] {
            for args in [
                format!("first: {first}, orderBy: [{{ field: CONTRACT_NUMBER }}]"),
                format!("first: {first}, orderBy: [{{ field: AMOUNT, direction: DESC }}]"),
                format!("last: {first}"),
            ] {
                let selection = "pageInfo { hasNextPage hasPreviousPage } nodes { contractNumber amount }";
                let nested = app
                    .data(
                        &format!("{{ clients(orderBy: [{{ field: COMPANY_NAME }}]) {{ nodes {{ id contracts({args}) {{ {selection} }} }} }} }}"),
                        Value::Null,
                    )
                    .await;
                for node in nested["clients"]["nodes"].as_array().unwrap() {
                    let alone = own_contracts(&app, &node["id"], &args, MINE, selection).await;
                    assert_eq!(node["contracts"], alone, "{args}");
                }
                let crowded_page = &nested["clients"]["nodes"][0]["contracts"];
                assert_eq!(crowded_page["nodes"].as_array().unwrap().len(), first.min(13), "{args}");
                let more = if args.starts_with("last") { "hasPreviousPage" } else { "hasNextPage" };
                assert_eq!(crowded_page["pageInfo"][more], first < 13, "{args}");
            }
        }
    }
}

test_both! {
    async fn relation_pages_match_the_root_list_of_each_parent(app) {
        seed_nested(&app, 4).await;
        // Start dates only on some contracts: a nullable sort key.
        let data = app.data("{ contracts(first: 100) { nodes { id contractNumber } } }", Value::Null).await;
        for (i, node) in data["contracts"]["nodes"].as_array().unwrap().iter().enumerate() {
            if i % 2 == 0 {
                let id: uuid::Uuid = serde_json::from_value(node["id"].clone()).unwrap();
                use sea_orm::{ActiveValue::Set, EntityTrait};
                entity::contracts::Entity::update(entity::contracts::ActiveModel {
                    id: Set(id),
                    start_date: Set(Some(crate::helpers::fixtures::date(2026, 1, 1 + i as u32))),
                    ..Default::default()
                })
                .exec(&app.db)
                .await
                .unwrap();
            }
        }
        let clients = app.data("{ clients { nodes { id } } }", Value::Null).await;
        for (args, filter) in [
            ("first: 2, orderBy: [{ field: CONTRACT_NUMBER, direction: DESC }]", MINE.to_owned()),
            ("last: 2, orderBy: [{ field: CONTRACT_NUMBER }]", MINE.to_owned()),
            ("last: 1", MINE.to_owned()),
            ("first: 3, orderBy: [{ field: START_DATE, nulls: FIRST }]", MINE.to_owned()),
            ("first: 3, orderBy: [{ field: START_DATE, direction: DESC, nulls: LAST }]", MINE.to_owned()),
            ("first: 2, filter: { contractNumber: { contains: \"-1\" } }", format!("{{ and: [{MINE}, {{ contractNumber: {{ contains: \"-1\" }} }}] }}")),
        ] {
            let selection = "pageInfo { hasNextPage hasPreviousPage } nodes { contractNumber startDate }";
            let nested = app
                .data(&format!("{{ clients {{ nodes {{ id contracts({args}) {{ {selection} }} }} }} }}"), Value::Null)
                .await;
            let nested = nested["clients"]["nodes"].as_array().unwrap();
            assert_eq!(nested.len(), 4);
            for (client, nested) in clients["clients"]["nodes"].as_array().unwrap().iter().zip(nested) {
                assert_eq!(client["id"], nested["id"]);
                let root_args = args.split(", filter").next().unwrap_or(args);
                let alone = own_contracts(&app, &client["id"], root_args, &filter, selection).await;
                assert_eq!(nested["contracts"], alone, "{args}");
                assert!(!pluck_str(&nested["contracts"], "contractNumber").is_empty(), "{args}");
            }
        }
    }
}

test_both! {
    async fn computed_fields_match_hand_computed_sums(app) {
        let c = fixtures::client(&app.db, "Acme", None).await;
        let active = fixtures::contract(&app.db, c.id, "M-1", "1000.00", ContractStatus::Active).await;
        let done = fixtures::contract(&app.db, c.id, "M-2", "0.30", ContractStatus::Completed).await;
        fixtures::contract(&app.db, c.id, "M-3", "500.00", ContractStatus::Draft).await;
        fixtures::contract(&app.db, c.id, "M-4", "700.00", ContractStatus::Cancelled).await;
        fixtures::payment(&app.db, &active, "250.10", PaymentStatus::Completed).await;
        fixtures::payment(&app.db, &active, "0.20", PaymentStatus::Completed).await;
        fixtures::payment(&app.db, &active, "99.00", PaymentStatus::Pending).await;
        fixtures::payment(&app.db, &active, "12.00", PaymentStatus::Refunded).await;
        fixtures::payment(&app.db, &done, "0.10", PaymentStatus::Completed).await;
        fixtures::payment(&app.db, &done, "0.20", PaymentStatus::Completed).await;
        let empty = fixtures::client(&app.db, "Empty", None).await;

        let data = app
            .data(
                "query($c: UUID!, $e: UUID!) {
                  client(id: $c) { contractCount totalContractValue outstandingAmount
                    contracts(orderBy: [{ field: CONTRACT_NUMBER }]) { nodes { contractNumber paidAmount outstandingAmount lastPaymentDate } } }
                  empty: client(id: $e) { contractCount totalContractValue outstandingAmount }
                }",
                json!({ "c": c.id, "e": empty.id }),
            )
            .await;
        // Active + completed: 1000.00 + 0.30; owed: (1000.00 − 250.30) + (0.30 − 0.30).
        assert_eq!(data["client"]["contractCount"], 4);
        assert_eq!(data["client"]["totalContractValue"], "1000.30");
        assert_eq!(data["client"]["outstandingAmount"], "749.70");
        assert_eq!(
            data["client"]["contracts"]["nodes"],
            json!([
                { "contractNumber": "M-1", "paidAmount": "250.30", "outstandingAmount": "749.70", "lastPaymentDate": "2026-04-15" },
                { "contractNumber": "M-2", "paidAmount": "0.30", "outstandingAmount": "0.00", "lastPaymentDate": "2026-04-15" },
                { "contractNumber": "M-3", "paidAmount": "0.00", "outstandingAmount": "0.00", "lastPaymentDate": null },
                { "contractNumber": "M-4", "paidAmount": "0.00", "outstandingAmount": "0.00", "lastPaymentDate": null },
            ])
        );
        assert_eq!(data["empty"], json!({ "contractCount": 0, "totalContractValue": "0.00", "outstandingAmount": "0.00" }));
    }
}

test_both! {
    async fn computed_fields_filter_and_sort_the_collections_screen(app) {
        let c = fixtures::client(&app.db, "Acme", None).await;
        let small = fixtures::contract(&app.db, c.id, "S", "100.00", ContractStatus::Active).await;
        let big = fixtures::contract(&app.db, c.id, "B", "900.00", ContractStatus::Active).await;
        let paid = fixtures::contract(&app.db, c.id, "P", "50.00", ContractStatus::Active).await;
        fixtures::payment(&app.db, &small, "60.00", PaymentStatus::Completed).await;
        fixtures::payment(&app.db, &big, "100.00", PaymentStatus::Completed).await;
        fixtures::payment(&app.db, &paid, "50.00", PaymentStatus::Completed).await;
        let other = fixtures::client(&app.db, "Paid up", None).await;
        fixtures::contract(&app.db, other.id, "Z", "0.00", ContractStatus::Active).await;

        let q = "query($after: String) { contracts(first: 1, after: $after, filter: { outstandingAmount: { gt: \"0\" } },
                    orderBy: [{ field: OUTSTANDING_AMOUNT, direction: DESC }]) {
                    totalCount nodes { contractNumber outstandingAmount } pageInfo { endCursor hasNextPage } } }";
        let p1 = app.data(q, json!({})).await;
        assert_eq!(p1["contracts"]["totalCount"], 2);
        assert_eq!(p1["contracts"]["nodes"], json!([{ "contractNumber": "B", "outstandingAmount": "800.00" }]));
        let p2 = app.data(q, json!({ "after": p1["contracts"]["pageInfo"]["endCursor"] })).await;
        assert_eq!(p2["contracts"]["nodes"], json!([{ "contractNumber": "S", "outstandingAmount": "40.00" }]));
        assert_eq!(p2["contracts"]["pageInfo"]["hasNextPage"], false);

        let data = app
            .data(
                "{ clients(filter: { outstandingAmount: { gt: \"0\" }, contractCount: { gte: 3 } },
                           orderBy: [{ field: TOTAL_CONTRACT_VALUE, direction: DESC }]) { nodes { companyName } } }",
                Value::Null,
            )
            .await;
        assert_eq!(pluck_str(&data["clients"], "companyName"), ["Acme"]);
    }
}

/// Every column of a client, with aliases, fragments, `__typename`, computed fields and
/// relations: what the row fast path (lists) and async-graphql's own resolution (`client(id:)`)
/// must answer alike.
const CLIENT_ROW: &str = "
fragment Row on Client {
  __typename id companyName email phone address city postalCode country status kycCompleted
  kycCompletedAt assignedToId createdAt updatedAt
  name: companyName
  ... on Client { town: city }
  ... { country }
  contractCount totalContractValue outstandingAmount
  assignedTo { __typename username role }
  contracts(first: 2, orderBy: [{ field: CONTRACT_NUMBER }]) {
    totalCount
    nodes { __typename ...ContractRow }
    edges { cursor node { id amount currency } }
  }
}
fragment ContractRow on Contract {
  id contractNumber clientId commercialId title amount currency status startDate endDate signedAt
  createdAt updatedAt paidAmount
  payments { nodes { id contractId clientId amount paymentDate paymentMethod status reference } }
}";

test_both! {
    async fn rows_in_lists_resolve_like_rows_alone(app) {
        let rep = fixtures::user(&app.db, "hank", Role::Commercial).await;
        let mut ids = Vec::new();
        for (name, assigned) in [("Acme", Some(rep.id)), ("Bolt", None), ("Crux", Some(rep.id))] {
            let client = fixtures::client(&app.db, name, assigned).await;
            for number in ["1", "2", "3"] {
                let contract = fixtures::contract(
                    &app.db, client.id, &format!("{name}-{number}"), "100.50", ContractStatus::Active,
                )
                .await;
                fixtures::payment(&app.db, &contract, "10.25", PaymentStatus::Completed).await;
            }
            ids.push(client.id);
        }
        let listed = app
            .data(
                &format!("{{ clients(orderBy: [{{ field: COMPANY_NAME }}]) {{
                    nodes {{ ...Row }} edges {{ node {{ ...Row }} }} }} }} {CLIENT_ROW}"),
                Value::Null,
            )
            .await;
        for (i, id) in ids.iter().enumerate() {
            let alone = app
                .data(&format!("query($id: UUID!) {{ client(id: $id) {{ ...Row }} }} {CLIENT_ROW}"), json!({ "id": id }))
                .await;
            let node = &listed["clients"]["nodes"][i];
            assert_eq!(node["id"], json!(id));
            assert_eq!(node["contracts"]["nodes"].as_array().unwrap().len(), 2);
            assert_eq!(node["contracts"]["nodes"][0]["payments"]["nodes"][0]["amount"], "10.25");
            assert_eq!(node, &alone["client"], "nodes[{i}]");
            assert_eq!(&listed["clients"]["edges"][i]["node"], &alone["client"], "edges[{i}].node");
        }

        // One response key selected twice: the sub-selections merge.
        let data = app
            .data(
                "{ clients(first: 1, orderBy: [{ field: COMPANY_NAME }]) { nodes {
                    c: contracts(orderBy: [{ field: ID }]) { totalCount }
                    c: contracts(orderBy: [{ field: ID }]) { nodes { status } } } } }",
                Value::Null,
            )
            .await;
        assert_eq!(
            data["clients"]["nodes"][0]["c"],
            json!({ "totalCount": 3, "nodes": [{ "status": "active" }, { "status": "active" }, { "status": "active" }] })
        );

        // Fields come back in the order they were selected.
        let body = serde_json::json!({ "query": "{ clients(first: 1) { nodes { status __typename id companyName } } }" });
        let request = axum::http::Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", app.token))
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let (_, text) = app.request(request).await;
        let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
        assert!(at("status") < at("__typename") && at("__typename") < at("id") && at("id") < at("companyName"), "{text}");
    }
}

test_both! {
    async fn list_rows_read_only_what_their_selection_needs_and_every_field_is_right(app) {
        // A page selects only the columns of its selection (plus what relations need): two
        // aliases of one relation with different selections, fragments, edges, to-one
        // relations and computed fields on pruned rows must all read the right values.
        let rep = fixtures::user(&app.db, "hank", Role::Commercial).await;
        let client = fixtures::client(&app.db, "Acme", Some(rep.id)).await;
        let contract =
            fixtures::contract(&app.db, client.id, "K-1", "100.50", ContractStatus::Active).await;
        fixtures::payment(&app.db, &contract, "10.25", PaymentStatus::Completed).await;
        let data = app
            .data(
                "fragment Money on Payment { amount }
                 { clients(first: 1) { nodes {
                     companyName
                     a: contracts { nodes { title } }
                     b: contracts { nodes { contractNumber currency outstandingAmount
                                            client { companyName city } } }
                     contracts { edges { cursor node { __typename status
                         payments { nodes { ...Money reference paymentDate
                                            contract { contractNumber amount } } } } } }
                     assignedTo { username clients { nodes { city kycCompleted } } }
                 } } }",
                Value::Null,
            )
            .await;
        let node = &data["clients"]["nodes"][0];
        assert_eq!(node["companyName"], "Acme");
        assert_eq!(node["a"]["nodes"][0], json!({ "title": "Contract K-1" }));
        assert_eq!(
            node["b"]["nodes"][0],
            json!({ "contractNumber": "K-1", "currency": "EUR", "outstandingAmount": "90.25",
                    "client": { "companyName": "Acme", "city": "Paris" } })
        );
        let edge = &node["contracts"]["edges"][0];
        assert!(edge["cursor"].is_string());
        assert_eq!(edge["node"]["__typename"], "Contract");
        assert_eq!(edge["node"]["status"], "active");
        assert_eq!(
            edge["node"]["payments"]["nodes"][0],
            json!({ "amount": "10.25", "reference": "VIR-0001", "paymentDate": "2026-04-15",
                    "contract": { "contractNumber": "K-1", "amount": "100.50" } })
        );
        assert_eq!(
            node["assignedTo"],
            json!({ "username": "hank", "clients": { "nodes": [{ "city": "Paris", "kycCompleted": true }] } })
        );
    }
}

test_both! {
    async fn relation_lists_of_a_whole_level_answer_like_each_parent_alone(app) {
        // `contracts { nodes { … } }` is resolved for all parents of a level at once; with
        // `totalCount` beside `nodes`, parent by parent. Both give the same rows, and errors
        // keep their place in the response.
        seed_nested(&app, 3).await;
        let rows = "id contractNumber payments(orderBy: [{ field: ID }]) { nodes { id amount } }";
        let whole = app
            .data(&format!("{{ clients(first: 3) {{ nodes {{ id contracts(first: 2) {{ nodes {{ {rows} }} }} }} }} }}"), Value::Null)
            .await;
        let each = app
            .data(&format!("{{ clients(first: 3) {{ nodes {{ id contracts(first: 2) {{ totalCount nodes {{ {rows} }} }} }} }} }}"), Value::Null)
            .await;
        for i in 0..3 {
            let nodes = &whole["clients"]["nodes"][i]["contracts"]["nodes"];
            assert_eq!(nodes.as_array().unwrap().len(), 2);
            assert_eq!(nodes, &each["clients"]["nodes"][i]["contracts"]["nodes"], "client {i}");
        }

        let bad = app
            .gql("{ clients(first: 2) { nodes { contracts(after: \"garbage\") { nodes { id } } } } }", Value::Null)
            .await;
        assert_eq!(error_codes(&bad), ["BAD_USER_INPUT", "BAD_USER_INPUT"], "{bad}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "after");
        assert_eq!(bad["errors"][1]["path"], json!(["clients", "nodes", 1, "contracts"]));

        use sea_orm::ConnectionTrait;
        // A stored total that cannot be read (PostgreSQL: its column renamed away; SQLite,
        // whose pooled connections may keep the schema they saw: a value that is not a number).
        let (break_it, restore) = if app.db_backend() == sea_orm::DbBackend::Postgres {
            (
                "ALTER TABLE contracts RENAME COLUMN paid_amount TO paid_amount_gone",
                "ALTER TABLE contracts RENAME COLUMN paid_amount_gone TO paid_amount",
            )
        } else {
            (
                "UPDATE contracts SET paid_amount = 'not a number'",
                "UPDATE contracts SET paid_amount = (SELECT ROUND(TOTAL(amount), 2) FROM payments p \
                 WHERE p.contract_id = contracts.id AND p.status = 'completed')",
            )
        };
        app.db.execute_unprepared(break_it).await.unwrap();
        let broken = app
            .gql("{ clients(first: 1) { nodes { contracts(first: 1) { nodes { id paidAmount } } } } }", Value::Null)
            .await;
        app.db.execute_unprepared(restore).await.unwrap();
        assert_eq!(error_codes(&broken), ["INTERNAL_SERVER_ERROR"], "{broken}");
        assert_eq!(
            broken["errors"][0]["path"],
            json!(["clients", "nodes", 0, "contracts", "nodes", 0, "paidAmount"])
        );
    }
}
