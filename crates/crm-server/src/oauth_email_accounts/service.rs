//! Connecting and disconnecting mailboxes. Tokens are encrypted (see [`crate::secrets`]) before
//! they reach the database.

use entity::{oauth_email_accounts, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait,
    QueryFilter,
};
use uuid::Uuid;

use super::inputs::ConnectEmailAccountInput;
use crate::auth::{Action, Viewer};
use crate::db::{begin_write, for_update, must_exist, now};
use crate::error::{AppError, AppResult};
use crate::secrets::TokenCipher;
use crate::validate::{email, optional_text, required_text};

fn seal(cipher: &TokenCipher, field: &str, token: Option<&str>) -> AppResult<Option<String>> {
    match optional_text(field, token, 8192)? {
        Some(token) => cipher
            .encrypt(&token)
            .map(Some)
            .map_err(|err| AppError::Internal(err.to_string())),
        None => Ok(None),
    }
}

/// Connects a mailbox, or refreshes the tokens of one already connected (same user, provider
/// and address).
#[tracing::instrument(skip(db, cipher, input))]
pub async fn connect(
    db: &DatabaseConnection,
    viewer: Viewer,
    cipher: &TokenCipher,
    input: ConnectEmailAccountInput,
) -> AppResult<oauth_email_accounts::Model> {
    let provider = required_text("provider", &input.provider, 50)?.to_lowercase();
    let address = email("email", Some(&input.email))?
        .ok_or_else(|| AppError::bad_input("email", "`email` must not be blank"))?;
    let access = seal(cipher, "accessToken", input.access_token.as_deref())?;
    let refresh = seal(cipher, "refreshToken", input.refresh_token.as_deref())?;
    let expires = input.token_expires_at.map(|t| t.0);
    let owner = input.user_id.unwrap_or(viewer.user_id);
    if owner != viewer.user_id {
        viewer.require(Action::ManageUsers)?;
    }

    let txn = begin_write(db).await?;
    must_exist::<users::Entity>(&txn, viewer, owner, "userId", "user").await?;
    let account = upsert(
        &txn,
        owner,
        &provider,
        &address,
        Tokens {
            access,
            refresh,
            keep_refresh: false,
            expires,
            refreshed_at: None,
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(account_id = %account.id, user_id = %account.user_id, "mailbox connected");
    Ok(account)
}

/// A mailbox's tokens, already encrypted, as stored.
pub(super) struct Tokens {
    pub access: Option<String>,
    pub refresh: Option<String>,
    /// On an account already connected, keep its refresh token when none is given (providers
    /// send one only with the first consent).
    pub keep_refresh: bool,
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
    /// When the tokens were obtained from the provider (none: pasted, time unknown).
    pub refreshed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Stores `tokens` on `owner`'s account of `provider` and `address`: a new account, or the one
/// already connected, which no longer needs reconnecting and whose refresh under way (if any)
/// will not record over them.
pub(super) async fn upsert(
    txn: &sea_orm::DatabaseTransaction,
    owner: Uuid,
    provider: &str,
    address: &str,
    tokens: Tokens,
) -> AppResult<oauth_email_accounts::Model> {
    let existing = oauth_email_accounts::Entity::find()
        .filter(oauth_email_accounts::Column::UserId.eq(owner))
        .filter(oauth_email_accounts::Column::Provider.eq(provider))
        .filter(oauth_email_accounts::Column::Email.eq(address))
        .one(txn)
        .await?;
    let at = now();
    Ok(match existing {
        Some(current) => {
            let mut account: oauth_email_accounts::ActiveModel = current.into();
            account.access_token = Set(tokens.access);
            if tokens.refresh.is_some() || !tokens.keep_refresh {
                account.refresh_token = Set(tokens.refresh);
            }
            account.token_expires_at = Set(tokens.expires);
            account.needs_reconnect = Set(false);
            account.refresh_error = Set(None);
            if tokens.refreshed_at.is_some() {
                account.refreshed_at = Set(tokens.refreshed_at);
            }
            account.refresh_lease_until = Set(None);
            account.updated_at = Set(at);
            account.update(txn).await?
        }
        None => {
            oauth_email_accounts::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(owner),
                provider: Set(provider.to_owned()),
                email: Set(address.to_owned()),
                access_token: Set(tokens.access),
                refresh_token: Set(tokens.refresh),
                token_expires_at: Set(tokens.expires),
                needs_reconnect: Set(false),
                refresh_error: Set(None),
                refreshed_at: Set(tokens.refreshed_at),
                refresh_lease_until: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
            }
            .insert(txn)
            .await?
        }
    })
}

/// Disconnects a mailbox: the account and its tokens are deleted.
#[tracing::instrument(skip(db))]
pub async fn disconnect(db: &DatabaseConnection, viewer: Viewer, id: Uuid) -> AppResult<Uuid> {
    let txn = begin_write(db).await?;
    let current =
        for_update::<oauth_email_accounts::Entity>(&txn, viewer, id, "id", "mailbox").await?;
    current.delete(&txn).await?;
    txn.commit().await?;
    Ok(id)
}
