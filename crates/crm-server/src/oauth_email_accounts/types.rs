//! The `OAuthEmailAccount` output type.

use crate::graphql::context::{loaders, required};
use crate::users::User;
use async_graphql::{ComplexObject, Context, Result};
use entity::oauth_email_accounts;
use uuid::Uuid;

use crate::engine::joins::ToOne;
use crate::engine::scalars::DateTime;

crate::record! {
    /// A mailbox a user connected through OAuth. Its tokens never leave the server.
    #[graphql(name = "OAuthEmailAccount")]
    OAuthEmailAccount: oauth_email_accounts {
        /// Unique identifier.
        id: Uuid,
        /// Id of the user who connected it.
        user_id: Uuid,
        /// OAuth provider (google, microsoft …).
        provider: String,
        /// The mailbox address.
        email: String,
        /// Whether an access token is stored.
        has_access_token: bool = access_token,
        /// Whether a refresh token is stored (the mailbox stays usable after the access token expires).
        has_refresh_token: bool = refresh_token,
        /// When the stored access token expires.
        token_expires_at: Option<DateTime>,
        /// The provider refused to refresh the tokens (access revoked, token expired): the
        /// user must connect the mailbox again (`startEmailAccountConnection`).
        needs_reconnect: bool,
        /// Why the last refresh failed, if it did.
        refresh_error: Option<String>,
        /// When the tokens were last obtained or refreshed.
        refreshed_at: Option<DateTime>,
        hidden refresh_lease_until,
        /// When the mailbox was connected.
        created_at: DateTime,
        /// When the account was last changed (maintained by the database).
        updated_at: DateTime,
    }
    to_one [
        ToOne::new::<User>("user", "user_id"),
    ]
    filter super::inputs::OAuthEmailAccountFilter, order super::inputs::OAuthEmailAccountOrderField,
    aggregate super::aggregates::OAuthEmailAccountAggregate
}

/// No to-many relations.
impl crate::engine::rows::ListRelations for OAuthEmailAccount {}

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
