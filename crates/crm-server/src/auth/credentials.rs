//! Turning a request's `Authorization` header into a [`RequestAuth`], with a short cache.
//!
//! An access token is a signed JWT, checked without the database; the session it names and
//! its user (still active? which role now?) are read from the database and kept for
//! `CRM_AUTH_CACHE_SECS`, so a deactivated user, a role change or a signed-out session takes
//! effect at once through this server (it clears the cache) and within that delay elsewhere.
//! API tokens are looked up by digest the same way. Expiry (of a session, of an API token) is
//! checked on every request, cached or not.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{api_tokens, auth_sessions, users};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::throttle::SignInThrottle;
use super::tokens::{API_TOKEN_PREFIX, AccessTokens, TokenRejection, digest};
use super::{RequestAuth, Viewer};
use crate::config::AuthConfig;

/// Entries kept at most; beyond, the cache starts over.
const CACHE_CAPACITY: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Session(Uuid),
    ApiToken(String),
}

/// What the server knows about sign-in: keys, lifetimes, the rate limit and the cache.
pub struct AuthService {
    db: DatabaseConnection,
    pub access_tokens: AccessTokens,
    pub session_ttl: chrono::Duration,
    throttle: SignInThrottle,
    cache_ttl: Duration,
    /// Checked credentials, with when they were checked.
    cache: Mutex<HashMap<CacheKey, (Instant, Checked)>>,
}

/// A checked credential, and until when it may be used (its own expiry).
#[derive(Clone)]
struct Checked {
    auth: RequestAuth,
    until: Option<DateTime<Utc>>,
}

impl From<RequestAuth> for Checked {
    fn from(auth: RequestAuth) -> Self {
        Checked { auth, until: None }
    }
}

impl AuthService {
    pub fn new(db: DatabaseConnection, config: &AuthConfig) -> Self {
        AuthService {
            db,
            access_tokens: AccessTokens::new(&config.jwt_secret, config.access_token_ttl()),
            session_ttl: config.session_ttl(),
            throttle: SignInThrottle::new(config.sign_in_per_minute),
            cache_ttl: config.cache_ttl(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Forgets every checked credential: called after any change to users, sessions or API
    /// tokens, so the change applies to the next request.
    pub fn forget_credentials(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    /// Authenticates a request from its `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> RequestAuth {
        let Some(header) = header else {
            return RequestAuth::Anonymous;
        };
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return refused("the Authorization header must read `Bearer <token>`"),
        };
        if token.starts_with(API_TOKEN_PREFIX) {
            let hash = digest(token);
            return self
                .cached(CacheKey::ApiToken(hash.clone()), self.api_token(hash))
                .await;
        }
        match self.access_tokens.verify(token) {
            Ok(claims) => {
                let auth = self
                    .cached(CacheKey::Session(claims.sid), self.session(claims.sid))
                    .await;
                match auth {
                    // The token must name the session's own user.
                    RequestAuth::Session { viewer, .. } if viewer.user_id != claims.sub => {
                        refused("the access token is not valid")
                    }
                    other => other,
                }
            }
            Err(TokenRejection::Expired) => {
                refused("the access token has expired: call refreshSession or sign in again")
            }
            Err(TokenRejection::Invalid) => refused("the access token is not valid"),
        }
    }

    /// The cached answer for `key`, or `load` (a future: nothing runs unless awaited). A cached
    /// credential past its expiry is read again (and refused), whatever the cache's age.
    async fn cached(
        &self,
        key: CacheKey,
        load: impl std::future::Future<Output = Checked>,
    ) -> RequestAuth {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, checked)) = cache.get(&key)
            && at.elapsed() < self.cache_ttl
            && checked.until.is_none_or(|until| until > Utc::now())
        {
            return checked.auth.clone();
        }
        let checked = load.await;
        if !self.cache_ttl.is_zero()
            && !matches!(checked.auth, RequestAuth::Unavailable)
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), checked.clone()));
        }
        checked.auth
    }

    async fn session(&self, session_id: Uuid) -> Checked {
        let found = auth_sessions::Entity::find_by_id(session_id)
            .find_also_related(users::Entity)
            .one(&self.db)
            .await;
        match found {
            Ok(Some((session, Some(user)))) => {
                if session.revoked_at.is_some() || session.expires_at <= Utc::now() {
                    refused("the session has ended: sign in again").into()
                } else if !user.is_active {
                    refused("this account is disabled").into()
                } else {
                    Checked {
                        auth: RequestAuth::Session {
                            viewer: Viewer {
                                user_id: user.id,
                                role: user.role,
                            },
                            session_id,
                        },
                        until: Some(session.expires_at),
                    }
                }
            }
            Ok(_) => refused("the session has ended: sign in again").into(),
            Err(err) => {
                tracing::error!(error = %err, "checking a session");
                RequestAuth::Unavailable.into()
            }
        }
    }

    async fn api_token(&self, hash: String) -> Checked {
        let found = api_tokens::Entity::find()
            .filter(api_tokens::Column::TokenHash.eq(hash.as_str()))
            .find_also_related(users::Entity)
            .one(&self.db)
            .await;
        match found {
            Ok(Some((token, Some(user)))) => {
                let now = Utc::now();
                if token.revoked_at.is_some() || token.expires_at.is_some_and(|at| at <= now) {
                    return refused("this API token was revoked or has expired").into();
                }
                if !user.is_active {
                    return refused("this account is disabled").into();
                }
                // Recorded once per cache period, not on every request.
                let touch = api_tokens::ActiveModel {
                    id: Set(token.id),
                    last_used_at: Set(Some(crate::db::now())),
                    ..Default::default()
                };
                if let Err(err) = api_tokens::Entity::update(touch).exec(&self.db).await {
                    tracing::warn!(error = %err, "recording an API token's use");
                }
                Checked {
                    auth: RequestAuth::ApiToken {
                        viewer: Viewer {
                            user_id: user.id,
                            role: user.role,
                        },
                        token_id: token.id,
                    },
                    until: token.expires_at,
                }
            }
            Ok(_) => refused("this API token is not valid").into(),
            Err(err) => {
                tracing::error!(error = %err, "checking an API token");
                RequestAuth::Unavailable.into()
            }
        }
    }

    /// Counts a password check against the rate limit (`RATE_LIMITED` beyond it).
    pub fn sign_in_attempt(
        &self,
        email: &str,
        client: Option<IpAddr>,
    ) -> crate::error::AppResult<()> {
        self.throttle.attempt(email, client)
    }

    /// Records a right password: `client` is trusted for this account from now on.
    pub fn sign_in_succeeded(&self, email: &str, client: Option<IpAddr>) {
        self.throttle.succeeded(email, client);
    }
}

fn refused(reason: &str) -> RequestAuth {
    RequestAuth::Refused(Arc::from(reason))
}
