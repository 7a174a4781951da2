//! `documents.sha256`: the SHA-256 of an uploaded file's content (hex), computed while the
//! file is stored; null for rows made before uploads were stored by the server.

use sea_orm_migration::prelude::*;

use crate::common::{add_column, drop_columns, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, "documents", text("sha256")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, "documents", &["sha256"]).await
    }
}
