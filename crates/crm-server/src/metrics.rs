//! What `GET /metrics` serves (OpenMetrics text, through `prometheus-client`): request
//! durations by operation, statements, refusals, and gauges read when scraped.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// Operation names kept as label values; past them, `other` (a client chooses the names:
/// they must not grow the series without bound).
const MAX_NAMES: usize = 200;

/// Longest operation name kept as a label value.
const MAX_NAME_CHARS: usize = 100;

/// Request durations' buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Executed without errors.
    Ok,
    /// Executed, with errors in the answer.
    Error,
    /// Refused before execution (syntax, validation, limits, credentials, trusted documents).
    Refused,
    /// Turned away: every turn taken and the waiting room full (503).
    Busy,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
            Outcome::Busy => "busy",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// `query`, `mutation`, `subscription` or `unknown` (not parsed).
    operation_type: &'static str,
    /// The operation's name (`anonymous` without one, `other` past [`MAX_NAMES`]).
    operation: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    /// `main` (SeaORM's: mutations, credentials), `reader` (the read path's), `replica0`…
    pool: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    /// `select`, `insert`, `update`, `delete` or `other`.
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    /// `delivered`, `retry` (failed, tried again later) or `failed` (the last attempt).
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    /// The replica's position in `DATABASE_REPLICA_URL`, from 0.
    replica: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DatabaseLabels {
    /// `primary` or `replica`.
    database: &'static str,
}

/// SQL statements' buckets, in seconds: 100 µs to 10 s.
const SQL_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0,
];

/// The statement kinds [`crate::engine::reader::kind_of`] tells apart.
const KINDS: [&str; 5] = ["select", "insert", "update", "delete", "other"];

/// The server's metrics.
pub struct Metrics {
    /// GraphQL requests answered.
    pub graphql_requests: Counter,
    /// SQL statements run for requests (all connections of the pool; the change feed's aside).
    pub sql_statements: Counter,
    /// Credentials sent and refused (bad, expired or revoked tokens, disabled accounts).
    pub auth_failures: Counter,
    /// Sign-in attempts refused by the rate limit.
    pub rate_limited: Counter,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// Statements' durations by kind, in the order of [`KINDS`].
    statements: [Histogram; 5],
    subscription_queue: Gauge,
    subscription_queue_longest: Gauge,
    replica_lag: Family<ReplicaLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    replica_usable: Family<ReplicaLabels, Gauge>,
    queries: Family<DatabaseLabels, Counter>,
    names: Mutex<HashSet<String>>,
    document_cache_bytes: Gauge,
    websocket_connections: Gauge,
    subscriptions: Gauge,
    pool: Family<PoolLabels, Gauge>,
    webhook_attempts: Family<AttemptLabels, Counter>,
    registry: Registry,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// `metric`, registered under `name`: the handle returned shares its values with the registry.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let r = &mut registry;
        let histogram: fn() -> Histogram = || Histogram::new(BUCKETS);
        Metrics {
            graphql_requests: registered(
                r,
                "crm_graphql_requests",
                "GraphQL requests answered",
                Counter::default(),
            ),
            sql_statements: registered(
                r,
                "crm_sql_statements",
                "SQL statements run for requests",
                Counter::default(),
            ),
            auth_failures: registered(
                r,
                "crm_auth_failures",
                "Credentials sent and refused",
                Counter::default(),
            ),
            rate_limited: registered(
                r,
                "crm_rate_limited",
                "Sign-in attempts refused by the rate limit",
                Counter::default(),
            ),
            requests: registered(
                r,
                "crm_graphql_request_duration_seconds",
                "GraphQL requests by operation type, name and outcome",
                Family::new_with_constructor(histogram),
            ),
            statements: {
                let family = registered(
                    r,
                    "crm_sql_statement_duration_seconds",
                    "SQL statements run for requests, by kind",
                    Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                        || Histogram::new(SQL_BUCKETS),
                    ),
                );
                KINDS.map(|kind| family.get_or_create(&KindLabels { kind }).clone())
            },
            subscription_queue: registered(
                r,
                "crm_subscription_queued_changes",
                "Changes queued for subscribers, not yet sent",
                Gauge::default(),
            ),
            subscription_queue_longest: registered(
                r,
                "crm_subscription_queue_longest",
                "Changes queued for the subscriber furthest behind",
                Gauge::default(),
            ),
            replica_lag: registered(
                r,
                "crm_replica_lag_seconds",
                "How far each read replica is behind the primary",
                Family::default(),
            ),
            replica_usable: registered(
                r,
                "crm_replica_usable",
                "Whether queries read from each replica (1) or not (0: unreachable or too far behind)",
                Family::default(),
            ),
            queries: registered(
                r,
                "crm_queries_read",
                "Queries (read-only operations) by the database they read from",
                Family::default(),
            ),
            names: Mutex::new(HashSet::new()),
            document_cache_bytes: registered(
                r,
                "crm_document_cache_bytes",
                "Parsed documents kept between requests (estimated)",
                Gauge::default(),
            ),
            websocket_connections: registered(
                r,
                "crm_websocket_connections",
                "WebSocket connections open",
                Gauge::default(),
            ),
            subscriptions: registered(
                r,
                "crm_subscriptions",
                "Operations running over WebSocket (subscriptions)",
                Gauge::default(),
            ),
            pool: registered(
                r,
                "crm_db_connections",
                "Connections of the database pool, by state",
                Family::default(),
            ),
            webhook_attempts: {
                let family = registered(
                    r,
                    "crm_webhook_attempts",
                    "Webhook delivery attempts made by this instance, by outcome",
                    Family::<AttemptLabels, Counter>::default(),
                );
                // Every outcome served from the start, at zero.
                for outcome in ["delivered", "retry", "failed"] {
                    drop(family.get_or_create(&AttemptLabels { outcome }));
                }
                family
            },
            // Last: every metric above is registered by now.
            registry,
        }
    }
}

/// The gauges' values at a scrape.
pub struct Gauges {
    pub document_cache_bytes: usize,
    pub websocket_connections: usize,
    pub subscriptions: usize,
    /// Changes queued for subscribers: in all, and for the one furthest behind.
    pub queued_changes: (usize, usize),
    /// Each connection pool by name.
    pub pools: Vec<(String, crate::engine::reader::PoolStats)>,
    /// Each replica: usable, and its lag.
    pub replicas: Vec<crate::engine::replicas::ReplicaStatus>,
}

impl Metrics {
    /// Counts a webhook attempt: `delivered`, `retry` or `failed`.
    pub fn webhook_attempt(&self, outcome: &'static str) {
        self.webhook_attempts
            .get_or_create(&AttemptLabels { outcome })
            .inc();
    }

    /// Records a request's duration.
    pub fn observe(
        &self,
        operation_type: &'static str,
        name: Option<&str>,
        outcome: Outcome,
        seconds: f64,
    ) {
        let labels = RequestLabels {
            operation_type,
            operation: self.name_label(name),
            outcome: outcome.label(),
        };
        self.requests.get_or_create(&labels).observe(seconds);
    }

    /// Records a statement run for a request: its kind ([`crate::engine::reader::kind_of`])
    /// and duration.
    pub fn statement(&self, kind: &str, elapsed: std::time::Duration) {
        self.sql_statements.inc();
        let index = KINDS
            .iter()
            .position(|known| *known == kind)
            .unwrap_or(KINDS.len() - 1);
        if let Some(histogram) = self.statements.get(index) {
            histogram.observe(elapsed.as_secs_f64());
        }
    }

    /// Records that a query read from a replica (`true`) or the primary (with replicas).
    pub fn query_read(&self, from_replica: bool) {
        let database = if from_replica { "replica" } else { "primary" };
        self.queries
            .get_or_create(&DatabaseLabels { database })
            .inc();
    }

    fn name_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".to_owned();
        };
        let name: String = name.chars().take(MAX_NAME_CHARS).collect();
        let Ok(mut names) = self.names.lock() else {
            return "other".to_owned();
        };
        if names.contains(&name) {
            return name;
        }
        if names.len() >= MAX_NAMES {
            return "other".to_owned();
        }
        names.insert(name.clone());
        name
    }

    /// The OpenMetrics text of every metric, the gauges set to `gauges`.
    pub fn render(&self, gauges: Gauges) -> String {
        let as_gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        self.document_cache_bytes
            .set(as_gauge(gauges.document_cache_bytes));
        self.websocket_connections
            .set(as_gauge(gauges.websocket_connections));
        self.subscriptions.set(as_gauge(gauges.subscriptions));
        self.subscription_queue
            .set(as_gauge(gauges.queued_changes.0));
        self.subscription_queue_longest
            .set(as_gauge(gauges.queued_changes.1));
        for (pool, figures) in gauges.pools {
            let states = [
                ("in_use", Some(figures.in_use)),
                ("idle", Some(figures.idle)),
                ("waiting", figures.waiting),
            ];
            for (state, value) in states {
                if let Some(value) = value {
                    let labels = PoolLabels {
                        pool: pool.clone(),
                        state,
                    };
                    self.pool.get_or_create(&labels).set(as_gauge(value));
                }
            }
        }
        for (index, replica) in gauges.replicas.iter().enumerate() {
            let labels = ReplicaLabels {
                replica: index.to_string(),
            };
            self.replica_lag
                .get_or_create(&labels)
                .set(replica.lag.as_secs_f64());
            self.replica_usable
                .get_or_create(&labels)
                .set(i64::from(replica.usable));
        }

        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %err, "encoding the metrics failed");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let metrics = Metrics::default();
        for index in 0..MAX_NAMES + 50 {
            metrics.observe("query", Some(&format!("Op{index}")), Outcome::Ok, 0.01);
        }
        metrics.observe("query", None, Outcome::Refused, 0.001);
        metrics.statement("update", std::time::Duration::from_millis(3));
        metrics.webhook_attempt("retry");
        let text = metrics.render(Gauges {
            document_cache_bytes: 1,
            websocket_connections: 2,
            subscriptions: 3,
            queued_changes: (7, 6),
            pools: vec![(
                "reader".to_owned(),
                crate::engine::reader::PoolStats {
                    in_use: 4,
                    idle: 5,
                    waiting: Some(8),
                },
            )],
            replicas: Vec::new(),
        });
        assert!(text.contains("operation=\"Op0\""), "{text}");
        assert!(!text.contains(&format!("operation=\"Op{}\"", MAX_NAMES + 10)));
        assert!(text.contains("operation=\"other\""));
        assert!(text.contains("operation=\"anonymous\""));
        assert!(text.contains("crm_websocket_connections 2"), "{text}");
        assert!(
            text.contains("crm_db_connections{pool=\"reader\",state=\"idle\"} 5"),
            "{text}"
        );
        assert!(text.contains("state=\"waiting\"} 8"), "{text}");
        assert!(text.contains("crm_subscription_queue_longest 6"), "{text}");
        assert!(
            text.contains(
                "crm_sql_statement_duration_seconds_bucket{le=\"0.005\",kind=\"update\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("crm_webhook_attempts_total{outcome=\"retry\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
