//! Documents' files through the HTTP API: uploaded with the GraphQL multipart request spec,
//! downloaded from `/documents/{id}/content` (bearer token or signed link, `Range`, `ETag`),
//! replaced, re-described and deleted; every limit; access from another portfolio; on a local
//! directory and on a real S3 server (`moto_server`, see `storage.rs`).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bytes::Bytes;
use crm_server::config::Config;
use crm_server::documents::storage::Storage;
use entity::{ContractStatus, Role};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, send_raw, test_config};

const UPLOAD: &str = "mutation($input: UploadDocumentInput!) { uploadDocument(input: $input) { \
    id fileName mimeType fileSize sha256 documentType contractId filePath \
    downloadUrl inline: downloadUrl(inline: true) } }";

/// A PDF-looking file of `size` bytes.
fn pdf(size: usize) -> Vec<u8> {
    let mut data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    data.extend((0..size.saturating_sub(data.len())).map(|i| (i % 251) as u8));
    data
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One file of a multipart request: its part name, the variable it fills, its name, content.
struct Part<'a> {
    name: &'a str,
    path: &'a str,
    file_name: &'a str,
    data: &'a [u8],
}

/// A multipart request (`operations`, `map`, files) with the preflight header.
fn multipart(
    token: Option<&str>,
    query: &str,
    variables: Value,
    parts: &[Part<'_>],
) -> Request<Body> {
    multipart_with(token, query, variables, parts, true)
}

fn multipart_with(
    token: Option<&str>,
    query: &str,
    variables: Value,
    parts: &[Part<'_>],
    preflight: bool,
) -> Request<Body> {
    let boundary = "crm-test-boundary-7MA4YWxkTrZu0gW";
    let mut map = serde_json::Map::new();
    for part in parts {
        map.insert(part.name.to_owned(), json!([part.path]));
    }
    let mut body = Vec::new();
    let mut field = |name: &str, file_name: Option<&str>, data: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    let operations = json!({ "query": query, "variables": variables }).to_string();
    field("operations", None, operations.as_bytes());
    field("map", None, Value::Object(map).to_string().as_bytes());
    for part in parts {
        field(part.name, Some(part.file_name), part.data);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut request = Request::post("/graphql").header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    );
    if preflight {
        request = request.header("apollo-require-preflight", "true");
    }
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(body)).unwrap()
}

/// Uploads `data` as `file_name` for `client`; the JSON answer.
async fn upload(
    router: &Router,
    token: &str,
    client: uuid::Uuid,
    file_name: &str,
    data: &[u8],
) -> (StatusCode, Value) {
    let request = multipart(
        Some(token),
        UPLOAD,
        json!({ "input": { "clientId": client, "documentType": "kyc", "file": null } }),
        &[Part {
            name: "0",
            path: "variables.input.file",
            file_name,
            data,
        }],
    );
    let (status, _, body) = send_raw(router, request).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Runs a GraphQL operation through `router` with this bearer token; the JSON answer.
async fn gql(router: &Router, token: &str, query: &str, variables: Value) -> Value {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(
            json!({ "query": query, "variables": variables }).to_string(),
        ))
        .unwrap();
    let (status, _, body) = send_raw(router, request).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

/// `GET` `uri` with these headers (and the bearer token, if any).
async fn get(
    router: &Router,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send_raw(router, request.body(Body::empty()).unwrap()).await
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A configuration whose files go to a directory of the test's own.
fn config_in(dir: &std::path::Path) -> Config {
    let mut config = test_config();
    config.storage.documents_dir = Some(dir.to_owned());
    config
}

/// The keys of every file in the store.
async fn stored(storage: &Storage) -> Vec<String> {
    let mut keys: Vec<String> = storage
        .list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|meta| meta.location.to_string())
        .collect();
    keys.sort();
    keys
}

/// The whole life of a document on the storage `config` names: upload, download (whole,
/// conditional, ranges, signed links), update, replace, delete.
async fn round_trip(app: &TestApp, config: &Config, storage: &Storage) {
    let router = app.router_with(config);
    let client = crate::helpers::fixtures::client(&app.db, "Files", None).await;
    let contract = crate::helpers::fixtures::contract(
        &app.db,
        client.id,
        "F-1",
        "10.00",
        ContractStatus::Active,
    )
    .await;
    let data = pdf(300_000);
    let (status, answer) = upload(
        &router,
        &app.token,
        client.id,
        "../../Contrat signé.PDF",
        &data,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let document = &answer["data"]["uploadDocument"];
    assert_eq!(document["fileName"], "Contrat signé.PDF", "{answer}");
    assert_eq!(document["mimeType"], "application/pdf");
    assert_eq!(document["fileSize"], data.len());
    assert_eq!(document["sha256"], sha256(&data));
    assert_eq!(document["documentType"], "kyc");
    let id = document["id"].as_str().unwrap().to_owned();
    assert_eq!(
        document["filePath"],
        format!("documents/{}/{id}", client.id),
        "the key is made of ids only"
    );
    assert_eq!(
        stored(storage).await,
        [format!("documents/{}/{id}", client.id)]
    );
    assert!(
        app.system_notes(client.id)
            .await
            .contains(&"Document Contrat signé.PDF added".to_owned())
    );

    // Whole file, with its type, length, name and ETag.
    let uri = format!("/documents/{id}/content");
    let (status, headers, body) = get(&router, &uri, Some(&app.token), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.as_ref() == data.as_slice(),
        "the file comes out identical"
    );
    assert_eq!(header(&headers, header::CONTENT_TYPE), "application/pdf");
    assert_eq!(
        header(&headers, header::CONTENT_LENGTH),
        data.len().to_string()
    );
    assert!(
        header(&headers, header::CONTENT_DISPOSITION)
            .starts_with("attachment; filename=\"Contrat sign_.PDF\""),
        "{headers:?}"
    );
    let etag = format!("\"{}\"", sha256(&data));
    assert_eq!(header(&headers, header::ETAG), etag);
    assert_eq!(header(&headers, header::ACCEPT_RANGES), "bytes");

    // Conditional and partial requests.
    let (status, _, body) = get(&router, &uri, Some(&app.token), &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let weak = format!("\"other\", W/{etag}");
    let (status, _, _) = get(&router, &uri, Some(&app.token), &[("if-none-match", &weak)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED, "a weak tag matches");
    let (status, headers, body) = get(
        &router,
        &uri,
        Some(&app.token),
        &[("range", "bytes=100-199")],
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body.as_ref() == &data[100..200]);
    assert_eq!(
        header(&headers, header::CONTENT_RANGE),
        format!("bytes 100-199/{}", data.len())
    );
    let (status, _, body) = get(&router, &uri, Some(&app.token), &[("range", "bytes=-10")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body.as_ref() == &data[data.len() - 10..]);
    let (status, headers, _) = get(
        &router,
        &uri,
        Some(&app.token),
        &[("range", "bytes=999999999-")],
    )
    .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        header(&headers, header::CONTENT_RANGE),
        format!("bytes */{}", data.len())
    );
    let (status, _, body) = get(
        &router,
        &uri,
        Some(&app.token),
        &[("range", "bytes=0-9"), ("if-range", "\"another version\"")],
    )
    .await;
    assert_eq!(
        (status, body.len()),
        (StatusCode::OK, data.len()),
        "If-Range for another version"
    );
    let (status, _, _) = get(&router, &uri, None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Signed links work without credentials, and only as signed.
    let link = document["downloadUrl"].as_str().unwrap().to_owned();
    let inline = document["inline"].as_str().unwrap().to_owned();
    let fetched = fetch_link(&router, &link).await;
    assert_eq!(fetched.0, StatusCode::OK);
    assert!(fetched.2.as_ref() == data.as_slice());
    let fetched = fetch_link(&router, &inline).await;
    assert_eq!(fetched.0, StatusCode::OK);
    assert!(fetched.2.as_ref() == data.as_slice());
    if link.starts_with('/') {
        // (S3 servers other than AWS may ignore the type and disposition a presigned URL asks.)
        assert!(
            header(&fetched.1, header::CONTENT_DISPOSITION).starts_with("inline;"),
            "{:?}",
            fetched.1
        );
        let tampered = link.replace("expires=", "expires=1");
        assert_eq!(
            fetch_link(&router, &tampered).await.0,
            StatusCode::NOT_FOUND
        );
        // A link that no longer works, with credentials: the credentials decide.
        assert_eq!(
            get(&router, &tampered, Some(&app.token), &[]).await.0,
            StatusCode::OK
        );
    }

    // Re-described: another kind, tied to a contract of the client, then to none.
    let updated = gql(
        &router,
        &app.token,
        "mutation($id: UUID!, $contract: UUID) { updateDocument(id: $id, input: { \
           documentType: \"contract\", contractId: $contract }) { documentType contractId } }",
        json!({ "id": id, "contract": contract.id }),
    )
    .await;
    assert_eq!(
        updated["data"]["updateDocument"]["contractId"],
        json!(contract.id),
        "{updated}"
    );
    let other = crate::helpers::fixtures::client(&app.db, "Other", None).await;
    let elsewhere = crate::helpers::fixtures::contract(
        &app.db,
        other.id,
        "O-1",
        "5.00",
        ContractStatus::Active,
    )
    .await;
    let refused = gql(
        &router,
        &app.token,
        "mutation($id: UUID!, $contract: UUID) { updateDocument(id: $id, input: { \
           contractId: $contract }) { id } }",
        json!({ "id": id, "contract": elsewhere.id }),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["field"], "contractId",
        "{refused}"
    );
    let updated = gql(
        &router,
        &app.token,
        "mutation($id: UUID!) { updateDocument(id: $id, input: { contractId: null }) { \
           documentType contractId } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        updated["data"]["updateDocument"],
        json!({ "documentType": "contract", "contractId": null })
    );

    // Replaced: the new file is served, the old file and the old links are gone.
    let png = [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(), &[1u8; 5000]].concat();
    let request = multipart(
        Some(&app.token),
        "mutation($id: UUID!, $file: Upload!) { replaceDocumentFile(id: $id, file: $file) { \
           fileName mimeType fileSize sha256 filePath } }",
        json!({ "id": id, "file": null }),
        &[Part {
            name: "f",
            path: "variables.file",
            file_name: "scan.png",
            data: &png,
        }],
    );
    let (status, _, body) = send_raw(&router, request).await;
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    let replaced = &answer["data"]["replaceDocumentFile"];
    assert_eq!(replaced["fileName"], "scan.png", "{answer}");
    assert_eq!(replaced["mimeType"], "image/png");
    assert_eq!(replaced["sha256"], sha256(&png));
    assert_eq!(
        stored(storage).await,
        [replaced["filePath"].as_str().unwrap().to_owned()]
    );
    let (status, _, body) = get(&router, &uri, Some(&app.token), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.as_ref() == png.as_slice());
    if link.starts_with('/') {
        assert_eq!(
            fetch_link(&router, &link).await.0,
            StatusCode::NOT_FOUND,
            "the old link"
        );
    }

    // Deleted: row, then file.
    let deleted = gql(
        &router,
        &app.token,
        "mutation($id: UUID!) { deleteDocument(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(deleted["data"]["deleteDocument"], json!(id), "{deleted}");
    assert_eq!(
        get(&router, &uri, Some(&app.token), &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(stored(storage).await, Vec::<String>::new());
    let notes = app.system_notes(client.id).await;
    assert!(
        notes.contains(&"Document scan.png replaced".to_owned()),
        "{notes:?}"
    );
    assert!(
        notes.contains(&"Document scan.png deleted".to_owned()),
        "{notes:?}"
    );
}

/// Fetches a `downloadUrl`: through the router when it is the server's own, else (a
/// presigned S3 URL) from the S3 server itself.
async fn fetch_link(router: &Router, link: &str) -> (StatusCode, HeaderMap, Bytes) {
    if link.starts_with('/') {
        return get(router, link, None, &[]).await;
    }
    let url = url::Url::parse(link).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let target = &link[link.find(url.path()).unwrap()..];
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
        .await
        .unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(
                header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                value.trim().parse().unwrap(),
            );
        }
    }
    let body = Bytes::copy_from_slice(&answer[split + 4..]);
    (StatusCode::from_u16(status).unwrap(), headers, body)
}

test_both! {
    async fn a_file_goes_in_comes_out_identical_and_is_gone_after_delete_on_a_directory(app) {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let storage = Storage::local(dir.path()).unwrap();
        round_trip(&app, &config, &storage).await;
    }
}

test_both! {
    async fn a_file_goes_in_comes_out_identical_and_is_gone_after_delete_on_s3(app) {
        let Some(server) = crate::storage::s3_server().await else {
            return;
        };
        crate::storage::create_bucket(&server.endpoint, "crm-files").await;
        let mut config = test_config();
        config.storage.s3_bucket = Some("crm-files".into());
        config.storage.s3_endpoint = Some(server.endpoint.clone());
        config.storage.s3_access_key_id = Some("test".into());
        config.storage.s3_secret_access_key = Some("test".into());
        let storage = config.storage.open(&config.database).unwrap();
        round_trip(&app, &config, &storage).await;
    }
}

test_both! {
    async fn uploads_are_refused_past_each_limit_and_without_the_preflight_header(app) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        config.storage.upload_max_file_bytes = 100_000;
        config.storage.upload_max_files = 2;
        config.storage.upload_max_request_bytes = Some(150_000);
        let router = app.router_with(&config);
        let storage = Storage::local(dir.path()).unwrap();
        let client = crate::helpers::fixtures::client(&app.db, "Limits", None).await;
        let variables = json!({ "input": { "clientId": client.id, "file": null } });
        let part = |name: &'static str, data: &'static [u8]| Part {
            name,
            path: "variables.input.file",
            file_name: "a.pdf",
            data,
        };
        let small: &'static [u8] = pdf(1000).leak();
        let big: &'static [u8] = pdf(120_000).leak();
        let refused = async |request: Request<Body>| {
            let (status, _, body) = send_raw(&router, request).await;
            let answer: Value = serde_json::from_slice(&body).unwrap();
            (status, answer["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned())
        };
        let token = Some(app.token.as_str());
        assert_eq!(
            refused(multipart(token, UPLOAD, variables.clone(), &[part("0", big)])).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "FILE_TOO_LARGE".to_owned())
        );
        assert_eq!(
            refused(multipart(token, UPLOAD, variables.clone(), &[part("0", small), part("1", small), part("2", small)])).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "TOO_MANY_FILES".to_owned())
        );
        let ninety: &'static [u8] = pdf(90_000).leak();
        assert_eq!(
            refused(multipart(token, UPLOAD, variables.clone(), &[part("0", ninety), part("1", ninety)])).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE".to_owned())
        );
        assert_eq!(
            refused(multipart_with(token, UPLOAD, variables.clone(), &[part("0", small)], false)).await,
            (StatusCode::BAD_REQUEST, "PREFLIGHT_REQUIRED".to_owned())
        );
        assert_eq!(
            refused(multipart(None, UPLOAD, variables.clone(), &[part("0", small)])).await,
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED".to_owned())
        );
        // A file part the map does not name.
        let mut request = multipart(token, UPLOAD, variables.clone(), &[part("0", small)]);
        let body = axum::body::to_bytes(std::mem::take(request.body_mut()), usize::MAX).await.unwrap();
        let renamed = String::from_utf8_lossy(&body).replace("name=\"0\"; filename", "name=\"x\"; filename");
        *request.body_mut() = Body::from(renamed);
        assert_eq!(refused(request).await, (StatusCode::BAD_REQUEST, "BAD_REQUEST".to_owned()));

        // Content checked, not trusted: an executable named .pdf, a PNG named .pdf.
        let elf = [b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".as_slice(), &[0u8; 2000]].concat();
        let png = [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(), &[0u8; 2000]].concat();
        for (data, reason) in [(&elf, "UNSUPPORTED_FILE_TYPE"), (&png, "FILE_TYPE_MISMATCH")] {
            let (status, answer) = upload(&router, &app.token, client.id, "invoice.pdf", data).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(crate::helpers::error_codes(&answer), ["BAD_USER_INPUT"], "{answer}");
            assert_eq!(answer["errors"][0]["extensions"]["field"], "file");
            assert_eq!(answer["errors"][0]["extensions"]["reason"], reason);
        }
        assert_eq!(stored(&storage).await, Vec::<String>::new(), "nothing refused is stored");
        let rows = <entity::documents::Entity as sea_orm::EntityTrait>::find().all(&app.db).await.unwrap();
        assert!(rows.is_empty());

        // Within every limit.
        let (status, answer) = upload(&router, &app.token, client.id, "ok.pdf", small).await;
        assert_eq!(status, StatusCode::OK);
        assert!(answer.get("errors").is_none(), "{answer}");
    }
}

test_both! {
    async fn another_portfolio_neither_uploads_nor_reads_nor_changes_a_file(app) {
        let dir = tempfile::tempdir().unwrap();
        let router = app.router_with(&config_in(dir.path()));
        let (ann, ann_token) = app.user("ann", Role::Commercial, None).await;
        let (_, ben_token) = app.user("ben", Role::Commercial, None).await;
        let (_, manager_token) = app.user("meg", Role::Manager, None).await;
        let client = crate::helpers::fixtures::client(&app.db, "Ann's", Some(ann)).await;
        let data = pdf(5000);
        let (_, answer) = upload(&router, &ann_token, client.id, "kyc.pdf", &data).await;
        let id = answer["data"]["uploadDocument"]["id"].as_str().unwrap().to_owned();
        let uri = format!("/documents/{id}/content");

        assert_eq!(get(&router, &uri, Some(&ann_token), &[]).await.0, StatusCode::OK);
        assert_eq!(get(&router, &uri, Some(&manager_token), &[]).await.0, StatusCode::OK);
        // One request id for both, so that the answers may be the same byte for byte.
        let same_id = [("x-request-id", "compare")];
        let (status, _, body) = get(&router, &uri, Some(&ben_token), &same_id).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the same answer as for no document");
        let unknown = get(&router, &format!("/documents/{}/content", uuid::Uuid::now_v7()), Some(&ben_token), &same_id).await;
        assert_eq!((unknown.0, unknown.2), (StatusCode::NOT_FOUND, body));
        assert_eq!(get(&router, "/documents/not-an-id/content", Some(&ann_token), &[]).await.0, StatusCode::NOT_FOUND);

        let (_, answer) = upload(&router, &ben_token, client.id, "mine.pdf", &data).await;
        assert_eq!(crate::helpers::error_codes(&answer), ["NOT_FOUND"], "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["field"], "clientId");
        for mutation in [
            "mutation($id: UUID!) { deleteDocument(id: $id) }",
            "mutation($id: UUID!) { updateDocument(id: $id, input: { documentType: \"x\" }) { id } }",
        ] {
            let answer = gql(&router, &ben_token, mutation, json!({ "id": id })).await;
            assert_eq!(crate::helpers::error_codes(&answer), ["NOT_FOUND"], "{answer}");
        }
        let answer = app
            .gql_as(Some(&ben_token), "query($id: UUID!) { document(id: $id) { downloadUrl } }", json!({ "id": id }))
            .await;
        assert_eq!(answer["data"]["document"], Value::Null, "{answer}");
        assert_eq!(get(&router, &uri, Some(&ann_token), &[]).await.0, StatusCode::OK, "still there");
    }
}

test_both! {
    async fn concurrent_uploads_all_land_whole(app) {
        let dir = tempfile::tempdir().unwrap();
        let router = app.router_with(&config_in(dir.path()));
        let storage = Storage::local(dir.path()).unwrap();
        let client = crate::helpers::fixtures::client(&app.db, "Busy", None).await;
        let files: Vec<Vec<u8>> = (0..8).map(|i| pdf(200_000 + i * 1000)).collect();
        let answers = futures_util::future::join_all(files.iter().enumerate().map(|(i, data)| {
            let router = router.clone();
            let token = app.token.clone();
            async move { upload(&router, &token, client.id, &format!("file-{i}.pdf"), data).await }
        }))
        .await;
        for ((status, answer), data) in answers.iter().zip(&files) {
            assert_eq!(*status, StatusCode::OK);
            let document = &answer["data"]["uploadDocument"];
            assert_eq!(document["sha256"], sha256(data), "{answer}");
            let uri = format!("/documents/{}/content", document["id"].as_str().unwrap());
            let (_, _, body) = get(&router, &uri, Some(&app.token), &[]).await;
            assert!(body.as_ref() == data.as_slice());
        }
        assert_eq!(stored(&storage).await.len(), 8);
    }
}

/// A running ClamAV daemon with one signature of its own (no virus database to download):
/// a file containing [`TEST_SIGNATURE`] is infected.
struct Clamd {
    service: crate::helpers::services::Service,
    _dir: tempfile::TempDir,
}

const TEST_SIGNATURE: &[u8] = b"CRM-TEST-VIRUS-SIGNATURE";

/// Starts `clamd` (or `CRM_TEST_CLAMD`) on a free port.
async fn clamd() -> Option<Clamd> {
    let dir = tempfile::tempdir().unwrap();
    let hex: String = TEST_SIGNATURE.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir(dir.path().join("db")).unwrap();
    std::fs::write(
        dir.path().join("db/crm-test.ndb"),
        format!("CRM.Test.Signature:0:*:{hex}\n"),
    )
    .unwrap();
    let program = std::env::var("CRM_TEST_CLAMD").unwrap_or_else(|_| "/usr/sbin/clamd".into());
    let root = dir.path().to_owned();
    let service = crate::helpers::services::start(
        &program,
        |port| {
            let config = root.join("clamd.conf");
            std::fs::write(
                &config,
                format!(
                    "Foreground yes\nDatabaseDirectory {db}\nTCPSocket {port}\n\
                     TCPAddr 127.0.0.1\nStreamMaxLength 30M\nLogFile {log}\n",
                    db = root.join("db").display(),
                    log = root.join("clamd.log").display(),
                ),
            )
            .unwrap();
            vec!["-c".into(), config.display().to_string()]
        },
        "CRM_TEST_REQUIRE_CLAMD",
        "apt-get install clamav-daemon",
    )
    .await?;
    Some(Clamd { service, _dir: dir })
}

test_both! {
    async fn a_file_the_virus_scanner_rejects_is_refused_and_not_kept(app) {
        let Some(clamd) = clamd().await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        config.storage.clamd_address = Some(format!("127.0.0.1:{}", clamd.service.port));
        let router = app.router_with(&config);
        let storage = Storage::local(dir.path()).unwrap();
        let client = crate::helpers::fixtures::client(&app.db, "Scanned", None).await;

        let mut infected = pdf(100_000);
        infected.splice(50_000..50_000, TEST_SIGNATURE.iter().copied());
        let (status, answer) = upload(&router, &app.token, client.id, "infected.pdf", &infected).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(crate::helpers::error_codes(&answer), ["BAD_USER_INPUT"], "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["reason"], "FILE_REJECTED");
        assert!(answer["errors"][0]["message"].as_str().unwrap().contains("CRM.Test.Signature"), "{answer}");
        assert_eq!(stored(&storage).await, Vec::<String>::new());

        let (_, answer) = upload(&router, &app.token, client.id, "clean.pdf", &pdf(100_000)).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(stored(&storage).await.len(), 1);

        // A scanner that cannot be reached refuses uploads rather than let them through.
        drop(clamd);
        let (_, answer) = upload(&router, &app.token, client.id, "unscanned.pdf", &pdf(1000)).await;
        assert_eq!(crate::helpers::error_codes(&answer), ["INTERNAL_SERVER_ERROR"], "{answer}");
        assert_eq!(stored(&storage).await.len(), 1);
    }
}

test_both! {
    async fn deleting_a_client_removes_its_documents_files(app) {
        let dir = tempfile::tempdir().unwrap();
        let router = app.router_with(&config_in(dir.path()));
        let storage = Storage::local(dir.path()).unwrap();
        let client = crate::helpers::fixtures::client(&app.db, "Leaving", None).await;
        let kept = crate::helpers::fixtures::client(&app.db, "Staying", None).await;
        for (owner, name) in [(client.id, "a.pdf"), (client.id, "b.pdf"), (kept.id, "c.pdf")] {
            let (_, answer) = upload(&router, &app.token, owner, name, &pdf(2000)).await;
            assert!(answer.get("errors").is_none(), "{answer}");
        }
        assert_eq!(stored(&storage).await.len(), 3);
        let answer = gql(&router, &app.token, "mutation($id: UUID!) { deleteClient(id: $id) }", json!({ "id": client.id })).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let left = stored(&storage).await;
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].starts_with(&format!("documents/{}/", kept.id)));
    }
}

test_both! {
    async fn serve_removes_abandoned_uploads_periodically(app) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        config.storage.documents_sweep_secs = 1;
        config.storage.documents_grace_secs = 0;
        let state = crm_server::app::state(app.db.clone(), &config).unwrap();
        let router = crm_server::app::router(state.clone(), &config);
        let client = crate::helpers::fixtures::client(&app.db, "Swept", None).await;
        let (_, answer) = upload(&router, &app.token, client.id, "kept.pdf", &pdf(1000)).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let storage = Storage::local(dir.path()).unwrap();
        let orphan = Storage::key(client.id, uuid::Uuid::now_v7());
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(pdf(1000)))]);
        storage.put_stream(&orphan, body, 1 << 20, "application/pdf").await.unwrap();
        assert_eq!(stored(&storage).await.len(), 2);

        let sweeper = crm_server::app::periodic_sweep(&state, &config).unwrap();
        let mut left = stored(&storage).await;
        for _ in 0..100 {
            if left.len() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            left = stored(&storage).await;
        }
        sweeper.abort();
        assert_eq!(left.len(), 1, "the orphan is swept, the document's file stays: {left:?}");
        assert_ne!(left[0], orphan.to_string());
    }
}

test_both! {
    async fn a_slow_upload_has_its_own_time_limit(app) {
        let dir = tempfile::tempdir().unwrap();
        let client = crate::helpers::fixtures::client(&app.db, "Slow", None).await;
        // The same upload, its body arriving over about 1.5 s.
        let slow_request = async || {
            let request = multipart(
                Some(&app.token),
                UPLOAD,
                json!({ "input": { "clientId": client.id, "file": null } }),
                &[Part { name: "0", path: "variables.input.file", file_name: "slow.pdf", data: &pdf(30_000) }],
            );
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let pieces: Vec<Bytes> = body.chunks(body.len() / 3 + 1).map(Bytes::copy_from_slice).collect();
            let stream = futures_util::stream::iter(pieces).then(|piece| async move {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                Ok::<_, std::io::Error>(piece)
            });
            Request::from_parts(parts, Body::from_stream(stream))
        };
        let mut config = config_in(dir.path());
        config.server.request_timeout_secs = 1;
        config.storage.upload_timeout_secs = 10;
        let (status, _, body) = send_raw(&app.router_with(&config), slow_request().await).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        config.storage.upload_timeout_secs = 1;
        let (status, _, _) = send_raw(&app.router_with(&config), slow_request().await).await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    }
}

test_both! {
    async fn a_file_named_but_not_sent_is_refused_and_the_server_keeps_answering(app) {
        let dir = tempfile::tempdir().unwrap();
        let router = app.router_with(&config_in(dir.path()));
        let client = crate::helpers::fixtures::client(&app.db, "Forged", None).await;
        let answer_of = async |request: Request<Body>| {
            let (status, _, body) = send_raw(&router, request).await;
            (status, serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null))
        };
        let post = |body: Value| {
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        // async-graphql's `Upload` panics on these; they never reach it.
        for mark in ["#__graphql_file__:x", "#__graphql_file__:7", "#__graphql_file__:0"] {
            let variables = json!({ "input": { "clientId": client.id, "file": mark } });
            let (status, answer) = answer_of(post(json!({ "query": UPLOAD, "variables": variables }))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{mark}: {answer}");
            assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST");
            let literal = format!(
                "mutation {{ uploadDocument(input: {{ clientId: \"{}\", file: \"{mark}\" }}) {{ id }} }}",
                client.id
            );
            let (status, _) = answer_of(post(json!({ "query": literal }))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{mark} as a literal");
        }
        // A multipart request whose second variable names a file it does not carry.
        let request = multipart(
            Some(&app.token),
            "mutation($a: UploadDocumentInput!, $b: UploadDocumentInput!) { \
               a: uploadDocument(input: $a) { id } b: uploadDocument(input: $b) { id } }",
            json!({ "a": { "clientId": client.id, "file": null },
                    "b": { "clientId": client.id, "file": "#__graphql_file__:1" } }),
            &[Part { name: "0", path: "variables.a.file", file_name: "a.pdf", data: &pdf(1000) }],
        );
        assert_eq!(answer_of(request).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(app.get("/health").await.0, StatusCode::OK);
    }
}

test_both! {
    async fn one_file_used_twice_is_read_whole_twice(app) {
        let dir = tempfile::tempdir().unwrap();
        let router = app.router_with(&config_in(dir.path()));
        let client = crate::helpers::fixtures::client(&app.db, "Twice", None).await;
        let data = pdf(50_000);
        let mut request = multipart(
            Some(&app.token),
            "mutation($a: UploadDocumentInput!, $b: UploadDocumentInput!) { \
               a: uploadDocument(input: $a) { sha256 } b: uploadDocument(input: $b) { sha256 } }",
            json!({ "a": { "clientId": client.id, "file": null }, "b": { "clientId": client.id, "file": null } }),
            &[Part { name: "0", path: "variables.a.file", file_name: "same.pdf", data: &data }],
        );
        // The map sends the one file to both variables.
        let body = axum::body::to_bytes(std::mem::take(request.body_mut()), usize::MAX).await.unwrap();
        let needle: &[u8] = br#"{"0":["variables.a.file"]}"#;
        let at = body.windows(needle.len()).position(|w| w == needle).unwrap();
        let mut edited = body[..at].to_vec();
        edited.extend_from_slice(br#"{"0":["variables.a.file","variables.b.file"]}"#);
        edited.extend_from_slice(&body[at + needle.len()..]);
        *request.body_mut() = Body::from(edited);
        let (status, _, body) = send_raw(&router, request).await;
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["data"]["a"]["sha256"], sha256(&data), "{answer}");
        assert_eq!(answer["data"]["b"]["sha256"], sha256(&data), "{answer}");
    }
}

test_both! {
    async fn downloads_and_uploads_at_once_are_bounded(app) {
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        config.storage.max_downloads = 1;
        let router = app.router_with(&config);
        let client = crate::helpers::fixtures::client(&app.db, "Bounded", None).await;
        let (_, answer) = upload(&router, &app.token, client.id, "big.pdf", &pdf(2_000_000)).await;
        let uri = format!("/documents/{}/content", answer["data"]["uploadDocument"]["id"].as_str().unwrap());
        let download = || Request::get(&uri).header(header::AUTHORIZATION, format!("Bearer {}", app.token)).body(Body::empty()).unwrap();
        // One download being read holds the only turn.
        let reading = router.clone().oneshot(download()).await.unwrap();
        assert_eq!(reading.status(), StatusCode::OK);
        let (status, headers, _) = send_raw(&router, download()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "1");
        drop(reading);
        assert_eq!(send_raw(&router, download()).await.0, StatusCode::OK);

        // Uploads take their size of the spool's room: past it, 503 at once.
        config.storage.upload_max_request_bytes = Some(3 << 20);
        config.storage.upload_max_file_bytes = 3 << 20;
        config.storage.upload_spool_bytes = 1 << 20;
        let router = app.router_with(&config);
        // (Browsers and curl send the length; without it an upload takes the largest size.)
        let sized = async |size: usize| {
            let mut request = multipart(
                Some(&app.token),
                UPLOAD,
                json!({ "input": { "clientId": client.id, "file": null } }),
                &[Part { name: "0", path: "variables.input.file", file_name: "a.pdf", data: &pdf(size) }],
            );
            let body = axum::body::to_bytes(std::mem::take(request.body_mut()), usize::MAX).await.unwrap();
            request.headers_mut().insert(header::CONTENT_LENGTH, body.len().into());
            *request.body_mut() = Body::from(body);
            request
        };
        let (status, _, body) = send_raw(&router, sized(2_000_000).await).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{}", String::from_utf8_lossy(&body));
        let (status, _, body) = send_raw(&router, sized(100_000).await).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }
}
