//! The GraphQL-over-HTTP specification's server rules, one test per rule group, and the
//! order of the answer's fields at every level against a reference ordering computed from the
//! document, on both read paths.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixtures, send_raw, test_config};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// POSTs `body` with these headers (and the admin's token); status, headers, JSON answer.
async fn post(
    app: &TestApp,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut request =
        Request::post("/graphql").header(header::AUTHORIZATION, format!("Bearer {}", app.token));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (status, headers, bytes) = send_raw(
        &app.router,
        request.body(Body::from(body.to_owned())).unwrap(),
    )
    .await;
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// GETs `/graphql?{query}` with these headers (and the admin's token).
async fn get(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::get(format!("/graphql?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.token));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (status, headers, bytes) =
        send_raw(&app.router, request.body(Body::empty()).unwrap()).await;
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

const JSON_BODY: (&str, &str) = ("content-type", "application/json");

test_both! {
    async fn answers_are_in_a_media_type_the_client_accepts(app) {
        let body = json!({ "query": "{ __typename }" }).to_string();
        for (accept, expected) in [
            (None, Some(JSON)),
            (Some("*/*"), Some(JSON)),
            (Some("application/json"), Some(JSON)),
            (Some("application/graphql-response+json"), Some(GRAPHQL_RESPONSE)),
            (Some("application/graphql-response+json, application/json;q=0.9"), Some(GRAPHQL_RESPONSE)),
            (Some("application/graphql-response+json;q=0.5, application/json"), Some(JSON)),
            (Some("text/html"), None),
        ] {
            let mut headers = vec![JSON_BODY];
            if let Some(accept) = accept {
                headers.push(("accept", accept));
            }
            let (status, headers, answer) = post(&app, &body, &headers).await;
            match expected {
                Some(media) => {
                    assert_eq!((status, content_type(&headers)), (StatusCode::OK, media), "Accept: {accept:?}");
                    assert_eq!(answer["data"]["__typename"], "Query");
                }
                None => {
                    assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "Accept: {accept:?}");
                    assert_eq!(answer["errors"][0]["extensions"]["code"], "NOT_ACCEPTABLE");
                }
            }
        }
    }
}

test_both! {
    async fn statuses_say_whether_the_request_executed(app) {
        let client = fixtures::client(&app.db, "Statuses", None).await;
        let cases = [
            // (body, executed)
            (json!({ "query": "{ clients { " }), false),
            (json!({ "query": "{ clients { nope } }" }), false),
            (json!({ "query": "query($id: UUID!) { client(id: $id) { id } }", "variables": { "id": "not-a-uuid" } }), false),
            (json!({ "query": "query($id: UUID!) { client(id: $id) { id } }" }), false),
            (json!({ "query": "query A { __typename } query B { __typename }" }), false),
            (json!({ "query": "query($id: UUID!) { client(id: $id) { id } }", "variables": { "id": client.id } }), true),
            // A field error: executed, data with a null.
            (json!({ "query": "mutation($id: UUID!) { deleteContract(id: $id) }", "variables": { "id": uuid::Uuid::now_v7() } }), true),
        ];
        for (body, executed) in cases {
            let body = body.to_string();
            // One request id for both, so that the answers may be the same.
            let id = ("x-request-id", "compare");
            let (status, _, answer) = post(&app, &body, &[JSON_BODY, id, ("accept", "application/graphql-response+json")]).await;
            let expected = if executed { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            assert_eq!(status, expected, "{body}: {answer}");
            assert_eq!(answer.get("data").is_some(), executed, "data only when executed: {body}: {answer}");
            if !executed {
                assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()), "{answer}");
            }
            // application/json: 200 whatever happened, the same body.
            let (status, _, json_answer) = post(&app, &body, &[JSON_BODY, id, ("accept", "application/json")]).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(json_answer, answer);
        }
    }
}

test_both! {
    async fn a_post_needs_a_json_body_of_the_right_shape(app) {
        for (content_type, body, status) in [
            (None, r#"{"query":"{ __typename }"}"#, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            (Some("text/plain"), r#"{"query":"{ __typename }"}"#, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            (Some("application/x-www-form-urlencoded"), "query=%7B__typename%7D", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            (Some("application/json; charset=utf-8"), r#"{"query":"{ __typename }"}"#, StatusCode::OK),
            (Some("Application/JSON"), r#"{"query":"{ __typename }"}"#, StatusCode::OK),
            (Some("application/json"), r#"{"query":"{ __typename }""#, StatusCode::BAD_REQUEST),
            (Some("application/json"), r#"{"variables":{}}"#, StatusCode::BAD_REQUEST),
            (Some("application/json"), r#"{"query":42}"#, StatusCode::BAD_REQUEST),
            (Some("application/json"), r#"{"query":"{ __typename }","variables":"x"}"#, StatusCode::BAD_REQUEST),
            (Some("application/json"), r#"{"query":"{ __typename }","operationName":7}"#, StatusCode::BAD_REQUEST),
            (Some("application/json"), r#"{"query":"{ __typename }","extensions":[]}"#, StatusCode::BAD_REQUEST),
            (Some("application/json"), r#"[{"query":"{ __typename }"}]"#, StatusCode::BAD_REQUEST),
        ] {
            let mut headers = vec![];
            if let Some(content_type) = content_type {
                headers.push(("content-type", content_type));
            }
            let (got, _, answer) = post(&app, body, &headers).await;
            assert_eq!(got, status, "{content_type:?} {body}: {answer}");
            if status != StatusCode::OK {
                assert!(answer["errors"][0]["extensions"]["code"].is_string(), "{answer}");
            }
        }
    }
}

test_both! {
    async fn a_get_runs_queries_from_its_url_parameters(app) {
        let client = fixtures::client(&app.db, "Over GET", None).await;
        let query = "query One($id: UUID!) { client(id: $id) { companyName } }";
        let variables = json!({ "id": client.id }).to_string();
        let url = format!("query={}&variables={}&operationName=One&extensions={}", encode(query), encode(&variables), encode("{}"));
        let (status, headers, body) = get(&app, &url, &[]).await;
        assert_eq!((status, content_type(&headers)), (StatusCode::OK, JSON), "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["data"]["client"]["companyName"], "Over GET");
        // A browser's Accept (HTML first, then anything): the answer, not GraphiQL.
        let (status, headers, _) = get(&app, &url, &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")]).await;
        assert_eq!((status, content_type(&headers)), (StatusCode::OK, JSON));

        // Mutations are not run over GET: 405, Allow: POST, and nothing written.
        let mutation = format!("query={}", encode("mutation { createClient(input: { companyName: \"Via GET\" }) { id } }"));
        let (status, headers, body) = get(&app, &mutation, &[]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
        assert_eq!(headers.get(header::ALLOW).and_then(|v| v.to_str().ok()), Some("POST"));
        let count = app.data("{ clients(filter: { companyName: { eq: \"Via GET\" } }) { totalCount } }", json!({})).await;
        assert_eq!(count["clients"]["totalCount"], 0);
        // The operation selected decides, in a document with both.
        let both = "query Q { __typename } mutation M { createClient(input: { companyName: \"Via GET\" }) { id } }";
        assert_eq!(get(&app, &format!("query={}&operationName=Q", encode(both)), &[]).await.0, StatusCode::OK);
        assert_eq!(get(&app, &format!("query={}&operationName=M", encode(both)), &[]).await.0, StatusCode::METHOD_NOT_ALLOWED);

        // Parameters that are not what they should be.
        for bad in [
            format!("query={}&variables=not-json", encode(query)),
            format!("query={}&variables=%5B%5D", encode(query)),
            format!("query={}&extensions=1", encode(query)),
            format!("query={0}&query={0}", encode(query)),
        ] {
            assert_eq!(get(&app, &bad, &[]).await.0, StatusCode::BAD_REQUEST, "{bad}");
        }
        // Without a query: GraphiQL for a browser, 400 for anything else.
        let (status, _, page) = get(&app, "", &[("accept", "text/html")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("GraphiQL"));
        let (status, _, body) = get(&app, "", &[("accept", "application/json")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        // Validation failures over GET follow the media type's rules too.
        let (status, _, body) = get(&app, &format!("query={}", encode("{ nope }")), &[("accept", "application/graphql-response+json")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(serde_json::from_str::<Value>(&body).unwrap().get("data").is_none());
    }
}

/// The response keys a selection set asks for, in order (fragments flattened where they
/// stand, a key once), with the sub-selections of each key merged in order.
fn reference_keys<'a>(
    sets: &[&'a SelectionSet],
    document: &'a ExecutableDocument,
) -> Vec<(String, Vec<&'a SelectionSet>)> {
    let mut keys: Vec<(String, Vec<&'a SelectionSet>)> = Vec::new();
    fn walk<'a>(
        set: &'a SelectionSet,
        document: &'a ExecutableDocument,
        keys: &mut Vec<(String, Vec<&'a SelectionSet>)>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.to_string();
                    let sub = &field.node.selection_set.node;
                    match keys.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, subs)) => subs.push(sub),
                        None => keys.push((key, vec![sub])),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    walk(&fragment.node.selection_set.node, document, keys)
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = &document.fragments[&spread.node.fragment_name.node];
                    walk(&fragment.node.selection_set.node, document, keys);
                }
            }
        }
    }
    for set in sets {
        walk(set, document, &mut keys);
    }
    keys
}

/// Checks that every object of `value` lists its keys as `sets` ask; returns how many
/// objects were checked.
fn check_order(
    value: &async_graphql::Value,
    sets: &[&SelectionSet],
    document: &ExecutableDocument,
    path: &str,
) -> usize {
    match value {
        async_graphql::Value::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| check_order(item, sets, document, &format!("{path}[{i}]")))
            .sum(),
        async_graphql::Value::Object(object) => {
            let expected = reference_keys(sets, document);
            let got: Vec<&str> = object.keys().map(|k| k.as_str()).collect();
            let want: Vec<&str> = expected.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(got, want, "keys of {path}");
            1 + expected
                .iter()
                .map(|(key, subs)| {
                    let subs: Vec<&SelectionSet> = subs
                        .iter()
                        .copied()
                        .filter(|s| !s.items.is_empty())
                        .collect();
                    if subs.is_empty() {
                        return 0;
                    }
                    check_order(
                        &object[key.as_str()],
                        &subs,
                        document,
                        &format!("{path}.{key}"),
                    )
                })
                .sum::<usize>()
        }
        _ => 0,
    }
}

test_both! {
    async fn every_level_of_the_answer_follows_the_document_order(app) {
        let client = fixtures::client(&app.db, "Ordered", None).await;
        let contract = fixtures::contract(&app.db, client.id, "ORD-1", "100.00", entity::ContractStatus::Active).await;
        fixtures::payment(&app.db, &contract, "40.00", entity::PaymentStatus::Completed).await;
        let queries = [
            "{ clients(first: 5, orderBy: [{ field: COMPANY_NAME }]) { totalCount pageInfo { hasNextPage endCursor } \
               nodes { zeta: companyName ...C id contracts { nodes { amount ...K id status } totalCount } } } \
               me { role id } } \
             fragment C on Client { status createdAt assignedTo { id } email } \
             fragment K on Contract { outstandingAmount payments { nodes { status amount id } } paidAmount }",
            "query($id: UUID!) { c: client(id: $id) { ... on Client { city } companyName b: id a: companyName \
               notes(first: 3) { edges { cursor node { content id } } } contracts { nodes { client { id companyName } id } } } \
               users(first: 2) { nodes { email id role } } }",
        ];
        use crm_server::engine::loader::ReadPath;
        for (read_path, path) in [("fast", ReadPath::Fast), ("plain", ReadPath::Plain)] {
            let mut config = test_config();
            config.server.read_path = path;
            let router = app.router_with(&config);
            for query in queries {
                let request = Request::post("/graphql")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
                    .body(Body::from(json!({ "query": query, "variables": { "id": client.id } }).to_string()))
                    .unwrap();
                let (status, _, body) = send_raw(&router, request).await;
                assert_eq!(status, StatusCode::OK);
                let answer: serde_json::Map<String, Value> = serde_json::from_slice(&body).unwrap();
                assert!(answer.get("errors").is_none(), "{read_path}: {}", String::from_utf8_lossy(&body));
                // async-graphql's Value keeps the order of the JSON text.
                let text = String::from_utf8_lossy(&body);
                let data = text.strip_prefix("{\"data\":").and_then(|rest| rest.strip_suffix('}')).unwrap();
                let ordered: async_graphql::Value = serde_json::from_str(data).unwrap();
                let document = async_graphql::parser::parse_query(query).unwrap();
                let operation = document.operations.iter().next().unwrap().1;
                let checked = check_order(&ordered, &[&operation.node.selection_set.node], &document, read_path);
                assert!(checked >= 8, "{read_path}: only {checked} objects checked");
            }
        }
    }
}

/// The SHA-256 of a document, as manifests name it.
fn document_id(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

test_both! {
    async fn trusted_documents_run_by_id_and_only_they_run_in_only_mode(app) {
        use crm_server::graphql::trusted::Mode;
        let me = "query Me { me { role } }";
        let typename = "query Typename { __typename }";
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("persisted-documents.json");
        std::fs::write(&manifest, json!({ document_id(me): me, document_id(typename): typename }).to_string()).unwrap();
        let mut config = test_config();
        config.server.trusted_documents = vec![manifest.clone()];
        config.server.trusted_documents_mode = Some(Mode::Only);
        config.server.trusted_documents_free_roles = vec![entity::Role::Admin];
        let router = app.router_with(&config);
        let (_, rep) = app.user("rep", entity::Role::Commercial, None).await;
        let send = async |token: Option<&str>, body: Value| {
            let mut request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/graphql-response+json");
            if let Some(token) = token {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let (status, _, bytes) = send_raw(&router, request.body(Body::from(body.to_string())).unwrap()).await;
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        };
        let code = |answer: &Value| answer["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned();

        // By id (both spellings, and Apollo's extension); by a text of the manifest.
        for body in [
            json!({ "documentId": format!("sha256:{}", document_id(me)) }),
            json!({ "documentId": document_id(me), "variables": {} }),
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": document_id(me) } } }),
            json!({ "query": me }),
        ] {
            let (status, answer) = send(Some(&rep), body.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}: {answer}");
            assert_eq!(answer["data"]["me"]["role"], "commercial", "{body}: {answer}");
        }
        // Other texts: refused for a commercial, allowed for an admin (a free role).
        let other = json!({ "query": "{ clients { totalCount } }" });
        let (status, answer) = send(Some(&rep), other.clone()).await;
        assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "TRUSTED_DOCUMENT_REQUIRED".to_owned()), "{answer}");
        assert!(answer.get("data").is_none());
        let (status, _) = send(Some(&app.token), other).await;
        assert_eq!(status, StatusCode::OK);
        // Unknown ids, and a text that is not the one its id names.
        let (status, answer) = send(Some(&rep), json!({ "documentId": document_id("{ x }") })).await;
        assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "PERSISTED_QUERY_NOT_FOUND".to_owned()));
        let (_, answer) = send(Some(&rep), json!({ "documentId": document_id(me), "query": typename })).await;
        assert_eq!(code(&answer), "PERSISTED_QUERY_MISMATCH");

        // Over GET: without credentials the answer is public (a CDN may keep it), with them
        // it is private.
        let url = format!("/graphql?documentId=sha256:{}", document_id(typename));
        let (status, headers, body) = send_raw(&router, Request::get(&url).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "public, max-age=60");
        assert!(headers.get(header::VARY).unwrap().to_str().unwrap().contains("Authorization"));
        let with_token = Request::get(&url).header(header::AUTHORIZATION, format!("Bearer {rep}")).body(Body::empty()).unwrap();
        let (status, headers, _) = send_raw(&router, with_token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "private, no-cache");

        // `allow` (the default outside production): ids and any text.
        config.server.trusted_documents_mode = Some(Mode::Allow);
        let router = app.router_with(&config);
        for body in [json!({ "documentId": document_id(me) }), json!({ "query": "{ clients { totalCount } }" })] {
            let request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {rep}"))
                .body(Body::from(body.to_string()))
                .unwrap();
            let (status, _, bytes) = send_raw(&router, request).await;
            let answer: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(status, StatusCode::OK);
            assert!(answer.get("errors").is_none(), "{body}: {answer}");
        }
        // A manifest whose ids do not match its documents stops the server from starting.
        std::fs::write(&manifest, json!({ document_id("{ x }"): me }).to_string()).unwrap();
        assert!(crm_server::app::state(app.db.clone(), &config).is_err());
    }
}
