//! Webhooks: endpoints registered by admins receive the changes to clients, contracts,
//! payments, notes and documents, signed, at least once, in the background.
//!
//! - [`events`]: what an endpoint can receive.
//! - the outbox (`webhook_outbox`, filled by a trigger in the writing transaction) is turned
//!   into one delivery per endpoint by [`dispatch`];
//! - [`worker`] claims due deliveries, POSTs them ([`signature`], [`address`]) and records the
//!   outcome: retries with exponential backoff, disables endpoints that keep failing;
//! - [`service`] and [`resolvers`]: management and the delivery log, for admins.

pub mod address;
pub mod dispatch;
pub mod events;
pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod signature;
pub mod types;
pub mod worker;

pub use resolvers::{WebhookMutation, WebhookQuery};
pub use worker::{Settings, Worker};
