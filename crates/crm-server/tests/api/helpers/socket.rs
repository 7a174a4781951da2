//! A `graphql-transport-ws` client for the subscription tests, over a real socket.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Serves `router` on a free local port, in the background.
pub async fn listen(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

/// How long a test waits for a message it expects.
pub const WAIT: Duration = Duration::from_secs(10);

/// One connection.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server sent besides pings.
#[derive(Debug)]
pub enum Received {
    /// A `next`, `error` or `complete` message.
    Message(Value),
    /// The socket closed: its code and reason.
    Closed(u16, String),
}

impl Socket {
    /// Opens a connection speaking `graphql-transport-ws` (no `connection_init` yet).
    pub async fn open(address: SocketAddr) -> Socket {
        let mut request = format!("ws://{address}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Socket { ws }
    }

    /// Opens a connection and signs it in with this access or API token.
    pub async fn signed_in(address: SocketAddr, token: &str) -> Socket {
        let mut socket = Socket::open(address).await;
        socket
            .send(json!({ "type": "connection_init",
                          "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        match socket.receive().await {
            Received::Message(message) => {
                assert_eq!(message["type"], "connection_ack", "{message}");
            }
            Received::Closed(code, reason) => panic!("init refused: {code} {reason}"),
        }
        socket
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe",
                          "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message that is not a ping (pings are answered), within [`WAIT`].
    pub async fn receive(&mut self) -> Received {
        self.receive_within(WAIT)
            .await
            .unwrap_or_else(|| panic!("nothing received within {WAIT:?}"))
    }

    /// The next message within `wait`, if any.
    pub async fn receive_within(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(Received::Message(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(match frame {
                        Some(frame) => {
                            Received::Closed(u16::from(frame.code), frame.reason.to_string())
                        }
                        None => Received::Closed(u16::from(CloseCode::Status), String::new()),
                    });
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(Received::Closed(1006, String::new())),
            }
        }
    }

    /// The payload of the next `next` message of operation `id`.
    pub async fn next(&mut self, id: &str) -> Value {
        match self.receive().await {
            Received::Message(message) => {
                assert_eq!(message["type"], "next", "{message}");
                assert_eq!(message["id"], id, "{message}");
                message["payload"].clone()
            }
            Received::Closed(code, reason) => panic!("closed: {code} {reason}"),
        }
    }

    /// The socket's close code and reason (it must close within [`WAIT`]).
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.receive().await {
                Received::Closed(code, reason) => return (code, reason),
                Received::Message(_) => continue,
            }
        }
    }

    /// Nothing arrives for `wait` (pings aside).
    pub async fn silent(&mut self, wait: Duration) {
        if let Some(received) = self.receive_within(wait).await {
            panic!("expected nothing, received {received:?}");
        }
    }
}
