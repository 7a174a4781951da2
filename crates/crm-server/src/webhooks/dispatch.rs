//! The outbox to deliveries: each entry becomes one delivery per enabled endpoint that
//! receives its event, with the body it will be sent with; the entries go in the same
//! transaction. Several instances dispatch at once without sharing an entry (PostgreSQL's
//! `SKIP LOCKED`; SQLite has one writer).
//!
//! The body is a thin event: what happened to which row, not the row (read it through the API,
//! under the reader's access rules, when needed):
//! `{"id", "type": "payment.created", "timestamp", "sequence", "data": {"id", "clientId"}}`.

use entity::{webhook_deliveries, webhooks};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};
use uuid::Uuid;

use super::events::EventType;
use super::service::pending;
use crate::db::{begin_write, now};

/// Entries moved per transaction.
pub const BATCH: i64 = 500;

/// Until when each endpoint that looks down (see [`super::worker::PAUSE_AFTER`]) is paused:
/// the earliest next attempt of its deliveries still to come. Its new deliveries wait as long.
async fn paused_until(
    txn: &sea_orm::DatabaseTransaction,
    enabled: &[webhooks::Model],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<std::collections::HashMap<Uuid, chrono::DateTime<chrono::Utc>>, DbErr> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, Func};
    use webhook_deliveries::Column;
    let failing: Vec<Uuid> = enabled
        .iter()
        .filter(|hook| {
            u32::try_from(hook.consecutive_failures).unwrap_or(0) >= super::worker::PAUSE_AFTER
        })
        .map(|hook| hook.id)
        .collect();
    if failing.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<(Uuid, Option<chrono::DateTime<chrono::Utc>>)> =
        webhook_deliveries::Entity::find()
            .select_only()
            .column(Column::WebhookId)
            .column_as(
                Expr::expr(Func::min(Expr::col(Column::NextAttemptAt))),
                "until",
            )
            .filter(Column::WebhookId.is_in(failing))
            .filter(Column::Status.eq(super::service::DeliveryStatus::Pending.as_str()))
            .filter(Column::NextAttemptAt.gt(at))
            .group_by(Column::WebhookId)
            .into_tuple()
            .all(txn)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(webhook, until)| until.map(|until| (webhook, until)))
        .collect())
}

/// An entry of the outbox.
type Entry = (
    i64,
    EventType,
    Uuid,
    Option<Uuid>,
    chrono::DateTime<chrono::Utc>,
);

/// The entry of an outbox row (`None` for a table without events).
fn entry(row: &sea_orm::QueryResult) -> Result<Option<Entry>, DbErr> {
    let seq: i64 = row.try_get("", "seq")?;
    let table: String = row.try_get("", "table_name")?;
    let operation: String = row.try_get("", "operation")?;
    let Some(event) = EventType::of_change(&table, &operation) else {
        return Ok(None);
    };
    Ok(Some((
        seq,
        event,
        crate::db::uuid_column(row, "row_id")?
            .ok_or_else(|| DbErr::Type("an outbox entry without its row".to_owned()))?,
        crate::db::uuid_column(row, "client_id")?,
        row.try_get("", "created_at")?,
    )))
}

/// Moves up to [`BATCH`] entries of the outbox to deliveries; returns how many entries.
pub async fn dispatch(db: &DatabaseConnection) -> Result<usize, DbErr> {
    // Most polls find nothing: no write transaction (SQLite's write lock) for them.
    let backend = db.get_database_backend();
    let any = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT 1 AS one FROM webhook_outbox LIMIT 1",
        ))
        .await?;
    if any.is_none() {
        return Ok(0);
    }
    let txn = begin_write(db).await?;
    let sql = match backend {
        DbBackend::Postgres => {
            "DELETE FROM webhook_outbox WHERE seq IN \
               (SELECT seq FROM webhook_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING seq, table_name, row_id, client_id, operation, created_at"
        }
        _ => {
            "DELETE FROM webhook_outbox WHERE seq IN \
               (SELECT seq FROM webhook_outbox ORDER BY seq LIMIT ?) \
             RETURNING seq, table_name, row_id, client_id, operation, created_at"
        }
    };
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [BATCH.into()]))
        .await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        match entry(row) {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => {}
            // Written by hand with a malformed value: dropped, not left to stall the outbox.
            Err(err) => tracing::warn!(error = %err, "an outbox entry cannot be read: skipped"),
        }
    }
    entries.sort_unstable_by_key(|entry| entry.0);
    let enabled = webhooks::Entity::find()
        .filter(webhooks::Column::DisabledAt.is_null())
        .all(&txn)
        .await?;
    let created = now();
    let paused = paused_until(&txn, &enabled, created).await?;
    let hooks: Vec<(Uuid, Vec<EventType>)> = enabled
        .into_iter()
        .map(|hook| (hook.id, EventType::split(&hook.events)))
        .collect();
    let mut deliveries = Vec::new();
    for (seq, event, row_id, client_id, at) in entries {
        let receivers: Vec<Uuid> = hooks
            .iter()
            .filter(|(_, events)| events.contains(&event))
            .map(|(id, _)| *id)
            .collect();
        if receivers.is_empty() {
            continue;
        }
        let event_id = Uuid::now_v7();
        let payload = serde_json::json!({
            "id": event_id,
            "type": event.name(),
            "timestamp": crate::engine::scalars::DateTime::from(at)
                .0
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "sequence": seq,
            "data": { "id": row_id, "clientId": client_id },
        })
        .to_string();
        for webhook in receivers {
            let mut delivery = pending(webhook, event_id, event.name(), payload.clone(), created);
            if let Some(until) = paused.get(&webhook) {
                delivery.next_attempt_at = sea_orm::ActiveValue::Set(Some(*until));
            }
            deliveries.push(delivery);
        }
    }
    // 15 values a row: a few hundred rows a statement stay under both backends' limits.
    while !deliveries.is_empty() {
        let rest = deliveries.split_off(deliveries.len().min(500));
        webhook_deliveries::Entity::insert_many(std::mem::replace(&mut deliveries, rest))
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(rows.len())
}
