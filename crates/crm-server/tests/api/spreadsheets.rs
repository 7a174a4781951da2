//! CSV export (`GET /export/{name}.csv`): the GraphQL list's rows, streamed, access rules
//! applied, values exact, formulas neutralised.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::{ContractStatus, PaymentStatus, Role};
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixtures, send_raw};

/// `GET uri` with `token`: the status, the content type and the body as text.
async fn get(app: &TestApp, uri: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, headers, body) = send_raw(&app.router, request.body(Body::empty()).unwrap()).await;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, String::from_utf8(body.to_vec()).unwrap())
}

/// The rows of a CSV text, each a map from header to cell.
fn rows(text: &str, delimiter: u8) -> Vec<serde_json::Map<String, Value>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .zip(record.iter())
                .map(|(name, cell)| (name.to_owned(), Value::from(cell)))
                .collect()
        })
        .collect()
}

/// A GraphQL value as the export writes it.
fn as_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn uri(name: &str, params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/export/{name}.csv?{query}")
}

test_both! {
    /// Every row and column of the export is the GraphQL list's, in its order, with awkward
    /// text kept whole and formulas neutralised.
    async fn an_export_is_the_graphql_list(app) {
        let (rep, token) = app.user("rep", Role::Commercial, None).await;
        let names = ["Société Générale, Lyon", "=HYPERLINK(\"http://evil\")", "Quote \"Q\" Ltd", "Line\nBreak", "+33 trick", "-minus", "@at"];
        for (index, name) in names.iter().enumerate() {
            let client = fixtures::client(&app.db, name, (index % 2 == 0).then_some(rep)).await;
            let contract = fixtures::contract(&app.db, client.id, &format!("X-{index}"), "1234.50", ContractStatus::Active).await;
            fixtures::payment(&app.db, &contract, "100.05", PaymentStatus::Completed).await;
        }
        let listed = app.data(
            "{ clients(first: 100) { nodes { id companyName email status kycCompleted assignedToId assignedTo { email } \
               contractCount totalContractValue outstandingAmount createdAt updatedAt } } }",
            json!({}),
        ).await;
        let nodes = listed["clients"]["nodes"].as_array().unwrap();
        let (status, kind, text) = get(&app, "/export/clients.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(kind, "text/csv; charset=utf-8");
        assert!(text.starts_with("id,company_name,email,phone,address,city,postal_code,country,status,"), "{text}");
        let exported = rows(&text, b',');
        assert_eq!(exported.len(), nodes.len());
        for (row, node) in exported.iter().zip(nodes) {
            assert_eq!(row["id"], node["id"]);
            let name = node["companyName"].as_str().unwrap();
            let expected = if name.starts_with(['=', '+', '-', '@']) { format!("'{name}") } else { name.to_owned() };
            assert_eq!(row["company_name"], expected.as_str());
            assert_eq!(row["status"], as_cell(&node["status"]).as_str());
            assert_eq!(row["kyc_completed"], as_cell(&node["kycCompleted"]).as_str());
            assert_eq!(row["assigned_to_id"], as_cell(&node["assignedToId"]).as_str());
            assert_eq!(row["assigned_to_email"], as_cell(&node["assignedTo"]["email"]).as_str());
            assert_eq!(row["contract_count"], as_cell(&node["contractCount"]).as_str());
            assert_eq!(row["total_contract_value"], "1234.50");
            assert_eq!(row["outstanding_amount"], "1134.45");
            assert_eq!(row["created_at"], node["createdAt"]);
            assert_eq!(row["updated_at"], node["updatedAt"]);
        }
        assert!(exported.iter().any(|row| row["company_name"] == "Line\nBreak"));
        assert!(exported.iter().any(|row| row["company_name"] == "Quote \"Q\" Ltd"));

        // Payments: amounts exact, the contract's number and currency.
        let (status, _, text) = get(&app, "/export/payments.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let payments = rows(&text, b',');
        assert_eq!(payments.len(), names.len());
        assert!(payments.iter().all(|row| row["amount"] == "100.05" && row["currency"] == "EUR"), "{text}");
        assert!(payments.iter().all(|row| row["contract_number"].as_str().unwrap().starts_with("X-")));

        // A commercial exports their own portfolio only.
        let (_, _, text) = get(&app, "/export/contracts.csv", Some(&token)).await;
        let theirs = rows(&text, b',');
        assert_eq!(theirs.len(), 4, "{text}");
        let mine = app.gql_as(Some(&token), "{ contracts(first: 100) { nodes { id } } }", json!({})).await;
        let ids: Vec<&Value> = mine["data"]["contracts"]["nodes"].as_array().unwrap().iter().map(|node| &node["id"]).collect();
        assert_eq!(theirs.iter().map(|row| &row["id"]).collect::<Vec<_>>(), ids);
    }
}

test_both! {
    /// `filter` and `orderBy` are the list's; `delimiter` and `bom` shape the file.
    async fn an_export_takes_the_list_s_filter_and_order(app) {
        for (name, city) in [("Alpha", "Lyon"), ("Beta", "Paris"), ("Gamma", "Lyon"), ("Delta", "Lyon")] {
            let client = fixtures::client(&app.db, name, None).await;
            sea_orm::EntityTrait::update(entity::clients::ActiveModel {
                id: sea_orm::ActiveValue::Unchanged(client.id),
                city: sea_orm::ActiveValue::Set(Some(city.to_owned())),
                ..Default::default()
            })
            .exec(&app.db)
            .await
            .unwrap();
        }
        let filter = r#"{"city":{"eq":"Lyon"}}"#;
        let order = r#"[{"field":"COMPANY_NAME","direction":"DESC"}]"#;
        let (status, _, text) = get(&app, &uri("clients", &[("filter", filter), ("orderBy", order), ("delimiter", "semicolon"), ("bom", "true")]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
        let names: Vec<String> = rows(text, b';').iter().map(|row| row["company_name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["Gamma", "Delta", "Alpha"]);
    }
}

test_both! {
    /// More rows than a page: every one, once, in the list's order.
    async fn an_export_reads_every_page(app) {
        let mut ids = Vec::new();
        for index in 0..1203 {
            ids.push(fixtures::client(&app.db, &format!("Bulk {index:04}"), None).await.id.to_string());
        }
        let (status, _, text) = get(&app, "/export/clients.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK);
        let exported: Vec<String> = rows(&text, b',').iter().map(|row| row["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(exported, ids, "creation order, no row twice");
    }
}

test_both! {
    /// Bad requests are refused before anything is sent, with a code and the parameter.
    async fn a_bad_export_request_is_refused_with_its_reason(app) {
        let refused = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
        let (status, _, text) = get(&app, "/export/clients.csv", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused(&text)["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

        let (status, _, text) = get(&app, "/export/users.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("filter", "{nope")]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error = &refused(&text)["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{text}");
        assert_eq!(error["extensions"]["field"], "filter", "{text}");
        assert!(error["extensions"]["requestId"].is_string(), "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("filter", r#"{"city":{"eq":5}}"#)]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(refused(&text)["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("orderBy", r#"[{"field":"SHOE_SIZE"}]"#)]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("first", "10")]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("unknown parameter `first`"), "{text}");
    }
}
