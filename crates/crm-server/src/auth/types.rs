//! Output types of sign-in and API tokens.

use async_graphql::SimpleObject;
use entity::api_tokens;
use uuid::Uuid;

use crate::engine::scalars::DateTime;
use crate::users::User;

/// The tokens of a session, returned by `signIn` and `refreshSession`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send it with every request: `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// When the access token stops working; call `refreshSession` before.
    pub access_token_expires_at: DateTime,
    /// Exchanges for new tokens once, with `refreshSession`. Keep it secret (not in
    /// `localStorage` if you can avoid it).
    pub refresh_token: String,
    /// When the session ends, refreshed or not.
    pub session_expires_at: DateTime,
    /// The signed-in user.
    pub user: User,
}

/// A personal API token. The token itself is shown once, by `createApiToken`.
#[derive(SimpleObject, Debug, Clone)]
pub struct ApiToken {
    /// Unique identifier (to revoke it).
    pub id: Uuid,
    /// What it is for.
    pub name: String,
    /// Its first characters, to recognise it.
    pub token_prefix: String,
    /// When it was created.
    pub created_at: DateTime,
    /// When it was last used (updated at most every few seconds).
    pub last_used_at: Option<DateTime>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime>,
}

impl From<api_tokens::Model> for ApiToken {
    fn from(m: api_tokens::Model) -> Self {
        ApiToken {
            id: m.id,
            name: m.name,
            token_prefix: m.token_prefix,
            created_at: m.created_at.into(),
            last_used_at: m.last_used_at.map(DateTime::from),
            expires_at: m.expires_at.map(DateTime::from),
            revoked_at: m.revoked_at.map(DateTime::from),
        }
    }
}

/// A new API token, with its secret.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    /// The token: send it as `Authorization: Bearer <token>`. Shown this once; only its hash
    /// is kept.
    pub token: String,
    /// Its details.
    pub api_token: ApiToken,
}
