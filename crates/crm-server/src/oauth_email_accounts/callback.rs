//! `GET /oauth/callback`: where providers send users back after the consent screen.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::connect::{Callback, CallbackError, finish};
use crate::app::AppState;

/// Finishes the connection; sends the user back to the `returnTo` given to
/// `startEmailAccountConnection` (with `mailbox=connected&accountId=…` or
/// `mailbox=error&code=…`), or answers a short page (a JSON error when it failed).
pub async fn callback(State(state): State<AppState>, Query(params): Query<Callback>) -> Response {
    let Some(cipher) = state.cipher.as_deref() else {
        return crate::error::http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::error::codes::INTERNAL_SERVER_ERROR,
            "mailbox tokens cannot be encrypted on this server",
        );
    };
    match finish(&state.db, cipher, &state.mailboxes, params).await {
        Ok((account, Some(return_to))) => back(
            &return_to,
            &[
                ("mailbox", "connected"),
                ("accountId", &account.id.to_string()),
            ],
        ),
        Ok((account, None)) => Html(format!(
            "<!doctype html><meta charset=utf-8><title>Mailbox connected</title>\
             <p>The mailbox {} is connected. You can close this window.</p>",
            escape(&account.email)
        ))
        .into_response(),
        Err(CallbackError {
            code,
            return_to: Some(return_to),
            ..
        }) => back(&return_to, &[("mailbox", "error"), ("code", code)]),
        Err(err) => crate::error::http_error(
            StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST),
            err.code,
            &err.message,
        ),
    }
}

/// A `303` to `url` with `parameters` added to its query.
fn back(url: &str, parameters: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(url) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    url.query_pairs_mut().extend_pairs(parameters);
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
