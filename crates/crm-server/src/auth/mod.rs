//! Authentication and access control.
//!
//! - Sign-in (`signIn`) checks an argon2id password hash and opens a **session**: a short-lived
//!   JWT access token plus a refresh token that is stored hashed and rotated on every
//!   `refreshSession`; `signOut` revokes the session. Personal **API tokens** serve scripts.
//! - Every request is authenticated once, by [`AuthService::authenticate`], into a
//!   [`RequestAuth`]; resolvers ask it for the [`Viewer`] (`UNAUTHENTICATED` otherwise).
//! - What a viewer may read and write is decided in [`policy`], and nowhere else.

pub mod credentials;
pub mod password;
pub mod policy;
pub mod resolvers;
pub mod service;
pub mod throttle;
pub mod tokens;
pub mod types;

use std::sync::Arc;

use uuid::Uuid;

pub use credentials::AuthService;
pub use policy::{Action, Viewer};
pub use resolvers::{AuthMutation, AuthQuery};

use crate::error::{AppError, AppResult};

/// How a request authenticated.
#[derive(Debug, Clone)]
pub enum RequestAuth {
    /// No `Authorization` header: only `signIn` and `refreshSession` answer.
    Anonymous,
    /// A credential was sent but refused; the reason is told to the client.
    Refused(Arc<str>),
    /// The credential could not be checked (database unavailable).
    Unavailable,
    /// An access token of a live session.
    Session { viewer: Viewer, session_id: Uuid },
    /// A personal API token.
    ApiToken { viewer: Viewer, token_id: Uuid },
}

impl RequestAuth {
    /// Why the request has no valid credentials (no token, or the token's refusal); `None`
    /// when it has them, or when they could not be checked.
    pub fn unauthenticated(&self) -> Option<&str> {
        match self {
            RequestAuth::Anonymous => {
                Some("sign in first: send `Authorization: Bearer <access token or API token>`")
            }
            RequestAuth::Refused(reason) => Some(reason),
            _ => None,
        }
    }

    /// Who is asking, or why nobody is.
    pub fn viewer(&self) -> AppResult<Viewer> {
        crate::engine::access::Credentials::viewer(self)
    }
}

impl crate::engine::access::Credentials for RequestAuth {
    fn viewer(&self) -> AppResult<Viewer> {
        match self {
            RequestAuth::Session { viewer, .. } | RequestAuth::ApiToken { viewer, .. } => {
                Ok(*viewer)
            }
            RequestAuth::Unavailable => Err(AppError::Internal(
                "credentials could not be checked".to_owned(),
            )),
            RequestAuth::Anonymous | RequestAuth::Refused(_) => Err(AppError::unauthenticated(
                self.unauthenticated().unwrap_or_default(),
            )),
        }
    }
}
