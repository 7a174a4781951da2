//! Sign-in state, beside the seven CRM tables: `auth_sessions` (one per sign-in, holding the
//! hash of its current refresh token and of the one it replaced, to detect reuse) and
//! `api_tokens` (personal tokens for scripts and services, stored hashed). Both go with their
//! user (`ON DELETE CASCADE`).

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
                    .table("auth_sessions")
                    .col(id(db))
                    .col(ColumnDef::new("user_id").uuid().not_null())
                    .col(text("refresh_token_hash").not_null().unique_key())
                    .col(text("previous_token_hash"))
                    .col(text("user_agent"))
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "last_used_at"))
                    .col(
                        ColumnDef::new("expires_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("revoked_at").timestamp_with_time_zone())
                    .foreign_key(&mut foreign_key(
                        "auth_sessions",
                        "user_id",
                        "users",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_auth_sessions_user_id",
            "auth_sessions",
            &["user_id"],
        )
        .await?;
        create_index(
            manager,
            "idx_auth_sessions_previous_token_hash",
            "auth_sessions",
            &["previous_token_hash"],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("api_tokens")
                    .col(id(db))
                    .col(ColumnDef::new("user_id").uuid().not_null())
                    .col(text("name").not_null())
                    .col(text("token_prefix").not_null())
                    .col(text("token_hash").not_null().unique_key())
                    .col(timestamp_now(db, "created_at"))
                    .col(ColumnDef::new("last_used_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("expires_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("revoked_at").timestamp_with_time_zone())
                    .foreign_key(&mut foreign_key(
                        "api_tokens",
                        "user_id",
                        "users",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_api_tokens_user_id",
            "api_tokens",
            &["user_id"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "api_tokens").await?;
        drop_table(manager, "auth_sessions").await
    }
}
