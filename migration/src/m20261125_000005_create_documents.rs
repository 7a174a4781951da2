//! `documents`, with the indexes on its client, contract and uploader.

use sea_orm_migration::prelude::*;

use crate::common::{create_index, drop_table, foreign_key, id, text, timestamp_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("documents")
                    .col(id(db))
                    .col(ColumnDef::new("client_id").uuid().not_null())
                    .col(ColumnDef::new("contract_id").uuid())
                    .col(ColumnDef::new("uploaded_by").uuid())
                    .col(text("file_name").not_null())
                    .col(text("file_path").not_null())
                    .col(text("mime_type"))
                    .col(ColumnDef::new("file_size").big_integer())
                    .col(text("document_type"))
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "updated_at"))
                    .foreign_key(&mut foreign_key(
                        "documents",
                        "client_id",
                        "clients",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .foreign_key(&mut foreign_key(
                        "documents",
                        "contract_id",
                        "contracts",
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .foreign_key(&mut foreign_key("documents", "uploaded_by", "users", None))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "documents_client_id_idx",
            "documents",
            &["client_id"],
        )
        .await?;
        create_index(
            manager,
            "documents_contract_id_idx",
            "documents",
            &["contract_id"],
        )
        .await?;
        create_index(
            manager,
            "documents_uploaded_by_idx",
            "documents",
            &["uploaded_by"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "documents").await
    }
}
