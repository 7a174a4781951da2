//! Subscriptions over WebSocket: `GET /graphql` upgraded with the `graphql-transport-ws`
//! protocol (async-graphql's implementation of it, driven here).
//!
//! - The credentials come in `connection_init`'s payload (`{"Authorization": "Bearer …"}`,
//!   or `{"token": "…"}`), or in the upgrade request's `Authorization` header; refused: close
//!   `4403`. No `connection_init` within `CRM_WS_INIT_SECS`: `4408`.
//! - They are checked again when the access token expires, every minute, and at once when the
//!   user's credentials change on any instance (sign-out, revocation, deactivation, new role
//!   or password): refused, the socket closes with `4403` and the reason; a new role applies
//!   to the next event.
//! - Bounds: `CRM_WS_MAX_CONNECTIONS` sockets (`503` past it), `CRM_MAX_SUBSCRIPTIONS` on the
//!   server and `CRM_WS_MAX_SUBSCRIPTIONS` per socket (an error `TOO_MANY_SUBSCRIPTIONS`), a
//!   subscriber `CRM_SUBSCRIPTION_LAG` changes behind closes with `1013` (resume with
//!   `after:`), a message that cannot be written within `CRM_WS_IDLE_SECS` drops the
//!   connection; the server pings every `CRM_WS_PING_SECS` and closes (`3008`) a client silent
//!   for `CRM_WS_IDLE_SECS`; a stopping server closes with `1001`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_graphql::http::{WebSocket as Protocol, WebSocketProtocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::SinkExt;
use futures_util::stream::{self, BoxStream, SplitSink, StreamExt};
use tokio::sync::{Notify, OwnedSemaphorePermit};

use super::events::Lagging;
use crate::app::AppState;
use crate::auth::RequestAuth;
use crate::auth::service::ClientInfo;
use crate::engine::access::Credentials;
use crate::engine::batch;
use crate::engine::loader::Loaders;
use crate::error::AppError;
use crate::graphql::{errors, limits};
use tracing::Instrument;

/// The sub-protocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Credentials are checked again at least this often (expired API tokens, missed changes).
const RECHECK: Duration = Duration::from_secs(60);

/// Answers an upgrade request: the socket, or why not.
pub fn upgrade(
    state: Arc<AppState>,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
) -> HttpResponse {
    let speaks = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim() == PROTOCOL);
    if !speaks {
        return crate::error::http_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "subscriptions speak the graphql-transport-ws protocol: ask for it in \
             Sec-WebSocket-Protocol",
        );
    }
    let Ok(place) = state.live.connections.clone().try_acquire_owned() else {
        return crate::error::http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "too many open connections (CRM_WS_MAX_CONNECTIONS): try again in a moment",
        );
    };
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let message_bytes = state.body_bytes;
    // The socket's log lines and error answers name the request that opened it.
    let id = crate::telemetry::current_request_id();
    let span = tracing::info_span!(
        "socket",
        request_id = id.as_ref().map(crate::telemetry::RequestId::as_str)
    );
    upgrade
        .protocols([PROTOCOL])
        // Small buffers: most sockets are idle most of the time.
        .read_buffer_size(256)
        .write_buffer_size(0)
        .max_message_size(message_bytes)
        .max_frame_size(message_bytes)
        .on_upgrade(move |socket| {
            crate::telemetry::with_request_id(id, serve(socket, state, credential, place))
                .instrument(span)
        })
        .into_response()
}

/// The credentials of a socket: read by every subscription's loaders at each event, replaced
/// when checked again.
pub struct SocketAuth(RwLock<RequestAuth>);

impl SocketAuth {
    fn get(&self) -> RequestAuth {
        self.0
            .read()
            .map_or(RequestAuth::Unavailable, |auth| auth.clone())
    }

    fn set(&self, auth: RequestAuth) {
        if let Ok(mut current) = self.0.write() {
            *current = auth;
        }
    }
}

impl Credentials for SocketAuth {
    fn viewer(&self) -> Result<crate::auth::Viewer, AppError> {
        self.get().viewer()
    }
}

/// What the connection's parts share: credentials, subscriptions running, why it closes.
struct Control {
    auth: Arc<SocketAuth>,
    /// The `Authorization` value the socket signed in with.
    credential: Mutex<Option<String>>,
    signed_in: AtomicBool,
    running: AtomicUsize,
    per_socket: usize,
    /// The close code and reason, once decided.
    close: Mutex<Option<(u16, String)>>,
    closing: Notify,
}

impl Control {
    fn close(&self, code: u16, reason: impl Into<String>) {
        if let Ok(mut close) = self.close.lock() {
            close.get_or_insert((code, reason.into()));
        }
        self.closing.notify_one();
    }

    fn closed(&self) -> Option<(u16, String)> {
        self.close.lock().ok().and_then(|close| close.clone())
    }

    fn credential(&self) -> Option<String> {
        self.credential.lock().ok().and_then(|c| c.clone())
    }

    fn user(&self) -> Option<uuid::Uuid> {
        self.auth.viewer().ok().map(|viewer| viewer.user_id)
    }
}

impl Lagging for Control {
    fn lagged(&self) {
        self.close(
            1013,
            "fell too many changes behind: subscribe again with `after`",
        );
    }
}

/// Runs one connection until either side closes it.
async fn serve(
    socket: WebSocket,
    state: Arc<AppState>,
    upgrade_credential: Option<String>,
    _place: OwnedSemaphorePermit,
) {
    let live = state.live.clone();
    let config = live.config.clone();
    let control = Arc::new(Control {
        auth: Arc::new(SocketAuth(RwLock::new(RequestAuth::Anonymous))),
        credential: Mutex::new(None),
        signed_in: AtomicBool::new(false),
        running: AtomicUsize::new(0),
        per_socket: config.max_subscriptions_per_connection,
        close: Mutex::new(None),
        closing: Notify::new(),
    });
    let (mut sink, source) = socket.split();
    let input = source
        .take_while(|message| std::future::ready(message.is_ok()))
        .filter_map(|message| {
            std::future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let init = {
        let control = control.clone();
        let auth = state.auth.clone();
        move |payload: serde_json::Value| async move {
            let credential = payload_credential(&payload).or(upgrade_credential);
            let checked = auth.authenticate(credential.as_deref()).await;
            if let Err(err) = checked.viewer() {
                let reason = match err {
                    AppError::Internal(_) => "credentials cannot be checked now".to_owned(),
                    err => err.to_string(),
                };
                control.close(4403, reason.clone());
                return Err(async_graphql::Error::new(reason));
            }
            control.auth.set(checked.clone());
            if let Ok(mut slot) = control.credential.lock() {
                *slot = credential;
            }
            control.signed_in.store(true, Ordering::SeqCst);
            let mut data = Data::default();
            data.insert(checked);
            data.insert(ClientInfo::default());
            data.insert(control.clone() as Arc<dyn Lagging>);
            Ok(data)
        }
    };
    let executor = SocketExecutor {
        state: state.clone(),
        control: control.clone(),
    };
    let mut messages = Protocol::new(executor, input, WebSocketProtocols::GraphQLWS)
        .on_connection_init(init)
        .keepalive_timeout(Duration::from_secs(config.idle_secs));
    let send_limit = Duration::from_secs(config.idle_secs);
    let ping_every = Duration::from_secs(config.ping_secs);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let init_deadline = tokio::time::sleep(Duration::from_secs(config.init_secs));
    tokio::pin!(init_deadline);
    let recheck = tokio::time::sleep(RECHECK);
    tokio::pin!(recheck);
    let mut credentials = live.credentials.subscribe();
    let mut shutdown = live.shutdown.subscribe();
    let mut armed = false;
    loop {
        let signed_in = control.signed_in.load(Ordering::SeqCst);
        if signed_in && !armed {
            // Signed in: the next check is due when the access token expires.
            let next = next_check(&state, control.credential().as_deref());
            recheck.as_mut().reset(tokio::time::Instant::now() + next);
            armed = true;
        }
        let outgoing = tokio::select! {
            message = messages.next() => match message {
                None => break,
                Some(WsMessage::Text(text)) => Message::Text(text.into()),
                Some(WsMessage::Close(code, reason)) => {
                    let (code, reason) = control.closed().unwrap_or((code, reason));
                    close_with(&mut sink, code, &reason, send_limit).await;
                    break;
                }
            },
            _ = ping.tick(), if signed_in => Message::Text(r#"{"type":"ping"}"#.into()),
            () = &mut init_deadline, if !signed_in => {
                close_with(&mut sink, 4408, "Connection initialisation timeout", send_limit).await;
                break;
            }
            () = control.closing.notified() => {
                let (code, reason) = control.closed().unwrap_or((1000, String::new()));
                close_with(&mut sink, code, &reason, send_limit).await;
                break;
            }
            changed = credentials.recv(), if signed_in => {
                let concerned = match changed {
                    Ok(user) => user.is_nil() || control.user() == Some(user),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => false,
                };
                if concerned {
                    Box::pin(check_again(&state, &control)).await;
                }
                continue;
            }
            () = &mut recheck, if signed_in => {
                Box::pin(check_again(&state, &control)).await;
                let next = next_check(&state, control.credential().as_deref());
                recheck.as_mut().reset(tokio::time::Instant::now() + next);
                continue;
            }
            _ = shutdown.changed() => {
                close_with(&mut sink, 1001, "the server is stopping", send_limit).await;
                break;
            }
        };
        match tokio::time::timeout(send_limit, sink.send(outgoing)).await {
            Ok(Ok(())) => {}
            // Gone, or not reading: drop the connection.
            _ => break,
        }
    }
}

/// Checks the socket's credentials again; refused, the socket is told to close (`4403`).
/// Returns whether they still hold.
async fn check_again(state: &AppState, control: &Control) -> bool {
    let checked = state
        .auth
        .authenticate(control.credential().as_deref())
        .await;
    match checked.viewer() {
        Ok(_) => {
            control.auth.set(checked);
            true
        }
        // The database did not answer: keep the socket, check again later.
        Err(AppError::Internal(_)) => true,
        Err(err) => {
            control.close(4403, err.to_string());
            false
        }
    }
}

/// When to check the credentials again: when the access token expires (past the leeway every
/// instance grants), or in [`RECHECK`].
fn next_check(state: &AppState, credential: Option<&str>) -> Duration {
    let expires = credential
        .and_then(|value| value.split_once(' '))
        .and_then(|(_, token)| state.auth.access_tokens.verify(token.trim()).ok())
        .map(|claims| {
            claims.exp + crate::auth::tokens::LEEWAY_SECS as i64 - chrono::Utc::now().timestamp()
        });
    match expires {
        Some(secs) => Duration::from_secs(u64::try_from(secs.max(0)).unwrap_or(0) + 1).min(RECHECK),
        None => RECHECK,
    }
}

/// The `Authorization` value in a `connection_init` payload.
fn payload_credential(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    if let Some(value) = object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
    {
        return Some(value.to_owned());
    }
    object
        .get("token")
        .and_then(|value| value.as_str())
        .map(|token| format!("Bearer {token}"))
}

/// Sends a close frame (its reason cut to what a frame holds).
async fn close_with(
    sink: &mut SplitSink<WebSocket, Message>,
    code: u16,
    reason: &str,
    limit: Duration,
) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: reason[..end].into(),
    };
    let _ = tokio::time::timeout(limit, sink.send(Message::Close(Some(frame)))).await;
}

/// Runs the operations of one socket: each with loaders of its own over the socket's current
/// credentials, within the limits of HTTP requests and the subscription caps.
#[derive(Clone)]
struct SocketExecutor {
    state: Arc<AppState>,
    control: Arc<Control>,
}

/// A running operation's places, given back when it ends.
struct Place {
    _server: OwnedSemaphorePermit,
    control: Arc<Control>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.control.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SocketExecutor {
    fn place(&self) -> Result<Place, ServerError> {
        let refused = |message: &str| {
            let mut error = ServerError::new(message, None);
            let mut extensions = async_graphql::ErrorExtensionValues::default();
            extensions.set("code", "TOO_MANY_SUBSCRIPTIONS");
            error.extensions = Some(extensions);
            error
        };
        let running = self.control.running.fetch_add(1, Ordering::SeqCst);
        if running >= self.control.per_socket {
            self.control.running.fetch_sub(1, Ordering::SeqCst);
            return Err(refused(
                "this connection runs as many subscriptions as it may (CRM_WS_MAX_SUBSCRIPTIONS)",
            ));
        }
        match self.state.live.subscriptions.clone().try_acquire_owned() {
            Ok(permit) => Ok(Place {
                _server: permit,
                control: self.control.clone(),
            }),
            Err(_) => {
                self.control.running.fetch_sub(1, Ordering::SeqCst);
                Err(refused(
                    "the server runs as many subscriptions as it may (CRM_MAX_SUBSCRIPTIONS)",
                ))
            }
        }
    }
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        self.execute_stream(request, None)
            .next()
            .await
            .unwrap_or_default()
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let state = &self.state;
        let fail = |errors: Vec<ServerError>| {
            let mut response = Response::from_errors(errors);
            crate::graphql::response::with_request_id(&mut response);
            stream::once(async move { response }).boxed()
        };
        let place = match self.place() {
            Ok(place) => place,
            Err(error) => return fail(vec![error]),
        };
        let auth = self.control.auth.get();
        let role = auth.viewer().ok().map(|viewer| viewer.role);
        if let Err(error) = state.trusted.resolve(&mut request, role) {
            return fail(vec![error]);
        }
        let prepared =
            match state
                .documents
                .prepare(&mut request, &state.limits, auth.unauthenticated())
            {
                Ok(prepared) => prepared,
                Err(refusal) => return fail(vec![refusal.into_server_error()]),
            };
        let read_only = prepared.read_only;
        if let Err(error) = state.variable_types.check_request(&mut request) {
            return fail(vec![error]);
        }
        let loaders = Loaders::new(
            state.reader.clone(),
            state.page_limits,
            self.control.auth.clone(),
            read_only,
            state.read_path,
        );
        let dispatcher = loaders.dispatcher();
        let query = request.query.clone();
        let request = request.data(loaders).data(auth);
        let answers = state
            .schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default());
        let feed = state.live.feed.clone();
        let reader = state.reader.clone();
        let limits = state.limits;
        batch::drive_stream(dispatcher, answers)
            .map(move |mut response| {
                let _running = &place;
                errors::classify_response(&mut response, &query);
                limits::cap_errors(&mut response.errors, &limits);
                crate::graphql::response::with_request_id(&mut response);
                if !read_only {
                    reader.counts().clear();
                    feed.wake();
                }
                response
            })
            .boxed()
    }
}
