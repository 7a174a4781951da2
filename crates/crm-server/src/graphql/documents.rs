//! Parsed documents kept per query text.
//!
//! An SPA sends the same few query texts over and over, with other variables. async-graphql
//! parses every request's text with a PEG parser (pest): on the by-id query that was a sixth of
//! the server's CPU per request, more than the validation. [`DocumentCache`] keeps the parsed
//! document of recent texts and hands async-graphql a copy, so only the first request with a
//! text pays the parse. Validation still runs on every request (its limits depend on the
//! variables), and a text that does not parse is never stored: async-graphql parses it again
//! and reports the syntax error as usual.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::Request;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use lru::LruCache;

/// Longest query text kept (longer ones are parsed every time): bounds the memory the cache
/// can hold to about `capacity × MAX_TEXT` plus the documents' nodes.
const MAX_TEXT: usize = 16 * 1024;

/// The most recently used parsed documents, by query text.
pub struct DocumentCache {
    documents: Option<Mutex<LruCache<Arc<str>, ExecutableDocument>>>,
}

impl DocumentCache {
    /// A cache of `capacity` documents; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        DocumentCache {
            documents: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    /// Gives `request` the parsed document of its text: a copy of the cached one, or a fresh
    /// parse that is then cached. A text that does not parse is left to async-graphql.
    /// Returns whether the document holds only queries (false when it was not parsed here).
    pub fn prepare(&self, request: &mut Request) -> bool {
        let Some(documents) = &self.documents else {
            return false;
        };
        if request.query.len() > MAX_TEXT {
            return false;
        }
        let cached = documents
            .lock()
            .ok()
            .and_then(|mut documents| documents.get(request.query.as_str()).cloned());
        let document = match cached {
            Some(document) => document,
            None => match async_graphql::parser::parse_query(&request.query) {
                Ok(document) => {
                    if let Ok(mut documents) = documents.lock() {
                        documents.put(Arc::from(request.query.as_str()), document.clone());
                    }
                    document
                }
                Err(_) => return false,
            },
        };
        let read_only = document
            .operations
            .iter()
            .all(|(_, operation)| operation.node.ty == OperationType::Query);
        request.set_parsed_query(document);
        read_only
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
            assert!(cache.prepare(&mut Request::new(
                "query A { me { id } } query B { me { id } }"
            )));
            assert!(!cache.prepare(&mut Request::new("mutation { logout }")));
            assert!(!cache.prepare(&mut Request::new(
                "query A { me { id } } mutation B { logout }"
            )));
        }
        assert!(!cache.prepare(&mut Request::new("{ me { id ")));
    }
}
