//! Opaque keyset cursors: the sort values of a row and its id, base64url-encoded JSON, tied to
//! the list (table) and the ordering they were made for. They stay valid when rows are inserted before them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Value;
use sea_orm::{DbBackend, QueryResult};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::engine::decode::{ReadAt, read_at};
use crate::error::AppError;

/// The kind of a sort value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Text,
    Decimal,
    Int,
    Bool,
    Date,
    Timestamp,
    Uuid,
}

/// A sort value read from a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
}

/// A sort value as read from a row. It becomes its wire form ([`KeyValue`]) only when a cursor
/// is actually made, so pages whose cursors nobody asks for pay no formatting.
#[derive(Debug, Clone)]
pub enum SortValue {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    Decimal(Decimal),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Uuid(Uuid),
}

impl SortValue {
    /// How two non-null values of a kind compare, as the databases order them; `None` for
    /// text (the database's collation decides) and for values of different kinds.
    pub fn compare(&self, other: &SortValue) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (SortValue::Bool(a), SortValue::Bool(b)) => Some(a.cmp(b)),
            (SortValue::Int(a), SortValue::Int(b)) => Some(a.cmp(b)),
            (SortValue::Decimal(a), SortValue::Decimal(b)) => Some(a.cmp(b)),
            (SortValue::Date(a), SortValue::Date(b)) => Some(a.cmp(b)),
            (SortValue::Timestamp(a), SortValue::Timestamp(b)) => Some(a.cmp(b)),
            // PostgreSQL compares uuids, SQLite blobs, byte by byte, as `Uuid` does.
            (SortValue::Uuid(a), SortValue::Uuid(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Reads the value at position `index` of `row` as a value of `kind`.
    pub fn read(row: &QueryResult, index: usize, kind: KeyKind) -> Result<SortValue, AppError> {
        fn read<T>(
            row: &QueryResult,
            index: usize,
            wrap: fn(T) -> SortValue,
        ) -> Result<SortValue, AppError>
        where
            Option<T>: ReadAt,
        {
            Ok(read_at::<Option<T>>(row, index)?.map_or(SortValue::Null, wrap))
        }
        match kind {
            KeyKind::Text => read(row, index, SortValue::Text),
            KeyKind::Decimal => read(row, index, SortValue::Decimal),
            KeyKind::Int => read(row, index, SortValue::Int),
            KeyKind::Bool => read(row, index, SortValue::Bool),
            KeyKind::Date => read(row, index, SortValue::Date),
            KeyKind::Timestamp => read(row, index, SortValue::Timestamp),
            KeyKind::Uuid => read(row, index, SortValue::Uuid),
        }
    }

    /// The value as a cursor carries it.
    pub fn to_wire(&self) -> KeyValue {
        match self {
            SortValue::Null => KeyValue::Null,
            SortValue::Bool(b) => KeyValue::Bool(*b),
            SortValue::Int(i) => KeyValue::Int(*i),
            SortValue::Text(s) => KeyValue::Text(s.clone()),
            SortValue::Decimal(d) => {
                KeyValue::Text(crate::engine::scalars::Decimal::money(*d).0.to_string())
            }
            SortValue::Date(d) => KeyValue::Text(d.to_string()),
            SortValue::Timestamp(t) => KeyValue::Text(t.to_rfc3339()),
            SortValue::Uuid(u) => KeyValue::Text(u.to_string()),
        }
    }
}

impl KeyValue {
    /// The SQL value to compare with, or `None` for null. `None` also when the value does not
    /// fit `kind` (a forged cursor), which the caller reports.
    pub fn to_sql(
        &self,
        kind: KeyKind,
        backend: DbBackend,
    ) -> Result<Option<SqlKey>, InvalidCursor> {
        Ok(Some(match (self, kind) {
            (KeyValue::Null, _) => return Ok(None),
            (KeyValue::Text(s), KeyKind::Text) => SqlKey::Value(s.clone().into()),
            (KeyValue::Text(s), KeyKind::Decimal) => {
                let d: Decimal = s.parse().map_err(|_| InvalidCursor)?;
                SqlKey::decimal(d, backend)
            }
            (KeyValue::Int(i), KeyKind::Int) => SqlKey::Value((*i).into()),
            (KeyValue::Bool(b), KeyKind::Bool) => SqlKey::Value((*b).into()),
            (KeyValue::Text(s), KeyKind::Date) => {
                SqlKey::Value(s.parse::<NaiveDate>().map_err(|_| InvalidCursor)?.into())
            }
            (KeyValue::Text(s), KeyKind::Timestamp) => SqlKey::Value(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| InvalidCursor)?
                    .with_timezone(&Utc)
                    .into(),
            ),
            (KeyValue::Text(s), KeyKind::Uuid) => {
                SqlKey::Value(s.parse::<Uuid>().map_err(|_| InvalidCursor)?.into())
            }
            _ => return Err(InvalidCursor),
        }))
    }
}

/// A cursor value that does not fit its sort field (a forged or corrupted cursor).
#[derive(Debug, Clone, Copy)]
pub struct InvalidCursor;

/// A value ready to be compared in SQL.
pub enum SqlKey {
    Value(Value),
    Expr(sea_orm::sea_query::Expr),
}

impl SqlKey {
    /// A decimal to compare with: on SQLite, where amounts are stored as REAL, the exact
    /// decimal text is converted by SQLite itself (never through a Rust float).
    pub fn decimal(d: Decimal, backend: DbBackend) -> SqlKey {
        match backend {
            DbBackend::Sqlite => SqlKey::Expr(sea_orm::sea_query::Expr::cust_with_values(
                "CAST(? AS REAL)",
                [d.to_string()],
            )),
            _ => SqlKey::Value(d.into()),
        }
    }

    pub fn into_expr(self) -> sea_orm::sea_query::Expr {
        match self {
            SqlKey::Value(v) => sea_orm::sea_query::Expr::val(v),
            SqlKey::Expr(e) => e,
        }
    }
}

/// What a cursor holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The list (table) and the ordering it belongs to: `clients:companyName.al,…`.
    #[serde(rename = "o")]
    pub order: String,
    /// The sort values of the row, in `orderBy` order.
    #[serde(rename = "k")]
    pub keys: Vec<KeyValue>,
    /// The row's id (the final tie-break).
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor given as `argument`, made for `signature` (the list and its ordering,
    /// `<table>:<ordering>`).
    pub fn decode(text: &str, argument: &str, signature: &str) -> Result<Cursor, AppError> {
        let invalid =
            || AppError::bad_input(argument, "invalid cursor: use a cursor this list returned");
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.order != signature {
            let list = |s: &str| s.split_once(':').map(|(list, _)| list.to_owned());
            return Err(if list(&cursor.order) == list(signature) {
                AppError::bad_input(
                    argument,
                    "this cursor was made for another orderBy: pass the same orderBy as the page it came from",
                )
            } else {
                AppError::bad_input(
                    argument,
                    "this cursor was made for another list: use a cursor this list returned",
                )
            });
        }
        Ok(cursor)
    }
}
