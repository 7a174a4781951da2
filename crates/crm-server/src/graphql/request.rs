//! Reading a GraphQL request from an HTTP body (`Content-Type` required: anything but
//! `application/json` and `multipart/form-data` is `415`), with limits: a JSON body, or a multipart
//! request carrying files ([GraphQL multipart request
//! spec](https://github.com/jaydenseric/graphql-multipart-request-spec): an `operations`
//! part, a `map` part, then the files).
//!
//! Files are spooled to unnamed temporary files (`TMPDIR`; gone when closed) as they arrive, so
//! memory holds one chunk at a time whatever their size; each is refused past its limit, as is
//! a request with more files than allowed, a file the map does not name, or a body past the
//! total. A multipart request is a "simple" request a plain cross-site form could send, so it
//! must carry a header that only a script can set, which makes the browser ask first (CORS
//! preflight): `Apollo-Require-Preflight` (any value) or `X-Apollo-Operation-Name`.

use async_graphql::UploadValue;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;

/// What a request body may be.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// A JSON body, or a multipart request's `operations` part, in bytes.
    pub json_bytes: usize,
    /// One file, in bytes.
    pub file_bytes: u64,
    /// Files in one request.
    pub files: usize,
    /// A whole multipart body, in bytes.
    pub multipart_bytes: u64,
    /// Whether files are accepted at all (not from anonymous requests).
    pub files_allowed: bool,
}

/// A body that is not an acceptable GraphQL request: its status, stable code and message.
#[derive(Debug)]
pub struct Rejection {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Rejection {
        Rejection {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Rejection {
        Rejection::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    fn too_large(limit: u64) -> Rejection {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is larger than {limit} bytes"),
        )
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        crate::error::http_error(self.status, self.code, &self.message)
    }
}

/// The headers that mark a request as sent by a script (see the module's documentation).
const PREFLIGHT_HEADERS: [&str; 2] = ["apollo-require-preflight", "x-apollo-operation-name"];

/// Whether the request's body is a multipart request (files).
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Reads the GraphQL request in `body`.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limits: BodyLimits,
) -> Result<async_graphql::Request, Rejection> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let essence = content_type.map(|value| {
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let multipart = match essence.as_deref() {
        Some("application/json") => false,
        Some("multipart/form-data") => true,
        other => {
            return Err(Rejection::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                format!(
                    "{}: a GraphQL request is sent as `application/json` (or \
                     `multipart/form-data` with files)",
                    match other {
                        Some(other) => format!("`Content-Type: {other}` is not accepted"),
                        None => "the request has no `Content-Type`".to_owned(),
                    }
                ),
            ));
        }
    };
    let limit = if multipart {
        limits.multipart_bytes
    } else {
        limits.json_bytes as u64
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(multipart, limits));
    }
    if !multipart {
        let bytes = axum::body::to_bytes(body, limits.json_bytes)
            .await
            .map_err(|err| {
                if is_length_limit(&err) {
                    too_large(false, limits)
                } else {
                    Rejection::bad(format!("the body could not be read: {err}"))
                }
            })?;
        return json_request(&bytes);
    }
    if !limits.files_allowed {
        return Err(Rejection::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "sign in to upload files",
        ));
    }
    let preflighted = PREFLIGHT_HEADERS.iter().any(|name| {
        headers
            .get(*name)
            .is_some_and(|value| !value.as_bytes().is_empty())
    });
    if !preflighted {
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            "PREFLIGHT_REQUIRED",
            "a multipart request must carry the `Apollo-Require-Preflight` header (any value), \
             so that a cross-site form cannot send it",
        ));
    }
    let boundary = content_type
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or_else(|| Rejection::bad("the multipart request has no boundary"))?;
    read_multipart(body, boundary, limits).await
}

fn too_large(multipart: bool, limits: BodyLimits) -> Rejection {
    if multipart {
        Rejection::too_large(limits.multipart_bytes)
    } else {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "the request body is larger than {} bytes (requests without credentials may \
                 send less: sign in first)",
                limits.json_bytes
            ),
        )
    }
}

fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// A GraphQL request's JSON body (the GraphQL-over-HTTP specification's fields, and
/// `documentId` for a trusted document).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonBody {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<async_graphql::Variables>,
    #[serde(default)]
    extensions: Option<std::collections::HashMap<String, async_graphql::Value>>,
    #[serde(default)]
    document_id: Option<String>,
}

/// The request in a JSON body: a document's text (`query`) or id (`documentId`,
/// `extensions.persistedQuery`), one operation per request.
fn json_request(bytes: &[u8]) -> Result<async_graphql::Request, Rejection> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Rejection::bad(
            "batched operations are not accepted: send one operation per request",
        ));
    }
    let body: JsonBody = serde_json::from_slice(bytes)
        .map_err(|err| Rejection::bad(format!("the body is not a valid GraphQL request: {err}")))?;
    let mut request = async_graphql::Request::new(body.query.unwrap_or_default());
    if let Some(name) = body.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = body.variables {
        request = request.variables(variables);
    }
    for (key, value) in body.extensions.unwrap_or_default() {
        request.extensions.insert(key, value);
    }
    if let Some(id) = body.document_id {
        request.extensions.insert(
            crate::graphql::trusted::DOCUMENT_ID.to_owned(),
            async_graphql::Value::String(id),
        );
    }
    if request.query.is_empty()
        && !request.extensions.contains_key("persistedQuery")
        && !request
            .extensions
            .contains_key(crate::graphql::trusted::DOCUMENT_ID)
    {
        return Err(Rejection::bad(
            "the body is not a valid GraphQL request: it has no `query` (nor `documentId`)",
        ));
    }
    Ok(request)
}

/// The `map` part: at most this many bytes.
const MAP_BYTES: u64 = 64 * 1024;

/// Reads a multipart request: `operations`, then `map`, then the files the map names.
async fn read_multipart(
    body: Body,
    boundary: String,
    limits: BodyLimits,
) -> Result<async_graphql::Request, Rejection> {
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.multipart_bytes)
            .per_field(limits.file_bytes)
            .for_field("operations", limits.json_bytes as u64)
            .for_field("map", MAP_BYTES),
    );
    let mut parts =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut request: Option<async_graphql::Request> = None;
    let mut map: Option<std::collections::HashMap<String, Vec<String>>> = None;
    let mut files = 0usize;
    while let Some(field) = parts
        .next_field()
        .await
        .map_err(|err| multipart_error(err, limits))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match (name.as_str(), request.is_some(), map.is_some()) {
            ("operations", false, _) => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|err| multipart_error(err, limits))?;
                request = Some(json_request(&bytes)?);
            }
            ("map", true, false) => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|err| multipart_error(err, limits))?;
                let parsed: std::collections::HashMap<String, Vec<String>> =
                    serde_json::from_slice(&bytes).map_err(|err| {
                        Rejection::bad(format!("the `map` part is not a map of paths: {err}"))
                    })?;
                // Each path is a handle on a file: as many as files are allowed.
                if parsed.values().map(Vec::len).sum::<usize>() > limits.files {
                    return Err(too_many_files(limits));
                }
                map = Some(parsed);
            }
            (_, true, true) => {
                let Some(paths) = map.as_mut().and_then(|names| names.remove(&name)) else {
                    return Err(Rejection::bad(format!(
                        "the multipart part `{name}` is not named in `map`"
                    )));
                };
                files += 1;
                if files > limits.files {
                    return Err(too_many_files(limits));
                }
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().map(ToString::to_string);
                let content = spool(field, limits).await?;
                let upload = UploadValue {
                    filename: file_name,
                    content_type,
                    content,
                };
                for path in paths {
                    let copy = upload
                        .try_clone()
                        .map_err(|err| Rejection::bad(format!("file `{name}`: {err}")))?;
                    if let Some(request) = request.as_mut() {
                        request.set_upload(&path, copy);
                    }
                }
            }
            _ => {
                return Err(Rejection::bad(
                    "a multipart request has an `operations` part, then a `map` part, then \
                     the files",
                ));
            }
        }
    }
    let request = request.ok_or_else(|| Rejection::bad("the `operations` part is missing"))?;
    match map {
        None => Err(Rejection::bad("the `map` part is missing")),
        Some(names) if !names.is_empty() => {
            let mut missing: Vec<&String> = names.keys().collect();
            missing.sort();
            Err(Rejection::bad(format!(
                "files named in `map` are missing: {}",
                missing
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        Some(_) => Ok(request),
    }
}

fn too_many_files(limits: BodyLimits) -> Rejection {
    Rejection::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "TOO_MANY_FILES",
        format!("a request may carry at most {} files", limits.files),
    )
}

/// Writes a file part to an unnamed temporary file, rewound for reading.
async fn spool(
    mut field: multer::Field<'static>,
    limits: BodyLimits,
) -> Result<std::fs::File, Rejection> {
    let failed = |err: std::io::Error| {
        tracing::error!(error = %err, "cannot spool an uploaded file");
        Rejection::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "the file could not be received",
        )
    };
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|err| failed(std::io::Error::other(err)))?
        .map_err(failed)?;
    let mut file = tokio::fs::File::from_std(file);
    // What a write holds before it reaches the file.
    file.set_max_buf_size(256 * 1024);
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|err| multipart_error(err, limits))?
    {
        file.write_all(&chunk).await.map_err(failed)?;
    }
    file.flush().await.map_err(failed)?;
    let mut file = file.into_std().await;
    std::io::Seek::rewind(&mut file).map_err(failed)?;
    Ok(file)
}

/// The answer to a malformed or oversized multipart body.
fn multipart_error(err: multer::Error, limits: BodyLimits) -> Rejection {
    match err {
        multer::Error::StreamSizeExceeded { .. } => Rejection::too_large(limits.multipart_bytes),
        multer::Error::FieldSizeExceeded { field_name, .. } => {
            let name = field_name.unwrap_or_default();
            match name.as_str() {
                "operations" => too_large(false, limits),
                "map" => Rejection::bad(format!("the `map` part is larger than {MAP_BYTES} bytes")),
                _ => Rejection::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "FILE_TOO_LARGE",
                    format!("file `{name}` is larger than {} bytes", limits.file_bytes),
                ),
            }
        }
        multer::Error::StreamReadFailed(err) if is_length_limit(err.as_ref()) => {
            Rejection::too_large(limits.multipart_bytes)
        }
        other => Rejection::bad(format!("the multipart body is malformed: {other}")),
    }
}

/// How async-graphql marks a variable filled by a file part (`#__graphql_file__:<index>`).
const FILE_MARK: &str = "#__graphql_file__:";

/// Refuses a request that names a file it did not send: async-graphql's `Upload` takes any
/// string of its form and panics on one that is not the index of a received file (in a
/// variable, or written in the document).
pub fn check_file_marks(request: &async_graphql::Request) -> Result<(), Rejection> {
    fn forged(value: &async_graphql::Value, files: usize) -> bool {
        match value {
            async_graphql::Value::String(text) => text
                .strip_prefix(FILE_MARK)
                .is_some_and(|index| index.parse::<usize>().map_or(true, |index| index >= files)),
            async_graphql::Value::List(items) => items.iter().any(|item| forged(item, files)),
            async_graphql::Value::Object(fields) => fields.values().any(|item| forged(item, files)),
            _ => false,
        }
    }
    let files = request.uploads.len();
    if request.query.contains(FILE_MARK)
        || request.variables.values().any(|value| forged(value, files))
    {
        return Err(Rejection::bad(
            "a file is sent as a part of a multipart request, not written as a value",
        ));
    }
    Ok(())
}
