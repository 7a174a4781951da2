//! `documents.sha256`: the SHA-256 of an uploaded file's content (hex), computed while the
//! file is stored; null for rows made before uploads were stored by the server.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("documents")
                    .add_column(ColumnDef::new("sha256").text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("documents")
                    .drop_column("sha256")
                    .to_owned(),
            )
            .await
    }
}
