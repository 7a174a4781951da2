//! Configuration: every setting is a flag and an environment variable, with a documented
//! default. With no database settings at all the server uses an embedded SQLite file.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Development or production behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    /// Friendly defaults: GraphiQL on, pretty logs.
    Development,
    /// Strict: JSON logs; refuses development secrets.
    Production,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Where the data lives.
#[derive(Args, Clone)]
pub struct DatabaseConfig {
    /// Database URL (`postgres://…` or `sqlite://…`). Wins over every other database setting.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL user (default `crm_admin`). Any POSTGRES_* setting selects PostgreSQL
    /// when DATABASE_URL is not set.
    #[arg(long, env = "POSTGRES_USER")]
    pub postgres_user: Option<String>,
    /// PostgreSQL password (development default `crm_secure_password_2024`).
    #[arg(long, env = "POSTGRES_PASSWORD", hide_env_values = true)]
    pub postgres_password: Option<String>,
    /// PostgreSQL database name (default `crm_database`).
    #[arg(long, env = "POSTGRES_DB")]
    pub postgres_db: Option<String>,
    /// PostgreSQL host (default `localhost`).
    #[arg(long, env = "POSTGRES_HOST")]
    pub postgres_host: Option<String>,
    /// PostgreSQL port (default 5432).
    #[arg(long, env = "POSTGRES_PORT")]
    pub postgres_port: Option<u16>,

    /// The embedded SQLite file, used when no PostgreSQL setting is given.
    #[arg(long, env = "CRM_SQLITE_PATH", default_value = "crm.db")]
    pub sqlite_path: PathBuf,

    /// Connections in the pool (default 16 on PostgreSQL, 4 on SQLite, where each connection
    /// is a thread and more of them only contend for the file); the GraphQL read path opens
    /// as many again.
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// SQLite: `full` (an acknowledged write is on disk, it survives a power loss) or
    /// `normal` (faster commits; the last ones can be lost on a power loss or an OS crash,
    /// never on a crash of the server alone).
    #[arg(
        long,
        env = "CRM_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value = "full"
    )]
    pub sqlite_synchronous: crate::db::Durability,

    /// PostgreSQL read replicas, comma-separated URLs: queries read from them, everything
    /// else from the primary (`DATABASE_URL`). See `docs/scale-out.md`, "Read replicas".
    #[arg(
        long,
        env = "DATABASE_REPLICA_URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub database_replica_url: Vec<String>,
    /// A replica further behind the primary than this many seconds is not read from.
    #[arg(long, env = "CRM_REPLICA_MAX_LAG_SECS", default_value_t = 10)]
    pub replica_max_lag_secs: u64,
    /// How often each replica's replayed position is checked, in milliseconds.
    #[arg(long, env = "CRM_REPLICA_CHECK_MS", default_value_t = 500)]
    pub replica_check_ms: u64,
}

/// The seed's development password: fine on a laptop, refused in production.
pub const DEV_POSTGRES_PASSWORD: &str = "crm_secure_password_2024";

impl DatabaseConfig {
    /// The pool size for `url`.
    pub fn max_connections(&self, url: &str) -> u32 {
        self.db_max_connections
            .unwrap_or(if url.starts_with("sqlite:") { 4 } else { 16 })
    }

    /// The replicas' URLs (empty entries left out).
    pub fn replica_urls(&self) -> Vec<String> {
        self.database_replica_url
            .iter()
            .map(|url| url.trim())
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Replicas are PostgreSQL servers behind a PostgreSQL primary.
    fn check_replicas(&self) -> Result<(), String> {
        let replicas = self.replica_urls();
        if replicas.is_empty() {
            return Ok(());
        }
        let postgres =
            |url: &str| url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !postgres(&self.url()) {
            return Err(
                "DATABASE_REPLICA_URL needs a PostgreSQL primary (DATABASE_URL)".to_owned(),
            );
        }
        if let Some(url) = replicas.iter().find(|url| !postgres(url)) {
            return Err(format!(
                "DATABASE_REPLICA_URL: {} is not a postgres:// URL",
                crate::db::redact(url)
            ));
        }
        if self.replica_check_ms == 0 || self.replica_max_lag_secs == 0 {
            return Err(
                "CRM_REPLICA_CHECK_MS and CRM_REPLICA_MAX_LAG_SECS are positive".to_owned(),
            );
        }
        Ok(())
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        if let Some(url) = &self.database_url {
            return url.clone();
        }
        let any_pg = self.postgres_user.is_some()
            || self.postgres_password.is_some()
            || self.postgres_db.is_some()
            || self.postgres_host.is_some()
            || self.postgres_port.is_some();
        if any_pg {
            let user = self.postgres_user.as_deref().unwrap_or("crm_admin");
            let password = self
                .postgres_password
                .as_deref()
                .unwrap_or(DEV_POSTGRES_PASSWORD);
            let host = self.postgres_host.as_deref().unwrap_or("localhost");
            let port = self.postgres_port.unwrap_or(5432);
            let db = self.postgres_db.as_deref().unwrap_or("crm_database");
            let mut url =
                url::Url::parse("postgres://localhost").unwrap_or_else(|_| unreachable!());
            let _ = url.set_username(user);
            let _ = url.set_password(Some(password));
            let _ = url.set_host(Some(host));
            let _ = url.set_port(Some(port));
            url.set_path(db);
            return url.to_string();
        }
        format!("sqlite://{}?mode=rwc", self.sqlite_path.display())
    }
}

/// How the HTTP server behaves.
#[derive(Args, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8000)]
    pub port: u16,
    /// Development or production behaviour.
    #[arg(
        long = "env",
        env = "CRM_ENV",
        value_enum,
        default_value = "development"
    )]
    pub environment: Environment,
    /// Do not run pending migrations at start.
    #[arg(long, env = "CRM_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
    /// Serve GraphiQL on `GET /graphql` (default: on in development, off in production).
    #[arg(long, env = "CRM_GRAPHIQL")]
    pub graphiql: Option<bool>,
    /// Answer introspection queries (default: on in development, off in production).
    #[arg(long, env = "CRM_INTROSPECTION")]
    pub introspection: Option<bool>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CRM_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest CSV file `POST /import/…` reads, in bytes (read as it arrives, never held).
    #[arg(long, env = "CRM_IMPORT_MAX_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub import_max_bytes: u64,
    /// Seconds between a stop signal and closing the listener, while `/ready` answers 503 and
    /// requests are still served (a load balancer's time to notice).
    #[arg(long, env = "CRM_SHUTDOWN_DRAIN_SECS", default_value_t = 0)]
    pub shutdown_drain_secs: u64,
    /// Longest time a request may take, in seconds.
    #[arg(long, env = "CRM_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Fields nested in one path of a query, at most 64 (introspection may nest 16).
    #[arg(long, env = "CRM_MAX_QUERY_DEPTH", default_value_t = 12)]
    pub max_query_depth: usize,
    /// Selections in one document with its fragments expanded: each field (aliases,
    /// `__typename` and introspection fields included), fragment spread and inline fragment
    /// counts one.
    #[arg(long, env = "CRM_MAX_QUERY_COMPLEXITY", default_value_t = 2_000)]
    pub max_query_complexity: usize,
    /// Aliased fields in one document, fragments expanded.
    #[arg(long, env = "CRM_MAX_ALIASES", default_value_t = 200)]
    pub max_aliases: usize,
    /// Directives on one field, fragment, operation or variable.
    #[arg(long, env = "CRM_MAX_DIRECTIVES", default_value_t = 8)]
    pub max_directives: usize,
    /// Variables one operation may declare.
    #[arg(long, env = "CRM_MAX_VARIABLES", default_value_t = 50)]
    pub max_variables: usize,
    /// Operations in one document.
    #[arg(long, env = "CRM_MAX_OPERATIONS", default_value_t = 20)]
    pub max_operations: usize,
    /// Objects and lists nested in one input value (a literal or a variable), at most 64.
    #[arg(long, env = "CRM_MAX_INPUT_DEPTH", default_value_t = 16)]
    pub max_input_depth: usize,
    /// Values in a request's variables: scalars, list items and objects, all counted.
    #[arg(long, env = "CRM_MAX_INPUT_VALUES", default_value_t = 2_000)]
    pub max_input_values: usize,
    /// Tokens (names, values, punctuation) in a query text.
    #[arg(long, env = "CRM_MAX_QUERY_TOKENS", default_value_t = 10_000)]
    pub max_query_tokens: usize,
    /// Errors in one response; those beyond are counted in a last `TOO_MANY_ERRORS` error.
    #[arg(long, env = "CRM_MAX_ERRORS", default_value_t = 50)]
    pub max_errors: usize,
    /// Manifests of trusted documents (persisted operations), comma-separated paths:
    /// graphql-codegen's persisted-documents JSON or Apollo's persisted query manifest.
    #[arg(long, env = "CRM_TRUSTED_DOCUMENTS", value_delimiter = ',')]
    pub trusted_documents: Vec<PathBuf>,
    /// `allow` (documents by id or text), `only` (the manifest's documents only) or `off`.
    /// Default: `only` in production when a manifest is given, `allow` otherwise.
    #[arg(long, env = "CRM_TRUSTED_DOCUMENTS_MODE", value_enum)]
    pub trusted_documents_mode: Option<crate::graphql::trusted::Mode>,
    /// Roles that may still send any document in `only` mode (comma-separated: admin,
    /// manager, commercial), e.g. admins exploring in GraphiQL.
    #[arg(long, env = "CRM_TRUSTED_DOCUMENTS_FREE_ROLES", value_delimiter = ',', value_parser = parse_role)]
    pub trusted_documents_free_roles: Vec<entity::Role>,
    /// How long a shared cache (CDN) may keep the answer to a trusted document sent over GET
    /// without credentials, in seconds (answers with credentials are `private`).
    #[arg(long, env = "CRM_PUBLIC_MAX_AGE_SECS", default_value_t = 60)]
    pub public_max_age_secs: u64,
    /// Largest body of a request without valid credentials, in bytes (signing in and the
    /// introspection query fit in 4 KiB).
    #[arg(long, env = "CRM_MAX_ANONYMOUS_BODY_BYTES", default_value_t = 16 * 1024)]
    pub max_anonymous_body_bytes: usize,
    /// `fast` (default): lists resolved, decoded and written by the engine's own code;
    /// `plain`: by async-graphql, SeaORM and serde_json alone, with full validation of every
    /// request. Both answer the same; `plain` is slower, for ruling the fast path out.
    #[arg(long, env = "CRM_READ_PATH", value_enum, default_value_t = crate::engine::loader::ReadPath::Fast)]
    pub read_path: crate::engine::loader::ReadPath,
    /// Memory for parsed documents kept between requests, in bytes (0: none kept).
    #[arg(long, env = "CRM_DOCUMENT_CACHE_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub document_cache_bytes: usize,
    /// Rows in a page when the query gives neither `first` nor `last`.
    #[arg(long, env = "CRM_DEFAULT_PAGE_SIZE", default_value_t = 20)]
    pub default_page_size: usize,
    /// Largest `first` / `last` accepted.
    #[arg(long, env = "CRM_MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: usize,
    /// Rows one request may read from lists and relation pages (nested lists multiply).
    #[arg(long, env = "CRM_MAX_ROWS", default_value_t = 10_000)]
    pub max_rows: usize,
    /// Time zone of dashboards' date groupings (an IANA name such as `Europe/Paris`), unless a
    /// grouping names its own (`timeZone`).
    #[arg(long, env = "CRM_TIME_ZONE", default_value = "UTC", value_parser = parse_time_zone)]
    pub time_zone: crate::engine::periods::Zone,
    /// Record every field an update changes on clients, contracts and payments (the audit
    /// trail, `…changes`); off only to measure what it costs.
    #[arg(long, env = "CRM_AUDIT", default_value_t = true, action = clap::ArgAction::Set)]
    pub audit: bool,
    /// Origins allowed to call the API from a browser (CORS), comma-separated, e.g.
    /// `https://crm.example.com`. Empty: same-origin only.
    #[arg(long, env = "CRM_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Keys that encrypt mailbox tokens at rest: `id:base64-of-32-bytes`, comma-separated, the
    /// first one encrypts (rotate by putting a new key first). Default: a development key that
    /// production mode refuses. Generate one with `openssl rand -base64 32`.
    #[arg(long, env = "CRM_TOKEN_KEYS", hide_env_values = true, default_value = crate::secrets::DEV_TOKEN_KEYS, hide_default_value = true, value_parser = token_keys_or_default)]
    pub token_keys: String,
    /// GraphQL operations executed at once (default: 2 per CPU core, at least 4); further
    /// requests wait their turn. Bounds the memory a burst of large queries takes.
    #[arg(long, env = "CRM_MAX_CONCURRENT_OPERATIONS")]
    pub max_concurrent_operations: Option<usize>,
    /// Operations that may wait for their turn; past them a request is answered `503` at once
    /// (each waiting request holds its body and document in memory).
    #[arg(long, env = "CRM_MAX_QUEUED_OPERATIONS", default_value_t = 128)]
    pub max_queued_operations: usize,
    /// Reverse proxies in front of the server (addresses or networks, comma-separated, e.g.
    /// `10.0.0.0/8,::1`): a request from one of them is counted, for the sign-in rate limit,
    /// against the client address it forwarded in `X-Forwarded-For`. Empty: the connection's
    /// address is the client's.
    #[arg(long, env = "CRM_TRUSTED_PROXIES", default_value = "", value_parser = parse_proxies)]
    pub trusted_proxies: crate::proxy::TrustedProxies,
    /// How long a root list's `totalCount` may be reused while nothing changes, in seconds
    /// (0: counted every time). Any change through any instance forgets every count.
    #[arg(long, env = "CRM_COUNT_CACHE_SECS", default_value_t = 5)]
    pub count_cache_secs: u64,
    /// Log format (default: pretty in development, JSON in production). Filter with RUST_LOG.
    #[arg(long, env = "CRM_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// OpenTelemetry collector (OTLP over HTTP, protobuf) that receives the traces, e.g.
    /// `http://127.0.0.1:4318`: spans go to its `/v1/traces`. Unset: no tracing. The other
    /// standard `OTEL_*` variables apply (service name, headers, sampler, batch).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The traces' own OTLP URL, used as given (wins over `OTEL_EXPORTER_OTLP_ENDPOINT`).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    pub otlp_traces_endpoint: Option<String>,
}

fn parse_role(value: &str) -> Result<entity::Role, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "admin" => Ok(entity::Role::Admin),
        "manager" => Ok(entity::Role::Manager),
        "commercial" => Ok(entity::Role::Commercial),
        other => Err(format!(
            "`{other}` is not a role (admin, manager, commercial)"
        )),
    }
}

impl ServerConfig {
    /// The trusted documents, loaded (see [`crate::graphql::trusted`]).
    pub fn trusted_documents(&self) -> Result<crate::graphql::trusted::TrustedDocuments, String> {
        use crate::graphql::trusted::{Mode, TrustedDocuments};
        let mode = self.trusted_documents_mode.unwrap_or(
            if self.environment == Environment::Production && !self.trusted_documents.is_empty() {
                Mode::Only
            } else {
                Mode::Allow
            },
        );
        if self.trusted_documents.is_empty() && mode != Mode::Only {
            return Ok(TrustedDocuments::none());
        }
        TrustedDocuments::load(
            &self.trusted_documents,
            mode,
            self.trusted_documents_free_roles.clone(),
        )
    }

    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql
            .unwrap_or(self.environment == Environment::Development)
    }

    pub fn introspection_enabled(&self) -> bool {
        self.introspection
            .unwrap_or(self.environment == Environment::Development)
    }

    pub fn max_concurrent_operations(&self) -> usize {
        self.max_concurrent_operations.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(2, usize::from);
            (cores * 2).max(4)
        })
    }

    /// What one request may ask.
    pub fn limits(&self) -> crate::graphql::limits::Limits {
        crate::graphql::limits::Limits {
            max_depth: self.max_query_depth,
            max_complexity: self.max_query_complexity,
            max_aliases: self.max_aliases,
            max_directives: self.max_directives,
            max_variables: self.max_variables,
            max_operations: self.max_operations,
            max_input_depth: self.max_input_depth,
            max_input_values: self.max_input_values,
            max_tokens: self.max_query_tokens,
            max_errors: self.max_errors,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Where the traces go, if anywhere: the traces' URL, else the collector's `/v1/traces`.
    pub fn traces_endpoint(&self) -> Result<Option<String>, String> {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let (variable, endpoint) = match (
            given(&self.otlp_traces_endpoint),
            given(&self.otlp_endpoint),
        ) {
            (Some(traces), _) => ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces),
            (None, Some(base)) => (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("{}/v1/traces", base.trim_end_matches('/')),
            ),
            (None, None) => return Ok(None),
        };
        match url::Url::parse(&endpoint) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                Ok(Some(endpoint))
            }
            _ => Err(format!(
                "{variable} must be an http:// or https:// URL, not `{endpoint}`"
            )),
        }
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(match self.environment {
            Environment::Development => LogFormat::Pretty,
            Environment::Production => LogFormat::Json,
        })
    }
}

fn parse_proxies(value: &str) -> Result<crate::proxy::TrustedProxies, String> {
    value.parse()
}

/// An empty value (`CRM_TOKEN_KEYS=` as Docker Compose passes an unset variable) means the
/// default.
fn token_keys_or_default(value: &str) -> Result<String, String> {
    Ok(non_empty_or(value, crate::secrets::DEV_TOKEN_KEYS))
}

fn jwt_secret_or_default(value: &str) -> Result<String, String> {
    Ok(non_empty_or(value, DEV_JWT_SECRET))
}

fn non_empty_or(value: &str, default: &str) -> String {
    if value.trim().is_empty() {
        default.to_owned()
    } else {
        value.to_owned()
    }
}

/// The development signing key for access tokens: fine on a laptop, refused in production.
pub const DEV_JWT_SECRET: &str = "development-only-jwt-secret-do-not-use-in-production";

/// Sign-in and tokens.
#[derive(Args, Clone)]
pub struct AuthConfig {
    /// Secret that signs access tokens (HS256), at least 32 characters. Default: a development
    /// secret that production mode refuses. Generate one with `openssl rand -base64 48`.
    #[arg(long, env = "CRM_JWT_SECRET", hide_env_values = true, default_value = DEV_JWT_SECRET, hide_default_value = true, value_parser = jwt_secret_or_default)]
    pub jwt_secret: String,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "CRM_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    /// Lifetime of a session (its refresh token), in days.
    #[arg(long, env = "CRM_SESSION_TTL_DAYS", default_value_t = 30)]
    pub session_ttl_days: u32,
    /// How long a checked credential (a user's role and active flag, a session, an API token)
    /// is reused before it is read again, in seconds. Changes made through this server take
    /// effect at once; changes made elsewhere within this delay. 0 reads them on every request.
    #[arg(long, env = "CRM_AUTH_CACHE_SECS", default_value_t = 10)]
    pub auth_cache_secs: u64,
    /// Sign-in attempts allowed each minute per account from one client address (ten times as
    /// many per address, and per account from addresses that never signed in to it); further
    /// attempts are refused with RATE_LIMITED until the budget refills.
    #[arg(long, env = "CRM_SIGN_IN_PER_MINUTE", default_value_t = 5)]
    pub sign_in_per_minute: u32,
}

impl AuthConfig {
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    pub fn session_ttl(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.session_ttl_days))
    }

    pub fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.auth_cache_secs)
    }
}

const MIB: u64 = 1024 * 1024;

/// Where document files are kept.
#[derive(Args, Clone, Debug)]
pub struct StorageConfig {
    /// Directory of the document files when no bucket is set. Default: `documents` beside the
    /// SQLite file (`CRM_SQLITE_PATH`), created when missing.
    #[arg(long, env = "CRM_DOCUMENTS_DIR")]
    pub documents_dir: Option<PathBuf>,

    /// An S3-compatible bucket for the document files instead of the directory.
    #[arg(long, env = "CRM_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// The bucket's region.
    #[arg(long, env = "CRM_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// The bucket's access key id; without it, the AWS credential chain (`AWS_*` variables,
    /// instance profile …).
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,

    /// The secret of the access key id.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// The S3 server's URL for another service than AWS (MinIO, Ceph …), addressed by path.
    #[arg(long, env = "CRM_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Age after which a file without a document row is an abandoned upload that
    /// `documents sweep` removes, in seconds.
    #[arg(long, env = "CRM_DOCUMENTS_GRACE_SECS", default_value_t = 3600)]
    pub documents_grace_secs: u64,

    /// How long the change log keeps its entries, in seconds: a live-updates subscriber
    /// resumes within it.
    #[arg(long, env = "CRM_CHANGE_LOG_RETENTION_SECS", default_value_t = 86_400)]
    pub change_log_retention_secs: u64,

    /// How often `serve` sweeps abandoned uploads, in seconds (0: never; run
    /// `documents sweep` instead).
    #[arg(long, env = "CRM_DOCUMENTS_SWEEP_SECS", default_value_t = 3600)]
    pub documents_sweep_secs: u64,

    /// The largest uploaded file, in bytes.
    #[arg(long, env = "CRM_UPLOAD_MAX_FILE_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub upload_max_file_bytes: u64,

    /// Files in one request.
    #[arg(long, env = "CRM_UPLOAD_MAX_FILES", default_value_t = 4)]
    pub upload_max_files: usize,

    /// The largest multipart request body, in bytes. Default: room for the most files of the
    /// largest size, plus 1 MiB.
    #[arg(long, env = "CRM_UPLOAD_MAX_REQUEST_BYTES")]
    pub upload_max_request_bytes: Option<u64>,

    /// How long a request with files may take, in seconds (other requests:
    /// `CRM_REQUEST_TIMEOUT_SECS`).
    #[arg(long, env = "CRM_UPLOAD_TIMEOUT_SECS", default_value_t = 600)]
    pub upload_timeout_secs: u64,

    /// Files written to the store at once; more uploads wait their turn (their files are
    /// already received), which bounds the memory uploads take (about 15 MiB each to S3).
    #[arg(long, env = "CRM_UPLOAD_CONCURRENCY", default_value_t = 4)]
    pub upload_concurrency: usize,

    /// Room for the files of uploads being received at once (temporary files), in bytes;
    /// past it, a new upload is answered `503` (try again). At least the largest request.
    #[arg(long, env = "CRM_UPLOAD_SPOOL_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub upload_spool_bytes: u64,

    /// Downloads streaming at once (each holds an open file); past it, `503`.
    #[arg(long, env = "CRM_MAX_DOWNLOADS", default_value_t = 256)]
    pub max_downloads: usize,

    /// The accepted kinds of file, by extension (a kind's other extensions come with it):
    /// among pdf, png, jpg, webp, heic, gif, tiff, docx, xlsx, pptx, doc, xls, ppt, odt, ods.
    #[arg(
        long,
        env = "CRM_DOCUMENT_TYPES",
        default_value = "pdf,png,jpg,webp,heic,docx,xlsx,pptx,doc,xls,ppt,odt,ods"
    )]
    pub document_types: String,

    /// The server's address as browsers reach it (`https://crm.example.com`), which makes
    /// `Document.downloadUrl` links absolute; by default they are relative to the server.
    #[arg(long, env = "CRM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How long a `Document.downloadUrl` link works, in seconds.
    #[arg(long, env = "CRM_DOCUMENT_LINK_SECS", default_value_t = 300)]
    pub document_link_secs: u64,

    /// A ClamAV daemon (`host:port` of clamd's TCP socket) that scans every upload before its
    /// document is saved; none by default.
    #[arg(long, env = "CRM_CLAMD_ADDRESS")]
    pub clamd_address: Option<String>,
}

impl StorageConfig {
    /// The store these settings name.
    pub fn open(
        &self,
        database: &DatabaseConfig,
    ) -> Result<crate::documents::storage::Storage, crate::documents::storage::StorageError> {
        use crate::documents::storage::{S3Settings, Storage};
        match &self.s3_bucket {
            Some(bucket) => Storage::s3(&S3Settings {
                bucket: bucket.clone(),
                region: self.s3_region.clone(),
                endpoint: self.s3_endpoint.clone(),
                credentials: self
                    .s3_access_key_id
                    .clone()
                    .zip(self.s3_secret_access_key.clone()),
            }),
            None => Storage::local(&self.documents_dir(database)),
        }
    }

    /// The spool's room in MiB permits (see [`Self::spool_permits`]).
    pub fn spool_mib(&self) -> usize {
        usize::try_from(self.upload_spool_bytes / MIB)
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// The spool permits a multipart body of `length` bytes (unknown: the largest) takes.
    pub fn spool_permits(&self, length: Option<u64>) -> u32 {
        let max = self.upload_max_request_bytes();
        let bytes = length.unwrap_or(max).min(max);
        u32::try_from(bytes.div_ceil(MIB))
            .unwrap_or(u32::MAX)
            .max(1)
    }

    /// The largest multipart request body.
    pub fn upload_max_request_bytes(&self) -> u64 {
        self.upload_max_request_bytes.unwrap_or_else(|| {
            self.upload_max_file_bytes
                .saturating_mul(self.upload_max_files as u64)
                .saturating_add(1024 * 1024)
        })
    }

    /// The accepted kinds of file.
    pub fn document_kinds(&self) -> Result<Vec<crate::documents::content::Kind>, String> {
        crate::documents::content::kinds_for(&self.document_types)
    }

    /// The directory of the files when no bucket is set.
    pub fn documents_dir(&self, database: &DatabaseConfig) -> PathBuf {
        self.documents_dir.clone().unwrap_or_else(|| {
            database
                .sqlite_path
                .parent()
                .unwrap_or_else(|| std::path::Path::new(""))
                .join("documents")
        })
    }
}

/// Everything `serve` needs.
#[derive(Args, Clone)]
pub struct Config {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub storage: StorageConfig,
    #[command(flatten)]
    pub server: ServerConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub live: LiveConfig,
    #[command(flatten)]
    pub webhooks: WebhookConfig,
    #[command(flatten)]
    pub mailboxes: MailboxConfig,
}

/// Connecting mailboxes through the provider's consent screen (OAuth 2 authorisation code with
/// PKCE): each provider is offered once its client id is set.
#[derive(Args, Clone, Debug)]
pub struct MailboxConfig {
    /// Where providers send users back: this server's `/oauth/callback` as registered with
    /// them (default: `CRM_PUBLIC_URL` + `/oauth/callback`, else the listen address's).
    #[arg(long, env = "CRM_OAUTH_REDIRECT_URL")]
    pub oauth_redirect_url: Option<String>,
    /// Google: the OAuth client's id (Google Cloud console, "Web application").
    #[arg(long, env = "CRM_OAUTH_GOOGLE_CLIENT_ID")]
    pub oauth_google_client_id: Option<String>,
    /// Google: the OAuth client's secret.
    #[arg(long, env = "CRM_OAUTH_GOOGLE_CLIENT_SECRET", hide_env_values = true)]
    pub oauth_google_client_secret: Option<String>,
    /// Google: the authorisation endpoint.
    #[arg(
        long,
        env = "CRM_OAUTH_GOOGLE_AUTH_URL",
        default_value = "https://accounts.google.com/o/oauth2/v2/auth"
    )]
    pub oauth_google_auth_url: String,
    /// Google: the token endpoint.
    #[arg(
        long,
        env = "CRM_OAUTH_GOOGLE_TOKEN_URL",
        default_value = "https://oauth2.googleapis.com/token"
    )]
    pub oauth_google_token_url: String,
    /// Google: where the mailbox's address is read (OpenID Connect userinfo).
    #[arg(
        long,
        env = "CRM_OAUTH_GOOGLE_USERINFO_URL",
        default_value = "https://openidconnect.googleapis.com/v1/userinfo"
    )]
    pub oauth_google_userinfo_url: String,
    /// Google: the scopes asked for, space-separated.
    #[arg(
        long,
        env = "CRM_OAUTH_GOOGLE_SCOPES",
        default_value = "openid email https://www.googleapis.com/auth/gmail.modify"
    )]
    pub oauth_google_scopes: String,
    /// Microsoft: the application (client) id (Microsoft Entra admin center).
    #[arg(long, env = "CRM_OAUTH_MICROSOFT_CLIENT_ID")]
    pub oauth_microsoft_client_id: Option<String>,
    /// Microsoft: the client secret.
    #[arg(
        long,
        env = "CRM_OAUTH_MICROSOFT_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub oauth_microsoft_client_secret: Option<String>,
    /// Microsoft: the tenant (`common`, `organizations`, or a tenant id) in the default
    /// endpoints.
    #[arg(long, env = "CRM_OAUTH_MICROSOFT_TENANT", default_value = "common")]
    pub oauth_microsoft_tenant: String,
    /// Microsoft: the authorisation endpoint (default: the tenant's).
    #[arg(long, env = "CRM_OAUTH_MICROSOFT_AUTH_URL")]
    pub oauth_microsoft_auth_url: Option<String>,
    /// Microsoft: the token endpoint (default: the tenant's).
    #[arg(long, env = "CRM_OAUTH_MICROSOFT_TOKEN_URL")]
    pub oauth_microsoft_token_url: Option<String>,
    /// Microsoft: where the mailbox's address is read.
    #[arg(
        long,
        env = "CRM_OAUTH_MICROSOFT_USERINFO_URL",
        default_value = "https://graph.microsoft.com/oidc/userinfo"
    )]
    pub oauth_microsoft_userinfo_url: String,
    /// Microsoft: the scopes asked for, space-separated.
    #[arg(
        long,
        env = "CRM_OAUTH_MICROSOFT_SCOPES",
        default_value = "openid email offline_access https://graph.microsoft.com/Mail.ReadWrite https://graph.microsoft.com/Mail.Send"
    )]
    pub oauth_microsoft_scopes: String,
    /// Tokens are refreshed when they expire within this many seconds.
    #[arg(long, env = "CRM_OAUTH_REFRESH_MARGIN_SECS", default_value_t = 300)]
    pub oauth_refresh_margin_secs: u64,
    /// How often this instance looks for tokens to refresh, in seconds (0: never).
    #[arg(long, env = "CRM_OAUTH_REFRESH_EVERY_SECS", default_value_t = 60)]
    pub oauth_refresh_every_secs: u64,
}

/// Webhooks: where deliveries may go, how often they are tried.
#[derive(Args, Clone, Debug)]
pub struct WebhookConfig {
    /// Whether this instance delivers webhooks (every instance may: they share the work).
    #[arg(long, env = "CRM_WEBHOOK_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub webhook_worker: bool,
    /// Hosts, addresses and networks deliveries may reach even when internal (loopback,
    /// private ranges): `hooks.internal,*.corp.example,10.0.0.0/8,127.0.0.1`.
    #[arg(long, env = "CRM_WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub webhook_allowed_hosts: Vec<String>,
    /// Hosts, addresses and networks deliveries never reach, even public ones.
    #[arg(long, env = "CRM_WEBHOOK_DENIED_HOSTS", value_delimiter = ',')]
    pub webhook_denied_hosts: Vec<String>,
    /// Seconds an endpoint has to answer an attempt.
    #[arg(long, env = "CRM_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,
    /// Attempts per delivery before it is marked failed.
    #[arg(long, env = "CRM_WEBHOOK_MAX_ATTEMPTS", default_value_t = 12)]
    pub webhook_max_attempts: u32,
    /// The wait after the first failed attempt, in milliseconds; it doubles after each one
    /// (with up to 20 % added at random), up to `CRM_WEBHOOK_RETRY_MAX_SECS`.
    #[arg(long, env = "CRM_WEBHOOK_RETRY_BASE_MS", default_value_t = 30_000)]
    pub webhook_retry_base_ms: u64,
    /// The longest wait between two attempts, in seconds.
    #[arg(long, env = "CRM_WEBHOOK_RETRY_MAX_SECS", default_value_t = 6 * 3600)]
    pub webhook_retry_max_secs: u64,
    /// An endpoint whose attempts have failed this many times in a row (0: never disabled
    /// automatically) …
    #[arg(long, env = "CRM_WEBHOOK_DISABLE_AFTER_FAILURES", default_value_t = 20)]
    pub webhook_disable_after_failures: u32,
    /// … for at least this many seconds is disabled (0: on the count alone).
    #[arg(long, env = "CRM_WEBHOOK_DISABLE_AFTER_SECS", default_value_t = 3 * 86_400)]
    pub webhook_disable_after_secs: u64,
    /// Deliveries one instance sends at once.
    #[arg(long, env = "CRM_WEBHOOK_CONCURRENCY", default_value_t = 16)]
    pub webhook_concurrency: usize,
    /// How often the outbox and the due deliveries are read when no change of this instance
    /// wakes the worker, in milliseconds.
    #[arg(long, env = "CRM_WEBHOOK_POLL_MS", default_value_t = 1000)]
    pub webhook_poll_ms: u64,
    /// Days the delivery log keeps delivered and failed deliveries.
    #[arg(long, env = "CRM_WEBHOOK_LOG_DAYS", default_value_t = 30)]
    pub webhook_log_days: u64,
}

impl WebhookConfig {
    /// The rules on delivery addresses.
    pub fn address_rules(&self) -> Result<crate::webhooks::address::AddressRules, String> {
        crate::webhooks::address::AddressRules::parse(
            &self.webhook_allowed_hosts,
            &self.webhook_denied_hosts,
        )
    }

    fn check(&self) -> Result<(), String> {
        self.address_rules()?;
        if self.webhook_timeout_secs == 0
            || self.webhook_max_attempts == 0
            || self.webhook_concurrency == 0
            || self.webhook_poll_ms == 0
            || self.webhook_retry_base_ms == 0
        {
            return Err("CRM_WEBHOOK_TIMEOUT_SECS, CRM_WEBHOOK_MAX_ATTEMPTS, \
                 CRM_WEBHOOK_CONCURRENCY, CRM_WEBHOOK_POLL_MS and CRM_WEBHOOK_RETRY_BASE_MS \
                 are positive"
                .to_owned());
        }
        Ok(())
    }
}

/// Live updates: subscriptions over WebSocket and the change feed behind them.
#[derive(Args, Clone, Debug)]
pub struct LiveConfig {
    /// How often the change log is read when nothing wakes the feed, in milliseconds (catches
    /// writes made outside the API and notifications lost while reconnecting).
    #[arg(long, env = "CRM_CHANGE_POLL_MS", default_value_t = 1000)]
    pub change_poll_ms: u64,
    /// Changes a subscriber may fall behind by; past it, its socket closes (1013, resume with
    /// `after:`).
    #[arg(long, env = "CRM_SUBSCRIPTION_LAG", default_value_t = 4096)]
    pub subscription_lag: usize,
    /// WebSocket connections open at once; past it, `503`.
    #[arg(long, env = "CRM_WS_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Subscriptions running at once on this server.
    #[arg(long, env = "CRM_MAX_SUBSCRIPTIONS", default_value_t = 20_000)]
    pub max_subscriptions: usize,
    /// Subscriptions one connection may run at once.
    #[arg(long, env = "CRM_WS_MAX_SUBSCRIPTIONS", default_value_t = 50)]
    pub max_subscriptions_per_connection: usize,
    /// Seconds between the server's pings on an idle connection.
    #[arg(long, env = "CRM_WS_PING_SECS", default_value_t = 20)]
    pub ping_secs: u64,
    /// Seconds without a message from the client (pongs count) before its socket closes;
    /// also how long a message may take to be written to a slow client.
    #[arg(long, env = "CRM_WS_IDLE_SECS", default_value_t = 60)]
    pub idle_secs: u64,
    /// Seconds a new connection has to send `connection_init` (4408 otherwise).
    #[arg(long, env = "CRM_WS_INIT_SECS", default_value_t = 10)]
    pub init_secs: u64,
}

impl Config {
    /// Refuses settings that must not reach production.
    pub fn validate(&self) -> Result<(), String> {
        if self.server.max_query_depth > 64 || self.server.max_input_depth > 64 {
            return Err("CRM_MAX_QUERY_DEPTH and CRM_MAX_INPUT_DEPTH are at most 64".to_owned());
        }
        let cipher = crate::secrets::TokenCipher::from_config(&self.server.token_keys)
            .map_err(|e| e.to_string())?;
        if self.auth.jwt_secret.len() < 32 {
            return Err("CRM_JWT_SECRET must be at least 32 characters".to_owned());
        }
        if self.auth.access_token_ttl_secs == 0 || self.auth.session_ttl_days == 0 {
            return Err("token lifetimes must be positive".to_owned());
        }
        self.storage.document_kinds()?;
        self.server.trusted_documents()?;
        self.server.traces_endpoint()?;
        if self.storage.upload_max_files == 0
            || self.storage.upload_max_file_bytes == 0
            || self.storage.upload_concurrency == 0
        {
            return Err("CRM_UPLOAD_MAX_FILES, CRM_UPLOAD_MAX_FILE_BYTES and \
                 CRM_UPLOAD_CONCURRENCY must be positive"
                .to_owned());
        }
        // A file is written before its row: the sweep must not take a file whose upload is
        // still running (the upload's time, then the scanner's).
        if self.storage.documents_grace_secs < self.storage.upload_timeout_secs + 120 {
            return Err(
                "CRM_DOCUMENTS_GRACE_SECS must exceed CRM_UPLOAD_TIMEOUT_SECS by 120 s at least"
                    .to_owned(),
            );
        }
        if self.storage.upload_spool_bytes < self.storage.upload_max_request_bytes() {
            return Err("CRM_UPLOAD_SPOOL_BYTES must hold at least one request of \
                 CRM_UPLOAD_MAX_REQUEST_BYTES"
                .to_owned());
        }
        if self.live.ping_secs == 0
            || self.live.idle_secs <= self.live.ping_secs
            || self.live.init_secs == 0
            || self.live.change_poll_ms == 0
            || self.live.subscription_lag == 0
        {
            return Err(
                "CRM_WS_IDLE_SECS must exceed CRM_WS_PING_SECS; CRM_WS_PING_SECS, \
                 CRM_WS_INIT_SECS, CRM_CHANGE_POLL_MS and CRM_SUBSCRIPTION_LAG are positive"
                    .to_owned(),
            );
        }
        self.database.check_replicas()?;
        self.webhooks.check()?;
        crate::oauth_email_accounts::providers::Providers::from_config(self)?;
        if self.storage.document_link_secs == 0 || self.storage.document_link_secs > 7 * 86_400 {
            return Err("CRM_DOCUMENT_LINK_SECS is between 1 second and 7 days".to_owned());
        }
        if self.server.environment == Environment::Production {
            if let Some(what) = development_secret(self.auth.jwt_secret.as_bytes()) {
                return Err(format!(
                    "production mode refuses {what} as the signing key: set CRM_JWT_SECRET"
                ));
            }
            if cipher.uses_dev_key()
                || DEVELOPMENT_SECRETS
                    .iter()
                    .any(|(value, _)| cipher.uses_key_material(value.as_bytes()))
            {
                return Err(
                    "production mode refuses the development token key (under any id): \
                     set CRM_TOKEN_KEYS"
                        .to_owned(),
                );
            }
            let urls = std::iter::once(self.database.url()).chain(self.database.replica_urls());
            for password in urls.flat_map(|url| database_passwords(&url)) {
                if let Some(what) = development_secret(&password) {
                    return Err(format!(
                        "production mode refuses {what} as the database password: \
                         set DATABASE_URL or POSTGRES_PASSWORD"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Every secret that ships with a development value, and what it is. Production refuses each
/// of these values wherever a secret goes (signing key, token keys, database password).
const DEVELOPMENT_SECRETS: [(&str, &str); 4] = [
    (DEV_JWT_SECRET, "the development signing key"),
    (DEV_POSTGRES_PASSWORD, "the development database password"),
    (
        crate::bootstrap::DEV_ADMIN_PASSWORD,
        "the development admin password",
    ),
    (
        crate::secrets::DEV_TOKEN_KEY_BASE64,
        "the development token key",
    ),
];

/// What development default `value` is (surrounding blanks ignored), if it is one; the
/// development token key counts in its base64 form and as its raw bytes.
fn development_secret(value: &[u8]) -> Option<&'static str> {
    use base64::Engine;
    let value = value.trim_ascii();
    if let Some((_, what)) = DEVELOPMENT_SECRETS
        .iter()
        .find(|(secret, _)| secret.as_bytes() == value)
    {
        return Some(what);
    }
    let dev_key = base64::engine::general_purpose::STANDARD
        .decode(crate::secrets::DEV_TOKEN_KEY_BASE64)
        .unwrap_or_default();
    (value == dev_key.as_slice()).then_some("the development token key")
}

/// The passwords a database URL carries: in its user information (percent-decoded) and as a
/// `password` query parameter (which the PostgreSQL driver also reads).
fn database_passwords(url: &str) -> Vec<Vec<u8>> {
    let Ok(url) = url::Url::parse(url) else {
        return Vec::new();
    };
    let mut passwords: Vec<Vec<u8>> = url
        .password()
        .map(|password| percent_encoding::percent_decode_str(password).collect())
        .into_iter()
        .collect();
    passwords.extend(
        url.query_pairs()
            .filter(|(key, _)| key == "password")
            .map(|(_, value)| value.as_bytes().to_vec()),
    );
    passwords
}

/// A time zone setting, checked against the IANA database compiled in.
fn parse_time_zone(name: &str) -> Result<crate::engine::periods::Zone, String> {
    crate::engine::periods::Zone::parse(name, "CRM_TIME_ZONE")
        .map_err(|_| format!("unknown time zone {name:?}: use an IANA name such as Europe/Paris"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn database(url: Option<&str>, host: Option<&str>, password: Option<&str>) -> DatabaseConfig {
        DatabaseConfig {
            database_url: url.map(str::to_owned),
            postgres_user: None,
            postgres_password: password.map(str::to_owned),
            postgres_db: None,
            postgres_host: host.map(str::to_owned),
            postgres_port: None,
            sqlite_path: PathBuf::from("crm.db"),
            db_max_connections: None,
            sqlite_synchronous: crate::db::Durability::Full,
            database_replica_url: Vec::new(),
            replica_max_lag_secs: 10,
            replica_check_ms: 500,
        }
    }

    #[test]
    fn replicas_need_a_postgresql_primary_and_postgresql_urls() {
        let mut config = database(Some("postgres://u:p@db/crm"), None, None);
        config.database_replica_url =
            vec![" postgres://u:p@replica/crm ".to_owned(), String::new()];
        assert_eq!(config.replica_urls(), ["postgres://u:p@replica/crm"]);
        assert_eq!(config.check_replicas(), Ok(()));
        config.database_replica_url = vec!["sqlite://x.db".to_owned()];
        assert!(
            config
                .check_replicas()
                .is_err_and(|err| err.contains("sqlite://x.db"))
        );
        let mut sqlite = database(None, None, None);
        sqlite.database_replica_url = vec!["postgres://u:p@replica/crm".to_owned()];
        assert!(
            sqlite
                .check_replicas()
                .is_err_and(|err| err.contains("PostgreSQL primary"))
        );
    }

    #[test]
    fn no_database_setting_means_the_embedded_sqlite_file() {
        let url = database(None, None, None).url();
        assert_eq!(url, "sqlite://crm.db?mode=rwc");
        assert_eq!(database(None, None, None).max_connections(&url), 4);
    }

    #[test]
    fn the_seed_variables_select_postgresql_with_its_defaults() {
        let url = database(None, Some("db.internal"), None).url();
        assert_eq!(
            url,
            "postgres://crm_admin:crm_secure_password_2024@db.internal:5432/crm_database"
        );
        assert_eq!(database(None, None, None).max_connections(&url), 16);
    }

    #[test]
    fn database_url_wins() {
        let url = database(Some("postgres://u:p@h/d"), Some("ignored"), Some("ignored")).url();
        assert_eq!(url, "postgres://u:p@h/d");
    }

    /// A production configuration with real secrets, on PostgreSQL at `db`.
    fn production() -> Config {
        use clap::Parser;
        let Ok(cli) = crate::cli::Cli::try_parse_from([
            "crm-server",
            "--env",
            "production",
            "--postgres-host",
            "db",
        ]) else {
            panic!("arguments refused");
        };
        let mut config = cli.config;
        config.server.token_keys = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned();
        config.auth.jwt_secret = "a-production-secret-of-at-least-32-characters".to_owned();
        config.database.postgres_password = Some("a-real-secret".to_owned());
        config
    }

    #[test]
    fn production_refuses_every_development_secret_by_value() {
        use crate::bootstrap::DEV_ADMIN_PASSWORD;
        use crate::secrets::DEV_TOKEN_KEY_BASE64;
        assert!(production().validate().is_ok());
        let mut development = production();
        development.server.environment = Environment::Development;
        development.auth.jwt_secret = DEV_JWT_SECRET.to_owned();
        development.server.token_keys = crate::secrets::DEV_TOKEN_KEYS.to_owned();
        development.database.postgres_password = None;
        assert!(
            development.validate().is_ok(),
            "development takes its defaults"
        );

        // The signing key: the development one (blanks around it change nothing), or any
        // other development secret long enough to be accepted as one.
        for secret in [
            DEV_JWT_SECRET.to_owned(),
            format!(" {DEV_JWT_SECRET}\n"),
            DEV_TOKEN_KEY_BASE64.to_owned(),
            "dev-key-not-for-production-use!!".to_owned(),
        ] {
            let mut config = production();
            config.auth.jwt_secret = secret.clone();
            assert!(config.validate().is_err(), "signing key {secret:?} passed");
        }

        // The token key material, whatever its id and position.
        for keys in [
            format!("dev:{DEV_TOKEN_KEY_BASE64}"),
            format!("k2:{DEV_TOKEN_KEY_BASE64}"),
            format!("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,old:{DEV_TOKEN_KEY_BASE64}"),
        ] {
            let mut config = production();
            config.server.token_keys = keys.clone();
            assert!(config.validate().is_err(), "token keys {keys} passed");
        }

        // The database password, however it is written.
        let passwords = [DEV_POSTGRES_PASSWORD, DEV_ADMIN_PASSWORD, DEV_JWT_SECRET];
        for password in passwords {
            let mut config = production();
            config.database.postgres_password = Some(password.to_owned());
            assert!(
                config.validate().is_err(),
                "POSTGRES_PASSWORD {password} passed"
            );
        }
        for url in [
            "postgres://crm_admin:crm_secure_password_2024@db:5432/crm_database",
            "postgres://crm_admin:crm%5Fsecure%5Fpassword%5F2024@db/crm_database",
            "postgres://crm_admin@db/crm_database?sslmode=require&password=crm_secure_password_2024",
            "postgres://crm_admin:crm-dev-admin-password@db/crm_database",
        ] {
            let mut config = production();
            config.database.database_url = Some(url.to_owned());
            assert!(config.validate().is_err(), "{url} passed");
        }
        let mut config = production();
        config.database.database_url =
            Some("postgres://crm_admin:s%40fe%25pass@db/crm_database?password=x".to_owned());
        assert!(config.validate().is_ok());
        assert_eq!(
            database_passwords("postgres://u:s%40fe%25pass%2@db/d?password=a+b"),
            [b"s@fe%pass%2".to_vec(), b"a b".to_vec()]
        );
        assert!(database_passwords("sqlite://crm.db?mode=rwc").is_empty());
    }

    #[test]
    fn production_refuses_the_development_password() {
        let mut config = production();
        config.database.postgres_password = None;
        assert!(config.validate().is_err());
        config.database.postgres_password = Some("a-real-secret".to_owned());
        assert!(config.validate().is_ok());
        config.server.token_keys = crate::secrets::DEV_TOKEN_KEYS.to_owned();
        assert!(
            config.validate().is_err(),
            "the development token key passed in production"
        );
        config.server.token_keys = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned();
        config.auth.jwt_secret = DEV_JWT_SECRET.to_owned();
        assert!(
            config.validate().is_err(),
            "the development signing key passed in production"
        );
    }
}
