//! The `ClientNote` output type.

use crate::clients::Client;
use crate::graphql::context::{loaders, required};
use crate::users::User;
use async_graphql::{ComplexObject, Context, Result};
use entity::client_notes;
use uuid::Uuid;

use crate::engine::joins::ToOne;
use crate::engine::scalars::DateTime;

crate::record! {
    /// An entry in a client's history: a note written by a user, or an event the system recorded.
    ClientNote: client_notes {
        /// Unique identifier.
        id: Uuid,
        /// Id of the client.
        client_id: Uuid,
        /// Id of the user who wrote it (none for system entries).
        user_id: Option<Uuid>,
        /// Kind of entry (note, call, email, meeting, system …).
        note_type: String,
        /// The text.
        content: String,
        /// When the entry was written.
        created_at: DateTime,
        /// When the entry was last changed (maintained by the database).
        updated_at: DateTime,
    }
    to_one [
        ToOne::new::<Client>("client", "client_id"),
        ToOne::new::<User>("author", "user_id"),
    ]
    filter super::inputs::ClientNoteFilter, order super::inputs::ClientNoteOrderField,
    aggregate super::aggregates::ClientNoteAggregate
}

/// No to-many relations.
impl crate::engine::rows::ListRelations for ClientNote {}

#[ComplexObject]
impl ClientNote {
    /// The client.
    async fn client(&self, ctx: &Context<'_>) -> Result<Client> {
        Ok(required(
            loaders(ctx)?.one::<Client>(ctx, self.client_id).await?,
            "Client",
        )?)
    }

    /// The user who wrote it (none for system entries).
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(match self.user_id {
            Some(id) => loaders(ctx)?.one::<User>(ctx, id).await?,
            None => None,
        })
    }
}
