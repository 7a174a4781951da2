//! Sign-in, sessions, password changes and API tokens. Each change is one transaction, and
//! clears the credential cache so that it applies to the very next request.

use std::net::IpAddr;

use chrono::Utc;
use entity::{api_tokens, auth_sessions, spent_refresh_tokens, users};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, TransactionTrait, UpdateMany,
};
use uuid::Uuid;

use super::credentials::AuthService;
use super::password;
use super::tokens::{API_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, digest, opaque_token};
use super::{Action, RequestAuth, Viewer};
use crate::db::{begin_write, for_update, now};
use crate::error::{AppError, AppResult};
use crate::live::feed::credentials_changed;
use crate::validate::required_text;

/// Where a request comes from (for the sign-in rate limit and the session list).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// A new or refreshed session.
pub struct SessionTokens {
    pub access_token: String,
    pub access_expires_at: chrono::DateTime<Utc>,
    pub refresh_token: String,
    pub session_expires_at: chrono::DateTime<Utc>,
    pub user: users::Model,
}

const WRONG_CREDENTIALS: &str = "wrong e-mail or password";

/// `UPDATE auth_sessions SET revoked_at = <at> WHERE revoked_at IS NULL`, for the caller to
/// narrow: every way a session ends.
fn revoke_sessions(at: chrono::DateTime<Utc>) -> UpdateMany<auth_sessions::Entity> {
    auth_sessions::Entity::update_many()
        .col_expr(auth_sessions::Column::RevokedAt, Expr::value(at))
        .filter(auth_sessions::Column::RevokedAt.is_null())
}

/// The user with this e-mail address (compared case-insensitively).
pub async fn user_by_email(
    db: &impl sea_orm::ConnectionTrait,
    email: &str,
) -> AppResult<Option<users::Model>> {
    Ok(users::Entity::find()
        .filter(
            Expr::expr(Func::lower(Expr::col(users::Column::Email)))
                .eq(email.trim().to_lowercase()),
        )
        .one(db)
        .await?)
}

/// Checks the password and opens a session.
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    auth: &AuthService,
    email: &str,
    password: String,
    client: &ClientInfo,
) -> AppResult<SessionTokens> {
    auth.sign_in_attempt(email, client.ip)?;
    let user = user_by_email(auth.db(), email).await?;
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let user = match user {
        Some(user) if ok => user,
        _ => {
            tracing::info!("sign-in refused: wrong credentials");
            return Err(AppError::unauthenticated(WRONG_CREDENTIALS));
        }
    };
    auth.sign_in_succeeded(email, client.ip);
    if !user.is_active {
        // Told only to someone who knows the password.
        return Err(AppError::unauthenticated("this account is disabled"));
    }
    open_session(auth, user, client).await
}

/// Opens a session for `user` (whose credentials were checked) and records the sign-in.
pub async fn open_session(
    auth: &AuthService,
    user: users::Model,
    client: &ClientInfo,
) -> AppResult<SessionTokens> {
    let txn = begin_write(auth.db()).await?;
    let refresh_token = opaque_token(REFRESH_TOKEN_PREFIX)?;
    let at = now();
    let session = auth_sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        refresh_token_hash: Set(digest(&refresh_token)),
        user_agent: Set(client.user_agent.clone()),
        created_at: Set(at),
        last_used_at: Set(at),
        expires_at: Set(at + auth.session_ttl),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let mut signed_in: users::ActiveModel = user.into();
    signed_in.last_login_at = Set(Some(at));
    let user = signed_in.update(&txn).await?;
    txn.commit().await?;
    // No session id at INFO level: logs travel further than the database does.
    tracing::info!(user_id = %user.id, "signed in");
    let (access_token, access_expires_at) = auth.access_tokens.issue(user.id, session.id)?;
    Ok(SessionTokens {
        access_token,
        access_expires_at,
        refresh_token,
        session_expires_at: session.expires_at,
        user,
    })
}

/// Exchanges a refresh token for new tokens; the old refresh token stops working. Presenting
/// any refresh token a session already exchanged ends the session: someone else has a copy
/// (OAuth 2.0 security BCP, refresh token rotation).
#[tracing::instrument(skip(auth, refresh_token))]
pub async fn refresh(auth: &AuthService, refresh_token: &str) -> AppResult<SessionTokens> {
    let ended = || AppError::unauthenticated("the session has ended: sign in again");
    if !refresh_token.starts_with(REFRESH_TOKEN_PREFIX) {
        return Err(ended());
    }
    let presented = digest(refresh_token);
    // A token no session ever had (a guess, garbage) is answered from two indexed reads,
    // without taking the write lock (SQLite has one for the whole database).
    let current = auth_sessions::Entity::find()
        .filter(auth_sessions::Column::RefreshTokenHash.eq(presented.as_str()))
        .one(auth.db())
        .await?;
    if current.is_none()
        && spent_refresh_tokens::Entity::find_by_id(presented.clone())
            .one(auth.db())
            .await?
            .is_none()
    {
        return Err(ended());
    }
    let txn = begin_write(auth.db()).await?;
    let found = auth_sessions::Entity::find()
        .filter(auth_sessions::Column::RefreshTokenHash.eq(presented.as_str()))
        .find_also_related(users::Entity)
        .one(&txn)
        .await?;
    let at = now();
    let Some((session, Some(user))) = found else {
        // An exchanged token: revoke its session.
        let spent = spent_refresh_tokens::Entity::find_by_id(presented)
            .one(&txn)
            .await?;
        let session = match spent {
            Some(spent) => {
                auth_sessions::Entity::find_by_id(spent.session_id)
                    .one(&txn)
                    .await?
            }
            None => None,
        };
        if let Some(session) = session.filter(|s| s.revoked_at.is_none()) {
            revoke_sessions(at)
                .filter(auth_sessions::Column::Id.eq(session.id))
                .exec(&txn)
                .await?;
            credentials_changed(&txn, session.user_id).await?;
            txn.commit().await?;
            tracing::warn!(user_id = %session.user_id, "refresh token reused: session revoked");
            auth.forget_credentials();
        }
        return Err(ended());
    };
    if session.revoked_at.is_some() || session.expires_at <= at || !user.is_active {
        return Err(ended());
    }
    let next = opaque_token(REFRESH_TOKEN_PREFIX)?;
    // Compare-and-swap on the presented hash: of two concurrent refreshes, one wins (on
    // PostgreSQL the other waits for the row, then matches nothing).
    let swapped = auth_sessions::Entity::update_many()
        .col_expr(
            auth_sessions::Column::RefreshTokenHash,
            Expr::value(digest(&next)),
        )
        .col_expr(auth_sessions::Column::LastUsedAt, Expr::value(at))
        .filter(auth_sessions::Column::Id.eq(session.id))
        .filter(auth_sessions::Column::RefreshTokenHash.eq(presented.as_str()))
        .exec(&txn)
        .await?;
    if swapped.rows_affected != 1 {
        return Err(ended());
    }
    spent_refresh_tokens::ActiveModel {
        token_hash: Set(presented),
        session_id: Set(session.id),
        spent_at: Set(at),
        expires_at: Set(session.expires_at),
    }
    .insert(&txn)
    .await?;
    // Spent tokens of expired sessions are of no use (indexed: cheap when there are none).
    spent_refresh_tokens::Entity::delete_many()
        .filter(spent_refresh_tokens::Column::ExpiresAt.lte(at))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let (access_token, access_expires_at) = auth.access_tokens.issue(user.id, session.id)?;
    Ok(SessionTokens {
        access_token,
        access_expires_at,
        refresh_token: next,
        session_expires_at: session.expires_at,
        user,
    })
}

/// Ends the request's session (or every session of the user).
#[tracing::instrument(skip(auth, request))]
pub async fn sign_out(
    auth: &AuthService,
    request: &RequestAuth,
    everywhere: bool,
) -> AppResult<bool> {
    let viewer = request.viewer()?;
    let txn = begin_write(auth.db()).await?;
    match (request, everywhere) {
        (_, true) => end_sessions(&txn, viewer.user_id, None).await?,
        (RequestAuth::Session { session_id, .. }, false) => {
            revoke_sessions(now())
                .filter(auth_sessions::Column::Id.eq(*session_id))
                .exec(&txn)
                .await?;
        }
        _ => {
            return Err(AppError::bad_input(
                "allSessions",
                "an API token has no session: revoke it with revokeApiToken, or pass allSessions: true",
            ));
        }
    }
    credentials_changed(&txn, viewer.user_id).await?;
    txn.commit().await?;
    auth.forget_credentials();
    Ok(true)
}

/// Ends every session of `user_id` (inside the caller's transaction).
pub async fn end_sessions(
    txn: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut update = revoke_sessions(now()).filter(auth_sessions::Column::UserId.eq(user_id));
    if let Some(keep) = except {
        update = update.filter(auth_sessions::Column::Id.ne(keep));
    }
    update.exec(txn).await?;
    Ok(())
}

/// Changes the viewer's own password, given the current one. Other sessions end.
#[tracing::instrument(skip_all)]
pub async fn change_password(
    auth: &AuthService,
    request: &RequestAuth,
    current: String,
    new: String,
    client: &ClientInfo,
) -> AppResult<bool> {
    let viewer = request.viewer()?;
    password::check_strength("newPassword", &new)?;
    let user = users::Entity::find_by_id(viewer.user_id)
        .one(auth.db())
        .await?
        .ok_or_else(|| AppError::unauthenticated("the session has ended: sign in again"))?;
    auth.sign_in_attempt(&user.email, client.ip)?;
    if !password::verify(current, Some(user.password_hash.clone())).await {
        return Err(AppError::bad_input(
            "currentPassword",
            "the current password is wrong",
        ));
    }
    auth.sign_in_succeeded(&user.email, client.ip);
    let keep = match request {
        RequestAuth::Session { session_id, .. } => Some(*session_id),
        _ => None,
    };
    set_password(auth, viewer, viewer.user_id, new, keep).await?;
    tracing::info!(user_id = %viewer.user_id, "password changed");
    Ok(true)
}

/// Stores a new password (strength already checked) for user `id` and ends their sessions but
/// `keep`, in one transaction; the change applies to the next request.
pub async fn set_password(
    auth: &AuthService,
    viewer: Viewer,
    id: Uuid,
    new: String,
    keep: Option<Uuid>,
) -> AppResult<users::Model> {
    let hash = password::hash(new).await?;
    let txn = begin_write(auth.db()).await?;
    let current = for_update::<users::Entity>(&txn, viewer, id, "id", "user").await?;
    let mut active: users::ActiveModel = current.into();
    active.password_hash = Set(hash);
    active.updated_at = Set(now());
    let user = active.update(&txn).await?;
    end_sessions(&txn, id, keep).await?;
    credentials_changed(&txn, id).await?;
    txn.commit().await?;
    auth.forget_credentials();
    Ok(user)
}

/// Creates a personal API token for the viewer; returns it with its secret (shown once).
#[tracing::instrument(skip(auth))]
pub async fn create_api_token(
    auth: &AuthService,
    viewer: Viewer,
    name: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> AppResult<(String, api_tokens::Model)> {
    issue_api_token(auth.db(), viewer.user_id, name, expires_at).await
}

/// Creates an API token for `user_id` (also used by the `api-token` CLI command).
pub async fn issue_api_token(
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    name: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> AppResult<(String, api_tokens::Model)> {
    let name = required_text("name", name, 100)?;
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::bad_input(
            "expiresAt",
            "`expiresAt` must be in the future",
        ));
    }
    let token = opaque_token(API_TOKEN_PREFIX)?;
    let model = api_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        name: Set(name),
        token_prefix: Set(token.chars().take(API_TOKEN_PREFIX.len() + 6).collect()),
        token_hash: Set(digest(&token)),
        created_at: Set(now()),
        last_used_at: Set(None),
        expires_at: Set(expires_at.map(|at| crate::engine::scalars::DateTime::from(at).0)),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((token, model))
}

/// The viewer's API tokens, newest first (admins may ask for another user's).
pub async fn api_tokens(
    auth: &AuthService,
    viewer: Viewer,
    user_id: Option<Uuid>,
) -> AppResult<Vec<api_tokens::Model>> {
    let owner = user_id.unwrap_or(viewer.user_id);
    if owner != viewer.user_id {
        viewer.require(Action::ManageUsers)?;
    }
    Ok(api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(owner))
        .order_by_desc(api_tokens::Column::CreatedAt)
        .order_by_desc(api_tokens::Column::Id)
        .all(auth.db())
        .await?)
}

/// Revokes an API token of the viewer's (admins: anyone's). Returns it.
#[tracing::instrument(skip(auth))]
pub async fn revoke_api_token(
    auth: &AuthService,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<api_tokens::Model> {
    let txn = auth.db().begin().await?;
    let token = api_tokens::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|t| t.user_id == viewer.user_id || viewer.can(Action::ManageUsers))
        .ok_or_else(|| AppError::not_found("id", "no API token of yours with this id"))?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let mut active: api_tokens::ActiveModel = token.into();
    active.revoked_at = Set(Some(now()));
    let token = active.update(&txn).await?;
    credentials_changed(&txn, token.user_id).await?;
    txn.commit().await?;
    auth.forget_credentials();
    Ok(token)
}
