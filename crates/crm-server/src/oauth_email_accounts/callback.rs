//! `GET /oauth/callback`: where providers send users back after the consent screen.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::connect::{Callback, CallbackError, Exchanged, finish};
use crate::app::AppState;

/// Takes the provider's answer; sends the user back to the `returnTo` given to
/// `startEmailAccountConnection` with `mailbox=authorized&connection=<code>` (the SPA then
/// calls `completeEmailAccountConnection(connection:)` as the signed-in user) or
/// `mailbox=error&code=…`; without `returnTo`, a short page showing the code to complete with
/// (a JSON error when it failed).
pub async fn callback(State(state): State<AppState>, Query(params): Query<Callback>) -> Response {
    let Some(cipher) = state.cipher.as_deref() else {
        return crate::error::http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::error::codes::INTERNAL_SERVER_ERROR,
            "mailbox tokens cannot be encrypted on this server",
        );
    };
    match finish(&state.db, cipher, &state.mailboxes, params).await {
        Ok(Exchanged {
            completion,
            return_to: Some(return_to),
            ..
        }) => back(
            &return_to,
            &[("mailbox", "authorized"), ("connection", &completion)],
        ),
        Ok(Exchanged {
            completion,
            address,
            return_to: None,
        }) => Html(format!(
            "<!doctype html><meta charset=utf-8><title>Mailbox authorised</title>\
             <p>The mailbox {} is authorised. To connect it to your account, return to the CRM \
             and complete the connection within ten minutes with this code \
             (<code>completeEmailAccountConnection</code>):</p><pre>{}</pre>",
            escape(&address),
            escape(&completion)
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
