//! Documents' files: uploaded, replaced, re-described and deleted.
//!
//! A file is checked from its first bytes, written to the store as it arrives, scanned when a
//! scanner is configured, and only then is its row written, with a history entry on the
//! client, in one transaction. So a row never names a missing file; when the row cannot be
//! written the file is removed again, and what a crash leaves behind `documents sweep`
//! removes. Deleting (and replacing) goes the other way: the row first, then the old file.

use std::sync::Arc;

use bytes::Bytes;
use entity::{clients, contracts, documents};
use futures_util::{Stream, StreamExt};
use object_store::path::Path;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, ModelTrait};
use uuid::Uuid;

use super::content::{Kind, SNIFF_BYTES, check, display_name};
use super::inputs::UpdateDocumentInput;
use super::links::Links;
use super::scan::{Scanner, Verdict};
use super::storage::{Storage, StorageError, Stored};
use crate::auth::Viewer;
use crate::client_notes::service::record_event;
use crate::db::{begin_write, check_unchanged, for_update, must_exist, now};
use crate::error::{AppError, AppResult};
use crate::validate::optional_text;

/// Where files go and what they may be: one per server, shared by every request.
#[derive(Debug, Clone)]
pub struct Files {
    pub storage: Storage,
    pub rules: UploadRules,
    pub links: Links,
    /// Prefix of the server's own download links (`CRM_PUBLIC_URL`; empty: relative links).
    pub public_url: String,
    pub scanner: Option<Arc<dyn Scanner>>,
    /// Turns to write a file to the store (`CRM_UPLOAD_CONCURRENCY`).
    pub writers: Arc<tokio::sync::Semaphore>,
}

impl Files {
    /// The files service `config` describes (the store opened, the directory created).
    pub fn from_config(config: &crate::config::Config) -> Result<Files, String> {
        let storage = config
            .storage
            .open(&config.database)
            .map_err(|err| format!("document store: {err}"))?;
        Ok(Files {
            storage,
            rules: UploadRules {
                max_bytes: config.storage.upload_max_file_bytes,
                kinds: config.storage.document_kinds()?.into(),
            },
            links: Links::new(
                config.auth.jwt_secret.as_bytes(),
                std::time::Duration::from_secs(config.storage.document_link_secs),
            ),
            public_url: config
                .storage
                .public_url
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            writers: Arc::new(tokio::sync::Semaphore::new(
                config.storage.upload_concurrency.max(1),
            )),
            scanner: config
                .storage
                .clamd_address
                .as_ref()
                .map(|address| Arc::new(super::scan::Clamd::new(address)) as Arc<dyn Scanner>),
        })
    }
}

/// What an upload may be.
#[derive(Debug, Clone)]
pub struct UploadRules {
    pub max_bytes: u64,
    pub kinds: Arc<[Kind]>,
}

/// A file as it arrives: the name the client gave (shown, never used to store the file) and
/// its content.
pub struct Upload<S> {
    pub file_name: String,
    pub body: S,
}

/// A new document's row.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub client_id: Uuid,
    pub contract_id: Option<Uuid>,
    pub document_type: Option<String>,
}

/// A file stored and checked, not yet named by a row.
struct StoredFile {
    key: Path,
    kind: Kind,
    stored: Stored,
    name: String,
}

/// Checks, stores and scans a file under `documents/<client>/<file_id>`.
async fn store<S, E>(
    files: &Files,
    client_id: Uuid,
    file_id: Uuid,
    upload: Upload<S>,
) -> AppResult<StoredFile>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Into<std::io::Error>,
{
    let mut body = std::pin::pin!(upload.body);
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
    let kind = check(&head, &upload.file_name, &files.rules.kinds)
        .map_err(|err| AppError::invalid("file", err.code(), err.to_string()))?;

    // The semaphore is never closed.
    let _turn = files.writers.acquire().await.ok();
    let key = Storage::key(client_id, file_id);
    let rest = futures_util::stream::iter(first.into_iter().map(Ok::<_, std::io::Error>))
        .chain(body.map(|chunk| chunk.map_err(Into::into)));
    let stored = files
        .storage
        .put_stream(&key, rest, files.rules.max_bytes, kind.mime)
        .await
        .map_err(|err| match err {
            StorageError::TooLarge { max } => AppError::invalid(
                "file",
                "FILE_TOO_LARGE",
                format!("the file is larger than {max} bytes"),
            ),
            StorageError::Read(err) => read_failed(err),
            StorageError::Store(err) => AppError::Internal(format!("file store: {err}")),
        })?;
    if let Some(scanner) = &files.scanner
        && let Err(err) = scan(&files.storage, scanner.as_ref(), &key).await
    {
        let _ = files.storage.delete(&key).await;
        return Err(err);
    }
    Ok(StoredFile {
        key,
        kind,
        stored,
        name: display_name(&upload.file_name),
    })
}

/// Hands the stored file to the scanner.
async fn scan(storage: &Storage, scanner: &dyn Scanner, key: &Path) -> AppResult<()> {
    let content = storage
        .read(key, None)
        .await
        .map_err(|err| AppError::Internal(format!("file store: {err}")))?;
    match scanner.scan(content).await {
        Ok(Verdict::Clean) => Ok(()),
        Ok(Verdict::Rejected(reason)) => Err(AppError::invalid(
            "file",
            "FILE_REJECTED",
            format!("the file was rejected by the virus scanner ({reason})"),
        )),
        Err(err) => Err(AppError::Internal(format!("virus scanner: {err}"))),
    }
}

/// Stores `upload` for `viewer` as a new document of `new.client_id` and returns it.
pub async fn upload<S, E>(
    db: &DatabaseConnection,
    files: &Files,
    viewer: Viewer,
    new: NewDocument,
    upload: Upload<S>,
) -> AppResult<documents::Model>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Into<std::io::Error>,
{
    let document_type = optional_text("documentType", new.document_type.as_deref(), 50)?;
    // The client and contract first, so that nothing is stored for a client the viewer may
    // not see (and no file is sent for nothing).
    let txn = begin_write(db).await?;
    must_exist::<clients::Entity>(&txn, viewer, new.client_id, "clientId", "client").await?;
    if let Some(contract_id) = new.contract_id {
        contract_of(&txn, viewer, contract_id, new.client_id).await?;
    }
    txn.commit().await?;

    let id = Uuid::now_v7();
    let file = store(files, new.client_id, id, upload).await?;
    let written = async {
        let txn = begin_write(db).await?;
        let client =
            for_update::<clients::Entity>(&txn, viewer, new.client_id, "clientId", "client")
                .await?;
        if let Some(contract_id) = new.contract_id {
            contract_of(&txn, viewer, contract_id, client.id).await?;
        }
        let at = now();
        let document = documents::ActiveModel {
            id: Set(id),
            client_id: Set(client.id),
            contract_id: Set(new.contract_id),
            uploaded_by: Set(Some(viewer.user_id)),
            file_name: Set(file.name.clone()),
            file_path: Set(file.key.to_string()),
            mime_type: Set(Some(file.kind.mime.to_owned())),
            file_size: Set(Some(size(&file.stored))),
            document_type: Set(document_type),
            sha256: Set(Some(file.stored.sha256.clone())),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&txn)
        .await?;
        record_event(
            &txn,
            client.id,
            Some(viewer.user_id),
            format!("Document {} added", file.name),
        )
        .await?;
        txn.commit().await?;
        Ok(document)
    }
    .await;
    if written.is_err() {
        // Best effort: what is left is the sweep's.
        let _ = files.storage.delete(&file.key).await;
    }
    written
}

/// Replaces a document's file (its name, type, size and checksum follow); the old file is
/// removed once the row names the new one.
pub async fn replace_file<S, E>(
    db: &DatabaseConnection,
    files: &Files,
    viewer: Viewer,
    id: Uuid,
    upload: Upload<S>,
) -> AppResult<documents::Model>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Into<std::io::Error>,
{
    let txn = begin_write(db).await?;
    let current = must_exist::<documents::Entity>(&txn, viewer, id, "id", "document").await?;
    txn.commit().await?;

    let file = store(files, current.client_id, Uuid::now_v7(), upload).await?;
    let written = async {
        let txn = begin_write(db).await?;
        let current = for_update::<documents::Entity>(&txn, viewer, id, "id", "document").await?;
        let old_key = current.file_path.clone();
        let client_id = current.client_id;
        let mut active: documents::ActiveModel = current.into();
        active.file_name = Set(file.name.clone());
        active.file_path = Set(file.key.to_string());
        active.mime_type = Set(Some(file.kind.mime.to_owned()));
        active.file_size = Set(Some(size(&file.stored)));
        active.sha256 = Set(Some(file.stored.sha256.clone()));
        active.updated_at = Set(now());
        let document = active.update(&txn).await?;
        record_event(
            &txn,
            client_id,
            Some(viewer.user_id),
            format!("Document {} replaced", file.name),
        )
        .await?;
        txn.commit().await?;
        Ok((document, old_key))
    }
    .await;
    match written {
        Ok((document, old_key)) => {
            remove_file(files, &old_key).await;
            Ok(document)
        }
        Err(err) => {
            let _ = files.storage.delete(&file.key).await;
            Err(err)
        }
    }
}

/// Changes a document's kind or contract.
pub async fn update(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
    input: UpdateDocumentInput,
) -> AppResult<documents::Model> {
    let document_type = match input.document_type {
        async_graphql::MaybeUndefined::Undefined => None,
        async_graphql::MaybeUndefined::Null => Some(None),
        async_graphql::MaybeUndefined::Value(value) => {
            Some(optional_text("documentType", Some(&value), 50)?)
        }
    };
    let txn = begin_write(db).await?;
    let current = for_update::<documents::Entity>(&txn, viewer, id, "id", "document").await?;
    check_unchanged(current.updated_at, input.expected_updated_at)?;
    let client_id = current.client_id;
    let mut active: documents::ActiveModel = current.into();
    if let Some(value) = document_type {
        active.document_type = Set(value);
    }
    match input.contract_id {
        async_graphql::MaybeUndefined::Undefined => {}
        async_graphql::MaybeUndefined::Null => active.contract_id = Set(None),
        async_graphql::MaybeUndefined::Value(contract_id) => {
            contract_of(&txn, viewer, contract_id, client_id).await?;
            active.contract_id = Set(Some(contract_id));
        }
    }
    active.updated_at = Set(now());
    let document = active.update(&txn).await?;
    txn.commit().await?;
    Ok(document)
}

/// Deletes a document: its row (with a history entry), then its file.
pub async fn delete(
    db: &DatabaseConnection,
    files: &Files,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<Uuid> {
    let txn = begin_write(db).await?;
    let current = for_update::<documents::Entity>(&txn, viewer, id, "id", "document").await?;
    let key = current.file_path.clone();
    let (client_id, name) = (current.client_id, current.file_name.clone());
    current.delete(&txn).await?;
    record_event(
        &txn,
        client_id,
        Some(viewer.user_id),
        format!("Document {name} deleted"),
    )
    .await?;
    txn.commit().await?;
    remove_file(files, &key).await;
    Ok(id)
}

/// Removes files no row names any more (a deleted client's); on failure the sweep removes
/// them later.
pub async fn remove_files(files: &Files, keys: &[String]) {
    for key in keys {
        remove_file(files, key).await;
    }
}

/// Removes a file no row names any more; on failure the sweep removes it later.
async fn remove_file(files: &Files, key: &str) {
    let Ok(key) = Path::parse(key) else {
        return;
    };
    if let Err(err) = files.storage.delete(&key).await {
        tracing::warn!(error = %err, key = %key, "document file left for the sweep");
    }
}

/// The contract, which must be one of `client_id`'s.
async fn contract_of(
    txn: &sea_orm::DatabaseTransaction,
    viewer: Viewer,
    contract_id: Uuid,
    client_id: Uuid,
) -> AppResult<contracts::Model> {
    let contract =
        must_exist::<contracts::Entity>(txn, viewer, contract_id, "contractId", "contract").await?;
    if contract.client_id != client_id {
        return Err(AppError::bad_input(
            "contractId",
            "the contract belongs to another client",
        ));
    }
    Ok(contract)
}

fn size(stored: &Stored) -> i64 {
    i64::try_from(stored.size).unwrap_or(i64::MAX)
}

fn read_failed(err: std::io::Error) -> AppError {
    AppError::bad_input("file", format!("the file could not be read: {err}"))
}
