//! Keeping mailbox tokens fresh: tokens that expire within the margin are refreshed with the
//! refresh token, by whichever instance claims them first (a lease, as webhooks do). A refresh
//! the provider answers `invalid_grant` (the user revoked the access, the token expired or was
//! replaced) marks the account `needsReconnect` instead of failing silently; other failures
//! (the provider unreachable) are recorded in `refreshError` and tried again.

use std::sync::Arc;
use std::time::Duration;

use entity::oauth_email_accounts;
use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, RequestTokenError, TokenResponse};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};
use uuid::Uuid;

use super::providers::{Http, Provider, Providers};
use crate::db::now;
use crate::secrets::TokenCipher;

/// Accounts refreshed per claim.
const BATCH: i64 = 4;

/// How long claimed accounts are left to their instance: their refreshes one after the other
/// (15 s at most each) and some. An outcome is recorded only while its lease holds, so a
/// refresh that outlived it (another instance took over) changes nothing.
const LEASE: Duration = Duration::from_secs(90);

/// A token request's failure, as one line.
pub fn describe<E: std::error::Error>(
    err: &RequestTokenError<E, oauth2::basic::BasicErrorResponse>,
) -> String {
    match err {
        RequestTokenError::ServerResponse(response) => match response.error_description() {
            Some(description) => format!("{}: {description}", response.error()),
            None => response.error().to_string(),
        },
        RequestTokenError::Request(err) => format!("the provider could not be reached: {err}"),
        RequestTokenError::Parse(err, _) => format!("the provider's answer is not a token: {err}"),
        RequestTokenError::Other(other) => other.clone(),
    }
}

/// What happened to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    Fresh,
    NeedsReconnect,
    Failed,
}

/// Refreshes the tokens due (expiring within the margin) of the accounts no other instance is
/// refreshing; returns what happened to each.
pub async fn refresh_due(
    db: &DatabaseConnection,
    cipher: &TokenCipher,
    providers: &Providers,
) -> Result<Vec<(Uuid, Refreshed)>, DbErr> {
    let at = now();
    let due = at
        + chrono::Duration::from_std(providers.refresh_margin)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
    let lease = at + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let backend = db.get_database_backend();
    let (sql, values): (&str, Vec<sea_orm::Value>) = match backend {
        DbBackend::Postgres => (
            "UPDATE oauth_email_accounts SET refresh_lease_until = $1 \
             WHERE id IN (SELECT id FROM oauth_email_accounts \
               WHERE refresh_token IS NOT NULL AND NOT needs_reconnect \
                 AND token_expires_at IS NOT NULL AND token_expires_at <= $2 \
                 AND (refresh_lease_until IS NULL OR refresh_lease_until < $3) \
               ORDER BY token_expires_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING id, provider, refresh_token",
            vec![lease.into(), due.into(), at.into(), BATCH.into()],
        ),
        _ => (
            "UPDATE oauth_email_accounts SET refresh_lease_until = ? \
             WHERE id IN (SELECT id FROM oauth_email_accounts \
               WHERE refresh_token IS NOT NULL AND NOT needs_reconnect \
                 AND token_expires_at IS NOT NULL AND token_expires_at <= ? \
                 AND (refresh_lease_until IS NULL OR refresh_lease_until < ?) \
               ORDER BY token_expires_at LIMIT ?) \
             RETURNING id, provider, refresh_token",
            vec![lease.into(), due.into(), at.into(), BATCH.into()],
        ),
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = row.try_get("", "id")?;
        let provider: String = row.try_get("", "provider")?;
        let sealed: Option<String> = row.try_get("", "refresh_token")?;
        let outcome = refresh_one(db, cipher, providers, id, lease, &provider, sealed).await?;
        outcomes.push((id, outcome));
    }
    Ok(outcomes)
}

async fn refresh_one(
    db: &DatabaseConnection,
    cipher: &TokenCipher,
    providers: &Providers,
    id: Uuid,
    lease: chrono::DateTime<chrono::Utc>,
    provider: &str,
    sealed: Option<String>,
) -> Result<Refreshed, DbErr> {
    use oauth_email_accounts::Column;
    let update = || {
        oauth_email_accounts::Entity::update_many()
            .filter(Column::Id.eq(id))
            .filter(Column::RefreshLeaseUntil.eq(lease))
    };
    let failed = |why: String| async move {
        tracing::warn!(account_id = %id, error = %why, "mailbox token refresh failed");
        update()
            .col_expr(Column::RefreshError, Some(why).into())
            .exec(db)
            .await
            .map(|_| Refreshed::Failed)
    };
    let Some(client) = Provider::parse(provider).and_then(|p| providers.get(p)) else {
        return failed(format!("{provider} is not set up on this server")).await;
    };
    let Some(refresh) = sealed.and_then(|sealed| cipher.decrypt(&sealed).ok()) else {
        return failed("the stored refresh token cannot be read".to_owned()).await;
    };
    let http = Http(providers.http.clone());
    let answer = client
        .client
        .exchange_refresh_token(&RefreshToken::new(refresh))
        .request_async(&http)
        .await;
    let at = now();
    match answer {
        Ok(token) => {
            let seal = |token: &str| cipher.encrypt(token).ok();
            let Some(access) = seal(token.access_token().secret()) else {
                return failed("the new token cannot be encrypted".to_owned()).await;
            };
            let expires = token
                .expires_in()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| at + d);
            let mut change = update()
                .col_expr(Column::AccessToken, Some(access).into())
                .col_expr(Column::TokenExpiresAt, expires.into())
                .col_expr(Column::RefreshError, Option::<String>::None.into())
                .col_expr(Column::RefreshedAt, Some(at).into())
                .col_expr(
                    Column::RefreshLeaseUntil,
                    Option::<chrono::DateTime<chrono::Utc>>::None.into(),
                )
                .col_expr(Column::UpdatedAt, at.into());
            // Providers that rotate refresh tokens send a new one.
            if let Some(rotated) = token.refresh_token().and_then(|r| seal(r.secret())) {
                change = change.col_expr(Column::RefreshToken, Some(rotated).into());
            }
            change.exec(db).await?;
            Ok(Refreshed::Fresh)
        }
        Err(RequestTokenError::ServerResponse(response))
            if *response.error() == BasicErrorResponseType::InvalidGrant =>
        {
            let why = match response.error_description() {
                Some(description) => format!("invalid_grant: {description}"),
                None => "invalid_grant".to_owned(),
            };
            tracing::warn!(account_id = %id, error = %why, "mailbox needs reconnecting");
            update()
                .col_expr(Column::NeedsReconnect, true.into())
                .col_expr(Column::RefreshError, Some(why).into())
                .col_expr(
                    Column::RefreshLeaseUntil,
                    Option::<chrono::DateTime<chrono::Utc>>::None.into(),
                )
                .col_expr(Column::UpdatedAt, at.into())
                .exec(db)
                .await?;
            Ok(Refreshed::NeedsReconnect)
        }
        // Tried again once the lease has passed.
        Err(err) => failed(describe(&err)).await,
    }
}

/// Refreshes due tokens every `CRM_OAUTH_REFRESH_EVERY_SECS`; stops when dropped.
pub struct Refresher {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Refresher {
    /// `None` when no provider is configured or refreshing is off.
    pub fn spawn(
        db: DatabaseConnection,
        cipher: Arc<TokenCipher>,
        providers: Arc<Providers>,
    ) -> Option<Refresher> {
        if providers.configured().is_empty() || providers.refresh_every.is_zero() {
            return None;
        }
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(providers.refresh_every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                loop {
                    match refresh_due(&db, &cipher, &providers).await {
                        Ok(done) if done.len() as i64 >= BATCH => {}
                        Ok(_) => break,
                        Err(err) => {
                            tracing::warn!(error = %err, "refreshing mailbox tokens failed");
                            break;
                        }
                    }
                }
            }
        });
        Some(Refresher { task })
    }
}
