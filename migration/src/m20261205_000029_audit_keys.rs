//! `audit_entries` keyed by what reads it: `(client_id, row_id, id)` (a client's timeline, a
//! row's changes newest first) instead of the id and two more indexes. Each audited update
//! then writes one index entry instead of three (SQLite: the table itself, `WITHOUT ROWID`,
//! instead of four B-trees). A row's client never changes, so its entries stay together.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite's table `audit_entries` again, `key` its primary key and `rest` what follows it.
fn sqlite_table(key: &str, rest: &str) -> String {
    format!(
        "CREATE TABLE audit_entries_new (\
           id BLOB NOT NULL, \
           table_name TEXT NOT NULL, \
           row_id BLOB NOT NULL, \
           client_id BLOB NOT NULL, \
           field TEXT NOT NULL, \
           old_value TEXT, \
           new_value TEXT, \
           actor_id BLOB, \
           request_id TEXT, \
           changed_at TEXT NOT NULL, \
           PRIMARY KEY ({key})){rest}; \
         INSERT INTO audit_entries_new SELECT id, table_name, row_id, client_id, field, old_value, \
           new_value, actor_id, request_id, changed_at FROM audit_entries; \
         DROP TABLE audit_entries; \
         ALTER TABLE audit_entries_new RENAME TO audit_entries;"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sql = match manager.get_database_backend() {
            DbBackend::Sqlite => sqlite_table("client_id, row_id, id", " WITHOUT ROWID"),
            _ => "DROP INDEX IF EXISTS audit_entries_row_idx; \
                  DROP INDEX IF EXISTS audit_entries_client_idx; \
                  ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_pkey; \
                  ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_pkey \
                    PRIMARY KEY (client_id, row_id, id);"
                .to_owned(),
        };
        db.execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let indexes = "CREATE INDEX audit_entries_row_idx ON audit_entries \
                         (table_name, row_id, changed_at, id); \
                       CREATE INDEX audit_entries_client_idx ON audit_entries (client_id);";
        let sql = match manager.get_database_backend() {
            DbBackend::Sqlite => format!("{} {indexes}", sqlite_table("id", "")),
            _ => format!(
                "ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_pkey; \
                 ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_pkey PRIMARY KEY (id); \
                 {indexes}"
            ),
        };
        db.execute_unprepared(&sql).await?;
        Ok(())
    }
}
