//! Root fields for `ClientNote`.

use async_graphql::{Context, Result};
use uuid::Uuid;

use super::types::ClientNote;
use crate::graphql::context::{db, loaders, viewer};

crate::root_queries! {
    /// Root query fields for client notes.
    ClientNoteQuery for ClientNote {
        /// One client note by id, or null when there is none.
        client_note("Id of the client note.");
        /// A page of client notes: filter, sort and paginate (Relay cursor connection).
        client_notes;
        /// Groups of notes with their figures (dashboards): keys, `having`, order, pages.
        groups client_note_groups;
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
        let direct = loaders(ctx)?.reader();
        Ok(
            super::service::create(db(ctx)?, direct, viewer(ctx)?, input)
                .await?
                .into(),
        )
    }

    /// Changes a note. Returns it as stored.
    async fn update_client_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the note.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: super::inputs::UpdateClientNoteInput,
    ) -> Result<ClientNote> {
        Ok(super::service::update(db(ctx)?, viewer(ctx)?, id, input)
            .await?
            .into())
    }

    /// Deletes a note. Returns the deleted id.
    async fn delete_client_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the note.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(super::service::delete(db(ctx)?, viewer(ctx)?, id).await?)
    }
}
