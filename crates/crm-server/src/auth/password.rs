//! Password hashing: argon2id (the `argon2` crate's defaults, OWASP's recommended parameters),
//! run on the blocking pool so that a sign-in never stalls the request threads.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{AppError, AppResult};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;
/// Longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_LENGTH: usize = 128;

/// Checks a new password's length (`field` names the input).
pub fn check_strength(field: &str, password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&n) {
        return Err(AppError::bad_input(
            field,
            format!("a password has {MIN_LENGTH} to {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

fn hash_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(format!("hashing a password: {err}")))
}

/// The PHC string (`$argon2id$v=19$…`) of `password`.
pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|err| AppError::Internal(format!("hashing task failed: {err}")))?
}

/// Whether `password` matches `stored`. With no stored hash (unknown user, or a hash in a
/// format we do not read) a dummy hash is checked anyway, so the answer takes as long and
/// says nothing about which part was wrong.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let dummy = dummy_hash();
        let (candidate, real) = match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => (parsed, true),
            _ => match PasswordHash::new(dummy) {
                Ok(parsed) => (parsed, false),
                Err(_) => return false,
            },
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &candidate)
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("not-a-password-anyone-has").unwrap_or_default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let stored = hash("correct horse battery".to_owned()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".to_owned(), Some(stored.clone())).await);
        assert!(!verify("wrong horse battery".to_owned(), Some(stored)).await);
        assert!(!verify("anything at all".to_owned(), None).await);
        assert!(!verify("x".to_owned(), Some("not a phc string".to_owned())).await);
    }

    #[test]
    fn refuses_short_and_huge_passwords() {
        assert!(check_strength("password", "short").is_err());
        assert!(check_strength("password", &"x".repeat(129)).is_err());
        assert!(check_strength("password", "long enough pass").is_ok());
    }
}
