//! Connected mailboxes (OAuth e-mail accounts): connected through the provider's consent screen
//! ([`connect`], [`callback`]), their tokens kept fresh ([`refresh`]).

pub mod aggregates;
pub mod callback;
pub mod connect;
pub mod inputs;
pub mod providers;
pub mod refresh;
pub mod resolvers;
pub mod service;
pub mod types;

pub use resolvers::{MailboxQuery, OAuthEmailAccountMutation, OAuthEmailAccountQuery};
pub use types::OAuthEmailAccount;
