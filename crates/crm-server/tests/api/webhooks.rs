//! Webhooks: endpoints managed by admins, changes delivered signed from the outbox, retried
//! with backoff, disabled when they keep failing, redelivered on demand, never sent to internal
//! addresses unless allowed, and not lost when the server stops between two attempts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::process::Server;
use crate::helpers::{TestApp, error_codes, fixtures, gql_on, test_config};

/// A request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// What the receiver answers.
#[derive(Default)]
struct Plan {
    /// `/flaky`: answers 500 this many times, then 200.
    flaky_failures: AtomicUsize,
    /// `/down`: answers 500 while set.
    down: AtomicBool,
}

/// An HTTP endpoint on 127.0.0.1 recording what it receives: `/ok` answers 200, `/flaky` and
/// `/down` as [`Plan`] says.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Plan>,
    _task: tokio::task::JoinHandle<()>,
}

type Shared = (Arc<Mutex<Vec<Received>>>, Arc<Plan>);

async fn receive(
    State((received, plan)): State<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    received.lock().unwrap().push(Received {
        path: path.clone(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let failing = match path.as_str() {
        "flaky" => plan
            .flaky_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok(),
        "down" => plan.down.load(Ordering::SeqCst),
        _ => false,
    };
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    async fn start() -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Plan::default());
        let router = Router::new()
            .route("/{path}", axum::routing::post(receive))
            .with_state((received.clone(), plan.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver {
            url,
            received,
            plan,
            _task: task,
        }
    }

    fn received(&self, path: &str) -> Vec<Received> {
        let all = self.received.lock().unwrap();
        all.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits (up to 30 s) until `path` has received `count` requests; returns them.
    async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        for _ in 0..600 {
            let got = self.received(path);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{path} received {} requests, not {count}",
            self.received(path).len()
        );
    }
}

/// A router over `app`'s database whose webhook worker runs (fast retries, loopback allowed
/// unless `allow_loopback` is false); the worker stops when the returned value is dropped.
fn with_worker(
    app: &TestApp,
    allow_loopback: bool,
) -> (Router, Option<crm_server::webhooks::Worker>) {
    let mut config = test_config();
    if allow_loopback {
        config.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".to_owned()];
    }
    config.webhooks.webhook_poll_ms = 50;
    config.webhooks.webhook_retry_base_ms = 50;
    config.webhooks.webhook_max_attempts = 3;
    config.webhooks.webhook_disable_after_failures = 3;
    config.webhooks.webhook_disable_after_secs = 0;
    config.webhooks.webhook_timeout_secs = 5;
    let state = crm_server::app::state(app.db.clone(), &config).unwrap();
    let worker = crm_server::app::webhook_worker(&state, &config).unwrap();
    (crm_server::app::router(state, &config), worker)
}

const CREATE: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { \
    secret webhook { id url events enabled description } } }";

async fn create(router: &Router, token: &str, input: Value) -> Value {
    gql_on(router, Some(token), CREATE, json!({ "input": input })).await
}

/// The deliveries of an endpoint, newest first.
async fn deliveries(router: &Router, token: &str, webhook: &str) -> Vec<Value> {
    let answer = gql_on(
        router,
        Some(token),
        "query($id: UUID!) { webhook(id: $id) { deliveries(first: 100) { edges { node { \
           id eventId event status attempts responseStatus error payload deliveredAt \
           nextAttemptAt } } } } }",
        json!({ "id": webhook }),
    )
    .await;
    answer["data"]["webhook"]["deliveries"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

/// Waits (up to 30 s) until `check` holds for the endpoint's deliveries; returns them.
async fn deliveries_when(
    router: &Router,
    token: &str,
    webhook: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..300 {
        last = deliveries(router, token, webhook).await;
        if check(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the deliveries never got there: {last:#?}");
}

fn expected_signature(secret: &str, received: &Received) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

const SECRET: &str = "a-shared-secret-of-the-receiver";

test_both! {
    /// Only admins manage endpoints; every bad input is refused naming its field; the secret
    /// is stored encrypted and shown only when generated.
    async fn endpoints_are_managed_by_admins_with_checked_inputs(app) {
        let router = &app.router;
        let (_, manager) = app.user("manager", entity::Role::Manager, None).await;
        let refused = create(router, &manager, json!({
            "url": "https://hooks.example.com/crm", "events": ["CLIENT_CREATED"] })).await;
        assert_eq!(error_codes(&refused), ["FORBIDDEN"]);
        let listed = gql_on(router, Some(&manager), "{ webhooks { id } }", json!({})).await;
        assert_eq!(error_codes(&listed), ["FORBIDDEN"]);

        let made = create(router, &app.token, json!({
            "url": "https://hooks.example.com/crm",
            "events": ["PAYMENT_CREATED", "CLIENT_CREATED", "PAYMENT_CREATED"],
            "description": "Accounting",
        })).await;
        let payload = &made["data"]["createWebhook"];
        let secret = payload["secret"].as_str().unwrap_or_else(|| panic!("{made}"));
        assert!(secret.starts_with("whsec_"), "{secret}");
        assert_eq!(payload["webhook"]["events"], json!(["CLIENT_CREATED", "PAYMENT_CREATED"]));
        assert_eq!(payload["webhook"]["enabled"], true);
        let id = payload["webhook"]["id"].as_str().unwrap().to_owned();
        let stored = app.db.query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(), "SELECT secret FROM webhooks")).await.unwrap().unwrap();
        let stored: String = stored.try_get("", "secret").unwrap();
        assert!(stored.starts_with("v1:") && !stored.contains(secret), "{stored}");

        let given = create(router, &app.token, json!({
            "url": "https://hooks.example.com/other", "events": ["CLIENT_DELETED"], "secret": SECRET,
        })).await;
        assert_eq!(given["data"]["createWebhook"]["secret"], Value::Null, "{given}");

        for (input, field, reason) in [
            (json!({ "url": "https://h.example.com", "events": [] }), "events", None),
            (json!({ "url": "https://h.example.com", "events": ["CLIENT_CREATED"], "secret": "short" }), "secret", None),
            (json!({ "url": "ftp://h.example.com/x", "events": ["CLIENT_CREATED"] }), "url", Some("INVALID_URL")),
            (json!({ "url": "not a url", "events": ["CLIENT_CREATED"] }), "url", Some("INVALID_URL")),
            (json!({ "url": "https://user:pw@h.example.com", "events": ["CLIENT_CREATED"] }), "url", Some("INVALID_URL")),
            (json!({ "url": "http://127.0.0.1:9/x", "events": ["CLIENT_CREATED"] }), "url", Some("ADDRESS_NOT_ALLOWED")),
            (json!({ "url": "http://169.254.169.254/latest", "events": ["CLIENT_CREATED"] }), "url", Some("ADDRESS_NOT_ALLOWED")),
            (json!({ "url": "http://[::1]/x", "events": ["CLIENT_CREATED"] }), "url", Some("ADDRESS_NOT_ALLOWED")),
            (json!({ "url": "http://10.0.0.8/x", "events": ["CLIENT_CREATED"] }), "url", Some("ADDRESS_NOT_ALLOWED")),
            (json!({ "url": "http://localhost:9/x", "events": ["CLIENT_CREATED"] }), "url", Some("ADDRESS_NOT_ALLOWED")),
        ] {
            let answer = create(router, &app.token, input.clone()).await;
            assert_eq!(error_codes(&answer), ["BAD_USER_INPUT"], "{input}: {answer}");
            let extensions = &answer["errors"][0]["extensions"];
            assert_eq!(extensions["field"], field, "{input}: {answer}");
            if let Some(reason) = reason {
                assert_eq!(extensions["reason"], reason, "{input}: {answer}");
            }
        }

        let update = "mutation($id: UUID!, $input: UpdateWebhookInput!) { updateWebhook(id: $id, input: $input) { \
            enabled disabledReason events url } }";
        let off = gql_on(router, Some(&app.token), update,
            json!({ "id": id, "input": { "enabled": false } })).await;
        assert_eq!(off["data"]["updateWebhook"]["enabled"], false, "{off}");
        assert_eq!(off["data"]["updateWebhook"]["disabledReason"], "disabled by an administrator");
        let on = gql_on(router, Some(&app.token), update,
            json!({ "id": id, "input": { "enabled": true, "events": ["CONTRACT_UPDATED"] } })).await;
        assert_eq!(on["data"]["updateWebhook"]["enabled"], true, "{on}");
        assert_eq!(on["data"]["updateWebhook"]["events"], json!(["CONTRACT_UPDATED"]));
        let bad = gql_on(router, Some(&app.token), update,
            json!({ "id": id, "input": { "url": "http://192.168.1.1/" } })).await;
        assert_eq!(bad["errors"][0]["extensions"]["reason"], "ADDRESS_NOT_ALLOWED", "{bad}");

        let deleted = gql_on(router, Some(&app.token),
            "mutation($id: UUID!) { deleteWebhook(id: $id) }", json!({ "id": id })).await;
        assert_eq!(deleted["data"]["deleteWebhook"], id.as_str());
        let gone = gql_on(router, Some(&app.token),
            "query($id: UUID!) { webhook(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(gone["data"]["webhook"], Value::Null);
        let again = gql_on(router, Some(&app.token),
            "mutation($id: UUID!) { deleteWebhook(id: $id) }", json!({ "id": id })).await;
        assert_eq!(error_codes(&again), ["NOT_FOUND"]);
    }
}

test_both! {
    /// A change of a subscribed kind reaches the endpoint once, signed over id, timestamp and
    /// body; other kinds do not; the log shows each delivery.
    async fn changes_are_delivered_signed_and_logged(app) {
        let receiver = Receiver::start().await;
        let (router, _worker) = with_worker(&app, true);
        let made = create(&router, &app.token, json!({
            "url": format!("{}/ok", receiver.url),
            "events": ["CLIENT_CREATED", "PAYMENT_CREATED"],
            "secret": SECRET,
        })).await;
        let webhook = made["data"]["createWebhook"]["webhook"]["id"].as_str()
            .unwrap_or_else(|| panic!("{made}")).to_owned();

        let first = fixtures::client(&app.db, "Hooked One", None).await;
        app.db.execute_unprepared(&format!(
            "UPDATE clients SET city = 'Lyon' WHERE id = '{}'", first.id)).await.unwrap();
        let second = fixtures::client(&app.db, "Hooked Two", None).await;
        let got = receiver.wait_for("ok", 2).await;
        // Nothing else comes (the update is not a subscribed kind).
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got_all = receiver.received("ok");
        assert_eq!(got_all.len(), 2, "{got_all:#?}");

        let now = chrono::Utc::now().timestamp();
        let mut ids = Vec::new();
        for received in &got {
            assert_eq!(received.signature, expected_signature(SECRET, received));
            let timestamp: i64 = received.timestamp.parse().unwrap();
            assert!((now - timestamp).abs() < 60, "{timestamp}");
            let body: Value = serde_json::from_str(&received.body).unwrap();
            assert_eq!(body["type"], "client.created");
            assert_eq!(body["id"], received.id.as_str());
            assert_eq!(body["data"]["id"], body["data"]["clientId"]);
            assert!(body["sequence"].as_i64().unwrap() > 0);
            chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).unwrap();
            ids.push(body["data"]["id"].as_str().unwrap().to_owned());
        }
        ids.sort();
        let mut expected = vec![first.id.to_string(), second.id.to_string()];
        expected.sort();
        assert_eq!(ids, expected);

        let log = deliveries_when(&router, &app.token, &webhook, |log| {
            log.len() == 2 && log.iter().all(|d| d["status"] == "DELIVERED")
        }).await;
        for delivery in &log {
            assert_eq!(delivery["attempts"], 1);
            assert_eq!(delivery["responseStatus"], 200);
            assert_eq!(delivery["event"], "CLIENT_CREATED");
            assert!(got.iter().any(|r| r.id == delivery["eventId"].as_str().unwrap()
                && r.body == delivery["payload"].as_str().unwrap()));
        }
        let (_, metrics) = crate::helpers::send(&router, axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty()).unwrap()).await;
        assert!(metrics.contains("crm_webhook_attempts_total{outcome=\"delivered\"} 2"), "{metrics}");
        // A test event, signed like the others.
        let ping = gql_on(&router, Some(&app.token),
            "mutation($id: UUID!) { pingWebhook(id: $id) { eventId eventType event status } }",
            json!({ "id": webhook })).await;
        assert_eq!(ping["data"]["pingWebhook"]["eventType"], "webhook.ping", "{ping}");
        assert_eq!(ping["data"]["pingWebhook"]["event"], Value::Null);
        let pinged = receiver.wait_for("ok", 3).await;
        let ping_body: Value = serde_json::from_str(&pinged[2].body).unwrap();
        assert_eq!(ping_body["type"], "webhook.ping");
        assert_eq!(ping_body["data"]["webhookId"], webhook.as_str());
        assert_eq!(pinged[2].id, ping["data"]["pingWebhook"]["eventId"].as_str().unwrap());
        assert_eq!(pinged[2].signature, expected_signature(SECRET, &pinged[2]));
        let count: i64 = app.db.query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(), "SELECT COUNT(*) AS n FROM webhook_outbox"))
            .await.unwrap().unwrap().try_get("", "n").unwrap();
        assert_eq!(count, 0, "the outbox is emptied");
    }
}

test_both! {
    /// A failing endpoint is tried again with backoff until it answers; one that keeps failing
    /// gets its delivery marked failed and is disabled; an admin re-enables it and redelivers
    /// the event, with the same id.
    async fn failures_are_retried_then_disabled_then_redelivered(app) {
        let receiver = Receiver::start().await;
        receiver.plan.flaky_failures.store(2, Ordering::SeqCst);
        receiver.plan.down.store(true, Ordering::SeqCst);
        let (router, _worker) = with_worker(&app, true);
        let mut hooks = Vec::new();
        for path in ["flaky", "down"] {
            let made = create(&router, &app.token, json!({
                "url": format!("{}/{path}", receiver.url),
                "events": ["CLIENT_CREATED"],
                "secret": SECRET,
            })).await;
            hooks.push(made["data"]["createWebhook"]["webhook"]["id"].as_str()
                .unwrap_or_else(|| panic!("{made}")).to_owned());
        }
        fixtures::client(&app.db, "Retried", None).await;

        let flaky = receiver.wait_for("flaky", 3).await;
        assert!(flaky.iter().all(|r| r.id == flaky[0].id), "one event, tried three times");
        let log = deliveries_when(&router, &app.token, &hooks[0], |log| {
            log.first().is_some_and(|d| d["status"] == "DELIVERED")
        }).await;
        assert_eq!(log[0]["attempts"], 3);

        let log = deliveries_when(&router, &app.token, &hooks[1], |log| {
            log.first().is_some_and(|d| d["status"] == "FAILED")
        }).await;
        assert_eq!(log[0]["attempts"], 3);
        assert_eq!(log[0]["responseStatus"], 500);
        assert_eq!(log[0]["error"], "HTTP 500");
        assert_eq!(receiver.received("down").len(), 3);
        let endpoint = gql_on(&router, Some(&app.token),
            "query($id: UUID!) { webhook(id: $id) { enabled disabledReason consecutiveFailures } }",
            json!({ "id": hooks[1] })).await;
        let endpoint = &endpoint["data"]["webhook"];
        assert_eq!(endpoint["enabled"], false, "{endpoint}");
        assert_eq!(endpoint["consecutiveFailures"], 3);
        assert!(endpoint["disabledReason"].as_str().unwrap().contains("HTTP 500"), "{endpoint}");

        // A disabled endpoint gets no new events.
        fixtures::client(&app.db, "While Disabled", None).await;
        receiver.wait_for("flaky", 4).await;
        assert_eq!(receiver.received("down").len(), 3);

        let redeliver = "mutation($id: UUID!) { redeliverWebhookDelivery(id: $id) { id eventId status } }";
        let failed = log[0]["id"].as_str().unwrap();
        let refused = gql_on(&router, Some(&app.token), redeliver, json!({ "id": failed })).await;
        assert_eq!(error_codes(&refused), ["CONFLICT"]);
        assert_eq!(refused["errors"][0]["extensions"]["reason"], "WEBHOOK_DISABLED");

        receiver.plan.down.store(false, Ordering::SeqCst);
        let enabled = gql_on(&router, Some(&app.token),
            "mutation($id: UUID!) { updateWebhook(id: $id, input: { enabled: true }) { enabled consecutiveFailures } }",
            json!({ "id": hooks[1] })).await;
        assert_eq!(enabled["data"]["updateWebhook"]["consecutiveFailures"], 0, "{enabled}");
        let again = gql_on(&router, Some(&app.token), redeliver, json!({ "id": failed })).await;
        assert_eq!(again["data"]["redeliverWebhookDelivery"]["eventId"], log[0]["eventId"], "{again}");
        let down = receiver.wait_for("down", 4).await;
        assert_eq!(down[3].id, down[0].id, "the same event id again");
        assert_eq!(down[3].body, down[0].body);
        deliveries_when(&router, &app.token, &hooks[1], |log| {
            log.len() == 2 && log[0]["status"] == "DELIVERED" && log[1]["status"] == "FAILED"
        }).await;
    }
}

/// Registers an endpoint behind the API's back (as if its name had resolved to a public
/// address when it was registered).
async fn insert_endpoint(db: &DatabaseConnection, url: &str) -> uuid::Uuid {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let cipher =
        crm_server::secrets::TokenCipher::from_config(crm_server::secrets::DEV_TOKEN_KEYS).unwrap();
    let now = chrono::Utc::now();
    entity::webhooks::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        url: Set(url.to_owned()),
        description: Set(None),
        events: Set("client.created".to_owned()),
        secret: Set(cipher.encrypt(SECRET).unwrap()),
        created_by: Set(None),
        consecutive_failures: Set(0),
        failing_since: Set(None),
        last_success_at: Set(None),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

test_both! {
    /// Without an allowance, nothing reaches an internal address: not a name resolving to one,
    /// not an address in the URL; the log says why.
    async fn internal_addresses_are_not_reached_unless_allowed(app) {
        let receiver = Receiver::start().await;
        let port = receiver.url.rsplit(':').next().unwrap().to_owned();
        let (router, _worker) = with_worker(&app, false);
        let by_name = insert_endpoint(&app.db, &format!("http://localhost:{port}/ok")).await;
        let by_address = insert_endpoint(&app.db, &format!("{}/ok", receiver.url)).await;
        fixtures::client(&app.db, "Internal", None).await;
        for hook in [by_name, by_address] {
            let log = deliveries_when(&router, &app.token, &hook.to_string(), |log| {
                log.first().is_some_and(|d| d["attempts"].as_i64() >= Some(1) && !d["error"].is_null())
            }).await;
            let error = log[0]["error"].as_str().unwrap();
            assert!(error.contains("loopback"), "{error}");
            assert_eq!(log[0]["responseStatus"], Value::Null);
        }
        assert!(receiver.received("ok").is_empty());
    }
}

test_both! {
    /// The server stops between two attempts, and a change is written while it is down: once
    /// it is back, both events arrive (the first with the id it had), nothing is left pending.
    async fn deliveries_survive_a_restart_between_attempts(app) {
        let receiver = Receiver::start().await;
        receiver.plan.down.store(true, Ordering::SeqCst);
        let mut config = test_config();
        config.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".to_owned()];
        let router = app.router_with(&config);
        let made = create(&router, &app.token, json!({
            "url": format!("{}/down", receiver.url),
            "events": ["CLIENT_CREATED"],
            "secret": SECRET,
        })).await;
        // The test's own router has no worker: only the server process delivers.
        let _ = made["data"]["createWebhook"]["webhook"]["id"].as_str().unwrap_or_else(|| panic!("{made}"));
        let url = app.database_url();
        let settings = [
            ("DATABASE_URL", url.as_str()),
            ("CRM_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1"),
            ("CRM_WEBHOOK_POLL_MS", "100"),
            ("CRM_WEBHOOK_RETRY_BASE_MS", "3000"),
        ];
        let mut server = Server::start(&settings).await;
        fixtures::client(&app.db, "Before The Stop", None).await;
        let first = receiver.wait_for("down", 1).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        drop(server);

        let pending: i64 = app.db.query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending' AND attempts = 1"))
            .await.unwrap().unwrap().try_get("", "n").unwrap();
        assert_eq!(pending, 1, "the failed attempt's retry is recorded");
        fixtures::client(&app.db, "While Stopped", None).await;
        receiver.plan.down.store(false, Ordering::SeqCst);

        let _server = Server::start(&settings).await;
        let got = receiver.wait_for("down", 3).await;
        let ids: std::collections::HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 2, "two events: {got:#?}");
        assert!(got[1..].iter().any(|r| r.id == first[0].id), "the first event, same id");
        for _ in 0..100 {
            let left: i64 = app.db.query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'"))
                .await.unwrap().unwrap().try_get("", "n").unwrap();
            if left == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("deliveries left undelivered");
    }
}

test_both! {
    /// An endpoint that keeps failing does not take every turn: after three failures in a row,
    /// its deliveries not yet tried wait as long as its retries.
    async fn a_failing_endpoint_s_backlog_waits_with_it(app) {
        let receiver = Receiver::start().await;
        receiver.plan.down.store(true, Ordering::SeqCst);
        let mut config = test_config();
        config.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".to_owned()];
        config.webhooks.webhook_poll_ms = 50;
        config.webhooks.webhook_retry_base_ms = 5_000;
        config.webhooks.webhook_disable_after_failures = 0;
        config.webhooks.webhook_concurrency = 1;
        let state = crm_server::app::state(app.db.clone(), &config).unwrap();
        let _worker = crm_server::app::webhook_worker(&state, &config).unwrap();
        let router = crm_server::app::router(state, &config);
        let made = create(&router, &app.token, json!({
            "url": format!("{}/down", receiver.url),
            "events": ["CLIENT_CREATED"],
            "secret": SECRET,
        })).await;
        let webhook = made["data"]["createWebhook"]["webhook"]["id"].as_str()
            .unwrap_or_else(|| panic!("{made}")).to_owned();
        for n in 0..6 {
            fixtures::client(&app.db, &format!("Backlog {n}"), None).await;
        }
        receiver.wait_for("down", 3).await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(receiver.received("down").len(), 3, "no fourth attempt while paused");
        let log = deliveries(&router, &app.token, &webhook).await;
        let untried: Vec<&Value> = log.iter().filter(|d| d["attempts"] == 0).collect();
        assert_eq!(untried.len(), 3, "{log:#?}");
        let later = chrono::Utc::now() + chrono::Duration::seconds(3);
        for delivery in untried {
            let next = chrono::DateTime::parse_from_rfc3339(
                delivery["nextAttemptAt"].as_str().unwrap()).unwrap();
            assert!(next > later, "{delivery}");
        }
    }
}
