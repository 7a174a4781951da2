//! Dashboards: `aggregate` on every list and `…Groups` on the root lists, exact to the cent,
//! per currency, within each viewer's portfolio, one statement each.

use chrono::NaiveDate;
use entity::{ContractStatus, PaymentStatus, Role, contracts, payments};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, fixtures};

/// The portfolio every test reads (figures worked out by hand in the tests):
///
/// Each contract's commercial is its client's rep.
///
/// | client | rep | contract | currency | amount | status | payments (amount status date) |
/// |---|---|---|---|---|---|---|
/// | Acme | ann | A-1 | EUR | 1000.10 | active | 0.10 completed 01-31, 0.20 completed 02-01, 100.00 pending 02-15 |
/// | Acme | ann | A-2 | USD | 500.00 | completed | 500.00 completed 03-10 |
/// | Bolt | ben | B-1 | EUR | 2000.00 | active | 1999.99 completed 02-28, 0.01 failed 03-01 |
/// | Cosy | ann | C-1 | EUR | 0.20 | draft | none |
struct Portfolio {
    ann_token: String,
    acme: Uuid,
    bolt: Uuid,
    cosy: Uuid,
}

async fn pay(
    db: &DatabaseConnection,
    contract: &contracts::Model,
    amount: &str,
    status: PaymentStatus,
    day: NaiveDate,
) {
    let payment = fixtures::payment(db, contract, amount, status).await;
    let mut payment: payments::ActiveModel = payment.into();
    payment.payment_date = Set(day);
    payment.update(db).await.unwrap();
}

async fn portfolio(app: &TestApp) -> Portfolio {
    let db = &app.db;
    let (ann, ann_token) = app.user("ann", Role::Commercial, None).await;
    let (ben, _) = app.user("ben", Role::Commercial, None).await;
    let acme = fixtures::client(db, "Acme", Some(ann)).await;
    let bolt = fixtures::client(db, "Bolt", Some(ben)).await;
    let cosy = fixtures::client(db, "Cosy", Some(ann)).await;
    let signed = |contract: contracts::Model, rep: Uuid, currency: &str| {
        let mut contract: contracts::ActiveModel = contract.into();
        contract.commercial_id = Set(Some(rep));
        contract.currency = Set(currency.to_owned());
        contract.update(db)
    };
    let a1 = fixtures::contract(db, acme.id, "A-1", "1000.10", ContractStatus::Active).await;
    let a1 = signed(a1, ann, "EUR").await.unwrap();
    let a2 = fixtures::contract(db, acme.id, "A-2", "500.00", ContractStatus::Completed).await;
    let a2 = signed(a2, ann, "USD").await.unwrap();
    let b1 = fixtures::contract(db, bolt.id, "B-1", "2000.00", ContractStatus::Active).await;
    let b1 = signed(b1, ben, "EUR").await.unwrap();
    let c1 = fixtures::contract(db, cosy.id, "C-1", "0.20", ContractStatus::Draft).await;
    signed(c1, ann, "EUR").await.unwrap();
    let day = fixtures::date;
    pay(db, &a1, "0.10", PaymentStatus::Completed, day(2026, 1, 31)).await;
    pay(db, &a1, "0.20", PaymentStatus::Completed, day(2026, 2, 1)).await;
    pay(db, &a1, "100.00", PaymentStatus::Pending, day(2026, 2, 15)).await;
    pay(
        db,
        &a2,
        "500.00",
        PaymentStatus::Completed,
        day(2026, 3, 10),
    )
    .await;
    pay(
        db,
        &b1,
        "1999.99",
        PaymentStatus::Completed,
        day(2026, 2, 28),
    )
    .await;
    pay(db, &b1, "0.01", PaymentStatus::Failed, day(2026, 3, 1)).await;
    Portfolio {
        ann_token,
        acme: acme.id,
        bolt: bolt.id,
        cosy: cosy.id,
    }
}

const PAYMENT_FIGURES: &str =
    "query($filter: PaymentFilter) { payments(filter: $filter) { aggregate {
    count
    clients: countDistinct(field: CLIENT_ID)
    statuses: countDistinct(field: STATUS)
    money(field: AMOUNT) { currency count sum avg min max }
    date(field: PAYMENT_DATE) { min max }
} } }";

test_both! {
    async fn aggregates_are_exact_per_currency_and_ignore_pages(app) {
        let p = portfolio(&app).await;
        app.take_statement_count();
        let all = app.data(PAYMENT_FIGURES, json!({})).await;
        assert_eq!(app.take_statement_count(), 1, "one statement for the whole aggregate");
        assert_eq!(
            all["payments"]["aggregate"],
            json!({
                "count": 6,
                "clients": 2,
                "statuses": 3,
                "money": [
                    // 0.10 + 0.20 + 100.00 + 1999.99 + 0.01, never through a float.
                    { "currency": "EUR", "count": 5, "sum": "2100.30", "avg": "420.06", "min": "0.01", "max": "1999.99" },
                    { "currency": "USD", "count": 1, "sum": "500.00", "avg": "500.00", "min": "500.00", "max": "500.00" },
                ],
                "date": { "min": "2026-01-31", "max": "2026-03-10" },
            })
        );

        // The filter applies, pagination does not: 2000.29 / 3 = 666.763… → 666.76.
        let completed = app
            .data(
                "{ payments(first: 1, filter: { status: { eq: completed } }) {
                    nodes { id } aggregate { count money(field: AMOUNT) { currency count sum avg } } } }",
                json!({}),
            )
            .await;
        assert_eq!(completed["payments"]["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(
            completed["payments"]["aggregate"],
            json!({ "count": 4, "money": [
                { "currency": "EUR", "count": 3, "sum": "2000.29", "avg": "666.76" },
                { "currency": "USD", "count": 1, "sum": "500.00", "avg": "500.00" },
            ] })
        );

        // A filter fixing the currency leaves one entry; one matching nothing, none.
        let usd = app
            .data(
                "{ contracts(filter: { currency: { eq: \"USD\" } }) { aggregate {
                    count money(field: AMOUNT) { currency sum } paid: money(field: PAID_AMOUNT) { sum } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            usd["contracts"]["aggregate"],
            json!({ "count": 1, "money": [{ "currency": "USD", "sum": "500.00" }], "paid": [{ "sum": "500.00" }] })
        );
        let none = app
            .data(
                "{ contracts(filter: { contractNumber: { eq: \"none\" } }) { totalCount aggregate {
                    count money(field: AMOUNT) { sum } date(field: START_DATE) { min } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            none["contracts"],
            json!({ "totalCount": 0, "aggregate": { "count": 0, "money": [], "date": { "min": null } } })
        );

        // Contracts: amounts, paid amounts and outstanding amounts, each per currency.
        let contracts = app
            .data(
                "{ contracts { aggregate { count
                    amount: money(field: AMOUNT) { currency sum max }
                    paid: money(field: PAID_AMOUNT) { currency sum }
                    owed: money(field: OUTSTANDING_AMOUNT) { currency sum } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            contracts["contracts"]["aggregate"],
            json!({
                "count": 4,
                "amount": [{ "currency": "EUR", "sum": "3000.30", "max": "2000.00" }, { "currency": "USD", "sum": "500.00", "max": "500.00" }],
                "paid": [{ "currency": "EUR", "sum": "2000.29" }, { "currency": "USD", "sum": "500.00" }],
                // Signed contracts only: (1000.10 - 0.30) + (2000.00 - 1999.99); the completed USD one is paid.
                "owed": [{ "currency": "EUR", "sum": "999.81" }, { "currency": "USD", "sum": "0.00" }],
            })
        );

        // Whole numbers: document sizes 123456 and 1001.
        let documents = [
            fixtures::document(&app.db, p.acme, None, None).await,
            fixtures::document(&app.db, p.bolt, None, None).await,
        ];
        let mut small: entity::documents::ActiveModel = documents[1].clone().into();
        small.file_size = Set(Some(1001));
        small.update(&app.db).await.unwrap();
        let sizes = app
            .data(
                "{ documents { aggregate { count number(field: FILE_SIZE) { count sum avg min max }
                    dateTime(field: CREATED_AT) { min max } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            sizes["documents"]["aggregate"],
            json!({
                "count": 2,
                "number": { "count": 2, "sum": "124457", "avg": "62228.50", "min": 1001, "max": 123456 },
                "dateTime": { "min": "2026-02-02T09:30:00Z", "max": "2026-02-02T09:30:00Z" },
            })
        );
        // A group whose sizes are all unknown sums to 0, in `having` as in its figures, and
        // has no average.
        let unknown = fixtures::document(&app.db, p.cosy, None, None).await;
        let mut unknown: entity::documents::ActiveModel = unknown.into();
        unknown.file_size = Set(None);
        unknown.mime_type = Set(Some("text/plain".to_owned()));
        unknown.update(&app.db).await.unwrap();
        let small = app
            .data(
                "{ small: documentGroups(by: [{ field: MIME_TYPE }], having: [{ measure: { function: SUM, number: FILE_SIZE }, lt: \"1000\" }]) {
                    nodes { keys { mimeType } aggregate { number(field: FILE_SIZE) { count sum avg } } } }
                   zero: documentGroups(by: [{ field: MIME_TYPE }], having: [{ measure: { function: AVG, number: FILE_SIZE }, eq: \"0\" }]) {
                    nodes { keys { mimeType } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            small["small"]["nodes"],
            json!([{ "keys": { "mimeType": "text/plain" }, "aggregate": { "number": { "count": 0, "sum": "0", "avg": null } } }])
        );
        assert_eq!(small["zero"]["nodes"], json!([]));
    }
}

test_both! {
    async fn a_commercial_s_aggregates_are_those_of_their_own_rows(app) {
        let p = portfolio(&app).await;
        let own = app
            .gql_as(Some(&p.ann_token), PAYMENT_FIGURES, json!({}))
            .await;
        assert!(own["errors"].is_null(), "{own}");
        // The admin, filtering on Ann's clients, sees the same figures.
        let same = app
            .data(PAYMENT_FIGURES, json!({ "filter": { "clientId": { "in": [p.acme, p.cosy] } } }))
            .await;
        assert_eq!(own["data"], same);
        assert_eq!(
            own["data"]["payments"]["aggregate"]["money"],
            json!([
                { "currency": "EUR", "count": 3, "sum": "100.30", "avg": "33.43", "min": "0.10", "max": "100.00" },
                { "currency": "USD", "count": 1, "sum": "500.00", "avg": "500.00", "min": "500.00", "max": "500.00" },
            ])
        );
        assert_eq!(own["data"]["payments"]["aggregate"]["clients"], 1);
        // Relation aggregates too: Bolt is not hers, so not listed at all.
        let nested = app
            .gql_as(
                Some(&p.ann_token),
                "{ clients(orderBy: [{ field: COMPANY_NAME }]) { nodes { companyName
                    payments { aggregate { count money(field: AMOUNT) { currency sum } } } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            nested["data"]["clients"]["nodes"],
            json!([
                { "companyName": "Acme", "payments": { "aggregate": { "count": 4, "money": [
                    { "currency": "EUR", "sum": "100.30" }, { "currency": "USD", "sum": "500.00" }] } } },
                { "companyName": "Cosy", "payments": { "aggregate": { "count": 0, "money": [] } } },
            ])
        );
    }
}

test_both! {
    async fn relation_aggregates_take_one_statement_per_level(app) {
        let p = portfolio(&app).await;
        app.take_statement_count();
        let nested: Value = app
            .data(
                "{ clients(orderBy: [{ field: COMPANY_NAME }]) { nodes { companyName
                    payments(filter: { status: { eq: completed } }) { aggregate { count money(field: AMOUNT) { currency sum } } }
                    contracts { totalCount aggregate { count countDistinct(field: CURRENCY) money(field: AMOUNT) { currency sum } } } } } }",
                json!({}),
            )
            .await;
        // The page of clients, the payments' figures, the contracts' counts and figures.
        assert_eq!(app.take_statement_count(), 4);
        let nodes = &nested["clients"]["nodes"];
        assert_eq!(
            nodes[0]["payments"]["aggregate"],
            json!({ "count": 3, "money": [{ "currency": "EUR", "sum": "0.30" }, { "currency": "USD", "sum": "500.00" }] })
        );
        assert_eq!(
            nodes[0]["contracts"],
            json!({ "totalCount": 2, "aggregate": { "count": 2, "countDistinct": 2, "money": [
                { "currency": "EUR", "sum": "1000.10" }, { "currency": "USD", "sum": "500.00" }] } })
        );
        assert_eq!(
            nodes[1]["payments"]["aggregate"],
            json!({ "count": 1, "money": [{ "currency": "EUR", "sum": "1999.99" }] })
        );
        assert_eq!(
            nodes[2]["contracts"]["aggregate"],
            json!({ "count": 1, "countDistinct": 1, "money": [{ "currency": "EUR", "sum": "0.20" }] })
        );
        let _ = (p.acme, p.bolt, p.cosy);
    }
}

/// The groups of a `…Groups` answer, as `{ keys…, figures… }` lines.
fn groups(answer: &Value, list: &str) -> Value {
    answer[list]["nodes"].clone()
}

test_both! {
    async fn groups_have_typed_keys_and_their_figures_add_up_to_the_whole(app) {
        let _p = portfolio(&app).await;
        // Revenue by month: completed payments, per month and currency.
        app.take_statement_count();
        let revenue = app
            .data(
                "{ paymentGroups(by: [{ field: PAYMENT_DATE, period: MONTH }], filter: { status: { eq: completed } }) {
                    nodes { keys { paymentDate currency status } aggregate { count money(field: AMOUNT) { currency sum } } } } }",
                json!({}),
            )
            .await;
        assert_eq!(app.take_statement_count(), 1, "one statement for the grouping");
        assert_eq!(
            groups(&revenue, "paymentGroups"),
            json!([
                { "keys": { "paymentDate": "2026-01-01", "currency": "EUR", "status": null },
                  "aggregate": { "count": 1, "money": [{ "currency": "EUR", "sum": "0.10" }] } },
                { "keys": { "paymentDate": "2026-02-01", "currency": "EUR", "status": null },
                  "aggregate": { "count": 2, "money": [{ "currency": "EUR", "sum": "2000.19" }] } },
                { "keys": { "paymentDate": "2026-03-01", "currency": "USD", "status": null },
                  "aggregate": { "count": 1, "money": [{ "currency": "USD", "sum": "500.00" }] } },
            ])
        );
        // The groups add up to the list's aggregate.
        let whole = app
            .data(
                "{ payments(filter: { status: { eq: completed } }) { aggregate { count money(field: AMOUNT) { currency sum } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            whole["payments"]["aggregate"],
            json!({ "count": 4, "money": [{ "currency": "EUR", "sum": "2000.29" }, { "currency": "USD", "sum": "500.00" }] })
        );

        // Pipeline by status: enum keys as enums; no money asked, no currency split.
        let pipeline = app
            .data(
                "{ contractGroups(by: [{ field: STATUS }]) { totalCount nodes { keys { status currency }
                    aggregate { count amount: money(field: AMOUNT) { currency sum } } } } }",
                json!({}),
            )
            .await;
        assert_eq!(pipeline["contractGroups"]["totalCount"], 3);
        assert_eq!(
            groups(&pipeline, "contractGroups"),
            json!([
                { "keys": { "status": "active", "currency": "EUR" }, "aggregate": { "count": 2, "amount": [{ "currency": "EUR", "sum": "3000.10" }] } },
                { "keys": { "status": "completed", "currency": "USD" }, "aggregate": { "count": 1, "amount": [{ "currency": "USD", "sum": "500.00" }] } },
                { "keys": { "status": "draft", "currency": "EUR" }, "aggregate": { "count": 1, "amount": [{ "currency": "EUR", "sum": "0.20" }] } },
            ])
        );
        let clients = app
            .data(
                "{ clientGroups(by: [{ field: STATUS }, { field: KYC_COMPLETED }]) { nodes { keys { status kycCompleted } aggregate { count } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            groups(&clients, "clientGroups"),
            json!([{ "keys": { "status": "active", "kycCompleted": true }, "aggregate": { "count": 3 } }])
        );

        // Weeks start on Monday; quarters and years on their first day.
        let periods = app
            .data(
                "{ weeks: paymentGroups(by: [{ field: PAYMENT_DATE, period: WEEK }]) { nodes { keys { paymentDate } aggregate { count } } }
                   quarters: paymentGroups(by: [{ field: PAYMENT_DATE, period: QUARTER }]) { nodes { keys { paymentDate } aggregate { count } } }
                   years: paymentGroups(by: [{ field: PAYMENT_DATE, period: YEAR }]) { nodes { keys { paymentDate } aggregate { count } } } }",
                json!({}),
            )
            .await;
        let dates = |list: &str| -> Vec<(String, i64)> {
            periods[list]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| (g["keys"]["paymentDate"].as_str().unwrap().to_owned(), g["aggregate"]["count"].as_i64().unwrap()))
                .collect()
        };
        let owned = |v: &[(&str, i64)]| v.iter().map(|(d, n)| ((*d).to_owned(), *n)).collect::<Vec<_>>();
        assert_eq!(dates("weeks"), owned(&[("2026-01-26", 2), ("2026-02-09", 1), ("2026-02-23", 2), ("2026-03-09", 1)]));
        // Payments are always grouped per currency: five in euros, one in dollars.
        assert_eq!(dates("quarters"), owned(&[("2026-01-01", 5), ("2026-01-01", 1)]));
        assert_eq!(dates("years"), owned(&[("2026-01-01", 5), ("2026-01-01", 1)]));

        // Only the currency and count of an amount selected: its entries are there all the same.
        let light = app
            .data(
                "{ payments { aggregate { money(field: AMOUNT) { currency count } } }
                   documents { aggregate { number(field: FILE_SIZE) { __typename } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            light["payments"]["aggregate"]["money"],
            json!([{ "currency": "EUR", "count": 5 }, { "currency": "USD", "count": 1 }])
        );
    }
}

test_both! {
    async fn groups_are_filtered_ordered_and_paged_by_their_figures(app) {
        let p = portfolio(&app).await;
        let (ann, ben) = {
            let users = app.data("{ users(filter: { role: { eq: commercial } }, orderBy: [{ field: USERNAME }]) { nodes { id } } }", json!({})).await;
            (users["users"]["nodes"][0]["id"].clone(), users["users"]["nodes"][1]["id"].clone())
        };
        // Top reps by signed value, one per page.
        let query = "query($after: String) { contractGroups(by: [{ field: CLIENT_ASSIGNED_TO }],
            filter: { status: { in: [active, completed] } },
            orderBy: [{ measure: { function: SUM, money: AMOUNT }, direction: DESC }], first: 1, after: $after) {
            totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
            edges { cursor node { keys { clientAssignedTo currency } aggregate { money(field: AMOUNT) { sum } } } } } }";
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app.data(query, json!({ "after": after })).await;
            let connection = &page["contractGroups"];
            assert_eq!(connection["totalCount"], 3);
            let edge = &connection["edges"][0];
            seen.push((
                edge["node"]["keys"]["clientAssignedTo"].clone(),
                edge["node"]["keys"]["currency"].clone(),
                edge["node"]["aggregate"]["money"][0]["sum"].clone(),
            ));
            assert_eq!(connection["pageInfo"]["endCursor"], edge["cursor"]);
            assert_eq!(connection["pageInfo"]["hasPreviousPage"], !after.is_null());
            if connection["pageInfo"]["hasNextPage"] == json!(false) {
                break;
            }
            after = connection["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(
            seen,
            vec![
                (ben.clone(), json!("EUR"), json!("2000.00")),
                (ann.clone(), json!("EUR"), json!("1000.10")),
                (ann.clone(), json!("USD"), json!("500.00")),
            ]
        );

        // having: on counts, sums (per currency) and exact averages.
        let having = |condition: Value| {
            let app = &app;
            async move {
                let answer = app
                    .data(
                        "query($having: [PaymentGroupCondition!]) { paymentGroups(by: [{ field: CLIENT_ID }], having: $having) {
                            nodes { keys { clientId currency } aggregate { count } } } }",
                        json!({ "having": [condition] }),
                    )
                    .await;
                answer["paymentGroups"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| (g["keys"]["clientId"].clone(), g["keys"]["currency"].clone()))
                    .collect::<Vec<_>>()
            }
        };
        let acme = json!(p.acme);
        let bolt = json!(p.bolt);
        let (first, second) = if p.acme < p.bolt { (&acme, &bolt) } else { (&bolt, &acme) };
        // Per client and currency: Acme's 3 in euros and 1 in dollars, Bolt's 2 in euros.
        assert_eq!(
            having(json!({ "measure": { "function": "COUNT" }, "gte": "2" })).await,
            vec![(first.clone(), json!("EUR")), (second.clone(), json!("EUR"))]
        );
        assert_eq!(
            having(json!({ "measure": { "function": "COUNT" }, "gt": "2" })).await,
            vec![(acme.clone(), json!("EUR"))]
        );
        assert_eq!(
            having(json!({ "measure": { "function": "SUM", "money": "AMOUNT" }, "gt": "1000" })).await,
            vec![(bolt.clone(), json!("EUR"))]
        );
        // Acme's euros average 100.30 / 3 = 33.433…: above 33.43, below 33.44; Bolt's 1000.00.
        let avg = |op: &str| json!({ "measure": { "function": "AVG", "money": "AMOUNT" }, op: "33.43" });
        assert!(having(avg("gt")).await.contains(&(acme.clone(), json!("EUR"))));
        let avg_above = json!({ "measure": { "function": "AVG", "money": "AMOUNT" }, "gt": "33.44", "lt": "1000.01" });
        assert_eq!(
            having(avg_above).await,
            if p.acme < p.bolt {
                vec![(acme.clone(), json!("USD")), (bolt.clone(), json!("EUR"))]
            } else {
                vec![(bolt.clone(), json!("EUR")), (acme.clone(), json!("USD"))]
            }
        );
        let _ = p.cosy;
    }
}

test_both! {
    async fn timestamps_are_grouped_by_the_calendar_of_the_time_zone(app) {
        let p = portfolio(&app).await;
        // Signed at 23:30 UTC on January 31st: February 1st in Paris (UTC+1). Signed at 22:30
        // UTC on March 31st: April 1st in Paris (UTC+2 since March 29th).
        let signed = |number: &'static str, at: chrono::DateTime<chrono::Utc>| {
            let db = app.db.clone();
            async move {
                let contract = fixtures::contract(&db, p.cosy, number, "1.00", ContractStatus::Active).await;
                let mut contract: contracts::ActiveModel = contract.into();
                contract.signed_at = Set(Some(at));
                contract.update(&db).await.unwrap();
            }
        };
        use chrono::TimeZone;
        signed("TZ-1", chrono::Utc.with_ymd_and_hms(2026, 1, 31, 23, 30, 0).unwrap()).await;
        signed("TZ-2", chrono::Utc.with_ymd_and_hms(2026, 3, 31, 22, 30, 0).unwrap()).await;
        let months = |zone: Option<&str>| {
            let app = &app;
            let zone = zone.map(str::to_owned);
            async move {
                let answer = app
                    .data(
                        "query($zone: String) { contractGroups(by: [{ field: SIGNED_AT, period: MONTH }],
                            filter: { contractNumber: { startsWith: \"TZ-\" } }, timeZone: $zone) {
                            nodes { keys { signedAt } aggregate { count } } } }",
                        json!({ "zone": zone }),
                    )
                    .await;
                answer["contractGroups"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g["keys"]["signedAt"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(months(None).await, vec!["2026-01-01", "2026-03-01"]);
        assert_eq!(months(Some("UTC")).await, vec!["2026-01-01", "2026-03-01"]);
        assert_eq!(months(Some("Europe/Paris")).await, vec!["2026-02-01", "2026-04-01"]);
        // New York (UTC-5, UTC-4 from March 8th): both still in their UTC month.
        assert_eq!(months(Some("America/New_York")).await, vec!["2026-01-01", "2026-03-01"]);
        let days = app
            .data(
                "{ contractGroups(by: [{ field: SIGNED_AT }], filter: { contractNumber: { startsWith: \"TZ-\" } }, timeZone: \"Asia/Tokyo\") {
                    nodes { keys { signedAt } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            days["contractGroups"]["nodes"],
            json!([{ "keys": { "signedAt": "2026-02-01" } }, { "keys": { "signedAt": "2026-04-01" } }])
        );
    }
}

test_both! {
    async fn overdue_payments_are_grouped_by_age(app) {
        let p = portfolio(&app).await;
        let contract = fixtures::contract(&app.db, p.cosy, "AGE-1", "1000.00", ContractStatus::Active).await;
        // Days from today (UTC, the server's default zone); none near a bucket's edge, so the
        // day turning during the test changes nothing.
        let today = chrono::Utc::now().date_naive();
        let ago = |days: i64| today - chrono::Duration::days(days);
        for (amount, status, days) in [
            ("1.00", PaymentStatus::Pending, -5),
            ("2.00", PaymentStatus::Pending, 10),
            ("3.00", PaymentStatus::Pending, 20),
            ("4.00", PaymentStatus::Completed, 20),
            ("5.00", PaymentStatus::Pending, 45),
            ("6.00", PaymentStatus::Pending, 75),
            ("7.00", PaymentStatus::Pending, 120),
            ("8.00", PaymentStatus::Pending, 400),
        ] {
            pay(&app.db, &contract, amount, status, ago(days)).await;
        }
        let aging = |order: &'static str| {
            let app = &app;
            async move {
                let query = format!(
                    "query($contract: UUID!) {{ paymentGroups(by: [{{ field: AGING }}],
                        filter: {{ contractId: {{ eq: $contract }}, status: {{ eq: pending }} }}{order}) {{
                        nodes {{ keys {{ aging currency }} aggregate {{ count money(field: AMOUNT) {{ sum }} }} }} }} }}"
                );
                let answer = app.data(&query, json!({ "contract": contract.id })).await;
                answer["paymentGroups"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| {
                        (
                            g["keys"]["aging"].as_str().unwrap().to_owned(),
                            g["aggregate"]["count"].as_i64().unwrap(),
                            g["aggregate"]["money"][0]["sum"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect::<Vec<_>>()
            }
        };
        let expected = vec![
            ("CURRENT".to_owned(), 1, "1.00".to_owned()),
            ("DAYS_1_TO_30".to_owned(), 2, "5.00".to_owned()),
            ("DAYS_31_TO_60".to_owned(), 1, "5.00".to_owned()),
            ("DAYS_61_TO_90".to_owned(), 1, "6.00".to_owned()),
            ("OVER_90_DAYS".to_owned(), 2, "15.00".to_owned()),
        ];
        // Buckets come from the most recent to the oldest, or the other way round.
        assert_eq!(aging("").await, expected);
        let mut oldest_first = expected.clone();
        oldest_first.reverse();
        assert_eq!(
            aging(", orderBy: [{ key: AGING, direction: DESC }]").await,
            oldest_first
        );
        // The overdue total is the sum of the overdue buckets.
        let answer = app
            .data(
                "query($contract: UUID!, $today: Date!) { payments(filter: { contractId: { eq: $contract },
                    status: { eq: pending }, paymentDate: { lt: $today } }) {
                    aggregate { money(field: AMOUNT) { sum } } } }",
                json!({ "contract": contract.id, "today": today }),
            )
            .await;
        assert_eq!(answer["payments"]["aggregate"]["money"][0]["sum"], "31.00");
        // Paged: the two oldest buckets, then the rest.
        let page = app
            .data(
                "query($contract: UUID!) { paymentGroups(by: [{ field: AGING }], filter: { contractId: { eq: $contract } },
                    orderBy: [{ key: AGING, direction: DESC }], first: 2) {
                    pageInfo { hasNextPage } nodes { keys { aging } } } }",
                json!({ "contract": contract.id }),
            )
            .await;
        assert_eq!(
            page["paymentGroups"],
            json!({ "pageInfo": { "hasNextPage": true },
                "nodes": [{ "keys": { "aging": "OVER_90_DAYS" } }, { "keys": { "aging": "DAYS_61_TO_90" } }] })
        );
        // Ages as of another day: 30 days ago, each payment is 30 days younger.
        let as_of = app
            .data(
                "query($contract: UUID!, $day: Date!) { paymentGroups(by: [{ field: AGING, asOf: $day }],
                    filter: { contractId: { eq: $contract }, status: { eq: pending } }) {
                    nodes { keys { aging } aggregate { count money(field: AMOUNT) { sum } } } } }",
                json!({ "contract": contract.id, "day": ago(30) }),
            )
            .await;
        assert_eq!(
            as_of["paymentGroups"]["nodes"],
            json!([
                { "keys": { "aging": "CURRENT" }, "aggregate": { "count": 3, "money": [{ "sum": "6.00" }] } },
                { "keys": { "aging": "DAYS_1_TO_30" }, "aggregate": { "count": 1, "money": [{ "sum": "5.00" }] } },
                { "keys": { "aging": "DAYS_31_TO_60" }, "aggregate": { "count": 1, "money": [{ "sum": "6.00" }] } },
                { "keys": { "aging": "DAYS_61_TO_90" }, "aggregate": { "count": 1, "money": [{ "sum": "7.00" }] } },
                { "keys": { "aging": "OVER_90_DAYS" }, "aggregate": { "count": 1, "money": [{ "sum": "8.00" }] } },
            ])
        );
        // Only ages take a day to count from.
        let refused = app
            .gql("{ paymentGroups(by: [{ field: PAYMENT_DATE, asOf: \"2026-01-01\" }]) { totalCount } }", json!({}))
            .await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "by");
        // An age takes no period.
        let refused = app
            .gql("{ paymentGroups(by: [{ field: AGING, period: MONTH }]) { totalCount } }", json!({}))
            .await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "by");
    }
}

test_both! {
    async fn a_commercial_groups_only_their_own_rows(app) {
        let p = portfolio(&app).await;
        let query = "{ paymentGroups(by: [{ field: CLIENT_ID }]) { totalCount nodes { keys { clientId } aggregate { count } } } }";
        let own = app.gql_as(Some(&p.ann_token), query, json!({})).await;
        assert_eq!(
            own["data"]["paymentGroups"],
            json!({ "totalCount": 2, "nodes": [
                { "keys": { "clientId": p.acme }, "aggregate": { "count": 3 } },
                { "keys": { "clientId": p.acme }, "aggregate": { "count": 1 } },
            ] })
        );
    }
}

test_both! {
    async fn bad_groupings_are_refused_with_the_argument_at_fault(app) {
        portfolio(&app).await;
        let refused = |query: &'static str| {
            let app = &app;
            async move {
                let answer = app.gql(query, json!({})).await;
                let error = &answer["errors"][0];
                (
                    error["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
                    error["extensions"]["field"].as_str().unwrap_or_default().to_owned(),
                )
            }
        };
        let bad = |field: &str| ("BAD_USER_INPUT".to_owned(), field.to_owned());
        assert_eq!(refused("{ paymentGroups(by: []) { nodes { aggregate { count } } } }").await, bad("by"));
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }, { field: STATUS }]) { nodes { aggregate { count } } } }").await,
            bad("by")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS, period: MONTH }]) { nodes { aggregate { count } } } }").await,
            bad("by")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: CREATED_AT }], timeZone: \"Mars/Olympus\") { nodes { aggregate { count } } } }").await,
            bad("timeZone")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }], having: [{ measure: { function: COUNT, money: AMOUNT }, gt: \"1\" }]) { nodes { aggregate { count } } } }").await,
            bad("having")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }], having: [{ measure: { function: SUM } }]) { nodes { aggregate { count } } } }").await,
            bad("having")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }], having: [{ measure: { function: SUM, money: AMOUNT }, gt: \"79228162514264337593543950335\" }]) { nodes { aggregate { count } } } }").await,
            bad("having")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }], orderBy: [{ measure: { function: AVG, money: AMOUNT } }]) { nodes { aggregate { count } } } }").await,
            bad("orderBy")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }], orderBy: [{ key: CLIENT_ID }]) { nodes { aggregate { count } } } }").await,
            bad("orderBy")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }], first: 1000) { nodes { aggregate { count } } } }").await,
            bad("first")
        );
        assert_eq!(
            refused("{ paymentGroups(by: [{ field: STATUS }], after: \"bm9wZQ\") { nodes { aggregate { count } } } }").await,
            bad("after")
        );
        // A cursor of another grouping.
        let other = app
            .data("{ paymentGroups(by: [{ field: CLIENT_ID }], first: 1) { pageInfo { endCursor } } }", json!({}))
            .await;
        let cursor = other["paymentGroups"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
        let answer = app
            .gql(
                "query($after: String) { paymentGroups(by: [{ field: STATUS }], after: $after) { nodes { aggregate { count } } } }",
                json!({ "after": cursor }),
            )
            .await;
        assert_eq!(answer["errors"][0]["extensions"]["field"], "after");
    }
}

test_both! {
    async fn parents_are_ordered_and_filtered_by_their_children_s_figures(app) {
        let p = portfolio(&app).await;
        // Clients by what they have paid (their completed payments).
        let clients = app
            .data(
                "{ clients(orderBy: [{ field: PAID_AMOUNT, direction: DESC }]) { nodes { companyName paidAmount } }
                   big: clients(filter: { paidAmount: { gt: \"1000\" } }) { nodes { companyName } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            clients["clients"]["nodes"],
            json!([
                { "companyName": "Bolt", "paidAmount": "1999.99" },
                { "companyName": "Acme", "paidAmount": "500.30" },
                { "companyName": "Cosy", "paidAmount": "0.00" },
            ])
        );
        assert_eq!(clients["big"]["nodes"], json!([{ "companyName": "Bolt" }]));

        // Reps by the value of their signed contracts (drafts and cancelled ones left out).
        let query = "{ users(filter: { role: { eq: commercial } }, orderBy: [{ field: SIGNED_CONTRACT_VALUE, direction: DESC }]) {
            nodes { username signedContractValue } }
            over: users(filter: { signedContractValue: { gte: \"1500.10\" } }, orderBy: [{ field: USERNAME }]) { nodes { username } } }";
        let reps = app.data(query, json!({})).await;
        assert_eq!(
            reps["users"]["nodes"],
            json!([
                { "username": "ben", "signedContractValue": "2000.00" },
                { "username": "ann", "signedContractValue": "1500.10" },
            ])
        );
        assert_eq!(reps["over"]["nodes"], json!([{ "username": "ann" }, { "username": "ben" }]));
        // A commercial ranks the team by what she may see: Ben's contracts are not hers.
        let own = app.gql_as(Some(&p.ann_token), query, json!({})).await;
        assert_eq!(
            own["data"]["users"]["nodes"],
            json!([
                { "username": "ann", "signedContractValue": "1500.10" },
                { "username": "ben", "signedContractValue": "0.00" },
            ])
        );
        assert_eq!(own["data"]["over"]["nodes"], json!([{ "username": "ann" }]));
    }
}
