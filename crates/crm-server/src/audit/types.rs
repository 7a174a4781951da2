//! `…changes`: the audit trail of one row as a Relay connection.

use async_graphql::{Context, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::audit::{Change, ChangeCountKey, ChangesKey};
use crate::engine::PageInfo;
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
pub struct FieldChangeConnection {
    changes: Vec<Change>,
    has_next_page: bool,
    has_previous_page: bool,
    table: entity::Table,
    client_id: Uuid,
    row_id: Uuid,
}

/// One change of a page, with its cursor.
pub struct FieldChangeEdge(Change);

/// One change of a page, with its cursor.
#[Object(serial)]
impl FieldChangeEdge {
    /// The change.
    async fn node(&self) -> FieldChange {
        FieldChange(self.0.clone())
    }

    /// Opaque cursor of the change, for `after`.
    async fn cursor(&self) -> String {
        cursor(&self.0)
    }
}

fn cursor(change: &Change) -> String {
    URL_SAFE_NO_PAD.encode(format!("change:{}", change.id))
}

/// The changes of one row, newest first.
#[Object(serial)]
impl FieldChangeConnection {
    /// The changes of the page with their cursors.
    async fn edges(&self) -> Vec<FieldChangeEdge> {
        self.changes.iter().cloned().map(FieldChangeEdge).collect()
    }

    /// The changes of the page.
    async fn nodes(&self) -> Vec<FieldChange> {
        self.changes.iter().cloned().map(FieldChange).collect()
    }

    /// Where the page sits among the changes.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.changes.first().map(cursor),
            end_cursor: self.changes.last().map(cursor),
        }
    }

    /// How many changes the row has had, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let count = crate::engine::loaders(ctx)?
            .inner()
            .load_one(ChangeCountKey {
                table: self.table,
                client_id: self.client_id,
                row_id: self.row_id,
            })
            .await
            .map_err(crate::engine::loader::unshare)?;
        Ok(count.unwrap_or_default())
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
            let invalid =
                || AppError::bad_input("after", "invalid cursor: use a cursor this list returned");
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
    Ok(FieldChangeConnection {
        changes: found,
        has_next_page,
        has_previous_page: after_id.is_some(),
        table,
        client_id,
        row_id,
    })
}
