//! Storing an uploaded document: the client checked, the content checked from its first
//! bytes, the file written to the store as it arrives, then the row and its history entry in
//! one transaction. A file is written before its row, so a row never names a missing file;
//! when the row cannot be written the file is removed again (and what a crash leaves behind,
//! `documents sweep` removes).

use bytes::Bytes;
use entity::{clients, contracts, documents};
use futures_util::{Stream, StreamExt};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};
use uuid::Uuid;

use crate::db::{begin_write, for_update, must_exist, now};
use crate::documents::content::{Kind, SNIFF_BYTES, check, display_name};
use crate::documents::storage::{Storage, StorageError};
use crate::engine::Viewer;
use crate::error::{AppError, AppResult};
use crate::validate::optional_text;

/// A file being uploaded, and the document it makes.
pub struct NewFile<S> {
    pub client_id: Uuid,
    pub contract_id: Option<Uuid>,
    pub document_type: Option<String>,
    /// The name the client gave (shown, never used to store the file).
    pub file_name: String,
    pub body: S,
}

/// What an upload may be.
#[derive(Debug, Clone, Copy)]
pub struct UploadRules {
    pub max_bytes: u64,
    pub kinds: &'static [Kind],
}

/// Stores `file` for `viewer` and returns its document.
pub async fn upload<S, E>(
    db: &DatabaseConnection,
    storage: &Storage,
    viewer: Viewer,
    rules: UploadRules,
    file: NewFile<S>,
) -> AppResult<documents::Model>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Into<std::io::Error>,
{
    let document_type = optional_text("documentType", file.document_type.as_deref(), 50)?;
    // The client first, so that nothing is stored for a client the viewer may not see.
    let txn = begin_write(db).await?;
    must_exist::<clients::Entity>(&txn, viewer, file.client_id, "clientId", "client").await?;
    txn.commit().await?;

    let mut body = std::pin::pin!(file.body);
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut first: Vec<Bytes> = Vec::new();
    while head.len() < SNIFF_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => {
                let take = chunk.len().min(SNIFF_BYTES - head.len());
                head.extend_from_slice(&chunk[..take]);
                first.push(chunk);
            }
            Some(Err(err)) => return Err(read_failed(err.into())),
            None => break,
        }
    }
    let kind = check(&head, &file.file_name, rules.kinds)
        .map_err(|err| AppError::bad_input("file", err.to_string()))?;

    let id = Uuid::now_v7();
    let key = Storage::key(file.client_id, id);
    let rest = futures_util::stream::iter(first.into_iter().map(Ok::<_, std::io::Error>))
        .chain(body.map(|chunk| chunk.map_err(Into::into)));
    let stored = storage
        .put_stream(&key, rest, rules.max_bytes)
        .await
        .map_err(|err| match err {
            StorageError::TooLarge { max } => {
                AppError::bad_input("file", format!("the file is larger than {max} bytes"))
            }
            StorageError::Read(err) => read_failed(err),
            StorageError::Store(err) => AppError::Internal(format!("file store: {err}")),
        })?;

    let written = async {
        let txn = begin_write(db).await?;
        let client =
            for_update::<clients::Entity>(&txn, viewer, file.client_id, "clientId", "client")
                .await?;
        if let Some(contract_id) = file.contract_id {
            let contract = must_exist::<contracts::Entity>(
                &txn,
                viewer,
                contract_id,
                "contractId",
                "contract",
            )
            .await?;
            if contract.client_id != client.id {
                return Err(AppError::bad_input(
                    "contractId",
                    "the contract belongs to another client",
                ));
            }
        }
        let at = now();
        let name = display_name(&file.file_name);
        let document = documents::ActiveModel {
            id: Set(id),
            client_id: Set(client.id),
            contract_id: Set(file.contract_id),
            uploaded_by: Set(Some(viewer.user_id)),
            file_name: Set(name.clone()),
            file_path: Set(key.to_string()),
            mime_type: Set(Some(kind.mime.to_owned())),
            file_size: Set(Some(i64::try_from(stored.size).unwrap_or(i64::MAX))),
            document_type: Set(document_type),
            sha256: Set(Some(stored.sha256.clone())),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&txn)
        .await?;
        crate::client_notes::service::record_event(
            &txn,
            client.id,
            Some(viewer.user_id),
            format!("Document {name} added"),
        )
        .await?;
        txn.commit().await?;
        Ok(document)
    }
    .await;
    if written.is_err() {
        // Best effort: what is left is the sweep's.
        let _ = storage.delete(&key).await;
    }
    written
}

fn read_failed(err: std::io::Error) -> AppError {
    AppError::bad_input("file", format!("the file could not be read: {err}"))
}
