//! Users: the sales team, and their management.

pub mod aggregates;
pub mod computed;
pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod types;

pub use resolvers::{UserMutation, UserQuery};
pub use types::User;
