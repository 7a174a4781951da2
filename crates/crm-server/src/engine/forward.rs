//! Forward-only lists (search hits, a client's timeline, groups, a row's changes): their cursors
//! (the list a cursor was made for and the row's sort values) and their Relay connection
//! (`edges`, `nodes`, `pageInfo`, `totalCount` counted only when asked). The page itself is
//! [`forward_page`](crate::engine::keyset::forward_page).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_graphql::{Context, Object, OutputType, TypeName};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::SelectStatement;
use serde::{Deserialize, Serialize};

use crate::engine::connection::PageInfo;
use crate::engine::cursor::KeyValue;
use crate::error::AppError;

/// What a forward-only cursor holds.
#[derive(Serialize, Deserialize)]
struct ForwardCursor {
    /// The list it was made for: its table or kind and the arguments that shape its order.
    #[serde(rename = "o")]
    list: String,
    /// The row's sort values.
    #[serde(rename = "k")]
    keys: Vec<KeyValue>,
}

/// The cursor of a row whose sort values are `keys`, in the list `signature`.
pub fn encode_cursor(signature: &str, keys: Vec<KeyValue>) -> String {
    let cursor = ForwardCursor {
        list: signature.to_owned(),
        keys,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// The sort values of cursor `after`, which must have been made for the list `signature` with
/// `count` values. `what` names the list in errors (`search`), `same` what to pass again
/// (`the same query and types`).
pub fn decode_cursor(
    after: &str,
    signature: &str,
    count: usize,
    what: &str,
    same: &str,
) -> Result<Vec<KeyValue>, AppError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(after.trim())
        .map_err(|_| invalid_cursor(what))?;
    let cursor: ForwardCursor = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor(what))?;
    if cursor.list != signature || cursor.keys.len() != count {
        return Err(AppError::bad_input(
            "after",
            format!("this cursor was made for another {what}: pass {same}"),
        ));
    }
    Ok(cursor.keys)
}

/// The error of a cursor that is not one of the list's.
pub fn invalid_cursor(what: &str) -> AppError {
    AppError::bad_input(
        "after",
        format!("invalid cursor: use a cursor this {what} returned"),
    )
}

/// An item of a forward-only list.
pub trait ForwardNode: OutputType + Send + Sync + 'static {
    /// Its opaque cursor, for `after`.
    fn cursor(&self) -> Cow<'_, str>;
}

/// How many items a forward-only list holds across its pages (read when `totalCount` is asked).
pub trait TotalCount: Send + Sync {
    fn total<'a>(
        &'a self,
        ctx: &'a Context<'_>,
    ) -> Pin<Box<dyn Future<Output = Result<i64, AppError>> + Send + 'a>>;
}

/// A `SELECT COUNT(*)`.
impl TotalCount for SelectStatement {
    fn total<'a>(
        &'a self,
        ctx: &'a Context<'_>,
    ) -> Pin<Box<dyn Future<Output = Result<i64, AppError>> + Send + 'a>> {
        Box::pin(async move { crate::engine::loaders(ctx)?.count(self).await })
    }
}

/// A page of a forward-only list of `N` (`…Connection`).
pub struct ForwardConnection<N: ForwardNode> {
    items: Vec<Arc<N>>,
    has_next_page: bool,
    has_previous_page: bool,
    /// None: the list is empty whatever the page.
    total: Option<Arc<dyn TotalCount>>,
}

impl<N: ForwardNode> ForwardConnection<N> {
    /// The page `items` of a list that has more when `has_next_page`, read after a cursor when
    /// `has_previous_page`; `total` counts the list.
    pub fn new(
        items: Vec<Arc<N>>,
        has_next_page: bool,
        has_previous_page: bool,
        total: Option<Arc<dyn TotalCount>>,
    ) -> Self {
        ForwardConnection {
            items,
            has_next_page,
            has_previous_page,
            total,
        }
    }
}

/// One item of a page, with its cursor (`…Edge`).
pub struct ForwardEdge<N: ForwardNode>(Arc<N>);

impl<N: ForwardNode> TypeName for ForwardConnection<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", <N as OutputType>::type_name()).into()
    }
}

impl<N: ForwardNode> TypeName for ForwardEdge<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", <N as OutputType>::type_name()).into()
    }
}

/// One item of a page, with its cursor.
#[Object(name_type, serial)]
impl<N: ForwardNode> ForwardEdge<N> {
    /// The item.
    async fn node(&self) -> &N {
        &self.0
    }

    /// Opaque cursor of the item, for `after`.
    async fn cursor(&self) -> String {
        self.0.cursor().into_owned()
    }
}

/// A page of items, in the list's order (Relay connection, forward only: `first` and `after`).
#[Object(name_type, serial)]
impl<N: ForwardNode> ForwardConnection<N> {
    /// The items of the page with their cursors.
    async fn edges(&self) -> Vec<ForwardEdge<N>> {
        self.items.iter().cloned().map(ForwardEdge).collect()
    }

    /// The items of the page.
    async fn nodes(&self) -> Vec<&N> {
        self.items.iter().map(|i| &**i).collect()
    }

    /// Where the page sits in the list.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.items.first().map(|i| i.cursor().into_owned()),
            end_cursor: self.items.last().map(|i| i.cursor().into_owned()),
        }
    }

    /// How many items the list holds across all pages, within your access (counted only when
    /// asked).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(match &self.total {
            Some(total) => total.total(ctx).await?,
            None => 0,
        })
    }
}
