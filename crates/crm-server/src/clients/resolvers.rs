//! Root fields for `Client`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::types::Client;
use crate::graphql::context::loaders;

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
}
