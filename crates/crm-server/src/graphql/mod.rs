//! The GraphQL layer shared by every domain: schema assembly, scalars, errors and loading.

pub mod batch;
pub mod columns;
pub mod context;
pub mod cursor;
pub mod decode;
pub mod documents;
pub mod errors;
pub mod filters;
pub mod joins;
pub mod limits;
pub mod loader;
pub mod order;
pub mod pagination;
pub mod query;
pub mod reader;
pub mod response;
pub mod rows;
pub mod scalars;
pub mod schema;

pub use schema::{CrmSchema, build_schema, sdl};
