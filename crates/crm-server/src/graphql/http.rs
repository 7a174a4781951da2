//! GraphQL over HTTP, the server's side of the
//! [GraphQL-over-HTTP specification](https://graphql.github.io/graphql-over-http/draft/):
//! which media type an answer is written in (`Accept`), which status it carries, and how a
//! `GET` request carries its operation (`query`, `operationName`, `variables` and `extensions`
//! URL parameters, the last two JSON).
//!
//! - `application/graphql-response+json` when the client lists it (and does not prefer
//!   `application/json`): a request that fails before execution (syntax, validation,
//!   variables, a refused document) is `400` without `data`; an executed one is `200`.
//! - `application/json` without `Accept`, for `*/*`, `application/*` or `application/json`:
//!   every answer to a well-formed request is `200` (errors before execution still have no
//!   `data`, as the GraphQL specification says).
//! - Anything else: `406`.

use async_graphql::Request;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
};
use async_graphql::{Positioned, Variables};
use axum::http::{HeaderMap, StatusCode, header};

use super::request::Rejection;

/// The media types of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: statuses say whether the request executed.
    GraphqlResponse,
    /// `application/json`: `200` for every well-formed request.
    Json,
}

impl MediaType {
    /// The `Content-Type` of an answer in this media type.
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }

    /// The status of an answer: `request_error` when nothing was executed.
    pub fn status(self, request_error: bool) -> StatusCode {
        match (self, request_error) {
            (MediaType::GraphqlResponse, true) => StatusCode::BAD_REQUEST,
            _ => StatusCode::OK,
        }
    }
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The media type to answer in, from the request's `Accept` header.
pub fn negotiate(headers: &HeaderMap) -> Result<MediaType, Rejection> {
    let mut accepts = headers.get_all(header::ACCEPT).iter().peekable();
    if accepts.peek().is_none() {
        return Ok(MediaType::Json);
    }
    let (mut graphql, mut json) = (0.0f32, 0.0f32);
    for value in accepts {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|param| param.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, q)| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            match essence.as_str() {
                GRAPHQL_RESPONSE => graphql = graphql.max(quality),
                "application/json" | "application/*" | "*/*" => json = json.max(quality),
                _ => {}
            }
        }
    }
    if graphql > 0.0 && graphql >= json {
        Ok(MediaType::GraphqlResponse)
    } else if json > 0.0 {
        Ok(MediaType::Json)
    } else {
        Err(Rejection {
            status: StatusCode::NOT_ACCEPTABLE,
            code: "NOT_ACCEPTABLE",
            message: format!("answers are {GRAPHQL_RESPONSE} or application/json: accept one"),
        })
    }
}

/// Whether the request asks for a page (`Accept: text/html`): a browser opening `/graphql`.
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            range
                .split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/html"))
        })
}

/// The GraphQL request a `GET` carries in its URL parameters (`query`, or `documentId` /
/// `extensions.persistedQuery` for a trusted document); `None` when it names no document.
pub fn get_request(raw_query: Option<&str>) -> Result<Option<Request>, Rejection> {
    let mut query = None;
    let mut operation_name = None;
    let mut variables = None;
    let mut extensions = None;
    let mut document_id = None;
    for (name, value) in url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()) {
        let slot = match name.as_ref() {
            "query" => &mut query,
            "operationName" => &mut operation_name,
            "variables" => &mut variables,
            "extensions" => &mut extensions,
            "documentId" => &mut document_id,
            _ => continue,
        };
        if slot.is_some() {
            return Err(Rejection::bad(format!(
                "the `{name}` parameter is given twice"
            )));
        }
        *slot = Some(value.into_owned());
    }
    let persisted = extensions
        .as_deref()
        .is_some_and(|text| text.contains("persistedQuery"));
    if query.is_none() && document_id.is_none() && !persisted {
        return Ok(None);
    }
    let mut request = Request::new(query.unwrap_or_default());
    if let Some(id) = document_id {
        request.extensions.insert(
            super::trusted::DOCUMENT_ID.to_owned(),
            async_graphql::Value::String(id),
        );
    }
    if let Some(name) = operation_name.filter(|name| !name.is_empty()) {
        request = request.operation_name(name);
    }
    if let Some(text) = variables.filter(|text| !text.is_empty()) {
        let value = json_object("variables", &text)?;
        request = request.variables(Variables::from_json(value));
    }
    if let Some(text) = extensions.filter(|text| !text.is_empty()) {
        let serde_json::Value::Object(map) = json_object("extensions", &text)? else {
            return Err(Rejection::bad("`extensions` must be a JSON object"));
        };
        for (key, value) in map {
            let value = async_graphql::Value::from_json(value)
                .map_err(|err| Rejection::bad(format!("`extensions` is not valid: {err}")))?;
            request.extensions.insert(key, value);
        }
    }
    Ok(Some(request))
}

fn json_object(name: &str, text: &str) -> Result<serde_json::Value, Rejection> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => Err(Rejection::bad(format!("`{name}` must be a JSON object"))),
        Err(err) => Err(Rejection::bad(format!("`{name}` is not valid JSON: {err}"))),
    }
}

/// The operation a request runs: the one named, or the only one.
pub fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        _ => None,
    }
}

/// A `GET` may only run a query (the GraphQL-over-HTTP specification: `405`, `Allow: POST`).
pub fn refuse_over_get(document: &ExecutableDocument, name: Option<&str>) -> Option<Rejection> {
    let operation = selected_operation(document, name)?;
    (operation.node.ty != OperationType::Query).then(|| Rejection {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "METHOD_NOT_ALLOWED",
        message: format!(
            "a {} is sent with POST: GET runs queries only",
            match operation.node.ty {
                OperationType::Mutation => "mutation",
                _ => "subscription",
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&str]) -> Result<MediaType, StatusCode> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT,
                HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")),
            );
        }
        negotiate(&headers).map_err(|rejection| rejection.status)
    }

    #[test]
    fn the_answer_is_in_a_media_type_the_client_accepts() {
        use MediaType::*;
        assert_eq!(accept(&[]), Ok(Json));
        assert_eq!(accept(&["*/*"]), Ok(Json));
        assert_eq!(accept(&["application/json"]), Ok(Json));
        assert_eq!(
            accept(&["application/graphql-response+json"]),
            Ok(GraphqlResponse)
        );
        assert_eq!(
            accept(&["application/graphql-response+json, application/json;q=0.9"]),
            Ok(GraphqlResponse)
        );
        assert_eq!(
            accept(&["application/graphql-response+json;q=0.5, application/json"]),
            Ok(Json)
        );
        assert_eq!(
            accept(&["text/html", "application/graphql-response+json"]),
            Ok(GraphqlResponse)
        );
        assert_eq!(
            accept(&["text/html,application/xhtml+xml,*/*;q=0.8"]),
            Ok(Json)
        );
        assert_eq!(accept(&["text/html"]), Err(StatusCode::NOT_ACCEPTABLE));
        assert_eq!(
            accept(&["application/json;q=0"]),
            Err(StatusCode::NOT_ACCEPTABLE)
        );
    }

    #[test]
    fn get_parameters_make_the_request() {
        let request = get_request(Some(
            "query=query%20Q(%24id%3A%20UUID!)%20%7B%20client(id%3A%20%24id)%20%7B%20id%20%7D%20%7D\
             &operationName=Q&variables=%7B%22id%22%3A%22x%22%7D&extensions=%7B%22a%22%3A1%7D",
        ));
        let Ok(Some(request)) = request else {
            panic!("{request:?}");
        };
        assert_eq!(
            request.query,
            "query Q($id: UUID!) { client(id: $id) { id } }"
        );
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            request
                .variables
                .get("id")
                .map(ToString::to_string)
                .as_deref(),
            Some("\"x\"")
        );
        assert!(request.extensions.contains_key("a"));
        assert!(matches!(get_request(Some("operationName=Q")), Ok(None)));
        for bad in [
            "query=x&variables=%5B%5D",
            "query=x&variables=nope",
            "query=x&query=y",
            "query=x&extensions=1",
        ] {
            assert_eq!(
                get_request(Some(bad)).err().map(|r| r.status),
                Some(StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }
}
