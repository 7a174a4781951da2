//! The `ClientNote` output type.

use crate::clients::Client;
use crate::graphql::context::{loaders, required};
use crate::users::User;
use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use entity::client_notes;
use uuid::Uuid;

use crate::graphql::joins::ToOne;
use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::DateTime;

/// An entry in a client's history: a note written by a user, or an event the system recorded.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex, serial)]
pub struct ClientNote {
    /// Unique identifier.
    pub id: Uuid,
    /// Id of the client.
    pub client_id: Uuid,
    /// Id of the user who wrote it (none for system entries).
    pub user_id: Option<Uuid>,
    /// Kind of entry (note, call, email, meeting, system …).
    pub note_type: String,
    /// The text.
    pub content: String,
    /// When the entry was written.
    pub created_at: DateTime,
    /// When the entry was last changed (maintained by the database).
    pub updated_at: DateTime,
}

crate::columns!(ClientNote {
    id: "id",
    client_id: "clientId",
    user_id: "userId",
    note_type: "noteType",
    content: "content",
    created_at: "createdAt",
    updated_at: "updatedAt",
});

crate::partial_model!(client_notes::Model {
    id,
    client_id,
    user_id,
    note_type,
    content,
    created_at,
    updated_at
});

/// No to-many relations.
impl crate::graphql::rows::ListRelations for ClientNote {}

impl From<client_notes::Model> for ClientNote {
    fn from(m: client_notes::Model) -> Self {
        ClientNote {
            id: m.id,
            client_id: m.client_id,
            user_id: m.user_id,
            note_type: m.note_type,
            content: m.content,
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for ClientNote {
    type Entity = client_notes::Entity;
    const TO_ONE: &'static [ToOne] = &[
        ToOne::new::<Client>("client", "client_id"),
        ToOne::new::<User>("author", "user_id"),
    ];
    fn id(&self) -> Uuid {
        self.id
    }
}

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

impl Listable for ClientNote {
    const NAME: &'static str = "ClientNote";
    const TABLE: &'static str = "client_notes";
    type Filter = super::inputs::ClientNoteFilter;
    type OrderField = super::inputs::ClientNoteOrderField;
}
