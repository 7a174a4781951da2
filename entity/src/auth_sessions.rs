//! `auth_sessions`: one per sign-in. Holds the hash of the session's current refresh token
//! (rotated on every use); the ones it replaced are in `spent_refresh_tokens` (presenting any
//! of them again revokes the session).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[sea_orm(unique)]
    pub refresh_token_hash: String,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_used_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::users::Entity>,
    #[sea_orm(has_many)]
    pub spent_refresh_tokens: HasMany<super::spent_refresh_tokens::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
