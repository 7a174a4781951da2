//! Encryption at rest for mailbox tokens: AES-256-GCM with a random 96-bit nonce per value.
//!
//! Stored form: `v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id travels with the
//! ciphertext, so keys rotate: new values use the first configured key, older values still
//! decrypt with the key their id names.

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// The development key set: clearly not a secret, refused in production (by its key material,
/// whatever id it is given).
pub const DEV_TOKEN_KEYS: &str = "dev:ZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24tdXNlISE=";
/// The development key's material: the base64 part of [`DEV_TOKEN_KEYS`].
pub const DEV_TOKEN_KEY_BASE64: &str = "ZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24tdXNlISE=";

/// Why a key set or a stored value was refused.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("CRM_TOKEN_KEYS must be `id:base64-of-32-bytes[,id:…]`: {0}")]
    BadKeys(String),
    #[error("the stored secret is damaged or was made with an unknown key")]
    Undecryptable,
    #[error("no entropy available for a nonce")]
    NoEntropy,
}

/// The configured keys; the first one encrypts.
pub struct TokenCipher {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
    /// SHA-256 of each key's material, to recognise known keys without keeping them twice.
    fingerprints: Vec<[u8; 32]>,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("TokenCipher")
            .field("current", &self.current)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TokenCipher {
    /// Parses `id:base64key,id:base64key` (standard base64 of exactly 32 bytes).
    pub fn from_config(spec: &str) -> Result<Self, SecretError> {
        let mut current = None;
        let mut keys = HashMap::new();
        let mut fingerprints = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry.split_once(':').ok_or_else(|| {
                SecretError::BadKeys(format!(
                    "`{id}` has no `:`",
                    id = entry.split(':').next().unwrap_or("")
                ))
            })?;
            if id.is_empty() || id.contains(':') {
                return Err(SecretError::BadKeys("empty key id".to_owned()));
            }
            let bytes = STANDARD
                .decode(key)
                .map_err(|_| SecretError::BadKeys(format!("key `{id}` is not base64")))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| SecretError::BadKeys(format!("key `{id}` is not 32 bytes")))?;
            current.get_or_insert_with(|| id.to_owned());
            keys.insert(id.to_owned(), cipher);
            fingerprints.push(Sha256::digest(&bytes).into());
        }
        let current = current.ok_or_else(|| SecretError::BadKeys("no key".to_owned()))?;
        Ok(TokenCipher {
            current,
            keys,
            fingerprints,
        })
    }

    /// Whether one of the keys, under whatever id, has this material.
    pub fn uses_key_material(&self, material: &[u8]) -> bool {
        let wanted: [u8; 32] = Sha256::digest(material).into();
        self.fingerprints.contains(&wanted)
    }

    /// Whether the development key's material is configured, under any id (refused in
    /// production).
    pub fn uses_dev_key(&self) -> bool {
        STANDARD
            .decode(DEV_TOKEN_KEY_BASE64)
            .is_ok_and(|dev| self.uses_key_material(&dev))
    }

    pub fn encrypt(&self, plaintext: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| SecretError::NoEntropy)?;
        let cipher = self
            .keys
            .get(&self.current)
            .ok_or(SecretError::Undecryptable)?;
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| SecretError::Undecryptable)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!(
            "v1:{}:{}",
            self.current,
            URL_SAFE_NO_PAD.encode(blob)
        ))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, SecretError> {
        let mut parts = stored.splitn(3, ':');
        let (Some("v1"), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Undecryptable);
        };
        let cipher = self.keys.get(id).ok_or(SecretError::Undecryptable)?;
        let blob = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SecretError::Undecryptable)?;
        if blob.len() < 12 {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, sealed) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SecretError::Undecryptable)?;
        let plain = cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| SecretError::Undecryptable)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OTHER: &str = "k2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let cipher = TokenCipher::from_config(DEV_TOKEN_KEYS).unwrap();
        let stored = cipher.encrypt("ya29.secret-token").unwrap();
        assert!(stored.starts_with("v1:dev:"));
        assert!(!stored.contains("secret"));
        assert_ne!(
            stored,
            cipher.encrypt("ya29.secret-token").unwrap(),
            "nonces must differ"
        );
        assert_eq!(cipher.decrypt(&stored).unwrap(), "ya29.secret-token");
    }

    #[test]
    fn the_development_key_is_recognised_by_its_material_under_any_id() {
        assert_eq!(DEV_TOKEN_KEYS, format!("dev:{DEV_TOKEN_KEY_BASE64}"));
        let cases = [
            (DEV_TOKEN_KEYS.to_owned(), true),
            (format!("prod:{DEV_TOKEN_KEY_BASE64}"), true),
            (format!("{OTHER},k9:{DEV_TOKEN_KEY_BASE64}"), true),
            (OTHER.to_owned(), false),
            // The id alone is not the key.
            (
                "dev:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
                false,
            ),
        ];
        for (spec, dev) in cases {
            assert_eq!(
                TokenCipher::from_config(&spec).unwrap().uses_dev_key(),
                dev,
                "{spec}"
            );
        }
        assert!(!format!("{:?}", TokenCipher::from_config(OTHER).unwrap()).contains("AAEC"));
    }

    #[test]
    fn keys_rotate_and_tampering_is_detected() {
        let old = TokenCipher::from_config(DEV_TOKEN_KEYS).unwrap();
        let stored = old.encrypt("token").unwrap();
        let rotated = TokenCipher::from_config(&format!("{OTHER},{DEV_TOKEN_KEYS}")).unwrap();
        assert_eq!(rotated.decrypt(&stored).unwrap(), "token");
        assert!(rotated.encrypt("x").unwrap().starts_with("v1:k2:"));
        let mut tampered = stored.clone();
        tampered.pop();
        tampered.push(if stored.ends_with('A') { 'B' } else { 'A' });
        assert!(old.decrypt(&tampered).is_err());
        assert!(
            TokenCipher::from_config(OTHER)
                .unwrap()
                .decrypt(&stored)
                .is_err()
        );
        assert!(TokenCipher::from_config("k:not-base64!").is_err());
        assert!(TokenCipher::from_config("k:AAEC").is_err());
    }
}
