//! Root fields for `OAuthEmailAccount`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::types::OAuthEmailAccount;
use crate::graphql::context::loaders;

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
}
