//! `change_events`: the log of changes to the rows live updates are about (clients,
//! contracts, payments, client notes, documents), written by triggers in the same transaction
//! as the change, whatever made it (the API, a CLI, SQL). Each entry names the table, the row,
//! its client and the operation, never the row itself: subscribers re-read the row under their
//! own access rules. `seq` orders the log; a reader resumes after the last `seq` it saw (on
//! SQLite a rowid, not AUTOINCREMENT, which costs a write per change: the newest entry is never
//! pruned, so numbers are never reused). No index besides the key: pruning goes by `seq`. No
//! `NOTIFY` here: a notification serialises the commits of every session that sends one
//! (PostgreSQL's notification queue lock), a third of the write rate at 16 writers; the
//! server that wrote notifies the others once per batch of writes instead (see the feed).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{SQLITE_NOW, drop_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose changes are logged, and how a row names its client.
const LOGGED: [(&str, &str); 5] = [
    ("clients", "id"),
    ("contracts", "client_id"),
    ("payments", "client_id"),
    ("client_notes", "client_id"),
    ("documents", "client_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let mut sql = format!(
                    "CREATE TABLE change_events (\
                       seq INTEGER PRIMARY KEY, \
                       table_name TEXT NOT NULL, \
                       row_id TEXT NOT NULL, \
                       client_id TEXT, \
                       operation TEXT NOT NULL CHECK (operation IN ('created', 'updated', 'deleted')), \
                       created_at TEXT NOT NULL DEFAULT ({SQLITE_NOW}));"
                );
                for (table, client) in LOGGED {
                    for (event, row, operation) in [
                        ("INSERT", "NEW", "created"),
                        ("UPDATE", "NEW", "updated"),
                        ("DELETE", "OLD", "deleted"),
                    ] {
                        sql.push_str(&format!(
                            " CREATE TRIGGER {table}_change_{operation} AFTER {event} ON {table} \
                              FOR EACH ROW BEGIN \
                              INSERT INTO change_events (table_name, row_id, client_id, operation) \
                              VALUES ('{table}', {row}.id, {row}.{client}, '{operation}'); END;"
                        ));
                    }
                }
                db.execute_unprepared(&sql).await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TABLE change_events (\
                       seq BIGSERIAL PRIMARY KEY, \
                       table_name TEXT NOT NULL, \
                       row_id UUID NOT NULL, \
                       client_id UUID, \
                       operation TEXT NOT NULL CHECK (operation IN ('created', 'updated', 'deleted')), \
                       created_at TIMESTAMPTZ NOT NULL DEFAULT now());",
                )
                .await?;
                // One function per table: its client column is read statically.
                for (table, client) in LOGGED {
                    db.execute_unprepared(&format!(
                        "CREATE FUNCTION {table}_log_change() RETURNS trigger LANGUAGE plpgsql AS $$ \
                         BEGIN \
                           IF TG_OP = 'DELETE' THEN \
                             INSERT INTO change_events (table_name, row_id, client_id, operation) \
                             VALUES ('{table}', OLD.id, OLD.{client}, 'deleted'); \
                           ELSE \
                             INSERT INTO change_events (table_name, row_id, client_id, operation) \
                             VALUES ('{table}', NEW.id, NEW.{client}, \
                                     CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END); \
                           END IF; \
                           RETURN NULL; \
                         END $$; \
                         CREATE TRIGGER {table}_change AFTER INSERT OR UPDATE OR DELETE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION {table}_log_change();"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let mut sql = String::new();
                for (table, _) in LOGGED {
                    for operation in ["created", "updated", "deleted"] {
                        sql.push_str(&format!(
                            "DROP TRIGGER IF EXISTS {table}_change_{operation}; "
                        ));
                    }
                }
                db.execute_unprepared(&sql).await?;
            }
            _ => {
                for (table, _) in LOGGED {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_change ON {table}; \
                         DROP FUNCTION IF EXISTS {table}_log_change();"
                    ))
                    .await?;
                }
            }
        }
        drop_table(manager, "change_events").await
    }
}
