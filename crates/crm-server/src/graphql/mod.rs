//! The GraphQL surface over the domains and the engine: schema assembly, what a request may
//! ask ([`limits`]), parsed documents kept between requests ([`document_cache`]), error
//! codes ([`errors`]), the answer's JSON ([`response`]) and typed access to request data.

pub mod context;
pub mod document_cache;
pub mod errors;
pub mod http;
pub mod limits;
pub mod request;
pub mod response;
pub mod schema;
pub mod trusted;
pub mod variables;

pub use schema::{CrmSchema, build_schema, sdl};
