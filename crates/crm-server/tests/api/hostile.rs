//! Hostile and malformed requests get clear errors, and the server keeps serving.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, error_codes, test_config};

/// The one error of a refused request: its code and the limit it names.
fn refusal(response: &Value) -> (String, String) {
    let errors = response["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "one error expected: {response}");
    assert!(response["data"].is_null(), "nothing ran: {response}");
    let ext = &errors[0]["extensions"];
    (
        ext["code"].as_str().unwrap_or("<none>").to_owned(),
        ext["limit"].as_str().unwrap_or("<none>").to_owned(),
    )
}

/// Sends a request body as it is, with this bearer token (none: anonymous).
async fn post_as(app: &TestApp, token: Option<&str>, body: String) -> (StatusCode, Value) {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, text) = app.request(request.body(Body::from(body)).unwrap()).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `{ not: { not: … { companyName: { eq: "x" } } … } }`, `levels` deep.
fn nested_not(levels: usize) -> String {
    let mut filter = "{ companyName: { eq: \"x\" } }".to_owned();
    for _ in 0..levels {
        filter = format!("{{ not: {filter} }}");
    }
    filter
}

/// `{ ...F<levels> }`, each fragment spreading the one below twice, `F0` selecting `leaf`.
pub fn fan_out(levels: usize, leaf: &str) -> String {
    let mut text = format!("{{ ...F{levels} }} fragment F0 on Query {{ {leaf} }}");
    for k in 1..=levels {
        text.push_str(&format!(
            " fragment F{k} on Query {{ ...F{j} ...F{j} }}",
            j = k - 1
        ));
    }
    text
}

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
        let router = crm_server::app::router(crm_server::app::state(app.db.clone(), &config).unwrap(), &config);
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
        let router = crm_server::app::router(crm_server::app::state(app.db.clone(), &config).unwrap(), &config);
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

test_both! {
    async fn deep_input_values_are_refused_before_anything_recurses(app) {
        // 300 `not`s: refused by the text scan (this aborted the process).
        let query = format!("{{ clients(first: 1, filter: {}) {{ totalCount }} }}", nested_not(300));
        for token in [Some(app.token.as_str()), None] {
            let (status, answer) = post_as(&app, token, json!({ "query": query }).to_string()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(refusal(&answer), ("GRAPHQL_VALIDATION_FAILED".to_owned(), "CRM_MAX_QUERY_DEPTH".to_owned()), "{answer}");
        }
        // 20: parsed, refused by the input nesting limit, naming the argument.
        let query = format!("{{ clients(first: 1, filter: {}) {{ totalCount }} }}", nested_not(20));
        let answer = app.gql(&query, Value::Null).await;
        assert_eq!(refusal(&answer), ("BAD_USER_INPUT".to_owned(), "CRM_MAX_INPUT_DEPTH".to_owned()));
        assert_eq!(answer["errors"][0]["extensions"]["field"], "filter");
        // Nested object literals of unknown fields, and lists.
        let objects = format!("{{ clients(filter: {}{}) {{ totalCount }} }}", "{ a: ".repeat(200), "}".repeat(200));
        assert_eq!(refusal(&app.gql(&objects, Value::Null).await).0, "GRAPHQL_VALIDATION_FAILED");
        // In the variables: 100 levels, then JSON deeper than the parser takes.
        let mut filter = json!({ "companyName": { "eq": "x" } });
        for _ in 0..100 {
            filter = json!({ "not": filter });
        }
        let query = "query($f: ClientFilter) { clients(first: 1, filter: $f) { totalCount } }";
        let answer = app.gql(query, json!({ "f": filter })).await;
        assert_eq!(refusal(&answer), ("BAD_USER_INPUT".to_owned(), "CRM_MAX_INPUT_DEPTH".to_owned()));
        assert_eq!(answer["errors"][0]["extensions"]["field"], "f");
        let deep_json = format!("{{\"query\": \"{{ __typename }}\", \"variables\": {{\"f\": {}1{}}}}}", "[".repeat(10_000), "]".repeat(10_000));
        let (status, answer) = post_as(&app, Some(&app.token), deep_json).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST");
        // A filter within the limits still answers.
        let query = format!("{{ clients(first: 1, filter: {}) {{ totalCount }} }}", nested_not(10));
        assert_eq!(app.data(&query, Value::Null).await["clients"]["totalCount"], 0);
    }
}

test_both! {
    async fn documents_are_measured_with_fragments_expanded(app) {
        // 900 bytes that expand to 2^22 fields.
        let answer = app.gql(&fan_out(22, "__typename"), Value::Null).await;
        assert_eq!(refusal(&answer), ("GRAPHQL_VALIDATION_FAILED".to_owned(), "CRM_MAX_QUERY_COMPLEXITY".to_owned()));
        // The same without credentials: refused the same way, before anything else.
        let (_, answer) = post_as(&app, None, json!({ "query": fan_out(22, "__typename") }).to_string()).await;
        assert_eq!(refusal(&answer).1, "CRM_MAX_QUERY_COMPLEXITY");
        // A small fan-out runs.
        let data = app.data(&fan_out(3, "__typename"), Value::Null).await;
        assert_eq!(data["__typename"], "Query");
        // 26 levels of fan-out over a list field (ran for a minute before).
        let text = fan_out(25, "clients { nodes { id } }");
        assert_eq!(refusal(&app.gql(&text, Value::Null).await).1, "CRM_MAX_QUERY_COMPLEXITY");
    }
}

test_both! {
    async fn sizes_are_capped_with_one_error_each(app) {
        // 50,000 aliases of `__typename`: more tokens than allowed (and aliases).
        let aliases: String = (0..50_000).map(|i| format!("a{i}:__typename ")).collect();
        let answer = app.gql(&format!("{{ {aliases} }}"), Value::Null).await;
        assert_eq!(refusal(&answer).1, "CRM_MAX_QUERY_TOKENS");
        let aliases: String = (0..300).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(refusal(&app.gql(&format!("{{ {aliases} }}"), Value::Null).await).1, "CRM_MAX_ALIASES");
        // 3,000 unknown directives, 50,000 repeated ones.
        let unknown: String = (0..3_000).map(|i| format!("@d{i} ")).collect();
        assert_eq!(refusal(&app.gql(&format!("{{ me {{ id {unknown} }} }}"), Value::Null).await).1, "CRM_MAX_DIRECTIVES");
        let repeated = "@include(if: true) ".repeat(50_000);
        let answer = app.gql(&format!("{{ me {{ id {repeated} }} }}"), Value::Null).await;
        assert_eq!(refusal(&answer).0, "GRAPHQL_VALIDATION_FAILED");
        let repeated = "@include(if: true) ".repeat(20);
        assert_eq!(refusal(&app.gql(&format!("{{ me {{ id {repeated} }} }}"), Value::Null).await).1, "CRM_MAX_DIRECTIVES");
        // 20,000 unused variables, then 60.
        let variables: String = (0..20_000).map(|i| format!("$v{i}: Int ")).collect();
        assert_eq!(refusal(&app.gql(&format!("query({variables}) {{ __typename }}"), Value::Null).await).0, "GRAPHQL_VALIDATION_FAILED");
        let variables: String = (0..60).map(|i| format!("$v{i}: Int ")).collect();
        assert_eq!(refusal(&app.gql(&format!("query({variables}) {{ __typename }}"), Value::Null).await).1, "CRM_MAX_VARIABLES");
        // Many operations in one document.
        let operations: String = (0..30).map(|i| format!("query Q{i} {{ __typename }} ")).collect();
        assert_eq!(refusal(&app.gql(&operations, Value::Null).await).1, "CRM_MAX_OPERATIONS");
        // Errors are capped: 60 malformed ids give 49 errors and a summary of the rest.
        let lookups: String = (0..60).map(|i| format!("c{i}: client(id: \"bad{i}\") {{ id }} ")).collect();
        let answer = app.gql(&format!("{{ {lookups} }}"), Value::Null).await;
        let codes = error_codes(&answer);
        assert_eq!(codes.len(), 50, "{answer}");
        assert_eq!(codes[49], "TOO_MANY_ERRORS");
        assert_eq!(answer["errors"][49]["extensions"]["limit"], "CRM_MAX_ERRORS");
        // Still serving.
        assert_eq!(app.data("{ clients { totalCount } }", Value::Null).await["clients"]["totalCount"], 0);
    }
}

test_both! {
    async fn oversized_filters_are_bad_user_input_naming_the_argument(app) {
        let query = "query($f: ClientFilter) { clients(first: 1, filter: $f) { totalCount } }";
        let huge = "x".repeat(900 * 1024);
        let many = |n: usize| -> Vec<String> { (0..n).map(|i| format!("v{i}")).collect() };
        let branches = |n: usize| -> Vec<Value> {
            (0..n).map(|i| json!({ "companyName": { "eq": format!("c{i}") } })).collect()
        };
        let pattern = "y".repeat(60 * 1024);
        // Refused by the variables' own size first (naming the variable), or by the filter's.
        for (filter, field) in [
            (json!({ "companyName": { "eq": huge } }), "filter"),
            (json!({ "companyName": { "in": many(40_000) } }), "f"),
            (json!({ "or": branches(2_000) }), "f"),
            (json!({ "companyName": { "in": many(501) } }), "filter"),
            (json!({ "or": branches(100) }), "filter"),
            (json!({ "companyName": { "containsInsensitive": pattern } }), "filter"),
            (json!({ "companyName": { "containsInsensitive": "y".repeat(201) } }), "filter"),
            (json!({ "contracts": { "some": { "title": { "in": vec!["t"; 501] } } } }), "filter"),
        ] {
            let answer = app.gql(query, json!({ "f": filter })).await;
            assert_eq!(error_codes(&answer), ["BAD_USER_INPUT"], "{}", answer.to_string().chars().take(300).collect::<String>());
            assert_eq!(answer["errors"][0]["extensions"]["field"], field);
        }
        // Literals: bounded by the document's own limits first.
        let many: String = (0..5_000).map(|i| format!("\"v{i}\" ")).collect();
        let answer = app.gql(&format!("{{ clients(filter: {{ companyName: {{ in: [{many}] }} }}) {{ totalCount }} }}"), Value::Null).await;
        assert_eq!(error_codes(&answer), ["BAD_USER_INPUT"], "{answer}");
        // Too many sort keys.
        let keys = "{ field: CITY } ".repeat(9);
        let answer = app.gql(&format!("{{ clients(orderBy: [{keys}]) {{ totalCount }} }}"), Value::Null).await;
        assert_eq!(error_codes(&answer), ["BAD_USER_INPUT"]);
        assert_eq!(answer["errors"][0]["extensions"]["field"], "orderBy");
        // The largest accepted values run on both backends.
        let most: Vec<String> = (0..500).map(|i| format!("v{i}")).collect();
        for filter in [
            json!({ "companyName": { "in": most } }),
            json!({ "companyName": { "containsInsensitive": "y".repeat(200), "eq": "z".repeat(1000) } }),
            // 1 + 49 × 2 input objects.
            json!({ "or": (0..49).map(|i| json!({ "city": { "eq": format!("c{i}") } })).collect::<Vec<_>>() }),
        ] {
            let data = app.data(query, json!({ "f": filter })).await;
            assert_eq!(data["clients"]["totalCount"], 0);
        }
    }
}

test_both! {
    async fn requests_without_credentials_may_only_sign_in_and_introspect(app) {
        // Refused right after parsing: one UNAUTHENTICATED error, nothing ran.
        app.take_statement_count();
        for query in ["{ clients { totalCount } }", "{ me { id } }", "mutation { signOut }", "{ __typename ...F } fragment F on Query { users { totalCount } }"] {
            let (status, answer) = post_as(&app, None, json!({ "query": query }).to_string()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(refusal(&answer).0, "UNAUTHENTICATED", "{query}: {answer}");
            // A bad token is no better.
            let (_, answer) = post_as(&app, Some("not-a-token"), json!({ "query": query }).to_string()).await;
            assert_eq!(refusal(&answer).0, "UNAUTHENTICATED");
        }
        assert_eq!(app.take_statement_count(), 0, "no SQL for refused requests");
        // A small body: 16 KiB by default.
        let padded = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(20 * 1024)) }).to_string();
        let (status, answer) = post_as(&app, None, padded.clone()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(answer["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE");
        let (status, _) = post_as(&app, Some(&app.token), padded).await;
        assert_eq!(status, StatusCode::OK);
        // What needs no credentials answers.
        let (_, answer) = post_as(&app, None, json!({ "query": "mutation { signIn(email: \"nobody@crm.example\", password: \"wrong password\") { accessToken } }" }).to_string()).await;
        assert_eq!(error_codes(&answer), ["UNAUTHENTICATED"]);
        assert_eq!(answer["errors"][0]["path"][0], "signIn", "signIn ran: {answer}");
    }
}

test_both! {
    async fn the_introspection_query_of_standard_tools_passes(app) {
        let query = include_str!("fixtures/introspection.graphql");
        for token in [Some(app.token.as_str()), None] {
            let (status, answer) = post_as(&app, token, json!({ "query": query, "operationName": "IntrospectionQuery" }).to_string()).await;
            assert_eq!(status, StatusCode::OK);
            assert!(answer["errors"].is_null(), "{answer}");
            let types = answer["data"]["__schema"]["types"].as_array().cloned().unwrap_or_default();
            let client = types.iter().find(|t| t["name"] == "Client").expect("Client in the schema");
            assert!(client["fields"].as_array().is_some_and(|f| f.iter().any(|f| f["name"] == "companyName")));
        }
        // Introspection that multiplies its lists is refused.
        let bomb = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }";
        assert_eq!(refusal(&app.gql(bomb, Value::Null).await).0, "GRAPHQL_VALIDATION_FAILED");
    }
}

test_both! {
    async fn distinct_large_documents_do_not_grow_the_cache_past_its_budget(app) {
        let metric = |text: &str| -> u64 {
            text.lines()
                .find_map(|line| line.strip_prefix("crm_document_cache_bytes "))
                .and_then(|value| value.trim().parse().ok())
                .expect("crm_document_cache_bytes")
        };
        // 200 distinct documents of 1,900 fields (about 1 MB each by the estimate: 200 MB in all).
        let fields = "__typename ".repeat(1_900);
        for i in 0..200 {
            let answer = app.gql(&format!("query Q{i} {{ {fields} }}"), Value::Null).await;
            assert!(answer["errors"].is_null());
        }
        let (_, text) = app.get("/metrics").await;
        let held = metric(&text);
        assert!(held > 0 && held <= 32 * 1024 * 1024, "{held} bytes held");
        // Documents that fail validation are not kept.
        let before = held;
        for i in 0..20 {
            let answer = app.gql(&format!("query Bad{i} {{ nope{i} }}"), Value::Null).await;
            assert_eq!(error_codes(&answer), ["GRAPHQL_VALIDATION_FAILED"]);
        }
        let (_, text) = app.get("/metrics").await;
        assert!(metric(&text) <= before);
    }
}

test_both! {
    async fn nested_lists_read_at_most_the_configured_rows(app) {
        use crate::helpers::fixtures;
        use entity::ContractStatus;
        // 6 clients, 8 contracts each: 6 + 48 rows for the whole tree.
        for c in 0..6 {
            let client = fixtures::client(&app.db, &format!("Client {c}"), None).await;
            for k in 0..8 {
                fixtures::contract(&app.db, client.id, &format!("C-{c}-{k}"), "100.00", ContractStatus::Active).await;
            }
        }
        let query = "{ clients(first: 100) { nodes { id contracts(first: 100) { nodes { id } } } } }";
        let with_budget = |max_rows: usize| {
            let mut config = test_config();
            config.server.max_rows = max_rows;
            crm_server::app::router(crm_server::app::state(app.db.clone(), &config).unwrap(), &config)
        };
        let token = app.token.clone();
        let send = |router: axum::Router| {
            let token = token.clone();
            async move {
            let body = json!({ "query": query }).to_string();
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&bytes).unwrap()
            }
        };
        let answer = send(with_budget(54)).await;
        assert!(answer["errors"].is_null(), "{answer}");
        let contracts: usize = answer["data"]["clients"]["nodes"].as_array().unwrap().iter()
            .map(|c| c["contracts"]["nodes"].as_array().map_or(0, Vec::len)).sum();
        assert_eq!(contracts, 48);
        // One row fewer: refused, naming the limit, the page sizes concerned.
        // (each client's page gets the error of the level's one statement).
        let answer = send(with_budget(53)).await;
        assert_eq!(error_codes(&answer), vec!["BAD_USER_INPUT"; 6], "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["field"], "first");
        assert_eq!(answer["errors"][0]["path"][3], "contracts");
        // The root list alone over the budget.
        let answer = send(with_budget(5)).await;
        assert_eq!(error_codes(&answer), ["BAD_USER_INPUT"], "{answer}");
    }
}

test_both! {
    async fn past_the_waiting_room_requests_are_turned_away_at_once(app) {
        let mut config = test_config();
        config.server.max_concurrent_operations = Some(1);
        config.server.max_queued_operations = 1;
        let state = crm_server::app::state(app.db.clone(), &config).unwrap();
        let router = crm_server::app::router(state.clone(), &config);
        let request = || {
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
                .body(Body::from(json!({ "query": "{ clients { totalCount } }" }).to_string()))
                .unwrap()
        };
        // The only turn is taken: one request waits, the next is answered 503 at once.
        let turn = state.executions.clone().acquire_owned().await.unwrap();
        let waiting = tokio::spawn(router.clone().oneshot(request()));
        for wait in 0.. {
            if state.waiting_room.available_permits() == 0 {
                break;
            }
            assert!(wait < 5_000, "the first request never waited for its turn");
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let busy = router.clone().oneshot(request()).await.unwrap();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        let bytes = http_body_util::BodyExt::collect(busy.into_body()).await.unwrap().to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(answer["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
        // The turn given back, the waiting request runs, and the room is free again.
        drop(turn);
        let served = waiting.await.unwrap().unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(state.waiting_room.available_permits(), 1);
        assert_eq!(router.oneshot(request()).await.unwrap().status(), StatusCode::OK);
    }
}
