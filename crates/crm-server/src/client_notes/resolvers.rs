//! Root fields for `ClientNote`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::types::ClientNote;
use crate::graphql::context::loaders;

/// Root query fields for client notes.
#[derive(Default)]
pub struct ClientNoteQuery;

#[Object]
impl ClientNoteQuery {
    /// One client note by id, or null when there is none.
    #[graphql(name = "clientNote")]
    async fn client_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client note.")] id: Uuid,
    ) -> Result<Option<ClientNote>> {
        Ok(loaders(ctx)?.by_id::<ClientNote>(id).await?)
    }
}
