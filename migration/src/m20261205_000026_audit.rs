//! `audit_entries`: every field an update through the API changed on a client, contract or
//! payment, with its old and new value (as text), who changed it, when, and the request's id;
//! written in the update's own transaction (rolled back with it). Secrets never appear in it
//! (those tables hold none; the writer refuses such columns).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::drop_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let (uuid, time) = match manager.get_database_backend() {
            DbBackend::Sqlite => ("BLOB", "TEXT"),
            _ => ("UUID", "TIMESTAMPTZ"),
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE audit_entries (\
               id {uuid} NOT NULL PRIMARY KEY, \
               table_name TEXT NOT NULL, \
               row_id {uuid} NOT NULL, \
               client_id {uuid} NOT NULL, \
               field TEXT NOT NULL, \
               old_value TEXT, \
               new_value TEXT, \
               actor_id {uuid}, \
               request_id TEXT, \
               changed_at {time} NOT NULL); \
             CREATE INDEX audit_entries_row_idx ON audit_entries (table_name, row_id, changed_at, id); \
             CREATE INDEX audit_entries_client_idx ON audit_entries (client_id);"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "audit_entries").await
    }
}
