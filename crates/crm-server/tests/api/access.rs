//! Row-level access: each role against each way of reaching a row. A commercial sees the
//! clients assigned to them and what hangs off those clients, through every path; managers
//! see every client but only their own mailboxes; admins see everything.

use entity::{ContractStatus, PaymentStatus, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, error_codes, fixtures};

/// Two portfolios (Ann's and Ben's), an unassigned client, and a mailbox per person.
struct World {
    ann: Uuid,
    ann_token: String,
    ben: Uuid,
    manager_token: String,
    /// Names of Ann's rows, of Ben's rows, of the unassigned client.
    rows: [Portfolio; 2],
    unassigned: Uuid,
    mailboxes: [Uuid; 3],
}

struct Portfolio {
    client: Uuid,
    contract: Uuid,
    payment: Uuid,
    document: Uuid,
    note: Uuid,
}

async fn world(app: &TestApp) -> World {
    let (ann, ann_token) = app.user("ann", Role::Commercial, None).await;
    let (ben, _) = app.user("ben", Role::Commercial, None).await;
    let (manager, manager_token) = app.user("mia", Role::Manager, None).await;
    let mut rows = Vec::new();
    for (owner, name) in [(ann, "Ann Corp"), (ben, "Ben Corp")] {
        let client = fixtures::client(&app.db, name, Some(owner)).await;
        let contract = fixtures::contract(
            &app.db,
            client.id,
            &format!("K-{name}"),
            "1000.00",
            ContractStatus::Active,
        )
        .await;
        // The rep is in charge of it too, so `User.contracts` reaches it.
        let mut in_charge: entity::contracts::ActiveModel = contract.into();
        in_charge.commercial_id = sea_orm::ActiveValue::Set(Some(owner));
        let contract = sea_orm::ActiveModelTrait::update(in_charge, &app.db)
            .await
            .unwrap();
        let payment =
            fixtures::payment(&app.db, &contract, "100.00", PaymentStatus::Completed).await;
        let document = fixtures::document(&app.db, client.id, Some(contract.id), Some(owner)).await;
        let note = fixtures::note(&app.db, client.id, Some(owner), &format!("{name} note")).await;
        rows.push(Portfolio {
            client: client.id,
            contract: contract.id,
            payment: payment.id,
            document: document.id,
            note: note.id,
        });
    }
    let unassigned = fixtures::client(&app.db, "Nobody's Corp", None).await.id;
    let mut mailboxes = [Uuid::nil(); 3];
    for (i, user) in [ann, ben, manager].into_iter().enumerate() {
        mailboxes[i] = fixtures::email_account(&app.db, user).await.id;
    }
    let [a, b]: [Portfolio; 2] = rows.try_into().unwrap_or_else(|_| unreachable!());
    World {
        ann,
        ann_token,
        ben,
        manager_token,
        rows: [a, b],
        unassigned,
        mailboxes,
    }
}

/// Each list's expected rows.
type Expected<'a> = Vec<(&'a str, Vec<Uuid>)>;
/// A mutation, its variables and the expected error code and field.
type Refused<'a> = (&'a str, Value, (&'a str, Option<&'a str>));

fn ids(connection: &Value) -> Vec<String> {
    let mut ids: Vec<String> = connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[Uuid]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    ids
}

const LISTS: &str = "{
  clients { totalCount nodes { id } } contracts { totalCount nodes { id } } payments { totalCount nodes { id } }
  documents { totalCount nodes { id } } clientNotes { totalCount nodes { id } } oauthEmailAccounts { totalCount nodes { id } }
}";

test_both! {
    async fn each_role_lists_exactly_its_rows(app) {
        let w = world(&app).await;
        let [a, b] = &w.rows;
        let everything = [
            ("clients", vec![a.client, b.client, w.unassigned]),
            ("contracts", vec![a.contract, b.contract]),
            ("payments", vec![a.payment, b.payment]),
            ("documents", vec![a.document, b.document]),
            ("clientNotes", vec![a.note, b.note]),
        ];
        let cases: [(&str, &str, Expected<'_>); 3] = [
            ("admin", &app.token, everything.iter().cloned().chain([("oauthEmailAccounts", w.mailboxes.to_vec())]).collect()),
            ("manager", &w.manager_token, everything.iter().cloned().chain([("oauthEmailAccounts", vec![w.mailboxes[2]])]).collect()),
            ("commercial", &w.ann_token, vec![
                ("clients", vec![a.client]), ("contracts", vec![a.contract]), ("payments", vec![a.payment]),
                ("documents", vec![a.document]), ("clientNotes", vec![a.note]), ("oauthEmailAccounts", vec![w.mailboxes[0]]),
            ]),
        ];
        for (role, token, expected) in cases {
            let response = app.gql_as(Some(token), LISTS, Value::Null).await;
            assert!(response.get("errors").is_none(), "{role}: {response}");
            for (list, rows) in expected {
                let connection = &response["data"][list];
                assert_eq!(ids(connection), sorted(&rows), "{role} lists {list}");
                assert_eq!(connection["totalCount"], rows.len(), "{role} counts {list}");
            }
        }
    }
}

test_both! {
    async fn other_portfolios_are_unreachable_by_id_and_through_relations(app) {
        let w = world(&app).await;
        let [a, b] = &w.rows;
        let by_id = "query($c: UUID!, $k: UUID!, $p: UUID!, $d: UUID!, $n: UUID!, $m: UUID!) {
          client(id: $c) { id } contract(id: $k) { id } payment(id: $p) { id }
          document(id: $d) { id } clientNote(id: $n) { id } oauthEmailAccount(id: $m) { id } }";
        let ben_rows = json!({ "c": b.client, "k": b.contract, "p": b.payment, "d": b.document, "n": b.note, "m": w.mailboxes[1] });
        let response = app.gql_as(Some(&w.ann_token), by_id, ben_rows.clone()).await;
        for field in ["client", "contract", "payment", "document", "clientNote", "oauthEmailAccount"] {
            assert!(response["data"][field].is_null(), "Ann reads Ben's {field}: {response}");
        }
        let ann_rows = json!({ "c": a.client, "k": a.contract, "p": a.payment, "d": a.document, "n": a.note, "m": w.mailboxes[0] });
        let own = app.gql_as(Some(&w.ann_token), by_id, ann_rows).await;
        for field in ["client", "contract", "payment", "document", "clientNote", "oauthEmailAccount"] {
            assert!(own["data"][field]["id"].is_string(), "Ann cannot read her own {field}: {own}");
        }
        // The admin reads Ben's rows.
        let admin = app.gql(by_id, ben_rows).await;
        assert!(admin["data"]["client"]["id"].is_string() && admin["data"]["oauthEmailAccount"]["id"].is_string());

        // Through another user, from any direction: nothing of Ben's.
        let through_ben = "query($u: UUID!) { user(id: $u) { username
            clients { totalCount nodes { id } } contracts { totalCount nodes { id } }
            notes { totalCount nodes { id } } emailAccounts { totalCount nodes { id } } } }";
        let response = app.gql_as(Some(&w.ann_token), through_ben, json!({ "u": w.ben })).await;
        let ben = &response["data"]["user"];
        assert_eq!(ben["username"], "ben", "users themselves are visible: {response}");
        for relation in ["clients", "contracts", "notes", "emailAccounts"] {
            assert_eq!(ben[relation]["totalCount"], 0, "{relation} of Ben seen by Ann: {response}");
            assert_eq!(ben[relation]["nodes"], json!([]));
        }
        // And through her own user, hers are there.
        let response = app.gql_as(Some(&w.ann_token), through_ben, json!({ "u": w.ann })).await;
        for relation in ["clients", "contracts", "notes", "emailAccounts"] {
            assert_eq!(response["data"]["user"][relation]["totalCount"], 1, "Ann's own {relation}: {response}");
        }
    }
}

test_both! {
    async fn filters_and_computed_fields_do_not_reveal_other_portfolios(app) {
        let w = world(&app).await;
        // "Which users have a client named Ben Corp?" must not answer for Ann.
        let probe = "{ users(filter: { clients: { some: { companyName: { eq: \"Ben Corp\" } } } }) { totalCount }
                       paid: contracts(filter: { client: { companyName: { eq: \"Ben Corp\" } } }) { totalCount }
                       owing: clients(orderBy: [{ field: OUTSTANDING_AMOUNT, direction: DESC }]) { nodes { companyName outstandingAmount contractCount } } }";
        let ann = app.gql_as(Some(&w.ann_token), probe, Value::Null).await;
        assert_eq!(ann["data"]["users"]["totalCount"], 0, "{ann}");
        assert_eq!(ann["data"]["paid"]["totalCount"], 0);
        assert_eq!(ann["data"]["owing"]["nodes"], json!([{ "companyName": "Ann Corp", "outstandingAmount": "900.00", "contractCount": 1 }]));
        let manager = app.gql_as(Some(&w.manager_token), probe, Value::Null).await;
        assert_eq!(manager["data"]["users"]["totalCount"], 1, "{manager}");
        assert_eq!(manager["data"]["paid"]["totalCount"], 1);
        assert_eq!(manager["data"]["owing"]["nodes"].as_array().unwrap().len(), 3);
    }
}

/// The code (and field) of a mutation's single error.
fn refusal(response: &Value) -> (String, Option<String>) {
    let codes = error_codes(response);
    assert_eq!(codes.len(), 1, "expected one error: {response}");
    (
        codes[0].clone(),
        response["errors"][0]["extensions"]["field"]
            .as_str()
            .map(str::to_owned),
    )
}

test_both! {
    async fn commercials_write_only_in_their_portfolio(app) {
        let w = world(&app).await;
        let [a, b] = &w.rows;
        let ann = Some(w.ann_token.as_str());
        const BEN: &str = "query($c: UUID!) { client(id: $c) { city kycCompleted assignedTo { username } notes { totalCount } payments { totalCount } } }";
        let before = app.data(BEN, json!({ "c": b.client })).await;
        let cases: Vec<Refused<'_>> = vec![
            // Someone else's rows do not exist for her.
            ("mutation($id: UUID!) { updateClient(id: $id, input: { city: \"Lyon\" }) { id } }", json!({ "id": b.client }), ("NOT_FOUND", Some("id"))),
            ("mutation($id: UUID!) { completeClientKyc(id: $id) { id } }", json!({ "id": b.client }), ("NOT_FOUND", Some("id"))),
            ("mutation($id: UUID!) { createClientNote(input: { clientId: $id, content: \"hi\" }) { id } }", json!({ "id": b.client }), ("NOT_FOUND", Some("clientId"))),
            ("mutation($id: UUID!) { recordPayment(input: { contractId: $id, amount: \"1.00\" }) { id } }", json!({ "id": b.contract }), ("NOT_FOUND", Some("contractId"))),
            ("mutation($id: UUID!) { updateClientNote(id: $id, input: { content: \"x\" }) { id } }", json!({ "id": b.note }), ("NOT_FOUND", Some("id"))),
            ("mutation($id: UUID!) { disconnectEmailAccount(id: $id) }", json!({ "id": w.mailboxes[1] }), ("NOT_FOUND", Some("id"))),
            // What her role does not allow, even in her portfolio.
            ("mutation($id: UUID!) { createContract(input: { clientId: $id, contractNumber: \"K-9\", title: \"t\", amount: \"1.00\" }) { id } }", json!({ "id": a.client }), ("FORBIDDEN", None)),
            ("mutation($id: UUID!) { signContract(id: $id) { id } }", json!({ "id": a.contract }), ("FORBIDDEN", None)),
            ("mutation($id: UUID!) { assignClient(id: $id, userId: null) { id } }", json!({ "id": a.client }), ("FORBIDDEN", None)),
            ("mutation($id: UUID!) { deleteClient(id: $id) }", json!({ "id": a.client }), ("FORBIDDEN", None)),
            ("mutation($id: UUID!) { refundPayment(id: $id) { id } }", json!({ "id": a.payment }), ("FORBIDDEN", None)),
            ("mutation($id: UUID!) { createClient(input: { companyName: \"For Ben\", assignedToId: $id }) { id } }", json!({ "id": w.ben }), ("FORBIDDEN", None)),
            ("mutation($id: UUID!) { connectEmailAccount(input: { userId: $id, provider: \"google\", email: \"b@gmail.example\" }) { id } }", json!({ "id": w.ben }), ("FORBIDDEN", None)),
            ("mutation($id: UUID!) { updateUser(id: $id, input: { role: admin }) { id } }", json!({ "id": w.ann }), ("FORBIDDEN", None)),
        ];
        for (mutation, variables, (code, field)) in cases {
            let response = app.gql_as(ann, mutation, variables).await;
            assert_eq!(refusal(&response), (code.to_owned(), field.map(str::to_owned)), "{mutation}: {response}");
        }
        // Nothing of Ben's changed.
        assert_eq!(app.data(BEN, json!({ "c": b.client })).await, before);

        // Her own portfolio: notes, payments, details, new prospects (hers).
        let ok = [
            ("mutation($id: UUID!) { updateClient(id: $id, input: { city: \"Lyon\" }) { city } }", json!({ "id": a.client })),
            ("mutation($id: UUID!) { createClientNote(input: { clientId: $id, noteType: \"call\", content: \"called\" }) { author { username } } }", json!({ "id": a.client })),
            ("mutation($id: UUID!) { recordPayment(input: { contractId: $id, amount: \"50.00\" }) { status } }", json!({ "id": a.contract })),
            ("mutation { createClient(input: { companyName: \"New prospect\" }) { assignedTo { username } } }", Value::Null),
            ("mutation { connectEmailAccount(input: { provider: \"google\", email: \"ann@gmail.example\" }) { user { username } } }", Value::Null),
        ];
        for (mutation, variables) in ok {
            let response = app.gql_as(ann, mutation, variables).await;
            assert!(response.get("errors").is_none(), "{mutation}: {response}");
            let text = response.to_string();
            assert!(text.contains("ann") || text.contains("Lyon") || text.contains("completed"), "{text}");
        }
        // An idempotency key used in Ben's portfolio does not hand her Ben's payment.
        const RECORD: &str = "mutation($c: UUID!) { recordPayment(input: { contractId: $c, amount: \"5.00\", idempotencyKey: \"bank-tx-7\" }) { id contract { id } } }";
        let bens = app.data(RECORD, json!({ "c": b.contract })).await;
        assert_eq!(bens["recordPayment"]["contract"]["id"], json!(b.contract));
        let hers = app.gql_as(ann, RECORD, json!({ "c": a.contract })).await;
        assert_eq!(refusal(&hers), ("CONFLICT".to_owned(), Some("idempotencyKey".to_owned())), "{hers}");
        assert_eq!(hers["errors"][0]["extensions"]["reason"], "IDEMPOTENCY_KEY_REUSED", "{hers}");

        // The history names her as the actor.
        let history = app
            .data("query($c: UUID!) { client(id: $c) { notes(filter: { noteType: { eq: \"system\" } }) { nodes { content author { username } } } } }", json!({ "c": a.client }))
            .await;
        assert_eq!(history["client"]["notes"]["nodes"][0]["author"]["username"], "ann", "{history}");
    }
}

test_both! {
    async fn managers_run_the_book_but_not_the_team(app) {
        let w = world(&app).await;
        let [_, b] = &w.rows;
        let manager = Some(w.manager_token.as_str());
        let moved = app
            .gql_as(manager, "mutation($id: UUID!, $u: UUID!) { assignClient(id: $id, userId: $u) { assignedTo { username } } }", json!({ "id": b.client, "u": w.ann }))
            .await;
        assert_eq!(moved["data"]["assignClient"]["assignedTo"]["username"], "ann", "{moved}");
        // The move shows in Ann's portfolio at once.
        let ann = app.gql_as(Some(&w.ann_token), "{ clients { totalCount } }", Value::Null).await;
        assert_eq!(ann["data"]["clients"]["totalCount"], 2);
        let refund = app.gql_as(manager, "mutation($id: UUID!) { refundPayment(id: $id) { status } }", json!({ "id": b.payment })).await;
        assert_eq!(refund["data"]["refundPayment"]["status"], "refunded", "{refund}");
        let team = app
            .gql_as(manager, "mutation($id: UUID!) { updateUser(id: $id, input: { role: manager }) { id } }", json!({ "id": w.ben }))
            .await;
        assert_eq!(refusal(&team).0, "FORBIDDEN");
        // Another user's mailbox is not the manager's to see or remove.
        let mailbox = app.gql_as(manager, "mutation($id: UUID!) { disconnectEmailAccount(id: $id) }", json!({ "id": w.mailboxes[0] })).await;
        assert_eq!(refusal(&mailbox), ("NOT_FOUND".to_owned(), Some("id".to_owned())));
    }
}

test_both! {
    async fn the_rule_admits_the_same_rows_however_it_is_written(app) {
        use crm_server::engine::Scope;
        use crm_server::engine::access::{Reach, Viewer, visible_in_reach};
        use sea_orm::ConnectionTrait;
        use sea_orm::sea_query::{Alias, Query};

        let w = world(&app).await;
        let ann = Viewer { user_id: w.ann, role: Role::Commercial };
        for table in entity::Table::ALL {
            let mut admitted = Vec::new();
            for reach in [Reach::Table, Reach::Ids] {
                let s = Scope::root(app.db_backend(), ann);
                let mut select = Query::select()
                    .expr_as(s.col("id"), Alias::new("id"))
                    .from_as(Alias::new(table.name()), Alias::new(&s.alias))
                    .to_owned();
                if let Some(visible) = visible_in_reach(table, &s, reach) {
                    select.cond_where(visible);
                }
                let mut ids: Vec<Uuid> = app
                    .db
                    .query_all(&select)
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.try_get("", "id").unwrap())
                    .collect();
                ids.sort();
                admitted.push(ids);
            }
            assert_eq!(admitted[0], admitted[1], "{table:?}");
            let [mine, _] = &w.rows;
            let expected = match table {
                entity::Table::Clients => Some(mine.client),
                entity::Table::Contracts => Some(mine.contract),
                entity::Table::Payments => Some(mine.payment),
                entity::Table::Documents => Some(mine.document),
                entity::Table::ClientNotes => Some(mine.note),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(admitted[0], [expected], "{table:?}: Ann's row only");
            }
        }
    }
}
