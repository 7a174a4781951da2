//! Parsed documents kept per query text, and which requests of them passed validation.
//!
//! An SPA sends the same few query texts over and over, with other variables. async-graphql
//! parses every request's text with a PEG parser (pest): on the by-id query that was a sixth of
//! the server's CPU per request, more than the validation. [`DocumentCache`] keeps the parsed
//! document of recent texts and hands async-graphql a copy, so only the first request with a
//! text pays the parse.
//!
//! Admission comes first ([`DocumentCache::prepare`]): a text never seen is scanned and its
//! document measured against the [`Limits`] before async-graphql validates it, and a request
//! without valid credentials may only run what needs none. A document is kept only once it
//! passed validation, and the cache holds at most its budget of bytes (each document weighed
//! by its text and tokens), so distinct large documents cannot grow the memory.
//!
//! Validation then took over a quarter of the by-id request. Its rules depend on the document,
//! the operation chosen and the variables' values (an argument's value is checked with the
//! variables put in), nothing else; so a request whose document, operation name and variables
//! are those of one that already ran without any error ([`Prepared::known`]) runs on a schema
//! that skips the validation (`ValidationMode::Fast`), and answers what the full validation
//! would let through. The last [`KNOWN_PER_DOCUMENT`] such variable sets are kept per document.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

use crate::graphql::limits::{self, DocumentFacts, Limits, Refusal};

/// Variable sets (with their operation name) remembered per document as having run cleanly.
const KNOWN_PER_DOCUMENT: usize = 16;

/// Bytes a parsed document takes per token of its text, at most (a field, the largest node, is
/// about 220 bytes with its name).
const BYTES_PER_TOKEN: usize = 256;

/// The most recently used parsed documents that passed validation, by query text.
pub struct DocumentCache {
    documents: Option<Mutex<Documents>>,
    /// Hashes operation names and variables (keyed per process).
    hasher: std::hash::RandomState,
}

struct Documents {
    entries: LruCache<Arc<str>, Entry>,
    /// The sum of the entries' weights.
    weight: usize,
    /// The most the entries may weigh.
    budget: usize,
}

struct Entry {
    document: ExecutableDocument,
    facts: DocumentFacts,
    weight: usize,
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
    /// The text and the hash of the operation and variables, to remember a clean run.
    entry: Option<(Arc<str>, u64)>,
    /// A document parsed for this request, kept if it passes validation.
    fresh: Option<Box<Fresh>>,
}

#[derive(Debug)]
struct Fresh {
    document: ExecutableDocument,
    facts: DocumentFacts,
    weight: usize,
}

impl DocumentCache {
    /// A cache of at most `budget` bytes of documents; 0 turns it off.
    pub fn new(budget: usize) -> Self {
        DocumentCache {
            documents: (budget > 0).then(|| {
                Mutex::new(Documents {
                    entries: LruCache::unbounded(),
                    weight: 0,
                    budget,
                })
            }),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Admits `request` or says why not, and gives it the parsed document of its text: a copy
    /// of the cached one, or a fresh parse of a text that fits the limits. A text that does not
    /// parse is left to async-graphql, which reports the syntax error. `anonymous`: the request
    /// has no valid credentials (the reason), so it may only sign in, refresh a session or
    /// introspect.
    pub fn prepare(
        &self,
        request: &mut Request,
        limits: &Limits,
        anonymous: Option<&str>,
    ) -> Result<Prepared, Refusal> {
        limits::check_variables(&request.variables, limits)?;
        // The operation and variables, hashed to tell whether they ran cleanly before.
        let hash = self.documents.as_ref().and_then(|_| {
            let variables = serde_json::to_vec(&request.variables).ok()?;
            Some(
                self.hasher
                    .hash_one((request.operation_name.as_deref(), variables)),
            )
        });
        let cached = self.documents.as_ref().and_then(|documents| {
            let mut documents = documents.lock().ok()?;
            let (text, entry) = documents.entries.get_key_value(request.query.as_str())?;
            let known = hash.is_some_and(|hash| entry.known.contains(&hash));
            Some((text.clone(), entry.document.clone(), entry.facts, known))
        });
        let (text, document, facts, known, fresh) = match cached {
            Some((text, document, facts, known)) => (Some(text), document, facts, known, None),
            None => {
                let scan = limits::scan(&request.query, limits)?;
                let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
                    return Ok(Prepared::default());
                };
                let facts = limits::check_document(&document, limits)?;
                // The request runs on the copy: a clone's lists are exactly as long as they
                // need, the parser's have room to grow (a subscription keeps its document for
                // as long as it runs).
                let (document, fresh) = if self.documents.is_some() {
                    let copy = document.clone();
                    let fresh = Box::new(Fresh {
                        document,
                        facts,
                        weight: request.query.len() + scan.tokens * BYTES_PER_TOKEN,
                    });
                    (copy, Some(fresh))
                } else {
                    (document, None)
                };
                (None, document, facts, false, fresh)
            }
        };
        if let Some(reason) = anonymous
            && !facts.public
        {
            return Err(Refusal::unauthenticated(reason));
        }
        let entry = hash.map(|hash| {
            let text = text.unwrap_or_else(|| Arc::from(request.query.as_str()));
            (text, hash)
        });
        request.set_parsed_query(document);
        Ok(Prepared {
            read_only: facts.read_only,
            known,
            entry,
            fresh,
        })
    }

    /// Keeps the document of `prepared` if it passed validation (`validated`), and remembers
    /// its operation and variables if the request ran without any error (`clean`).
    pub fn finish(&self, prepared: Prepared, validated: bool, clean: bool) {
        let (Some(documents), Some((text, hash))) = (&self.documents, prepared.entry) else {
            return;
        };
        let Ok(mut documents) = documents.lock() else {
            return;
        };
        if let Some(fresh) = prepared.fresh
            && validated
            && fresh.weight <= documents.budget
            && !documents.entries.contains(text.as_ref())
        {
            documents.weight += fresh.weight;
            let entry = Entry {
                document: fresh.document,
                facts: fresh.facts,
                weight: fresh.weight,
                known: Vec::new(),
            };
            documents.entries.put(text.clone(), entry);
            while documents.weight > documents.budget {
                match documents.entries.pop_lru() {
                    Some((_, old)) => documents.weight -= old.weight,
                    None => break,
                }
            }
        }
        if clean
            && !prepared.known
            && let Some(entry) = documents.entries.peek_mut(text.as_ref())
            && !entry.known.contains(&hash)
        {
            if entry.known.len() == KNOWN_PER_DOCUMENT {
                entry.known.remove(0);
            }
            entry.known.push(hash);
        }
    }

    /// Whether the document of `text` is held.
    #[cfg(test)]
    fn holds(&self, text: &str) -> bool {
        self.documents
            .as_ref()
            .and_then(|d| d.lock().ok().map(|d| d.entries.contains(text)))
            .unwrap_or(false)
    }

    /// The weight of the documents held, in bytes (served on `/metrics`).
    pub fn weight(&self) -> usize {
        self.documents
            .as_ref()
            .and_then(|d| d.lock().ok().map(|d| d.weight))
            .unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use async_graphql::parser::types::{DocumentOperations, Selection};

    use super::*;

    const BUDGET: usize = 1 << 20;

    /// Prepares `request` as signed in, and keeps its document as if it validated.
    fn admit(cache: &DocumentCache, request: &mut Request) -> bool {
        let prepared = cache
            .prepare(request, &Limits::default(), None)
            .expect("admitted");
        let read_only = prepared.read_only;
        cache.finish(prepared, true, false);
        read_only
    }

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
        let cache = DocumentCache::new(BUDGET);
        for _ in 0..2 {
            for (text, field) in [
                ("{ me { id } }", "me"),
                ("{ clients { totalCount } }", "clients"),
            ] {
                let mut request = Request::new(text);
                admit(&cache, &mut request);
                assert_eq!(first_field(&mut request), field);
                assert!(cache.holds(text));
            }
        }
    }

    #[test]
    fn only_validated_documents_are_kept_within_the_budget() {
        let cache = DocumentCache::new(BUDGET);
        let mut bad = Request::new("{ me { id ");
        let prepared = cache
            .prepare(&mut bad, &Limits::default(), None)
            .expect("left to the parser");
        assert!(
            bad.parsed_query().is_err(),
            "the syntax error is still reported"
        );
        cache.finish(prepared, false, false);
        assert!(!cache.holds("{ me { id "));
        // Parsed but refused by the validation: not kept.
        let prepared = cache
            .prepare(&mut Request::new("{ nope }"), &Limits::default(), None)
            .expect("admitted");
        cache.finish(prepared, false, false);
        assert!(!cache.holds("{ nope }"));

        // Documents of about 1,850 bytes each (7 tokens) in a budget of 4,000: two fit, the
        // least recent goes.
        let small = DocumentCache::new(4_000);
        let text = |name: &str| format!("{{ {name} {} }}", "__typename ".repeat(4));
        for name in ["a", "b", "a", "c"] {
            admit(&small, &mut Request::new(text(name)));
        }
        assert!(small.holds(&text("a")) && small.holds(&text("c")) && !small.holds(&text("b")));
        assert!(small.weight() <= 4_000, "{}", small.weight());
        // A document heavier than the whole budget is never kept.
        let huge = format!("{{ {} }}", "__typename ".repeat(100));
        admit(&small, &mut Request::new(huge.clone()));
        assert!(!small.holds(&huge) && small.holds(&text("c")));
        let off = DocumentCache::new(0);
        admit(&off, &mut Request::new("{ a }"));
        assert!(!off.holds("{ a }"));
    }

    #[test]
    fn only_documents_of_queries_alone_are_read_only() {
        let cache = DocumentCache::new(BUDGET);
        for _ in 0..2 {
            // Cached or not, the same answer.
            let both = "query A { me { id } } query B { me { id } }";
            assert!(admit(&cache, &mut Request::new(both)));
            assert!(!admit(&cache, &mut Request::new("mutation { signOut }")));
            let mixed = "query A { me { id } } mutation B { signOut }";
            assert!(!admit(&cache, &mut Request::new(mixed)));
        }
        assert!(!admit(&cache, &mut Request::new("{ me { id ")));
    }

    #[test]
    fn without_credentials_only_sign_in_refresh_and_introspection_are_admitted() {
        let cache = DocumentCache::new(BUDGET);
        let limits = Limits::default();
        for _ in 0..2 {
            for public in [
                "mutation { signIn(email: \"a@b.c\", password: \"p\") { accessToken } }",
                "mutation R { refreshSession(refreshToken: \"t\") { accessToken } }",
                "{ __schema { queryType { name } } }",
                "query { ...F } fragment F on Query { __type(name: \"Client\") { name } }",
                "{ __typename }",
            ] {
                let prepared = cache
                    .prepare(&mut Request::new(public), &limits, Some("no token"))
                    .expect(public);
                cache.finish(prepared, true, true);
            }
            for private in [
                "{ me { id } }",
                "{ __schema { queryType { name } } clients { totalCount } }",
                "query { ...F } fragment F on Query { ... on Query { users { totalCount } } }",
                "mutation { signIn(email: \"a\", password: \"b\") { accessToken } signOut }",
                "query A { __typename } query B { me { id } }",
            ] {
                let refused = cache
                    .prepare(&mut Request::new(private), &limits, Some("no token"))
                    .expect_err(private);
                assert_eq!(refused.code, "UNAUTHENTICATED");
                // Signed in, the same document is admitted.
                let prepared = cache
                    .prepare(&mut Request::new(private), &limits, None)
                    .expect(private);
                cache.finish(prepared, true, true);
            }
        }
    }

    #[test]
    fn a_request_is_known_after_a_clean_run_with_the_same_operation_and_variables() {
        let cache = DocumentCache::new(BUDGET);
        let limits = Limits::default();
        let text = "query A($id: UUID!) { client(id: $id) { id } } query B { me { id } }";
        let request = |operation: &str, id: &str| {
            Request::new(text).operation_name(operation).variables(
                async_graphql::Variables::from_json(serde_json::json!({ "id": id })),
            )
        };
        let prepare = |operation: &str, id: &str| {
            cache
                .prepare(&mut request(operation, id), &limits, None)
                .expect("admitted")
        };
        let first = prepare("A", "1");
        assert!(!first.known);
        // Not remembered until it ran cleanly.
        cache.finish(first, true, false);
        let second = prepare("A", "1");
        assert!(!second.known);
        cache.finish(second, true, true);
        assert!(prepare("A", "1").known);
        // Other variables, another operation: validated again.
        assert!(!prepare("A", "2").known);
        assert!(!prepare("B", "1").known);
        // Only the last few variable sets are kept.
        for n in 0..KNOWN_PER_DOCUMENT {
            let prepared = prepare("A", &format!("other {n}"));
            cache.finish(prepared, true, true);
        }
        assert!(!prepare("A", "1").known);
        assert!(prepare("A", "other 1").known);
        // A text that does not parse, or no cache: never known.
        let bad = cache
            .prepare(&mut Request::new("{ me { id "), &limits, None)
            .expect("left to the parser");
        cache.finish(bad, false, true);
        assert!(
            !cache
                .prepare(&mut Request::new("{ me { id "), &limits, None)
                .expect("left to the parser")
                .known
        );
        let off = DocumentCache::new(0);
        let prepared = off
            .prepare(&mut Request::new("{ me { id } }"), &limits, None)
            .expect("admitted");
        off.finish(prepared, true, true);
        assert!(
            !off.prepare(&mut Request::new("{ me { id } }"), &limits, None)
                .expect("admitted")
                .known
        );
    }
}
