//! Users: the sales team.

pub mod inputs;
pub mod resolvers;
pub mod types;

pub use resolvers::UserQuery;
pub use types::User;
