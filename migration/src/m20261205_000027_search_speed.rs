//! What the search statement reads quickly: small partial indexes of the archived clients and
//! contracts (search leaves them out by default: one index probe per hit instead of a scan),
//! and, on PostgreSQL, fresh statistics of `search_entries` (filled in one go by the `search`
//! migration: without them the planner scanned the table instead of reading its GIN index).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX clients_archived_idx ON clients (id) WHERE archived_at IS NOT NULL; \
             CREATE INDEX contracts_archived_idx ON contracts (id) WHERE archived_at IS NOT NULL;",
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("ANALYZE search_entries").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP INDEX IF EXISTS clients_archived_idx; DROP INDEX IF EXISTS contracts_archived_idx;",
            )
            .await?;
        Ok(())
    }
}
