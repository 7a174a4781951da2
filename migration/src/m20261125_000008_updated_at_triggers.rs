//! `update_updated_at_column()` and the seven triggers that keep `updated_at` current.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{create_updated_at_trigger, drop_updated_at_trigger};

const TABLES: [&str; 7] = [
    "users",
    "clients",
    "contracts",
    "payments",
    "documents",
    "client_notes",
    "oauth_email_accounts",
];

const PG_FUNCTION: &str = "CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(PG_FUNCTION)
                .await?;
        }
        for table in TABLES {
            create_updated_at_trigger(manager, table).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            drop_updated_at_trigger(manager, table).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS update_updated_at_column()")
                .await?;
        }
        Ok(())
    }
}
