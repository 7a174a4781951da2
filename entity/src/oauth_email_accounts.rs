//! `oauth_email_accounts`: mailboxes a user connected through OAuth.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_email_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: String,
    pub email: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub token_expires_at: Option<DateTimeUtc>,
    /// The provider refused the refresh token (revoked, expired): connect the mailbox again.
    pub needs_reconnect: bool,
    /// Why the last refresh failed, if it did.
    pub refresh_error: Option<String>,
    pub refreshed_at: Option<DateTimeUtc>,
    /// Until when an instance is refreshing the tokens.
    pub refresh_lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::users::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
