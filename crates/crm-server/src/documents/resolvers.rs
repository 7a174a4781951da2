//! Root fields for `Document`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::types::Document;
use crate::graphql::context::loaders;

/// Root query fields for documents.
#[derive(Default)]
pub struct DocumentQuery;

#[Object]
impl DocumentQuery {
    /// One document by id, or null when there is none.
    async fn document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the document.")] id: Uuid,
    ) -> Result<Option<Document>> {
        Ok(loaders(ctx)?.by_id::<Document>(id).await?)
    }
}
