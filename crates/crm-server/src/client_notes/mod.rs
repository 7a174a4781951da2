//! Client notes: each client's history.

pub mod inputs;
pub mod resolvers;
pub mod types;

pub use resolvers::ClientNoteQuery;
pub use types::ClientNote;
