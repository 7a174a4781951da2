//! The search answer: hits (kind, the row, a snippet) as a Relay connection.

use std::borrow::Cow;

use async_graphql::{Context, Object, Union};
use uuid::Uuid;

use crate::client_notes::ClientNote;
use crate::clients::Client;
use crate::contracts::Contract;
use crate::documents::Document;
use crate::engine::forward::{ForwardConnection, ForwardNode};
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

/// A page of hits, best first (Relay connection).
pub type SearchHitConnection = ForwardConnection<SearchHit>;

impl ForwardNode for SearchHit {
    fn cursor(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.cursor)
    }
}
