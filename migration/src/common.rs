//! Column shapes shared by the seven tables, and the only place where the backends differ.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// SQLite's `now()`, formatted like the RFC 3339 text the application writes, so that
/// timestamps written by the database and by the application compare and sort alike.
pub const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')";

/// `id uuid PRIMARY KEY DEFAULT gen_random_uuid()` (the application makes UUIDv7 ids; the
/// PostgreSQL default serves raw SQL and imports).
pub fn id(backend: DbBackend) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new("id"));
    col.uuid().not_null().primary_key();
    if backend == DbBackend::Postgres {
        col.default(Expr::cust("gen_random_uuid()"));
    }
    col
}

/// A `timestamptz NOT NULL DEFAULT now()` column (`created_at`, `updated_at`).
pub fn timestamp_now(backend: DbBackend, name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.timestamp_with_time_zone()
        .not_null()
        .default(now(backend));
    col
}

fn now(backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Sqlite => Expr::cust(format!("({SQLITE_NOW})")),
        _ => Expr::cust("now()"),
    }
}

/// A `text` column.
pub fn text(name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.text();
    col
}

/// `numeric(14, 2)`: every amount of money.
pub fn money(name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.decimal_len(14, 2).not_null();
    col
}

/// The sum of a money expression over the rows of a subquery, `0` when there are none, exact
/// to the cent on both backends.
pub fn money_sum(backend: DbBackend, expr: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("ROUND(TOTAL({expr}), 2)"),
        _ => format!("COALESCE(SUM({expr}), 0)"),
    }
}

/// `CHECK (column IN (...))` for a text enum column.
pub fn one_of(name: &'static str, values: &[&'static str]) -> Expr {
    Expr::col(Alias::new(name)).is_in(values.iter().copied())
}

/// A foreign key named as PostgreSQL names it by default (`<table>_<column>_fkey`), so that
/// constraint errors can be mapped back to the input field.
pub fn foreign_key(
    table: &'static str,
    column: &'static str,
    target: &'static str,
    on_delete: Option<ForeignKeyAction>,
) -> ForeignKeyCreateStatement {
    let mut fk = ForeignKey::create();
    fk.name(format!("{table}_{column}_fkey"))
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"));
    if let Some(action) = on_delete {
        fk.on_delete(action);
    }
    fk
}

/// `CREATE INDEX <name> ON <table> (<columns>)`.
pub async fn create_index(
    manager: &SchemaManager<'_>,
    name: &'static str,
    table: &'static str,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for column in columns {
        index.col(Alias::new(*column));
    }
    manager.create_index(index).await
}

/// `DROP INDEX <name>` (of `table`).
pub async fn drop_index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
        .await
}

/// `ALTER TABLE <table> ADD COLUMN <column>`.
pub async fn add_column(
    manager: &SchemaManager<'_>,
    table: &'static str,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new(table))
                .add_column(column)
                .to_owned(),
        )
        .await
}

/// `ALTER TABLE <table> DROP COLUMN <column>` for each of `columns`, in order (one statement
/// each: SQLite drops one column per statement).
pub async fn drop_columns(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .drop_column(Alias::new(*column))
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Creates the trigger that keeps `<table>.updated_at` current on every UPDATE.
///
/// PostgreSQL: the reference `update_updated_at_column()` BEFORE UPDATE trigger.
/// SQLite cannot change `NEW` in a BEFORE trigger, so an AFTER UPDATE trigger stamps the row
/// when the statement did not set `updated_at` itself (the application always sets it, and
/// must get back, through RETURNING, the value that is stored).
pub async fn create_updated_at_trigger(
    manager: &SchemaManager<'_>,
    table: &'static str,
) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::Sqlite => format!(
            "CREATE TRIGGER {table}_updated_at AFTER UPDATE ON {table} FOR EACH ROW \
             WHEN NEW.updated_at IS OLD.updated_at \
             BEGIN UPDATE {table} SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END"
        ),
        _ => format!(
            "CREATE TRIGGER {table}_updated_at BEFORE UPDATE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()"
        ),
    };
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

/// Replaces the trigger made by [`create_updated_at_trigger`] by one that fires only when one
/// of `columns` (the row's own columns, as opposed to totals the database keeps on it) changes.
pub async fn limit_updated_at_trigger(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        // One call, so one connection: SQLite's pool connections do not run a migration in
        // one transaction, and one of them may still see the old trigger.
        DbBackend::Sqlite => {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS {table}_updated_at; \
                 CREATE TRIGGER {table}_updated_at AFTER UPDATE OF {columns} ON {table} \
                 FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at \
                 BEGIN UPDATE {table} SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END"
            ))
            .await?;
        }
        _ => {
            drop_updated_at_trigger(manager, table).await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_updated_at BEFORE UPDATE OF {columns} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()"
            ))
            .await?;
        }
    }
    Ok(())
}

/// Drops the trigger made by [`create_updated_at_trigger`].
pub async fn drop_updated_at_trigger(
    manager: &SchemaManager<'_>,
    table: &'static str,
) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::Sqlite => format!("DROP TRIGGER IF EXISTS {table}_updated_at"),
        _ => format!("DROP TRIGGER IF EXISTS {table}_updated_at ON {table}"),
    };
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

/// `DROP TABLE <table>`.
pub async fn drop_table(manager: &SchemaManager<'_>, table: &'static str) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(Alias::new(table)).to_owned())
        .await
}
