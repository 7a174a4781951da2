//! What `aggregate` figures over client notes.

crate::aggregates! {
    /// Figures over the notes of a list (every page).
    ClientNoteAggregate for ClientNote {
        distinct ClientNoteDistinctField {
            /// The client.
            ClientId = "client_id",
            /// The author.
            UserId = "user_id",
            /// The kind of note.
            NoteType = "note_type",
        }
        date_time ClientNoteDateTimeField {
            /// When the note was written.
            CreatedAt = "created_at",
            /// When the note was last changed.
            UpdatedAt = "updated_at",
        }
    }
}
