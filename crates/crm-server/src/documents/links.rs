//! Short-lived download links (`Document.downloadUrl`) for `<img>` and `<a>` tags, which cannot
//! send an `Authorization` header: `/documents/<id>/content?expires=…&signature=…`, the
//! signature an HMAC-SHA256 over the document, its content's SHA-256 (a replaced file voids
//! older links), the expiry and the disposition, with a key derived from `CRM_JWT_SECRET`.
//! Whoever holds a link may read that file until it expires, as with S3's presigned URLs
//! (which an S3 store hands out instead, see [`crate::documents::storage::Storage::signed_url`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks download links.
#[derive(Clone)]
pub struct Links {
    key: Vec<u8>,
    /// How long a link works.
    pub ttl: Duration,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// What a link's query string carries.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LinkQuery {
    /// Unix time (text, so that a malformed value is a refused link, not a refused request).
    pub expires: Option<String>,
    pub signature: Option<String>,
    /// `1`: shown in the browser (images and PDF) rather than saved.
    pub inline: Option<String>,
}

impl LinkQuery {
    /// Whether the file is asked for inline.
    pub fn wants_inline(&self) -> bool {
        matches!(self.inline.as_deref(), Some("1" | "true"))
    }
}

impl Links {
    /// Links signed with a key derived from `secret`.
    pub fn new(secret: &[u8], ttl: Duration) -> Links {
        let mut derive =
            <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
        derive.update(b"crm-server document download links v1");
        Links {
            key: derive.finalize().into_bytes().to_vec(),
            ttl,
        }
    }

    fn mac(&self, id: Uuid, sha256: &str, expires: i64, inline: bool) -> HmacSha256 {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable_hmac());
        mac.update(format!("{id}\n{sha256}\n{expires}\n{}", u8::from(inline)).as_bytes());
        mac
    }

    /// The path and query of a link to the document's file, valid from `now` for the TTL.
    pub fn sign(&self, id: Uuid, sha256: &str, inline: bool, now: DateTime<Utc>) -> String {
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let expires = now.timestamp().saturating_add(ttl);
        let signature = crate::digest::hex(
            &self
                .mac(id, sha256, expires, inline)
                .finalize()
                .into_bytes(),
        );
        let inline = if inline { "&inline=1" } else { "" };
        format!("/documents/{id}/content?expires={expires}{inline}&signature={signature}")
    }

    /// Whether `query` is a valid, unexpired link to this version of the document's file.
    pub fn verify(&self, id: Uuid, sha256: &str, query: &LinkQuery, now: DateTime<Utc>) -> bool {
        let (Some(expires), Some(signature)) = (
            query.expires.as_deref().and_then(|e| e.parse::<i64>().ok()),
            query.signature.as_deref(),
        ) else {
            return false;
        };
        if expires < now.timestamp() {
            return false;
        }
        let Some(signature) = unhex(signature) else {
            return false;
        };
        self.mac(id, sha256, expires, query.wants_inline())
            .verify_slice(&signature)
            .is_ok()
    }
}

/// HMAC takes keys of any length.
fn unreachable_hmac() -> HmacSha256 {
    unreachable!("HMAC accepts keys of any length")
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(link: &str) -> LinkQuery {
        let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let mut parsed = LinkQuery {
            expires: None,
            signature: None,
            inline: None,
        };
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("expires", v)) => parsed.expires = Some(v.to_owned()),
                Some(("signature", v)) => parsed.signature = Some(v.to_owned()),
                Some(("inline", v)) => parsed.inline = Some(v.to_owned()),
                _ => {}
            }
        }
        parsed
    }

    #[test]
    fn a_link_opens_its_file_until_it_expires_and_nothing_else() {
        let links = Links::new(b"a secret of some length", Duration::from_secs(300));
        let id = Uuid::now_v7();
        let now = Utc::now();
        let link = links.sign(id, "abc", false, now);
        assert!(
            link.starts_with(&format!("/documents/{id}/content?expires=")),
            "{link}"
        );
        let q = query(&link);
        assert!(links.verify(id, "abc", &q, now));
        assert!(links.verify(id, "abc", &q, now + chrono::Duration::seconds(299)));
        assert!(!links.verify(id, "abc", &q, now + chrono::Duration::seconds(301)));
        // Another document, another version of the file, another key, a changed field.
        assert!(!links.verify(Uuid::now_v7(), "abc", &q, now));
        assert!(!links.verify(id, "abd", &q, now));
        let other = Links::new(b"another secret", Duration::from_secs(300));
        assert!(!other.verify(id, "abc", &q, now));
        let mut inline = q.clone();
        inline.inline = Some("1".to_owned());
        assert!(!links.verify(id, "abc", &inline, now));
        let mut later = q.clone();
        later.expires = q
            .expires
            .as_deref()
            .and_then(|e| e.parse::<i64>().ok())
            .map(|e| (e + 1000).to_string());
        assert!(!links.verify(id, "abc", &later, now));
        let mut garbled = q.clone();
        garbled.signature = Some("zz".to_owned());
        assert!(!links.verify(id, "abc", &garbled, now));
        let mut malformed = q;
        malformed.expires = Some("soon".to_owned());
        assert!(!links.verify(id, "abc", &malformed, now));
        // An inline link carries its disposition.
        let inline_link = links.sign(id, "abc", true, now);
        assert!(links.verify(id, "abc", &query(&inline_link), now));
    }
}
