//! The HTTP surface: health, GraphiQL (offline assets), body limit.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::helpers::test_config;

test_both! {
    async fn health_reports_the_database(app) {
        let (status, body) = app.get("/health").await;
        assert_eq!(status, StatusCode::OK);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], "ok");
        let expected = match app.backend {
            crate::helpers::Backend::Sqlite => "sqlite",
            crate::helpers::Backend::Postgres => "postgres",
        };
        assert_eq!(body["database"], expected);
    }
}

test_both! {
    async fn graphiql_is_served_with_its_own_assets(app) {
        let (status, page) = app.get("/graphql").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("GraphiQL"));
        assert!(!page.contains("unpkg") && !page.contains("cdn"), "page loads from a CDN");
        for asset in ["graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"] {
            assert!(page.contains(&format!("graphiql/assets/{asset}")), "page does not load {asset}");
            let response = app
                .router
                .clone()
                .oneshot(Request::get(format!("/graphiql/assets/{asset}")).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{asset}");
            assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        }
        let (status, _) = app.get("/graphiql/assets/nope.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

test_both! {
    async fn an_oversized_body_is_refused(app) {
        let limit = test_config().server.max_body_bytes;
        let query = format!("{{\"query\": \"{{ __typename }}\", \"padding\": \"{}\"}}", "x".repeat(limit));
        let (status, _) = app
            .request(
                Request::post("/graphql")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::CONTENT_LENGTH, query.len())
                    .body(Body::from(query))
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        // …and the server keeps serving.
        let (status, _) = app.get("/health").await;
        assert_eq!(status, StatusCode::OK);
    }
}

use tower::ServiceExt;

test_both! {
    async fn metrics_count_requests_and_statements(app) {
        app.data("{ clients { totalCount } }", serde_json::Value::Null).await;
        let (status, body) = app.get("/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("crm_graphql_requests_total 1\n"), "{body}");
        let statements: u64 = body
            .lines()
            .find_map(|l| l.strip_prefix("crm_sql_statements_total "))
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(statements >= 1, "{body}");
    }
}
