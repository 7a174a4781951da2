//! `GET /documents/{id}/content`: a document's file, streamed, to whoever may read the
//! document's row (the same access rules: a commercial gets `404` for another portfolio's
//! file) or holds a valid signed link (`Document.downloadUrl`).
//!
//! Answers with the file's type and length, `Content-Disposition` (`attachment`, or `inline`
//! for images and PDF with `?inline=1`), an `ETag` from the content's SHA-256 (`If-None-Match`
//! answers `304`), and one byte range on request (`Range`, `If-Range`; `206`, or `416` when
//! it lies outside the file).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity::documents;
use futures_util::StreamExt;
use sea_orm::{DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::links::LinkQuery;
use super::service::Files;
use super::storage::StorageError;
use crate::auth::AuthService;
use crate::engine::access::visible_in;
use crate::error::http_error;

/// What the download route needs.
#[derive(Clone)]
pub struct DownloadState {
    pub db: DatabaseConnection,
    pub files: Arc<Files>,
    pub auth: Arc<AuthService>,
    /// Downloads streaming at once (`CRM_MAX_DOWNLOADS`).
    pub downloads: Arc<tokio::sync::Semaphore>,
}

/// Whether browsers may show this type of file in the page (images and PDF).
pub fn shows_inline(mime: &str) -> bool {
    mime.starts_with("image/") || mime == "application/pdf"
}

/// A `Content-Disposition` value for `file_name`: a plain ASCII `filename` for old clients and
/// the exact name, percent-encoded, in `filename*`.
pub fn disposition(file_name: &str, inline: bool) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn not_found() -> Response {
    http_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such document")
}

/// The handler.
pub async fn content(
    State(state): State<DownloadState>,
    Path(id): Path<String>,
    Query(link): Query<LinkQuery>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found();
    };
    let document = match find(&state, id, &link, &headers).await {
        Ok(Some(document)) => document,
        Ok(None) => return not_found(),
        Err(response) => return response,
    };
    let (Some(sha256), Ok(key)) = (
        document.sha256.as_deref(),
        object_store::path::Path::parse(&document.file_path),
    ) else {
        return http_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "the document has no file",
        );
    };
    let size = u64::try_from(document.file_size.unwrap_or_default()).unwrap_or_default();
    let etag = format!("\"{sha256}\"");
    let mime = document
        .mime_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let mut common = HeaderMap::new();
    set(&mut common, header::ETAG, &etag);
    set(&mut common, header::ACCEPT_RANGES, "bytes");
    // The answer depends on the credentials: no shared cache keeps it, the browser asks again
    // (and gets `304` while the file is the same).
    set(&mut common, header::CACHE_CONTROL, "private, no-cache");
    // A link inside a PDF does not carry this page's address (a signed link) elsewhere.
    set(&mut common, header::REFERRER_POLICY, "no-referrer");

    // `If-None-Match` compares weakly (RFC 9110): `W/"…"` matches too.
    if let Some(tags) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && tags.split(',').any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag
        })
    {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }

    let range = match requested_range(&headers, &etag, size) {
        Ok(range) => range,
        Err(()) => {
            common.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            return (StatusCode::RANGE_NOT_SATISFIABLE, common).into_response();
        }
    };
    let file = match state
        .files
        .storage
        .read(&key, range.clone().map(|r| *r.start()..*r.end() + 1))
        .await
    {
        Ok(file) => file,
        Err(StorageError::Store(object_store::Error::NotFound { .. })) => {
            tracing::error!(document = %id, key = %key, "a document's file is missing");
            return http_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "the document's file is missing",
            );
        }
        Err(err) => {
            tracing::error!(document = %id, error = %err, "reading a document's file failed");
            return http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "internal server error",
            );
        }
    };
    let inline = link.wants_inline() && shows_inline(mime);
    // Each download holds an open file while the client reads: a bounded number at once.
    let Ok(turn) = state.downloads.clone().try_acquire_owned() else {
        let mut busy = http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "too many downloads at once: try again in a moment",
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return busy;
    };
    let file = file.map(move |chunk| {
        let _turn = &turn;
        chunk
    });
    let mut response = Response::new(Body::from_stream(file));
    let headers = response.headers_mut();
    headers.extend(common);
    set(headers, header::CONTENT_TYPE, mime);
    let disposition = disposition(&document.file_name, inline);
    set(headers, header::CONTENT_DISPOSITION, &disposition);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    match range {
        Some(range) => {
            let length = range.end() - range.start() + 1;
            set(headers, header::CONTENT_LENGTH, &length.to_string());
            let content_range = format!("bytes {}-{}/{size}", range.start(), range.end());
            set(headers, header::CONTENT_RANGE, &content_range);
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
        None => set(headers, header::CONTENT_LENGTH, &size.to_string()),
    }
    response
}

/// Sets a header whose value is known to be valid (skipped otherwise).
fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The document, when the request may read it: through a valid link, or credentials whose
/// viewer sees the row. `Err`: an answer already (no credentials at all).
async fn find(
    state: &DownloadState,
    id: Uuid,
    link: &LinkQuery,
    headers: &HeaderMap,
) -> Result<Option<documents::Model>, Response> {
    let failed = |err: sea_orm::DbErr| {
        tracing::error!(error = %err, "reading a document failed");
        http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "internal server error",
        )
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if link.signature.is_some() {
        let document = documents::Entity::find_by_id(id)
            .one(&state.db)
            .await
            .map_err(failed)?;
        let now = chrono::Utc::now();
        let valid = document.filter(|document| {
            document
                .sha256
                .as_deref()
                .is_some_and(|sha256| state.files.links.verify(id, sha256, link, now))
        });
        // An expired link with credentials: the credentials decide.
        if valid.is_some() || authorization.is_none() {
            return Ok(valid);
        }
    }
    let viewer = match state.auth.authenticate(authorization).await.viewer() {
        Ok(viewer) => viewer,
        Err(err) => {
            let status = if err.code() == crate::error::codes::UNAUTHENTICATED {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            return Err(http_error(status, err.code(), &err.public_message()));
        }
    };
    let mut select = documents::Entity::find_by_id(id);
    if let Some(visible) = visible_in::<documents::Entity>(state.db.get_database_backend(), viewer)
    {
        select = select.filter(visible);
    }
    select.one(&state.db).await.map_err(failed)
}

/// The one range asked for, `None` for the whole file (no `Range`, an `If-Range` for another
/// version, several ranges, or a header that does not parse, which RFC 9110 says to ignore),
/// `Err` when it lies outside the file.
fn requested_range(
    headers: &HeaderMap,
    etag: &str,
    size: u64,
) -> Result<Option<std::ops::RangeInclusive<u64>>, ()> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if let Some(condition) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok())
        && condition.trim() != etag
    {
        return Ok(None);
    }
    let Ok(parsed) = http_range_header::parse_range_header(value) else {
        return Ok(None);
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => Ok(ranges.into_iter().next()),
        Ok(_) => Ok(None),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_keep_the_name_exact_and_safe() {
        assert_eq!(
            disposition("contrat signé \"final\".pdf", false),
            "attachment; filename=\"contrat sign_ _final_.pdf\"; \
             filename*=UTF-8''contrat%20sign%C3%A9%20%22final%22%2Epdf"
        );
        assert!(disposition("scan.png", true).starts_with("inline; "));
        assert!(shows_inline("image/png") && shows_inline("application/pdf"));
        assert!(!shows_inline("application/msword"));
    }
}
