//! What `aggregate` figures over client notes.

use crate::engine::scalars::Date;
use uuid::Uuid;

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
        group ClientNoteGroupField, keys ClientNoteGroupKeys, by ClientNoteGroupBy,
            measure ClientNoteGroupMeasure, having ClientNoteGroupCondition, order ClientNoteGroupOrder {
            /// The client.
            ClientId: client_id: Uuid = KeySource::Column("client_id"),
            /// The author.
            UserId: user_id: Uuid = KeySource::Column("user_id"),
            /// The kind of note.
            NoteType: note_type: String = KeySource::Column("note_type"),
            /// The day it was written (in the grouping's time zone), or the first day of its period.
            CreatedAt: created_at: Date = KeySource::Timestamp("created_at"),
        }
    }
}
