//! Signing deliveries the way the Standard Webhooks specification does
//! (<https://www.standardwebhooks.com>), so its libraries verify them: `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 of
//! HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
//!
//! The key is the secret's bytes after `whsec_`, base64-decoded, when the secret has that
//! form (the form this server generates); otherwise the secret's UTF-8 bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a generated secret.
const PREFIX: &str = "whsec_";

/// Shortest and longest secret accepted, in characters.
pub const SECRET_CHARS: std::ops::RangeInclusive<usize> = 24..=256;

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{PREFIX}{}", STANDARD.encode(bytes)))
}

/// Why a secret is refused, if it is.
pub fn check_secret(secret: &str) -> Result<(), String> {
    let length = secret.chars().count();
    if !SECRET_CHARS.contains(&length) {
        return Err(format!(
            "the secret has {length} characters: it needs {} to {}",
            SECRET_CHARS.start(),
            SECRET_CHARS.end()
        ));
    }
    if let Some(encoded) = secret.strip_prefix(PREFIX) {
        match STANDARD.decode(encoded) {
            Ok(key) if key.len() >= 16 => {}
            Ok(_) => return Err("a `whsec_` secret carries 16 bytes at least".to_owned()),
            Err(_) => return Err("what follows `whsec_` is not base64".to_owned()),
        }
    }
    Ok(())
}

/// The HMAC key of a secret.
fn key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(PREFIX)
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` header's value for `body` sent as message `id` at `timestamp`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key(secret)) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's example, and a plain secret, both as computed by Python's `hmac`.
    #[test]
    fn signatures_match_an_independent_implementation() {
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(
            sign("a plain secret of enough length", "id", 1, b"{}"),
            "v1,iwkzAI1Q1jEOJPsQJelVVSKV1SrQXVBf9KT9GHPyZWg="
        );
    }

    #[test]
    fn generated_secrets_are_accepted_and_differ() {
        let (Ok(one), Ok(two)) = (generate_secret(), generate_secret()) else {
            unreachable!("no entropy");
        };
        assert!(one.starts_with("whsec_"));
        assert_ne!(one, two);
        assert_eq!(check_secret(&one), Ok(()));
        assert_eq!(key(&one).len(), 32);
    }

    #[test]
    fn short_or_malformed_secrets_are_refused() {
        assert!(check_secret("too short").is_err());
        assert!(check_secret(&"x".repeat(257)).is_err());
        assert!(check_secret("whsec_not-base64-at-all!!!!!!").is_err());
        assert!(check_secret("whsec_c2hvcnRzaG9ydHNob3J0").is_err());
        assert_eq!(check_secret("a plain secret of enough length"), Ok(()));
    }
}
