//! The document file store on both storages: a local directory, and an S3-compatible bucket
//! served by a real S3 server (`moto_server`, from PyPI's `moto[server]`) that the test
//! starts on a free port. Without `moto_server` the S3 half is skipped with a loud notice,
//! unless `CRM_TEST_REQUIRE_S3=1` (CI) makes that a failure.

use std::time::Duration;

use bytes::Bytes;
use crm_server::documents::storage::{S3Settings, Storage, StorageError};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// A running `moto_server`.
pub struct S3Server {
    _service: crate::helpers::services::Service,
    pub endpoint: String,
}

/// Starts `moto_server` (or `CRM_TEST_MOTO_SERVER`) on a free port of 127.0.0.1.
pub async fn s3_server() -> Option<S3Server> {
    let program = std::env::var("CRM_TEST_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let service = crate::helpers::services::start(
        &program,
        |port| {
            vec![
                "-H".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
            ]
        },
        "CRM_TEST_REQUIRE_S3",
        "pip install 'moto[server]'",
    )
    .await?;
    Some(S3Server {
        endpoint: format!("http://127.0.0.1:{}", service.port),
        _service: service,
    })
}

/// Creates `bucket` on the server (an unsigned path-style `PUT`, which the test server takes).
pub async fn create_bucket(endpoint: &str, bucket: &str) {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn chunks(data: &[u8], size: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + use<> {
    let parts: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(parts)
}

/// What every storage must do: a file comes out as it went in (in several parts), is gone
/// after delete; a file past the limit or cut short leaves nothing behind.
async fn behaves(storage: &Storage, leftovers: impl AsyncFn() -> Vec<String>) {
    let data: Vec<u8> = (0..12 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let key = Storage::key(Uuid::now_v7(), Uuid::now_v7());
    let stored = storage
        .put_stream(&key, chunks(&data, 64 * 1024), 20 << 20, "application/pdf")
        .await
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    let expected: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored.sha256, expected);
    let mut read = Vec::with_capacity(data.len());
    let mut body = storage.get(&key).await.unwrap().into_stream();
    while let Some(chunk) = body.next().await {
        read.extend_from_slice(&chunk.unwrap());
    }
    assert!(read == data, "the file read back differs");
    // `read` (large chunks from a directory) answers what object_store's own stream does, whole
    // and by range.
    let len = data.len() as u64;
    for range in [
        None,
        Some(0..1),
        Some(100..5_000_000),
        Some(len - 10..len),
        Some(0..len),
    ] {
        let mut fast = Vec::new();
        let mut body = storage.read(&key, range.clone()).await.unwrap();
        while let Some(chunk) = body.next().await {
            fast.extend_from_slice(&chunk.unwrap());
        }
        let library = storage.get(&key).await.unwrap().bytes().await.unwrap();
        let (start, end) = range.map_or((0, len), |r| (r.start, r.end));
        assert!(
            fast.as_slice() == &library[start as usize..end as usize],
            "read({start}..{end}) differs from the library's answer"
        );
    }
    storage.delete(&key).await.unwrap();
    assert!(storage.get(&key).await.is_err());
    storage.delete(&key).await.unwrap();

    let refused = storage
        .put_stream(
            &key,
            chunks(&vec![7u8; 3 << 20], 4096),
            1 << 20,
            "application/pdf",
        )
        .await;
    assert!(
        matches!(refused, Err(StorageError::TooLarge { max: 1048576 })),
        "{refused:?}"
    );
    let cut = futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"%PDF-1.7")),
        Err(std::io::Error::other("client went away")),
    ]);
    assert!(matches!(
        storage
            .put_stream(&key, cut, 1 << 20, "application/pdf")
            .await,
        Err(StorageError::Read(_))
    ));
    assert!(storage.get(&key).await.is_err());
    assert_eq!(leftovers().await, Vec::<String>::new());
}

#[tokio::test]
async fn files_go_in_and_come_out_identical_on_a_local_directory() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::local(dir.path()).unwrap();
    behaves(&storage, async || walk(dir.path())).await;
}

#[tokio::test]
async fn files_go_in_and_come_out_identical_on_an_s3_bucket() {
    let Some(server) = s3_server().await else {
        return;
    };
    create_bucket(&server.endpoint, "crm-documents").await;
    let storage = Storage::s3(&S3Settings {
        bucket: "crm-documents".into(),
        region: "us-east-1".into(),
        endpoint: Some(server.endpoint.clone()),
        credentials: Some(("test".into(), "test".into())),
    })
    .unwrap();
    behaves(&storage, async || {
        storage
            .list(None)
            .await
            .unwrap()
            .into_iter()
            .map(|meta| meta.location.to_string())
            .collect()
    })
    .await;
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

test_both! {
    async fn the_sweep_removes_old_files_that_no_document_names(app) {
        use crm_server::documents::sweep::sweep;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};

        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path()).unwrap();
        let client = crate::helpers::fixtures::client(&app.db, "Sweep", None).await;
        let put = async |key: &object_store::path::Path| {
            storage
                .put_stream(key, chunks(b"%PDF-1.7 kept", 4), 1024, "application/pdf")
                .await
                .unwrap();
        };
        // A document and its file; a file whose upload never got its row.
        let document = crate::helpers::fixtures::document(&app.db, client.id, None, None).await;
        let kept = Storage::key(client.id, document.id);
        let mut row: entity::documents::ActiveModel = document.into();
        row.file_path = Set(kept.to_string());
        row.update(&app.db).await.unwrap();
        put(&kept).await;
        let orphan = Storage::key(client.id, Uuid::now_v7());
        put(&orphan).await;

        let hour = Duration::from_secs(3600);
        let now = chrono::Utc::now();
        assert_eq!(sweep(&app.db, &storage, hour, now).await.unwrap(), [], "within the grace period");
        let later = now + chrono::Duration::hours(2);
        assert_eq!(sweep(&app.db, &storage, hour, later).await.unwrap(), std::slice::from_ref(&orphan));
        assert!(storage.get(&orphan).await.is_err());
        assert!(storage.get(&kept).await.is_ok(), "a file its document names stays");
        assert_eq!(sweep(&app.db, &storage, hour, later).await.unwrap(), []);
    }
}

test_both! {
    async fn an_upload_is_stored_checked_and_never_half_written(app) {
        use crm_server::documents::service::{Files, NewDocument, Upload, upload};
        use crm_server::engine::Viewer;
        use crm_server::error::AppError;
        use entity::{ContractStatus, Role};

        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::helpers::test_config();
        config.storage.documents_dir = Some(dir.path().to_owned());
        config.storage.upload_max_file_bytes = 1 << 20;
        let files = Files::from_config(&config).unwrap();
        let storage = files.storage.clone();
        let (ann, _) = app.user("ann", Role::Commercial, None).await;
        let (ben, _) = app.user("ben", Role::Commercial, None).await;
        let ann = Viewer { user_id: ann, role: Role::Commercial };
        let mine = crate::helpers::fixtures::client(&app.db, "Ann's", Some(ann.user_id)).await;
        let theirs = crate::helpers::fixtures::client(&app.db, "Ben's", Some(ben)).await;
        let their_contract = crate::helpers::fixtures::contract(&app.db, theirs.id, "B-1", "10.00", ContractStatus::Active).await;
        let pdf: Vec<u8> = [b"%PDF-1.7\n".as_slice(), &vec![b'x'; 20_000]].concat();
        let new = |client_id, contract_id| NewDocument {
            client_id,
            contract_id,
            document_type: Some("contract".to_owned()),
        };
        let file = |name: &str, data: &[u8]| Upload { file_name: name.to_owned(), body: chunks(data, 1000) };
        let stored = async || storage.list(None).await.unwrap().len();

        let document = upload(&app.db, &files, ann, new(mine.id, None), file("../../etc/contrat signé.pdf", &pdf))
            .await
            .unwrap();
        assert_eq!(document.file_name, "contrat signé.pdf");
        assert_eq!(document.file_path, format!("documents/{}/{}", mine.id, document.id));
        assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));
        assert_eq!(document.file_size, Some(pdf.len() as i64));
        let digest: String = Sha256::digest(&pdf).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(document.sha256.as_deref(), Some(digest.as_str()));
        let key = object_store::path::Path::from(document.file_path.as_str());
        let read = storage.get(&key).await.unwrap().bytes().await.unwrap();
        assert!(read.as_ref() == pdf.as_slice());
        assert!(app.system_notes(mine.id).await.contains(&"Document contrat signé.pdf added".to_owned()));
        assert_eq!(stored().await, 1);

        // Refused before anything is stored: an executable named .pdf, a PNG named .pdf, a file
        // past the limit, another portfolio's client or contract.
        let elf = [b"\x7fELF\x02\x01\x01".as_slice(), &[0u8; 57]].concat();
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let large = [b"%PDF-1.7\n".as_slice(), &vec![b'x'; 2 << 20]].concat();
        for (name, data, reason) in [
            ("invoice.pdf", &elf, "UNSUPPORTED_FILE_TYPE"),
            ("invoice.pdf", &png, "FILE_TYPE_MISMATCH"),
            ("big.pdf", &large, "FILE_TOO_LARGE"),
        ] {
            match upload(&app.db, &files, ann, new(mine.id, None), file(name, data)).await {
                Err(AppError::BadUserInput { field: Some(f), reason: Some(r), .. }) => {
                    assert_eq!((f.as_str(), r), ("file", reason));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        match upload(&app.db, &files, ann, new(theirs.id, None), file("a.pdf", &pdf)).await {
            Err(AppError::NotFound { field: Some(f), .. }) => assert_eq!(f, "clientId"),
            other => panic!("{other:?}"),
        }
        match upload(&app.db, &files, ann, new(mine.id, Some(their_contract.id)), file("a.pdf", &pdf)).await {
            Err(AppError::NotFound { field: Some(f), .. }) => assert_eq!(f, "contractId"),
            other => panic!("{other:?}"),
        }
        // The client is deleted while its file arrives: the file is stored, the row cannot
        // be written, and the file goes again.
        let doomed = crate::helpers::fixtures::client(&app.db, "Doomed", Some(ann.user_id)).await;
        let db = app.db.clone();
        let body = chunks(&pdf[..10_000], 1000).chain(futures_util::stream::once(async move {
            use sea_orm::EntityTrait;
            entity::clients::Entity::delete_by_id(doomed.id).exec(&db).await.unwrap();
            Ok(Bytes::from_static(b"the end"))
        }));
        let upload_result = upload(&app.db, &files, ann, new(doomed.id, None), Upload { file_name: "late.pdf".into(), body }).await;
        assert!(matches!(upload_result, Err(AppError::NotFound { .. })), "{upload_result:?}");
        assert_eq!(stored().await, 1, "only the first upload's file is stored");
        let rows = <entity::documents::Entity as sea_orm::EntityTrait>::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len(), 1);
    }
}
