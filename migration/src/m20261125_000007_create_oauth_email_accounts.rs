//! `oauth_email_accounts`; its UNIQUE (user_id, provider, email) also serves as the index on
//! `user_id`.

use sea_orm_migration::prelude::*;

use crate::common::{drop_table, foreign_key, id, text, timestamp_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("oauth_email_accounts")
                    .col(id(db))
                    .col(ColumnDef::new("user_id").uuid().not_null())
                    .col(text("provider").not_null())
                    .col(text("email").not_null())
                    .col(text("access_token"))
                    .col(text("refresh_token"))
                    .col(ColumnDef::new("token_expires_at").timestamp_with_time_zone())
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "updated_at"))
                    .foreign_key(&mut foreign_key(
                        "oauth_email_accounts",
                        "user_id",
                        "users",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .index(
                        Index::create()
                            .name("oauth_email_accounts_user_id_provider_email_key")
                            .unique()
                            .col("user_id")
                            .col("provider")
                            .col("email"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "oauth_email_accounts").await
    }
}
