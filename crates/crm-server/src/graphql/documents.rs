//! Parsed documents kept per query text, and which requests of them passed validation.
//!
//! An SPA sends the same few query texts over and over, with other variables. async-graphql
//! parses every request's text with a PEG parser (pest): on the by-id query that was a sixth of
//! the server's CPU per request, more than the validation. [`DocumentCache`] keeps the parsed
//! document of recent texts and hands async-graphql a copy, so only the first request with a
//! text pays the parse. A text that does not parse is never stored: async-graphql parses it
//! again and reports the syntax error as usual.
//!
//! Validation then took over a quarter of the by-id request. Its rules depend on the document,
//! the operation chosen and the variables' values (an argument's value is checked with the
//! variables put in), nothing else; so a request whose document, operation name and variables
//! are those of one that already ran without any error ([`Prepared::known`]) runs on a schema
//! that checks only the limits (depth, complexity: `ValidationMode::Fast`), and answers what
//! the full validation would let through. The last [`KNOWN_PER_DOCUMENT`] such variable sets
//! are kept per document.

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::Request;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use lru::LruCache;

/// Longest query text kept (longer ones are parsed every time): bounds the memory the cache
/// can hold to about `capacity × MAX_TEXT` plus the documents' nodes.
const MAX_TEXT: usize = 16 * 1024;

/// Variable sets (with their operation name) remembered per document as having run cleanly.
const KNOWN_PER_DOCUMENT: usize = 16;

/// The most recently used parsed documents, by query text.
pub struct DocumentCache {
    documents: Option<Mutex<LruCache<Arc<str>, Entry>>>,
    /// Hashes operation names and variables (keyed per process).
    hasher: std::hash::RandomState,
}

struct Entry {
    document: ExecutableDocument,
    /// Hashes of the operation names and variables of requests that ran without errors.
    known: Vec<u64>,
}

/// What [`DocumentCache::prepare`] found out about a request.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The document holds only queries (false when it was not parsed here).
    pub read_only: bool,
    /// The same text, operation and variables ran without errors before: the full validation
    /// would pass.
    pub known: bool,
    /// The cached text and the hash of the operation and variables, to remember a clean run.
    entry: Option<(Arc<str>, u64)>,
}

impl DocumentCache {
    /// A cache of `capacity` documents; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        DocumentCache {
            documents: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Gives `request` the parsed document of its text: a copy of the cached one, or a fresh
    /// parse that is then cached. A text that does not parse is left to async-graphql.
    pub fn prepare(&self, request: &mut Request) -> Prepared {
        let Some(documents) = &self.documents else {
            return Prepared::default();
        };
        if request.query.len() > MAX_TEXT {
            return Prepared::default();
        }
        let variables = match serde_json::to_vec(&request.variables) {
            Ok(variables) => variables,
            Err(_) => return Prepared::default(),
        };
        let hash = self
            .hasher
            .hash_one((request.operation_name.as_deref(), variables));
        let cached = documents.lock().ok().and_then(|mut documents| {
            documents
                .get_key_value(request.query.as_str())
                .map(|(text, entry)| {
                    (
                        text.clone(),
                        entry.document.clone(),
                        entry.known.contains(&hash),
                    )
                })
        });
        let (text, document, known) = match cached {
            Some(cached) => cached,
            None => match async_graphql::parser::parse_query(&request.query) {
                Ok(document) => {
                    let text: Arc<str> = Arc::from(request.query.as_str());
                    if let Ok(mut documents) = documents.lock() {
                        let entry = Entry {
                            document: document.clone(),
                            known: Vec::new(),
                        };
                        documents.put(text.clone(), entry);
                    }
                    (text, document, false)
                }
                Err(_) => return Prepared::default(),
            },
        };
        let read_only = document
            .operations
            .iter()
            .all(|(_, operation)| operation.node.ty == OperationType::Query);
        request.set_parsed_query(document);
        Prepared {
            read_only,
            known,
            entry: Some((text, hash)),
        }
    }

    /// Remembers that the request `prepared` ran without any error.
    pub fn ran_cleanly(&self, prepared: &Prepared) {
        let (Some(documents), Some((text, hash))) = (&self.documents, &prepared.entry) else {
            return;
        };
        if prepared.known {
            return;
        }
        if let Ok(mut documents) = documents.lock()
            && let Some(entry) = documents.peek_mut(text.as_ref())
            && !entry.known.contains(hash)
        {
            if entry.known.len() == KNOWN_PER_DOCUMENT {
                entry.known.remove(0);
            }
            entry.known.push(*hash);
        }
    }

    /// Whether the document of `text` is held.
    #[cfg(test)]
    fn holds(&self, text: &str) -> bool {
        self.documents
            .as_ref()
            .and_then(|d| d.lock().ok().map(|d| d.contains(text)))
            .unwrap_or(false)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use async_graphql::parser::types::{DocumentOperations, Selection};

    use super::*;

    /// The name of the first field the request's (single) operation selects.
    fn first_field(request: &mut Request) -> String {
        match &request.parsed_query().expect("parsed").operations {
            DocumentOperations::Single(op) => match &op.node.selection_set.node.items[0].node {
                Selection::Field(field) => field.node.name.node.to_string(),
                _ => String::new(),
            },
            DocumentOperations::Multiple(_) => String::new(),
        }
    }

    #[test]
    fn each_request_gets_the_document_of_its_own_text() {
        let cache = DocumentCache::new(4);
        for _ in 0..2 {
            for (text, field) in [
                ("{ me { id } }", "me"),
                ("{ clients { totalCount } }", "clients"),
            ] {
                let mut request = Request::new(text);
                cache.prepare(&mut request);
                assert_eq!(first_field(&mut request), field);
                assert!(cache.holds(text));
            }
        }
    }

    #[test]
    fn bad_texts_are_not_kept_and_the_least_recent_text_goes_first() {
        let cache = DocumentCache::new(2);
        let mut bad = Request::new("{ me { id ");
        cache.prepare(&mut bad);
        assert!(
            bad.parsed_query().is_err(),
            "the syntax error is still reported"
        );
        assert!(!cache.holds("{ me { id "));
        for text in ["{ a }", "{ b }", "{ a }", "{ c }"] {
            cache.prepare(&mut Request::new(text));
        }
        assert!(cache.holds("{ a }") && cache.holds("{ c }") && !cache.holds("{ b }"));
        let off = DocumentCache::new(0);
        off.prepare(&mut Request::new("{ a }"));
        assert!(!off.holds("{ a }"));
    }

    #[test]
    fn only_documents_of_queries_alone_are_read_only() {
        let cache = DocumentCache::new(4);
        for _ in 0..2 {
            // Cached or not, the same answer.
            assert!(
                cache
                    .prepare(&mut Request::new(
                        "query A { me { id } } query B { me { id } }"
                    ))
                    .read_only
            );
            assert!(
                !cache
                    .prepare(&mut Request::new("mutation { logout }"))
                    .read_only
            );
            assert!(
                !cache
                    .prepare(&mut Request::new(
                        "query A { me { id } } mutation B { logout }"
                    ))
                    .read_only
            );
        }
        assert!(!cache.prepare(&mut Request::new("{ me { id ")).read_only);
    }

    #[test]
    fn a_request_is_known_after_a_clean_run_with_the_same_operation_and_variables() {
        let cache = DocumentCache::new(4);
        let text = "query A($id: UUID!) { client(id: $id) { id } } query B { me { id } }";
        let request = |operation: &str, id: &str| {
            Request::new(text).operation_name(operation).variables(
                async_graphql::Variables::from_json(serde_json::json!({ "id": id })),
            )
        };
        let first = cache.prepare(&mut request("A", "1"));
        assert!(!first.known);
        // Not remembered until it ran cleanly.
        assert!(!cache.prepare(&mut request("A", "1")).known);
        cache.ran_cleanly(&first);
        assert!(cache.prepare(&mut request("A", "1")).known);
        // Other variables, another operation: validated again.
        assert!(!cache.prepare(&mut request("A", "2")).known);
        assert!(!cache.prepare(&mut request("B", "1")).known);
        // Only the last few variable sets are kept.
        for n in 0..KNOWN_PER_DOCUMENT {
            let prepared = cache.prepare(&mut request("A", &format!("other {n}")));
            cache.ran_cleanly(&prepared);
        }
        assert!(!cache.prepare(&mut request("A", "1")).known);
        assert!(cache.prepare(&mut request("A", "other 1")).known);
        // A text that does not parse, or no cache: never known.
        let bad = cache.prepare(&mut Request::new("{ me { id "));
        cache.ran_cleanly(&bad);
        assert!(!cache.prepare(&mut Request::new("{ me { id ")).known);
        let off = DocumentCache::new(0);
        let prepared = off.prepare(&mut Request::new("{ me { id } }"));
        off.ran_cleanly(&prepared);
        assert!(!off.prepare(&mut Request::new("{ me { id } }")).known);
    }
}
