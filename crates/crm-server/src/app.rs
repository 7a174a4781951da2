//! The application: state, router, start-up and graceful shutdown. `main` and the tests both
//! build the server through [`build`] and [`router`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_graphql::ValidationMode;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, RawQuery};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::auth::AuthService;
use crate::auth::RequestAuth;
use crate::auth::service::ClientInfo;
use crate::config::Config;
use crate::db;
use crate::documents::download::{self, DownloadState};
use crate::documents::service::Files;
use crate::engine::PageLimits;
use crate::engine::batch;
use crate::engine::loader::{Loaders, ReadPath};
use crate::engine::reader::Reader;
use crate::error::AppError;
use crate::graphiql;
use crate::graphql::document_cache::DocumentCache;
use crate::graphql::errors;
use crate::graphql::http::{self, MediaType};
use crate::graphql::limits::{self, Limits, Refusal};
use crate::graphql::request::BodyLimits;
use crate::graphql::response::{order_root, root_order};
use crate::graphql::schema::{CrmSchema, SchemaLimits, build_schema};
use crate::graphql::trusted::Found;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Where the GraphQL read path's statements run.
    pub reader: Reader,
    pub schema: CrmSchema,
    /// The same schema checking only the limits, for requests known to pass validation.
    pub schema_known: CrmSchema,
    pub page_limits: PageLimits,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<AuthService>,
    /// Operations executing at once; the others wait their turn (bounds memory under load).
    pub executions: Arc<tokio::sync::Semaphore>,
    /// Places for requests waiting for their turn (`CRM_MAX_QUEUED_OPERATIONS`).
    pub waiting_room: Arc<tokio::sync::Semaphore>,
    /// Parsed documents of recent query texts.
    pub documents: Arc<DocumentCache>,
    /// What one request may ask.
    pub limits: Limits,
    /// Largest body of a request without valid credentials.
    pub anonymous_body_bytes: usize,
    /// Largest JSON body of a signed-in request (`CRM_MAX_BODY_BYTES`).
    pub body_bytes: usize,
    /// What a multipart request with files may carry.
    pub upload_limits: BodyLimits,
    /// Documents' files.
    pub files: Arc<Files>,
    /// Room for uploads being received, in MiB (`CRM_UPLOAD_SPOOL_BYTES`).
    pub spool: Arc<tokio::sync::Semaphore>,
    /// The storage settings (what an upload takes of the spool).
    pub storage: crate::config::StorageConfig,
    /// Downloads streaming at once (`CRM_MAX_DOWNLOADS`).
    pub downloads: Arc<tokio::sync::Semaphore>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub proxies: crate::proxy::TrustedProxies,
    /// The fast or the plain read path (`CRM_READ_PATH`).
    pub read_path: ReadPath,
    /// Whether `GET /graphql` from a browser serves GraphiQL.
    pub graphiql: bool,
    /// The trusted documents (persisted operations) and what may run.
    pub trusted: Arc<crate::graphql::trusted::TrustedDocuments>,
    /// Largest CSV file an import reads (`CRM_IMPORT_MAX_BYTES`).
    pub import_max_bytes: u64,
    /// How long a shared cache may keep a public answer (`CRM_PUBLIC_MAX_AGE_SECS`).
    pub public_max_age: u64,
    /// The input types variables are checked against before execution.
    pub variable_types: Arc<crate::graphql::variables::VariableTypes>,
    /// Live updates: the change feed and the WebSocket connections.
    pub live: Arc<crate::live::Live>,
    /// What `/ready` reports.
    pub readiness: Arc<Readiness>,
    /// Read replicas, if any (`DATABASE_REPLICA_URL`): where queries read.
    pub replicas: Option<Arc<crate::engine::replicas::Replicas>>,
    /// How webhooks are delivered.
    pub webhooks: Arc<crate::webhooks::Settings>,
    /// Encrypts mailbox tokens and webhook secrets (none when the keys are unusable).
    pub cipher: Option<Arc<crate::secrets::TokenCipher>>,
    /// The mail providers mailboxes connect through.
    pub mailboxes: Arc<crate::oauth_email_accounts::providers::Providers>,
}

/// Whether this instance should be sent requests (`GET /ready`).
#[derive(Debug, Default)]
pub struct Readiness {
    /// Every migration applied (checked until it is true, then never again).
    migrated: std::sync::atomic::AtomicBool,
    /// Stopping: requests in flight finish, new ones should go elsewhere.
    draining: std::sync::atomic::AtomicBool,
}

impl Readiness {
    /// From now on `/ready` answers 503 (the server is stopping).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
}

pub use crate::metrics::Metrics;
use crate::metrics::Outcome;

/// Why the server could not start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Migrates (unless told not to), connects and builds the state.
pub async fn build(config: &Config) -> Result<AppState, StartError> {
    let url = config.database.url();
    let migrate = !config.server.skip_migrations;
    let db = db::open(
        &url,
        config.database.max_connections(&url),
        config.database.sqlite_synchronous,
        migrate,
    )
    .await?;
    if migrate {
        tracing::info!("migrations applied");
    } else {
        tracing::info!("migrations skipped (CRM_SKIP_MIGRATIONS)");
    }
    tracing::info!(database = %db::redact(&url), backend = db::backend_name(&db), "connected");
    let state = state(db, config)?;
    state.reader.warm().await?;
    Ok(state)
}

/// The state for an open, migrated database (the document store opened, its directory made).
pub fn state(mut db: DatabaseConnection, config: &Config) -> Result<AppState, StartError> {
    let files = Arc::new(Files::from_config(config)?);
    // The feed's statements are the server's own, not requests': not counted.
    let feed_db = db.clone();
    let metrics = Arc::new(Metrics::default());
    let counter = metrics.clone();
    let system = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "postgresql",
        _ => "sqlite",
    };
    crate::db::set_metric_callback(&mut db, move |info| {
        let kind = crate::engine::reader::kind_of(&info.statement.sql);
        counter.statement(kind, info.elapsed);
        crate::telemetry::statement(system, kind, info.elapsed, info.failed);
    });
    let counter = metrics.clone();
    let counts = Arc::new(crate::engine::counts::CountCache::new(
        std::time::Duration::from_secs(config.server.count_cache_secs),
    ));
    let on_statement: crate::engine::reader::OnStatement = Arc::new(move |kind, elapsed| {
        counter.statement(kind, elapsed);
        crate::telemetry::statement(system, kind, elapsed, false);
    });
    let reader = Reader::new(&db, on_statement).with_counts(counts.clone());
    let replica_urls = config.database.replica_urls();
    let replicas = if replica_urls.is_empty() {
        None
    } else {
        let settings = crate::engine::replicas::ReplicaSettings {
            check_every: std::time::Duration::from_millis(config.database.replica_check_ms),
            max_lag: std::time::Duration::from_secs(config.database.replica_max_lag_secs),
            count_cache: std::time::Duration::from_secs(config.server.count_cache_secs),
        };
        Some(Arc::new(crate::engine::replicas::Replicas::new(
            reader.clone(),
            &replica_urls,
            settings,
        )?))
    };
    if let Some(replicas) = &replicas {
        tracing::info!(
            replicas = replica_urls.len(),
            "queries read from the replicas"
        );
        replicas.start();
    }
    let request_limits = config.server.limits();
    let limits = SchemaLimits {
        recursion: request_limits.recursion(),
        introspection: config.server.introspection_enabled(),
    };
    // `Config::validate` has checked the keys; a bad set here falls back to none, and
    // connecting a mailbox then fails with an internal error rather than storing plaintext.
    let cipher = crate::secrets::TokenCipher::from_config(&config.server.token_keys)
        .map(Arc::new)
        .map_err(|err| tracing::error!(error = %err, "mailbox token keys unusable"))
        .ok();
    let auth = Arc::new(AuthService::new(db.clone(), &config.auth));
    let live = crate::live::Live::start(feed_db, &config.live, auth.clone(), counts);
    let webhooks = Arc::new(crate::webhooks::Settings::from_config(config)?);
    let mailboxes =
        Arc::new(crate::oauth_email_accounts::providers::Providers::from_config(config)?);
    let build = |validation| {
        build_schema(
            Some(db.clone()),
            limits,
            cipher.clone(),
            Some(auth.clone()),
            Some(files.clone()),
            Some(live.feed.clone()),
            Some(webhooks.clone()),
            Some(mailboxes.clone()),
            validation,
        )
    };
    let schema = build(ValidationMode::Strict);
    let variable_types = Arc::new(crate::graphql::variables::VariableTypes::from_sdl(
        &schema.sdl(),
    ));
    let schema_known = build(ValidationMode::Fast);
    crate::audit::set_enabled(config.server.audit);
    let page_limits = PageLimits {
        default_size: config.server.default_page_size,
        max_size: config.server.max_page_size,
        max_rows: config.server.max_rows,
        time_zone: config.server.time_zone,
    };
    Ok(AppState {
        db,
        reader,
        schema,
        schema_known,
        page_limits,
        metrics,
        auth,
        waiting_room: Arc::new(tokio::sync::Semaphore::new(
            config.server.max_queued_operations,
        )),
        executions: Arc::new(tokio::sync::Semaphore::new(
            config.server.max_concurrent_operations(),
        )),
        documents: Arc::new(DocumentCache::new(config.server.document_cache_bytes)),
        limits: request_limits,
        anonymous_body_bytes: config.server.max_anonymous_body_bytes,
        body_bytes: config.server.max_body_bytes,
        upload_limits: BodyLimits {
            json_bytes: config.server.max_body_bytes,
            file_bytes: config.storage.upload_max_file_bytes,
            files: config.storage.upload_max_files,
            multipart_bytes: config.storage.upload_max_request_bytes(),
            files_allowed: true,
        },
        files,
        spool: Arc::new(tokio::sync::Semaphore::new(config.storage.spool_mib())),
        storage: config.storage.clone(),
        downloads: Arc::new(tokio::sync::Semaphore::new(
            config.storage.max_downloads.max(1),
        )),
        proxies: config.server.trusted_proxies.clone(),
        read_path: config.server.read_path,
        graphiql: config.server.graphiql_enabled(),
        trusted: Arc::new(config.server.trusted_documents()?),
        public_max_age: config.server.public_max_age_secs,
        import_max_bytes: config.server.import_max_bytes,
        variable_types,
        live,
        readiness: Arc::default(),
        replicas,
        webhooks,
        cipher,
        mailboxes,
    })
}

impl axum::extract::FromRef<AppState> for DownloadState {
    fn from_ref(state: &AppState) -> DownloadState {
        DownloadState {
            db: state.db.clone(),
            files: state.files.clone(),
            auth: state.auth.clone(),
            downloads: state.downloads.clone(),
        }
    }
}

/// The HTTP routes: `POST /graphql`, `GET /graphql` (queries; GraphiQL for a browser),
/// `GET /health` (liveness), `GET /ready` (readiness), `GET /metrics`,
/// `GET /documents/{id}/content`, `GET /export/{name}.csv`, `POST /import/{name}`,
/// `GET /oauth/callback`. Each reads its body with its own limits (see
/// [`crate::graphql::request`]); the others take none.
pub fn router(state: AppState, config: &Config) -> Router {
    let graphql = axum::routing::post(graphql_post).get(graphql_get);
    let mut router = Router::new()
        .route("/graphql", graphql)
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/documents/{id}/content", get(download::content))
        .route("/export/{file}", get(crate::csv::export::export))
        .route(
            "/import/{name}",
            axum::routing::post(crate::csv::import::import),
        )
        .route(
            "/oauth/callback",
            get(crate::oauth_email_accounts::callback::callback),
        );
    if config.server.graphiql_enabled() {
        router = router.route("/graphiql/assets/{name}", get(graphiql::asset));
    }
    if let Some(cors) = cors(config) {
        router = router.layer(cors);
    }
    let timeouts = Timeouts {
        request: config.server.request_timeout(),
        upload: std::time::Duration::from_secs(config.storage.upload_timeout_secs),
    };
    router
        .layer(axum::Extension(Arc::new(state.clone())))
        .layer(axum::middleware::from_fn_with_state(timeouts, each_request))
        .with_state(state)
}

/// How long a request may take: uploads (a multipart POST: its files come over slow links, and
/// go to the store and the scanner), have their own.
#[derive(Clone, Copy)]
struct Timeouts {
    request: std::time::Duration,
    upload: std::time::Duration,
}

/// Every request: its id and span (see [`crate::telemetry`]), and its time limit: `408` to a
/// request that takes longer (until its answer starts: a download's body streams as long as
/// it takes).
async fn each_request(
    State(timeouts): State<Timeouts>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Uploads and imports: large bodies over slow links, then many writes.
    let upload = request.method() == axum::http::Method::POST
        && (crate::graphql::request::is_multipart(request.headers())
            || request.uri().path().starts_with("/import/"));
    let limit = if upload {
        timeouts.upload
    } else {
        timeouts.request
    };
    crate::telemetry::traced(request, |request| async move {
        match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => response,
            Err(_) => crate::error::http_error(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "the request took longer than the server allows",
            ),
        }
    })
    .await
}

/// `POST /graphql`: a JSON body, or a multipart request with files.
async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Body,
) -> Response {
    let media = match http::negotiate(&headers) {
        Ok(media) => media,
        Err(rejection) => return rejection.into_response(),
    };
    let auth = authenticate(&state, &headers).await;
    // Without valid credentials, a small body and only what needs none (see `prepare`).
    let anonymous = auth.unauthenticated();
    let limits = BodyLimits {
        json_bytes: if anonymous.is_some() {
            state.anonymous_body_bytes
        } else {
            state.body_bytes
        },
        files_allowed: anonymous.is_none(),
        ..state.upload_limits
    };
    // Files go to temporary files: an upload takes its size of the spool's room first.
    let _spool = if limits.files_allowed && crate::graphql::request::is_multipart(&headers) {
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        match state
            .spool
            .clone()
            .try_acquire_many_owned(state.storage.spool_permits(length))
        {
            Ok(permit) => Some(permit),
            Err(_) => return busy(),
        }
    } else {
        None
    };
    let request = match crate::graphql::request::read(&headers, body, limits).await {
        Ok(request) => request,
        Err(rejection) => return rejection.into_response(),
    };
    execute(state, headers, extensions, auth, request, media, false).await
}

/// `GET /graphql`: a query in the URL's parameters, or GraphiQL for a browser (`Accept:
/// text/html` without a `query`).
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    RawQuery(query): RawQuery,
    websocket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Ok(websocket) = websocket {
        // Every socket shares the router's copy of the state.
        let shared = extensions
            .get::<Arc<AppState>>()
            .cloned()
            .unwrap_or_else(|| Arc::new(state));
        return crate::live::socket::upgrade(shared, websocket, &headers);
    }
    let request = match http::get_request(query.as_deref()) {
        Ok(Some(request)) => request,
        Ok(None) if state.graphiql && http::accepts_html(&headers) => {
            return graphiql::page().await.into_response();
        }
        Ok(None) => {
            return crate::error::http_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "a GET request carries its operation in the `query` parameter",
            );
        }
        Err(rejection) => return rejection.into_response(),
    };
    let media = match http::negotiate(&headers) {
        Ok(media) => media,
        Err(rejection) => return rejection.into_response(),
    };
    let auth = authenticate(&state, &headers).await;
    execute(state, headers, extensions, auth, request, media, true).await
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> RequestAuth {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    let auth = state.auth.authenticate(authorization).await;
    if matches!(auth, RequestAuth::Refused(_)) {
        state.metrics.auth_failures.inc();
    }
    auth
}

/// The caller's credentials for a route outside GraphQL (exports, imports): `401` without
/// valid ones, `500` when they cannot be checked.
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(RequestAuth, crate::auth::Viewer), Response> {
    let auth = authenticate(state, headers).await;
    match auth.viewer() {
        Ok(viewer) => Ok((auth, viewer)),
        Err(err) => {
            let status = if err.code() == crate::error::codes::UNAUTHENTICATED {
                StatusCode::UNAUTHORIZED
            } else {
                err.log_if_internal();
                StatusCode::INTERNAL_SERVER_ERROR
            };
            Err(crate::error::http_error(
                status,
                err.code(),
                &err.public_message(),
            ))
        }
    }
}

/// Runs a GraphQL request that was read (from a body or a URL) and writes its answer; its
/// duration goes to the metrics, by operation and outcome.
async fn execute(
    state: AppState,
    headers: HeaderMap,
    extensions: Extensions,
    auth: RequestAuth,
    request: async_graphql::Request,
    media: MediaType,
    over_get: bool,
) -> Response {
    let started = std::time::Instant::now();
    let metrics = state.metrics.clone();
    let mut observed = Observed {
        operation_type: "unknown",
        name: None,
        outcome: Outcome::Refused,
    };
    let span = crate::telemetry::operation_span();
    let response = run(
        state,
        headers,
        extensions,
        auth,
        request,
        media,
        over_get,
        &mut observed,
    )
    .instrument(span.clone())
    .await;
    if observed.outcome != Outcome::Ok {
        let _entered = span.enter();
        crate::telemetry::record_error();
    }
    metrics.observe(
        observed.operation_type,
        observed.name.as_deref(),
        observed.outcome,
        started.elapsed().as_secs_f64(),
    );
    response
}

/// What the metrics say of a request.
struct Observed {
    operation_type: &'static str,
    name: Option<String>,
    outcome: Outcome,
}

/// The operation `name` selects in `document` (its only one when no name is given): its type
/// and name.
fn operation_of(
    document: &async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<(&'static str, Option<String>)> {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let (found, operation) = match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => (name.map(str::to_owned), operation),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            (Some(name.to_owned()), operations.get(name)?)
        }
        // One named operation, the request naming none: that one.
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            let (name, operation) = operations.iter().next()?;
            (Some(name.to_string()), operation)
        }
        (DocumentOperations::Multiple(_), None) => return None,
    };
    let kind = match operation.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    Some((kind, found))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    state: AppState,
    headers: HeaderMap,
    extensions: Extensions,
    auth: RequestAuth,
    mut request: async_graphql::Request,
    media: MediaType,
    over_get: bool,
    observed: &mut Observed,
) -> Response {
    if let Err(rejection) = crate::graphql::request::check_file_marks(&request) {
        return rejection.into_response();
    }
    let anonymous = auth.unauthenticated();
    let role = auth.viewer().ok().map(|viewer| viewer.role);
    let without_credentials = matches!(auth, RequestAuth::Anonymous);
    let found = match state.trusted.resolve(&mut request, role) {
        Ok(found) => found,
        Err(error) => {
            let response = async_graphql::Response::from_errors(vec![error]);
            return crate::graphql::response::into_response(response, media);
        }
    };
    state.metrics.graphql_requests.inc();
    let prepared = match state
        .documents
        .prepare(&mut request, &state.limits, anonymous)
    {
        Ok(prepared) => prepared,
        Err(refusal) => return refused(refusal, media),
    };
    let operation_name = request.operation_name.clone();
    if let Ok(document) = request.parsed_query()
        && let Some((kind, name)) = operation_of(document, operation_name.as_deref())
    {
        crate::telemetry::record_operation(kind, name.as_deref());
        observed.operation_type = kind;
        observed.name = name;
    }
    let read_only = prepared.read_only;
    if over_get
        && let Ok(document) = request.parsed_query()
        && let Some(rejection) = http::refuse_over_get(document, operation_name.as_deref())
    {
        let mut response = rejection.into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, axum::http::HeaderValue::from_static("POST"));
        return response;
    }
    let checked = state.variable_types.check_request(&mut request);
    let read_after = match checked.and_then(|()| read_after(&headers)) {
        Ok(position) => position,
        Err(error) => {
            let response = async_graphql::Response::from_errors(vec![error]);
            return crate::graphql::response::into_response(response, media);
        }
    };
    let client = ClientInfo {
        ip: state.proxies.client_address(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
            &headers,
        ),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(200).collect()),
    };
    // Past the limit, requests queue here rather than all holding their results in memory at
    // once; the semaphore is never closed, so acquiring cannot fail.
    let _turn = match state.executions.clone().try_acquire_owned() {
        Ok(turn) => Some(turn),
        Err(_) => {
            let Ok(_waiting) = state.waiting_room.try_acquire() else {
                observed.outcome = Outcome::Busy;
                return busy();
            };
            state.executions.clone().acquire_owned().await.ok()
        }
    };
    let user = auth.viewer().ok().map(|viewer| viewer.user_id);
    let reader = match &state.replicas {
        Some(replicas) if read_only => {
            let (reader, target) = replicas.reader_for(user, read_after).await;
            state
                .metrics
                .query_read(target != crate::engine::replicas::Target::Primary);
            reader
        }
        _ => state.reader.clone(),
    };
    let loaders = Loaders::new(
        reader,
        state.page_limits,
        Arc::new(auth.clone()),
        prepared.read_only,
        state.read_path,
    );
    let dispatcher = loaders.dispatcher();
    let mut request = request.data(loaders).data(auth).data(client);
    let query = request.query.clone();
    let operation = request.operation_name.clone();
    let root_order = request
        .parsed_query()
        .ok()
        .and_then(|document| root_order(document, operation.as_deref()));
    let plain = state.read_path == ReadPath::Plain;
    let schema = if prepared.known && !plain {
        &state.schema_known
    } else {
        &state.schema
    };
    let mut response = batch::drive(dispatcher, schema.execute(request)).await;
    let mut written = None;
    if !read_only {
        // This client reads its own write's counts; subscribers hear of it now rather than at
        // the next poll.
        state.reader.counts().clear();
        state.live.feed.wake();
        if let Some(replicas) = &state.replicas {
            // Where this client's next queries must read from (see `engine::replicas`).
            match replicas.written(user).await {
                Ok(position) => written = Some(position),
                Err(err) => tracing::warn!(error = %err, "cannot read the primary's WAL position"),
            }
        }
    }
    if let Some(order) = root_order {
        order_root(&mut response, &order);
    }
    // Errors without a path are the request's own (syntax, validation, variables).
    let validated = response.errors.iter().all(|error| !error.path.is_empty());
    let clean = response.errors.is_empty();
    state.documents.finish(prepared, validated, clean);
    errors::classify_response(&mut response, &query);
    limits::cap_errors(&mut response.errors, &state.limits);
    let clean = response.errors.is_empty();
    observed.outcome = match (validated, clean) {
        (_, true) => Outcome::Ok,
        (true, false) => Outcome::Error,
        (false, false) => Outcome::Refused,
    };
    let limited = response
        .errors
        .iter()
        .filter(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_some_and(|code| {
                    *code == async_graphql::Value::from(crate::error::codes::RATE_LIMITED)
                })
        })
        .count();
    if limited > 0 {
        state.metrics.rate_limited.inc_by(limited as u64);
    }
    let mut answer = if plain {
        crate::graphql::response::into_plain_response(response, media)
    } else {
        crate::graphql::response::into_response(response, media)
    };
    if let Some(position) = written
        && let Ok(value) = axum::http::HeaderValue::from_str(&position.to_string())
    {
        answer.headers_mut().insert(WRITE_POSITION, value);
    }
    if over_get {
        // A trusted document's answer without credentials is the same for everyone: a CDN
        // may keep it. Anything else depends on who asks.
        let public = found == Found::ById && without_credentials && clean;
        let cache = if public {
            format!("public, max-age={}", state.public_max_age)
        } else {
            "private, no-cache".to_owned()
        };
        let headers = answer.headers_mut();
        if let Ok(value) = axum::http::HeaderValue::from_str(&cache) {
            headers.insert(header::CACHE_CONTROL, value);
        }
        headers.insert(
            header::VARY,
            axum::http::HeaderValue::from_static("Accept, Authorization"),
        );
    }
    answer
}

/// After a mutation, with read replicas: the primary's WAL position, for `Crm-Read-After`.
pub const WRITE_POSITION: header::HeaderName =
    header::HeaderName::from_static("crm-write-position");
/// A position a query must read (a `Crm-Write-Position` the client was given).
pub const READ_AFTER: header::HeaderName = header::HeaderName::from_static("crm-read-after");

/// The `Crm-Read-After` header's position, if any.
fn read_after(
    headers: &HeaderMap,
) -> Result<Option<crate::engine::replicas::Lsn>, async_graphql::ServerError> {
    use async_graphql::ErrorExtensions;
    let Some(value) = headers.get(READ_AFTER) else {
        return Ok(None);
    };
    let refuse = |message: &str| {
        AppError::bad_input("Crm-Read-After", message)
            .extend()
            .into_server_error(async_graphql::Pos::default())
    };
    let text = value.to_str().map_err(|_| refuse("not text"))?;
    text.parse().map(Some).map_err(refuse)
}

/// Every turn taken and `CRM_MAX_QUEUED_OPERATIONS` requests waiting: `503`, try again.
fn busy() -> Response {
    let mut response = crate::error::http_error(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::error::codes::SERVICE_UNAVAILABLE,
        "the server is busy: try again in a moment",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    response
}

/// A request refused before validation: one error naming the limit or the missing credentials.
fn refused(refusal: Refusal, media: MediaType) -> Response {
    let response = async_graphql::Response::from_errors(vec![refusal.into_server_error()]);
    crate::graphql::response::into_response(response, media)
}

/// CORS for the SPA origins of `CRM_CORS_ORIGINS` (none: same-origin only).
fn cors(config: &Config) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderValue, Method, header};
    let origins: Vec<HeaderValue> = config
        .server
        .cors_origins
        .iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::RANGE,
                header::IF_NONE_MATCH,
                header::IF_RANGE,
                header::HeaderName::from_static("apollo-require-preflight"),
                header::HeaderName::from_static("x-apollo-operation-name"),
                READ_AFTER,
                crate::telemetry::REQUEST_ID,
                header::HeaderName::from_static("traceparent"),
                header::HeaderName::from_static("tracestate"),
            ])
            .expose_headers([
                header::CONTENT_DISPOSITION,
                header::CONTENT_RANGE,
                header::ETAG,
                WRITE_POSITION,
                crate::telemetry::REQUEST_ID,
            ])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

/// `GET /metrics`: request durations and counters, statements, connections, sockets
/// (OpenMetrics text, for Prometheus and the benchmark).
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    use crate::engine::reader::PoolStats;
    let (pool_size, pool_idle) = match state.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        _ => (0, 0),
    };
    let main = PoolStats {
        in_use: pool_size.saturating_sub(pool_idle),
        idle: pool_idle,
        waiting: None,
    };
    let mut pools = vec![
        ("main".to_owned(), main),
        ("reader".to_owned(), state.reader.stats()),
    ];
    let mut replicas = Vec::new();
    if let Some(set) = &state.replicas {
        for (index, stats) in set.pool_stats().into_iter().enumerate() {
            pools.push((format!("replica{index}"), stats));
        }
        replicas = set.status();
    }
    let body = state.metrics.render(crate::metrics::Gauges {
        document_cache_bytes: state.documents.weight(),
        websocket_connections: state.live.open_connections(),
        subscriptions: state.live.running_subscriptions(),
        queued_changes: state.live.feed.queued(),
        pools,
        replicas,
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

/// `GET /health`: 200 when the database answers, 503 otherwise.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": db::backend_name(&state.db) })),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}

/// `GET /ready`: 200 when this instance should be sent requests: its migrations are applied,
/// the database answers and it is not stopping; 503 with the reason otherwise.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let unavailable = |reason: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason })),
        )
    };
    let readiness = &state.readiness;
    if readiness.draining.load(Ordering::SeqCst) {
        return unavailable("stopping");
    }
    if let Err(err) = state.db.ping().await {
        tracing::warn!(error = %err, "readiness: database unreachable");
        return unavailable("database unreachable");
    }
    if let Some(replicas) = &state.replicas
        && !replicas.any_answered()
    {
        // Once one has answered, a replica going away only sends queries to the primary.
        return unavailable("no read replica has answered yet");
    }
    if !readiness.migrated.load(Ordering::SeqCst) {
        match db::migrations_current(&state.db).await {
            Ok(true) => readiness.migrated.store(true, Ordering::SeqCst),
            Ok(false) => return unavailable("migrations pending"),
            Err(err) => {
                tracing::warn!(error = %err, "readiness: cannot read the migrations");
                return unavailable("database unreachable");
            }
        }
    }
    (StatusCode::OK, Json(json!({ "status": "ready" })))
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let state = build(&config).await?;
    if config.server.environment == crate::config::Environment::Development {
        crate::bootstrap::development_admin(&state.db).await?;
    } else if crate::bootstrap::development_admin_usable(&state.db).await? {
        return Err(format!(
            "production mode refuses to serve while {} signs in with the development \
             password: change it (changePassword) or disable the account",
            crate::bootstrap::DEV_ADMIN_EMAIL
        )
        .into());
    }
    let sweeper = periodic_sweep(&state, &config);
    let pruner = periodic_prune(&state, &config);
    let _webhooks = webhook_worker(&state, &config)?;
    let _refresher = state.cipher.clone().and_then(|cipher| {
        crate::oauth_email_accounts::refresh::Refresher::spawn(
            state.db.clone(),
            cipher,
            state.mailboxes.clone(),
        )
    });
    let app = router(state.clone(), &config);
    let addr = SocketAddr::new(config.server.host, config.server.port);
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // No Nagle delay: a socket's small messages (an event, then the next) go out at once
    // rather than waiting for the client's delayed ACK (40 ms).
    let listener =
        axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY");
            }
        });
    tracing::info!(
        address = %local,
        graphiql = config.server.graphiql_enabled(),
        "CRM GraphQL API listening on http://{local}/graphql"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let live = state.live.clone();
        let readiness = state.readiness.clone();
        let drain = std::time::Duration::from_secs(config.server.shutdown_drain_secs);
        async move {
            shutdown_signal().await;
            // Not ready any more, still serving: the load balancer moves new requests away.
            readiness.drain();
            if !drain.is_zero() {
                tracing::info!(
                    seconds = drain.as_secs(),
                    "draining before closing the listener"
                );
                tokio::time::sleep(drain).await;
            }
            live.shut_down();
        }
    })
    .await?;
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    pruner.abort();
    state.reader.close().await;
    if let Some(replicas) = &state.replicas {
        replicas.close().await;
    }
    crate::db::close(&state.db).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Removes abandoned uploads every `CRM_DOCUMENTS_SWEEP_SECS` (the first time after one
/// period, not at start-up).
pub fn periodic_sweep(state: &AppState, config: &Config) -> Option<tokio::task::JoinHandle<()>> {
    let every = config.storage.documents_sweep_secs;
    if every == 0 {
        return None;
    }
    let db = state.db.clone();
    let files = state.files.clone();
    let grace = std::time::Duration::from_secs(config.storage.documents_grace_secs);
    Some(tokio::spawn(async move {
        let period = std::time::Duration::from_secs(every);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match crate::documents::sweep::sweep(&db, &files.storage, grace, chrono::Utc::now())
                .await
            {
                Ok(removed) if !removed.is_empty() => {
                    tracing::info!(files = removed.len(), "abandoned uploads removed");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "sweeping abandoned uploads failed"),
            }
        }
    }))
}

/// Starts delivering webhooks, unless `CRM_WEBHOOK_WORKER=false` (stops when dropped).
pub fn webhook_worker(
    state: &AppState,
    config: &Config,
) -> Result<Option<crate::webhooks::Worker>, StartError> {
    if !config.webhooks.webhook_worker {
        return Ok(None);
    }
    let Some(cipher) = state.cipher.clone() else {
        return Err("webhooks need usable CRM_TOKEN_KEYS to read their secrets".into());
    };
    let worker = crate::webhooks::Worker::spawn(
        state.db.clone(),
        cipher,
        state.webhooks.as_ref().clone(),
        Some(state.live.feed.clone()),
        state.metrics.clone(),
    )?;
    Ok(Some(worker))
}

/// Removes change log entries older than `CRM_CHANGE_LOG_RETENTION_SECS` and delivered or
/// failed webhook deliveries older than `CRM_WEBHOOK_LOG_DAYS`, every ten minutes (the first
/// time one retention after start).
pub fn periodic_prune(state: &AppState, config: &Config) -> tokio::task::JoinHandle<()> {
    let db = state.db.clone();
    let log_retention = state.webhooks.log_retention;
    let retention = std::time::Duration::from_secs(config.storage.change_log_retention_secs);
    tokio::spawn(async move {
        let period = std::time::Duration::from_secs(600);
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut marks = crate::live::feed::Retention::default();
        loop {
            ticks.tick().await;
            let pruned = match marks.mark(&db, retention).await {
                Ok(Some(seq)) => crate::live::feed::prune_through(&db, seq).await,
                Ok(None) => Ok(0),
                Err(err) => Err(err),
            };
            match pruned {
                Ok(0) => {}
                Ok(removed) => tracing::info!(entries = removed, "change log pruned"),
                Err(err) => tracing::warn!(error = %err, "pruning the change log failed"),
            }
            match crate::webhooks::worker::prune_log(&db, log_retention).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(deliveries = removed, "webhook log pruned"),
                Err(err) => tracing::warn!(error = %err, "pruning the webhook log failed"),
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing requests in flight");
}
