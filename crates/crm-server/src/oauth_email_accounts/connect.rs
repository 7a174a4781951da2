//! Connecting a mailbox through the provider's consent screen: `startEmailAccountConnection`
//! returns the provider's authorisation URL (authorisation code with PKCE S256, a random
//! `state` bound to the signed-in user, valid once for ten minutes); the provider sends the
//! user back to `GET /oauth/callback`, where the code is exchanged for tokens, the mailbox's
//! address read, and the tokens stored encrypted.

use chrono::{DateTime, Utc};
use entity::{oauth_email_accounts, oauth_states, users};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::providers::{Http, Provider, Providers};
use crate::auth::Viewer;
use crate::db::{begin_write, now};
use crate::error::{AppError, AppResult};
use crate::secrets::TokenCipher;

/// What `startEmailAccountConnection` returns.
pub struct Started {
    pub authorization_url: String,
    pub expires_at: DateTime<Utc>,
}

fn state_hash(state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts connecting a mailbox of `provider` for the signed-in user.
pub async fn start(
    db: &DatabaseConnection,
    viewer: Viewer,
    cipher: &TokenCipher,
    providers: &Providers,
    provider: Provider,
    return_to: Option<String>,
) -> AppResult<Started> {
    let client = providers.get(provider).ok_or_else(|| {
        AppError::invalid(
            "provider",
            "PROVIDER_NOT_CONFIGURED",
            format!(
                "{} mailboxes are not set up on this server (CRM_OAUTH_{}_CLIENT_ID)",
                provider.as_str(),
                provider.as_str().to_uppercase()
            ),
        )
    })?;
    let return_to = match return_to
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        None => None,
        Some(url) => {
            let origin = url::Url::parse(url)
                .ok()
                .map(|parsed| parsed.origin().ascii_serialization());
            if !origin.is_some_and(|origin| providers.return_origins.contains(&origin)) {
                return Err(AppError::invalid(
                    "returnTo",
                    "RETURN_TO_NOT_ALLOWED",
                    "returnTo must be a URL on CRM_PUBLIC_URL or one of CRM_CORS_ORIGINS",
                ));
            }
            Some(url.to_owned())
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in &client.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    for (name, value) in client.offline_parameters() {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state) = request.url();
    let at = now();
    let expires_at = at
        + chrono::Duration::from_std(providers.state_lifetime)
            .unwrap_or_else(|_| chrono::Duration::minutes(10));
    let sealed = cipher
        .encrypt(verifier.secret())
        .map_err(|err| AppError::Internal(err.to_string()))?;
    // Authorisations never finished go with the next one started.
    oauth_states::Entity::delete_many()
        .filter(oauth_states::Column::ExpiresAt.lt(at))
        .exec(db)
        .await?;
    oauth_states::ActiveModel {
        state_hash: Set(state_hash(state.secret())),
        user_id: Set(viewer.user_id),
        provider: Set(provider.as_str().to_owned()),
        code_verifier: Set(sealed),
        return_to: Set(return_to),
        expires_at: Set(expires_at),
        created_at: Set(at),
        completion_hash: Set(None),
        address: Set(None),
        access_token: Set(None),
        refresh_token: Set(None),
        token_expires_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Started {
        authorization_url: url.to_string(),
        expires_at,
    })
}

/// Why the callback failed: its stable code, its HTTP status, its message.
#[derive(Debug)]
pub struct CallbackError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
    /// Where to send the user back, when the state was valid and named one.
    pub return_to: Option<String>,
}

impl CallbackError {
    fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        CallbackError {
            code,
            status,
            message: message.into(),
            return_to: None,
        }
    }

    fn invalid_state() -> Self {
        CallbackError::new(
            "OAUTH_STATE_INVALID",
            400,
            "this authorisation is unknown, was already used or expired: start again",
        )
    }
}

impl From<AppError> for CallbackError {
    fn from(err: AppError) -> Self {
        err.log_if_internal();
        let status = match err.code() {
            crate::error::codes::UNAUTHENTICATED => 401,
            crate::error::codes::BAD_USER_INPUT | crate::error::codes::CONFLICT => 400,
            crate::error::codes::SERVICE_UNAVAILABLE => 503,
            _ => 500,
        };
        CallbackError::new(err.code(), status, err.public_message())
    }
}

impl From<sea_orm::DbErr> for CallbackError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::from(err).into()
    }
}

/// The callback's parameters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// What the callback obtained: the completion code the user who started the connection
/// presents to `completeEmailAccountConnection`, the mailbox's address, where to send the user.
#[derive(Debug)]
pub struct Exchanged {
    pub completion: String,
    pub address: String,
    pub return_to: Option<String>,
}

/// The callback: the state taken (once), the code exchanged with its PKCE verifier, the
/// mailbox's address read; the tokens wait (encrypted, on the state's row, ten minutes) for
/// the user who started the connection to complete it. Nothing is attached to any account
/// here: whoever went through the consent screen, only the starting user's signed-in request
/// can complete it.
pub async fn finish(
    db: &DatabaseConnection,
    cipher: &TokenCipher,
    providers: &Providers,
    callback: Callback,
) -> Result<Exchanged, CallbackError> {
    let state = callback
        .state
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(CallbackError::invalid_state)?;
    let hash = state_hash(&state);
    let Some(pending) = oauth_states::Entity::find_by_id(hash.clone())
        .one(db)
        .await?
    else {
        return Err(CallbackError::invalid_state());
    };
    // Taken once: of two callbacks with the same state, one sets its completion code.
    let completion = random_code()?;
    let taken = oauth_states::Entity::update_many()
        .col_expr(
            oauth_states::Column::CompletionHash,
            Some(state_hash(&completion)).into(),
        )
        .filter(oauth_states::Column::StateHash.eq(hash.clone()))
        .filter(oauth_states::Column::CompletionHash.is_null())
        .exec(db)
        .await?;
    if taken.rows_affected != 1 || pending.expires_at < now() {
        return Err(CallbackError::invalid_state());
    }
    // Any failure from here on forgets the authorisation.
    let outcome = exchange(db, cipher, providers, callback, &pending, &hash, completion).await;
    if outcome.is_err() {
        oauth_states::Entity::delete_by_id(hash).exec(db).await?;
    }
    outcome
}

/// A random code of 32 bytes, URL-safe.
fn random_code() -> Result<String, CallbackError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|_| AppError::Internal("no entropy for a completion code".to_owned()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The provider's side of the callback: the code exchanged, the address read, the tokens kept
/// on the state's row.
async fn exchange(
    db: &DatabaseConnection,
    cipher: &TokenCipher,
    providers: &Providers,
    callback: Callback,
    pending: &oauth_states::Model,
    hash: &str,
    completion: String,
) -> Result<Exchanged, CallbackError> {
    let with_return = |mut err: CallbackError| {
        err.return_to.clone_from(&pending.return_to);
        err
    };
    let provider = Provider::parse(&pending.provider).ok_or_else(CallbackError::invalid_state)?;
    let client = providers.get(provider).ok_or_else(|| {
        with_return(CallbackError::new(
            "PROVIDER_NOT_CONFIGURED",
            400,
            "this provider is no longer set up",
        ))
    })?;
    if let Some(error) = callback.error {
        let description = callback.error_description.unwrap_or_default();
        return Err(with_return(CallbackError::new(
            "OAUTH_DENIED",
            400,
            format!("the provider answered {error}: {description}")
                .chars()
                .take(300)
                .collect::<String>(),
        )));
    }
    let code = callback
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| with_return(CallbackError::new("OAUTH_DENIED", 400, "no code")))?;
    let verifier = cipher
        .decrypt(&pending.code_verifier)
        .map_err(|err| AppError::Internal(err.to_string()))?;
    let http = Http(providers.http.clone());
    let token = client
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(|err| {
            tracing::warn!(error = %super::refresh::describe(&err), provider = provider.as_str(), "OAuth code exchange failed");
            with_return(CallbackError::new(
                "OAUTH_EXCHANGE_FAILED",
                502,
                format!(
                    "the provider did not give tokens: {}",
                    super::refresh::describe(&err)
                ),
            ))
        })?;
    let access = token.access_token().secret().clone();
    let address = mailbox_address(providers, &client.userinfo, &access)
        .await
        .map_err(|why| with_return(CallbackError::new("OAUTH_NO_ADDRESS", 502, why)))?;
    let expires = token
        .expires_in()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| now() + d);
    let refresh = token.refresh_token().map(|r| r.secret().clone());
    let seal = |token: &str| {
        cipher
            .encrypt(token)
            .map_err(|err| CallbackError::from(AppError::Internal(err.to_string())))
    };
    let at = now();
    oauth_states::Entity::update_many()
        .col_expr(oauth_states::Column::Address, Some(address.clone()).into())
        .col_expr(
            oauth_states::Column::AccessToken,
            Some(seal(&access)?).into(),
        )
        .col_expr(
            oauth_states::Column::RefreshToken,
            refresh.as_deref().map(seal).transpose()?.into(),
        )
        .col_expr(oauth_states::Column::TokenExpiresAt, expires.into())
        .col_expr(
            oauth_states::Column::ExpiresAt,
            (at + chrono::Duration::from_std(providers.state_lifetime)
                .unwrap_or_else(|_| chrono::Duration::minutes(10)))
            .into(),
        )
        .filter(oauth_states::Column::StateHash.eq(hash))
        .exec(db)
        .await?;
    tracing::info!(user_id = %pending.user_id, provider = provider.as_str(), "mailbox authorised; waiting for its completion");
    Ok(Exchanged {
        completion,
        address,
        return_to: pending.return_to.clone(),
    })
}

/// Completes a connection with the code the callback gave: only for the user who started it
/// (`FORBIDDEN` for anyone else, and the tokens are dropped); once; within ten minutes.
pub async fn complete(
    db: &DatabaseConnection,
    viewer: Viewer,
    cipher: &TokenCipher,
    code: &str,
) -> AppResult<oauth_email_accounts::Model> {
    let invalid = || {
        AppError::invalid(
            "connection",
            "OAUTH_CONNECTION_INVALID",
            "this connection is unknown, was already completed or expired: connect again",
        )
    };
    let code = code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(invalid());
    }
    let Some(pending) = oauth_states::Entity::find()
        .filter(oauth_states::Column::CompletionHash.eq(state_hash(code)))
        .one(db)
        .await?
    else {
        return Err(invalid());
    };
    let taken = oauth_states::Entity::delete_by_id(pending.state_hash.clone())
        .exec(db)
        .await?;
    if taken.rows_affected != 1 || pending.expires_at < now() {
        return Err(invalid());
    }
    if pending.user_id != viewer.user_id {
        tracing::warn!(started_by = %pending.user_id, completed_by = %viewer.user_id, "a mailbox connection completed by another user: dropped");
        return Err(AppError::forbidden(
            "this mailbox connection was started by another user: its tokens were dropped",
        ));
    }
    let (Some(address), Some(access)) = (pending.address, pending.access_token) else {
        return Err(invalid());
    };
    let open = |sealed: &str| {
        cipher
            .decrypt(sealed)
            .map_err(|err| AppError::Internal(err.to_string()))
    };
    let provider = Provider::parse(&pending.provider).ok_or_else(invalid)?;
    let refresh = pending.refresh_token.as_deref().map(open).transpose()?;
    let account = store(
        db,
        cipher,
        pending.user_id,
        provider,
        &address,
        &open(&access)?,
        refresh.as_deref(),
        pending.token_expires_at,
    )
    .await?;
    tracing::info!(account_id = %account.id, user_id = %account.user_id, provider = provider.as_str(), "mailbox connected through OAuth");
    Ok(account)
}

/// The mailbox's address, from the provider's userinfo endpoint.
async fn mailbox_address(
    providers: &Providers,
    userinfo: &url::Url,
    access: &str,
) -> Result<String, String> {
    let answer = providers
        .http
        .get(userinfo.clone())
        .bearer_auth(access)
        .send()
        .await
        .map_err(|err| format!("the mailbox's address could not be read: {err}"))?;
    if !answer.status().is_success() {
        return Err(format!(
            "the mailbox's address could not be read: HTTP {}",
            answer.status().as_u16()
        ));
    }
    let body = answer
        .bytes()
        .await
        .map_err(|err| format!("the mailbox's address could not be read: {err}"))?;
    let info: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| "the provider's userinfo is not JSON".to_owned())?;
    let address = ["email", "mail", "preferred_username"]
        .iter()
        .find_map(|key| info.get(*key).and_then(|v| v.as_str()))
        .ok_or_else(|| "the provider did not give the mailbox's address".to_owned())?;
    crate::validate::email("email", Some(address))
        .ok()
        .flatten()
        .ok_or_else(|| "the provider gave no valid e-mail address".to_owned())
}

/// Stores a mailbox's tokens for `owner`, encrypted: a new account, or the one already
/// connected (same user, provider and address), which no longer needs reconnecting. A
/// refresh token not given again keeps the stored one.
#[allow(clippy::too_many_arguments)]
pub async fn store(
    db: &DatabaseConnection,
    cipher: &TokenCipher,
    owner: Uuid,
    provider: Provider,
    address: &str,
    access: &str,
    refresh: Option<&str>,
    expires: Option<DateTime<Utc>>,
) -> AppResult<oauth_email_accounts::Model> {
    let seal = |token: &str| {
        cipher
            .encrypt(token)
            .map_err(|err| AppError::Internal(err.to_string()))
    };
    let access = seal(access)?;
    let refresh = refresh.map(seal).transpose()?;
    let txn = begin_write(db).await?;
    let active = users::Entity::find_by_id(owner)
        .filter(users::Column::IsActive.eq(true))
        .one(&txn)
        .await?;
    if active.is_none() {
        return Err(AppError::unauthenticated(
            "the account that started this connection is no longer active",
        ));
    }
    let account = super::service::upsert(
        &txn,
        owner,
        provider.as_str(),
        address,
        super::service::Tokens {
            access: Some(access),
            refresh,
            keep_refresh: true,
            expires,
            refreshed_at: Some(now()),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(account)
}
