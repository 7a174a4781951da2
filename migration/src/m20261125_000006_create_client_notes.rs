//! `client_notes`, with the indexes on its client and author.

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
                    .table("client_notes")
                    .col(id(db))
                    .col(ColumnDef::new("client_id").uuid().not_null())
                    .col(ColumnDef::new("user_id").uuid())
                    .col(text("note_type").not_null().default("note"))
                    .col(text("content").not_null())
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "updated_at"))
                    .foreign_key(&mut foreign_key(
                        "client_notes",
                        "client_id",
                        "clients",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .foreign_key(&mut foreign_key(
                        "client_notes",
                        "user_id",
                        "users",
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "client_notes_client_id_idx",
            "client_notes",
            &["client_id"],
        )
        .await?;
        create_index(
            manager,
            "client_notes_user_id_idx",
            "client_notes",
            &["user_id"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "client_notes").await
    }
}
