//! The `search` root field.

use std::sync::Arc;

use async_graphql::{Context, Object};

use crate::search::service::{SearchKind, search};
use crate::search::terms::{Terms, snippet};
use crate::search::types::{SearchHit, SearchHitConnection};

/// Search across clients, contracts, notes and documents.
#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// The clients (company name, e-mail, phone, city), contracts (number, title), notes and
    /// documents (file name) whose text holds every word of `query` as the start of a word,
    /// accents and case ignored ("acm" finds "Acme", "societe" finds "Société"), within your
    /// portfolio: best matches first, then the most recently changed. Archived clients and
    /// contracts are left out unless `includeArchived`.
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Words to find (at most 8 words, 200 characters).")] query: String,
        #[graphql(desc = "Return the first n hits (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return hits after this cursor.")] after: Option<String>,
        #[graphql(desc = "Only these kinds of rows (default: every kind).")] types: Option<
            Vec<SearchKind>,
        >,
        #[graphql(desc = "Archived clients and contracts too (default: left out).")]
        include_archived: Option<bool>,
    ) -> async_graphql::Result<SearchHitConnection> {
        let loaders = crate::engine::loaders(ctx)?;
        let terms = Terms::parse(&query)?;
        let page = search(
            loaders.reader(),
            loaders.viewer()?,
            loaders.limits(),
            &terms,
            types.as_deref().unwrap_or_default(),
            first,
            after.as_deref(),
            include_archived.unwrap_or(false),
        )
        .await?;
        let hits = page
            .found
            .into_iter()
            .map(|found| {
                Arc::new(SearchHit {
                    kind: found.kind,
                    id: found.id,
                    snippet: snippet(&found.body, &terms),
                    cursor: found.cursor,
                })
            })
            .collect();
        Ok(SearchHitConnection::new(
            hits,
            page.has_next_page,
            page.has_previous_page,
            Some(Arc::new(page.count)),
        ))
    }
}
