//! `…changes`: the audit trail of one row as a Relay connection.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_graphql::{Context, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::audit::{Change, ChangeCountKey, ChangesKey};
use crate::engine::forward::{ForwardConnection, ForwardNode, TotalCount, invalid_cursor};
use crate::engine::scalars::DateTime;
use crate::error::AppError;
use crate::users::User;

/// One field changed by one update.
pub struct FieldChange(pub(crate) Change);

/// One field changed by one update.
#[Object(serial)]
impl FieldChange {
    /// The field, as the API names it (`amount`, `companyName` …).
    async fn field(&self) -> String {
        crate::engine::rows::graphql_name(&self.0.field)
    }

    /// Its value before, as text (null: it had none).
    async fn old_value(&self) -> Option<&str> {
        self.0.old_value.as_deref()
    }

    /// Its value after, as text (null: it has none).
    async fn new_value(&self) -> Option<&str> {
        self.0.new_value.as_deref()
    }

    /// Who changed it (null once that user is gone).
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(match self.0.actor_id {
            Some(id) => crate::engine::loaders(ctx)?.by_id::<User>(id).await?,
            None => None,
        })
    }

    /// The id of the request that changed it (`X-Request-Id`), to find it in the logs.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// When.
    async fn changed_at(&self) -> DateTime {
        self.0.changed_at.into()
    }
}

/// The changes of one row, newest first (Relay connection).
pub type FieldChangeConnection = ForwardConnection<FieldChange>;

impl ForwardNode for FieldChange {
    fn cursor(&self) -> Cow<'_, str> {
        Cow::Owned(URL_SAFE_NO_PAD.encode(format!("change:{}", self.0.id)))
    }
}

/// How many changes a row has had: batched with the other rows' of the level.
impl TotalCount for ChangeCountKey {
    fn total<'a>(
        &'a self,
        ctx: &'a Context<'_>,
    ) -> Pin<Box<dyn Future<Output = Result<i64, AppError>> + Send + 'a>> {
        Box::pin(async move {
            let count = crate::engine::loaders(ctx)?
                .inner()
                .load_one(*self)
                .await
                .map_err(crate::engine::loader::unshare)?;
            Ok(count.unwrap_or_default())
        })
    }
}

/// `changes(first, after)` of the row `row_id` of `table`, a row of client `client_id`.
pub async fn connection(
    ctx: &Context<'_>,
    table: entity::Table,
    client_id: Uuid,
    row_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<FieldChangeConnection, AppError> {
    let loaders = crate::engine::loaders(ctx)?;
    let limits = loaders.limits();
    let limit = limits.first(first)?;
    let after_id = match after.as_deref() {
        None => None,
        Some(text) => {
            let invalid = || invalid_cursor("list");
            let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
            let text = String::from_utf8(bytes).map_err(|_| invalid())?;
            let id = text.strip_prefix("change:").ok_or_else(invalid)?;
            Some(id.parse::<Uuid>().map_err(|_| invalid())?)
        }
    };
    let mut found = loaders
        .inner()
        .load_one(ChangesKey {
            table,
            client_id,
            row_id,
            limit,
            after: after_id,
        })
        .await
        .map_err(crate::engine::loader::unshare)?
        .unwrap_or_default();
    let has_next_page = found.len() > limit;
    found.truncate(limit);
    Ok(FieldChangeConnection::new(
        found
            .into_iter()
            .map(|change| Arc::new(FieldChange(change)))
            .collect(),
        has_next_page,
        after_id.is_some(),
        Some(Arc::new(ChangeCountKey {
            table,
            client_id,
            row_id,
        })),
    ))
}
