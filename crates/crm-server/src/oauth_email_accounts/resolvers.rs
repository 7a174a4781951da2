//! Root fields for `OAuthEmailAccount`.

use super::types::OAuthEmailAccount;

crate::root_queries! {
    /// Root query fields for connected mailboxes.
    OAuthEmailAccountQuery for OAuthEmailAccount {
        /// One connected mailbox by id, or null when there is none.
        oauth_email_account("Id of the connected mailbox.");
        /// A page of connected mailboxes: filter, sort and paginate (Relay cursor connection).
        oauth_email_accounts;
        /// Groups of mailboxes with their figures (dashboards): keys, `having`, order, pages.
        groups oauth_email_account_groups;
    }
}

/// The mail providers mailboxes connect through.
#[derive(Default)]
pub struct MailboxQuery;

#[async_graphql::Object]
impl MailboxQuery {
    /// The providers set up on this server, in `startEmailAccountConnection`'s terms.
    async fn mail_providers(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<super::providers::Provider>> {
        crate::graphql::context::viewer(ctx)?;
        Ok(providers(ctx)?.configured())
    }
}

fn providers<'a>(
    ctx: &async_graphql::Context<'a>,
) -> Result<&'a super::providers::Providers, crate::error::AppError> {
    ctx.data::<std::sync::Arc<super::providers::Providers>>()
        .map(|providers| providers.as_ref())
        .map_err(|_| crate::error::AppError::Internal("schema has no mail providers".to_owned()))
}

/// Where to send the user: the provider's consent screen.
#[derive(async_graphql::SimpleObject)]
pub struct EmailAccountConnection {
    /// Open it in the browser (a redirect or a popup): the provider's consent screen, which
    /// sends the user back to `/oauth/callback`. For the signed-in user only; works once.
    pub authorization_url: String,
    /// Until when it works.
    pub expires_at: crate::engine::scalars::DateTime,
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
        let cipher = crate::graphql::context::cipher(ctx)?;
        let db = crate::graphql::context::db(ctx)?;
        let viewer = crate::graphql::context::viewer(ctx)?;
        Ok(super::service::connect(db, viewer, cipher, input)
            .await?
            .into())
    }

    /// Starts connecting a mailbox of `provider` for you: returns the provider's authorisation
    /// URL (OAuth 2 authorisation code with PKCE). After consent the provider sends the browser
    /// to `/oauth/callback`, which exchanges the code and sends it on to `returnTo` with
    /// `mailbox=authorized&connection=…` (or `mailbox=error&code=…`); then
    /// `completeEmailAccountConnection(connection:)` attaches the mailbox to your account.
    async fn start_email_account_connection(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "The mailbox's provider.")] provider: super::providers::Provider,
        #[graphql(
            desc = "Where the browser goes once done: a URL on `CRM_PUBLIC_URL` or one of `CRM_CORS_ORIGINS` (default: a page saying it is done)."
        )]
        return_to: Option<String>,
    ) -> async_graphql::Result<EmailAccountConnection> {
        let cipher = crate::graphql::context::cipher(ctx)?;
        let db = crate::graphql::context::db(ctx)?;
        let viewer = crate::graphql::context::viewer(ctx)?;
        let started =
            super::connect::start(db, viewer, cipher, providers(ctx)?, provider, return_to).await?;
        Ok(EmailAccountConnection {
            authorization_url: started.authorization_url,
            expires_at: started.expires_at.into(),
        })
    }

    /// Completes a mailbox connection with the code `/oauth/callback` gave (in `returnTo`'s
    /// `connection` parameter): the mailbox is attached to your account, its tokens stored
    /// encrypted. Only the user who started the connection may complete it; once, within ten
    /// minutes.
    async fn complete_email_account_connection(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "The `connection` code the callback gave.", secret)] connection: String,
    ) -> async_graphql::Result<super::types::OAuthEmailAccount> {
        let cipher = crate::graphql::context::cipher(ctx)?;
        let db = crate::graphql::context::db(ctx)?;
        let viewer = crate::graphql::context::viewer(ctx)?;
        Ok(super::connect::complete(db, viewer, cipher, &connection)
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
