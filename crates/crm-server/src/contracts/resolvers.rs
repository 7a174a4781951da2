//! Root fields for `Contract`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{ContractFilter, ContractOrderField};
use super::types::Contract;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

/// Root query fields for contracts.
#[derive(Default)]
pub struct ContractQuery;

#[Object]
impl ContractQuery {
    /// One contract by id, or null when there is none.
    async fn contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
    ) -> Result<Option<Contract>> {
        Ok(loaders(ctx)?.by_id::<Contract>(id).await?)
    }
    /// A page of contracts: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "contracts")]
    async fn contracts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<ContractFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<ContractOrderField>>,
        >,
    ) -> Result<Connection<Contract>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<Contract>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}
