//! Contracts: what clients signed, for how much.

pub mod aggregates;
pub mod computed;
pub mod csv;
pub mod inputs;
pub mod resolvers;
pub mod service;
pub mod types;

pub use resolvers::{ContractMutation, ContractQuery};
pub use types::Contract;
