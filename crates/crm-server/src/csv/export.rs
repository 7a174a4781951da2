//! `GET /export/{clients|contracts|payments}.csv`: a list as a CSV file, streamed.
//!
//! The rows are the GraphQL list's: the export runs the root list (`clients`, …) through the
//! schema, page after page by its cursor, with the caller's credentials, so the filter
//! (`?filter=` the list's filter input as JSON), the order (`?orderBy=`), the access rules and
//! the values (amounts as exact decimals, dates and times in ISO 8601, enum values as the API
//! names them) are the list's own. Free-text cells that a spreadsheet would read as a formula
//! (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) get a leading `'`.
//!
//! One page is in memory at a time, and the next is read when the client has taken the last
//! (the body streams at the client's pace). A failure after the first page ends the body
//! early: the client sees a broken transfer, never a file that looks complete.

use std::sync::Arc;

use async_graphql::{ServerError, Value};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};

use super::{Column, Sheet};
use crate::app::AppState;
use crate::auth::RequestAuth;
use crate::engine::PageLimits;
use crate::engine::batch;
use crate::engine::loader::Loaders;
use crate::error::{codes, http_error, http_error_for};

/// Rows per page read.
const PAGE_ROWS: usize = 500;

/// `GET /export/{name}.csv`.
pub async fn export(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(sheet) = file.strip_suffix(".csv").and_then(super::sheet) else {
        return http_error(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "no such export: clients.csv, contracts.csv or payments.csv",
        );
    };
    let options = match Options::parse(query.as_deref().unwrap_or_default()) {
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
    let auth = match crate::app::signed_in(&state, &headers).await {
        Ok((auth, _)) => auth,
        Err(refused) => return refused,
    };
    let mut pages = Pages::new(state, sheet, auth, &options);
    let first = match pages.next().await {
        Ok(Some(chunk)) => chunk,
        Ok(None) => Vec::new(),
        Err(Failure::Refused(errors)) => return refused(errors),
        Err(Failure::Failed(error)) => return failed(&error),
    };
    let mut head = Vec::with_capacity(first.len() + 512);
    if options.bom {
        head.extend_from_slice("\u{feff}".as_bytes());
    }
    head.extend_from_slice(&header_row(sheet, options.delimiter));
    head.extend_from_slice(&first);
    let rest = stream::unfold(Some(pages), |pages| async move {
        let mut pages = pages?;
        match pages.next().await {
            Ok(Some(chunk)) => Some((Ok(bytes::Bytes::from(chunk)), Some(pages))),
            Ok(None) => None,
            Err(failure) => {
                tracing::warn!(error = ?failure, "an export stopped before its end");
                Some((Err(std::io::Error::other("the export failed")), None))
            }
        }
    });
    let body =
        stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(head)) }).chain(rest);
    let filename = format!(
        "attachment; filename=\"{}-{}.csv\"",
        sheet.name,
        chrono::Utc::now().format("%Y-%m-%d")
    );
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// What the URL asks for.
#[derive(Debug, Default)]
struct Options {
    filter: Option<serde_json::Value>,
    order_by: Option<serde_json::Value>,
    delimiter: u8,
    bom: bool,
}

impl Options {
    /// `filter` and `orderBy` (JSON), `delimiter` (`comma`, `semicolon` or `tab`), `bom`
    /// (`true` for spreadsheets that need it to read UTF-8). Anything else is refused.
    fn parse(query: &str) -> Result<Options, (&'static str, String)> {
        let mut options = Options {
            delimiter: b',',
            ..Options::default()
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let json = |field: &'static str| {
                serde_json::from_str::<serde_json::Value>(&value)
                    .map(Some)
                    .map_err(|err| (field, format!("`{field}` is not JSON: {err}")))
            };
            match name.as_ref() {
                "filter" => options.filter = json("filter")?,
                "orderBy" => options.order_by = json("orderBy")?,
                "delimiter" => {
                    options.delimiter = match value.as_ref() {
                        "comma" | "," => b',',
                        "semicolon" | ";" => b';',
                        "tab" => b'\t',
                        _ => {
                            return Err((
                                "delimiter",
                                "`delimiter` is `comma`, `semicolon` or `tab`".to_owned(),
                            ));
                        }
                    }
                }
                "bom" => {
                    options.bom = match value.as_ref() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(("bom", "`bom` is `true` or `false`".to_owned())),
                    }
                }
                other => {
                    return Err((
                        "query",
                        format!(
                            "unknown parameter `{}`: filter, orderBy, delimiter, bom",
                            other.chars().take(40).collect::<String>()
                        ),
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// Why a page was not read.
#[derive(Debug)]
enum Failure {
    /// The list refused the request (a bad filter or order): its errors.
    Refused(Vec<ServerError>),
    /// Something else (the database): logged, answered without details.
    Failed(String),
}

/// The list, page by page.
struct Pages {
    state: AppState,
    sheet: &'static Sheet,
    auth: Arc<RequestAuth>,
    query: String,
    variables: serde_json::Map<String, serde_json::Value>,
    delimiter: u8,
    /// Where the next page starts; `None` once the last was read.
    after: Option<Option<String>>,
}

impl Pages {
    fn new(state: AppState, sheet: &'static Sheet, auth: RequestAuth, options: &Options) -> Pages {
        let mut variables = serde_json::Map::new();
        if let Some(filter) = &options.filter {
            variables.insert("filter".to_owned(), filter.clone());
        }
        if let Some(order_by) = &options.order_by {
            variables.insert("orderBy".to_owned(), order_by.clone());
        }
        Pages {
            state,
            sheet,
            auth: Arc::new(auth),
            query: list_query(sheet),
            variables,
            delimiter: options.delimiter,
            after: Some(None),
        }
    }

    /// The next page's rows as CSV; `None` after the last.
    async fn next(&mut self) -> Result<Option<Vec<u8>>, Failure> {
        let Some(after) = self.after.take() else {
            return Ok(None);
        };
        let mut variables = self.variables.clone();
        if let Some(cursor) = after {
            variables.insert("after".to_owned(), cursor.into());
        }
        let limits = PageLimits {
            default_size: PAGE_ROWS,
            max_size: PAGE_ROWS,
            max_rows: PAGE_ROWS * 4,
            ..PageLimits::default()
        };
        let loaders = Loaders::new(
            self.state.reader.clone(),
            limits,
            self.auth.clone(),
            true,
            self.state.read_path,
        );
        let dispatcher = loaders.dispatcher();
        let request = async_graphql::Request::new(self.query.clone())
            .variables(async_graphql::Variables::from_json(
                serde_json::Value::Object(variables),
            ))
            .data(loaders)
            .data(self.auth.as_ref().clone());
        let mut response = {
            // A page takes a turn like any operation.
            let _turn = self.state.executions.clone().acquire_owned().await.ok();
            batch::drive(dispatcher, self.state.schema.execute(request)).await
        };
        if !response.errors.is_empty() {
            crate::graphql::errors::classify_response(&mut response, &self.query);
            let internal = response.errors.iter().any(|error| {
                error
                    .extensions
                    .as_ref()
                    .and_then(|extensions| extensions.get("code"))
                    .is_none_or(|code| {
                        *code == Value::from(codes::INTERNAL_SERVER_ERROR)
                            || *code == Value::from(codes::SERVICE_UNAVAILABLE)
                    })
            });
            return Err(if internal {
                Failure::Failed(format!("{:?}", response.errors))
            } else {
                Failure::Refused(response.errors)
            });
        }
        let list = field(&response.data, &["rows"]);
        let has_next = field(list, &["pageInfo", "hasNextPage"]) == &Value::Boolean(true);
        let end = match field(list, &["pageInfo", "endCursor"]) {
            Value::String(cursor) => Some(cursor.clone()),
            _ => None,
        };
        if has_next && end.is_some() {
            self.after = Some(end);
        }
        let Value::List(nodes) = field(list, &["nodes"]) else {
            return Ok(Some(Vec::new()));
        };
        let mut out = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(Vec::with_capacity(nodes.len() * 256));
        let mut record = csv::StringRecord::with_capacity(1024, self.sheet.columns.len());
        for node in nodes {
            record.clear();
            for column in self.sheet.columns {
                record.push_field(&cell(column, field(node, column.path)));
            }
            out.write_record(&record)
                .map_err(|err| Failure::Failed(err.to_string()))?;
        }
        out.into_inner()
            .map(Some)
            .map_err(|err| Failure::Failed(err.to_string()))
    }
}

/// The GraphQL query of one page of `sheet`'s list.
fn list_query(sheet: &Sheet) -> String {
    let mut selection = String::new();
    let mut relations: Vec<(&str, Vec<&str>)> = Vec::new();
    for column in sheet.columns {
        match column.path {
            [field] => {
                selection.push_str(field);
                selection.push(' ');
            }
            [relation, field] => match relations.iter_mut().find(|(name, _)| name == relation) {
                Some((_, fields)) => fields.push(field),
                None => relations.push((relation, vec![field])),
            },
            _ => {}
        }
    }
    for (relation, fields) in relations {
        selection.push_str(&format!("{relation} {{ {} }} ", fields.join(" ")));
    }
    format!(
        "query Export($filter: {filter}, $orderBy: [{order}!], $after: String) {{ \
         rows: {list}(first: {PAGE_ROWS}, after: $after, filter: $filter, orderBy: $orderBy) {{ \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {selection}}} }} }}",
        filter = sheet.filter_type,
        order = sheet.order_type,
        list = sheet.name,
    )
}

/// The value at `path` under `value` (null when there is none).
fn field<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    const NULL: &Value = &Value::Null;
    path.iter()
        .try_fold(value, |value, name| match value {
            Value::Object(object) => object.get(*name),
            _ => None,
        })
        .unwrap_or(NULL)
}

/// The header row.
fn header_row(sheet: &Sheet, delimiter: u8) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    let _ = out.write_record(sheet.columns.iter().map(|column| column.header));
    out.into_inner().unwrap_or_default()
}

/// A value as a cell: text as it is (a free-text cell that would start a formula gets a
/// leading `'`), numbers, booleans and enum values as the API writes them, null as nothing.
fn cell(column: &Column, value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => {
            if column.text && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{text}")
            } else {
                text.clone()
            }
        }
        Value::Boolean(value) => value.to_string(),
        Value::Number(number) => number.to_string(),
        Value::Enum(name) => name.to_string(),
        other => other.to_string(),
    }
}

/// The list refused the request: `400` with its errors.
fn refused(errors: Vec<ServerError>) -> Response {
    let mut response = async_graphql::Response::from_errors(errors);
    crate::graphql::response::with_request_id(&mut response);
    let body = serde_json::json!({ "errors": response.errors });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The export could not start.
fn failed(error: &str) -> Response {
    tracing::error!(error, "an export could not start");
    http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::INTERNAL_SERVER_ERROR,
        "the export could not be read: try again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_formulas_in_free_text_only() {
        let text = Column::text("name", &["name"]);
        let amount = Column::value("amount", &["amount"]);
        for formula in ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(&text, &Value::from(formula)), format!("'{formula}"));
        }
        assert_eq!(cell(&text, &Value::from("Acme = best")), "Acme = best");
        assert_eq!(cell(&amount, &Value::from("-12.50")), "-12.50");
        assert_eq!(cell(&amount, &Value::Null), "");
        assert_eq!(cell(&amount, &Value::Boolean(true)), "true");
    }

    #[test]
    fn one_query_selects_every_column_and_relation_once() {
        let query = list_query(&crate::contracts::csv::SHEET);
        assert!(query.contains("client { email companyName }"), "{query}");
        assert!(query.contains("commercial { email }"), "{query}");
        assert!(query.contains("rows: contracts(first: 500"), "{query}");
        let Ok(_) = async_graphql::parser::parse_query(&query) else {
            unreachable!("{query}")
        };
    }

    #[test]
    fn reads_the_options_and_refuses_the_rest() {
        let Ok(options) = Options::parse(
            "filter=%7B%22city%22%3A%7B%22eq%22%3A%22Lyon%22%7D%7D&delimiter=semicolon&bom=true",
        ) else {
            unreachable!()
        };
        assert_eq!(options.delimiter, b';');
        assert!(options.bom);
        assert_eq!(
            options.filter,
            Some(serde_json::json!({ "city": { "eq": "Lyon" } }))
        );
        assert!(matches!(Options::parse("filter=%7B"), Err(("filter", _))));
        assert!(matches!(
            Options::parse("delimiter=pipe"),
            Err(("delimiter", _))
        ));
        assert!(matches!(Options::parse("first=10"), Err(("query", _))));
    }
}
