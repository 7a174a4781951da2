//! Documents: files uploaded for clients and contracts.

pub mod content;
pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod storage;
pub mod sweep;
pub mod types;

pub use resolvers::DocumentQuery;
pub use types::Document;
