//! A mailbox connection is completed by the user who started it: the callback keeps the
//! exchanged tokens (encrypted) and the address on the `oauth_states` row, under a one-time
//! completion code (`completion_hash`, its SHA-256) that the signed-in user's
//! `completeEmailAccountConnection` presents. Someone else completing the consent screen (a
//! link sent by a colleague) therefore attaches nothing to the colleague's account.

use sea_orm_migration::prelude::*;

use crate::common::{add_column, drop_columns, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns added, in order.
const COLUMNS: [&str; 5] = [
    "completion_hash",
    "address",
    "access_token",
    "refresh_token",
    "token_expires_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in &COLUMNS[..4] {
            add_column(manager, "oauth_states", text(column)).await?;
        }
        add_column(
            manager,
            "oauth_states",
            ColumnDef::new("token_expires_at")
                .timestamp_with_time_zone()
                .to_owned(),
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("oauth_states_completion_idx")
                    .table("oauth_states")
                    .col("completion_hash")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("oauth_states_completion_idx")
                    .table("oauth_states")
                    .to_owned(),
            )
            .await?;
        let mut reversed = COLUMNS;
        reversed.reverse();
        drop_columns(manager, "oauth_states", &reversed).await
    }
}
