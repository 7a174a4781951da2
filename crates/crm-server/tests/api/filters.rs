//! Filters: every operator family, combinators and relation filters, same answers on both
//! backends.

use entity::{ClientStatus, ContractStatus, PaymentStatus, Role, clients};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, error_codes, fixtures, pluck_str};

async fn names(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app
        .data(
            "query($f: ClientFilter) { clients(filter: $f, orderBy: [{ field: COMPANY_NAME }]) { nodes { companyName } } }",
            json!({ "f": filter }),
        )
        .await;
    pluck_str(&data["clients"], "companyName")
}

async fn client_with(
    app: &TestApp,
    name: &str,
    city: Option<&str>,
    status: ClientStatus,
) -> clients::Model {
    let c = fixtures::client(&app.db, name, None).await;
    let mut active = c.into_active_model();
    active.city = Set(city.map(str::to_owned));
    active.status = Set(status);
    active.update(&app.db).await.unwrap()
}

test_both! {
    async fn string_operators_match_alike_on_both_backends(app) {
        client_with(&app, "TechNova", Some("Paris"), ClientStatus::Active).await;
        client_with(&app, "Biotech 50%_off", Some("Lyon"), ClientStatus::Active).await;
        client_with(&app, "Green Farm", None, ClientStatus::Prospect).await;

        assert_eq!(names(&app, json!({ "companyName": { "eq": "TechNova" } })).await, ["TechNova"]);
        assert_eq!(names(&app, json!({ "companyName": { "ne": "TechNova" } })).await, ["Biotech 50%_off", "Green Farm"]);
        assert_eq!(names(&app, json!({ "companyName": { "in": ["Green Farm", "Nope"] } })).await, ["Green Farm"]);
        assert_eq!(names(&app, json!({ "companyName": { "notIn": ["Green Farm"] } })).await, ["Biotech 50%_off", "TechNova"]);
        // Case-sensitive operators are case-sensitive on SQLite too.
        assert_eq!(names(&app, json!({ "companyName": { "contains": "tech" } })).await, ["Biotech 50%_off"]);
        assert_eq!(names(&app, json!({ "companyName": { "contains": "Tech" } })).await, ["TechNova"]);
        assert_eq!(names(&app, json!({ "companyName": { "startsWith": "Tech" } })).await, ["TechNova"]);
        assert_eq!(names(&app, json!({ "companyName": { "startsWith": "tech" } })).await, Vec::<String>::new());
        assert_eq!(names(&app, json!({ "companyName": { "endsWith": "Farm" } })).await, ["Green Farm"]);
        // Insensitive ones ignore case; LIKE wildcards in the input are literal.
        assert_eq!(names(&app, json!({ "companyName": { "containsInsensitive": "TECH" } })).await, ["Biotech 50%_off", "TechNova"]);
        assert_eq!(names(&app, json!({ "companyName": { "containsInsensitive": "50%_" } })).await, ["Biotech 50%_off"]);
        assert_eq!(names(&app, json!({ "companyName": { "containsInsensitive": "5_%" } })).await, Vec::<String>::new());
        assert_eq!(names(&app, json!({ "companyName": { "startsWithInsensitive": "green" } })).await, ["Green Farm"]);
        assert_eq!(names(&app, json!({ "companyName": { "endsWithInsensitive": "NOVA" } })).await, ["TechNova"]);
        assert_eq!(names(&app, json!({ "companyName": { "eqInsensitive": "technova" } })).await, ["TechNova"]);
        assert_eq!(names(&app, json!({ "city": { "isNull": true } })).await, ["Green Farm"]);
        assert_eq!(names(&app, json!({ "city": { "isNull": false } })).await, ["Biotech 50%_off", "TechNova"]);
    }
}

test_both! {
    async fn the_name_search_follows_renames_and_other_fields_search_alike(app) {
        // The case-insensitive name search reads a lower-case copy the database keeps
        // (`clients.company_name_lower`): a renamed client is found by its new name only.
        let client = client_with(&app, "Old Name", Some("Paris"), ClientStatus::Active).await;
        client_with(&app, "ÉCOLE Tech", Some("LYON"), ClientStatus::Active).await;
        let renamed = app
            .data(
                "mutation($id: UUID!) { updateClient(id: $id, input: { companyName: \"Brand NEW\" }) { companyName } }",
                json!({ "id": client.id }),
            )
            .await;
        assert_eq!(renamed["updateClient"]["companyName"], "Brand NEW");
        assert_eq!(names(&app, json!({ "companyName": { "containsInsensitive": "new" } })).await, ["Brand NEW"]);
        assert_eq!(names(&app, json!({ "companyName": { "containsInsensitive": "old" } })).await, Vec::<String>::new());
        assert_eq!(names(&app, json!({ "companyName": { "eqInsensitive": "brand new" } })).await, ["Brand NEW"]);
        // Other text fields search the same way without such a copy.
        assert_eq!(names(&app, json!({ "city": { "eqInsensitive": "lyon" } })).await, ["ÉCOLE Tech"]);
        assert_eq!(names(&app, json!({ "city": { "containsInsensitive": "AR" } })).await, ["Brand NEW"]);
        // Letters beyond ASCII: PostgreSQL ignores their case, SQLite's LOWER does not.
        let accented = names(&app, json!({ "companyName": { "startsWithInsensitive": "école" } })).await;
        match app.backend {
            Backend::Postgres => assert_eq!(accented, ["ÉCOLE Tech"]),
            Backend::Sqlite => assert_eq!(accented, Vec::<String>::new()),
        }
        assert_eq!(names(&app, json!({ "companyName": { "startsWithInsensitive": "ÉCOLE tECH" } })).await, ["ÉCOLE Tech"]);
    }
}

test_both! {
    async fn enum_uuid_and_boolean_operators(app) {
        let a = client_with(&app, "A", Some("Paris"), ClientStatus::Active).await;
        client_with(&app, "B", Some("Paris"), ClientStatus::Churned).await;
        client_with(&app, "C", Some("Paris"), ClientStatus::Prospect).await;

        assert_eq!(names(&app, json!({ "status": { "eq": "active" } })).await, ["A"]);
        assert_eq!(names(&app, json!({ "status": { "ne": "active" } })).await, ["B", "C"]);
        assert_eq!(names(&app, json!({ "status": { "in": ["active", "churned"] } })).await, ["A", "B"]);
        assert_eq!(names(&app, json!({ "status": { "notIn": ["active", "churned"] } })).await, ["C"]);
        assert_eq!(names(&app, json!({ "status": { "in": [] } })).await, Vec::<String>::new());
        assert_eq!(names(&app, json!({ "id": { "eq": a.id } })).await, ["A"]);
        assert_eq!(names(&app, json!({ "id": { "ne": a.id } })).await, ["B", "C"]);
        assert_eq!(names(&app, json!({ "id": { "in": [a.id] } })).await, ["A"]);
        assert_eq!(names(&app, json!({ "id": { "notIn": [a.id] } })).await, ["B", "C"]);
        assert_eq!(names(&app, json!({ "kycCompleted": { "eq": true } })).await, ["A", "B", "C"]);
        assert_eq!(names(&app, json!({ "kycCompleted": { "eq": false } })).await, Vec::<String>::new());
        assert_eq!(names(&app, json!({ "assignedToId": { "isNull": true } })).await, ["A", "B", "C"]);

        let response = app
            .gql("{ clients(filter: { status: { eq: BOGUS } }) { nodes { id } } }", Value::Null)
            .await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "eq");
    }
}

test_both! {
    async fn number_money_date_and_timestamp_comparisons(app) {
        let c = fixtures::client(&app.db, "Acme", None).await;
        fixtures::contract(&app.db, c.id, "K-1", "99.99", ContractStatus::Active).await;
        fixtures::contract(&app.db, c.id, "K-2", "100.00", ContractStatus::Active).await;
        fixtures::contract(&app.db, c.id, "K-3", "100.01", ContractStatus::Active).await;
        let q = "query($f: ContractFilter) { contracts(filter: $f) { nodes { contractNumber } } }";
        let app = &app;
        let numbers = |f: Value| async move { pluck_str(&app.data(q, json!({ "f": f })).await["contracts"], "contractNumber") };

        assert_eq!(numbers(json!({ "amount": { "eq": "100" } })).await, ["K-2"]);
        assert_eq!(numbers(json!({ "amount": { "ne": "100.00" } })).await, ["K-1", "K-3"]);
        assert_eq!(numbers(json!({ "amount": { "gt": "100.00" } })).await, ["K-3"]);
        assert_eq!(numbers(json!({ "amount": { "gte": "100.00" } })).await, ["K-2", "K-3"]);
        assert_eq!(numbers(json!({ "amount": { "lt": "100.00" } })).await, ["K-1"]);
        assert_eq!(numbers(json!({ "amount": { "lte": 100 } })).await, ["K-1", "K-2"]);
        assert_eq!(numbers(json!({ "startDate": { "gte": "2026-03-01", "lt": "2026-03-02" } })).await, ["K-1", "K-2", "K-3"]);
        assert_eq!(numbers(json!({ "endDate": { "gt": "2027-02-28" } })).await, Vec::<String>::new());
        assert_eq!(numbers(json!({ "signedAt": { "eq": "2026-02-20T09:30:00Z" } })).await, ["K-1", "K-2", "K-3"]);
        assert_eq!(numbers(json!({ "signedAt": { "gt": "2026-02-20T10:30:00+02:00" } })).await, ["K-1", "K-2", "K-3"]);
        assert_eq!(numbers(json!({ "createdAt": { "lt": "2026-01-01T00:00:00Z" } })).await, Vec::<String>::new());

        // Money must be exact: fractional JSON numbers are refused.
        let response = app.gql(q, json!({ "f": { "amount": { "eq": 99.99 } } })).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
        let response = app.gql(q, json!({ "f": { "startDate": { "eq": "03/01/2026" } } })).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
    }
}

test_both! {
    async fn and_or_not_combine(app) {
        client_with(&app, "Alpha", Some("Paris"), ClientStatus::Active).await;
        client_with(&app, "Beta", Some("Lyon"), ClientStatus::Active).await;
        client_with(&app, "Gamma", Some("Paris"), ClientStatus::Inactive).await;

        assert_eq!(names(&app, json!({ "city": { "eq": "Paris" }, "status": { "eq": "active" } })).await, ["Alpha"]);
        assert_eq!(names(&app, json!({ "or": [{ "city": { "eq": "Lyon" } }, { "status": { "eq": "inactive" } }] })).await, ["Beta", "Gamma"]);
        assert_eq!(names(&app, json!({ "not": { "city": { "eq": "Paris" } } })).await, ["Beta"]);
        assert_eq!(
            names(&app, json!({ "and": [{ "city": { "eq": "Paris" } }, { "not": { "companyName": { "startsWith": "A" } } }] })).await,
            ["Gamma"]
        );
        assert_eq!(names(&app, json!({ "or": [] })).await, Vec::<String>::new());
    }
}

test_both! {
    async fn relation_filters_reach_across_tables(app) {
        let rep = fixtures::user(&app.db, "frank", Role::Commercial).await;
        let other = fixtures::user(&app.db, "grace", Role::Commercial).await;
        let a = fixtures::client(&app.db, "Assigned to Frank", Some(rep.id)).await;
        let b = fixtures::client(&app.db, "Assigned to Grace", Some(other.id)).await;
        fixtures::client(&app.db, "Without contracts", None).await;
        let ka = fixtures::contract(&app.db, a.id, "A-1", "10.00", ContractStatus::Active).await;
        fixtures::contract(&app.db, b.id, "B-1", "10.00", ContractStatus::Draft).await;
        fixtures::payment(&app.db, &ka, "10.00", PaymentStatus::Completed).await;

        // Clients having some contract in a status; having none; all of them.
        assert_eq!(names(&app, json!({ "contracts": { "some": { "status": { "eq": "active" } } } })).await, ["Assigned to Frank"]);
        assert_eq!(
            names(&app, json!({ "contracts": { "none": { "status": { "eq": "active" } } } })).await,
            ["Assigned to Grace", "Without contracts"]
        );
        assert_eq!(
            names(&app, json!({ "contracts": { "every": { "status": { "eq": "draft" } } } })).await,
            ["Assigned to Grace", "Without contracts"]
        );
        assert_eq!(names(&app, json!({ "assignedTo": { "username": { "eq": "grace" } } })).await, ["Assigned to Grace"]);
        assert_eq!(names(&app, json!({ "payments": { "some": { "amount": { "gte": "10" } } } })).await, ["Assigned to Frank"]);

        // Contracts of clients assigned to a user.
        let data = app
            .data(
                "query($u: UUID!) { contracts(filter: { client: { assignedToId: { eq: $u } } }) { nodes { contractNumber } } }",
                json!({ "u": rep.id }),
            )
            .await;
        assert_eq!(pluck_str(&data["contracts"], "contractNumber"), ["A-1"]);
        // Payments of contracts in a status, two hops.
        let data = app
            .data(
                "{ payments(filter: { contract: { client: { companyName: { contains: \"Frank\" } } } }) { totalCount } }",
                Value::Null,
            )
            .await;
        assert_eq!(data["payments"]["totalCount"], 1);
    }
}
