//! Documents: files uploaded for clients and contracts.

pub mod aggregates;
pub mod content;
pub mod download;
pub mod inputs;
pub mod links;
pub mod resolvers;
pub mod scan;
pub mod service;
pub mod storage;
pub mod sweep;
pub mod types;

pub use resolvers::{DocumentMutation, DocumentQuery};
pub use types::Document;
