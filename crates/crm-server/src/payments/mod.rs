//! Payments: money received on contracts.

pub mod inputs;
pub mod resolvers;
pub mod types;

pub use resolvers::PaymentQuery;
pub use types::Payment;
