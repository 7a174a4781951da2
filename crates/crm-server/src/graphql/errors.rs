//! Gives every error in a response a stable `extensions.code`, whatever produced it
//! ([`classify_response`], called by the HTTP handler).
//!
//! - Request-level errors: `GRAPHQL_PARSE_FAILED` (syntax) or `GRAPHQL_VALIDATION_FAILED`
//!   (unknown field, wrong literal type, limits).
//! - Field errors raised from an [`AppError`] keep its code and field, even when a resolver
//!   used `?` without `.extend()` (async-graphql keeps the error as the source).
//! - Argument values that fail to parse (a malformed UUID, an unknown enum value in a
//!   variable …) become `BAD_USER_INPUT`, with `extensions.field` naming the argument.
//! - Anything else is a bug: it is logged and masked as `INTERNAL_SERVER_ERROR`.
//!
//! Errors are then put in document order ([`in_document_order`]): the validator and the
//! resolvers find them in an order of their own (fragments from a map, concurrent fields in the
//! order they finish), and a client must read the same answer twice.

use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use std::cmp::Ordering;

use async_graphql::{PathSegment, Pos, Response, ServerError, Value};

use crate::error::{AppError, codes};

/// Gives every error of `response` its code (and field). `query` is the document that was
/// executed. Runs after execution, and only when there are errors: the read path pays nothing
/// (an async-graphql extension would wrap every field's resolution).
pub fn classify_response(response: &mut Response, query: &str) {
    if response.errors.is_empty() {
        return;
    }
    let document = async_graphql::parser::parse_query(query).ok();
    let stage = if document.is_none() {
        Stage::Parsing
    } else {
        Stage::Validating
    };
    for error in &mut response.errors {
        classify(error, stage, document.as_ref());
    }
    in_document_order(&mut response.errors);
}

/// Sorts errors by where they are in the document (errors without a location, such as a
/// variable's, first), then by their path in the answer (list items by index). Stable:
/// errors at one place keep their order.
pub fn in_document_order(errors: &mut [ServerError]) {
    errors.sort_by(|a, b| {
        let place = |error: &ServerError| error.locations.first().map(|pos| (pos.line, pos.column));
        place(a)
            .cmp(&place(b))
            .then_with(|| compare_paths(&a.path, &b.path))
    });
}

fn compare_paths(a: &[PathSegment], b: &[PathSegment]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (PathSegment::Index(x), PathSegment::Index(y)) => x.cmp(y),
            (PathSegment::Field(x), PathSegment::Field(y)) => x.cmp(y),
            (PathSegment::Index(_), PathSegment::Field(_)) => Ordering::Less,
            (PathSegment::Field(_), PathSegment::Index(_)) => Ordering::Greater,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Parsing,
    Validating,
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("code").is_some())
}

fn set_ext(error: &mut ServerError, name: &str, value: impl Into<Value>) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set(name, value);
}

fn classify(error: &mut ServerError, stage: Stage, document: Option<&ExecutableDocument>) {
    let from_app = app_error_source(error).map(|app| {
        app.log_if_internal();
        (
            app.public_message(),
            app.code(),
            app.field().map(str::to_owned),
            app.reason(),
            app.retry_after(),
        )
    });
    if let Some((message, code, field, reason, retry_after)) = from_app {
        if let Some(seconds) = retry_after {
            set_ext(error, "retryAfterSeconds", seconds);
        }
        error.message = message;
        set_ext(error, "code", code);
        if let Some(field) = field {
            set_ext(error, "field", field);
        }
        if let Some(reason) = reason {
            set_ext(error, "reason", reason);
        }
        return;
    }
    if !has_code(error) {
        if error.path.is_empty() {
            // A literal or variable value of the wrong type: the client's input, not its
            // document, is at fault.
            if let Some(argument) = invalid_argument(&error.message) {
                set_ext(error, "code", codes::BAD_USER_INPUT);
                set_ext(error, "field", argument);
                return;
            }
            let code = match stage {
                Stage::Parsing => codes::GRAPHQL_PARSE_FAILED,
                Stage::Validating => codes::GRAPHQL_VALIDATION_FAILED,
            };
            set_ext(error, "code", code);
            return;
        }
        if error.source.is_some() {
            // A resolver returned a foreign error: a bug. Log it, show nothing of it.
            tracing::error!(error = %error.message, path = ?error.path, "unclassified resolver error");
            error.message = "internal server error".to_owned();
            set_ext(error, "code", codes::INTERNAL_SERVER_ERROR);
            return;
        }
        // No source and a path: async-graphql failed to parse an argument value.
        set_ext(error, "code", codes::BAD_USER_INPUT);
    }
    let is_input_error = error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .is_some_and(|code| *code == Value::from(codes::BAD_USER_INPUT));
    let has_field = error
        .extensions
        .as_ref()
        .is_some_and(|ext| ext.get("field").is_some());
    if is_input_error && !has_field {
        let argument = error
            .locations
            .first()
            .and_then(|pos| document.and_then(|doc| argument_at(doc, *pos)));
        if let Some(argument) = argument {
            set_ext(error, "field", argument);
        }
    }
}

/// `Invalid value for argument "input.status", …` → `status`.
fn invalid_argument(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    let path = &rest[..rest.find('"')?];
    path.rsplit('.').next().map(str::to_owned)
}

fn app_error_source(error: &ServerError) -> Option<&AppError> {
    error
        .source::<AppError>()
        .or_else(|| error.source::<Arc<AppError>>().map(|arc| arc.as_ref()))
}

/// The name of the argument whose value sits at `pos`.
fn argument_at(document: &ExecutableDocument, pos: Pos) -> Option<String> {
    let operations = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|fragment| &fragment.node.selection_set.node);
    operations
        .chain(fragments)
        .find_map(|set| argument_in(set, pos))
}

fn argument_in(set: &SelectionSet, pos: Pos) -> Option<String> {
    set.items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find(|(_, value)| value.pos == pos)
                .map(|(name, _)| name.node.to_string())
                .or_else(|| argument_in(&field.node.selection_set.node, pos)),
            Selection::InlineFragment(fragment) => {
                argument_in(&fragment.node.selection_set.node, pos)
            }
            Selection::FragmentSpread(_) => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(message: &str, at: Option<(usize, usize)>, path: &[PathSegment]) -> ServerError {
        let mut error = ServerError::new(message, at.map(|(line, column)| Pos { line, column }));
        error.path = path.to_vec();
        error
    }

    #[test]
    fn errors_are_put_in_document_order_then_answer_order() {
        let field = |name: &str| PathSegment::Field(name.to_owned());
        let mut errors = vec![
            error(
                "contract of item 10",
                Some((1, 344)),
                &[field("payments"), PathSegment::Index(10), field("contract")],
            ),
            error(
                "contract of item 2",
                Some((1, 344)),
                &[field("payments"), PathSegment::Index(2), field("contract")],
            ),
            error(
                "item 1",
                Some((1, 94)),
                &[field("payments"), PathSegment::Index(1)],
            ),
            error("second line", Some((2, 3)), &[]),
            error("variable", None, &[]),
            error(
                "item 0",
                Some((1, 94)),
                &[field("payments"), PathSegment::Index(0)],
            ),
        ];
        in_document_order(&mut errors);
        let order: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            order,
            [
                "variable",
                "item 0",
                "item 1",
                "contract of item 2",
                "contract of item 10",
                "second line"
            ]
        );
    }
}
