//! The delivery worker, one per instance (`CRM_WEBHOOK_WORKER`): dispatches the outbox, claims
//! the due deliveries, POSTs each one signed, records the outcome.
//!
//! At least once: a claim moves the delivery's next attempt past the attempt's time limit (a
//! lease), so a delivery whose instance stopped mid-attempt is tried again once that time has
//! passed, by any instance; nothing is acknowledged to the endpoint's owner but a 2xx answer.
//! A failed attempt is tried again after a wait that doubles each time (with random extra, so
//! endpoints coming back are not flooded), until `CRM_WEBHOOK_MAX_ATTEMPTS`; an endpoint
//! whose attempts keep failing long enough is disabled; one failing three times in a row has
//! its other due deliveries wait with it, so that it does not take every slot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::{webhook_deliveries, webhooks};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use super::address::{AddressRules, GuardedResolver};
use super::dispatch::{BATCH, dispatch};
use super::service::DeliveryStatus;
use super::signature::sign;
use crate::db::now;
use crate::secrets::TokenCipher;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where deliveries may go.
    pub rules: Arc<AddressRules>,
    /// Plain `http` endpoints refused (production), except allowed hosts.
    pub https_only: bool,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub disable_after_failures: u32,
    /// Zero: endpoints are never disabled automatically.
    pub disable_after: Duration,
    pub concurrency: usize,
    pub poll: Duration,
    /// How long delivered and failed deliveries stay in the log.
    pub log_retention: Duration,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Result<Settings, String> {
        let webhooks = &config.webhooks;
        Ok(Settings {
            rules: Arc::new(webhooks.address_rules()?),
            https_only: config.server.environment == crate::config::Environment::Production,
            timeout: Duration::from_secs(webhooks.webhook_timeout_secs.max(1)),
            max_attempts: webhooks.webhook_max_attempts.max(1),
            retry_base: Duration::from_millis(webhooks.webhook_retry_base_ms.max(1)),
            retry_max: Duration::from_secs(webhooks.webhook_retry_max_secs),
            disable_after_failures: webhooks.webhook_disable_after_failures,
            disable_after: Duration::from_secs(webhooks.webhook_disable_after_secs),
            concurrency: webhooks.webhook_concurrency.max(1),
            poll: Duration::from_millis(webhooks.webhook_poll_ms.max(1)),
            log_retention: Duration::from_secs(webhooks.webhook_log_days.saturating_mul(86_400)),
        })
    }

    /// How long a claimed delivery is left to its instance: twice an attempt's time limit and
    /// some, to record the outcome. An instance that stopped mid-attempt leaves the delivery to
    /// be tried again after it.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }

    /// The wait after the `attempts`-th failed attempt: the base doubled each time, up to the
    /// maximum, plus up to 20 % at random.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doubled = self
            .retry_base
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(30));
        let wait = doubled.min(self.retry_max.max(self.retry_base));
        let mut random = [0u8; 1];
        let extra = match getrandom::fill(&mut random) {
            Ok(()) => wait.mul_f64(f64::from(random[0]) / 255.0 * 0.2),
            Err(_) => Duration::ZERO,
        };
        wait + extra
    }
}

/// The running worker; stops when dropped (attempts in flight are tried again after their
/// lease).
pub struct Worker {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A claimed delivery.
struct Claimed {
    id: Uuid,
    webhook_id: Uuid,
    event_id: Uuid,
    payload: String,
    attempts: i32,
}

/// The answer to one attempt.
struct Outcome {
    status: Option<i32>,
    body: Option<String>,
    error: Option<String>,
    duration: Duration,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Worker {
    /// Starts delivering; woken by the changes of `feed` (this instance's and, on PostgreSQL,
    /// the others'), else every `poll`.
    pub fn spawn(
        db: DatabaseConnection,
        cipher: Arc<TokenCipher>,
        settings: Settings,
        feed: Option<Arc<crate::live::feed::Feed>>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<Worker, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .dns_resolver(Arc::new(GuardedResolver {
                rules: settings.rules.clone(),
            }))
            .user_agent(concat!(
                "crm-server/",
                env!("CARGO_PKG_VERSION"),
                " webhooks"
            ))
            .build()
            .map_err(|err| format!("cannot build the webhook client: {err}"))?;
        let task = tokio::spawn(run(db, cipher, settings, client, feed, metrics));
        Ok(Worker { task })
    }
}

async fn run(
    db: DatabaseConnection,
    cipher: Arc<TokenCipher>,
    settings: Settings,
    client: reqwest::Client,
    feed: Option<Arc<crate::live::feed::Feed>>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let settings = Arc::new(settings);
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let done = Arc::new(Notify::new());
    let (record_tx, record_rx) = tokio::sync::mpsc::unbounded_channel();
    // Ends with the last sender: this task's and the attempts'.
    tokio::spawn(recorder(
        db.clone(),
        settings.clone(),
        record_rx,
        done.clone(),
        metrics,
    ));
    let interest = crate::live::feed::Interest {
        table: None,
        client: None,
    };
    let mut changes = feed.as_ref().map(|feed| feed.subscribe(interest));
    // The outbox is read when a change or the poll says so, not each time attempts end.
    let mut outbox_due = true;
    loop {
        while outbox_due {
            match dispatch(&db).await {
                Ok(moved) if moved as i64 >= BATCH => {}
                Ok(_) => outbox_due = false,
                Err(err) => {
                    tracing::warn!(error = %err, "dispatching webhook events failed");
                    outbox_due = false;
                }
            }
        }
        // Claims in groups: each claim reads the due deliveries' index, whatever it takes.
        let free = slots.available_permits();
        let mut claimed_all = false;
        if free > 0 && (free * 2 >= settings.concurrency || free == settings.concurrency) {
            match claim(&db, free, &settings).await {
                Ok(claimed) => {
                    claimed_all = claimed.len() == free;
                    start_attempts(
                        &db, &cipher, &settings, &client, &slots, &record_tx, claimed,
                    )
                    .await;
                }
                Err(err) => tracing::warn!(error = %err, "claiming webhook deliveries failed"),
            }
        } else if free > 0 {
            // Attempts in flight: more are probably due once they end.
            claimed_all = true;
        }
        if claimed_all {
            // Perhaps more are due: claim again as attempts end.
            tokio::select! {
                () = done.notified() => {}
                () = tokio::time::sleep(settings.poll) => outbox_due = true,
            }
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(settings.poll) => outbox_due = true,
            () = done.notified() => {}
            ended = next_change(&mut changes) => {
                outbox_due = true;
                if ended {
                    // Lagged or closed: a new queue (the outbox, not the feed, holds the events).
                    changes = feed.as_ref().map(|feed| feed.subscribe(interest));
                }
            }
        }
    }
}

/// Waits for a change of the feed, then takes the others already queued; true when the
/// subscription ended. Without a feed, never returns.
async fn next_change(changes: &mut Option<crate::live::feed::Subscription>) -> bool {
    let Some(changes) = changes else {
        return std::future::pending().await;
    };
    if changes.recv().await.is_err() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return true;
    }
    while let Some(next) = changes.try_recv() {
        if next.is_err() {
            return true;
        }
    }
    false
}

/// Claims up to `limit` due deliveries of enabled endpoints: counts the attempt and moves the
/// next one past this attempt's time limit (the lease).
async fn claim(
    db: &DatabaseConnection,
    limit: usize,
    settings: &Settings,
) -> Result<Vec<Claimed>, DbErr> {
    let at = now();
    let lease = at
        + chrono::Duration::from_std(settings.lease())
            .unwrap_or_else(|_| chrono::Duration::hours(1));
    let backend = db.get_database_backend();
    // Most polls find nothing due: no write (SQLite's write lock) for them. (On PostgreSQL
    // the claim finding nothing costs what this would.)
    let due = if backend == DbBackend::Postgres {
        Some(1)
    } else {
        db.query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT 1 AS due FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.disabled_at IS NULL \
             LIMIT 1",
            [at.into()],
        ))
        .await?
        .map(|_| 1)
    };
    if due.is_none() {
        return Ok(Vec::new());
    }
    let (sql, values): (&str, Vec<sea_orm::Value>) = match backend {
        DbBackend::Postgres => (
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = $1, \
               next_attempt_at = $2 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
               JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL \
               ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED) \
             RETURNING id, webhook_id, event_id, payload, attempts",
            vec![at.into(), lease.into(), (limit as i64).into()],
        ),
        _ => (
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?, \
               next_attempt_at = ? \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
               JOIN webhooks w ON w.id = d.webhook_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.disabled_at IS NULL \
               ORDER BY d.next_attempt_at LIMIT ?) \
             RETURNING id, webhook_id, event_id, payload, attempts",
            vec![at.into(), lease.into(), at.into(), (limit as i64).into()],
        ),
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                id: row.try_get("", "id")?,
                webhook_id: row.try_get("", "webhook_id")?,
                event_id: row.try_get("", "event_id")?,
                payload: row.try_get("", "payload")?,
                attempts: row.try_get("", "attempts")?,
            })
        })
        .collect()
}

/// Starts an attempt per claimed delivery, each holding a slot until it is recorded.
async fn start_attempts(
    db: &DatabaseConnection,
    cipher: &Arc<TokenCipher>,
    settings: &Arc<Settings>,
    client: &reqwest::Client,
    slots: &Arc<Semaphore>,
    recorder: &tokio::sync::mpsc::UnboundedSender<Attempted>,
    claimed: Vec<Claimed>,
) {
    if claimed.is_empty() {
        return;
    }
    let ids: Vec<Uuid> = claimed.iter().map(|c| c.webhook_id).collect();
    let endpoints: std::collections::HashMap<Uuid, webhooks::Model> = match webhooks::Entity::find()
        .filter(webhooks::Column::Id.is_in(ids))
        .all(db)
        .await
    {
        Ok(found) => found.into_iter().map(|w| (w.id, w)).collect(),
        Err(err) => {
            // The claims' leases expire: they are tried again.
            tracing::warn!(error = %err, "reading webhook endpoints failed");
            return;
        }
    };
    for delivery in claimed {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(endpoint) = endpoints.get(&delivery.webhook_id).cloned() else {
            continue;
        };
        let (cipher, settings, client, recorder) = (
            cipher.clone(),
            settings.clone(),
            client.clone(),
            recorder.clone(),
        );
        tokio::spawn(async move {
            let outcome = attempt(&client, &cipher, &settings, &endpoint, &delivery).await;
            // The slot is freed once the outcome is recorded.
            let _ = recorder.send(Attempted {
                endpoint,
                delivery,
                outcome,
                _slot: slot,
            });
        });
    }
}

/// An attempt made, waiting to be recorded.
struct Attempted {
    endpoint: webhooks::Model,
    delivery: Claimed,
    outcome: Outcome,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// Records attempts as they end, all those waiting in one transaction (SQLite has one writer:
/// a transaction per attempt would halve the rate of every other write).
async fn recorder(
    db: DatabaseConnection,
    settings: Arc<Settings>,
    mut attempts: tokio::sync::mpsc::UnboundedReceiver<Attempted>,
    done: Arc<Notify>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    while let Some(first) = attempts.recv().await {
        let mut batch = vec![first];
        while let Ok(next) = attempts.try_recv() {
            batch.push(next);
        }
        match record(&db, &settings, &batch).await {
            Ok(()) => {
                for attempted in &batch {
                    let last = u32::try_from(attempted.delivery.attempts)
                        .is_ok_and(|n| n >= settings.max_attempts);
                    metrics.webhook_attempt(if attempted.outcome.delivered() {
                        "delivered"
                    } else if last {
                        "failed"
                    } else {
                        "retry"
                    });
                }
            }
            // Their leases expire: they are tried again.
            Err(err) => {
                tracing::warn!(error = %err, attempts = batch.len(), "recording webhook attempts failed");
            }
        }
        drop(batch);
        done.notify_one();
    }
}

/// The longest part of an answer's body kept in the log.
const BODY_EXCERPT: usize = 1024;

/// POSTs the delivery, signed.
async fn attempt(
    client: &reqwest::Client,
    cipher: &TokenCipher,
    settings: &Settings,
    endpoint: &webhooks::Model,
    delivery: &Claimed,
) -> Outcome {
    let started = Instant::now();
    let failed = |error: String| Outcome {
        status: None,
        body: None,
        error: Some(error),
        duration: started.elapsed(),
    };
    let secret = match cipher.decrypt(&endpoint.secret) {
        Ok(secret) => secret,
        Err(err) => return failed(format!("the signing secret cannot be read: {err}")),
    };
    let url = match reqwest::Url::parse(&endpoint.url) {
        Ok(url) => url,
        Err(err) => return failed(format!("bad URL: {err}")),
    };
    // Addresses in the URL do not go through the resolver's check.
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal
        && let Err(why) = settings.rules.check_address("", ip)
    {
        return failed(why);
    }
    let id = delivery.event_id.to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(&secret, &id, timestamp, delivery.payload.as_bytes());
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(err) => return failed(describe(&err)),
    };
    let status = i32::from(response.status().as_u16());
    let mut body = Vec::new();
    while body.len() < BODY_EXCERPT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(BODY_EXCERPT);
    let body = String::from_utf8_lossy(&body).into_owned();
    Outcome {
        status: Some(status),
        body: (!body.is_empty()).then_some(body),
        error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
        duration: started.elapsed(),
    }
}

/// An error and its causes, as one line (reqwest's own message is only "error sending
/// request").
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.chars().take(500).collect()
}

/// Failed attempts in a row after which an endpoint's other deliveries wait with it.
pub(super) const PAUSE_AFTER: u32 = 3;

/// Records attempts, in one transaction: each delivery's state, and each endpoint's run of
/// failures (disabling it when the run is long enough; a success ends it).
async fn record(
    db: &DatabaseConnection,
    settings: &Settings,
    batch: &[Attempted],
) -> Result<(), DbErr> {
    use std::collections::{HashMap, HashSet};
    let txn = crate::db::begin_write(db).await?;
    let at = now();
    let mut succeeded: HashMap<Uuid, &webhooks::Model> = HashMap::new();
    let mut failed: HashSet<Uuid> = HashSet::new();
    for Attempted {
        endpoint,
        delivery,
        outcome,
        ..
    } in batch
    {
        if !record_delivery(&txn, settings, delivery, outcome, at).await? {
            continue;
        }
        if outcome.delivered() {
            succeeded.insert(endpoint.id, endpoint);
        } else {
            succeeded.remove(&endpoint.id);
            failed.insert(endpoint.id);
            record_failure(&txn, settings, endpoint, delivery, outcome, at).await?;
        }
    }
    // A success ends a run of failures; `lastSuccessAt` is kept to the minute.
    for (id, endpoint) in succeeded {
        let stale = endpoint
            .last_success_at
            .is_none_or(|last| at - last > chrono::Duration::minutes(1));
        if endpoint.consecutive_failures == 0 && !failed.contains(&id) && !stale {
            continue;
        }
        webhooks::Entity::update_many()
            .col_expr(webhooks::Column::ConsecutiveFailures, 0.into())
            .col_expr(
                webhooks::Column::FailingSince,
                Option::<chrono::DateTime<chrono::Utc>>::None.into(),
            )
            .col_expr(webhooks::Column::LastSuccessAt, Some(at).into())
            .filter(webhooks::Column::Id.eq(id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}

/// A delivery's state after an attempt: delivered, failed for good, or due again after the
/// backoff. False when the attempt was stale (the delivery recorded or claimed again since).
async fn record_delivery(
    txn: &sea_orm::DatabaseTransaction,
    settings: &Settings,
    delivery: &Claimed,
    outcome: &Outcome,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
    let delivered = outcome.delivered();
    let (status, next) = if delivered {
        (DeliveryStatus::Delivered, None)
    } else if attempts >= settings.max_attempts {
        (DeliveryStatus::Failed, None)
    } else {
        let wait = chrono::Duration::from_std(settings.backoff(attempts))
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        (DeliveryStatus::Pending, Some(at + wait))
    };
    use webhook_deliveries::Column;
    let done = webhook_deliveries::Entity::update_many()
        .col_expr(Column::Status, status.as_str().into())
        .col_expr(Column::NextAttemptAt, next.into())
        .col_expr(Column::ResponseStatus, outcome.status.into())
        .col_expr(Column::ResponseBody, outcome.body.clone().into())
        .col_expr(Column::Error, outcome.error.clone().into())
        .col_expr(
            Column::DurationMs,
            i32::try_from(outcome.duration.as_millis())
                .unwrap_or(i32::MAX)
                .into(),
        )
        .col_expr(Column::DeliveredAt, delivered.then_some(at).into())
        .filter(Column::Id.eq(delivery.id))
        // Not if recorded already, or claimed again since (a lease that expired while this
        // attempt ran): a late outcome must not overwrite a newer attempt's.
        .filter(Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(Column::Attempts.eq(delivery.attempts))
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// One more failure in the endpoint's run; disables it when the run is long enough.
async fn record_failure(
    txn: &sea_orm::DatabaseTransaction,
    settings: &Settings,
    endpoint: &webhooks::Model,
    delivery: &Claimed,
    outcome: &Outcome,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    tracing::info!(
        webhook = %endpoint.id,
        delivery = %delivery.id,
        attempt = delivery.attempts,
        error = outcome.error.as_deref().unwrap_or_default(),
        "webhook attempt failed"
    );
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, \
               failing_since = COALESCE(failing_since, $1) \
             WHERE id = $2 RETURNING consecutive_failures, failing_since, disabled_at"
        }
        _ => {
            "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, \
               failing_since = COALESCE(failing_since, ?) \
             WHERE id = ? RETURNING consecutive_failures, failing_since, disabled_at"
        }
    };
    let Some(row) = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [at.into(), endpoint.id.into()],
        ))
        .await?
    else {
        return Ok(());
    };
    let failures: i32 = row.try_get("", "consecutive_failures")?;
    let since: Option<chrono::DateTime<chrono::Utc>> = row.try_get("", "failing_since")?;
    let disabled: Option<chrono::DateTime<chrono::Utc>> = row.try_get("", "disabled_at")?;
    let failures_in_a_row = u32::try_from(failures).unwrap_or(0);
    if disabled.is_none() && failures_in_a_row >= PAUSE_AFTER {
        // The endpoint looks down: its other due deliveries wait as long as this one, so that it
        // does not take every slot (and the other endpoints' turn) while it times out.
        let pause =
            chrono::Duration::from_std(settings.backoff(failures_in_a_row - PAUSE_AFTER + 1))
                .unwrap_or_else(|_| chrono::Duration::hours(1));
        let until = at + pause;
        use webhook_deliveries::Column;
        webhook_deliveries::Entity::update_many()
            .col_expr(Column::NextAttemptAt, Some(until).into())
            .filter(Column::WebhookId.eq(endpoint.id))
            .filter(Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(Column::NextAttemptAt.lt(until))
            .filter(Column::Id.ne(delivery.id))
            .exec(txn)
            .await?;
    }
    let long_enough = since
        .is_some_and(|since| (at - since).to_std().unwrap_or_default() >= settings.disable_after);
    if disabled.is_none()
        && settings.disable_after_failures > 0
        && u32::try_from(failures).unwrap_or(0) >= settings.disable_after_failures
        && long_enough
    {
        let reason = format!(
            "{failures} attempts failed in a row since {}; last: {}",
            since.map(|s| s.to_rfc3339()).unwrap_or_default(),
            outcome.error.as_deref().unwrap_or("no answer")
        );
        webhooks::Entity::update_many()
            .col_expr(webhooks::Column::DisabledAt, Some(at).into())
            .col_expr(webhooks::Column::DisabledReason, Some(reason).into())
            .filter(webhooks::Column::Id.eq(endpoint.id))
            .filter(webhooks::Column::DisabledAt.is_null())
            .exec(txn)
            .await?;
        tracing::warn!(webhook = %endpoint.id, url = %endpoint.url, "webhook disabled after repeated failures");
    }
    Ok(())
}

/// Removes delivered and failed deliveries older than the log's retention; returns how many.
pub async fn prune_log(db: &DatabaseConnection, retention: Duration) -> Result<u64, DbErr> {
    let before = now()
        - chrono::Duration::from_std(retention).unwrap_or_else(|_| chrono::Duration::days(30));
    let done = webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::Status.ne(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
