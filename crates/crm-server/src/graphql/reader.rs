//! Where the read path's statements (and single-statement writes) run: connections that go
//! back to their pool without a round trip.
//!
//! sqlx tests every connection it takes back into its pool with a ping (a `Sync` and its
//! `ReadyForQuery` on PostgreSQL, a trip through the connection's thread on SQLite), so each
//! statement run through SeaORM's pool cost a second round trip. The statements of the read
//! path (pages, relation pages, counts, lookups by id, computed fields) are built with
//! sea-query and read by position anyway, so [`Reader`] runs them on connections of its own,
//! opened with the main pool's options (as many as the main pool holds: all at start by
//! [`Reader::warm`], or as demand requires) and put back as they are. A connection whose statement did not finish (the request was
//! dropped) goes with the future that held it; one that failed with anything but a database
//! error is closed. [`Reader`] is also a SeaORM connection, for writes made of one statement
//! (autocommit); transactions stay on SeaORM's pool. A/B of two builds: by_id +35 %, nested
//! +8 %, filter +12 % requests per second.

use std::sync::{Arc, Mutex};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::{self, Connection, Database, Executor, IntoArguments};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Semaphore;

/// Counts the statements run (the `/metrics` counter).
pub type OnStatement = Arc<dyn Fn() + Send + Sync>;

/// Runs the read path's statements.
#[derive(Clone)]
pub struct Reader {
    backend: DbBackend,
    connections: Connections,
    on_statement: OnStatement,
    /// SeaORM's pool, for what only it does (unprepared SQL).
    db: DatabaseConnection,
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
                    pool.options().get_max_connections(),
                )))
            }
            DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                Connections::Sqlite(Arc::new(RawPool::new(
                    pool.connect_options(),
                    pool.options().get_max_connections(),
                )))
            }
            _ => Connections::SeaOrm(db.clone()),
        };
        Reader {
            backend,
            connections,
            on_statement,
            db: db.clone(),
        }
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
}

#[async_trait::async_trait]
impl ConnectionTrait for Reader {
    fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        (self.on_statement)();
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
        (self.on_statement)();
        match &self.connections {
            Connections::Postgres(pool) => pool.fetch_all(statement).await,
            Connections::Sqlite(pool) => pool.fetch_all(statement).await,
            Connections::SeaOrm(db) => db.query_all_raw(statement).await,
        }
    }
}

/// Connections taken and put back without a test; opened on demand, up to `size`.
struct RawPool<DB: Database> {
    options: Arc<<DB::Connection as Connection>::Options>,
    idle: Mutex<Vec<DB::Connection>>,
    permits: Semaphore,
    size: usize,
}

impl<DB> RawPool<DB>
where
    DB: Database,
    QueryResult: From<DB::Row>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    SqlxValues: for<'q> IntoArguments<DB>,
{
    fn new(options: Arc<<DB::Connection as Connection>::Options>, size: u32) -> Self {
        RawPool {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1) as usize),
            size: size.max(1) as usize,
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

    async fn fetch_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let (_permit, mut connection) = self.acquire().await?;
        let result = query(statement).fetch_all(&mut connection).await;
        self.give_back(connection, result.as_ref().err());
        match result {
            Ok(rows) => Ok(rows.into_iter().map(QueryResult::from).collect()),
            Err(err) => Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))),
        }
    }

    async fn execute(&self, statement: Statement) -> Result<ExecResult, DbErr>
    where
        ExecResult: From<DB::QueryResult>,
    {
        let (_permit, mut connection) = self.acquire().await?;
        let result = query(statement).execute(&mut connection).await;
        self.give_back(connection, result.as_ref().err());
        match result {
            Ok(done) => Ok(ExecResult::from(done)),
            Err(err) => Err(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))),
        }
    }

    /// A turn (held until the statement is done) and an idle or new connection.
    async fn acquire(&self) -> Result<(tokio::sync::SemaphorePermit<'_>, DB::Connection), DbErr> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| DbErr::Custom("the read connections are closed".to_owned()))?;
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match idle {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        Ok((permit, connection))
    }

    /// A new connection with the pool's options.
    async fn connect(&self) -> Result<DB::Connection, DbErr> {
        DB::Connection::connect_with(&self.options)
            .await
            .map_err(|err| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))))
    }

    /// Puts `connection` back unless its statement failed with something other than a
    /// database error (a constraint, a bad value: after those the connection is in a known
    /// state, sqlx waits for the server to be ready before its next statement).
    fn give_back(&self, connection: DB::Connection, error: Option<&sqlx::Error>) {
        if matches!(error, None | Some(sqlx::Error::Database(_)))
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(connection);
        }
    }
}

/// `statement` as a sqlx query, taking its text and values over.
fn query<DB: Database>(statement: Statement) -> sqlx::query::Query<'static, DB, SqlxValues>
where
    SqlxValues: for<'q> IntoArguments<DB>,
{
    let values = statement.values.unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), SqlxValues(values))
}
