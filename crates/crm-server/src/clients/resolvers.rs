//! Root fields for `Client`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{ClientFilter, ClientOrderField};
use super::types::Client;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

/// Root query fields for clients.
#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// One client by id, or null when there is none.
    async fn client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Option<Client>> {
        Ok(loaders(ctx)?.by_id::<Client>(id).await?)
    }
    /// A page of clients: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "clients")]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<ClientFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<ClientOrderField>>,
        >,
    ) -> Result<Connection<Client>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<Client>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}
