//! Connecting to PostgreSQL or the embedded SQLite file, and migrating.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, PrimaryKeyTrait, QueryFilter, QuerySelect, QueryTrait, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::engine::access::{Rule, Viewer, rule, visible_in};
use crate::error::{AppError, AppResult};
use entity::Tabled;

/// How long a connection may sit idle before it is checked (a ping) on its next use.
pub const CHECK_AFTER_IDLE: Duration = Duration::from_secs(30);

/// When the database server was last seen gone (a connection found dead), in milliseconds
/// since [`EPOCH`]; 0: never.
static SERVER_LOST_AT: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn since_epoch() -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    Ord::max(
        u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX),
        1,
    )
}

/// Records that a connection was found dead: the server restarted or went away, and the
/// connections opened before are dead too.
pub fn server_lost() {
    SERVER_LOST_AT.fetch_max(since_epoch(), Ordering::Relaxed);
}

/// Whether a connection `age` old was opened before the server was last seen gone.
pub fn opened_before_loss(age: Duration) -> bool {
    let lost = SERVER_LOST_AT.load(Ordering::Relaxed);
    lost != 0 && {
        let age = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        since_epoch().saturating_sub(age) <= lost
    }
}

/// Opens a connection pool for `url`.
///
/// PostgreSQL on this machine (`localhost`, a loopback address or a Unix socket) is reached
/// without TLS unless the URL asks for it (`sslmode=…`): encrypting loopback traffic protects
/// nothing and cost a tenth of the server's and of PostgreSQL's CPU on the nested page.
/// Other hosts keep the driver's default (`prefer`).
///
/// SQLite files are created if missing and opened in WAL mode with foreign keys enforced, every
/// commit on disk before it is acknowledged (see [`connect_with`]), and a busy timeout, so
/// concurrent requests wait for the writer instead of failing.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, max_connections, Durability::Full).await
}

/// When SQLite reports a commit done (its `synchronous` setting in WAL mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// On disk: the commit survives a power loss.
    #[default]
    Full,
    /// In the write-ahead log, synced at checkpoints: the last commits can be lost on a power
    /// loss or an OS crash (not on a crash of the server alone).
    Normal,
}

/// [`connect`], with SQLite's commits as durable as `durability` says.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    durability: Durability,
) -> Result<DatabaseConnection, DbErr> {
    let synchronous = match durability {
        Durability::Full => sea_orm::sqlx::sqlite::SqliteSynchronous::Full,
        Durability::Normal => sea_orm::sqlx::sqlite::SqliteSynchronous::Normal,
    };
    let plaintext_loopback = loopback_without_sslmode(url);
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        // Open the whole pool at start: opening PostgreSQL connections (SCRAM) under load
        // stalled requests for seconds in the first benchmark runs.
        .min_connections(max_connections)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // A ping before every statement doubles the round trips: only after a while idle.
        // Connections opened before the server went away (as the read path found out, see
        // `engine::reader`) are dropped rather than tried.
        .test_before_acquire_if_idle_for(CHECK_AFTER_IDLE)
        .map_sqlx_postgres_before_acquire(|_, meta| {
            Box::pin(async move { Ok(!opened_before_loss(meta.age)) })
        })
        .map_sqlx_postgres_opts(move |opts| {
            if plaintext_loopback {
                opts.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
            } else {
                opts
            }
        })
        .map_sqlx_sqlite_opts(move |opts| {
            opts.create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(Duration::from_secs(10))
                // Read pages through a memory map (shared by the connections, so no larger
                // per-connection cache): fewer read syscalls on the hot read path.
                .pragma("mmap_size", "268435456")
                // Let the connection's worker thread hand over a whole page of rows without
                // waiting for the async side row by row.
                .row_buffer_size(1024)
        });
    Database::connect(options).await
}

/// Whether `err` says the database could not be reached or the connection to it was lost
/// (not that it refused the statement).
pub fn is_unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error;
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(err)) | DbErr::Exec(RuntimeErr::SqlxError(err)) => {
            crate::engine::reader::is_disconnect(err)
                || matches!(**err, Error::PoolClosed | Error::PoolTimedOut)
        }
        _ => false,
    }
}

/// The connection options of the PostgreSQL server at `url`, as [`connect`] sets them (no TLS
/// to this machine unless asked for).
pub fn postgres_options(url: &str) -> Result<sea_orm::sqlx::postgres::PgConnectOptions, DbErr> {
    let options: sea_orm::sqlx::postgres::PgConnectOptions =
        url.parse().map_err(|err: sea_orm::sqlx::Error| {
            DbErr::Conn(sea_orm::RuntimeErr::Internal(err.to_string()))
        })?;
    Ok(if loopback_without_sslmode(url) {
        options.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
    } else {
        options
    })
}

/// Refuses a pooler that hands a session's statements to different server connections
/// (PgBouncer's `pool_mode = transaction` or `statement`): the server prepares its statements
/// once per connection (sqlx's statement cache) and keeps `LISTEN` open, neither of which
/// survives such pooling. Session pooling is fine.
///
/// Two connections of our own tell: the first asks its server process id; the second opens a
/// transaction (which pins a server connection) and asks its own; the first asks again. With
/// its own server connection, as directly or in session pooling, the first gets the same id
/// both times and the second another one; with transaction pooling the second is handed the
/// first's idle server connection, or the first waits for one or gets a new one.
pub async fn refuse_transaction_pooling(db: &DatabaseConnection) -> Result<(), String> {
    use sea_orm::sqlx::{Connection, Row, postgres::PgConnection};
    const WAIT: Duration = Duration::from_secs(3);
    const PID: &str = "SELECT pg_backend_pid()";
    let options = db.get_postgres_connection_pool().connect_options();
    let unreachable =
        |err: sea_orm::sqlx::Error| format!("cannot check the connection pooler: {err}");
    let mut first = PgConnection::connect_with(&options)
        .await
        .map_err(unreachable)?;
    let pid = |row: sea_orm::sqlx::postgres::PgRow| row.try_get::<i32, _>(0);
    let before = sea_orm::sqlx::raw_sql(PID)
        .fetch_one(&mut first)
        .await
        .map_err(unreachable)?;
    let before = pid(before).map_err(unreachable)?;
    let mut second = PgConnection::connect_with(&options)
        .await
        .map_err(unreachable)?;
    let pinned = tokio::time::timeout(WAIT, async {
        sea_orm::sqlx::raw_sql("BEGIN").execute(&mut second).await?;
        pid(sea_orm::sqlx::raw_sql(PID).fetch_one(&mut second).await?)
    })
    .await;
    let refused = || {
        Err(
            "the database connection goes through a pooler in transaction (or statement) \
             mode, which this server does not support: point DATABASE_URL at PostgreSQL or at \
             a pooler in session mode (PgBouncer: pool_mode = session)"
                .to_owned(),
        )
    };
    let pinned = match pinned {
        Ok(Ok(pinned)) => pinned,
        // No server connection for a second client: a session pooler with every connection
        // taken, not a transaction pooler (which would have handed it the first's).
        Err(_) => return Ok(()),
        Ok(Err(err)) => return Err(unreachable(err)),
    };
    if pinned == before {
        return refused();
    }
    let after = tokio::time::timeout(WAIT, sea_orm::sqlx::raw_sql(PID).fetch_one(&mut first)).await;
    let _ = second.close().await;
    let after = match after {
        Ok(Ok(row)) => pid(row).map_err(unreachable)?,
        Ok(Err(err)) => return Err(unreachable(err)),
        Err(_) => return refused(),
    };
    let _ = first.close().await;
    if after == before { Ok(()) } else { refused() }
}

/// Whether `url` is PostgreSQL on this machine with no `sslmode` given.
fn loopback_without_sslmode(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    if !matches!(parsed.scheme(), "postgres" | "postgresql")
        || parsed.query_pairs().any(|(key, _)| key == "sslmode")
    {
        return false;
    }
    if parsed
        .query_pairs()
        .any(|(key, value)| key == "host" && value.starts_with('/'))
    {
        return true; // a Unix socket
    }
    match parsed.host() {
        None => true,
        // `postgres:` is not a special scheme to the URL parser: addresses stay names.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    }
}

/// Whether every migration of this build has been applied.
pub async fn migrations_current(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.is_empty())
}

/// The server's pool on `url`, migrated first unless `migrate` is false.
///
/// Migrations run on a connection of their own, closed before the pool opens: an SQLite
/// connection opened before the schema changed answers its first statement from the schema it
/// opened with (on a new file, the first requests on the pool's other connections failed with
/// "no such table"). On PostgreSQL, a transaction-pooling proxy is refused first
/// ([`refuse_transaction_pooling`]).
pub async fn open(
    url: &str,
    max_connections: u32,
    durability: Durability,
    migrate: bool,
) -> Result<DatabaseConnection, Box<dyn std::error::Error + Send + Sync>> {
    let postgres = !url.starts_with("sqlite:");
    if migrate {
        let alone = connect_with(url, 1, durability).await?;
        if postgres {
            refuse_transaction_pooling(&alone).await?;
        }
        let migrated = self::migrate(&alone).await;
        alone.close().await?;
        migrated?;
    }
    let db = connect_with(url, max_connections, durability).await?;
    if postgres && !migrate {
        refuse_transaction_pooling(&db).await?;
    }
    Ok(db)
}

/// Applies every pending migration.
///
/// On PostgreSQL, instances starting together take turns (an advisory lock held by a
/// connection of its own for the duration): the first applies the migrations, the others find
/// none pending.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    use sea_orm::sqlx::{Connection, postgres::PgConnection};
    /// The lock's key: "crm migr" in ASCII.
    const KEY: i64 = 0x6372_6D20_6D69_6772;
    let options = db.get_postgres_connection_pool().connect_options();
    let failed = |err: sea_orm::sqlx::Error| {
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err)))
    };
    let mut lock = PgConnection::connect_with(&options).await.map_err(failed)?;
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(KEY)
        .execute(&mut lock)
        .await
        .map_err(failed)?;
    let result = Migrator::up(db, None).await;
    // Closing the session releases the lock (as the end of the process would).
    let _ = lock.close().await;
    result
}

/// A short name of the backend, for logs and `/health`.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// Redacts the password of a database URL for logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// What a write transaction can be started on ([`begin_write`]).
pub trait Writable: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> {
    /// Where its write transactions start: on SQLite's pool, the file's [`writer`].
    fn write_target(&self) -> Option<DatabaseConnection>;
}

/// The pool: on SQLite, its writer.
impl Writable for DatabaseConnection {
    fn write_target(&self) -> Option<DatabaseConnection> {
        writer(self)
    }
}

/// A transaction: a savepoint within it.
impl Writable for DatabaseTransaction {
    fn write_target(&self) -> Option<DatabaseConnection> {
        None
    }
}

/// Starts a transaction for a read-then-write mutation. SQLite takes the write lock at once
/// (`BEGIN IMMEDIATE`), so two such transactions queue instead of failing on lock upgrade;
/// PostgreSQL transactions lock the rows they read with [`for_update`].
///
/// On SQLite, the transactions started on the pool run on the file's writer ([`writer`]): one
/// connection they take in turn, first come first served. Left to SQLite's lock, writers on
/// several connections wait in growing sleeps (1 to 100 ms each) and hold their connection
/// meanwhile: 8 concurrent writers saw a p99 of 200 to 300 ms, and reads waited for a
/// connection.
///
/// Inside a transaction (a CSV import's), it is a savepoint: the write commits or rolls back
/// alone, within the outer transaction.
pub async fn begin_write<C: Writable>(db: &C) -> Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    match db.write_target() {
        Some(writer) => writer.begin_with_options(options).await,
        None => db.begin_with_options(options).await,
    }
}

/// A callback told of every statement (the server's metrics), shared by a pool and its writer.
type OnStatement = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

/// The writers of the SQLite pools of this process, each with the pool it writes for (the
/// pool's connect options, which live as long as the pool).
static WRITERS: OnceLock<Mutex<Writers>> = OnceLock::new();

/// Each writer with the pool it writes for.
type Writers = Vec<(Weak<SqliteConnectOptions>, DatabaseConnection)>;

/// The writers, those of pools gone dropped, and where the writer of the SQLite pool of `db`
/// sits among them (with the pool's connect options, its identity).
fn writers(
    db: &DatabaseConnection,
) -> (
    std::sync::MutexGuard<'static, Writers>,
    Option<usize>,
    Arc<SqliteConnectOptions>,
) {
    let mut writers = WRITERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    writers.retain(|(pool, _)| pool.strong_count() > 0);
    let options = db.get_sqlite_connection_pool().connect_options();
    let at = writers
        .iter()
        .position(|(pool, _)| std::ptr::eq(pool.as_ptr(), Arc::as_ptr(&options)));
    (writers, at, options)
}

/// The writer of `db`'s SQLite file: a pool of one connection with `db`'s settings, opened at
/// the first write, closed after a minute without one, told of its statements as `db` is
/// ([`set_metric_callback`]). None on PostgreSQL.
pub(crate) fn writer(db: &DatabaseConnection) -> Option<DatabaseConnection> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let (mut writers, at, options) = writers(db);
    if let Some(at) = at {
        return Some(writers[at].1.clone());
    }
    let writer = open_writer(&options, None);
    writers.push((Arc::downgrade(&options), writer.clone()));
    Some(writer)
}

fn open_writer(
    options: &SqliteConnectOptions,
    on_statement: Option<OnStatement>,
) -> DatabaseConnection {
    let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .idle_timeout(Some(Duration::from_secs(60)))
        // One connection, always this process's: nothing to test before handing it over.
        .test_before_acquire(false)
        .connect_lazy_with(options.clone());
    let mut writer = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
    if let Some(on_statement) = on_statement {
        writer.set_metric_callback(move |info| on_statement(info));
    }
    writer
}

/// Closes `db`'s pool and, on SQLite, its writer, once their statements are done (at
/// shutdown: the last connection to close checkpoints SQLite's write-ahead log).
pub async fn close(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        let writer = {
            let (mut writers, at, _) = writers(db);
            at.map(|at| writers.remove(at).1)
        };
        if let Some(writer) = writer {
            writer.close_by_ref().await?;
        }
    }
    db.close_by_ref().await
}

/// Tells `callback` of every statement run on `db` and, on SQLite, on its writer.
pub fn set_metric_callback<F>(db: &mut DatabaseConnection, callback: F)
where
    F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
{
    let callback: OnStatement = Arc::new(callback);
    let on_pool = callback.clone();
    db.set_metric_callback(move |info| on_pool(info));
    if db.get_database_backend() == DbBackend::Sqlite {
        let (mut writers, at, options) = writers(db);
        let writer = open_writer(&options, Some(callback));
        match at {
            Some(at) => writers[at].1 = writer,
            None => writers.push((Arc::downgrade(&options), writer)),
        }
    }
}

/// Reads one row by id, locking it until the transaction ends (`FOR UPDATE` on PostgreSQL;
/// SQLite's write transaction already excludes other writers). `NOT_FOUND` naming `field` when
/// there is no such row, or `viewer` may not see it. Whatever the visibility rule reads is
/// locked too (see [`find_row`]), so the row stays visible until the write commits.
pub async fn for_update<E>(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    id: Uuid,
    field: &str,
    what: &str,
) -> AppResult<E::Model>
where
    E: Tabled,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    find_row::<E>(txn, viewer, id, field, what, true).await
}

/// Checks that a referenced row exists and `viewer` may see it (`NOT_FOUND` naming `field`
/// otherwise). Under a visibility rule, on PostgreSQL, the rows the rule reads are
/// share-locked until the transaction ends, so the answer holds until the write commits.
pub async fn must_exist<E>(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    id: Uuid,
    field: &str,
    what: &str,
) -> AppResult<E::Model>
where
    E: Tabled,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    find_row::<E>(txn, viewer, id, field, what, false).await
}

/// One row by id, as `viewer` sees it, inside a write transaction.
///
/// A visibility check and the write that follows must not let a reassignment in between. On
/// SQLite the write transaction (`BEGIN IMMEDIATE`) already keeps every other writer out. On
/// PostgreSQL the rows the rule reads are locked in the same statement: the row itself when
/// the rule is on its own columns (`clients.assigned_to`, a mailbox's owner), its client too
/// when the row is seen through its client (`client_id`). A concurrent reassignment then
/// either waits for this transaction, or commits first and PostgreSQL re-checks the locked
/// rows against it: the row is no longer visible and the answer is `NOT_FOUND`.
async fn find_row<E>(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    id: Uuid,
    field: &str,
    what: &str,
    lock: bool,
) -> AppResult<E::Model>
where
    E: Tabled,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    let backend = txn.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    let mut select = E::find_by_id(id);
    match visible_in::<E>(backend, viewer) {
        Some(_) if postgres && let Rule::ThroughClient(client_column) = rule(E::TABLE) => {
            // The join's condition is the rule itself (the client is visible), checked on the
            // locked client row. `NO KEY UPDATE` (not `UPDATE`) on both rows: inserts that
            // reference them (payments, history entries) need not wait, and cannot deadlock.
            let table = E::default();
            let clients = entity::clients::Entity;
            let query = QueryTrait::query(&mut select);
            query.inner_join(
                clients,
                Expr::col((clients, entity::clients::Column::Id))
                    .equals((table, Alias::new(client_column))),
            );
            if let Some(visible) = visible_in::<entity::clients::Entity>(backend, viewer) {
                query.cond_where(visible);
            }
            query.lock(if lock {
                LockType::NoKeyUpdate
            } else {
                LockType::Share
            });
        }
        Some(condition) => {
            select = select.filter(condition);
            if postgres {
                // The rule reads this row only: locking it re-checks the rule on it.
                select = if lock {
                    select.lock_exclusive()
                } else {
                    select.lock_shared()
                };
            }
        }
        None if lock && postgres => select = select.lock_exclusive(),
        None => {}
    }
    select
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found(field, format!("no {what} with this id")))
}

/// A UUID column of a raw query's row, however it was written: as the server writes it (a
/// 16-byte blob on SQLite, `uuid` on PostgreSQL) or as text (a row written by hand on SQLite).
pub fn uuid_column(
    row: &sea_orm::QueryResult,
    column: &str,
) -> Result<Option<Uuid>, sea_orm::DbErr> {
    match row.try_get::<Option<Uuid>>("", column) {
        Ok(value) => Ok(value),
        Err(err) => match row.try_get::<Option<String>>("", column) {
            Ok(Some(text)) => Uuid::parse_str(text.trim()).map(Some).map_err(|_| err),
            _ => Err(err),
        },
    }
}

/// Sets `field` of a row being updated to `value` when the input gave one (`None`: the field
/// keeps the value read).
pub fn set_given<T: Into<sea_orm::Value>>(field: &mut sea_orm::ActiveValue<T>, value: Option<T>) {
    if let Some(value) = value {
        *field = sea_orm::ActiveValue::Set(value);
    }
}

/// The current time as stored: UTC, whole microseconds.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    crate::engine::scalars::DateTime::from(chrono::Utc::now()).0
}

/// Optimistic concurrency: `CONFLICT` when the row changed since the client read it.
pub fn check_unchanged(
    current: chrono::DateTime<chrono::Utc>,
    expected: Option<crate::engine::scalars::DateTime>,
) -> AppResult<()> {
    match expected {
        Some(expected) if crate::engine::scalars::DateTime::from(current) != expected => {
            Err(AppError::rule(
                Some("expectedUpdatedAt"),
                "STALE_UPDATE",
                "the record changed since you read it: reload it and apply your change again",
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::loopback_without_sslmode;

    #[test]
    fn tls_is_left_out_only_for_postgres_on_this_machine_without_sslmode() {
        for url in [
            "postgres://u:p@127.0.0.1:5432/db",
            "postgres://u:p@localhost/db",
            "postgresql://u:p@[::1]:5432/db",
            "postgres:///db?host=/var/run/postgresql",
        ] {
            assert!(loopback_without_sslmode(url), "{url}");
        }
        for url in [
            "postgres://u:p@db.example.com/db",
            "postgres://u:p@10.0.0.5/db",
            "postgres://u:p@127.0.0.1/db?sslmode=require",
            "sqlite://crm.db?mode=rwc",
        ] {
            assert!(!loopback_without_sslmode(url), "{url}");
        }
    }
}
