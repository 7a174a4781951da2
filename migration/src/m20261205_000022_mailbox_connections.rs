//! Connecting mailboxes through the provider's consent screen: `oauth_states` (one per
//! authorisation started: the hash of its `state`, the user it is bound to, the PKCE verifier
//! encrypted; used once, within minutes) and, on `oauth_email_accounts`, what the token refresh
//! keeps: `needs_reconnect` (the provider refused the refresh token: the user must connect
//! again), `refresh_error`, `refreshed_at` and `refresh_lease_until` (an instance refreshing
//! it).

use sea_orm_migration::prelude::*;

use crate::common::{add_column, drop_columns, drop_table, foreign_key, text, timestamp_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("oauth_states")
                    .col(text("state_hash").not_null().primary_key())
                    .col(ColumnDef::new("user_id").uuid().not_null())
                    .col(text("provider").not_null())
                    .col(text("code_verifier").not_null())
                    .col(text("return_to"))
                    .col(
                        ColumnDef::new("expires_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(timestamp_now(backend, "created_at"))
                    .foreign_key(&mut foreign_key(
                        "oauth_states",
                        "user_id",
                        "users",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .to_owned(),
            )
            .await?;
        add_column(
            manager,
            "oauth_email_accounts",
            ColumnDef::new("needs_reconnect")
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
        )
        .await?;
        add_column(manager, "oauth_email_accounts", text("refresh_error")).await?;
        add_column(
            manager,
            "oauth_email_accounts",
            ColumnDef::new("refreshed_at")
                .timestamp_with_time_zone()
                .to_owned(),
        )
        .await?;
        add_column(
            manager,
            "oauth_email_accounts",
            ColumnDef::new("refresh_lease_until")
                .timestamp_with_time_zone()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            "oauth_email_accounts",
            &[
                "refresh_lease_until",
                "refreshed_at",
                "refresh_error",
                "needs_reconnect",
            ],
        )
        .await?;
        drop_table(manager, "oauth_states").await
    }
}
