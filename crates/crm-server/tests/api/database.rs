//! The schema itself: migrations, triggers and constraints, on both backends.

use chrono::Utc;
use entity::{
    ClientStatus, ContractStatus, PaymentStatus, Role, clients, contracts, payments, users,
};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, DbErr, EntityTrait, ModelTrait,
    SqlErr, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::helpers::{TestApp, fixtures};

/// A new active client named `name`, to insert.
fn new_client(name: String) -> clients::ActiveModel {
    clients::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_name: Set(name),
        status: Set(ClientStatus::Active),
        kyc_completed: Set(false),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// Runs SQL written with PostgreSQL placeholders (`$1`) on either backend.
async fn execute(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, DbErr> {
    let backend = app.db_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            (1..=values.len()).fold(sql.to_owned(), |s, i| s.replace(&format!("${i}"), "?"))
        }
        _ => sql.to_owned(),
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map(|result| result.rows_affected())
}

test_both! {
    async fn migrations_go_down_and_up_again(app) {
        assert!(Migrator::get_pending_migrations(&app.db).await.unwrap().is_empty());
        // On one connection: another SQLite connection of the pool still reading from before
        // the way down would see the old schema (and its indexes) on the way up.
        let txn = app.db.begin().await.unwrap();
        Migrator::down(&txn, None).await.unwrap();
        assert_eq!(Migrator::get_pending_migrations(&txn).await.unwrap().len(), Migrator::migrations().len());
        let savepoint = txn.begin().await.unwrap();
        assert!(users::Entity::find().all(&savepoint).await.is_err(), "users survived the way down");
        savepoint.rollback().await.unwrap();
        Migrator::up(&txn, None).await.unwrap();
        txn.commit().await.unwrap();
        // A fresh connection: on SQLite, the pool's other connections loaded the schema before
        // the way down, and a schema with a virtual table (search) re-created in the same
        // transaction is not read again by them (a server migrates before it connects its pool).
        let db = sea_orm::Database::connect(app.database_url()).await.unwrap();
        let rep = fixtures::user(&db, "bob", Role::Manager).await;
        fixtures::client(&db, "Back again", Some(rep.id)).await;
    }
}

test_both! {
    async fn the_database_stamps_updated_at_on_a_raw_update(app) {
        let rep = fixtures::user(&app.db, "carol", Role::Commercial).await;
        let before = rep.updated_at;
        let changed = execute(&app, "UPDATE users SET first_name = 'Caroline' WHERE id = $1", vec![rep.id.into()])
            .await
            .unwrap();
        assert_eq!(changed, 1);
        let after = users::Entity::find_by_id(rep.id).one(&app.db).await.unwrap().unwrap();
        assert_eq!(after.first_name, "Caroline");
        assert!(after.updated_at > before, "updated_at not bumped: {}", after.updated_at);
        assert!((Utc::now() - after.updated_at).num_seconds().abs() < 60);
        assert_eq!(after.created_at, rep.created_at);
    }
}

test_both! {
    async fn foreign_keys_are_enforced(app) {
        let err = insert_contract(&app, Uuid::now_v7(), "C-404").await.unwrap_err();
        assert!(matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))), "{err:?}");
    }
}

test_both! {
    async fn check_and_unique_constraints_are_enforced(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let contract = fixtures::contract(&app.db, client.id, "C-1", "100.00", ContractStatus::Active).await;

        let bad_status = execute(&app, "UPDATE clients SET status = 'bogus' WHERE id = $1", vec![client.id.into()]).await;
        assert!(bad_status.is_err(), "a status outside the CHECK was accepted");
        let negative = execute(&app, "UPDATE contracts SET amount = -1 WHERE id = $1", vec![contract.id.into()]).await;
        assert!(negative.is_err(), "a negative amount was accepted");

        let zero_payment = payments::ActiveModel {
            id: Set(Uuid::now_v7()),
            contract_id: Set(contract.id),
            client_id: Set(client.id),
            amount: Set(fixtures::dec("0")),
            payment_date: Set(fixtures::date(2026, 1, 1)),
            status: Set(PaymentStatus::Pending),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&app.db)
        .await;
        assert!(zero_payment.is_err(), "a zero payment was accepted");

        let duplicate = insert_contract(&app, client.id, "C-1").await.unwrap_err();
        assert!(matches!(duplicate.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))), "{duplicate:?}");
    }
}

/// Inserts a draft contract straight through SeaORM, to see what the database itself refuses.
async fn insert_contract(
    app: &TestApp,
    client_id: Uuid,
    number: &str,
) -> Result<contracts::Model, DbErr> {
    contracts::ActiveModel {
        id: Set(Uuid::now_v7()),
        contract_number: Set(number.into()),
        client_id: Set(client_id),
        title: Set("Raw".into()),
        amount: Set(fixtures::dec("1")),
        currency: Set("EUR".into()),
        status: Set(ContractStatus::Draft),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        archived_at: Set(None),
        ..Default::default()
    }
    .insert(&app.db)
    .await
}

test_both! {
    async fn deletes_follow_the_reference_on_delete_rules(app) {
        let rep = fixtures::user(&app.db, "dave", Role::Commercial).await;
        let client = fixtures::client(&app.db, "Acme", Some(rep.id)).await;
        let note = fixtures::note(&app.db, client.id, Some(rep.id), "hello").await;
        let contract = fixtures::contract(&app.db, client.id, "C-9", "5.00", ContractStatus::Draft).await;

        // users → clients.assigned_to and client_notes.user_id: SET NULL.
        rep.clone().delete(&app.db).await.unwrap();
        let client_after = clients::Entity::find_by_id(client.id).one(&app.db).await.unwrap().unwrap();
        assert_eq!(client_after.assigned_to, None);
        assert_eq!(client_after.status, ClientStatus::Active);

        // clients ← contracts: RESTRICT.
        assert!(client_after.clone().delete(&app.db).await.is_err(), "client with contracts deleted");

        // Without contracts, the client goes and its notes cascade.
        contract.delete(&app.db).await.unwrap();
        client_after.delete(&app.db).await.unwrap();
        assert!(entity::client_notes::Entity::find_by_id(note.id).one(&app.db).await.unwrap().is_none());
    }
}

test_both! {
    async fn read_connections_outlive_failed_and_abandoned_statements(app) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::Duration;

        use crm_server::engine::reader::Reader;
        use sea_orm::sea_query::{Alias, Expr, Query};

        let counted = Arc::new(AtomicU64::new(0));
        let counter = counted.clone();
        let reader = Reader::new(&app.db, Arc::new(move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let select = |sql: &str| Query::select().expr_as(Expr::cust(sql.to_owned()), Alias::new("v")).to_owned();
        let one = select("1 + 1");

        // Warmed up, the reader holds as many connections as the pool it copies (4 in tests).
        let sessions = || async {
            let row = app.db.query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                // The change feed's listener connects on its own schedule: not counted.
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name <> 'crm-change-listener'",
            ))
            .await
            .unwrap()
            .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        };
        let before = if app.db_backend() == DbBackend::Postgres { sessions().await } else { 0 };
        reader.warm().await.unwrap();
        if app.db_backend() == DbBackend::Postgres {
            assert_eq!(sessions().await - before, 4);
        }
        assert_eq!(counted.load(Ordering::SeqCst), 0, "warming runs no statement");

        // A statement the database refuses: an error, and the connection serves the next one.
        assert!(reader.query_all(&select("no_such_function()")).await.is_err());
        // A statement abandoned half way (its request went away) takes its connection with it.
        let slow = select(match app.db_backend() {
            DbBackend::Postgres => "(SELECT count(*) FROM pg_sleep(2))",
            _ => "(WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000000) SELECT count(*) FROM n)",
        });
        assert!(tokio::time::timeout(Duration::from_millis(50), reader.query_all(&slow)).await.is_err());

        // More statements than the pool has connections (4 in tests), at once: every one gets a
        // connection and the right answer, so none was lost or left half-read.
        let answers = tokio::time::timeout(
            Duration::from_secs(20),
            futures_util::future::join_all((0..12).map(|_| reader.query_one(&one))),
        )
        .await
        .expect("no connection was lost");
        for answer in answers {
            let row = answer.unwrap().unwrap();
            assert_eq!(row.try_get_by_index::<i32>(0).unwrap(), 2);
        }
        assert_eq!(counted.load(Ordering::SeqCst), 14, "every statement is counted");
    }
}

/// `read_at` (the read path's decoding) answers what SeaORM's own reading answers, value for
/// value, errors included: on PostgreSQL from the binary format, on SQLite from the stored
/// value, for the model types; everything else (NaN, other column types or storage classes,
/// other date texts) is left to SeaORM, except PostgreSQL's infinite dates, on which sqlx
/// panics: an error. SQLite decimals are read from the double's shortest text.
mod read_by_position {
    use std::fmt::Debug;

    use chrono::{DateTime, NaiveDate, Utc};
    use crm_server::engine::decode::{ReadAt, read_at};
    use entity::{ContractStatus, PaymentStatus};
    use rust_decimal::Decimal;
    use sea_orm::sqlx::Row;
    use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement};
    use uuid::Uuid;

    use crate::helpers::TestApp;

    /// Reads column `index` both ways; `fast`: whether the direct reading answers.
    fn same<T: ReadAt + Debug>(row: &QueryResult, index: usize, fast: bool) {
        let read = format!("{:?}", read_at::<T>(row, index));
        let usual = format!("{:?}", row.try_get_by_index::<T>(index));
        let what = format!("column {index} as {}", std::any::type_name::<T>());
        assert_eq!(read, usual, "{what}");
        assert_eq!(direct::<T>(row, index), fast, "{what}");
    }

    /// Whether the backend's direct reading answers for column `index`.
    fn direct<T: ReadAt>(row: &QueryResult, index: usize) -> bool {
        if let Some(pg) = row.try_as_pg_row() {
            T::read_pg(&pg.try_get_raw(index).unwrap()).is_some()
        } else if let Some(sqlite) = row.try_as_sqlite_row() {
            T::read_sqlite(sqlite.try_get_raw(index).unwrap()).is_some()
        } else {
            false
        }
    }

    /// Column `index` is an error, not a panic.
    fn refused<T: ReadAt + Debug>(row: &QueryResult, index: usize) {
        let read = read_at::<T>(row, index);
        assert!(read.is_err(), "column {index}: {read:?}");
    }

    async fn row(app: &TestApp, sql: &str) -> QueryResult {
        let statement = Statement::from_string(app.db_backend(), sql);
        app.db.query_one_raw(statement).await.unwrap().unwrap()
    }

    test_both! {
        async fn values_read_by_position_are_what_seaorm_reads(app) {
            if app.db_backend() == DbBackend::Sqlite {
                let row = row(
                    &app,
                    "SELECT 44770.48, -0.01, 0.05, NULL, 100, 'x', 3, '2026-11-30', '2026-1-30', \
                     '2026-11-30T07:12:29.123456+00:00', '2026-11-30 07:12:29', \
                     X'0123456789abcdef0123456789abcdef', 'completed', 'nope', 1, 0, \
                     '0123456789abcdef0123456789abcdef'",
                )
                .await;
                // SeaORM gave the doubles' binary expansion (44770.479999…): the stored
                // digits instead; integers as they are.
                for (index, text) in [(0, "44770.48"), (1, "-0.01"), (2, "0.05"), (4, "100")] {
                    assert_eq!(read_at::<Decimal>(&row, index).unwrap().to_string(), text);
                    assert!(direct::<Decimal>(&row, index));
                }
                assert_eq!(read_at::<Option<Decimal>>(&row, 3).unwrap(), None);
                assert!(read_at::<Decimal>(&row, 3).is_err());
                same::<String>(&row, 5, true);
                same::<i64>(&row, 6, true);
                same::<NaiveDate>(&row, 7, true);
                same::<NaiveDate>(&row, 8, false); // not YYYY-MM-DD: sqlx's parsing
                same::<DateTime<Utc>>(&row, 9, true);
                same::<DateTime<Utc>>(&row, 10, false); // not RFC 3339: sqlx's formats
                same::<Uuid>(&row, 11, true);
                same::<PaymentStatus>(&row, 12, true);
                same::<ContractStatus>(&row, 12, true);
                same::<PaymentStatus>(&row, 13, false);
                same::<bool>(&row, 14, true);
                same::<bool>(&row, 15, true);
                same::<Option<Uuid>>(&row, 3, true);
                same::<String>(&row, 6, false); // an integer
                same::<Uuid>(&row, 16, false); // text, not a blob
                return;
            }
            let row = row(
                &app,
                "SELECT '44770.48'::numeric(14, 2), '-0.01'::numeric(14, 2), 0::numeric(14, 2), \
                 '999999999999.99'::numeric(14, 2), '1.2345'::numeric, 1e20::numeric, \
                 'NaN'::numeric, NULL::numeric, '2026-11-30'::date, '1999-12-31'::date, \
                 'infinity'::date, NULL::date, '2026-11-30 07:12:29.123456+00'::timestamptz, \
                 '1970-01-01 00:00:00+00'::timestamptz, 'infinity'::timestamptz, \
                 'bdb1dd10-5679-979c-a82b-28edd1c8ccd2'::uuid, 'Société'::text, 'completed', \
                 'nope', true, 9007199254740993::int8, 5::int4, 'x'::varchar(10), NULL::uuid",
            )
            .await;
            for index in 0..6 {
                same::<Decimal>(&row, index, true);
                same::<Option<Decimal>>(&row, index, true);
            }
            same::<Decimal>(&row, 6, false); // NaN
            same::<Option<Decimal>>(&row, 7, true);
            same::<Decimal>(&row, 7, false); // null in a non-null field
            same::<NaiveDate>(&row, 8, true);
            same::<NaiveDate>(&row, 9, true);
            refused::<NaiveDate>(&row, 10); // infinity
            same::<Option<NaiveDate>>(&row, 11, true);
            same::<DateTime<Utc>>(&row, 12, true);
            same::<DateTime<Utc>>(&row, 13, true);
            refused::<DateTime<Utc>>(&row, 14); // infinity
            refused::<Option<DateTime<Utc>>>(&row, 14);
            same::<Uuid>(&row, 15, true);
            same::<String>(&row, 16, true);
            same::<PaymentStatus>(&row, 17, true);
            same::<ContractStatus>(&row, 17, true);
            same::<PaymentStatus>(&row, 18, false); // not a status
            same::<bool>(&row, 19, true);
            same::<i64>(&row, 20, true);
            same::<i64>(&row, 21, false); // int4
            same::<String>(&row, 22, true);
            same::<Option<Uuid>>(&row, 23, true);
            same::<Uuid>(&row, 16, false); // text
        }
    }
}

/// SQLite acknowledges a commit once it is on disk unless told otherwise.
#[tokio::test]
async fn sqlite_commits_are_on_disk_by_default() {
    use crm_server::db::{Durability, connect, connect_with};
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("durable.db").display()
    );
    let synchronous = async |db: &sea_orm::DatabaseConnection| {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA synchronous",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    // 2 = FULL, 1 = NORMAL.
    assert_eq!(synchronous(&connect(&url, 1).await.unwrap()).await, 2);
    let normal = connect_with(&url, 1, Durability::Normal).await.unwrap();
    assert_eq!(synchronous(&normal).await, 1);
    // The server's setting defaults to FULL.
    let config = crate::helpers::test_config();
    assert_eq!(config.database.sqlite_synchronous, Durability::Full);
}

/// Every table's rows, as text, sorted: what a restore must give back exactly.
async fn fingerprint(db: &sea_orm::DatabaseConnection) -> Vec<(&'static str, usize, String)> {
    use sea_orm::EntityTrait;
    macro_rules! tables {
        ($($table:ident),*) => {{
            let mut tables = Vec::new();
            $(
                let mut rows: Vec<String> = entity::$table::Entity::find()
                    .all(db)
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| format!("{row:?}"))
                    .collect();
                rows.sort();
                tables.push((stringify!($table), rows.len(), rows.join("\n")));
            )*
            tables
        }};
    }
    tables!(
        users,
        clients,
        contracts,
        payments,
        documents,
        client_notes,
        oauth_email_accounts,
        auth_sessions,
        api_tokens
    )
}

test_both! {
    async fn a_backup_restores_every_row_it_copied(app) {
        // SQLite is restored with the server stopped: a database of its own, no server on it.
        let sqlite_dir = tempfile::tempdir().unwrap();
        let (db, url) = if app.db_backend() == DbBackend::Sqlite {
            let url = format!("sqlite://{}?mode=rwc", sqlite_dir.path().join("crm.db").display());
            let db = crm_server::db::connect(&url, 2).await.unwrap();
            crm_server::db::migrate(&db).await.unwrap();
            (db, url)
        } else {
            (app.db.clone(), app.database_url())
        };
        let client = fixtures::client(&db, "Backed up", None).await;
        let contract = fixtures::contract(&db, client.id, "BK-1", "500.00", ContractStatus::Active).await;
        fixtures::payment(&db, &contract, "125.00", PaymentStatus::Completed).await;
        let before = fingerprint(&db).await;
        assert!(before.iter().any(|(table, rows, _)| *table == "payments" && *rows == 1));

        let mut config = crate::helpers::test_config();
        config.database.database_url = Some(url.clone());
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("crm.backup");
        crm_server::backup::backup(&config.database, &copy).await.unwrap();
        // A second backup never overwrites the first.
        assert!(crm_server::backup::backup(&config.database, &copy).await.is_err());

        // Changes after the copy…
        fixtures::client(&db, "After the backup", None).await;
        payments::Entity::delete_many().exec(&db).await.unwrap();
        assert_ne!(fingerprint(&db).await, before);

        // …are gone once it is restored: every table as it was.
        if app.db_backend() == DbBackend::Sqlite {
            db.close().await.unwrap();
            crm_server::backup::restore(&config.database, &copy).await.unwrap();
            let reopened = crm_server::db::connect(&url, 1).await.unwrap();
            assert_eq!(fingerprint(&reopened).await, before);
            reopened.close().await.unwrap();
        } else {
            crm_server::backup::restore(&config.database, &copy).await.unwrap();
            assert_eq!(fingerprint(&db).await, before);
        }
        // Not a copy of ours: refused, nothing replaced.
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a database").unwrap();
        assert!(crm_server::backup::restore(&config.database, &junk).await.is_err());
    }
}

#[tokio::test]
async fn instances_starting_together_on_an_empty_postgres_database_migrate_it_once() {
    let Some(_app) = TestApp::spawn(crate::helpers::Backend::Postgres).await else {
        return;
    };
    let admin = sea_orm::Database::connect(crate::helpers::pg_admin_url())
        .await
        .unwrap();
    let name = format!("crm_test_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let mut url = url::Url::parse(&crate::helpers::pg_admin_url()).unwrap();
    url.set_path(&name);
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(crm_server::db::connect(url.as_str(), 2).await.unwrap());
    }
    let results =
        futures_util::future::join_all(instances.iter().map(crm_server::db::migrate)).await;
    for result in results {
        assert!(result.is_ok(), "{result:?}");
    }
    assert!(
        crm_server::db::migrations_current(&instances[0])
            .await
            .unwrap()
    );
    for db in instances {
        db.close().await.unwrap();
    }
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
}

test_both! {
    /// A new database: the server's pool is opened on it, and its first statements land on
    /// every connection at once; all of them find the tables (on SQLite, connections opened
    /// before the migrations answered their first statement from the empty schema).
    async fn every_connection_of_a_new_database_finds_the_tables(app) {
        let fresh = match app.db_backend() {
            DbBackend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite://{}?mode=rwc", dir.path().join("new.db").display()), Some(dir))
            }
            _ => (app.database_url(), None),
        };
        if app.db_backend() == DbBackend::Postgres {
            // The app's database is migrated already: start it over.
            let txn = app.db.begin().await.unwrap();
            Migrator::down(&txn, None).await.unwrap();
            txn.commit().await.unwrap();
        }
        let db = crm_server::db::open(&fresh.0, 4, crm_server::db::Durability::Full, true)
            .await
            .unwrap();
        let writes = (0..8).map(|i| {
            let db = db.clone();
            async move {
                new_client(format!("First {i}"))
                    .insert(&db)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        });
        let answers = futures_util::future::join_all(writes).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        db.close().await.unwrap();
    }
}

/// SQLite's write transactions take turns on the file's writer, first come first served: while
/// one is open, the others wait without holding a connection of the pool, so reads go on (left
/// to SQLite's lock, each waiting writer slept on a connection of its own and a read waited
/// for one); once it commits they run in the order they asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_take_turns_without_holding_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("turns.db").display()
    );
    let db = crm_server::db::open(&url, 2, crm_server::db::Durability::Full, true)
        .await
        .unwrap();
    let first = crm_server::db::begin_write(&db).await.unwrap();
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut waiting = Vec::new();
    for i in 0..4 {
        let (db, order) = (db.clone(), order.clone());
        waiting.push(tokio::spawn(async move {
            let txn = crm_server::db::begin_write(&db).await.unwrap();
            order.lock().unwrap().push(i);
            new_client(format!("Writer {i}"))
                .insert(&txn)
                .await
                .unwrap();
            txn.commit().await.unwrap();
        }));
        // Each asks after the one before.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Four writers wait; the pool's two connections are free for reads.
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        clients::Entity::find().all(&db),
    )
    .await;
    assert!(
        matches!(read, Ok(Ok(ref rows)) if rows.is_empty()),
        "{read:?}"
    );
    assert!(order.lock().unwrap().is_empty());
    first.commit().await.unwrap();
    for writer in waiting {
        writer.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(clients::Entity::find().all(&db).await.unwrap().len(), 4);
    // Closed with the pool: the last connection out checkpoints and removes the write-ahead log.
    crm_server::db::close(&db).await.unwrap();
    assert!(!dir.path().join("turns.db-wal").exists());
}
