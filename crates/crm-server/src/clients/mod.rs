//! Clients: the companies the team sells to.

pub mod aggregates;
pub mod computed;
pub mod csv;
pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod timeline;
pub mod types;

pub use resolvers::{ClientMutation, ClientQuery};
pub use types::Client;
