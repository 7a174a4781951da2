//! Contracts: what clients signed, for how much.

pub mod computed;
pub mod inputs;
pub mod resolvers;
pub mod types;

pub use resolvers::ContractQuery;
pub use types::Contract;
