//! Payments: money received on contracts.

pub mod aggregates;
pub mod csv;
pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod types;

pub use resolvers::{PaymentMutation, PaymentQuery};
pub use types::Payment;
