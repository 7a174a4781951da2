//! `clients (email)`: a client found by its e-mail (the CSV import's key, the `email` filter's
//! `eq` and `in`) reads the index instead of every client (an import of 100,000 clients looked
//! each one up in a table growing to 110,000 rows).

use sea_orm_migration::prelude::*;

use crate::common::{create_index, drop_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_index(manager, "clients_email_idx", "clients", &["email"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index(manager, "clients_email_idx", "clients").await
    }
}
