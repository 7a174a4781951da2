//! Webhooks: `webhooks` (the endpoints admins register, their signing secret encrypted like
//! mailbox tokens), `webhook_outbox` (the changes still to turn into deliveries) and
//! `webhook_deliveries` (one per event and endpoint: the body sent, its attempts, the last
//! answer; the delivery log).
//!
//! The outbox is filled by a trigger on `change_events`, so in the same transaction as the
//! change, whatever made it, and only while some endpoint is enabled (otherwise a change costs
//! one existence check on a table of a few rows). The dispatcher moves its entries to
//! deliveries and deletes them in one transaction: an entry is never lost nor dispatched twice,
//! and an uncommitted change is not seen until it commits (no gap to wait for, unlike a reader
//! of `change_events` by sequence number).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{create_index, drop_table, foreign_key, id, text, timestamp_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("webhooks")
                    .col(id(backend))
                    .col(text("url").not_null())
                    .col(text("description"))
                    // Event names, comma-separated (`client.created,payment.created`).
                    .col(text("events").not_null())
                    .col(text("secret").not_null())
                    .col(ColumnDef::new("created_by").uuid())
                    .col(
                        ColumnDef::new("consecutive_failures")
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new("failing_since").timestamp_with_time_zone())
                    .col(ColumnDef::new("last_success_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("disabled_at").timestamp_with_time_zone())
                    .col(text("disabled_reason"))
                    .col(timestamp_now(backend, "created_at"))
                    .col(timestamp_now(backend, "updated_at"))
                    .foreign_key(&mut foreign_key(
                        "webhooks",
                        "created_by",
                        "users",
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(id(backend))
                    .col(ColumnDef::new("webhook_id").uuid().not_null())
                    .col(ColumnDef::new("event_id").uuid().not_null())
                    .col(text("event_type").not_null())
                    .col(text("payload").not_null())
                    .col(text("status").not_null().check(Expr::col("status").is_in([
                        "pending",
                        "delivered",
                        "failed",
                    ])))
                    .col(ColumnDef::new("attempts").integer().not_null().default(0))
                    .col(ColumnDef::new("next_attempt_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("last_attempt_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("response_status").integer())
                    .col(text("response_body"))
                    .col(text("error"))
                    .col(ColumnDef::new("duration_ms").integer())
                    .col(ColumnDef::new("delivered_at").timestamp_with_time_zone())
                    .col(timestamp_now(backend, "created_at"))
                    .foreign_key(&mut foreign_key(
                        "webhook_deliveries",
                        "webhook_id",
                        "webhooks",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .to_owned(),
            )
            .await?;
        // The worker's claim: pending deliveries by when they are due.
        create_index(
            manager,
            "webhook_deliveries_due_idx",
            "webhook_deliveries",
            &["status", "next_attempt_at"],
        )
        .await?;
        // An endpoint's log, newest first (ids are UUIDv7: by time).
        create_index(
            manager,
            "webhook_deliveries_webhook_idx",
            "webhook_deliveries",
            &["webhook_id", "id"],
        )
        .await?;
        let db = manager.get_connection();
        match backend {
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE TABLE webhook_outbox (\
                       seq INTEGER PRIMARY KEY, \
                       table_name TEXT NOT NULL, \
                       row_id TEXT NOT NULL, \
                       client_id TEXT, \
                       operation TEXT NOT NULL, \
                       created_at TEXT NOT NULL); \
                     CREATE TRIGGER change_events_webhook_outbox AFTER INSERT ON change_events \
                     WHEN NEW.table_name <> 'credentials' \
                       AND EXISTS (SELECT 1 FROM webhooks WHERE disabled_at IS NULL) \
                     BEGIN \
                       INSERT INTO webhook_outbox (seq, table_name, row_id, client_id, operation, created_at) \
                       VALUES (NEW.seq, NEW.table_name, NEW.row_id, NEW.client_id, NEW.operation, NEW.created_at); \
                     END;",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TABLE webhook_outbox (\
                       seq BIGINT PRIMARY KEY, \
                       table_name TEXT NOT NULL, \
                       row_id UUID NOT NULL, \
                       client_id UUID, \
                       operation TEXT NOT NULL, \
                       created_at TIMESTAMPTZ NOT NULL); \
                     CREATE FUNCTION change_events_to_webhook_outbox() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       IF EXISTS (SELECT 1 FROM webhooks WHERE disabled_at IS NULL) THEN \
                         INSERT INTO webhook_outbox (seq, table_name, row_id, client_id, operation, created_at) \
                         VALUES (NEW.seq, NEW.table_name, NEW.row_id, NEW.client_id, NEW.operation, NEW.created_at); \
                       END IF; \
                       RETURN NULL; \
                     END $$; \
                     CREATE TRIGGER change_events_webhook_outbox AFTER INSERT ON change_events \
                     FOR EACH ROW WHEN (NEW.table_name <> 'credentials') \
                     EXECUTE FUNCTION change_events_to_webhook_outbox();",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS change_events_webhook_outbox")
                    .await?;
            }
            _ => {
                db.execute_unprepared(
                    "DROP TRIGGER IF EXISTS change_events_webhook_outbox ON change_events; \
                     DROP FUNCTION IF EXISTS change_events_to_webhook_outbox();",
                )
                .await?;
            }
        }
        drop_table(manager, "webhook_outbox").await?;
        drop_table(manager, "webhook_deliveries").await?;
        drop_table(manager, "webhooks").await
    }
}
