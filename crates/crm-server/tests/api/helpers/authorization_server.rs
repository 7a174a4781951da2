//! A small OAuth 2 authorisation server on 127.0.0.1, as a mail provider runs one: the
//! authorisation endpoint (code flow, PKCE S256 required, consent given at once), the token
//! endpoint (`authorization_code` checked against the verifier and the redirect URI,
//! `refresh_token`; client authentication by HTTP Basic or form, RFC 6749 §2.3.1), and a
//! userinfo endpoint giving the mailbox's address. Refresh tokens can be revoked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "crm-test-client";
pub const CLIENT_SECRET: &str = "crm-test-client-secret";
pub const MAILBOX: &str = "rep@mail.example";

#[derive(Default)]
pub struct Issued {
    /// code → (redirect URI, PKCE challenge).
    codes: HashMap<String, (String, String)>,
    /// Refresh tokens, and whether each was revoked.
    pub refresh_tokens: HashMap<String, bool>,
    /// Access tokens issued, in order.
    pub access_tokens: Vec<String>,
    /// The grant types the token endpoint was asked for, in order.
    pub grants: Vec<String>,
    next: u64,
}

pub struct AuthorizationServer {
    pub url: String,
    pub issued: Arc<Mutex<Issued>>,
    _task: tokio::task::JoinHandle<()>,
}

impl AuthorizationServer {
    pub async fn start() -> AuthorizationServer {
        let issued = Arc::new(Mutex::new(Issued::default()));
        let router = Router::new()
            .route("/authorize", axum::routing::get(authorize))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", axum::routing::get(userinfo))
            .with_state(issued.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        AuthorizationServer {
            url,
            issued,
            _task: task,
        }
    }

    /// The user withdraws the server's access: every refresh token stops working.
    pub fn revoke_all(&self) {
        for revoked in self.issued.lock().unwrap().refresh_tokens.values_mut() {
            *revoked = true;
        }
    }
}

type Shared = Arc<Mutex<Issued>>;

/// The authorisation endpoint's answer: `302 Found` (RFC 6749 §4.1.2).
fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

async fn authorize(
    State(issued): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    let redirect = param("redirect_uri");
    let refuse = |error: &str| {
        found(&format!(
            "{redirect}?error={error}&state={}",
            param("state")
        ))
    };
    if param("client_id") != CLIENT_ID || redirect.is_empty() {
        return (StatusCode::BAD_REQUEST, "unknown client").into_response();
    }
    if param("response_type") != "code" {
        return refuse("unsupported_response_type");
    }
    if param("code_challenge").is_empty() || param("code_challenge_method") != "S256" {
        return refuse("invalid_request");
    }
    let mut issued = issued.lock().unwrap();
    issued.next += 1;
    let code = format!("code-{}", issued.next);
    issued
        .codes
        .insert(code.clone(), (redirect.clone(), param("code_challenge")));
    let state = url::form_urlencoded::byte_serialize(param("state").as_bytes()).collect::<String>();
    found(&format!("{redirect}?code={code}&state={state}"))
}

fn error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

async fn token(
    State(issued): State<Shared>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    let (id, secret) = match basic {
        Some(pair) => {
            let (id, secret) = pair.split_once(':').unwrap_or_default();
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (decode(id), decode(secret))
        }
        None => (field("client_id"), field("client_secret")),
    };
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let mut issued = issued.lock().unwrap();
    issued.grants.push(field("grant_type"));
    match field("grant_type").as_str() {
        "authorization_code" => {
            let Some((redirect, challenge)) = issued.codes.remove(&field("code")) else {
                return error("invalid_grant", "unknown or used code");
            };
            if redirect != field("redirect_uri") {
                return error("invalid_grant", "redirect_uri differs");
            }
            let computed =
                URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
            if computed != challenge {
                return error("invalid_grant", "PKCE verification failed");
            }
        }
        "refresh_token" => match issued.refresh_tokens.get(&field("refresh_token")) {
            Some(false) => {}
            _ => return error("invalid_grant", "Token has been expired or revoked."),
        },
        _ => return error("unsupported_grant_type", "no"),
    }
    issued.next += 1;
    let access = format!("access-{}", issued.next);
    issued.access_tokens.push(access.clone());
    let mut answer = json!({ "access_token": access, "token_type": "Bearer", "expires_in": 3600 });
    if field("grant_type") == "authorization_code" {
        let refresh = format!("refresh-{}", issued.next);
        issued.refresh_tokens.insert(refresh.clone(), false);
        answer["refresh_token"] = json!(refresh);
    }
    Json(answer).into_response()
}

async fn userinfo(State(issued): State<Shared>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if !issued.lock().unwrap().access_tokens.contains(&bearer) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({ "sub": "1042", "email": MAILBOX, "email_verified": true })).into_response()
}
