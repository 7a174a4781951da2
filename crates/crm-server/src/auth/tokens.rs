//! The tokens the API hands out.
//!
//! - **Access tokens**: short-lived JWTs (HS256, key from `CRM_JWT_SECRET`) naming the user and
//!   the session they belong to. Sent as `Authorization: Bearer …`.
//! - **Refresh tokens** (`crm_rt_…`) and **personal API tokens** (`crm_pat_…`): 256 random
//!   bits, shown once; the database keeps only their SHA-256 digest, so a leaked table does not
//!   leak usable tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// How refresh tokens start.
pub const REFRESH_TOKEN_PREFIX: &str = "crm_rt_";
/// How personal API tokens start (so that secret scanners and people recognise them).
pub const API_TOKEN_PREFIX: &str = "crm_pat_";

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The session (sign-in) the token belongs to.
    pub sid: Uuid,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// Seconds an access token is still accepted past its expiry (clocks of several instances).
pub const LEEWAY_SECS: u64 = 5;

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    Expired,
    Invalid,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: chrono::Duration,
}

impl AccessTokens {
    pub fn new(secret: &str, ttl: std::time::Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        AccessTokens {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15)),
        }
    }

    /// A new access token for `user` in `session`, and when it expires.
    pub fn issue(&self, user: Uuid, session: Uuid) -> AppResult<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires = now + self.ttl;
        let claims = Claims {
            sub: user,
            sid: session,
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|err| AppError::Internal(format!("signing an access token: {err}")))?;
        Ok((token, expires))
    }

    /// The claims of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenRejection> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => TokenRejection::Expired,
                _ => TokenRejection::Invalid,
            })
    }
}

/// A new opaque token: `prefix` + 256 random bits, URL-safe.
pub fn opaque_token(prefix: &str) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| AppError::Internal(format!("no randomness: {err}")))?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What the database stores of an opaque token: its SHA-256, hex.
pub fn digest(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_round_trip_and_reject_tampering_and_other_keys() {
        let tokens = AccessTokens::new(
            "a-test-secret-of-at-least-32-characters!",
            std::time::Duration::from_secs(60),
        );
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let (token, _) = tokens.issue(user, session).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));

        let other = AccessTokens::new(
            "another-secret-of-at-least-32-characters",
            std::time::Duration::from_secs(60),
        );
        assert_eq!(other.verify(&token).err(), Some(TokenRejection::Invalid));
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'x');
        assert_eq!(
            tokens.verify(&tampered).err(),
            Some(TokenRejection::Invalid)
        );
    }

    #[test]
    fn expired_access_tokens_say_so() {
        let tokens = AccessTokens::new(
            "a-test-secret-of-at-least-32-characters!",
            std::time::Duration::from_secs(60),
        );
        let claims = Claims {
            sub: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            iat: 0,
            exp: Utc::now().timestamp() - 120,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
            .unwrap();
        assert_eq!(tokens.verify(&token).err(), Some(TokenRejection::Expired));
    }

    #[test]
    fn opaque_tokens_are_random_and_stored_as_digests() {
        let a = opaque_token(API_TOKEN_PREFIX).unwrap();
        let b = opaque_token(API_TOKEN_PREFIX).unwrap();
        assert!(a.starts_with(API_TOKEN_PREFIX));
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert!(!digest(&a).contains(&a[API_TOKEN_PREFIX.len()..]));
    }
}
