//! Where document files live: any `object_store` backend (a local directory by default, an
//! S3-compatible bucket by configuration), under keys the server makes from ids alone
//! (`documents/<client id>/<document id>`), never from anything a client sent.
//!
//! A file is written as it arrives ([`Storage::put_stream`]): in parts, its SHA-256 and size
//! computed on the way, and abandoned (nothing left under its key) when it grows past the
//! limit or its stream fails, so memory holds a part at a time whatever the file's size.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, WriteMultipart,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use uuid::Uuid;

/// The size of the parts a file is written in: S3's minimum part size for a bucket, less for a
/// directory (what an upload holds in memory is about three parts).
const S3_PART_BYTES: usize = 5 * 1024 * 1024;
const LOCAL_PART_BYTES: usize = 512 * 1024;

/// The chunks a file of a local directory is read in.
const READ_CHUNK: usize = 256 * 1024;

/// Parts in flight at once per upload.
const PARTS_IN_FLIGHT: usize = 2;

/// The store of document files.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Presigns download URLs (S3), when the store can.
    signer: Option<Arc<dyn Signer>>,
    part_bytes: usize,
}

/// Where an S3-compatible bucket is.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    pub endpoint: Option<String>,
    /// Access key id and secret; `None`: the `AWS_*` variables.
    pub credentials: Option<(String, String)>,
}

/// A file written: its size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

/// Why a file was not written.
#[derive(Debug)]
pub enum StorageError {
    /// The file is larger than the limit (nothing is kept).
    TooLarge { max: u64 },
    /// The file's stream failed (the client went away …; nothing is kept).
    Read(std::io::Error),
    /// The store refused or failed.
    Store(object_store::Error),
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageError::TooLarge { max } => write!(f, "the file is larger than {max} bytes"),
            StorageError::Read(err) => write!(f, "the file could not be read: {err}"),
            StorageError::Store(err) => write!(f, "the file store failed: {err}"),
        }
    }
}

impl std::error::Error for StorageError {}

impl From<object_store::Error> for StorageError {
    fn from(err: object_store::Error) -> Self {
        StorageError::Store(err)
    }
}

impl Storage {
    /// Files in `dir` (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Storage, StorageError> {
        std::fs::create_dir_all(dir).map_err(StorageError::Read)?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?
            .with_automatic_cleanup(true);
        Ok(Storage {
            store: Arc::new(store),
            signer: None,
            part_bytes: LOCAL_PART_BYTES,
        })
    }

    /// Files in an S3-compatible bucket. `endpoint`: the server's URL for another service
    /// than AWS (MinIO, Ceph, a test server …; addressed by path, plain HTTP allowed);
    /// credentials as given, else from the standard `AWS_*` variables.
    pub fn s3(settings: &S3Settings) -> Result<Storage, StorageError> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let Some((key, secret)) = &settings.credentials {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        let s3 = Arc::new(builder.build()?);
        Ok(Storage {
            store: s3.clone(),
            signer: Some(s3),
            part_bytes: S3_PART_BYTES,
        })
    }

    /// Files in any store (written in S3-sized parts).
    pub fn over(store: Arc<dyn ObjectStore>) -> Storage {
        Storage {
            store,
            signer: None,
            part_bytes: S3_PART_BYTES,
        }
    }

    /// A presigned URL reading `key` for `ttl`, served with this type and disposition; `None`
    /// when the store cannot presign (a local directory: the server signs its own links).
    pub async fn signed_url(
        &self,
        key: &Path,
        ttl: std::time::Duration,
        content_type: &str,
        disposition: &str,
    ) -> Option<Result<String, StorageError>> {
        let signer = self.signer.as_ref()?;
        let options = SignedUrlOptions::new().with_query([
            ("response-content-type", content_type),
            ("response-content-disposition", disposition),
        ]);
        Some(
            signer
                .signed_url_opts(object_store::signer::Method::GET, key, ttl, &options)
                .await
                .map(|url| url.to_string())
                .map_err(StorageError::from),
        )
    }

    /// The bytes `range` (all when `None`) of the file under `key`, as a stream of chunks.
    ///
    /// A file of a local directory is read in chunks of [`READ_CHUNK`] rather than
    /// `object_store`'s 8 KiB (one blocking-pool round trip each), which triples a download's
    /// throughput; `tests/api/documents.rs` checks the bytes, whole and by range, on both
    /// kinds of store.
    pub async fn read(
        &self,
        key: &Path,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(key, options).await?;
        let range = result.range.clone();
        match result.payload {
            GetResultPayload::File(file, _) => {
                let mut file = tokio::fs::File::from_std(file);
                file.seek(std::io::SeekFrom::Start(range.start))
                    .await
                    .map_err(StorageError::Read)?;
                let reader = file.take(range.end - range.start);
                Ok(tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK).boxed())
            }
            GetResultPayload::Stream(stream) => Ok(stream
                .map(|chunk| chunk.map_err(std::io::Error::other))
                .boxed()),
        }
    }

    /// The key of a document's file: made of ids only.
    pub fn key(client_id: Uuid, document_id: Uuid) -> Path {
        Path::from(format!("documents/{client_id}/{document_id}"))
    }

    /// Writes `body` under `key` as it arrives, refusing it past `max_bytes`; on any failure
    /// nothing is left under `key`. A bucket keeps `content_type` with the file (what it
    /// answers to a presigned link); a directory keeps only the bytes.
    pub async fn put_stream<S, E>(
        &self,
        key: &Path,
        body: S,
        max_bytes: u64,
        content_type: &str,
    ) -> Result<Stored, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<std::io::Error>,
    {
        let upload = if self.signer.is_some() {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
            let options = PutMultipartOptions {
                attributes,
                ..PutMultipartOptions::default()
            };
            self.store.put_multipart_opts(key, options).await?
        } else {
            self.store.put_multipart(key).await?
        };
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_bytes);
        let mut hash = Sha256::new();
        let mut size: u64 = 0;
        let mut body = std::pin::pin!(body);
        let failure = loop {
            let chunk = match body.next().await {
                None => break None,
                Some(Err(err)) => break Some(StorageError::Read(err.into())),
                Some(Ok(chunk)) => chunk,
            };
            size += chunk.len() as u64;
            if size > max_bytes {
                break Some(StorageError::TooLarge { max: max_bytes });
            }
            hash.update(&chunk);
            if let Err(err) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                break Some(err.into());
            }
            writer.put(chunk);
        };
        if let Some(failure) = failure {
            // Best effort: an abandoned part upload is also what the sweep removes.
            let _ = writer.abort().await;
            return Err(failure);
        }
        writer.finish().await?;
        Ok(Stored {
            size,
            sha256: crate::digest::hex(&hash.finalize()),
        })
    }

    /// The whole file under `key`, as a stream of chunks, with its size.
    pub async fn get(&self, key: &Path) -> Result<object_store::GetResult, StorageError> {
        Ok(self.store.get(key).await?)
    }

    /// Every file under `prefix` (every file when `None`), with its size and time.
    pub async fn list(
        &self,
        prefix: Option<&Path>,
    ) -> Result<Vec<object_store::ObjectMeta>, StorageError> {
        let mut found = Vec::new();
        let mut listing = self.store.list(prefix);
        while let Some(meta) = listing.next().await {
            found.push(meta?);
        }
        Ok(found)
    }

    /// Removes the file under `key` (no error when it is already gone).
    pub async fn delete(&self, key: &Path) -> Result<(), StorageError> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}
