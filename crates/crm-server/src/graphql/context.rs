//! Typed access to what each request carries.

use async_graphql::Context;

use crate::error::AppError;
use crate::graphql::loader::Loaders;

/// The request's loaders (registered by the HTTP handler for every request).
pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, AppError> {
    ctx.data::<Loaders>()
        .map_err(|_| AppError::Internal("request has no loaders".to_owned()))
}
