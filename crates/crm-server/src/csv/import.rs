//! `POST /import/{clients|contracts|payments}`: a CSV file of rows, each written by the same
//! domain function as the matching mutation (`createClient`/`updateClient`,
//! `createContract`/`updateContract`, `recordPayment`), with the caller's role and portfolio.
//!
//! - The file: UTF-8 with or without a byte order mark, `,` or `;` between cells (read from the
//!   header line), headers matched without regard to case, `_`, `-` or spaces (`company_name`,
//!   `Company Name`, `companyName`). Unknown or missing columns refuse the file before any row.
//! - Rows are upserts on a declared key: a client's `id`, else its `email` (when one visible
//!   client has it); a contract's `contract_number`; a payment's `idempotency_key` (a payment
//!   already recorded under it is left as it is). References by e-mail, contract number or id.
//! - `mode=atomic` (default): one transaction; any bad row and nothing is written. `mode=rows`:
//!   each row is written or refused alone (a savepoint each). `dryRun=true`: every row checked
//!   and written inside the transaction, which is then rolled back: the report is the one the
//!   real import would give.
//! - Streamed: the body is parsed as it arrives on a blocking thread and handed over a bounded
//!   channel; the report keeps at most [`MAX_REPORTED`] errors (and counts the rest).

use std::collections::HashMap;

use async_graphql::{InputType, Value};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::engine::access::visible_in;
use crate::error::{AppError, codes, http_error, http_error_for};

/// The place of an exported column an import does not read.
const IGNORED: &str = "";

/// Errors listed in a report; past them only counted.
pub const MAX_REPORTED: usize = 1000;
/// Rows parsed ahead of the writes.
const AHEAD: usize = 256;

/// `POST /import/{name}`.
pub async fn import(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(kind) = Kind::named(&name) else {
        return http_error(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "no such import: clients, contracts or payments",
        );
    };
    let options = match Options::from_query(query.as_deref().unwrap_or_default()) {
        Ok(options) => options,
        Err((field, message)) => {
            return http_error_for(
                StatusCode::BAD_REQUEST,
                codes::BAD_USER_INPUT,
                field,
                &message,
            );
        }
    };
    let viewer = match crate::app::signed_in(&state, &headers).await {
        Ok((_, viewer)) => viewer,
        Err(refused) => return refused,
    };
    let bytes = body.into_data_stream().map_err(std::io::Error::other);
    let rows = read_rows(
        tokio_util::io::StreamReader::new(bytes),
        state.import_max_bytes,
    );
    if wants_progress(&headers) {
        return progress_response(state, kind, viewer, options, rows);
    }
    let result = run(&state.db, kind, viewer, options, rows, |_| {}).await;
    finished(&state, &result);
    match result {
        Ok(report) => {
            let status = if report.committed || report.dry_run || report.failed == 0 {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, axum::Json(report)).into_response()
        }
        Err(refusal) => {
            let (status, body) = refusal.answer();
            (status, axum::Json(body)).into_response()
        }
    }
}

/// After an import that wrote (or may have written): readers and subscribers see it now.
fn finished(state: &AppState, result: &Result<Report, Refusal>) {
    if !matches!(result, Err(Refusal::File { .. })) {
        state.reader.counts().clear();
        state.live.feed.wake();
    }
}

/// Whether the client asked for progress lines (`Accept: application/x-ndjson`).
fn wants_progress(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("application/x-ndjson"))
}

/// Rows between two progress lines.
const PROGRESS_EVERY: u64 = 1000;

/// The import answered as lines of JSON as it runs: `{"progress": {rows, created, updated,
/// unchanged, failed}}` every [`PROGRESS_EVERY`] rows, then `{"report": …}` (or `{"errors":
/// …}` for a refused file). The import runs as the body is sent: a client that goes away
/// stops it, and nothing of an unfinished import is committed.
fn progress_response(
    state: AppState,
    kind: Kind,
    viewer: Viewer,
    options: Options,
    rows: tokio::sync::mpsc::Receiver<Parsed>,
) -> Response {
    let (lines, receiver) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
    let line = |value: serde_json::Value| {
        let mut text = value.to_string();
        text.push('\n');
        bytes::Bytes::from(text)
    };
    let work = async move {
        let progress = lines.clone();
        let result = run(&state.db, kind, viewer, options, rows, |report| {
            if report.rows % PROGRESS_EVERY == 0 {
                // A slow reader misses progress lines, never the report.
                let _ = progress.try_send(line(serde_json::json!({ "progress": {
                    "rows": report.rows, "created": report.created, "updated": report.updated,
                    "unchanged": report.unchanged, "failed": report.failed } })));
            }
        })
        .await;
        finished(&state, &result);
        let last = match result {
            Ok(report) => serde_json::json!({ "report": report }),
            Err(refusal) => refusal.answer().1,
        };
        let _ = lines.send(line(last)).await;
    };
    let body = futures_util::stream::select(
        tokio_stream_of(receiver).map(Ok::<_, std::io::Error>),
        futures_util::stream::once(work).filter_map(|()| async { None }),
    );
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

/// The lines a channel receives, as a stream.
fn tokio_stream_of(
    mut receiver: tokio::sync::mpsc::Receiver<bytes::Bytes>,
) -> impl futures_util::Stream<Item = bytes::Bytes> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// What the URL asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub dry_run: bool,
    /// Each row alone (`mode=rows`) rather than all or nothing.
    pub per_row: bool,
}

impl Options {
    fn from_query(query: &str) -> Result<Options, (&'static str, String)> {
        let mut options = Options::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match (name.as_ref(), value.as_ref()) {
                ("dryRun", "true" | "1") => options.dry_run = true,
                ("dryRun", "false" | "0") => options.dry_run = false,
                ("dryRun", _) => return Err(("dryRun", "`dryRun` is `true` or `false`".into())),
                ("mode", "atomic") => options.per_row = false,
                ("mode", "rows") => options.per_row = true,
                ("mode", _) => return Err(("mode", "`mode` is `atomic` or `rows`".into())),
                (other, _) => {
                    return Err((
                        "query",
                        format!(
                            "unknown parameter `{}`: dryRun, mode",
                            other.chars().take(40).collect::<String>()
                        ),
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// What was imported.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    pub mode: &'static str,
    /// Whether the rows written are in the database now.
    pub committed: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
    pub errors: Vec<RowError>,
    /// Errors past [`MAX_REPORTED`], counted only.
    pub errors_omitted: u64,
}

/// A refused row: its line in the file, the column concerned (when one is), and the error as
/// the mutation would give it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub message: String,
}

/// Why a file was not imported at all.
#[derive(Debug)]
pub enum Refusal {
    /// The file itself: not CSV, not UTF-8, too large, unknown or missing columns.
    File {
        field: &'static str,
        message: String,
    },
    /// The database.
    Failed(AppError),
}

impl Refusal {
    /// The status and JSON errors of a refused import.
    fn answer(self) -> (StatusCode, serde_json::Value) {
        let (status, code, field, message) = match self {
            Refusal::File { field, message } => (
                StatusCode::BAD_REQUEST,
                codes::BAD_USER_INPUT,
                Some(field),
                message,
            ),
            Refusal::Failed(err) => {
                err.log_if_internal();
                let status = if err.code() == codes::SERVICE_UNAVAILABLE {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                (status, err.code(), None, err.public_message())
            }
        };
        (status, crate::error::error_json(code, field, &message))
    }
}

impl From<AppError> for Refusal {
    fn from(err: AppError) -> Self {
        Refusal::Failed(err)
    }
}

impl From<sea_orm::DbErr> for Refusal {
    fn from(err: sea_orm::DbErr) -> Self {
        Refusal::Failed(err.into())
    }
}

/// What the parsing thread hands over.
pub enum Parsed {
    Headers(Vec<String>),
    Row {
        line: u64,
        cells: Vec<String>,
    },
    Bad {
        field: &'static str,
        message: String,
    },
}

/// Parses CSV from `input` on a blocking thread: the headers, then each row, over a bounded
/// channel (the thread waits while the writes catch up). More than `max_bytes` is refused.
pub fn read_rows<R>(input: R, max_bytes: u64) -> tokio::sync::mpsc::Receiver<Parsed>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(AHEAD);
    tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, Read};
        let bridge = tokio_util::io::SyncIoBridge::new(input);
        let limited = RowLimit {
            inner: bridge.take(max_bytes.saturating_add(1)),
            in_quotes: false,
            row: 0,
            exceeded: false,
        };
        let mut input = std::io::BufReader::with_capacity(64 * 1024, limited);
        let bad = |field, message: String| Parsed::Bad { field, message };
        // The byte order mark, then the delimiter the header line uses.
        let head = match input.fill_buf() {
            Ok(head) => head,
            Err(err) => {
                let _ =
                    sender.blocking_send(bad("body", format!("the body could not be read: {err}")));
                return;
            }
        };
        let bom = head.starts_with(b"\xEF\xBB\xBF");
        let first_line = head[if bom { 3 } else { 0 }..]
            .split(|byte| *byte == b'\n')
            .next()
            .unwrap_or_default();
        let count = |wanted: u8| first_line.iter().filter(|byte| **byte == wanted).count();
        let delimiter = if count(b';') > count(b',') {
            b';'
        } else {
            b','
        };
        if bom {
            input.consume(3);
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(input);
        let headers = match reader.headers() {
            Ok(headers) => headers.iter().map(str::to_owned).collect(),
            Err(err) => {
                let _ =
                    sender.blocking_send(bad("body", format!("the header line is not CSV: {err}")));
                return;
            }
        };
        if sender.blocking_send(Parsed::Headers(headers)).is_err() {
            return;
        }
        let mut record = csv::StringRecord::new();
        loop {
            let parsed = match reader.read_record(&mut record) {
                Ok(false) => return,
                Ok(true) => Parsed::Row {
                    line: record.position().map_or(0, csv::Position::line),
                    cells: record.iter().map(str::to_owned).collect(),
                },
                Err(err) => {
                    let limits = reader.get_ref().get_ref();
                    let message = match err.kind() {
                        csv::ErrorKind::Io(_) if limits.exceeded => {
                            format!("a row is longer than {MAX_ROW_BYTES} bytes: is the file CSV?")
                        }
                        csv::ErrorKind::Io(_) if limits.inner.limit() == 0 => {
                            format!(
                                "the file is larger than {max_bytes} bytes (CRM_IMPORT_MAX_BYTES)"
                            )
                        }
                        csv::ErrorKind::Utf8 { pos, .. } => format!(
                            "line {} is not UTF-8 text",
                            pos.as_ref().map_or(0, csv::Position::line)
                        ),
                        _ => format!("the file is not CSV: {err}"),
                    };
                    let _ = sender.blocking_send(bad("body", message));
                    return;
                }
            };
            if sender.blocking_send(parsed).is_err() {
                return;
            }
            if reader.get_ref().get_ref().inner.limit() == 0 {
                let _ = sender.blocking_send(bad(
                    "body",
                    format!("the file is larger than {max_bytes} bytes (CRM_IMPORT_MAX_BYTES)"),
                ));
                return;
            }
        }
    });
    receiver
}

/// The longest row an import reads, in bytes: the CSV reader holds a row whole while it
/// parses it, so one endless cell must not take the memory.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// Fails the read once a row (the bytes up to a line break outside quotes) is longer than
/// [`MAX_ROW_BYTES`].
struct RowLimit<R> {
    inner: R,
    in_quotes: bool,
    row: usize,
    exceeded: bool,
}

impl<R: std::io::Read> std::io::Read for RowLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        for byte in &buf[..read] {
            match byte {
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => {
                    self.row = 0;
                    continue;
                }
                _ => {}
            }
            self.row += 1;
            if self.row > MAX_ROW_BYTES {
                self.exceeded = true;
                return Err(std::io::Error::other("a row is too long"));
            }
        }
        Ok(read)
    }
}

/// The tables that import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Clients,
    Contracts,
    Payments,
}

impl Kind {
    pub fn named(name: &str) -> Option<Kind> {
        match name {
            "clients" => Some(Kind::Clients),
            "contracts" => Some(Kind::Contracts),
            "payments" => Some(Kind::Payments),
            _ => None,
        }
    }

    /// The columns a file may have: header, the input field it fills, how its cells read.
    fn columns(self) -> &'static [ImportColumn] {
        match self {
            Kind::Clients => crate::clients::csv::IMPORT,
            Kind::Contracts => crate::contracts::csv::IMPORT,
            Kind::Payments => crate::payments::csv::IMPORT,
        }
    }

    /// The export of the same table.
    fn sheet(self) -> &'static super::Sheet {
        match self {
            Kind::Clients => &crate::clients::csv::SHEET,
            Kind::Contracts => &crate::contracts::csv::SHEET,
            Kind::Payments => &crate::payments::csv::SHEET,
        }
    }

    /// Columns a file must have (one of each group).
    fn required(self) -> &'static [&'static [&'static str]] {
        match self {
            Kind::Clients => &[&["company_name", "id", "email"]],
            Kind::Contracts => &[&["contract_number"]],
            Kind::Payments => &[&["contract_id", "contract_number", "id"]],
        }
    }
}

/// One column an import reads.
#[derive(Debug, Clone, Copy)]
pub struct ImportColumn {
    pub header: &'static str,
    /// The mutation input's field it fills (camelCase); `None` for keys and references that
    /// are looked up (`email` of a user, a contract's number …).
    pub input: Option<&'static str>,
    pub cell: Cell,
    pub need: Need,
}

/// What an empty cell means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A new row must have it; an empty cell leaves an existing row's value as it is.
    Required,
    /// An empty cell clears the value.
    Optional,
    /// An empty cell leaves the value (or its default) as it is.
    Kept,
}

/// How a cell reads.
#[derive(Debug, Clone, Copy)]
pub enum Cell {
    Text,
    /// An id (UUID).
    Id,
    /// An amount: a decimal with a point.
    Money,
    /// A day, `2026-12-04`.
    Date,
    /// An enum value, in any case: whether the lowercased cell is one (see [`is_enum`]).
    Enum(fn(&str) -> bool),
}

/// Whether `value` is one of the enum `T`'s values.
pub fn is_enum<T: InputType>(value: &str) -> bool {
    T::parse(Some(Value::Enum(async_graphql::Name::new(value)))).is_ok()
}

impl ImportColumn {
    /// A field every new row must have.
    pub const fn required(header: &'static str, input: &'static str, cell: Cell) -> Self {
        ImportColumn {
            header,
            input: Some(input),
            cell,
            need: Need::Required,
        }
    }

    /// A field an empty cell clears.
    pub const fn optional(header: &'static str, input: &'static str, cell: Cell) -> Self {
        ImportColumn {
            header,
            input: Some(input),
            cell,
            need: Need::Optional,
        }
    }

    /// A field an empty cell leaves as it is.
    pub const fn kept(header: &'static str, input: &'static str, cell: Cell) -> Self {
        ImportColumn {
            header,
            input: Some(input),
            cell,
            need: Need::Kept,
        }
    }

    /// A key or reference column, read by the import itself.
    pub const fn key(header: &'static str, cell: Cell) -> Self {
        ImportColumn {
            header,
            input: None,
            cell,
            need: Need::Kept,
        }
    }
}

/// `Company Name`, `company-name`, `companyName` → `companyname`.
fn normalised(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A row's cells by column header (only the file's columns).
struct Row<'a> {
    line: u64,
    cells: HashMap<&'static str, &'a str>,
}

impl Row<'_> {
    /// The cell, trimmed, when the file has the column and the cell is not empty; without
    /// the `'` an export puts before text that would start a formula.
    fn get(&self, header: &str) -> Option<&str> {
        self.cells
            .get(header)
            .map(|cell| {
                let cell = cell.trim();
                match cell.strip_prefix('\'') {
                    Some(text) if text.starts_with(['=', '+', '-', '@', '\t', '\r']) => text,
                    _ => cell,
                }
            })
            .filter(|cell| !cell.is_empty())
    }

    /// The cell as an id, when there is one; another text is refused naming `field`.
    fn id(&self, header: &str, field: &str) -> Result<Option<Uuid>, AppError> {
        self.get(header)
            .map(|cell| {
                Uuid::parse_str(cell).map_err(|_| {
                    AppError::bad_input(field, format!("`{header}` is not an id: `{cell}`"))
                })
            })
            .transpose()
    }

    fn has(&self, header: &str) -> bool {
        self.cells.contains_key(header)
    }
}

/// Runs an import of `rows` (see the module's documentation).
pub async fn run(
    db: &sea_orm::DatabaseConnection,
    kind: Kind,
    viewer: Viewer,
    options: Options,
    mut rows: tokio::sync::mpsc::Receiver<Parsed>,
    mut progress: impl FnMut(&Report),
) -> Result<Report, Refusal> {
    let columns = kind.columns();
    let headers = match rows.recv().await {
        Some(Parsed::Headers(headers))
            if headers.iter().any(|header| !header.trim().is_empty()) =>
        {
            headers
        }
        Some(Parsed::Bad { field, message }) => return Err(Refusal::File { field, message }),
        _ => {
            return Err(Refusal::File {
                field: "body",
                message: "the file is empty: it needs a header line".into(),
            });
        }
    };
    // Which column each of the file's columns is; the export's other columns (computed
    // amounts, times) are read back without effect, so an exported file imports as it is.
    let exported = kind.sheet().columns;
    let mut places: Vec<&'static str> = Vec::with_capacity(headers.len());
    for header in &headers {
        let found = columns
            .iter()
            .find(|column| normalised(column.header) == normalised(header));
        if found.is_none()
            && exported
                .iter()
                .any(|column| normalised(column.header) == normalised(header))
        {
            places.push(IGNORED);
            continue;
        }
        match found {
            Some(column) if !places.contains(&column.header) => places.push(column.header),
            Some(column) => {
                return Err(Refusal::File {
                    field: "header",
                    message: format!("the column `{}` is there twice", column.header),
                });
            }
            None => {
                let known: Vec<&str> = columns.iter().map(|column| column.header).collect();
                return Err(Refusal::File {
                    field: "header",
                    message: format!(
                        "unknown column `{}`: the columns are {}",
                        header.chars().take(60).collect::<String>(),
                        known.join(", ")
                    ),
                });
            }
        }
    }
    for group in kind.required() {
        if !group.iter().any(|header| places.contains(header)) {
            return Err(Refusal::File {
                field: "header",
                message: format!("the column `{}` is missing", group.join("` or `")),
            });
        }
    }

    let mut report = Report {
        dry_run: options.dry_run,
        mode: if options.per_row { "rows" } else { "atomic" },
        ..Report::default()
    };
    let started = chrono::Utc::now().fixed_offset();
    let outer = crate::db::begin_write(db).await?;
    while let Some(parsed) = rows.recv().await {
        let (line, cells) = match parsed {
            Parsed::Row { line, cells } => (line, cells),
            Parsed::Bad { field, message } => return Err(Refusal::File { field, message }),
            Parsed::Headers(_) => continue,
        };
        report.rows += 1;
        let row = Row {
            line,
            cells: places
                .iter()
                .zip(cells.iter())
                .filter(|(header, _)| !header.is_empty())
                .map(|(header, cell)| (*header, cell.as_str()))
                .collect(),
        };
        // A row is written whole or not at all (a contract created, then refused its status).
        let this_row = crate::db::begin_write(&outer).await?;
        let written = match kind {
            Kind::Clients => client(&this_row, viewer, &row).await,
            Kind::Contracts => contract(&this_row, viewer, &row).await,
            Kind::Payments => payment(&this_row, viewer, &row, started).await,
        };
        let written = match written {
            Ok(written) => this_row
                .commit()
                .await
                .map(|()| written)
                .map_err(AppError::from),
            Err(err) => {
                this_row.rollback().await?;
                Err(err)
            }
        };
        match written {
            Ok(Written::Created) => report.created += 1,
            Ok(Written::Updated) => report.updated += 1,
            Ok(Written::Unchanged) => report.unchanged += 1,
            Err(err)
                if matches!(
                    err,
                    AppError::Database(_) | AppError::Unavailable(_) | AppError::Internal(_)
                ) =>
            {
                return Err(Refusal::Failed(err));
            }
            Err(err) => {
                report.failed += 1;
                if report.errors.len() < MAX_REPORTED {
                    report.errors.push(row_error(kind, row.line, &err));
                } else {
                    report.errors_omitted += 1;
                }
            }
        }
        progress(&report);
    }
    let keep = !options.dry_run && (options.per_row || report.failed == 0);
    if keep {
        outer.commit().await?;
        report.committed = true;
    } else {
        outer.rollback().await?;
    }
    Ok(report)
}

/// What a row did.
enum Written {
    Created,
    Updated,
    Unchanged,
}

/// The error of a refused row, its field named by the file's column.
fn row_error(kind: Kind, line: u64, err: &AppError) -> RowError {
    let column = err.field().map(|field| {
        kind.columns()
            .iter()
            .find(|column| {
                column.input == Some(field) || normalised(column.header) == normalised(field)
            })
            .map_or_else(|| field.to_owned(), |column| column.header.to_owned())
    });
    RowError {
        line,
        column,
        code: err.code(),
        reason: err.reason(),
        message: err.public_message(),
    }
}

/// The mutation input the row's columns make (`update`: the file's empty cells are `null`,
/// columns it does not have are left out).
fn input<T: InputType>(
    kind: Kind,
    row: &Row<'_>,
    update: bool,
    extra: &[(&str, Value)],
) -> Result<T, AppError> {
    let mut fields = async_graphql::indexmap::IndexMap::new();
    for column in kind.columns() {
        let Some(field) = column.input else {
            continue;
        };
        if !row.has(column.header) {
            continue;
        }
        let value = match (row.get(column.header), column.need) {
            (Some(cell), _) => cell_value(column, cell)?,
            (None, Need::Optional) if update => Value::Null,
            (None, Need::Required) if !update => {
                return Err(AppError::bad_input(
                    field,
                    format!("`{}` is required", column.header),
                ));
            }
            (None, _) => continue,
        };
        fields.insert(async_graphql::Name::new(field), value);
    }
    for (field, value) in extra {
        fields.insert(async_graphql::Name::new(field), value.clone());
    }
    T::parse(Some(Value::Object(fields))).map_err(|err| {
        AppError::bad_input("row", err.into_server_error(Default::default()).message)
    })
}

/// A cell as the input value its column takes; a cell of the wrong form names its column.
fn cell_value(column: &ImportColumn, cell: &str) -> Result<Value, AppError> {
    let field = column.input.unwrap_or(column.header);
    let refuse = |what: &str| {
        AppError::bad_input(
            field,
            format!(
                "`{}` is not {what}: `{}`",
                column.header,
                cell.chars().take(60).collect::<String>()
            ),
        )
    };
    Ok(match column.cell {
        Cell::Text => Value::String(cell.to_owned()),
        Cell::Id => {
            Uuid::parse_str(cell).map_err(|_| refuse("an id"))?;
            Value::String(cell.to_owned())
        }
        Cell::Money => {
            let value = Value::String(cell.to_owned());
            <crate::engine::scalars::Decimal as InputType>::parse(Some(value.clone()))
                .map_err(|_| refuse("an amount such as 1234.50"))?;
            value
        }
        Cell::Date => {
            chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d")
                .map_err(|_| refuse("a date such as 2026-12-04"))?;
            Value::String(cell.to_owned())
        }
        Cell::Enum(is_value) => {
            let value = cell.to_lowercase();
            if !is_value(&value) {
                return Err(refuse("one of the values the API takes"));
            }
            Value::Enum(async_graphql::Name::new(value))
        }
    })
}

/// The id of the one row `viewer` sees where `column = value`; `NOT_FOUND` naming `field`
/// when there is none.
async fn lookup<E, V>(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    column: E::Column,
    value: V,
    field: &str,
) -> Result<Uuid, AppError>
where
    V: Into<sea_orm::Value> + std::fmt::Display + Clone,
    E: entity::Tabled,
{
    let ids = find_ids::<E, V>(txn, viewer, column, value.clone()).await?;
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(AppError::not_found(
            field,
            format!("no `{field}` matches `{value}`"),
        )),
        _ => Err(AppError::rule(
            Some(field),
            "AMBIGUOUS",
            format!("several rows match `{value}`: give the id instead"),
        )),
    }
}

/// The ids (at most two) of the rows `viewer` sees where `column = value`.
async fn find_ids<E, V>(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    column: E::Column,
    value: V,
) -> Result<Vec<Uuid>, AppError>
where
    V: Into<sea_orm::Value>,
    E: entity::Tabled,
{
    let mut select = E::find()
        .select_only()
        .column_as(
            sea_orm::sea_query::Expr::col(sea_orm::sea_query::Alias::new("id")),
            "id",
        )
        .filter(column.eq(value))
        .limit(2);
    if let Some(visible) = visible_in::<E>(txn.get_database_backend(), viewer) {
        select = select.filter(visible);
    }
    Ok(select.into_tuple::<Uuid>().all(txn).await?)
}

/// A reference: the id in `id_column`, else the row found by `key_column`'s value.
async fn reference<E>(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    row: &Row<'_>,
    (id_column, key_column): (&str, &str),
    column: E::Column,
    field: &str,
) -> Result<Option<Uuid>, AppError>
where
    E: entity::Tabled,
{
    if let Some(id) = row.id(id_column, field)? {
        return Ok(Some(id));
    }
    match row.get(key_column) {
        Some(key) => lookup::<E, _>(txn, viewer, column, key.to_owned(), key_column)
            .await
            .map(Some),
        None => Ok(None),
    }
}

fn id_value(id: Uuid) -> Value {
    Value::String(id.to_string())
}

async fn client(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    row: &Row<'_>,
) -> Result<Written, AppError> {
    use entity::{clients, users};
    let existing = match (row.id("id", "id")?, row.get("email")) {
        (Some(id), _) => Some(id),
        (None, Some(email)) => {
            match find_ids::<clients::Entity, _>(
                txn,
                viewer,
                clients::Column::Email,
                email.to_owned(),
            )
            .await?
            .as_slice()
            {
                [] => None,
                [id] => Some(*id),
                _ => {
                    return Err(AppError::rule(
                        Some("email"),
                        "AMBIGUOUS",
                        "several clients have this e-mail: give the client's `id`",
                    ));
                }
            }
        }
        (None, None) => None,
    };
    let assignee = reference::<users::Entity>(
        txn,
        viewer,
        row,
        ("assigned_to_id", "assigned_to_email"),
        users::Column::Email,
        "assignedToId",
    )
    .await?;
    match existing {
        Some(id) => {
            let update = input(Kind::Clients, row, true, &[])?;
            crate::clients::service::update(txn, viewer, id, update).await?;
            Ok(Written::Updated)
        }
        None => {
            let extra: Vec<(&str, Value)> = assignee
                .map(|id| ("assignedToId", id_value(id)))
                .into_iter()
                .collect();
            let create = input(Kind::Clients, row, false, &extra)?;
            crate::clients::service::create(txn, viewer, create).await?;
            Ok(Written::Created)
        }
    }
}

async fn contract(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    row: &Row<'_>,
) -> Result<Written, AppError> {
    use entity::{clients, contracts, users};
    let number = row.get("contract_number").unwrap_or_default();
    let existing = find_ids::<contracts::Entity, _>(
        txn,
        viewer,
        contracts::Column::ContractNumber,
        number.to_owned(),
    )
    .await?;
    let commercial = reference::<users::Entity>(
        txn,
        viewer,
        row,
        ("commercial_id", "commercial_email"),
        users::Column::Email,
        "commercialId",
    )
    .await?;
    let mut extra: Vec<(&str, Value)> = commercial
        .map(|id| ("commercialId", id_value(id)))
        .into_iter()
        .collect();
    let (contract, written) = match existing.first() {
        Some(id) => {
            let update = input(Kind::Contracts, row, true, &extra)?;
            let contract = crate::contracts::service::update(txn, viewer, *id, update).await?;
            (contract, Written::Updated)
        }
        None => {
            let client = reference::<clients::Entity>(
                txn,
                viewer,
                row,
                ("client_id", "client_email"),
                clients::Column::Email,
                "clientId",
            )
            .await?
            .ok_or_else(|| {
                AppError::bad_input(
                    "clientId",
                    "a new contract needs `client_id` or `client_email`",
                )
            })?;
            extra.push(("clientId", id_value(client)));
            let create = input(Kind::Contracts, row, false, &extra)?;
            let contract = crate::contracts::service::create(txn, viewer, create).await?;
            (contract, Written::Created)
        }
    };
    if let Some(status) = row.get("status") {
        move_to(txn, viewer, row, contract, status).await?;
    }
    Ok(written)
}

/// Takes a contract to the `status` of its row through the status mutations (their rules: a
/// client's KYC before signing, no way back from completed or cancelled); an error names the
/// `status` column.
async fn move_to(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    row: &Row<'_>,
    contract: entity::contracts::Model,
    status: &str,
) -> Result<(), AppError> {
    use crate::contracts::service;
    use entity::ContractStatus::{Active, Cancelled, Completed, Draft};
    let wanted = <entity::ContractStatus as InputType>::parse(Some(Value::Enum(
        async_graphql::Name::new(status.to_lowercase()),
    )))
    .map_err(|_| {
        AppError::bad_input(
            "status",
            format!("`status` is not a contract status: `{status}`"),
        )
    })?;
    let signed_at = match row.get("signed_at") {
        Some(at) => Some(
            <crate::engine::scalars::DateTime as InputType>::parse(Some(Value::String(
                at.to_owned(),
            )))
            .map_err(|_| {
                AppError::bad_input(
                    "signed_at",
                    format!("`signed_at` is not a time such as 2026-12-04T09:30:00Z: `{at}`"),
                )
            })?,
        ),
        None => None,
    };
    let id = contract.id;
    let moved = match (contract.status, wanted) {
        (from, to) if from == to => Ok(()),
        (Draft, Active) => service::sign(txn, viewer, id, signed_at).await.map(drop),
        (Draft, Completed) => {
            service::sign(txn, viewer, id, signed_at).await?;
            service::complete(txn, viewer, id).await.map(drop)
        }
        (Active, Completed) => service::complete(txn, viewer, id).await.map(drop),
        (Draft | Active, Cancelled) => service::cancel(txn, viewer, id, None).await.map(drop),
        (from, to) => Err(AppError::rule(
            Some("status"),
            "INVALID_TRANSITION",
            format!("a {from:?} contract cannot become {to:?}").to_uppercase(),
        )),
    };
    moved.map_err(|err| match err {
        AppError::Conflict {
            message, reason, ..
        } => AppError::Conflict {
            field: Some("status".to_owned()),
            message,
            reason,
        },
        other => other,
    })
}

async fn payment(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    row: &Row<'_>,
    started: chrono::DateTime<chrono::FixedOffset>,
) -> Result<Written, AppError> {
    use entity::{contracts, payments};
    if let Some(id) = row.id("id", "id")? {
        // An exported payment: recorded already (payments are not changed by an import).
        lookup::<payments::Entity, _>(txn, viewer, payments::Column::Id, id, "id").await?;
        return Ok(Written::Unchanged);
    }
    let contract = reference::<contracts::Entity>(
        txn,
        viewer,
        row,
        ("contract_id", "contract_number"),
        contracts::Column::ContractNumber,
        "contractId",
    )
    .await?
    .ok_or_else(|| {
        AppError::bad_input(
            "contractId",
            "a payment needs `contract_id` or `contract_number`",
        )
    })?;
    let record = input(
        Kind::Payments,
        row,
        false,
        &[("contractId", id_value(contract))],
    )?;
    let payment = crate::payments::service::record(txn, viewer, record).await?;
    // A payment recorded before under the same idempotency key is left as it was.
    Ok(if payment.created_at < started {
        Written::Unchanged
    } else {
        Written::Created
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_whatever_their_case_and_separators() {
        for header in [
            "company_name",
            "Company Name",
            "companyName",
            " COMPANY-NAME ",
        ] {
            assert_eq!(normalised(header), "companyname");
        }
    }

    fn read_all(input: Vec<u8>) -> std::io::Result<usize> {
        use std::io::Read;
        let mut limited = RowLimit {
            inner: input.as_slice(),
            in_quotes: false,
            row: 0,
            exceeded: false,
        };
        let mut out = Vec::new();
        limited.read_to_end(&mut out)
    }

    #[test]
    fn a_row_is_bounded_even_when_its_quoted_cell_holds_line_breaks() {
        let short_rows = "name,x\n".repeat(400_000);
        assert!(read_all(short_rows.into_bytes()).is_ok());
        let quoted = format!("name\n\"{}\"\n", "line\n".repeat(250_000));
        assert!(read_all(quoted.into_bytes()).is_err());
        let escaped = format!(
            "name\n\"a \"\"quoted\"\" b\"\n{}",
            "next,row\n".repeat(200_000)
        );
        assert!(read_all(escaped.into_bytes()).is_ok());
    }

    #[test]
    fn options_are_read_and_the_rest_refused() {
        let Ok(options) = Options::from_query("dryRun=true&mode=rows") else {
            unreachable!()
        };
        assert!(options.dry_run && options.per_row);
        assert!(matches!(Options::from_query("mode=all"), Err(("mode", _))));
        assert!(matches!(
            Options::from_query("dryRun=maybe"),
            Err(("dryRun", _))
        ));
        assert!(matches!(Options::from_query("limit=3"), Err(("query", _))));
    }
}
