//! Root fields for `Contract`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::types::Contract;
use crate::graphql::context::loaders;

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
}
