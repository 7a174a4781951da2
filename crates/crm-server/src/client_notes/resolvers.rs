//! Root fields for `ClientNote`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{ClientNoteFilter, ClientNoteOrderField};
use super::types::ClientNote;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

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
    /// A page of client notes: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "clientNotes")]
    async fn client_notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<ClientNoteFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<ClientNoteOrderField>>,
        >,
    ) -> Result<Connection<ClientNote>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<ClientNote>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}

/// Mutations on client notes.
#[derive(Default)]
pub struct ClientNoteMutation;

#[async_graphql::Object]
impl ClientNoteMutation {
    /// Adds a note to a client's history.
    async fn create_client_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new note.")] input: super::inputs::CreateClientNoteInput,
    ) -> Result<ClientNote> {
        Ok(super::service::create(db(ctx)?, input).await?.into())
    }

    /// Changes a note. Returns it as stored.
    async fn update_client_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the note.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: super::inputs::UpdateClientNoteInput,
    ) -> Result<ClientNote> {
        Ok(super::service::update(db(ctx)?, id, input).await?.into())
    }

    /// Deletes a note. Returns the deleted id.
    async fn delete_client_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the note.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(super::service::delete(db(ctx)?, id).await?)
    }
}
