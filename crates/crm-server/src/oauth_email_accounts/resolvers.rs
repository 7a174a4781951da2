//! Root fields for `OAuthEmailAccount`.

use super::types::OAuthEmailAccount;

crate::root_queries! {
    /// Root query fields for connected mailboxes.
    OAuthEmailAccountQuery for OAuthEmailAccount {
        /// One connected mailbox by id, or null when there is none.
        oauth_email_account("Id of the connected mailbox.");
        /// A page of connected mailboxes: filter, sort and paginate (Relay cursor connection).
        oauth_email_accounts;
    }
}

/// Mutations on connected mailboxes.
#[derive(Default)]
pub struct OAuthEmailAccountMutation;

#[async_graphql::Object]
impl OAuthEmailAccountMutation {
    /// Connects a mailbox (or refreshes the tokens of one already connected). The tokens are
    /// stored encrypted and never returned.
    async fn connect_email_account(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "The mailbox and its OAuth tokens.")]
        input: super::inputs::ConnectEmailAccountInput,
    ) -> async_graphql::Result<super::types::OAuthEmailAccount> {
        let cipher = ctx
            .data::<std::sync::Arc<crate::secrets::TokenCipher>>()
            .map_err(|_| crate::error::AppError::Internal("no token cipher".to_owned()))?;
        let db = crate::graphql::context::db(ctx)?;
        let viewer = crate::graphql::context::viewer(ctx)?;
        Ok(super::service::connect(db, viewer, cipher, input)
            .await?
            .into())
    }

    /// Disconnects a mailbox: the account and its tokens are deleted. Returns the deleted id.
    async fn disconnect_email_account(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "Id of the mailbox account.")] id: uuid::Uuid,
    ) -> async_graphql::Result<uuid::Uuid> {
        let viewer = crate::graphql::context::viewer(ctx)?;
        Ok(super::service::disconnect(crate::graphql::context::db(ctx)?, viewer, id).await?)
    }
}
