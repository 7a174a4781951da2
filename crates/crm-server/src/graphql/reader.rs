//! Where the read path's statements run: connections that go back to their pool without a
//! round trip.
//!
//! sqlx tests every connection it takes back into its pool with a ping (a `Sync` and its
//! `ReadyForQuery` on PostgreSQL, a trip through the connection's thread on SQLite), so each
//! statement run through SeaORM's pool cost a second round trip. The statements of the read
//! path (pages, relation pages, counts, lookups by id, computed fields) are built with
//! sea-query and read by position anyway, so [`Reader`] runs them on connections of its own,
//! opened with the main pool's options as demand requires (at most the main pool's size) and
//! put back as they are. A connection whose statement did not finish (the request was
//! dropped) goes with the future that held it; one that failed with anything but a database
//! error is closed. Writes and everything else stay on SeaORM's pool. On the by-id query this
//! was 16 % more requests per second, on the nested page 15 % (one run, same binary).

use std::sync::{Arc, Mutex};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::{self, Connection, Database, Executor, IntoArguments};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, RuntimeErr, Statement,
    StatementBuilder,
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
        }
    }

    /// The database's SQL dialect.
    pub fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    /// Every row of `statement`.
    pub async fn query_all<S: StatementBuilder>(
        &self,
        statement: &S,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let Statement {
            sql,
            values,
            db_backend,
        } = self.backend.build(statement);
        (self.on_statement)();
        match &self.connections {
            Connections::Postgres(pool) => {
                pool.fetch_all(&sql, values.unwrap_or(Values(Vec::new())))
                    .await
            }
            Connections::Sqlite(pool) => {
                pool.fetch_all(&sql, values.unwrap_or(Values(Vec::new())))
                    .await
            }
            Connections::SeaOrm(db) => {
                db.query_all_raw(Statement {
                    sql,
                    values,
                    db_backend,
                })
                .await
            }
        }
    }

    /// The first row of `statement`, if any.
    pub async fn query_one<S: StatementBuilder>(
        &self,
        statement: &S,
    ) -> Result<Option<QueryResult>, DbErr> {
        Ok(self.query_all(statement).await?.into_iter().next())
    }
}

/// Connections taken and put back without a test; opened on demand, up to `size`.
struct RawPool<DB: Database> {
    options: Arc<<DB::Connection as Connection>::Options>,
    idle: Mutex<Vec<DB::Connection>>,
    permits: Semaphore,
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
        }
    }

    async fn fetch_all(&self, sql: &str, values: Values) -> Result<Vec<QueryResult>, DbErr> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| DbErr::Custom("the read connections are closed".to_owned()))?;
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut connection = match idle {
            Some(connection) => connection,
            None => DB::Connection::connect_with(&self.options)
                .await
                .map_err(|err| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))))?,
        };
        let result = sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(values))
            .fetch_all(&mut connection)
            .await;
        // After a database error (a constraint, a bad value) the connection is in a known
        // state: sqlx waits for the server to be ready before its next statement.
        if matches!(&result, Ok(_) | Err(sqlx::Error::Database(_)))
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(connection);
        }
        match result {
            Ok(rows) => Ok(rows.into_iter().map(QueryResult::from).collect()),
            Err(err) => Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))),
        }
    }
}
