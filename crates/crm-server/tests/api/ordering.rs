//! Ordering: several keys applied in the order given, directions, nulls placement, ties.

use entity::ContractStatus;
use serde_json::json;

use crate::helpers::{fixtures, pluck_str};

test_both! {
    async fn keys_apply_in_order_with_directions_and_an_id_tie_break(app) {
        let c = fixtures::client(&app.db, "Acme", None).await;
        fixtures::contract(&app.db, c.id, "N-1", "100.00", ContractStatus::Active).await;
        fixtures::contract(&app.db, c.id, "N-2", "300.00", ContractStatus::Draft).await;
        fixtures::contract(&app.db, c.id, "N-3", "100.00", ContractStatus::Draft).await;
        fixtures::contract(&app.db, c.id, "N-4", "200.00", ContractStatus::Active).await;

        let q = "query($o: [ContractOrder!]) { contracts(orderBy: $o) { nodes { contractNumber } } }";
        let app = &app;
        let by = |o: serde_json::Value| async move { pluck_str(&app.data(q, json!({ "o": o })).await["contracts"], "contractNumber") };
        assert_eq!(by(json!([{ "field": "AMOUNT" }])).await, ["N-1", "N-3", "N-4", "N-2"]);
        assert_eq!(by(json!([{ "field": "AMOUNT", "direction": "DESC" }])).await, ["N-2", "N-4", "N-1", "N-3"]);
        assert_eq!(
            by(json!([{ "field": "STATUS" }, { "field": "AMOUNT", "direction": "DESC" }])).await,
            ["N-4", "N-1", "N-2", "N-3"]
        );
        // No orderBy: by id, which is creation order for ids made by the server.
        assert_eq!(by(json!(null)).await, ["N-1", "N-2", "N-3", "N-4"]);
    }
}

test_both! {
    async fn nulls_go_last_by_default_or_first_when_asked(app) {
        fixtures::client(&app.db, "Has city", None).await;
        let nameless = fixtures::client(&app.db, "No city", None).await;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
        let mut active = nameless.into_active_model();
        active.city = Set(None);
        active.update(&app.db).await.unwrap();

        let q = "query($o: [ClientOrder!]) { clients(orderBy: $o) { nodes { companyName } } }";
        let asc = app.data(q, json!({ "o": [{ "field": "CITY" }] })).await;
        assert_eq!(pluck_str(&asc["clients"], "companyName"), ["Has city", "No city"]);
        let desc = app.data(q, json!({ "o": [{ "field": "CITY", "direction": "DESC" }] })).await;
        assert_eq!(pluck_str(&desc["clients"], "companyName"), ["Has city", "No city"]);
        let first = app.data(q, json!({ "o": [{ "field": "CITY", "nulls": "FIRST" }] })).await;
        assert_eq!(pluck_str(&first["clients"], "companyName"), ["No city", "Has city"]);

        // Cursors work across the null boundary both ways.
        let q2 = "query($after: String) { clients(first: 1, after: $after, orderBy: [{ field: CITY, nulls: FIRST }]) {
                    nodes { companyName } pageInfo { endCursor hasNextPage } } }";
        let p1 = app.data(q2, json!({})).await;
        assert_eq!(pluck_str(&p1["clients"], "companyName"), ["No city"]);
        let p2 = app.data(q2, json!({ "after": p1["clients"]["pageInfo"]["endCursor"] })).await;
        assert_eq!(pluck_str(&p2["clients"], "companyName"), ["Has city"]);
        assert_eq!(p2["clients"]["pageInfo"]["hasNextPage"], false);
    }
}
