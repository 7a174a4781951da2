//! `oauth_states`: authorisations started by `startEmailAccountConnection`, waiting for the
//! provider to send the user back. Keyed by the SHA-256 of the `state` parameter; the PKCE
//! verifier is encrypted. Used once.

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
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::users::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
