//! The `OAuthEmailAccount` output type.

use crate::graphql::context::{loaders, required};
use crate::users::User;
use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use entity::oauth_email_accounts;
use uuid::Uuid;

use crate::graphql::joins::ToOne;
use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::DateTime;

/// A mailbox a user connected through OAuth. Its tokens never leave the server.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex, serial)]
#[graphql(name = "OAuthEmailAccount")]
pub struct OAuthEmailAccount {
    /// Unique identifier.
    pub id: Uuid,
    /// Id of the user who connected it.
    pub user_id: Uuid,
    /// OAuth provider (google, microsoft …).
    pub provider: String,
    /// The mailbox address.
    pub email: String,
    /// Whether an access token is stored.
    pub has_access_token: bool,
    /// Whether a refresh token is stored (the mailbox stays usable after the access token expires).
    pub has_refresh_token: bool,
    /// When the stored access token expires.
    pub token_expires_at: Option<DateTime>,
    /// When the mailbox was connected.
    pub created_at: DateTime,
    /// When the account was last changed (maintained by the database).
    pub updated_at: DateTime,
}

crate::columns!(OAuthEmailAccount {
    id: "id",
    user_id: "userId",
    provider: "provider",
    email: "email",
    has_access_token: "hasAccessToken" = access_token,
    has_refresh_token: "hasRefreshToken" = refresh_token,
    token_expires_at: "tokenExpiresAt",
    created_at: "createdAt",
    updated_at: "updatedAt",
});

crate::partial_model!(oauth_email_accounts::Model {
    id,
    user_id,
    provider,
    email,
    access_token,
    refresh_token,
    token_expires_at,
    created_at,
    updated_at
});

/// No to-many relations.
impl crate::graphql::rows::ListRelations for OAuthEmailAccount {}

impl From<oauth_email_accounts::Model> for OAuthEmailAccount {
    fn from(m: oauth_email_accounts::Model) -> Self {
        OAuthEmailAccount {
            id: m.id,
            user_id: m.user_id,
            provider: m.provider,
            email: m.email,
            has_access_token: m.access_token.is_some(),
            has_refresh_token: m.refresh_token.is_some(),
            token_expires_at: m.token_expires_at.map(DateTime::from),
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for OAuthEmailAccount {
    type Entity = oauth_email_accounts::Entity;
    const TO_ONE: &'static [ToOne] = &[ToOne::new::<User>("user", "user_id")];
    fn id(&self) -> Uuid {
        self.id
    }
}

#[ComplexObject]
impl OAuthEmailAccount {
    /// The user who connected it.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(required(
            loaders(ctx)?.one::<User>(ctx, self.user_id).await?,
            "User",
        )?)
    }
}

impl Listable for OAuthEmailAccount {
    const NAME: &'static str = "OAuthEmailAccount";
    const TABLE: &'static str = "oauth_email_accounts";
    type Filter = super::inputs::OAuthEmailAccountFilter;
    type OrderField = super::inputs::OAuthEmailAccountOrderField;
}
