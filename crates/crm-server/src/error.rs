//! One error type for the whole server, and its mapping to GraphQL errors.
//!
//! Every error a client sees carries a stable `extensions.code` (see [`codes`]) and, for input
//! errors, `extensions.field`. Internal errors are logged with their cause and answered as
//! `INTERNAL_SERVER_ERROR` with a generic message: no SQL, no stack trace.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// The stable values of `extensions.code`.
pub mod codes {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// Too many attempts (sign-in); `extensions.retryAfterSeconds` says when to try again.
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// The database could not be reached (restarting, failing over) or the server is busy:
    /// try again in a moment.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// The document is not valid GraphQL (syntax).
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document does not match the schema (unknown field, wrong argument type …).
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The last error of a response that had more than `CRM_MAX_ERRORS`: how many were left out.
    pub const TOO_MANY_ERRORS: &str = "TOO_MANY_ERRORS";
}

/// What can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input breaks a rule; `field` names the argument or input field (camelCase),
    /// `reason` the rule when there are several for one field (`FILE_TOO_LARGE` …).
    #[error("{message}")]
    BadUserInput {
        field: Option<String>,
        message: String,
        reason: Option<&'static str>,
    },
    /// A referenced row does not exist (or is not visible to the caller).
    #[error("{message}")]
    NotFound {
        field: Option<String>,
        message: String,
    },
    /// The write clashes with the current state (unique value taken, stale `updatedAt`, a
    /// business rule …); `reason` is a stable machine-readable name of the rule.
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
        reason: Option<&'static str>,
    },
    /// No valid credentials were sent (none, expired, revoked, or wrong); the message says
    /// which, without telling which part of a sign-in was wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many attempts; try again after this many seconds.
    #[error("too many attempts: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The caller is signed in but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A database failure that is not the client's fault.
    #[error("database error")]
    Database(#[source] DbErr),
    /// The database could not be reached, or the connection to it was lost.
    #[error("the database is unavailable: try again in a moment")]
    Unavailable(#[source] DbErr),
    /// Any other failure that is not the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            field: Some(field.into()),
            message: message.into(),
            reason: None,
        }
    }

    /// Bad input refused by the rule `reason` (`UNSUPPORTED_FILE_TYPE` …).
    pub fn invalid(field: &str, reason: &'static str, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            field: Some(field.to_owned()),
            message: message.into(),
            reason: Some(reason),
        }
    }

    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::NotFound {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Signed in, but the role does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        AppError::Unauthenticated(message.into())
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Conflict {
            field: Some(field.into()),
            message: message.into(),
            reason: None,
        }
    }

    /// A business rule refused the change: `reason` names the rule (`KYC_INCOMPLETE` …).
    pub fn rule(field: Option<&str>, reason: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            field: field.map(str::to_owned),
            message: message.into(),
            reason: Some(reason),
        }
    }

    /// The stable rule name of a refused change, if any.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            AppError::Conflict { reason, .. } | AppError::BadUserInput { reason, .. } => *reason,
            _ => None,
        }
    }

    /// Seconds to wait before trying again (`RATE_LIMITED`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadUserInput { .. } => codes::BAD_USER_INPUT,
            AppError::NotFound { .. } => codes::NOT_FOUND,
            AppError::Conflict { .. } => codes::CONFLICT,
            AppError::Unauthenticated(_) => codes::UNAUTHENTICATED,
            AppError::RateLimited { .. } => codes::RATE_LIMITED,
            AppError::Forbidden(_) => codes::FORBIDDEN,
            AppError::Database(_) | AppError::Internal(_) => codes::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_) => codes::SERVICE_UNAVAILABLE,
        }
    }

    /// The input field concerned, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::BadUserInput { field, .. }
            | AppError::NotFound { field, .. }
            | AppError::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The message shown to the client: internal causes are never shown.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Database(_) | AppError::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Logs internal errors with their cause (once, where they are turned into a response).
    pub fn log_if_internal(&self) {
        match self {
            AppError::Database(err) => tracing::error!(error = %err, "database error"),
            AppError::Internal(err) => tracing::error!(error = %err, "internal error"),
            AppError::Unavailable(err) => tracing::warn!(error = %err, "database unavailable"),
            _ => {}
        }
    }
}

impl From<DbErr> for AppError {
    /// Constraint violations that slip past validation are the client's fault and say so;
    /// anything else is internal.
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => AppError::Conflict {
                field: field_of_constraint(&detail),
                message: "a record with this value already exists".to_owned(),
                reason: Some("DUPLICATE"),
            },
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => AppError::BadUserInput {
                field: field_of_constraint(&detail),
                message: "the referenced record does not exist or is still in use".to_owned(),
                reason: None,
            },
            _ if crate::db::is_unreachable(&err) => AppError::Unavailable(err),
            _ => AppError::Database(err),
        }
    }
}

/// Finds the input field behind a constraint from the database's message: PostgreSQL names
/// the constraint (`contracts_contract_number_key`, `payments_contract_id_fkey`), SQLite the
/// column (`contracts.contract_number`).
fn field_of_constraint(detail: &str) -> Option<String> {
    const COLUMNS: [&str; 10] = [
        "idempotency_key",
        "contract_number",
        "username",
        "email",
        "client_id",
        "contract_id",
        "commercial_id",
        "assigned_to",
        "user_id",
        "uploaded_by",
    ];
    COLUMNS
        .iter()
        .find(|column| detail.contains(*column))
        .map(|column| camel_case(column))
}

/// `contract_number` → `contractNumber`.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        self.log_if_internal();
        async_graphql::Error::new(self.public_message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Some(field) = self.field() {
                ext.set("field", field);
            }
            if let Some(reason) = self.reason() {
                ext.set("reason", reason);
            }
            if let Some(seconds) = self.retry_after() {
                ext.set("retryAfterSeconds", seconds);
            }
        })
    }
}

/// An error answered outside GraphQL (a refused request body, a download): the same JSON
/// shape, `{"errors": [{"message", "extensions": {"code"}}]}`.
pub fn http_error(
    status: axum::http::StatusCode,
    code: &str,
    message: &str,
) -> axum::response::Response {
    error_body(status, code, None, message)
}

/// [`http_error`] about one parameter or header (`extensions.field`).
pub fn http_error_for(
    status: axum::http::StatusCode,
    code: &str,
    field: &str,
    message: &str,
) -> axum::response::Response {
    error_body(status, code, Some(field), message)
}

fn error_body(
    status: axum::http::StatusCode,
    code: &str,
    field: Option<&str>,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::Json(error_json(code, field, message))).into_response()
}

/// `{"errors": [{"message", "extensions": {"code", "field"?, "requestId"?}}]}`: the body of an
/// error answered outside GraphQL's execution.
pub fn error_json(code: &str, field: Option<&str>, message: &str) -> serde_json::Value {
    let mut extensions = serde_json::json!({ "code": code });
    if let Some(field) = field {
        extensions["field"] = field.into();
    }
    if let Some(id) = crate::telemetry::current_request_id() {
        extensions["requestId"] = id.as_str().into();
    }
    serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] })
}

/// The result of service functions.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_cases_column_names() {
        assert_eq!(camel_case("contract_number"), "contractNumber");
        assert_eq!(camel_case("id"), "id");
    }

    #[test]
    fn names_the_field_of_a_postgres_or_sqlite_constraint() {
        assert_eq!(
            field_of_constraint(
                "duplicate key value violates unique constraint \"contracts_contract_number_key\""
            )
            .as_deref(),
            Some("contractNumber")
        );
        assert_eq!(
            field_of_constraint("UNIQUE constraint failed: contracts.contract_number").as_deref(),
            Some("contractNumber")
        );
    }

    #[test]
    fn a_database_out_of_reach_is_unavailable_not_internal() {
        let err = AppError::from(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "connection refused to 10.0.0.1".into(),
        )));
        assert_eq!(err.code(), codes::SERVICE_UNAVAILABLE);
        assert!(err.public_message().contains("try again"));
        assert!(!err.public_message().contains("10.0.0.1"));
        let refused = AppError::from(DbErr::Custom("syntax error".into()));
        assert_eq!(refused.code(), codes::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn hides_internal_causes() {
        let err = AppError::Internal("connection refused to 10.0.0.1".into());
        assert_eq!(err.code(), codes::INTERNAL_SERVER_ERROR);
        assert!(!err.public_message().contains("10.0.0.1"));
    }
}
