//! `oauth_states`: authorisations started by `startEmailAccountConnection`, waiting for the
//! provider to send the user back. Keyed by the SHA-256 of the `state` parameter; the PKCE
//! verifier is encrypted. Used once; after the callback, it holds the exchanged tokens until
//! the user who started it completes the connection.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    pub user_id: Uuid,
    pub provider: String,
    pub code_verifier: String,
    pub return_to: Option<String>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Set by the callback: the SHA-256 of the completion code the starting user presents.
    #[sea_orm(unique)]
    pub completion_hash: Option<String>,
    /// The mailbox's address and its tokens (encrypted), waiting for the completion.
    pub address: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub token_expires_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::users::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
