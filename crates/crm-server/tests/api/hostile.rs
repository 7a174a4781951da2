//! Hostile and malformed requests get clear errors, and the server keeps serving.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, error_codes, test_config};

async fn post_raw(app: &TestApp, body: &str) -> (StatusCode, Value) {
    let (status, text) = app
        .request(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

test_both! {
    async fn hostile_documents_are_refused_and_the_server_keeps_serving(app) {
        // Nesting deeper than the limit.
        let mut deep = String::from("id");
        for _ in 0..8 {
            deep = format!("client {{ contracts {{ nodes {{ {deep} }} }} }}");
        }
        let response = app.gql(&format!("{{ contracts {{ nodes {{ {deep} }} }} }}"), Value::Null).await;
        assert_eq!(error_codes(&response), ["GRAPHQL_VALIDATION_FAILED"], "{response}");

        // An alias bomb beyond the complexity limit.
        let bomb: String = (0..2100).map(|i| format!("a{i}: clients(first: 1) {{ totalCount }} ")).collect();
        let response = app.gql(&format!("{{ {bomb} }}"), Value::Null).await;
        assert_eq!(error_codes(&response), ["GRAPHQL_VALIDATION_FAILED"]);

        // A huge page.
        let response = app.gql("{ clients(first: 100000) { totalCount } }", Value::Null).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);

        // Wrong variable types.
        let response = app.gql("query($n: Int) { clients(first: $n) { totalCount } }", json!({ "n": "ten" })).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");

        // Malformed JSON and batches: 400 with a JSON error.
        for body in ["{\"query\": ", "[{\"query\": \"{ __typename }\"}]", "42"] {
            let (status, answer) = post_raw(&app, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body}: {answer}");
        }

        // Still serving.
        let data = app.data("{ clients { totalCount } }", Value::Null).await;
        assert_eq!(data["clients"]["totalCount"], 0);
        let (status, _) = app.get("/health").await;
        assert_eq!(status, StatusCode::OK);
    }
}

test_both! {
    async fn cors_allows_only_the_configured_origins(app) {
        let mut config = test_config();
        config.server.cors_origins = vec!["https://crm.example.com".to_owned()];
        let router = crm_server::app::router(crm_server::app::state(app.db.clone(), &config), &config);
        let preflight = |origin: &'static str| {
            Request::builder()
                .method("OPTIONS")
                .uri("/graphql")
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,authorization")
                .body(Body::empty())
                .unwrap()
        };
        let allowed = router.clone().oneshot(preflight("https://crm.example.com")).await.unwrap();
        assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://crm.example.com");
        let refused = router.oneshot(preflight("https://evil.example")).await.unwrap();
        assert!(refused.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }
}

test_both! {
    async fn production_mode_hides_graphiql_and_introspection(app) {
        let mut config = test_config();
        config.server.environment = crm_server::config::Environment::Production;
        let router = crm_server::app::router(crm_server::app::state(app.db.clone(), &config), &config);
        let introspect = json!({ "query": "{ __schema { queryType { name } } }" }).to_string();
        let response = router
            .clone()
            .oneshot(
                Request::post("/graphql")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(introspect.clone()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(answer["data"]["__schema"].is_null(), "introspection answered in production: {answer}");
        let page = router.oneshot(Request::get("/graphql").body(Body::empty()).unwrap()).await.unwrap();
        assert_ne!(page.status(), StatusCode::OK, "GraphiQL served in production");

        // Development mode answers both.
        let data = app.data("{ __schema { queryType { name } } }", Value::Null).await;
        assert_eq!(data["__schema"]["queryType"]["name"], "Query");
    }
}
