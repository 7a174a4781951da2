//! Connected mailboxes (OAuth e-mail accounts).

pub mod inputs;
pub mod resolvers;
pub mod types;

pub use resolvers::OAuthEmailAccountQuery;
pub use types::OAuthEmailAccount;
