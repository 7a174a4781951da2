//! The test harness: a [`TestApp`] per test (router + fresh database), on either backend.
//!
//! PostgreSQL: `CRM_TEST_DATABASE_URL` (default
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`) is the admin connection; each test
//! creates its own database from it and drops it when done. When PostgreSQL is unreachable the
//! PostgreSQL half is skipped with a loud notice on stderr, unless `CRM_TEST_REQUIRE_POSTGRES=1`
//! (CI), which turns that into a failure.

#![allow(dead_code)]

pub mod authorization_server;
pub mod fixtures;
pub mod postgres;
pub mod process;
pub mod services;
pub mod socket;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};
use serde_json::{Value, json};
use tower::ServiceExt;

use crm_server::cli::Cli;
use crm_server::{app, db, telemetry};
use entity::Role;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the test body once per backend: emits `<name>::sqlite` and `<name>::postgres`.
macro_rules! test_both {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn run($app: $crate::helpers::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                $crate::helpers::run_checked(app, run).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                    $crate::helpers::run_checked(app, run).await;
                }
            }
        }
    };
}

/// A running application on its own fresh database.
pub struct TestApp {
    pub backend: Backend,
    pub db: DatabaseConnection,
    pub router: Router,
    pub auth: Arc<crm_server::auth::AuthService>,
    /// The admin every request is sent as, unless a test says otherwise.
    pub admin_id: uuid::Uuid,
    /// The admin's access token.
    pub token: String,
    metrics: Arc<app::Metrics>,
    counted: AtomicU64,
    url: String,
    guard: Option<DatabaseGuard>,
}

/// Runs a test on `app`, then checks that the database's stored totals still match the rows
/// they sum (`crm-server check-totals`): every write a test makes keeps them exact.
pub async fn run_checked<F, Fut>(mut app: TestApp, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let guard = app.guard.take();
    let db = app.db.clone();
    test(app).await;
    let drifts = crm_server::totals::check(&db, false).await.unwrap();
    assert!(drifts.is_empty(), "stored totals drifted: {drifts:?}");
    drop(guard);
}

enum DatabaseGuard {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let DatabaseGuard::Postgres { admin_url, name } = self {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Drop runs inside the test's runtime: use a thread with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub const DEFAULT_PG_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

static PG_UNREACHABLE: AtomicBool = AtomicBool::new(false);
static PG_NOTICE: std::sync::Once = std::sync::Once::new();

pub fn pg_admin_url() -> String {
    std::env::var("CRM_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

fn postgres_required() -> bool {
    std::env::var("CRM_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Written straight to stderr so that libtest's output capture cannot hide it.
fn skip_postgres(reason: &str) {
    PG_UNREACHABLE.store(true, Ordering::SeqCst);
    PG_NOTICE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n\
             ################################################################################\n\
             ## PostgreSQL SKIPPED: {reason}\n\
             ## Only the SQLite half of the suite ran. Start PostgreSQL (see README) or set\n\
             ## CRM_TEST_DATABASE_URL; CRM_TEST_REQUIRE_POSTGRES=1 makes this a failure.\n\
             ################################################################################\n"
        );
    });
}

impl TestApp {
    /// A fresh, migrated database and a router over it. `None` when PostgreSQL is
    /// unreachable (and not required).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        telemetry::init_for_tests();
        let (guard, url) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("crm.db").display());
                (DatabaseGuard::Sqlite(dir), url)
            }
            Backend::Postgres => {
                if PG_UNREACHABLE.load(Ordering::SeqCst) && !postgres_required() {
                    return None;
                }
                let admin_url = pg_admin_url();
                let admin = match tokio::time::timeout(
                    Duration::from_secs(5),
                    Database::connect(&admin_url),
                )
                .await
                {
                    Ok(Ok(admin)) => admin,
                    Ok(Err(err)) => return unreachable_pg(&admin_url, &err.to_string()),
                    Err(_) => return unreachable_pg(&admin_url, "connection timed out"),
                };
                let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&name);
                (DatabaseGuard::Postgres { admin_url, name }, url.to_string())
            }
        };
        let db = db::open(&url, 4, db::Durability::Full, true).await.unwrap();
        let config = test_config();
        let state = app::state(db.clone(), &config).unwrap();
        let metrics = state.metrics.clone();
        let auth = state.auth.clone();
        let router = app::router(state, &config);
        let admin = insert_user(&db, "test-admin", Role::Admin, None).await;
        let token = session_token(&auth, admin.clone()).await;
        // Check the admin's session once, as any first request would.
        auth.authenticate(Some(&format!("Bearer {token}"))).await;
        Some(TestApp {
            backend,
            db,
            router,
            auth,
            admin_id: admin.id,
            token,
            metrics,
            counted: AtomicU64::new(0),
            url,
            guard: Some(guard),
        })
    }

    /// A new user with `role` (and `password`, when the test signs in with it), and an access
    /// token of a fresh session of theirs.
    pub async fn user(
        &self,
        handle: &str,
        role: Role,
        password: Option<&str>,
    ) -> (uuid::Uuid, String) {
        let user = insert_user(&self.db, handle, role, password).await;
        let token = session_token(&self.auth, user.clone()).await;
        (user.id, token)
    }

    /// The URL of the database under test.
    pub fn database_url(&self) -> String {
        self.url.clone()
    }

    /// Serves the router on a local port (for WebSocket clients); returns its address.
    pub async fn listen(&self) -> std::net::SocketAddr {
        socket::listen(self.router.clone()).await
    }

    /// The backend of the database under test.
    pub fn db_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Runs a GraphQL operation through the router, as the test admin; returns the JSON answer.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(Some(&self.token), query, variables).await
    }

    /// Runs a GraphQL operation with this bearer token (none: anonymous).
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        gql_on(&self.router, token, query, variables).await
    }

    /// Another router over the same database, with `config`.
    pub fn router_with(&self, config: &crm_server::config::Config) -> Router {
        app::router(app::state(self.db.clone(), config).unwrap(), config)
    }

    /// Sends any request through the router.
    pub async fn request(&self, request: Request<Body>) -> (StatusCode, String) {
        send(&self.router, request).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        self.request(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// SQL statements the server ran since the last call (from its `/metrics` counter).
    pub fn take_statement_count(&self) -> u64 {
        let now = self.metrics.sql_statements.get();
        now - self.counted.swap(now, Ordering::SeqCst)
    }
}

/// `answer` without its errors' `extensions.requestId` (different for every request), to
/// compare the answers of two requests.
pub fn without_request_ids(mut answer: Value) -> Value {
    let errors = match answer.get_mut("errors") {
        Some(errors) => errors,
        None => &mut answer,
    };
    for error in errors.as_array_mut().into_iter().flatten() {
        if let Some(extensions) = error.get_mut("extensions").and_then(Value::as_object_mut) {
            assert!(
                extensions.remove("requestId").is_some(),
                "no request id in {extensions:?}"
            );
        }
    }
    answer
}

/// Runs a GraphQL operation through `router` with this bearer token (none: anonymous);
/// returns the JSON answer (which must come with `200`).
pub async fn gql_on(router: &Router, token: Option<&str>, query: &str, variables: Value) -> Value {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, body) = send(router, request.body(Body::from(body)).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "GraphQL answered {status}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The change feed's listening connections on `db`'s PostgreSQL database.
pub async fn listeners(db: &DatabaseConnection) -> usize {
    db.query_all_raw(sea_orm::Statement::from_string(
        DbBackend::Postgres,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'crm-change-listener'",
    ))
    .await
    .unwrap()
    .len()
}

/// Waits (5 s at most) until `db`'s database has `count` listening connections; returns how
/// many it has.
pub async fn wait_for_listeners(db: &DatabaseConnection, count: usize) -> usize {
    for _ in 0..100 {
        if listeners(db).await == count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    listeners(db).await
}

/// Sends a request through `router`: the status and the body.
pub async fn send(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, bytes) = send_raw(router, request).await;
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Sends any request through `router`; returns the status, headers and body bytes.
pub async fn send_raw(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, bytes::Bytes) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}

fn unreachable_pg(url: &str, error: &str) -> Option<TestApp> {
    let redacted = db::redact(url);
    if postgres_required() {
        panic!("CRM_TEST_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable at {redacted}: {error}");
    }
    skip_postgres(&format!("unreachable at {redacted} ({error})"));
    None
}

/// Inserts a user (see [`fixtures::user`]); the password is hashed only when the test will
/// sign in with it.
pub async fn insert_user(
    db: &DatabaseConnection,
    handle: &str,
    role: Role,
    password: Option<&str>,
) -> entity::users::Model {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let user = fixtures::user(db, handle, role).await;
    let Some(password) = password else {
        return user;
    };
    let hash = crm_server::auth::password::hash(password.to_owned())
        .await
        .unwrap();
    let mut active: entity::users::ActiveModel = user.into();
    active.password_hash = Set(hash);
    active.update(db).await.unwrap()
}

/// An access token of a new session of `user`.
pub async fn session_token(
    auth: &crm_server::auth::AuthService,
    user: entity::users::Model,
) -> String {
    crm_server::auth::service::open_session(auth, user, &Default::default())
        .await
        .unwrap()
        .access_token
}

/// The server configuration tests use: defaults, whatever the environment says.
pub fn test_config() -> crm_server::config::Config {
    let mut config = Cli::parse_from(["crm-server"]).config;
    // Checked credentials stay cached for the whole test (changes through the API clear the
    // cache), so statement counts do not depend on how long a test runs.
    config.auth.auth_cache_secs = 3600;
    // Counts computed every time: tests write rows behind the server's back (fixtures) and
    // count them at once; the cache has a test of its own.
    config.server.count_cache_secs = 0;
    // Document files in a directory of this test run, not beside the default SQLite file.
    static DOCUMENTS: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let documents =
        DOCUMENTS.get_or_init(|| tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap());
    config.storage.documents_dir = Some(documents.path().to_owned());
    config
}

/// The error codes of a GraphQL answer, in order.
pub fn error_codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// The `system` entries of a client's history, oldest first.
    pub async fn system_notes(&self, client_id: impl serde::Serialize) -> Vec<String> {
        let data = self
            .data(
                "query($id: UUID!) { client(id: $id) { notes(first: 100, orderBy: [{ field: ID }], \
                   filter: { noteType: { eq: \"system\" } }) { nodes { content } } } }",
                json!({ "id": client_id }),
            )
            .await;
        data["client"]["notes"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["content"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Runs an operation that must succeed; returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.gql(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response}"
        );
        response["data"].clone()
    }
}

/// The values of `field` in each node of a connection.
pub fn pluck(connection: &Value, field: &str) -> Vec<Value> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|node| node[field].clone())
        .collect()
}

/// The string values of `field` in each node of a connection.
pub fn pluck_str(connection: &Value, field: &str) -> Vec<String> {
    pluck(connection, field)
        .into_iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string())
        })
        .collect()
}
