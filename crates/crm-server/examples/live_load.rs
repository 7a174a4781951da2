//! Load for the live-updates benchmark (`bench/live.sh`): subscribers over WebSocket spread over
//! one or more server instances, and payments recorded at a fixed rate through them; prints the
//! delivery latency of every event and whether each arrived.
//!
//! ```sh
//! cargo run --release --example live_load -- --url http://127.0.0.1:18801/graphql \
//!     --url http://127.0.0.1:18802/graphql --token "$TOKEN" --subscribers 1000 --rate 200
//! ```
//!
//! Each subscriber watches the payments of one of `--hot` clients (`paymentChanged(clientId:)`,
//! a client's page in the SPA); the writers record payments on those clients' contracts,
//! round-robin, and put the time each request left in the payment's reference. A subscriber's
//! latency is from that moment to the event's arrival: the write itself, its commit, the feed,
//! the re-read under the subscriber's rules and the socket. It prints one `RESULT` line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[derive(Parser)]
struct Args {
    /// A server's GraphQL URL (repeat for several instances).
    #[arg(long, required = true)]
    url: Vec<String>,
    /// An admin's access or API token.
    #[arg(long)]
    token: String,
    /// Subscribers, spread over the URLs.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Clients watched (each by subscribers / hot of them) and written to.
    #[arg(long, default_value_t = 100)]
    hot: usize,
    /// Payments recorded per second (0: none, the subscribers only wait).
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Sockets writing (spread over the URLs).
    #[arg(long, default_value_t = 16)]
    writers: usize,
    /// Seconds of writes.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds to wait, subscribed, before writing (to measure idle subscribers).
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// Open and sign in the sockets, subscribe to nothing (what a socket alone costs).
    #[arg(long)]
    connect_only: bool,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(url: &str, token: &str) -> Socket {
    let ws_url = url.replacen("http", "ws", 1);
    let mut request = ws_url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    loop {
        let message = receive(&mut socket).await.expect("connection_ack");
        if message["type"] == "connection_ack" {
            return socket;
        }
    }
}

/// The next protocol message, pings answered; `None` when the socket ends.
async fn receive(socket: &mut Socket) -> Option<Value> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => {
                let value: Value = serde_json::from_str(&text).ok()?;
                if value["type"] == "ping" {
                    let pong = json!({ "type": "pong" }).to_string();
                    socket.send(Message::Text(pong.into())).await.ok()?;
                    continue;
                }
                return Some(value);
            }
            Ok(Message::Close(frame)) => {
                eprintln!("live_load: socket closed: {frame:?}");
                return None;
            }
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// Runs one operation over `socket`; its `data`.
async fn operation(socket: &mut Socket, id: &str, query: &str, variables: Value) -> Value {
    let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
    let mut data = Value::Null;
    loop {
        let message = receive(socket).await.expect("an answer");
        match message["type"].as_str() {
            Some("next") => {
                assert!(message["payload"].get("errors").is_none(), "{message}");
                data = message["payload"]["data"].clone();
            }
            Some("complete") => return data,
            _ => panic!("unexpected {message}"),
        }
    }
}

fn now_micros() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut admin = connect(&args.url[0], &args.token).await;
    // Clients with an active contract, one contract each: a subscriber of a client hears of
    // that contract's payments only.
    let mut hot: Vec<(String, String)> = Vec::new();
    let mut after = Value::Null;
    while hot.len() < args.hot {
        let data = operation(
            &mut admin,
            "hot",
            "query($after: String) { clients(first: 100, after: $after) {
                pageInfo { hasNextPage endCursor }
                nodes { id contracts(first: 1, filter: { status: { eq: active } }) { nodes { id } } } } }",
            json!({ "after": after }),
        )
        .await;
        for client in data["clients"]["nodes"].as_array().unwrap() {
            if let Some(contract) = client["contracts"]["nodes"][0]["id"].as_str()
                && hot.len() < args.hot
            {
                hot.push((
                    contract.to_owned(),
                    client["id"].as_str().unwrap().to_owned(),
                ));
            }
        }
        if data["clients"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["clients"]["pageInfo"]["endCursor"].clone();
    }
    assert!(
        !hot.is_empty(),
        "no active contracts: seed the database first"
    );

    // Subscribers, 50 connecting at a time.
    let latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    let received = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let start = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(50));
    let mut watchers = vec![0u64; hot.len()];
    for index in 0..args.subscribers {
        let target = index % hot.len();
        watchers[target] += 1;
        let url = args.url[index % args.url.len()].clone();
        let token = args.token.clone();
        let client = hot[target].1.clone();
        let connect_only = args.connect_only;
        let (latencies, received, ready, gate) = (
            latencies.clone(),
            received.clone(),
            ready.clone(),
            gate.clone(),
        );
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await.unwrap();
            let mut socket = connect(&url, &token).await;
            if connect_only {
                drop(permit);
                ready.add_permits(1);
                while receive(&mut socket).await.is_some() {}
                return;
            }
            let subscribe = json!({ "id": "s", "type": "subscribe", "payload": {
                "query": "subscription($c: UUID) { paymentChanged(clientId: $c) { payment { reference } } }",
                "variables": { "c": client } } });
            socket
                .send(Message::Text(subscribe.to_string().into()))
                .await
                .unwrap();
            drop(permit);
            ready.add_permits(1);
            while let Some(message) = receive(&mut socket).await {
                if message["type"] != "next" {
                    eprintln!("live_load: {message}");
                    continue;
                }
                let reference =
                    &message["payload"]["data"]["paymentChanged"]["payment"]["reference"];
                if let Some(sent) = reference
                    .as_str()
                    .and_then(|r| r.strip_prefix("lb-"))
                    .and_then(|r| r.parse::<u64>().ok())
                {
                    let latency = now_micros().saturating_sub(sent);
                    latencies.lock().await.push(latency);
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let _all = ready
        .acquire_many(u32::try_from(args.subscribers).unwrap())
        .await
        .unwrap();
    // Let the last subscriptions reach the feed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "READY subscribers={} connect_s={:.1}",
        args.subscribers,
        start.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(args.hold)).await;

    // Writers, each at rate / writers per second.
    let expected = Arc::new(AtomicU64::new(0));
    let write_latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    let written = Arc::new(AtomicU64::new(0));
    let watchers = Arc::new(watchers);
    let mut writers = Vec::new();
    if args.rate > 0 {
        let period = Duration::from_secs_f64(args.writers as f64 / args.rate as f64);
        let until = Instant::now() + Duration::from_secs(args.duration);
        for writer in 0..args.writers {
            let url = args.url[writer % args.url.len()].clone();
            let token = args.token.clone();
            let hot = hot.clone();
            let (expected, write_latencies, written, watchers) = (
                expected.clone(),
                write_latencies.clone(),
                written.clone(),
                watchers.clone(),
            );
            writers.push(tokio::spawn(async move {
                let mut socket = connect(&url, &token).await;
                let mut ticks = tokio::time::interval(period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let mut n = writer;
                while Instant::now() < until {
                    ticks.tick().await;
                    let target = n % hot.len();
                    n += 7;
                    let sent = now_micros();
                    operation(
                        &mut socket,
                        "w",
                        "mutation($c: UUID!, $r: String!) { recordPayment(input: { contractId: $c, amount: \"0.01\", reference: $r }) { id } }",
                        json!({ "c": hot[target].0, "r": format!("lb-{sent}") }),
                    )
                    .await;
                    write_latencies.lock().await.push(now_micros() - sent);
                    written.fetch_add(1, Ordering::Relaxed);
                    expected.fetch_add(watchers[target], Ordering::Relaxed);
                }
            }));
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // The last events in flight.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latencies = latencies.lock().await.clone();
    latencies.sort_unstable();
    let mut writes = write_latencies.lock().await.clone();
    writes.sort_unstable();
    println!(
        "RESULT subscribers={} writes={} writes_per_s={:.0} write_p50_ms={:.1} write_p99_ms={:.1} \
         events={} expected={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        args.subscribers,
        written.load(Ordering::Relaxed),
        written.load(Ordering::Relaxed) as f64 / args.duration.max(1) as f64,
        percentile(&writes, 0.5),
        percentile(&writes, 0.99),
        received.load(Ordering::Relaxed),
        expected.load(Ordering::Relaxed),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
}
