//! Trusted documents (persisted operations): a manifest of the operations an SPA sends, so a
//! request may carry the document's id instead of its text, and a production server may
//! refuse any document not in it.
//!
//! Manifests (`CRM_TRUSTED_DOCUMENTS`, comma-separated paths): graphql-codegen's
//! persisted-documents output (`{ "<sha256>": "<document>" }`) or Apollo's persisted query
//! manifest (`{ "format": "apollo-persisted-query-manifest", "operations": [{ "id", "body" }] }`).
//! Every id must be the SHA-256 of its document: a stale or hand-edited manifest stops the
//! server at start-up rather than run something else than what the id names.
//!
//! A request names a document with `documentId` (`"sha256:<hex>"` or `"<hex>"`, the
//! GraphQL-over-HTTP persisted documents proposal) or `extensions.persistedQuery.sha256Hash`
//! (Apollo); over GET, as URL parameters. `CRM_TRUSTED_DOCUMENTS_MODE`: `allow` (ids and
//! texts), `only` (ids, or texts that are in the manifest; the roles of
//! `CRM_TRUSTED_DOCUMENTS_FREE_ROLES` may still send any text, e.g. admins exploring in
//! GraphiQL), `off`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{ErrorExtensions, Request, ServerError, Value};
use entity::Role;

use crate::digest::sha256_hex;

/// What requests may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Documents by id are not looked up.
    Off,
    /// Documents by id or by text.
    Allow,
    /// Documents of the manifest only (by id, or a text that is in it).
    Only,
}

/// The manifest, loaded.
#[derive(Debug)]
pub struct TrustedDocuments {
    by_id: HashMap<String, Arc<str>>,
    /// Texts of the manifest, for `only` with a text.
    ids_by_text: HashMap<Arc<str>, String>,
    mode: Mode,
    free_roles: Vec<Role>,
}

/// How a request's document was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// By its id in the manifest.
    ById,
    /// As text.
    Text,
}

impl TrustedDocuments {
    /// No manifest: texts only.
    pub fn none() -> TrustedDocuments {
        TrustedDocuments {
            by_id: HashMap::new(),
            ids_by_text: HashMap::new(),
            mode: Mode::Off,
            free_roles: Vec::new(),
        }
    }

    /// The manifests at `paths`, in `mode`.
    pub fn load(
        paths: &[std::path::PathBuf],
        mode: Mode,
        free_roles: Vec<Role>,
    ) -> Result<TrustedDocuments, String> {
        let mut by_id = HashMap::new();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .map_err(|err| format!("trusted documents {}: {err}", path.display()))?;
            for (id, body) in parse_manifest(&text)
                .map_err(|err| format!("trusted documents {}: {err}", path.display()))?
            {
                let id = normalise(&id);
                if sha256_hex(body.as_bytes()) != id {
                    return Err(format!(
                        "trusted documents {}: {id} is not the SHA-256 of its document \
                         (regenerate the manifest)",
                        path.display()
                    ));
                }
                by_id.insert(id, Arc::<str>::from(body));
            }
        }
        if mode == Mode::Only && by_id.is_empty() {
            return Err("CRM_TRUSTED_DOCUMENTS_MODE=only needs CRM_TRUSTED_DOCUMENTS".to_owned());
        }
        let ids_by_text = by_id
            .iter()
            .map(|(id, body)| (body.clone(), id.clone()))
            .collect();
        Ok(TrustedDocuments {
            by_id,
            ids_by_text,
            mode,
            free_roles,
        })
    }

    /// How many documents the manifest holds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the manifest is empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Gives `request` the text of the document it names by id, or checks that its text may
    /// run (`role`: the viewer's, if signed in).
    pub fn resolve(&self, request: &mut Request, role: Option<Role>) -> Result<Found, ServerError> {
        let id = requested_id(request);
        match (id, self.mode) {
            (Some(_), Mode::Off) => Err(refusal(
                "PERSISTED_QUERY_NOT_SUPPORTED",
                "this server runs documents sent as text only",
            )),
            (Some(id), mode) => {
                let Some(body) = self.by_id.get(&id) else {
                    // Apollo's clients retry an unknown id with its text: in `allow` mode a
                    // text that hashes to its id runs (as a text: not cached publicly).
                    if mode == Mode::Allow
                        && !request.query.is_empty()
                        && sha256_hex(request.query.as_bytes()) == id
                    {
                        return Ok(Found::Text);
                    }
                    return Err(refusal(
                        "PERSISTED_QUERY_NOT_FOUND",
                        "no trusted document has this id: send the document's text, or \
                         regenerate the manifest",
                    ));
                };
                if !request.query.is_empty() && request.query != **body {
                    return Err(refusal(
                        "PERSISTED_QUERY_MISMATCH",
                        "the document's text is not the one its id names",
                    ));
                }
                request.query = body.to_string();
                Ok(Found::ById)
            }
            (None, Mode::Only)
                if !self.ids_by_text.contains_key(request.query.as_str())
                    && !role.is_some_and(|role| self.free_roles.contains(&role)) =>
            {
                Err(refusal(
                    "TRUSTED_DOCUMENT_REQUIRED",
                    "this server runs its trusted documents only: send a `documentId`",
                ))
            }
            (None, _) => Ok(Found::Text),
        }
    }
}

/// The id a request names: `documentId` (kept by the HTTP layer in the extensions) or
/// Apollo's `persistedQuery.sha256Hash`.
fn requested_id(request: &Request) -> Option<String> {
    let text = |value: &Value| match value {
        Value::String(text) => Some(normalise(text)),
        _ => None,
    };
    if let Some(id) = request.extensions.get(DOCUMENT_ID).and_then(text) {
        return Some(id);
    }
    match request.extensions.get("persistedQuery") {
        Some(Value::Object(persisted)) => persisted.get("sha256Hash").and_then(text),
        _ => None,
    }
}

/// Where the HTTP layer puts a request's `documentId`.
pub const DOCUMENT_ID: &str = "documentId";

fn normalise(id: &str) -> String {
    let id = id.trim().to_ascii_lowercase();
    match id.strip_prefix("sha256:") {
        Some(hash) => hash.to_owned(),
        None => id,
    }
}

fn refusal(code: &'static str, message: &str) -> ServerError {
    async_graphql::Error::new(message)
        .extend_with(|_, ext| ext.set("code", code))
        .into_server_error(async_graphql::Pos::default())
}

/// The (id, document) pairs of either manifest format.
fn parse_manifest(text: &str) -> Result<Vec<(String, String)>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|err| format!("not JSON: {err}"))?;
    let serde_json::Value::Object(object) = value else {
        return Err("a manifest is a JSON object".to_owned());
    };
    if object.get("format").and_then(|f| f.as_str()) == Some("apollo-persisted-query-manifest") {
        let operations = object
            .get("operations")
            .and_then(|o| o.as_array())
            .ok_or("an Apollo manifest has `operations`")?;
        return operations
            .iter()
            .map(|operation| {
                let id = operation.get("id").and_then(|v| v.as_str());
                let body = operation.get("body").and_then(|v| v.as_str());
                match (id, body) {
                    (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                    _ => Err("each operation has an `id` and a `body`".to_owned()),
                }
            })
            .collect();
    }
    object
        .into_iter()
        .map(|(id, body)| match body {
            serde_json::Value::String(body) => Ok((id, body)),
            _ => Err(format!("the document of {id} is not a string")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "query Me { me { id } }";

    fn manifest(contents: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new();
        let Ok(mut file) = file else {
            unreachable!("a temporary file");
        };
        let _ = std::io::Write::write_all(&mut file, contents.as_bytes());
        file
    }

    fn with_id(id: &str) -> Request {
        let mut request = Request::new("");
        request
            .extensions
            .insert(DOCUMENT_ID.to_owned(), Value::String(id.to_owned()));
        request
    }

    #[test]
    fn documents_are_found_by_id_and_only_trusted_ones_run_in_only_mode() {
        let id = sha256_hex(DOC.as_bytes());
        let codegen = manifest(&serde_json::json!({ id.clone(): DOC }).to_string());
        let apollo = manifest(
            &serde_json::json!({ "format": "apollo-persisted-query-manifest", "version": 1,
                "operations": [{ "id": id, "name": "Me", "type": "query", "body": DOC }] })
            .to_string(),
        );
        for file in [&codegen, &apollo] {
            let trusted =
                TrustedDocuments::load(&[file.path().to_owned()], Mode::Only, vec![Role::Admin]);
            let Ok(trusted) = trusted else {
                unreachable!("{trusted:?}");
            };
            assert_eq!(trusted.len(), 1);
            let mut request = with_id(&format!("sha256:{id}"));
            assert_eq!(trusted.resolve(&mut request, None).ok(), Some(Found::ById));
            assert_eq!(request.query, DOC);
            let mut apq = Request::new("");
            apq.extensions.insert(
                "persistedQuery".to_owned(),
                Value::from_json(serde_json::json!({ "version": 1, "sha256Hash": id }))
                    .unwrap_or_default(),
            );
            assert_eq!(trusted.resolve(&mut apq, None).ok(), Some(Found::ById));
            let code = |result: Result<Found, ServerError>| {
                result
                    .err()
                    .and_then(|e| e.extensions)
                    .and_then(|e| e.get("code").cloned())
            };
            assert_eq!(
                code(trusted.resolve(&mut with_id("0000"), None)),
                Some(Value::from("PERSISTED_QUERY_NOT_FOUND"))
            );
            // Texts: the manifest's run, others only for the free roles.
            assert_eq!(
                trusted.resolve(&mut Request::new(DOC), None).ok(),
                Some(Found::Text)
            );
            let other = || Request::new("{ users { totalCount } }");
            assert_eq!(
                code(trusted.resolve(&mut other(), Some(Role::Commercial))),
                Some(Value::from("TRUSTED_DOCUMENT_REQUIRED"))
            );
            assert!(trusted.resolve(&mut other(), Some(Role::Admin)).is_ok());
        }
        // A manifest whose id is not its document's hash is refused at start.
        let stale =
            manifest(&serde_json::json!({ sha256_hex("{ x }".as_bytes()): DOC }).to_string());
        assert!(TrustedDocuments::load(&[stale.path().to_owned()], Mode::Allow, vec![]).is_err());
        // `allow`: an unknown id with the text it hashes to runs as a text (Apollo's retry);
        // prefixes in any case.
        let allow = TrustedDocuments::load(&[codegen.path().to_owned()], Mode::Allow, vec![]);
        let Ok(allow) = allow else {
            unreachable!("{allow:?}");
        };
        let other = "{ users { totalCount } }";
        let mut retry = with_id(&sha256_hex(other.as_bytes()));
        retry.query = other.to_owned();
        assert_eq!(allow.resolve(&mut retry, None).ok(), Some(Found::Text));
        let mut wrong = with_id(&sha256_hex("{ x }".as_bytes()));
        wrong.query = other.to_owned();
        assert!(allow.resolve(&mut wrong, None).is_err());
        let upper = format!("SHA256:{id}");
        assert_eq!(
            allow.resolve(&mut with_id(&upper), None).ok(),
            Some(Found::ById)
        );
        // Without a manifest, ids are refused and texts run.
        let none = TrustedDocuments::none();
        assert!(none.resolve(&mut with_id(&id), None).is_err());
        assert!(none.resolve(&mut Request::new(DOC), None).is_ok());
    }
}
