//! Client notes: user notes and the system history entries every domain mutation writes.

use entity::client_notes;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, ModelTrait, SqlErr,
    TransactionTrait,
};
use uuid::Uuid;

use super::inputs::{CreateClientNoteInput, UpdateClientNoteInput};
use crate::auth::{Action, Viewer};
use crate::db::{begin_write, check_unchanged, for_update, must_exist, now};
use crate::error::{AppError, AppResult};
use crate::validate::{not_null, required_text};

/// The `noteType` of entries written by the system.
pub const SYSTEM: &str = "system";

/// Appends an entry to a client's history (inside the caller's transaction).
pub async fn record_event(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    user_id: Option<Uuid>,
    content: String,
) -> AppResult<client_notes::Model> {
    let at = now();
    Ok(client_notes::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client_id),
        user_id: Set(user_id),
        note_type: Set(SYSTEM.to_owned()),
        content: Set(content),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?)
}

/// The history the server writes is kept as written; people change their own notes (managers
/// and admins anyone's).
fn may_edit(viewer: Viewer, note: &client_notes::Model) -> AppResult<()> {
    if note.note_type == SYSTEM {
        return Err(AppError::rule(
            Some("id"),
            "SYSTEM_ENTRY",
            "history entries written by the server cannot be changed or deleted",
        ));
    }
    if note.user_id != Some(viewer.user_id) {
        viewer.require(Action::ModerateNotes)?;
    }
    Ok(())
}

/// Adds a note: one INSERT (the foreign keys check the references; only when one fails are
/// the references looked up, to name the missing one), run on `direct`, a connection that
/// needs no transaction for a single statement (see [`crate::graphql::reader`]).
#[tracing::instrument(skip(db, direct, input))]
pub async fn create(
    db: &DatabaseConnection,
    direct: &impl ConnectionTrait,
    viewer: Viewer,
    input: CreateClientNoteInput,
) -> AppResult<client_notes::Model> {
    let note_type = required_text("noteType", input.note_type.as_deref().unwrap_or("note"), 50)?;
    if note_type == SYSTEM {
        return Err(AppError::bad_input(
            "noteType",
            "`system` entries are written by the server",
        ));
    }
    let content = required_text("content", &input.content, 10_000)?;
    let author = input.user_id.unwrap_or(viewer.user_id);
    if author != viewer.user_id {
        viewer.require(Action::ModerateNotes)?;
    }
    // Viewers who see every client write in one INSERT; others first prove they see this one.
    if !viewer.sees_all_clients() {
        let txn = db.begin().await?;
        must_exist::<entity::clients::Entity>(&txn, viewer, input.client_id, "clientId", "client")
            .await?;
        txn.commit().await?;
    }
    let at = now();
    let inserted = client_notes::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(input.client_id),
        user_id: Set(Some(author)),
        note_type: Set(note_type),
        content: Set(content),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(direct)
    .await;
    match inserted {
        Ok(note) => {
            tracing::info!(note_id = %note.id, client_id = %note.client_id, "client note created");
            Ok(note)
        }
        Err(err)
            if matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ) =>
        {
            let txn = db.begin().await?;
            must_exist::<entity::clients::Entity>(
                &txn,
                viewer,
                input.client_id,
                "clientId",
                "client",
            )
            .await?;
            must_exist::<entity::users::Entity>(&txn, viewer, author, "userId", "user").await?;
            Err(err.into())
        }
        Err(err) => Err(err.into()),
    }
}

#[tracing::instrument(skip(db, input))]
pub async fn update(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
    input: UpdateClientNoteInput,
) -> AppResult<client_notes::Model> {
    let note_type = not_null("noteType", input.note_type)?
        .map(|v| required_text("noteType", &v, 50))
        .transpose()?;
    if note_type.as_deref() == Some(SYSTEM) {
        return Err(AppError::bad_input(
            "noteType",
            "`system` entries are written by the server",
        ));
    }
    let content = not_null("content", input.content)?
        .map(|v| required_text("content", &v, 10_000))
        .transpose()?;
    let txn = begin_write(db).await?;
    let current = for_update::<client_notes::Entity>(&txn, viewer, id, "id", "client note").await?;
    may_edit(viewer, &current)?;
    check_unchanged(current.updated_at, input.expected_updated_at)?;
    let mut active: client_notes::ActiveModel = current.into();
    if let Some(v) = note_type {
        active.note_type = Set(v);
    }
    if let Some(v) = content {
        active.content = Set(v);
    }
    active.updated_at = Set(now());
    let note = active.update(&txn).await?;
    txn.commit().await?;
    Ok(note)
}

#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, viewer: Viewer, id: Uuid) -> AppResult<Uuid> {
    let txn = begin_write(db).await?;
    let current = for_update::<client_notes::Entity>(&txn, viewer, id, "id", "client note").await?;
    may_edit(viewer, &current)?;
    current.delete(&txn).await?;
    txn.commit().await?;
    Ok(id)
}
