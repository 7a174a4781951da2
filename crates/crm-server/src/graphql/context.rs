//! Typed access to what each request carries.

use async_graphql::Context;

use crate::error::AppError;
use crate::graphql::loader::Loaders;

/// The request's loaders (registered by the HTTP handler for every request).
pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, AppError> {
    ctx.data::<Loaders>()
        .map_err(|_| AppError::Internal("request has no loaders".to_owned()))
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
