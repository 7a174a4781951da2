//! SeaORM 2 entities for the CRM's seven tables, plus the
//! sign-in state (`auth_sessions`, `spent_refresh_tokens`, `api_tokens`) and the webhooks
//! (`webhooks`, `webhook_deliveries`).
//!
//! The PostgreSQL schema they map is produced by the `migration` crate (it matches the
//! reference `schema.sql`); the same entities run unchanged on the embedded SQLite database.

pub mod api_tokens;
pub mod auth_sessions;
pub mod client_notes;
pub mod clients;
pub mod contracts;
pub mod documents;
pub mod enums;
pub mod oauth_email_accounts;
pub mod oauth_states;
pub mod payments;
pub mod spent_refresh_tokens;
pub mod table;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;

pub use enums::{ClientStatus, ContractStatus, PaymentStatus, Role};
pub use table::{Table, Tabled};
