//! Connected mailboxes (OAuth e-mail accounts).

pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod types;

pub use resolvers::{OAuthEmailAccountMutation, OAuthEmailAccountQuery};
pub use types::OAuthEmailAccount;
