//! Request ids and traces: a server process exports its spans over OTLP to a collector the
//! test runs (an HTTP endpoint decoding the protobuf requests).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::{
    Span, span::SpanKind, status::StatusCode as SpanStatus,
};
use prost::Message;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::process::Server;
use crate::helpers::{fixtures, send_raw};

/// An OTLP/HTTP endpoint on a free local port, keeping every span it receives and the
/// `service.name` it was sent with.
struct Collector {
    url: String,
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

impl Collector {
    async fn start() -> Collector {
        let spans: Arc<Mutex<Vec<(String, Span)>>> = Arc::default();
        let kept = spans.clone();
        let router = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body).unwrap();
                    for resource in request.resource_spans {
                        let service = resource
                            .resource
                            .iter()
                            .flat_map(|resource| &resource.attributes)
                            .find(|attribute| attribute.key == "service.name")
                            .and_then(|attribute| text(attribute.value.as_ref()?.value.as_ref()?))
                            .unwrap_or_default();
                        for scope in resource.scope_spans {
                            for span in scope.spans {
                                kept.lock().unwrap().push((service.clone(), span));
                            }
                        }
                    }
                    (
                        [(header::CONTENT_TYPE, "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Collector { url, spans }
    }

    /// The spans received once `done` holds of them (10 s at most).
    async fn wait_for(&self, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        for _ in 0..200 {
            let spans: Vec<Span> = self
                .spans
                .lock()
                .unwrap()
                .iter()
                .map(|(_, span)| span.clone())
                .collect();
            if done(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("spans missing: {:#?}", self.spans.lock().unwrap());
    }
}

fn text(value: &Any) -> Option<String> {
    match value {
        Any::StringValue(text) => Some(text.clone()),
        Any::IntValue(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A span's attribute, as text.
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| text(attribute.value.as_ref()?.value.as_ref()?))
}

/// `POST /graphql` over a plain socket: the status, the `X-Request-Id` answered and the body.
async fn post(
    address: std::net::SocketAddr,
    token: &str,
    extra_headers: &str,
    query: &str,
) -> (u16, String, Value) {
    let body = json!({ "query": query }).to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\n{extra_headers}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let id = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("x-request-id")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    (status, id, serde_json::from_str(body).unwrap())
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

test_both! {
    /// A traced request: its server span continues the caller's `traceparent`, the operation's
    /// span is its child and every SQL statement's span the operation's; the request id is in
    /// the answer, the spans and the log lines.
    async fn a_request_s_spans_reach_the_otlp_endpoint(app) {
        let client = fixtures::client(&app.db, "Traced Client", None).await;
        fixtures::contract(&app.db, client.id, "T-1", "100.00", entity::ContractStatus::Active).await;
        let collector = Collector::start().await;
        let log = tempfile::NamedTempFile::new().unwrap();
        let url = app.database_url();
        let server = Server::start_logging(
            &[
                ("DATABASE_URL", &url),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
                ("CRM_LOG_FORMAT", "json"),
                ("RUST_LOG", "warn,crm_server::telemetry=debug"),
            ],
            Some(log.path()),
        )
        .await;

        let traceparent = format!("traceparent: 00-{TRACE_ID}-{CALLER_SPAN}-01\r\n");
        let (status, id, answer) = post(
            server.address,
            &app.token,
            &format!("{traceparent}X-Request-Id: traced-1\r\n"),
            "query TracedClients { clients(first: 5) { totalCount nodes { companyName \
             contracts { nodes { contractNumber } } } } }",
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(id, "traced-1");
        assert_eq!(answer["data"]["clients"]["nodes"][0]["contracts"]["nodes"][0]["contractNumber"], "T-1");

        let trace = hex(TRACE_ID);
        let spans = collector
            .wait_for(|spans| {
                spans.iter().any(|span| span.name == "query TracedClients")
                    && spans.iter().any(|span| span.name == "POST /graphql")
            })
            .await;
        let request = spans.iter().find(|span| span.name == "POST /graphql").unwrap();
        assert_eq!(request.trace_id, trace);
        assert_eq!(request.parent_span_id, hex(CALLER_SPAN));
        assert_eq!(request.kind, SpanKind::Server as i32);
        assert_eq!(attribute(request, "request_id").as_deref(), Some("traced-1"));
        assert_eq!(attribute(request, "http.response.status_code").as_deref(), Some("200"));

        let operation = spans.iter().find(|span| span.name == "query TracedClients").unwrap();
        assert_eq!(operation.trace_id, trace);
        assert_eq!(operation.parent_span_id, request.span_id);
        assert_eq!(attribute(operation, "graphql.operation.type").as_deref(), Some("query"));
        assert_eq!(attribute(operation, "graphql.operation.name").as_deref(), Some("TracedClients"));

        let system = match app.db_backend() {
            sea_orm::DbBackend::Postgres => "postgresql",
            _ => "sqlite",
        };
        let statements: Vec<&Span> = spans.iter().filter(|span| span.kind == SpanKind::Client as i32).collect();
        // The credentials' check under the request; the page (with its count) and the
        // contracts under the operation, within its time.
        let mut under_operation = 0;
        for statement in &statements {
            assert_eq!(statement.trace_id, trace, "{statement:#?}");
            assert_eq!(statement.name, "SELECT");
            assert_eq!(attribute(statement, "db.system.name").as_deref(), Some(system));
            let parent = if statement.parent_span_id == operation.span_id {
                under_operation += 1;
                operation
            } else {
                assert_eq!(statement.parent_span_id, request.span_id, "{statement:#?}");
                request
            };
            assert!(statement.start_time_unix_nano >= parent.start_time_unix_nano);
            assert!(statement.end_time_unix_nano <= parent.end_time_unix_nano);
        }
        assert!(under_operation >= 2, "{statements:#?}");
        let services: Vec<String> = collector.spans.lock().unwrap().iter().map(|(service, _)| service.clone()).collect();
        assert!(services.iter().all(|service| service == "crm-server"), "{services:?}");

        // Refused, without a `traceparent`: a trace of its own, marked as an error, and the
        // id the server gave it in the answer's error.
        let (status, id, answer) = post(server.address, &app.token, "", "query Broken { nope }").await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["requestId"], id.as_str());
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        let spans = collector.wait_for(|spans| spans.iter().any(|span| span.name == "query Broken")).await;
        let broken = spans.iter().find(|span| span.name == "query Broken").unwrap();
        assert_ne!(broken.trace_id, trace);
        let parent = spans.iter().find(|span| span.span_id == broken.parent_span_id).unwrap();
        assert!(parent.parent_span_id.is_empty(), "{parent:#?}");
        assert_eq!(attribute(parent, "request_id").as_deref(), Some(id.as_str()));
        assert_eq!(broken.status.as_ref().map(|status| status.code), Some(SpanStatus::Error as i32));

        // No statement outside a request is traced (the change feed's polls, the checks).
        for statement in spans.iter().filter(|span| span.kind == SpanKind::Client as i32) {
            assert!(spans.iter().any(|span| span.span_id == statement.parent_span_id), "{statement:#?}");
        }

        drop(server);
        let logs = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<Value> = logs.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
        for id in ["traced-1", id.as_str()] {
            assert!(
                lines.iter().any(|line| line["span"]["request_id"] == id
                    && line["message"] == "answered"),
                "no log line of request {id}:\n{logs}"
            );
        }
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

test_both! {
    /// Every answer names its request (`X-Request-Id`), and every error in it too
    /// (`extensions.requestId`): GraphQL errors, refusals and plain HTTP errors alike.
    async fn every_error_names_its_request(app) {
        let ask = |request: Request<Body>| {
            let router = app.router.clone();
            async move { send_raw(&router, request).await }
        };
        let graphql = |query: &str, id: Option<&str>| {
            let mut request = Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.token));
            if let Some(id) = id {
                request = request.header("x-request-id", id);
            }
            request.body(Body::from(json!({ "query": query }).to_string())).unwrap()
        };

        // A field error (with a path), its id chosen by the client.
        let (status, headers, body) =
            ask(graphql("{ clients(first: -1) { totalCount } }", Some("edge-42"))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["x-request-id"], "edge-42");
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["errors"][0]["path"][0], "clients", "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["requestId"], "edge-42", "{answer}");

        // Validation, with an id that is not a plain token: replaced.
        let (_, headers, body) = ask(graphql("{ nope }", Some("<script>"))).await;
        let id = headers["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, "<script>");
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["errors"][0]["extensions"]["requestId"], id.as_str(), "{answer}");

        // A plain HTTP error (no JSON body announced).
        let request = Request::post("/graphql").header(header::CONTENT_TYPE, "text/plain").body(Body::from("x")).unwrap();
        let (status, headers, body) = ask(request).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["errors"][0]["extensions"]["requestId"], headers["x-request-id"].to_str().unwrap(), "{answer}");

        // Success: the header, nothing in the body.
        let (_, headers, body) = ask(graphql("{ clients { totalCount } }", None)).await;
        assert!(headers.contains_key("x-request-id"));
        assert!(!String::from_utf8_lossy(&body).contains("requestId"));
    }
}
