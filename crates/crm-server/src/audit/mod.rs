//! The audit trail: every field an update through the API changes on a client, contract or
//! payment (old and new value as text, who, when, the request's id), written in the update's
//! own transaction by [`update`], read by [`changes`] as `Client.changes`, `Contract.changes`
//! and `Payment.changes` (managers and admins).
//!
//! Which fields: every column of the row ([`Audited`]) except the last-change time, compared
//! before and after the update; a table holding secrets could not be audited without naming
//! them in [`NEVER`] (the three audited tables hold none).

pub mod types;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::dataloader::Loader;

use entity::{Tabled, clients, contracts, payments};
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, Expr, ExprTrait, InsertStatement, Order, Query,
    WindowStatement, WithClause,
};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, FromQueryResult, IdenStatic,
    IntoActiveModel, Iterable, ModelTrait, QueryTrait, Statement, Update, Value,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::engine::budget::RowBudget;
use crate::engine::loader::CrmLoader;
use crate::error::{AppError, AppResult};

/// Columns never written to the trail, whatever the table.
pub const NEVER: [&str; 6] = [
    "updated_at",
    "password_hash",
    "access_token",
    "refresh_token",
    "idempotency_key",
    "company_name_lower",
];

/// Whether updates are audited (`CRM_AUDIT`, on by default; off only to measure its cost).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the trail on or off for the process (from the configuration, at start).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A table whose updates are audited: how a row names itself and its client.
pub trait Audited: EntityTrait + Tabled {
    fn ids(model: &Self::Model) -> (Uuid, Uuid);
}

impl Audited for clients::Entity {
    fn ids(model: &clients::Model) -> (Uuid, Uuid) {
        (model.id, model.id)
    }
}

impl Audited for contracts::Entity {
    fn ids(model: &contracts::Model) -> (Uuid, Uuid) {
        (model.id, model.client_id)
    }
}

impl Audited for payments::Entity {
    fn ids(model: &payments::Model) -> (Uuid, Uuid) {
        (model.id, model.client_id)
    }
}

/// A value as the trail shows it: amounts with their two decimals, times in RFC 3339, enums
/// as stored; `None` for null.
fn text(value: Value) -> Option<String> {
    match value {
        Value::Bool(v) => v.map(|v| v.to_string()),
        Value::Int(v) => v.map(|v| v.to_string()),
        Value::BigInt(v) => v.map(|v| v.to_string()),
        Value::String(v) => v.map(|v| v.to_string()),
        Value::Uuid(v) => v.map(|v| v.to_string()),
        Value::Decimal(v) => v.map(|v| crate::engine::scalars::Decimal::money(v).0.to_string()),
        Value::ChronoDate(v) => v.map(|v| v.to_string()),
        Value::ChronoDateTimeUtc(v) => {
            v.map(|v| v.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        }
        other => Some(format!("{other:?}")),
    }
}

/// Updates one row of `E` with `active` and writes the fields it changes (those `active` sets to
/// another value than `before`, the row as read in this transaction) to the trail, in the
/// update's transaction `txn`; returns the row as updated.
///
/// On PostgreSQL the update and the trail's rows are one statement (`WITH updated AS (UPDATE …
/// RETURNING …), audited AS (INSERT …) SELECT * FROM updated`); SQLite has no data-modifying
/// `WITH`, so the update and the insert go in one call, run in turn. Either way the trail adds no
/// round trip to the write (a statement more cost SQLite's updates 14 %: each is handed to its
/// worker thread and back).
pub async fn update<E>(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    before: &E::Model,
    active: E::ActiveModel,
) -> AppResult<E::Model>
where
    E: Audited,
    E::Model: ModelTrait<Entity = E> + FromQueryResult + IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let entries = if ENABLED.load(Ordering::Relaxed) {
        entries::<E>(viewer, before, &active)?
    } else {
        None
    };
    let backend = txn.get_database_backend();
    let Some(insert) = entries else {
        return Ok(active.update(txn).await?);
    };
    let mut update = Update::one(active).validate()?.into_query();
    update.returning(
        Query::returning()
            .exprs(E::Column::iter().map(|c| c.select_as(c.into_returning_expr(backend)))),
    );
    let row = if backend == DbBackend::Postgres {
        let updated = Alias::new("updated");
        let mut with = WithClause::new();
        with.cte(
            CommonTableExpression::new()
                .query(update)
                .table_name(updated.clone())
                .to_owned(),
        )
        .cte(
            CommonTableExpression::new()
                .query(insert)
                .table_name(Alias::new("audited"))
                .to_owned(),
        );
        let select = Query::select().column(Asterisk).from(updated).to_owned();
        txn.query_one(&with.query(select)).await?
    } else {
        // Both statements in one call (SQLite runs them in turn, each with its own values).
        let update = backend.build(&update);
        let insert = backend.build(&insert);
        let mut values = update.values.map(|v| v.0).unwrap_or_default();
        values.extend(insert.values.map(|v| v.0).unwrap_or_default());
        let both = Statement::from_sql_and_values(
            backend,
            format!("{}; {}", update.sql, insert.sql),
            values,
        );
        txn.query_all_raw(both).await?.into_iter().next()
    };
    let row = row.ok_or(DbErr::RecordNotUpdated)?;
    Ok(E::Model::from_query_result(&row, "")?)
}

/// The `INSERT` of the trail's rows for the fields `active` changes on `before` (none: `None`).
fn entries<E>(
    viewer: Viewer,
    before: &E::Model,
    active: &E::ActiveModel,
) -> AppResult<Option<InsertStatement>>
where
    E: Audited,
    E::Model: ModelTrait<Entity = E>,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
{
    let (row_id, client_id) = E::ids(before);
    let request = crate::telemetry::current_request_id().map(|id| id.as_str().to_owned());
    let at = now();
    let mut insert = Query::insert();
    insert.into_table(Alias::new("audit_entries")).columns([
        Alias::new("id"),
        Alias::new("table_name"),
        Alias::new("row_id"),
        Alias::new("client_id"),
        Alias::new("field"),
        Alias::new("old_value"),
        Alias::new("new_value"),
        Alias::new("actor_id"),
        Alias::new("request_id"),
        Alias::new("changed_at"),
    ]);
    let mut changed = 0;
    for column in E::Column::iter() {
        let name = column.as_str();
        if NEVER.contains(&name) {
            continue;
        }
        let ActiveValue::Set(new) = active.get(column) else {
            continue;
        };
        let old = before.get(column);
        if old == new {
            continue;
        }
        changed += 1;
        insert
            .values([
                Uuid::now_v7().into(),
                E::TABLE.name().into(),
                row_id.into(),
                client_id.into(),
                name.into(),
                text(old).into(),
                text(new).into(),
                Some(viewer.user_id).into(),
                request.clone().into(),
                at.into(),
            ])
            .map_err(|e| AppError::Internal(format!("audit entry: {e}")))?;
    }
    Ok((changed > 0).then_some(insert))
}

/// One recorded change.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: Uuid,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

/// A page of one row's changes, newest first: `limit` + 1 at most (to tell whether more
/// follow), after the change `after` (its id). The rows of one level asking the same page are
/// read by one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangesKey {
    pub table: entity::Table,
    /// The row's client (the trail is keyed by client, then row).
    pub client_id: Uuid,
    pub row_id: Uuid,
    pub limit: usize,
    pub after: Option<Uuid>,
}

/// How many changes one row has had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangeCountKey {
    pub table: entity::Table,
    /// The row's client (the trail is keyed by client, then row).
    pub client_id: Uuid,
    pub row_id: Uuid,
}

/// Managers and admins read the audit trail.
fn may_read(viewer: Viewer) -> AppResult<()> {
    if viewer.sees_all_clients() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only managers and admins read the audit trail",
        ))
    }
}

impl Loader<ChangesKey> for CrmLoader {
    type Value = Vec<Change>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChangesKey],
    ) -> Result<HashMap<ChangesKey, Vec<Change>>, Self::Error> {
        may_read(self.viewer()?).map_err(Arc::new)?;
        // Rows (client, row) by the page they ask for.
        type Page = (entity::Table, usize, Option<Uuid>);
        let mut pages: HashMap<Page, Vec<(Uuid, Uuid)>> = HashMap::new();
        for key in keys {
            pages
                .entry((key.table, key.limit, key.after))
                .or_default()
                .push((key.client_id, key.row_id));
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((table, limit, after), rows) in pages {
            let mut found = changes_of(&self.db, self.budget(), table, &rows, limit, after)
                .await
                .map_err(Arc::new)?;
            for (client_id, row_id) in rows {
                let key = ChangesKey {
                    table,
                    client_id,
                    row_id,
                    limit,
                    after,
                };
                out.insert(key, found.remove(&row_id).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

/// `SELECT <a change's columns>, ROW_NUMBER() OVER (PARTITION BY row_id ORDER BY id DESC)` of
/// the changes of `rows` (after `after`), keeping the first `limit` + 1 of each row.
async fn changes_of(
    db: &impl ConnectionTrait,
    budget: &RowBudget,
    table: entity::Table,
    rows: &[(Uuid, Uuid)],
    limit: usize,
    after: Option<Uuid>,
) -> AppResult<HashMap<Uuid, Vec<Change>>> {
    let mut inner = select_changes();
    let mut window = WindowStatement::partition_by(Alias::new("row_id"));
    // Ids are time-ordered (v7) and made in the writing order: newest first by id.
    window.order_by(Alias::new("id"), Order::Desc);
    inner
        .column(Alias::new("row_id"))
        .expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new("rn"))
        .cond_where(of_rows(table, rows));
    if let Some(after) = after {
        inner.and_where(Expr::col(Alias::new("id")).lt(after));
    }
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("w"))
        .and_where(Expr::col(Alias::new("rn")).lte(limit as i64 + 1))
        .order_by(Alias::new("row_id"), Order::Asc)
        .order_by(Alias::new("rn"), Order::Asc)
        .limit(budget.cap(usize::MAX))
        .to_owned();
    let found = db.query_all(&outer).await?;
    budget.spend(found.len())?;
    let mut out: HashMap<Uuid, Vec<Change>> = HashMap::with_capacity(rows.len());
    for row in found {
        let row_id = crate::engine::decode::read_at::<Uuid>(&row, 7)?;
        out.entry(row_id).or_default().push(read_change(&row)?);
    }
    Ok(out)
}

impl Loader<ChangeCountKey> for CrmLoader {
    type Value = i64;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChangeCountKey],
    ) -> Result<HashMap<ChangeCountKey, i64>, Self::Error> {
        may_read(self.viewer()?).map_err(Arc::new)?;
        let mut tables: HashMap<entity::Table, Vec<(Uuid, Uuid)>> = HashMap::new();
        for key in keys {
            tables
                .entry(key.table)
                .or_default()
                .push((key.client_id, key.row_id));
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (table, rows) in tables {
            let select = Query::select()
                .column(Alias::new("row_id"))
                .expr(Expr::cust("COUNT(*)"))
                .from(Alias::new("audit_entries"))
                .cond_where(of_rows(table, &rows))
                .group_by_col(Alias::new("row_id"))
                .to_owned();
            let found = self
                .db
                .query_all(&select)
                .await
                .map_err(|e| Arc::new(e.into()))?;
            let mut counts: HashMap<Uuid, i64> = HashMap::with_capacity(found.len());
            for row in found {
                use crate::engine::decode::read_at;
                let row_id = read_at::<Uuid>(&row, 0).map_err(|e| Arc::new(e.into()))?;
                let count = read_at::<i64>(&row, 1).map_err(|e| Arc::new(e.into()))?;
                counts.insert(row_id, count);
            }
            for (client_id, row_id) in rows {
                let key = ChangeCountKey {
                    table,
                    client_id,
                    row_id,
                };
                out.insert(key, counts.get(&row_id).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}

/// The entries of `rows` (each a client and one of its rows) of `table`: by the client first,
/// as the trail is keyed (a row's entries all carry its client).
fn of_rows(table: entity::Table, rows: &[(Uuid, Uuid)]) -> sea_orm::sea_query::Condition {
    sea_orm::sea_query::Condition::all()
        .add(Expr::col(Alias::new("table_name")).eq(table.name()))
        .add(Expr::col(Alias::new("client_id")).is_in(rows.iter().map(|(client, _)| *client)))
        .add(Expr::col(Alias::new("row_id")).is_in(rows.iter().map(|(_, row)| *row)))
}

/// The changes with these ids (of rows of `client_id`), for the client's timeline.
pub async fn changes_by_ids(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    ids: &[Uuid],
) -> AppResult<Vec<Change>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = select_changes();
    select
        .and_where(Expr::col(Alias::new("client_id")).eq(client_id))
        .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()));
    let rows = db.query_all(&select).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(read_change(&row)?);
    }
    Ok(out)
}

/// `SELECT <a change's columns> FROM audit_entries`, read by [`read_change`].
fn select_changes() -> sea_orm::sea_query::SelectStatement {
    let mut select = Query::select();
    select
        .columns(
            [
                "id",
                "field",
                "old_value",
                "new_value",
                "actor_id",
                "request_id",
                "changed_at",
            ]
            .map(Alias::new),
        )
        .from(Alias::new("audit_entries"));
    select
}

fn read_change(row: &sea_orm::QueryResult) -> AppResult<Change> {
    use crate::engine::decode::read_at;
    Ok(Change {
        id: read_at::<Uuid>(row, 0)?,
        field: read_at::<String>(row, 1)?,
        old_value: read_at::<Option<String>>(row, 2)?,
        new_value: read_at::<Option<String>>(row, 3)?,
        actor_id: read_at::<Option<Uuid>>(row, 4)?,
        request_id: read_at::<Option<String>>(row, 5)?,
        changed_at: read_at::<chrono::DateTime<chrono::Utc>>(row, 6)?,
    })
}
