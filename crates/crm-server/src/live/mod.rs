//! Live updates: the change feed ([`feed`]), the subscriptions that read it ([`events`]) and
//! the WebSocket connections that carry them ([`socket`]).

pub mod events;
pub mod feed;
pub mod socket;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{Semaphore, broadcast, watch};
use uuid::Uuid;

use crate::auth::AuthService;
use crate::config::LiveConfig;
use feed::Feed;

/// The log entries that name a user whose credentials changed (see
/// [`feed::credentials_changed`]).
pub const CREDENTIALS: &str = "credentials";

/// Live updates on one server instance.
pub struct Live {
    pub feed: Arc<Feed>,
    pub config: LiveConfig,
    /// Places for WebSocket connections (`CRM_WS_MAX_CONNECTIONS`).
    pub connections: Arc<Semaphore>,
    /// Places for subscriptions (`CRM_MAX_SUBSCRIPTIONS`).
    pub subscriptions: Arc<Semaphore>,
    /// Users whose credentials changed, on any instance (`Uuid::nil()`: anyone, changes were
    /// missed).
    credentials: broadcast::Sender<Uuid>,
    /// Set when the server stops: every socket closes (1001).
    shutdown: watch::Sender<bool>,
}

/// Calls `on_change` with every change of `interest`, in a task of its own for as long as the
/// feed runs (it holds the feed weakly: the feed goes when its server does, and the task with
/// it); with `None` when changes were dropped (the task fell behind; it follows on).
fn follow(
    feed: &Arc<Feed>,
    interest: feed::Interest,
    on_change: impl Fn(Option<&feed::Change>) + Send + 'static,
) {
    let feed = Arc::downgrade(feed);
    tokio::spawn(async move {
        let Some(mut changes) = feed.upgrade().map(|feed| feed.subscribe(interest)) else {
            return;
        };
        loop {
            match changes.recv().await {
                Ok(change) => on_change(Some(&change)),
                Err(feed::Ended::Lagged) => {
                    on_change(None);
                    changes = match feed.upgrade() {
                        Some(feed) => feed.subscribe(interest),
                        None => break,
                    };
                }
                Err(feed::Ended::Closed) => break,
            }
        }
    });
}

impl Live {
    /// Starts the feed, and the task that turns credential changes from any instance into
    /// forgotten credential checks here (and re-checks of the sockets of that user).
    /// Also forgets the root lists' counts (`counts`) at every change, whoever made it.
    pub fn start(
        db: DatabaseConnection,
        config: &LiveConfig,
        auth: Arc<AuthService>,
        counts: Arc<crate::engine::counts::CountCache>,
    ) -> Arc<Live> {
        let feed = Feed::start(
            db,
            Duration::from_millis(config.change_poll_ms),
            config.subscription_lag,
        );
        let (credentials, _) = broadcast::channel(1024);
        let users = credentials.clone();
        let interest = feed::Interest {
            table: Some(CREDENTIALS),
            client: None,
        };
        follow(&feed, interest, move |change| {
            auth.forget_credentials();
            // Changes dropped (none): check every socket.
            let _ = users.send(change.map_or(Uuid::nil(), |change| change.row_id));
        });
        if counts.enabled() {
            let everything = feed::Interest {
                table: None,
                client: None,
            };
            follow(&feed, everything, move |_| counts.clear());
        }
        Arc::new(Live {
            feed,
            config: config.clone(),
            connections: Arc::new(Semaphore::new(config.max_connections)),
            subscriptions: Arc::new(Semaphore::new(config.max_subscriptions)),
            credentials,
            shutdown: watch::channel(false).0,
        })
    }

    /// Closes every socket (the server is stopping).
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// WebSocket connections open.
    pub fn open_connections(&self) -> usize {
        self.config.max_connections - self.connections.available_permits()
    }

    /// Subscriptions (and other operations over WebSocket) running.
    pub fn running_subscriptions(&self) -> usize {
        self.config.max_subscriptions - self.subscriptions.available_permits()
    }
}
