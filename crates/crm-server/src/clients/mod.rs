//! Clients: the companies the team sells to.

pub mod computed;
pub mod inputs;
pub mod resolvers;
pub mod types;

pub use resolvers::ClientQuery;
pub use types::Client;
