//! Removing abandoned uploads (`crm-server documents sweep`): a file is written before its
//! document row, so an upload that failed or was abandoned between the two leaves a file
//! that no row names. Files under `documents/` older than a grace period (so that an upload in
//! progress is never taken) and named by no row's `file_path` are deleted.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::documents;
use object_store::path::Path;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::documents::storage::{Storage, StorageError};

/// Keys checked against the rows per statement.
const KEYS_PER_STATEMENT: usize = 500;

/// Why a sweep stopped.
#[derive(Debug)]
pub enum SweepError {
    Storage(StorageError),
    Database(sea_orm::DbErr),
}

impl std::fmt::Display for SweepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SweepError::Storage(err) => err.fmt(f),
            SweepError::Database(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for SweepError {}

/// Deletes the files of `storage` last written before `now - grace` that no document row
/// names; returns their keys.
pub async fn sweep(
    db: &DatabaseConnection,
    storage: &Storage,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Path>, SweepError> {
    let cutoff = now - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let old: Vec<Path> = storage
        .list(Some(&Path::from("documents")))
        .await
        .map_err(SweepError::Storage)?
        .into_iter()
        .filter(|meta| meta.last_modified < cutoff)
        .map(|meta| meta.location)
        .collect();
    let mut removed = Vec::new();
    for batch in old.chunks(KEYS_PER_STATEMENT) {
        let keys: Vec<String> = batch.iter().map(ToString::to_string).collect();
        let named: HashSet<String> = documents::Entity::find()
            .select_only()
            .column(documents::Column::FilePath)
            .filter(documents::Column::FilePath.is_in(keys.iter().cloned()))
            .into_tuple::<String>()
            .all(db)
            .await
            .map_err(SweepError::Database)?
            .into_iter()
            .collect();
        for key in batch {
            if !named.contains(&key.to_string()) {
                storage.delete(key).await.map_err(SweepError::Storage)?;
                removed.push(key.clone());
            }
        }
    }
    Ok(removed)
}
