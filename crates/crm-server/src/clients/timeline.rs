//! `Client.timeline`: the client's whole story in one list, newest first: its notes, its
//! history entries, its contracts' signatures, its payments, its documents and (for managers
//! and admins) the audit trail of its rows, each item typed with its actor. One statement for
//! the page (a `UNION ALL` of the kinds, keyset over time, kind and id), then the items' rows
//! by id, batched per kind.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Union};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use crate::audit::types::FieldChange;
use crate::client_notes::ClientNote;
use crate::contracts::Contract;
use crate::documents::Document;
use crate::engine::cursor::{KeyKind, KeyValue, SortValue};
use crate::engine::decode::read_at;
use crate::engine::forward::{
    ForwardConnection, ForwardNode, decode_cursor, encode_cursor, invalid_cursor,
};
use crate::engine::keyset::forward_page;
use crate::engine::scalars::DateTime;
use crate::engine::scope::{Scope, sql_literal};
use crate::error::AppError;
use crate::payments::Payment;
use crate::users::User;

/// What a timeline item is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimelineKind {
    /// A note someone wrote.
    Note,
    /// A history entry the server wrote (status changes, KYC, contracts signed, completed,
    /// cancelled, archived …).
    History,
    /// A contract signed (at its signature).
    ContractSigned,
    /// A payment received or refunded (at its recording).
    Payment,
    /// A document added.
    Document,
    /// A field changed by an update (managers and admins only).
    Change,
}

impl TimelineKind {
    const ALL: [TimelineKind; 6] = [
        TimelineKind::Note,
        TimelineKind::History,
        TimelineKind::ContractSigned,
        TimelineKind::Payment,
        TimelineKind::Document,
        TimelineKind::Change,
    ];

    fn stored(self) -> &'static str {
        match self {
            TimelineKind::Note => "note",
            TimelineKind::History => "history",
            TimelineKind::ContractSigned => "contract_signed",
            TimelineKind::Payment => "payment",
            TimelineKind::Document => "document",
            TimelineKind::Change => "change",
        }
    }

    /// The `SELECT kind, id, at, actor` of this kind's items of client `client`.
    fn select(self, s: &Scope, client: Uuid) -> SelectStatement {
        let (table, at, actor, extra): (&str, &str, &str, Option<String>) = match self {
            TimelineKind::Note => (
                "client_notes",
                "created_at",
                "user_id",
                Some(format!("{} <> 'system'", s.raw("note_type"))),
            ),
            TimelineKind::History => (
                "client_notes",
                "created_at",
                "user_id",
                Some(format!("{} = 'system'", s.raw("note_type"))),
            ),
            TimelineKind::ContractSigned => (
                "contracts",
                "signed_at",
                "commercial_id",
                Some(format!("{} IS NOT NULL", s.raw("signed_at"))),
            ),
            TimelineKind::Payment => (
                "payments",
                "created_at",
                "client_id",
                Some(format!(
                    "{} IN ({}, {})",
                    s.raw("status"),
                    sql_literal(entity::PaymentStatus::Completed),
                    sql_literal(entity::PaymentStatus::Refunded)
                )),
            ),
            TimelineKind::Document => ("documents", "created_at", "uploaded_by", None),
            TimelineKind::Change => ("audit_entries", "changed_at", "actor_id", None),
        };
        let mut select = Query::select();
        select
            .expr_as(Expr::val(self.stored()), Alias::new("kind"))
            .expr_as(s.col("id"), Alias::new("id"))
            .expr_as(s.col(at), Alias::new("at"))
            .from_as(Alias::new(table), Alias::new(&s.alias))
            .and_where(Expr::col((Alias::new(&s.alias), Alias::new("client_id"))).eq(client));
        // Payments have no actor column: none.
        if self == TimelineKind::Payment {
            select.expr_as(Expr::cust("NULL"), Alias::new("actor"));
        } else {
            select.expr_as(s.col(actor), Alias::new("actor"));
        }
        if let Some(extra) = extra {
            select.and_where(Expr::cust(extra));
        }
        select
    }
}

/// The row a timeline item is about.
#[derive(Union)]
pub enum TimelineNode {
    ClientNote(ClientNote),
    Contract(Contract),
    Payment(Payment),
    Document(Document),
    FieldChange(FieldChange),
}

/// One item of a client's timeline.
pub struct TimelineItem {
    kind: TimelineKind,
    id: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    actor: Option<Uuid>,
    change: Option<crate::audit::Change>,
    cursor: String,
}

/// One item of a client's timeline.
#[Object(serial)]
impl TimelineItem {
    /// What happened.
    async fn kind(&self) -> TimelineKind {
        self.kind
    }

    /// When.
    async fn at(&self) -> DateTime {
        self.at.into()
    }

    /// Who did it (null when nobody is recorded).
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(match self.actor {
            Some(id) => crate::engine::loaders(ctx)?.by_id::<User>(id).await?,
            None => None,
        })
    }

    /// The row it is about (null if it was deleted since).
    async fn node(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TimelineNode>> {
        let loaders = crate::engine::loaders(ctx)?;
        Ok(match self.kind {
            TimelineKind::Note | TimelineKind::History => loaders
                .by_id::<ClientNote>(self.id)
                .await?
                .map(TimelineNode::ClientNote),
            TimelineKind::ContractSigned => loaders
                .by_id::<Contract>(self.id)
                .await?
                .map(TimelineNode::Contract),
            TimelineKind::Payment => loaders
                .by_id::<Payment>(self.id)
                .await?
                .map(TimelineNode::Payment),
            TimelineKind::Document => loaders
                .by_id::<Document>(self.id)
                .await?
                .map(TimelineNode::Document),
            TimelineKind::Change => self
                .change
                .clone()
                .map(|c| TimelineNode::FieldChange(FieldChange(c))),
        })
    }

    /// Opaque cursor of the item, for `after`.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// A page of a client's timeline, newest first (Relay connection).
pub type TimelineItemConnection = ForwardConnection<TimelineItem>;

impl ForwardNode for TimelineItem {
    fn cursor(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.cursor)
    }
}

/// `Client.timeline(first, after, types)` of `client`.
pub async fn timeline(
    ctx: &Context<'_>,
    client: Uuid,
    first: Option<i32>,
    after: Option<String>,
    types: Option<Vec<TimelineKind>>,
) -> Result<TimelineItemConnection, AppError> {
    let loaders = crate::engine::loaders(ctx)?;
    let viewer = loaders.viewer()?;
    let limits = loaders.limits();
    let db = loaders.reader();
    let limit = limits.first(first)?;
    let asked = types.unwrap_or_else(|| TimelineKind::ALL.to_vec());
    // The audit trail is for managers and admins: left out for the others.
    let kinds: Vec<TimelineKind> = TimelineKind::ALL
        .into_iter()
        .filter(|k| asked.contains(k))
        .filter(|k| *k != TimelineKind::Change || viewer.sees_all_clients())
        .collect();
    let scope = Scope::root(db.get_database_backend(), viewer);
    let mut parts = kinds.iter().map(|k| k.select(&scope.child(), client));
    let Some(mut union) = parts.next() else {
        return Ok(TimelineItemConnection::new(
            Vec::new(),
            false,
            after.is_some(),
            None,
        ));
    };
    for part in parts {
        union.union(UnionType::All, part);
    }
    let t = |column: &str| Expr::col((Alias::new("t"), Alias::new(column)));
    let keys = [
        (t("at"), true, KeyKind::Timestamp),
        (t("kind"), false, KeyKind::Text),
        (t("id"), false, KeyKind::Uuid),
    ];
    let signature = format!(
        "timeline:{client}:{}",
        kinds
            .iter()
            .map(|k| k.stored())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut count = Query::select();
    count
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(union.clone(), Alias::new("t"));
    let mut page = Query::select();
    page.column(Asterisk).from_subquery(union, Alias::new("t"));
    let after_values = match &after {
        None => None,
        Some(after) => {
            let values =
                decode_cursor(after, &signature, keys.len(), "timeline", "the same types")?;
            let mut sql = Vec::with_capacity(keys.len());
            for ((_, _, kind), value) in keys.iter().zip(&values) {
                sql.push(
                    value
                        .to_sql(*kind, scope.backend)
                        .map_err(|_| invalid_cursor("timeline"))?,
                );
            }
            Some(sql)
        }
    };
    let order: Vec<(Expr, bool)> = keys.iter().map(|(e, d, _)| (e.clone(), *d)).collect();
    forward_page(&mut page, &order, after_values.as_deref(), limit);
    let rows = db.query_all(&page).await?;
    let has_next_page = rows.len() > limit;
    let mut items = Vec::with_capacity(rows.len().min(limit));
    for row in rows.iter().take(limit) {
        items.push(read_item(row, &signature)?);
    }
    // The changes of the page, in one statement.
    let change_ids: Vec<Uuid> = items
        .iter()
        .filter(|i| i.kind == TimelineKind::Change)
        .map(|i| i.id)
        .collect();
    let changes = crate::audit::changes_by_ids(db, client, &change_ids).await?;
    for item in items.iter_mut().filter(|i| i.kind == TimelineKind::Change) {
        item.change = changes.iter().find(|c| c.id == item.id).cloned();
    }
    Ok(TimelineItemConnection::new(
        items.into_iter().map(Arc::new).collect(),
        has_next_page,
        after.is_some(),
        Some(Arc::new(count)),
    ))
}

fn read_item(row: &QueryResult, signature: &str) -> Result<TimelineItem, AppError> {
    let kind_text = read_at::<String>(row, 0)?;
    let kind = TimelineKind::ALL
        .into_iter()
        .find(|k| k.stored() == kind_text)
        .ok_or_else(|| AppError::Internal(format!("unknown timeline kind {kind_text}")))?;
    let id = read_at::<Uuid>(row, 1)?;
    let at_value = SortValue::read(row, 2, KeyKind::Timestamp)?;
    let SortValue::Timestamp(at) = at_value else {
        return Err(AppError::Internal(
            "a timeline item without time".to_owned(),
        ));
    };
    let actor = read_at::<Option<Uuid>>(row, 3)?;
    let values = vec![
        at_value.to_wire(),
        KeyValue::Text(kind_text),
        KeyValue::Text(id.to_string()),
    ];
    let cursor = encode_cursor(signature, values);
    Ok(TimelineItem {
        kind,
        id,
        at,
        actor,
        change: None,
        cursor,
    })
}
