//! Root fields for signing in and out, the current user and API tokens.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::credentials::AuthService;
use super::service::{self, ClientInfo, SessionTokens};
use super::types::{ApiToken, AuthPayload, CreatedApiToken};
use crate::engine::scalars::DateTime;
use crate::error::AppError;
use crate::graphql::context::{loaders, viewer};
use crate::users::User;

/// The sign-in service (schema data).
pub fn auth_service<'a>(ctx: &Context<'a>) -> Result<&'a Arc<AuthService>, AppError> {
    ctx.data::<Arc<AuthService>>()
        .map_err(|_| AppError::Internal("schema has no auth service".to_owned()))
}

fn client_info(ctx: &Context<'_>) -> ClientInfo {
    ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default()
}

impl From<SessionTokens> for AuthPayload {
    fn from(s: SessionTokens) -> Self {
        AuthPayload {
            access_token: s.access_token,
            access_token_expires_at: s.access_expires_at.into(),
            refresh_token: s.refresh_token,
            session_expires_at: s.session_expires_at.into(),
            user: s.user.into(),
        }
    }
}

/// Who is signed in, and their API tokens.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let viewer = viewer(ctx)?;
        Ok(loaders(ctx)?
            .by_id::<User>(viewer.user_id)
            .await?
            .ok_or_else(|| AppError::unauthenticated("the session has ended: sign in again"))?)
    }

    /// Your personal API tokens, newest first, revoked ones included (admins may pass another
    /// user's id).
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose tokens (default: yours; admins only for others).")] user_id: Option<
            Uuid,
        >,
    ) -> Result<Vec<ApiToken>> {
        let tokens = service::api_tokens(auth_service(ctx)?, viewer(ctx)?, user_id).await?;
        Ok(tokens.into_iter().map(ApiToken::from).collect())
    }
}

/// Signing in and out, passwords and API tokens.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in with e-mail and password: returns an access token (send it as
    /// `Authorization: Bearer …`) and a refresh token. Wrong e-mail or password give the same
    /// UNAUTHENTICATED error; too many attempts give RATE_LIMITED.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's e-mail address (any case).")] email: String,
        #[graphql(desc = "The password.", secret)] password: String,
    ) -> Result<AuthPayload> {
        let tokens =
            service::sign_in(auth_service(ctx)?, &email, password, &client_info(ctx)).await?;
        Ok(tokens.into())
    }

    /// Exchanges a refresh token for a new access token and a new refresh token (the old one
    /// stops working; using it again ends the session).
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The refresh token from signIn or the last refreshSession.",
            secret
        )]
        refresh_token: String,
    ) -> Result<AuthPayload> {
        Ok(service::refresh(auth_service(ctx)?, &refresh_token)
            .await?
            .into())
    }

    /// Ends this session (its refresh token stops working at once; its access token at the
    /// latest when it expires), or every session of yours with `allSessions: true`.
    async fn sign_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "End every session of yours, on every device.", default = false)]
        all_sessions: bool,
    ) -> Result<bool> {
        let request = crate::graphql::context::request_auth(ctx)?.clone();
        Ok(service::sign_out(auth_service(ctx)?, &request, all_sessions).await?)
    }

    /// Changes your password, given the current one. Your other sessions end.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Your current password.", secret)] current_password: String,
        #[graphql(desc = "The new password (10 to 128 characters).", secret)] new_password: String,
    ) -> Result<bool> {
        let request = crate::graphql::context::request_auth(ctx)?.clone();
        Ok(service::change_password(
            auth_service(ctx)?,
            &request,
            current_password,
            new_password,
            &client_info(ctx),
        )
        .await?)
    }

    /// Creates a personal API token for scripts and services, acting as you. The token is
    /// returned this once; only its hash is stored.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What the token is for (shown in apiTokens).")] name: String,
        #[graphql(desc = "When it stops working (default: never).")] expires_at: Option<DateTime>,
    ) -> Result<CreatedApiToken> {
        let (token, model) = service::create_api_token(
            auth_service(ctx)?,
            viewer(ctx)?,
            &name,
            expires_at.map(|at| at.0),
        )
        .await?;
        Ok(CreatedApiToken {
            token,
            api_token: model.into(),
        })
    }

    /// Revokes an API token: it stops working at once.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the token.")] id: Uuid,
    ) -> Result<ApiToken> {
        Ok(
            service::revoke_api_token(auth_service(ctx)?, viewer(ctx)?, id)
                .await?
                .into(),
        )
    }
}
