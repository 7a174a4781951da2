//! The HTTP response of a GraphQL request, its JSON written straight from the value tree.
//!
//! async-graphql-axum serializes the response through serde_json, which escapes every string
//! byte by byte (a table lookup and a branch per byte), a visible share of a large page's
//! cost. [`to_json`] writes the same bytes, checking each string for what needs escaping
//! eight bytes at a time and copying it whole when nothing does (every key, id, amount and
//! date); the rest (strings that need escaping, numbers, errors, extensions) goes through
//! serde_json as before. The plain read path writes with serde_json alone
//! ([`into_plain_response`]).

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Name, Response, Value};
use axum::body::Body;
use axum::http::{HeaderValue, header};

use super::http::MediaType;

/// The answer to a GraphQL request in `media`: the JSON body (without `data` when nothing was
/// executed), its content type and status (see [`super::http`]), the cache-control and the
/// headers the resolvers set.
pub fn into_response(mut response: Response, media: MediaType) -> axum::response::Response {
    with_request_id(&mut response);
    let executed = executed(&response);
    let body = if executed {
        to_json(&response)
    } else {
        errors_only(&response)
    };
    with_headers(body, response, media, executed)
}

/// [`into_response`] with the JSON written by serde_json (the plain read path).
pub fn into_plain_response(mut response: Response, media: MediaType) -> axum::response::Response {
    with_request_id(&mut response);
    let executed = executed(&response);
    let body = if executed {
        serde_json::to_vec(&response).unwrap_or_default()
    } else {
        errors_only(&response)
    };
    with_headers(body, response, media, executed)
}

/// Every error names the request it answers (`extensions.requestId`, see
/// [`crate::telemetry`]).
pub fn with_request_id(response: &mut Response) {
    if response.errors.is_empty() {
        return;
    }
    let Some(id) = crate::telemetry::current_request_id() else {
        return;
    };
    for error in &mut response.errors {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", id.as_str());
    }
}

/// Whether the operation ran: errors raised before execution (syntax, validation, variables,
/// a refused document) are the only ones without a path, and leave no data.
fn executed(response: &Response) -> bool {
    !(response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty()))
}

/// `{"errors": […]}`: the answer of a request that did not execute (the GraphQL
/// specification: no `data` entry).
fn errors_only(response: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"errors\":");
    write_serde(&mut out, &response.errors);
    if !response.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":");
        write_serde(&mut out, &response.extensions);
    }
    out.push(b'}');
    out
}

fn with_headers(
    body: Vec<u8>,
    response: Response,
    media: MediaType,
    executed: bool,
) -> axum::response::Response {
    let mut http = axum::response::Response::new(Body::from(body));
    *http.status_mut() = media.status(!executed);
    let headers = http.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if response.is_ok()
        && let Some(cache_control) = response.cache_control.value()
        && let Ok(value) = HeaderValue::from_str(&cache_control)
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.extend(response.http_headers);
    http
}

/// The JSON of `response`: what `serde_json::to_vec(&response)` writes, byte for byte.
pub fn to_json(response: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"{\"data\":");
    write_value(&mut out, &response.data);
    if !response.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":");
        write_serde(&mut out, &response.extensions);
    }
    if !response.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        write_serde(&mut out, &response.errors);
    }
    out.push(b'}');
    out
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::String(text) => write_str(out, text),
        Value::Enum(name) => write_str(out, name),
        Value::List(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (index, (key, field)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, field);
            }
            out.push(b'}');
        }
        Value::Number(_) | Value::Binary(_) => write_serde(out, value),
    }
}

/// A JSON string: copied whole when no byte needs escaping, else through serde_json.
fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if needs_escaping(bytes) {
        write_serde(out, text);
    } else {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    }
}

/// Whether `bytes` hold one that JSON strings escape (what serde_json escapes: control
/// characters, `"` and `\`), tested eight at a time: a byte below `n` in word `w` leaves a
/// high bit in `(w - n × 0x01…01) & !w & 0x80…80` (the lowest such byte always does, so the
/// test is exact for "any"), and a byte equal to `c` is a zero byte of `w ^ c × 0x01…01`.
fn needs_escaping(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w;
    let mut words = bytes.chunks_exact(8);
    let mut found = 0;
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_ne_bytes(w);
        found |= below(w, 0x20)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1);
    }
    found & HIGHS != 0
        || words
            .remainder()
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// What serde_json writes for `value` (writing into a `Vec` cannot fail; a value that cannot
/// be written, which async-graphql's types never are, would be written as `null`).
fn write_serde<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// The response keys of a query's root fields in the order the document selects them
/// (fragments flattened, first occurrence first); `None` for anything else, or one field.
///
/// async-graphql resolves the root fields of a query concurrently and writes each one into
/// the answer as it completes, so their order followed timing; the GraphQL specification
/// orders them as selected. [`order_root`] puts them back.
pub fn root_order(document: &ExecutableDocument, operation: Option<&str>) -> Option<Vec<Name>> {
    let operation = super::http::selected_operation(document, operation)?;
    if operation.node.ty != OperationType::Query {
        return None;
    }
    let mut keys = Vec::new();
    let mut spread = Vec::new();
    collect_keys(
        &operation.node.selection_set.node,
        document,
        &mut keys,
        &mut spread,
    );
    (keys.len() > 1).then_some(keys)
}

fn collect_keys<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    keys: &mut Vec<Name>,
    spread: &mut Vec<&'a Name>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key();
                if !keys.contains(&key.node) {
                    keys.push(key.node.clone());
                }
            }
            Selection::InlineFragment(fragment) => {
                collect_keys(&fragment.node.selection_set.node, document, keys, spread);
            }
            Selection::FragmentSpread(fragment) => {
                // Each fragment once: a cycle (refused by validation) cannot loop here.
                let name = &fragment.node.fragment_name.node;
                if spread.contains(&name) {
                    continue;
                }
                spread.push(name);
                if let Some(definition) = document.fragments.get(name) {
                    collect_keys(&definition.node.selection_set.node, document, keys, spread);
                }
            }
        }
    }
}

/// Puts the root fields of `response` in the `order` of [`root_order`].
pub fn order_root(response: &mut Response, order: &[Name]) {
    let Value::Object(fields) = &mut response.data else {
        return;
    };
    let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(fields.len());
    for key in order {
        if let Some(value) = fields.shift_remove(key) {
            ordered.insert(key.clone(), value);
        }
    }
    ordered.extend(fields.drain(..));
    *fields = ordered;
}

#[cfg(test)]
mod tests {
    use async_graphql::indexmap::IndexMap;
    use async_graphql::{Name, Number, ServerError};

    use super::*;

    #[test]
    fn the_json_is_serde_jsons_byte_for_byte() {
        let mut object = IndexMap::new();
        object.insert(Name::new("id"), Value::String("0b6a…-uuid".to_owned()));
        object.insert(
            Name::new("needs \"escaping\""),
            Value::String("tab\there, quote \" backslash \\ newline\n \u{1} é 日本".to_owned()),
        );
        object.insert(Name::new("status"), Value::Enum(Name::new("ACTIVE")));
        object.insert(Name::new("count"), Value::Number(Number::from(940)));
        object.insert(
            Name::new("ratio"),
            Value::Number(Number::from_f64(0.1).unwrap_or(Number::from(0))),
        );
        object.insert(Name::new("negative"), Value::Number(Number::from(-3)));
        object.insert(Name::new("yes"), Value::Boolean(true));
        object.insert(Name::new("no"), Value::Boolean(false));
        object.insert(Name::new("nothing"), Value::Null);
        object.insert(Name::new("empty"), Value::List(Vec::new()));
        object.insert(Name::new("emptyObject"), Value::Object(IndexMap::new()));
        object.insert(Name::new("bytes"), Value::Binary(vec![1u8, 2, 255].into()));
        object.insert(
            Name::new("list"),
            Value::List(vec![
                Value::Null,
                Value::String(String::new()),
                Value::Boolean(true),
            ]),
        );
        let mut response = Response::new(Value::Object(object));
        for case in 0..3 {
            if case == 1 {
                response
                    .errors
                    .push(ServerError::new("boom \"quoted\"", None));
            }
            if case == 2 {
                response
                    .extensions
                    .insert("cost".to_owned(), Value::Number(Number::from(12)));
            }
            let expected = serde_json::to_vec(&response).unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&to_json(&response)),
                String::from_utf8_lossy(&expected)
            );
        }
    }

    #[test]
    fn every_byte_that_needs_escaping_is_found_at_every_position() {
        for length in 0..20 {
            let plain: Vec<u8> = (0..length).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(!needs_escaping(&plain));
            let high = vec![0xffu8; length];
            assert!(!needs_escaping(&high));
            for position in 0..length {
                for byte in 0..=255u8 {
                    let mut bytes = plain.clone();
                    bytes[position] = byte;
                    let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
                    assert_eq!(
                        needs_escaping(&bytes),
                        expected,
                        "{byte} at {position} of {length}"
                    );
                    // Next to bytes with the high bit set (UTF-8 letters) too.
                    let mut bytes = high.clone();
                    bytes[position] = byte;
                    assert_eq!(needs_escaping(&bytes), expected, "{byte} among 0xff");
                }
            }
        }
    }

    #[test]
    fn an_empty_response_is_data_null() {
        let empty = Response::new(Value::Null);
        assert_eq!(to_json(&empty), b"{\"data\":null}");
    }
}
