//! The HTTP surface: health, GraphiQL (offline assets), body limit.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use serde_json::json;

use crate::helpers::{fixtures, test_config, without_request_ids};

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
        // A browser opening /graphql.
        let (status, page) = app
            .request(Request::get("/graphql").header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8").body(Body::empty()).unwrap())
            .await;
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

        // Durations by operation type, name and outcome; refused credentials; the pool.
        app.data("query Dashboard { clients { totalCount } }", serde_json::Value::Null).await;
        app.gql("{ nope }", serde_json::Value::Null).await;
        app.gql_as(Some("not-a-token"), "{ me { id } }", serde_json::Value::Null).await;
        let (_, body) = app.get("/metrics").await;
        for expected in [
            "crm_graphql_request_duration_seconds_count{operation_type=\"query\",operation=\"Dashboard\",outcome=\"ok\"} 1\n",
            // Validation failed: refused, after parsing.
            "crm_graphql_request_duration_seconds_count{operation_type=\"query\",operation=\"anonymous\",outcome=\"refused\"} 1\n",
            // Refused credentials: before the document is looked at.
            "crm_graphql_request_duration_seconds_count{operation_type=\"unknown\",operation=\"anonymous\",outcome=\"refused\"} 1\n",
            "crm_graphql_request_duration_seconds_bucket{le=\"0.001\",operation_type=\"query\",operation=\"Dashboard\",outcome=\"ok\"}",
            "crm_auth_failures_total 1\n",
            "crm_db_connections{pool=\"main\",state=\"idle\"}",
            "crm_db_connections{pool=\"reader\",state=\"waiting\"} 0\n",
            "crm_sql_statement_duration_seconds_count{kind=\"select\"}",
            "crm_subscription_queued_changes 0\n",
            "# EOF\n",
        ] {
            assert!(body.contains(expected), "{expected} not in:\n{body}");
        }
    }
}

test_both! {
    async fn a_request_that_ran_cleanly_is_not_revalidated_but_still_executed(app) {
        // The same text, operation and variables skip the full validation the second time
        // (`graphql::documents`): the answer is still computed afresh, and other variables
        // are still fully validated.
        let q = "query One($id: UUID!, $first: Int) { client(id: $id) { companyName } clients(first: $first) { totalCount } }";
        let client = fixtures::client(&app.db, "Known", None).await;
        let bad = json!({ "id": "not-a-uuid", "first": 5 });
        let refused = app.gql(q, bad.clone()).await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
        let vars = json!({ "id": client.id, "first": 5 });
        for _ in 0..3 {
            let ok = app.gql(q, vars.clone()).await;
            assert_eq!(ok["data"]["client"]["companyName"], "Known", "{ok}");
            assert_eq!(ok["data"]["clients"]["totalCount"], 1, "{ok}");
        }
        fixtures::client(&app.db, "Another", None).await;
        let again = app.gql(q, vars.clone()).await;
        assert_eq!(again["data"]["clients"]["totalCount"], 2, "{again}");
        // The bad variables get the same answer as before.
        assert_eq!(without_request_ids(app.gql(q, bad).await["errors"].clone()), without_request_ids(refused["errors"].clone()));
        // An argument of the wrong type through a variable: refused the same way every time.
        let wrong = json!({ "id": client.id, "first": "five" });
        let first = app.gql(q, wrong.clone()).await;
        assert!(first["errors"][0]["message"].as_str().is_some_and(|m| m.contains("Invalid value")), "{first}");
        assert_eq!(without_request_ids(app.gql(q, wrong).await), without_request_ids(first));
    }
}

test_both! {
    async fn root_fields_answer_in_the_order_they_are_selected(app) {
        fixtures::client(&app.db, "Order", None).await;
        // `me` needs no statement and is ready first; the lists wait for theirs. The answer
        // still lists the fields as selected, fragments flattened where they stand.
        let cases = [
            ("{ z: clients { totalCount } me { id } a: users { totalCount } }", vec!["z", "me", "a"]),
            (
                "query Q { y: contracts { totalCount } ...F b: clients(first: 1) { nodes { id } } }
                 fragment F on Query { me { id } ... on Query { a: users { totalCount } } }",
                vec!["y", "me", "a", "b"],
            ),
        ];
        for (query, keys) in cases {
            let body = json!({ "query": query }).to_string();
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
                .body(Body::from(body))
                .unwrap();
            let (status, body) = app.request(request).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let positions: Vec<usize> = keys
                .iter()
                .map(|key| body.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} in {body}")))
                .collect();
            assert!(positions.is_sorted(), "{query}\n{body}");
        }
    }
}

test_both! {
    async fn ready_waits_for_migrations_and_turns_away_while_stopping(app) {
        let config = test_config();
        let state = crm_server::app::state(app.db.clone(), &config).unwrap();
        let readiness = state.readiness.clone();
        let router = crm_server::app::router(state, &config);
        let (status, body) = crate::helpers::send(&router, Request::get("/ready").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Stopping: not ready, still alive and serving.
        readiness.drain();
        let (status, body) = crate::helpers::send(&router, Request::get("/ready").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("stopping"), "{body}");
        let (status, _) = crate::helpers::send(&router, Request::get("/health").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);

        // A database whose migrations have not run (CRM_SKIP_MIGRATIONS): not ready.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("bare.db").display());
        let bare = crm_server::db::connect(&url, 2).await.unwrap();
        let router = crm_server::app::router(crm_server::app::state(bare, &config).unwrap(), &config);
        let (status, body) = crate::helpers::send(&router, Request::get("/ready").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("migrations pending"), "{body}");
    }
}

/// One `GET` over a plain socket: the status code.
async fn status_of(address: std::net::SocketAddr, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// A stopping server answers `/ready` with 503 for its drain time while it still serves, then
/// exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_drains_before_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("crm.db");
    let mut server = crate::helpers::process::Server::start(&[
        ("CRM_SQLITE_PATH", database.to_str().unwrap()),
        ("CRM_SHUTDOWN_DRAIN_SECS", "2"),
    ])
    .await;
    let address = server.address;
    let mut ready = None;
    for _ in 0..200 {
        ready = status_of(address, "/ready").await;
        if ready == Some(200) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready, Some(200));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(status_of(address, "/ready").await, Some(503));
    assert_eq!(status_of(address, "/health").await, Some(200));
    let started = std::time::Instant::now();
    let exited = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still running"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(exited.success(), "{exited}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1000),
        "drained {:?}",
        started.elapsed()
    );
}

test_both! {
    async fn the_grafana_dashboard_queries_only_metrics_the_server_serves(app) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/grafana/crm-api.json");
        let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        app.data("{ clients { totalCount } }", serde_json::Value::Null).await;
        let (_, served) = app.get("/metrics").await;
        let mut queried = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for (start, _) in expr.match_indices("crm_") {
                    let name: String = expr[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    // The read replicas' figures exist only with replicas: the replica test
                    // (`scale_out`) checks they are served.
                    if name.starts_with("crm_replica_") || name.starts_with("crm_queries_read") {
                        continue;
                    }
                    assert!(
                        served.lines().any(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))),
                        "the dashboard's {name} is not served:\n{served}"
                    );
                    queried += 1;
                }
            }
        }
        assert!(queried >= 10, "{queried}");
    }
}
