//! Root fields for `OAuthEmailAccount`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{OAuthEmailAccountFilter, OAuthEmailAccountOrderField};
use super::types::OAuthEmailAccount;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

/// Root query fields for connected mailboxes.
#[derive(Default)]
pub struct OAuthEmailAccountQuery;

#[Object]
impl OAuthEmailAccountQuery {
    /// One connected mailbox by id, or null when there is none.
    #[graphql(name = "oauthEmailAccount")]
    async fn oauth_email_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the connected mailbox.")] id: Uuid,
    ) -> Result<Option<OAuthEmailAccount>> {
        Ok(loaders(ctx)?.by_id::<OAuthEmailAccount>(id).await?)
    }
    /// A page of connected mailboxes: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "oauthEmailAccounts")]
    async fn oauth_email_accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<
            OAuthEmailAccountFilter,
        >,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<OAuthEmailAccountOrderField>>,
        >,
    ) -> Result<Connection<OAuthEmailAccount>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<OAuthEmailAccount>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}
