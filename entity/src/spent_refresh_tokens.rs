//! `spent_refresh_tokens`: the digest of each refresh token a session exchanged. Presenting one
//! again means someone else has a copy: the session is revoked. Rows go with their session,
//! and are pruned once it has expired.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "spent_refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub session_id: Uuid,
    pub spent_at: DateTimeUtc,
    /// The session's expiry: past it the row is of no use.
    pub expires_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "session_id", to = "id")]
    pub session: BelongsTo<super::auth_sessions::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
