//! `spent_refresh_tokens`: the digest of every refresh token a session has exchanged, so that
//! presenting any earlier token of a session (not only the last one) ends the whole session.
//! A row lives as long as its session (`expires_at` is the session's, for pruning; `ON DELETE
//! CASCADE` with it). Replaces `auth_sessions.previous_token_hash`, whose values are carried
//! over.

use sea_orm_migration::prelude::*;

use crate::common::{
    add_column, create_index, drop_columns, drop_index, drop_table, foreign_key, text,
    timestamp_now,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("spent_refresh_tokens")
                    .col(text("token_hash").not_null().primary_key())
                    .col(ColumnDef::new("session_id").uuid().not_null())
                    .col(timestamp_now(db, "spent_at"))
                    .col(
                        ColumnDef::new("expires_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(&mut foreign_key(
                        "spent_refresh_tokens",
                        "session_id",
                        "auth_sessions",
                        Some(ForeignKeyAction::Cascade),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_spent_refresh_tokens_session_id",
            "spent_refresh_tokens",
            &["session_id"],
        )
        .await?;
        create_index(
            manager,
            "idx_spent_refresh_tokens_expires_at",
            "spent_refresh_tokens",
            &["expires_at"],
        )
        .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at, expires_at) \
                 SELECT previous_token_hash, id, last_used_at, expires_at FROM auth_sessions \
                 WHERE previous_token_hash IS NOT NULL",
            )
            .await?;
        drop_index(
            manager,
            "idx_auth_sessions_previous_token_hash",
            "auth_sessions",
        )
        .await?;
        drop_columns(manager, "auth_sessions", &["previous_token_hash"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, "auth_sessions", text("previous_token_hash")).await?;
        create_index(
            manager,
            "idx_auth_sessions_previous_token_hash",
            "auth_sessions",
            &["previous_token_hash"],
        )
        .await?;
        // Each session keeps the token it exchanged last.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE auth_sessions SET previous_token_hash = (\
                   SELECT s.token_hash FROM spent_refresh_tokens s \
                   WHERE s.session_id = auth_sessions.id \
                   ORDER BY s.spent_at DESC, s.token_hash LIMIT 1)",
            )
            .await?;
        drop_table(manager, "spent_refresh_tokens").await
    }
}
