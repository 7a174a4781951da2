//! The GraphQL layer shared by every domain: schema assembly, scalars, errors and loading.

pub mod context;
pub mod errors;
pub mod loader;
pub mod scalars;
pub mod schema;

pub use schema::{CrmSchema, build_schema, sdl};
