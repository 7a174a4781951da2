//! Filter and sort inputs for client notes.

use async_graphql::InputObject;
use entity::Table;
use sea_orm::sea_query::Condition;

use crate::clients::inputs::ClientFilter;
use crate::engine::filters::{
    DateTimeFilter, EntityFilter, StringFilter, UuidFilter, combine, field, related,
};
use crate::engine::scope::Scope;

/// Which notes to return. Fields combine with AND; use `and`, `or` and `not` for more.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientNoteFilter {
    /// Every one of these filters matches.
    pub and: Option<Vec<ClientNoteFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<ClientNoteFilter>>,
    /// This filter does not match.
    pub not: Option<Box<ClientNoteFilter>>,
    /// Filter on the id.
    pub id: Option<UuidFilter>,
    /// Filter on the client's id.
    pub client_id: Option<UuidFilter>,
    /// Filter on the author's id.
    pub user_id: Option<UuidFilter>,
    /// Filter on the kind of entry.
    pub note_type: Option<StringFilter>,
    /// Filter on the text.
    pub content: Option<StringFilter>,
    /// Filter on the creation time.
    pub created_at: Option<DateTimeFilter>,
    /// The client matches.
    pub client: Option<Box<ClientFilter>>,
}

impl EntityFilter for ClientNoteFilter {
    const TABLE: Table = Table::ClientNotes;

    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, || s.col("id"), s);
        c = field(c, &self.client_id, || s.col("client_id"), s);
        c = field(c, &self.user_id, || s.col("user_id"), s);
        c = field(c, &self.note_type, || s.col("note_type"), s);
        c = field(c, &self.content, || s.col("content"), s);
        c = field(c, &self.created_at, || s.col("created_at"), s);
        c = c.add(related(s, &self.client, "client_id"));
        combine(c, &self.and, &self.or, &self.not, s)
    }
}

crate::sort_fields! {
    /// Fields notes can be sorted by.
    ClientNoteOrderField, input ClientNoteOrder, on s {
        /// The id.
        Id: Uuid = s.col("id"),
        /// The kind of entry.
        NoteType: Text = s.col("note_type"),
        /// The creation time.
        CreatedAt: Timestamp = s.col("created_at"),
    }
}

/// A new note in a client's history.
#[derive(async_graphql::InputObject, Debug)]
pub struct CreateClientNoteInput {
    /// The client the note is about.
    pub client_id: uuid::Uuid,
    /// The author (default: you). Managers and admins may log a note for someone else, e.g. a
    /// call a rep made.
    pub user_id: Option<uuid::Uuid>,
    /// Kind of entry: note (default), call, email, meeting … (`system` is the server's own).
    pub note_type: Option<String>,
    /// The text (not blank, at most 10 000 characters).
    pub content: String,
}

/// Changes to a note; absent fields are left as they are.
#[derive(async_graphql::InputObject, Debug)]
pub struct UpdateClientNoteInput {
    /// Kind of entry.
    pub note_type: async_graphql::MaybeUndefined<String>,
    /// The text.
    pub content: async_graphql::MaybeUndefined<String>,
    /// The `updatedAt` you last read: the update fails with CONFLICT if the note changed since.
    pub expected_updated_at: Option<crate::engine::scalars::DateTime>,
}
