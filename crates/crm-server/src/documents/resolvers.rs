//! Root fields for `Document`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{DocumentFilter, DocumentOrderField};
use super::types::Document;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

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
    /// A page of documents: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "documents")]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<DocumentFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<DocumentOrderField>>,
        >,
    ) -> Result<Connection<Document>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<Document>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}
