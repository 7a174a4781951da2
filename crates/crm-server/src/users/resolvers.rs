//! Root fields for `User`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{UserFilter, UserOrderField};
use super::types::User;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

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
    /// A page of users: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "users")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<UserFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<UserOrderField>>,
        >,
    ) -> Result<Connection<User>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<User>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}
