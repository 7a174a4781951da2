//! Client notes: each client's history.

pub mod aggregates;
pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod types;

pub use resolvers::{ClientNoteMutation, ClientNoteQuery};
pub use types::ClientNote;
