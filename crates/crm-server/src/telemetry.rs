//! Logs, request ids and traces.
//!
//! - **Logs**: `tracing`, pretty in development, JSON in production, filtered by `RUST_LOG`.
//! - **Request ids**: every HTTP request has one ([`request_id`]): the client's `X-Request-Id`
//!   when it is a plain token, else a new UUID. It is in every log line written while the
//!   request runs (a field of its span, which the log filter always keeps), in the answer's
//!   `X-Request-Id` header, and in the `extensions.requestId` of every error in the answer.
//! - **Traces** (when an OTLP endpoint is configured): a server span per request (its parent
//!   from the W3C `traceparent` header), a span per GraphQL operation (type and name), a client
//!   span per SQL statement (its kind, never its text or values), exported in batches over OTLP
//!   (HTTP, protobuf) by `tracing-opentelemetry` and `opentelemetry-otlp`.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, Request};
use opentelemetry::trace::{
    Span as _, SpanKind, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{KeyValue, global};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

/// The target of the request and operation spans: always on for the logs (whatever
/// `RUST_LOG` says, so every line carries its request id), and the only spans traced.
pub const SPANS: &str = "crm_server::span";

/// The header of a request's id, in the request (optional) and the answer.
pub const REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// The tracer, once traces are exported.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// What [`init`] set up; [`Telemetry::shutdown`] sends the spans still waiting.
#[must_use = "shut down to send the last spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans not sent yet and stops the exporter (blocking work, off the runtime).
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let stopped = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(err)) = stopped {
                tracing::warn!(error = %err, "the last spans could not be sent");
            }
        }
    }
}

/// Installs the global subscriber (once, at start): the logs, and the traces when
/// `traces_endpoint` is given (and `OTEL_SDK_DISABLED` is not `true`). An exporter that cannot
/// be made is an error (the logs are in place).
pub fn init(format: LogFormat, traces_endpoint: Option<&str>) -> Result<Telemetry, String> {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
            .add_directive(spans_directive())
    };

    let disabled = std::env::var("OTEL_SDK_DISABLED")
        .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let exporter = match traces_endpoint.filter(|_| !disabled).map(exporter) {
        Some(Ok(exporter)) => exporter,
        other => {
            // The filter applies to everything (less work per span than a filter per layer).
            // A second init (tests) keeps the first subscriber.
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(logs(format))
                .try_init();
            return match other {
                Some(Err(err)) => Err(format!("traces cannot be exported: {err}")),
                _ => Ok(Telemetry { provider: None }),
            };
        }
    };
    let mut resource = opentelemetry_sdk::Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("crm-server");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("crm-server");
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer.clone())
        .with_threads(false)
        .with_filter(
            tracing_subscriber::filter::Targets::new().with_target(SPANS, tracing::Level::INFO),
        );
    if tracing_subscriber::registry()
        .with(logs(format).with_filter(filter()))
        .with(traces)
        .try_init()
        .is_err()
    {
        return Ok(Telemetry { provider: None });
    }
    global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    global::set_tracer_provider(provider.clone());
    let _ = TRACER.set(tracer);
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// The log lines' layer, in `format`.
fn logs<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    }
}

fn spans_directive() -> tracing_subscriber::filter::Directive {
    // A constant directive: it parses.
    format!("{SPANS}=info")
        .parse()
        .unwrap_or_else(|_| tracing::Level::INFO.into())
}

fn exporter(endpoint: &str) -> Result<opentelemetry_otlp::SpanExporter, String> {
    use opentelemetry_otlp::WithExportConfig;
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .build()
        .map_err(|err| err.to_string())
}

/// For tests: logs only when `TEST_LOG` is set, so test output stays readable.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = init(LogFormat::Pretty, None);
    }
}

/// A request's id (see the module's documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The client's id if it is 1 to 128 letters, digits, `-`, `_`, `.` or `:`; else a new one.
    pub fn from_headers(headers: &HeaderMap) -> RequestId {
        let given = headers
            .get(REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                (1..=128).contains(&id.len())
                    && id.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
                    })
            });
        match given {
            Some(id) => RequestId(Arc::from(id)),
            None => RequestId(Arc::from(uuid::Uuid::now_v7().to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request this task serves, if it serves one.
pub fn current_request_id() -> Option<RequestId> {
    CURRENT.try_with(RequestId::clone).ok()
}

/// Runs `work` as part of request `id` (a task spawned for a request, e.g. a WebSocket's).
pub async fn with_request_id<F: std::future::Future>(id: Option<RequestId>, work: F) -> F::Output {
    match id {
        Some(id) => CURRENT.scope(id, work).await,
        None => work.await,
    }
}

/// Runs one HTTP request (`run`) under its id (in its extensions, this task and the answer's
/// `X-Request-Id` header) and its span.
pub async fn traced<F, Fut>(mut request: axum::extract::Request, run: F) -> axum::response::Response
where
    F: FnOnce(axum::extract::Request) -> Fut,
    Fut: std::future::Future<Output = axum::response::Response>,
{
    let id = RequestId::from_headers(request.headers());
    let span = request_span(&request, &id);
    let value = HeaderValue::from_str(id.as_str()).ok();
    request.extensions_mut().insert(id.clone());
    let mut response = CURRENT
        .scope(id, run(request))
        .instrument(span.clone())
        .await;
    let status = response.status();
    tracing::debug!(parent: &span, status = status.as_u16(), "answered");
    if TRACER.get().is_some() {
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
    if let Some(value) = value {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The request's span: its id for the logs; for the traces a server span named by its route,
/// whose parent is the caller's `traceparent`.
fn request_span<B>(request: &Request<B>, id: &RequestId) -> tracing::Span {
    let id = id.as_str();
    if TRACER.get().is_none() {
        // The logs need only the id (fewer fields: less work per request).
        return tracing::info_span!(target: SPANS, "request", request_id = id);
    }
    let method = request.method().as_str();
    let route = route_of(request.uri().path());
    let span = tracing::info_span!(
        target: SPANS,
        "request",
        request_id = id,
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = method,
        http.route = route,
        url.path = request.uri().path(),
        http.response.status_code = tracing::field::Empty,
    );
    let parent = global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(request.headers()))
    });
    let _ = span.set_parent(parent);
    span
}

/// The route a path takes (few values: a span's name), `other` for none.
fn route_of(path: &str) -> &'static str {
    match path {
        "/graphql" => "/graphql",
        "/health" => "/health",
        "/ready" => "/ready",
        "/metrics" => "/metrics",
        _ if path.starts_with("/documents/") => "/documents/{id}/content",
        _ if path.starts_with("/graphiql/assets/") => "/graphiql/assets/{name}",
        _ => "other",
    }
}

/// A GraphQL operation's span when traces are exported (else none: the request's span holds
/// the id the logs need); [`record_operation`] names it once the operation is known.
pub fn operation_span() -> tracing::Span {
    if TRACER.get().is_none() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        target: SPANS,
        "operation",
        otel.name = "GraphQL operation",
        otel.status_code = tracing::field::Empty,
        graphql.operation.type = tracing::field::Empty,
        graphql.operation.name = tracing::field::Empty,
    )
}

/// Names the current operation span: `query ClientPage`, `mutation`, …
pub fn record_operation(kind: &str, name: Option<&str>) {
    if TRACER.get().is_none() {
        return;
    }
    let span = tracing::Span::current();
    span.record("graphql.operation.type", kind);
    if let Some(name) = name {
        span.record("graphql.operation.name", name);
    }
    // Started when entered: renamed through OpenTelemetry (`otel.name` is read at start).
    let title = match name {
        Some(name) => format!("{kind} {name}"),
        None => kind.to_owned(),
    };
    span.context().span().update_name(title);
}

/// Marks the current span as failed (an operation answered with errors).
pub fn record_error() {
    if TRACER.get().is_none() {
        return;
    }
    tracing::Span::current().record("otel.status_code", "ERROR");
}

/// A SQL statement that just ran for `elapsed`: a client span under the current operation's,
/// when traces are exported and the statement ran for a traced request.
pub fn statement(system: &'static str, kind: &'static str, elapsed: Duration, failed: bool) {
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let parent = tracing::Span::current().context();
    if !parent.span().span_context().is_valid() {
        return;
    }
    let end = SystemTime::now();
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let name = match kind {
        "select" => "SELECT",
        "insert" => "INSERT",
        "update" => "UPDATE",
        "delete" => "DELETE",
        _ => "SQL",
    };
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", name),
        ])
        .start_with_context(tracer, &parent);
    if failed {
        span.set_status(opentelemetry::trace::Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(id: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(id) {
            headers.insert(REQUEST_ID, value);
        }
        headers
    }

    #[test]
    fn keeps_a_plain_client_request_id_and_replaces_any_other() {
        assert_eq!(
            RequestId::from_headers(&headers("lb-7f3a:01.x_y")).as_str(),
            "lb-7f3a:01.x_y"
        );
        for bad in ["", "with space", "quote\"", "{json}", &"a".repeat(129)] {
            let id = RequestId::from_headers(&headers(bad));
            assert_ne!(id.as_str(), bad);
            assert!(uuid::Uuid::parse_str(id.as_str()).is_ok(), "{id}");
        }
        let one = RequestId::from_headers(&HeaderMap::new());
        let two = RequestId::from_headers(&HeaderMap::new());
        assert_ne!(one, two);
    }

    #[test]
    fn names_routes_with_few_values() {
        assert_eq!(route_of("/graphql"), "/graphql");
        assert_eq!(
            route_of("/documents/0198/content"),
            "/documents/{id}/content"
        );
        assert_eq!(route_of("/etc/passwd"), "other");
    }

    #[tokio::test]
    async fn a_task_knows_its_request_id() {
        assert_eq!(current_request_id(), None);
        let id = RequestId::from_headers(&headers("abc"));
        let seen = with_request_id(Some(id.clone()), async { current_request_id() }).await;
        assert_eq!(seen, Some(id));
    }
}
