//! Client notes: user notes and the system history entries every domain mutation writes.

use entity::{client_notes, clients};
use sea_orm::sea_query::{Expr, ExprTrait, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    ModelTrait, SqlErr, TransactionTrait,
};
use uuid::Uuid;

use super::inputs::{CreateClientNoteInput, UpdateClientNoteInput};
use crate::auth::{Action, Viewer};
use crate::db::{begin_write, check_unchanged, for_update, must_exist, now, set_given};
use crate::engine::access::visible_in;
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
/// needs no transaction for a single statement (see [`crate::engine::reader`]). For viewers
/// who see only some clients, the check that they see this one is part of the same statement
/// (see [`insert_if_visible`]).
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
    let at = now();
    let note = client_notes::Model {
        id: Uuid::now_v7(),
        client_id: input.client_id,
        user_id: Some(author),
        note_type,
        content,
        created_at: at,
        updated_at: at,
    };
    let inserted = if viewer.sees_all_clients() {
        client_notes::ActiveModel::from(note)
            .insert(direct)
            .await
            .map(Some)
    } else {
        insert_if_visible(direct, viewer, &note)
            .await
            .map(|inserted| inserted.then_some(note))
    };
    match inserted {
        Ok(Some(note)) => {
            tracing::info!(note_id = %note.id, client_id = %note.client_id, "client note created");
            Ok(note)
        }
        Ok(None) => Err(AppError::not_found("clientId", "no client with this id")),
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

/// Inserts `note` only if `viewer` sees its client, in one statement: `INSERT INTO
/// client_notes … SELECT … FROM clients WHERE id = ? AND <visible>`, the client row
/// share-locked on PostgreSQL (SQLite runs one writer at a time). A reassignment of the
/// client therefore lands before the note (which is then not written) or after it, never
/// between the check and the write. `false` when the client is not visible (or missing).
async fn insert_if_visible(
    direct: &impl ConnectionTrait,
    viewer: Viewer,
    note: &client_notes::Model,
) -> Result<bool, DbErr> {
    use client_notes::Column as C;
    let backend = direct.get_database_backend();
    let mut client = Query::select();
    client
        .exprs([
            Expr::val(note.id),
            Expr::val(note.client_id),
            Expr::val(note.user_id),
            Expr::val(note.note_type.as_str()),
            Expr::val(note.content.as_str()),
            Expr::val(note.created_at),
            Expr::val(note.updated_at),
        ])
        .from(clients::Entity)
        .and_where(Expr::col((clients::Entity, clients::Column::Id)).eq(note.client_id));
    if let Some(visible) = visible_in::<clients::Entity>(backend, viewer) {
        client.cond_where(visible);
    }
    if backend == DbBackend::Postgres {
        client.lock(LockType::Share);
    }
    let insert = Query::insert()
        .into_table(client_notes::Entity)
        .columns([
            C::Id,
            C::ClientId,
            C::UserId,
            C::NoteType,
            C::Content,
            C::CreatedAt,
            C::UpdatedAt,
        ])
        .select_from(client)
        .map_err(|err| DbErr::Custom(err.to_string()))?
        .to_owned();
    Ok(direct.execute(&insert).await?.rows_affected() == 1)
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
    set_given(&mut active.note_type, note_type);
    set_given(&mut active.content, content);
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
