//! Root fields for `User`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::types::User;
use crate::graphql::context::loaders;

/// Root query fields for users.
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// One user by id, or null when there is none.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the user.")] id: Uuid,
    ) -> Result<Option<User>> {
        Ok(loaders(ctx)?.by_id::<User>(id).await?)
    }
}
