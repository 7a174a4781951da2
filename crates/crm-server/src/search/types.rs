//! The search answer: hits (kind, the row, a snippet) as a Relay connection.

use std::sync::Arc;

use async_graphql::{Context, Object, Union};
use sea_orm::sea_query::SelectStatement;
use uuid::Uuid;

use crate::client_notes::ClientNote;
use crate::clients::Client;
use crate::contracts::Contract;
use crate::documents::Document;
use crate::engine::PageInfo;
use crate::search::service::SearchKind;
use crate::search::terms::SnippetPart;

/// A row a search found.
#[derive(Union)]
pub enum SearchNode {
    Client(Client),
    Contract(Contract),
    ClientNote(ClientNote),
    Document(Document),
}

/// One row found, with the part of its text that matched.
pub struct SearchHit {
    pub(crate) kind: SearchKind,
    pub(crate) id: Uuid,
    pub(crate) snippet: Vec<SnippetPart>,
    pub(crate) cursor: String,
}

/// One row found, with the part of its text that matched.
#[Object(serial)]
impl SearchHit {
    /// What kind of row it is.
    async fn kind(&self) -> SearchKind {
        self.kind
    }

    /// The row's id.
    async fn id(&self) -> Uuid {
        self.id
    }

    /// The row (null only if it was deleted since it was found).
    async fn node(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SearchNode>> {
        let loaders = crate::engine::loaders(ctx)?;
        Ok(match self.kind {
            SearchKind::Client => loaders
                .by_id::<Client>(self.id)
                .await?
                .map(SearchNode::Client),
            SearchKind::Contract => loaders
                .by_id::<Contract>(self.id)
                .await?
                .map(SearchNode::Contract),
            SearchKind::Note => loaders
                .by_id::<ClientNote>(self.id)
                .await?
                .map(SearchNode::ClientNote),
            SearchKind::Document => loaders
                .by_id::<Document>(self.id)
                .await?
                .map(SearchNode::Document),
        })
    }

    /// Words around the first match, the matched words apart (to highlight them without
    /// writing HTML).
    async fn snippet(&self) -> &[SnippetPart] {
        &self.snippet
    }
}

/// One hit of a page, with its cursor.
pub struct SearchHitEdge(Arc<SearchHit>);

/// One hit of a page, with its cursor.
#[Object(serial)]
impl SearchHitEdge {
    /// The hit.
    async fn node(&self) -> &SearchHit {
        &self.0
    }

    /// Opaque cursor of the hit, for `after`.
    async fn cursor(&self) -> &str {
        &self.0.cursor
    }
}

/// A page of hits, best first.
pub struct SearchHitConnection {
    pub(crate) hits: Vec<Arc<SearchHit>>,
    pub(crate) has_next_page: bool,
    pub(crate) has_previous_page: bool,
    pub(crate) count: SelectStatement,
}

/// A page of hits, best first (Relay connection).
#[Object(serial)]
impl SearchHitConnection {
    /// The hits of the page with their cursors.
    async fn edges(&self) -> Vec<SearchHitEdge> {
        self.hits.iter().cloned().map(SearchHitEdge).collect()
    }

    /// The hits of the page.
    async fn nodes(&self) -> Vec<&SearchHit> {
        self.hits.iter().map(|h| &**h).collect()
    }

    /// Where the page sits among the hits.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.hits.first().map(|h| h.cursor.clone()),
            end_cursor: self.hits.last().map(|h| h.cursor.clone()),
        }
    }

    /// How many rows match, across all pages, within your portfolio (counted only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(crate::engine::loaders(ctx)?.count(&self.count).await?)
    }
}
