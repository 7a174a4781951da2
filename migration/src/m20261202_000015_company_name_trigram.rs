//! PostgreSQL: a trigram index (`pg_trgm`) on `clients.company_name_lower`, so that the name
//! search (`companyName: { contains… }`, `LIKE '%…%'` on the lower-cased name) reads the
//! index instead of every client once the pattern has three characters or more. SQLite has
//! no such index: the search scans the table there (see the README's limits).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS clients_company_name_trgm ON clients \
             USING gin (company_name_lower gin_trgm_ops)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS clients_company_name_trgm")
            .await?;
        Ok(())
    }
}
