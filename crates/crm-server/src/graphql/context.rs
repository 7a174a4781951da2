//! Typed access to what each request carries.

use async_graphql::Context;

pub use crate::engine::loader::loaders;
use crate::error::AppError;

/// How the request authenticated (registered by the HTTP handler for every request).
pub fn request_auth<'a>(ctx: &Context<'a>) -> Result<&'a crate::auth::RequestAuth, AppError> {
    ctx.data::<crate::auth::RequestAuth>()
        .map_err(|_| AppError::Internal("request has no credentials".to_owned()))
}

/// Who is asking (`UNAUTHENTICATED` for anonymous requests and refused credentials).
pub fn viewer(ctx: &Context<'_>) -> Result<crate::auth::Viewer, AppError> {
    loaders(ctx)?.viewer()
}

/// The database connection (schema data).
pub fn db<'a>(ctx: &Context<'a>) -> Result<&'a sea_orm::DatabaseConnection, AppError> {
    ctx.data::<sea_orm::DatabaseConnection>()
        .map_err(|_| AppError::Internal("schema has no database".to_owned()))
}

/// A to-one relation that the schema guarantees (a NOT NULL foreign key).
pub fn required<T>(value: Option<T>, what: &str) -> Result<T, AppError> {
    value.ok_or_else(|| AppError::Internal(format!("dangling reference to {what}")))
}

/// The cipher of mailbox tokens and webhook secrets (schema data).
pub fn cipher<'a>(ctx: &Context<'a>) -> Result<&'a crate::secrets::TokenCipher, AppError> {
    ctx.data::<std::sync::Arc<crate::secrets::TokenCipher>>()
        .map(|cipher| cipher.as_ref())
        .map_err(|_| AppError::Internal("no token cipher".to_owned()))
}

/// Where documents' files are (schema data).
pub fn files<'a>(ctx: &Context<'a>) -> Result<&'a crate::documents::service::Files, AppError> {
    ctx.data::<std::sync::Arc<crate::documents::service::Files>>()
        .map(|files| files.as_ref())
        .map_err(|_| AppError::Internal("schema has no document store".to_owned()))
}
