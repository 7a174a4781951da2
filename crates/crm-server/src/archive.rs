//! Archiving and restoring rows (clients, contracts): an archived row leaves lists, relations,
//! counts, figures and search unless they ask for it, stays reachable by id, and everything
//! under it stays as it is. The change is one write transaction: the row locked, its
//! `archived_at` and `updated_at` set (through the audit trail), an entry in its client's
//! history.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, FromQueryResult, IntoActiveModel, ModelTrait,
    PrimaryKeyTrait,
};
use uuid::Uuid;

use crate::audit::Audited;
use crate::auth::Viewer;
use crate::client_notes::service::record_event;
use crate::db::{Writable, begin_write, for_update, now};
use crate::error::AppResult;

/// A table whose rows can be archived (declared by its domain).
pub trait Archivable: Audited {
    /// What a row is called in errors (`client`).
    const WHAT: &'static str;
    /// When the row was archived (none: it is not).
    fn archived_at(model: &Self::Model) -> Option<DateTime<Utc>>;
    /// Sets the row's archive time (none: restored) and last-change time.
    fn stamp(active: &mut Self::ActiveModel, archived_at: Option<DateTime<Utc>>, at: DateTime<Utc>);
    /// The client history's entry for archiving (`archive`) or restoring the row.
    fn history(model: &Self::Model, archive: bool) -> String;
}

/// Archives (`archive`) or restores the row `id` of `E` as `viewer` (who must see it; the
/// caller checks any permission beyond that). A row already in that state is returned as it is,
/// nothing written.
pub async fn set_archived<E, C>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    archive: bool,
) -> AppResult<E::Model>
where
    E: Archivable,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    E::Model: ModelTrait<Entity = E> + FromQueryResult + IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    C: Writable,
{
    let txn = begin_write(db).await?;
    let current = for_update::<E>(&txn, viewer, id, "id", E::WHAT).await?;
    if E::archived_at(&current).is_some() == archive {
        return Ok(current);
    }
    let at = now();
    let mut active = current.clone().into_active_model();
    E::stamp(&mut active, archive.then_some(at), at);
    let row = crate::audit::update::<E>(&txn, viewer, &current, active).await?;
    let (_, client_id) = E::ids(&row);
    record_event(
        &txn,
        client_id,
        Some(viewer.user_id),
        E::history(&row, archive),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(what = E::WHAT, %id, archive, "archived or restored");
    Ok(row)
}
