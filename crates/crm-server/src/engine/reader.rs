//! Where the read path's statements (and single-statement writes) run: connections that go
//! back to their pool without a round trip.
//!
//! sqlx tests every connection it takes back into its pool with a ping (a `Sync` and its
//! `ReadyForQuery` on PostgreSQL, a trip through the connection's thread on SQLite), so each
//! statement run through SeaORM's pool cost a second round trip. The statements of the read
//! path (pages, relation pages, counts, lookups by id, computed fields) are built with
//! sea-query and read by position anyway, so [`Reader`] runs them on connections of its own,
//! opened with the main pool's options (as many as the main pool holds: all at start by
//! [`Reader::warm`], or as demand requires) and put back as they are. A connection whose
//! statement did not finish (the request was dropped) goes with the future that held it; one
//! that failed with anything but a database error is closed. Connections age out like the
//! main pool's, are checked after a while idle, and a server that went away (a restart) costs
//! no request: the statement that finds its connection dead runs again on a fresh one (see
//! [`RawPool`]). [`Reader`] is also a SeaORM connection, for writes made of one statement
//! (autocommit); transactions stay on SeaORM's pool.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::{self, Connection, Database, Executor, IntoArguments};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Semaphore;

/// Told of every statement run, its kind ([`kind_of`]) and how long it took (the `/metrics`
/// figures).
pub type OnStatement = Arc<dyn Fn(&'static str, Duration) + Send + Sync>;

/// A statement's kind, for the metrics: `select`, `insert`, `update`, `delete` or `other`.
pub fn kind_of(sql: &str) -> &'static str {
    let start = sql.trim_start();
    let word = start
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    ["select", "insert", "update", "delete"]
        .into_iter()
        .find(|kind| word.eq_ignore_ascii_case(kind))
        .or_else(|| word.eq_ignore_ascii_case("with").then_some("select"))
        .unwrap_or("other")
}

/// A connection pool's state (for `/metrics`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    pub in_use: usize,
    pub idle: usize,
    /// Statements waiting for a connection (where the pool says).
    pub waiting: Option<usize>,
}

/// Runs the read path's statements.
#[derive(Clone)]
pub struct Reader {
    backend: DbBackend,
    connections: Connections,
    on_statement: OnStatement,
    /// SeaORM's pool, for what only it does (unprepared SQL).
    db: DatabaseConnection,
    /// Root lists' counts kept between requests (off unless given, see [`Reader::with_counts`]).
    counts: Arc<crate::engine::counts::CountCache>,
    /// A replica's: where a statement runs when the replica cannot be reached.
    fallback: Option<Arc<Fallback>>,
}

/// Where a replica's statements go when it cannot be reached (the primary), and the flag that
/// keeps queries off the replica until its next check finds it back.
struct Fallback {
    primary: Reader,
    usable: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Clone)]
enum Connections {
    Postgres(Arc<RawPool<sqlx::Postgres>>),
    Sqlite(Arc<RawPool<sqlx::Sqlite>>),
    /// Any other connection SeaORM offers (none today): its own pool.
    SeaOrm(DatabaseConnection),
}

impl Reader {
    /// A reader with connections like `db`'s, at most as many as its pool holds.
    pub fn new(db: &DatabaseConnection, on_statement: OnStatement) -> Reader {
        let backend = db.get_database_backend();
        let connections = match backend {
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                Connections::Postgres(Arc::new(RawPool::new(
                    pool.connect_options(),
                    pool.options(),
                )))
            }
            DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                Connections::Sqlite(Arc::new(RawPool::new(
                    pool.connect_options(),
                    pool.options(),
                )))
            }
            _ => Connections::SeaOrm(db.clone()),
        };
        Reader {
            backend,
            connections,
            on_statement,
            db: db.clone(),
            counts: Arc::default(),
            fallback: None,
        }
    }

    /// A reader on the PostgreSQL read replica at `url`, with as many connections as
    /// `primary`'s pool holds, opened on demand. A statement that cannot reach the replica runs
    /// on `primary` instead, and clears `usable`.
    pub fn replica(
        primary: &Reader,
        url: &str,
        usable: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<Reader, DbErr> {
        let options = crate::db::postgres_options(url)?;
        let pool = primary.db.get_postgres_connection_pool();
        Ok(Reader {
            backend: DbBackend::Postgres,
            connections: Connections::Postgres(Arc::new(RawPool::new(
                Arc::new(options),
                pool.options(),
            ))),
            on_statement: primary.on_statement.clone(),
            db: primary.db.clone(),
            counts: Arc::default(),
            fallback: Some(Arc::new(Fallback {
                primary: primary.clone(),
                usable,
            })),
        })
    }

    /// The same connections for the server's own statements: left out of the metrics, and
    /// never run elsewhere (a replica's checks must fail when it is gone).
    pub fn unmetered(&self) -> Reader {
        Reader {
            on_statement: Arc::new(|_, _| {}),
            fallback: None,
            ..self.clone()
        }
    }

    /// The same reader, keeping root lists' counts in `counts`.
    pub fn with_counts(mut self, counts: Arc<crate::engine::counts::CountCache>) -> Reader {
        self.counts = counts;
        self
    }

    /// Root lists' counts kept between requests.
    pub fn counts(&self) -> &crate::engine::counts::CountCache {
        &self.counts
    }

    /// Opens every connection ahead of the first requests (a cold PostgreSQL connection costs
    /// a SCRAM exchange), as the main pool does at start.
    pub async fn warm(&self) -> Result<(), DbErr> {
        match &self.connections {
            Connections::Postgres(pool) => pool.warm().await,
            Connections::Sqlite(pool) => pool.warm().await,
            Connections::SeaOrm(_) => Ok(()),
        }
    }

    /// Its connections now.
    pub fn stats(&self) -> PoolStats {
        match &self.connections {
            Connections::Postgres(pool) => pool.stats(),
            Connections::Sqlite(pool) => pool.stats(),
            Connections::SeaOrm(_) => PoolStats::default(),
        }
    }

    /// Waits for the statements running and closes the connections (at shutdown); any
    /// statement after this fails.
    pub async fn close(&self) {
        match &self.connections {
            Connections::Postgres(pool) => pool.close().await,
            Connections::Sqlite(pool) => pool.close().await,
            Connections::SeaOrm(_) => {}
        }
    }

    /// SQLite: the file's writer ([`crate::db::begin_write`]), where a write made of one
    /// statement takes its turn with the write transactions instead of sleeping on SQLite's
    /// lock (the writer counts its statements itself).
    fn sqlite_writer(&self, statement: &Statement) -> Option<DatabaseConnection> {
        if self.backend != DbBackend::Sqlite
            || !matches!(kind_of(&statement.sql), "insert" | "update" | "delete")
        {
            return None;
        }
        crate::db::writer(&self.db)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Reader {
    fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        if let Some(writer) = self.sqlite_writer(&statement) {
            return writer.execute_raw(statement).await;
        }
        let _timed = Timed::start(self, &statement);
        match &self.connections {
            Connections::Postgres(pool) => pool.execute(statement).await,
            Connections::Sqlite(pool) => pool.execute(statement).await,
            Connections::SeaOrm(db) => db.execute_raw(statement).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        Ok(self.query_all_raw(statement).await?.into_iter().next())
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if let Some(writer) = self.sqlite_writer(&statement) {
            return writer.query_all_raw(statement).await;
        }
        let timed = Timed::start(self, &statement);
        let again = self.fallback.as_ref().map(|_| statement.clone());
        let result = match &self.connections {
            Connections::Postgres(pool) => pool.fetch_all(statement).await,
            Connections::Sqlite(pool) => pool.fetch_all(statement).await,
            Connections::SeaOrm(db) => db.query_all_raw(statement).await,
        };
        if let (Err(err), Some(fallback), Some(statement)) = (&result, &self.fallback, again)
            && crate::db::is_unreachable(err)
        {
            // The replica went away: this query, and the next ones until it is back, read
            // from the primary.
            if fallback
                .usable
                .swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(error = %err, "read replica unreachable: reading from the primary");
            }
            drop(timed);
            return fallback.primary.query_all_raw(statement).await;
        }
        result
    }
}

use crate::db::CHECK_AFTER_IDLE;

/// An open connection and its age.
struct Idle<C> {
    connection: C,
    opened: Instant,
    used: Instant,
}

/// Connections taken and put back without a test, opened on demand up to `size`. A
/// connection is closed once older than `max_lifetime` or idle longer than `idle_timeout`
/// (the main pool's settings), checked with a ping after [`CHECK_AFTER_IDLE`], and dropped
/// when it turns out dead. A dead connection means the server went away (a restart, a
/// failover, an administrator's `pg_terminate_backend`): the other idle connections date
/// from before and are dropped with it, and the statement runs again on a fresh connection
/// when that cannot run it twice (a read, or a connection the server had closed before the
/// statement reached it).
struct RawPool<DB: Database> {
    options: Arc<<DB::Connection as Connection>::Options>,
    idle: Mutex<Vec<Idle<DB::Connection>>>,
    permits: Semaphore,
    /// Statements waiting for a permit.
    waiting: std::sync::atomic::AtomicUsize,
    size: usize,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl<DB> RawPool<DB>
where
    DB: Database + sqlx::database::HasStatementCache,
    QueryResult: From<DB::Row>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    SqlxValues: for<'q> IntoArguments<DB>,
{
    fn new(
        options: Arc<<DB::Connection as Connection>::Options>,
        pool: &sqlx::pool::PoolOptions<DB>,
    ) -> Self {
        let size = pool.get_max_connections().max(1) as usize;
        RawPool {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            size,
            max_lifetime: pool.get_max_lifetime(),
            idle_timeout: pool.get_idle_timeout(),
        }
    }

    fn stats(&self) -> PoolStats {
        PoolStats {
            in_use: self.size.saturating_sub(self.permits.available_permits()),
            idle: self.idle.lock().map_or(0, |idle| idle.len()),
            waiting: Some(self.waiting.load(std::sync::atomic::Ordering::Relaxed)),
        }
    }

    /// Opens the connections not open yet (before serving: concurrent use could open more).
    async fn warm(&self) -> Result<(), DbErr> {
        let open = self.idle.lock().map_or(0, |idle| idle.len());
        for _ in open..self.size {
            let connection = self.connect().await?;
            self.give_back(connection, None);
        }
        Ok(())
    }

    /// Refuses new statements, waits for those running and closes every connection.
    async fn close(&self) {
        let running = self.permits.acquire_many(self.size as u32).await;
        self.permits.close();
        drop(running);
        let idle = self
            .idle
            .lock()
            .map(|mut idle| std::mem::take(&mut *idle))
            .unwrap_or_default();
        for connection in idle {
            let _ = connection.connection.close().await;
        }
    }

    async fn fetch_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let result = self
            .run(statement, |statement, connection| {
                Box::pin(async move { query(statement).fetch_all(connection).await })
            })
            .await;
        match result {
            Ok(rows) => Ok(rows.into_iter().map(QueryResult::from).collect()),
            Err(err) => Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))),
        }
    }

    async fn execute(&self, statement: Statement) -> Result<ExecResult, DbErr>
    where
        ExecResult: From<DB::QueryResult>,
    {
        let result = self
            .run(statement, |statement, connection| {
                Box::pin(async move { query(statement).execute(connection).await })
            })
            .await;
        match result {
            Ok(done) => Ok(ExecResult::from(done)),
            Err(err) => Err(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))),
        }
    }

    /// Runs `statement` with `op` on a connection of the pool; again on a fresh connection
    /// when the first one was dead and running it again is safe (see [`RawPool`]).
    async fn run<T>(
        &self,
        statement: Statement,
        op: impl for<'c> Fn(
            Statement,
            &'c mut DB::Connection,
        ) -> futures_util::future::BoxFuture<'c, Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                let _waiting = Waiting::new(&self.waiting);
                self.permits
                    .acquire()
                    .await
                    .map_err(|_| sqlx::Error::PoolClosed)?
            }
        };
        let (mut connection, opened) = self.take().await?;
        // Only a server connection can die under a statement (not SQLite's).
        let retry = (DB::NAME == "PostgreSQL").then(|| statement.clone());
        let result = op(statement, &mut connection).await;
        let Err(err) = &result else {
            self.put(connection, opened);
            return result;
        };
        if !is_disconnect(err) {
            self.give_back_at(connection, opened, Some(err));
            return result;
        }
        // The server went away: every connection opened before is likely dead too.
        drop(connection);
        self.drop_idle();
        crate::db::server_lost();
        let Some(retry) = retry.filter(|retry| is_read(&retry.sql) || never_ran(err)) else {
            return result;
        };
        let mut fresh = self.connect().await.map_err(sqlx_error)?;
        let opened = Instant::now();
        let result = op(retry, &mut fresh).await;
        self.give_back_at(fresh, opened, result.as_ref().err());
        drop(permit);
        result
    }

    /// An idle connection fit for use, or a new one.
    async fn take(&self) -> Result<(DB::Connection, Instant), sqlx::Error> {
        loop {
            let Some(idle) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) else {
                let connection = self.connect().await.map_err(sqlx_error)?;
                return Ok((connection, Instant::now()));
            };
            let Idle {
                mut connection,
                opened,
                used,
            } = idle;
            let expired = self.max_lifetime.is_some_and(|max| opened.elapsed() >= max)
                || self.idle_timeout.is_some_and(|max| used.elapsed() >= max);
            if expired {
                let _ = connection.close().await;
                continue;
            }
            if crate::db::opened_before_loss(opened.elapsed()) {
                continue;
            }
            if used.elapsed() >= CHECK_AFTER_IDLE && connection.ping().await.is_err() {
                self.drop_idle();
                crate::db::server_lost();
                continue;
            }
            return Ok((connection, opened));
        }
    }

    /// A new connection with the pool's options.
    async fn connect(&self) -> Result<DB::Connection, DbErr> {
        DB::Connection::connect_with(&self.options)
            .await
            .map_err(|err| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))))
    }

    fn put(&self, connection: DB::Connection, opened: Instant) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(Idle {
                connection,
                opened,
                used: Instant::now(),
            });
        }
    }

    /// Drops the idle connections (they close with their sockets).
    fn drop_idle(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn give_back(&self, connection: DB::Connection, error: Option<&sqlx::Error>) {
        self.give_back_at(connection, Instant::now(), error);
    }

    /// Puts `connection` back unless its statement failed with something other than a
    /// database error (a constraint, a bad value: after those the connection is in a known
    /// state, sqlx waits for the server to be ready before its next statement).
    fn give_back_at(
        &self,
        connection: DB::Connection,
        opened: Instant,
        error: Option<&sqlx::Error>,
    ) {
        if matches!(error, None | Some(sqlx::Error::Database(_)))
            && !error.is_some_and(is_disconnect)
        {
            self.put(connection, opened);
        }
    }
}

/// Tells the reader's [`OnStatement`] of a statement when it ends, or is abandoned (its request
/// went away): every statement started is counted, with the time it ran.
struct Timed<'a> {
    on_statement: &'a OnStatement,
    kind: &'static str,
    started: Instant,
}

impl<'a> Timed<'a> {
    fn start(reader: &'a Reader, statement: &Statement) -> Self {
        Timed {
            on_statement: &reader.on_statement,
            kind: kind_of(&statement.sql),
            started: Instant::now(),
        }
    }
}

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        (self.on_statement)(self.kind, self.started.elapsed());
    }
}

/// Counts a statement waiting for a connection while it lives (a dropped request included).
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether `sql` only reads (running it twice answers the same and changes nothing).
fn is_read(sql: &str) -> bool {
    let start = sql.trim_start();
    ["SELECT", "WITH", "VALUES"].iter().any(|word| {
        start
            .get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
    }) && !sql.contains("RETURNING")
}

/// Whether `err` means the connection is gone: an I/O or protocol failure, or PostgreSQL
/// saying it ended the session (`57P01`-`57P03`: shutdown, crash, not accepting; class
/// `08`: connection exceptions).
pub(crate) fn is_disconnect(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("57P0") || code.starts_with("08")),
        _ => false,
    }
}

/// Whether the server ended the session before it ran the statement: its first answer was
/// the notice that it had shut the session down (sent when it did, before the statement).
fn never_ran(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|code| code.starts_with("57P0")))
}

fn sqlx_error(err: DbErr) -> sqlx::Error {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(err)) => match Arc::try_unwrap(err) {
            Ok(err) => err,
            Err(err) => sqlx::Error::Protocol(err.to_string()),
        },
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// `statement` as a sqlx query, taking its text and values over.
fn query<DB: Database + sqlx::database::HasStatementCache>(
    statement: Statement,
) -> sqlx::query::Query<'static, DB, SqlxValues>
where
    SqlxValues: for<'q> IntoArguments<DB>,
{
    let values = statement.values.unwrap_or(Values(Vec::new()));
    let persistent = !(DB::NAME == "PostgreSQL" && plans_by_value(&statement.sql));
    sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), SqlxValues(values)).persistent(persistent)
}

/// Whether PostgreSQL must see a statement's values to plan it well: a `LIKE` pattern. A
/// prepared statement is planned for its values five times, then PostgreSQL may keep a plan
/// made without them, which guesses any pattern matches a few rows: for "name contains
/// tech" it reads every match through the trigram index and sorts them where walking the name
/// index for the first 20 is five times cheaper. Such statements run unnamed, planned at each
/// execution with their values (one more round trip; every other statement stays prepared).
fn plans_by_value(sql: &str) -> bool {
    sql.contains(" LIKE ") || sql.contains(" ILIKE ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_are_told_apart_by_their_first_word() {
        assert_eq!(super::kind_of("SELECT 1"), "select");
        assert_eq!(super::kind_of("  insert INTO x"), "insert");
        assert_eq!(super::kind_of("UPDATE \"clients\" SET"), "update");
        assert_eq!(super::kind_of("DELETE FROM x"), "delete");
        assert_eq!(
            super::kind_of("WITH a AS (SELECT 1) SELECT * FROM a"),
            "select"
        );
        assert_eq!(super::kind_of("BEGIN"), "other");
        assert_eq!(super::kind_of(""), "other");
    }
}
