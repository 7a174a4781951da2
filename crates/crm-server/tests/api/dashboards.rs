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
    let a1 = fixtures::contract(db, acme.id, "A-1", "1000.10", ContractStatus::Active).await;
    let a2 = fixtures::contract(db, acme.id, "A-2", "500.00", ContractStatus::Completed).await;
    let mut usd: contracts::ActiveModel = a2.clone().into();
    usd.currency = Set("USD".to_owned());
    let a2 = usd.update(db).await.unwrap();
    let b1 = fixtures::contract(db, bolt.id, "B-1", "2000.00", ContractStatus::Active).await;
    fixtures::contract(db, cosy.id, "C-1", "0.20", ContractStatus::Draft).await;
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
                "number": { "count": 2, "sum": 124457, "avg": "62228.50", "min": 1001, "max": 123456 },
                "dateTime": { "min": "2026-02-02T09:30:00Z", "max": "2026-02-02T09:30:00Z" },
            })
        );
        let _ = p.cosy;
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
