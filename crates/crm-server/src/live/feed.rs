//! The change feed: the log of changes (`change_events`, written by triggers in the same
//! transaction as each change) read by one task per server instance and queued for each of
//! its subscribers that wants it (by table and client).
//!
//! The task reads the entries after the last one it delivered whenever it is woken:
//! in-process by [`Feed::wake`] after a write of this instance (on PostgreSQL it then sends
//! `NOTIFY crm_changes`, once for all the writes that woke it); by that notification from
//! another instance (one listening connection of its own, outside the pool, reconnecting);
//! and in any case every `poll` interval, which also catches writes made elsewhere (SQL, the
//! CLI) and notifications lost while the listener reconnected. Nothing is lost: the log, not
//! the notification, is the message.
//!
//! Sequence numbers are taken when a change is written, not when it commits: a transaction
//! that commits after a later one leaves a gap that fills a moment later. Entries past a gap
//! are delivered at once; the gap is read again until it fills, or until [`GAP_WAIT`] shows
//! it never will (a rolled-back transaction).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::Notify;
use uuid::Uuid;

/// How long a gap in the sequence is waited for.
pub const GAP_WAIT: Duration = Duration::from_secs(60);

/// Entries read per statement.
const BATCH: i64 = 1000;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ChangeOperation", rename_items = "lowercase")]
pub enum Operation {
    /// The row was inserted.
    Created,
    /// The row was changed.
    Updated,
    /// The row was deleted.
    Deleted,
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its place in the log (resume after it).
    pub seq: i64,
    /// The table: `clients`, `contracts`, `payments`, `client_notes` or `documents`; or
    /// `credentials` (the row is a user whose credentials changed, see [`credentials_changed`]).
    pub table: String,
    pub row_id: Uuid,
    /// The row's client (the client itself for `clients`).
    pub client_id: Option<Uuid>,
    pub operation: Operation,
}

/// The feed of one server instance.
pub struct Feed {
    hub: Arc<Hub>,
    wake: Arc<Notify>,
    /// Set once the task knows where the log ends (changes after that point are delivered).
    started: tokio::sync::watch::Receiver<bool>,
}

impl Feed {
    /// Starts reading the log from its current end, every `poll` at least. A subscriber may
    /// fall `capacity` changes behind before it is told it lagged.
    pub fn start(db: DatabaseConnection, poll: Duration, capacity: usize) -> Arc<Feed> {
        let (started, started_receiver) = tokio::sync::watch::channel(false);
        let feed = Arc::new(Feed {
            hub: Arc::new(Hub::new(capacity)),
            wake: Arc::new(Notify::new()),
            started: started_receiver,
        });
        let mut listener = listener(&db);
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        let sender = feed.hub.clone();
        let wake = feed.wake.clone();
        tokio::spawn(async move {
            let mut reader = loop {
                match last_seq(&db).await {
                    Ok(last) => {
                        started.send_replace(true);
                        break Reader {
                            next: last + 1,
                            delivered: BTreeSet::new(),
                            gap_since: None,
                        };
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot find the end of the change log");
                        if Arc::strong_count(&wake) == 1 {
                            return;
                        }
                        tokio::time::sleep(poll).await;
                    }
                }
            };
            loop {
                if let Err(err) = reader.read(&db, &sender).await {
                    tracing::warn!(error = %err, "reading the change log failed");
                }
                // The feed is gone (its server stopped): so is the task.
                if Arc::strong_count(&wake) == 1 {
                    break;
                }
                tokio::select! {
                    () = wake.notified() => {
                        // Tell the other instances (one notification for every write that
                        // woke this task since it last read).
                        if postgres
                            && let Err(err) = db.execute_unprepared("NOTIFY crm_changes").await
                        {
                            tracing::warn!(error = %err, "cannot notify the other instances");
                        }
                    }
                    () = tokio::time::sleep(poll) => {}
                    () = notified(&mut listener) => {}
                }
            }
        });
        feed
    }

    /// The changes from now on that match `interest`, in a queue of their own: a subscriber
    /// that falls the feed's capacity behind is told it lagged (it would miss changes
    /// otherwise).
    pub fn subscribe(&self, interest: Interest) -> Subscription {
        self.hub.subscribe(interest)
    }

    /// Returns once the feed delivers every change committed from now on.
    pub async fn started(&self) {
        let mut started = self.started.clone();
        let _ = started.wait_for(|started| *started).await;
    }

    /// Changes queued for subscribers not yet sent: in all, and for the most behind one.
    pub fn queued(&self) -> (usize, usize) {
        self.hub.queued()
    }

    /// Reads the log now (after a write made by this instance).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Records in the log that `user`'s credentials changed (signed out, revoked, deactivated,
/// another role or password), in the transaction of that change: every instance then forgets
/// the credentials it checked and re-checks the user's open subscriptions.
pub async fn credentials_changed(db: &impl ConnectionTrait, user: Uuid) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO change_events (table_name, row_id, operation) \
             VALUES ('credentials', $1, 'updated')"
        }
        _ => {
            "INSERT INTO change_events (table_name, row_id, operation) \
             VALUES ('credentials', ?, 'updated')"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [user.into()]))
        .await?;
    Ok(())
}

/// What a subscriber wants: changes of one table (or all) of one client (or all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest {
    /// The table (one of [`TABLES`]); none: every table.
    pub table: Option<&'static str>,
    /// The client; none: every client.
    pub client: Option<Uuid>,
}

/// The tables of the log.
pub const TABLES: [&str; 6] = [
    "clients",
    "contracts",
    "payments",
    "client_notes",
    "documents",
    "credentials",
];

/// The subscribers of each interest: a change goes only to the queues that want it (a write
/// costs nothing to the subscribers of other clients).
struct Hub {
    capacity: usize,
    next: AtomicU64,
    queues: Mutex<HashMap<Interest, HashMap<u64, Arc<Queue>>>>,
}

/// One subscriber's changes waiting to be read (a few words while empty: idle subscribers
/// are most of them).
#[derive(Default)]
struct Queue {
    changes: Mutex<VecDeque<Arc<Change>>>,
    ready: Notify,
    /// Its subscriber fell behind: changes were dropped.
    lagged: AtomicBool,
    /// The feed stopped.
    closed: AtomicBool,
}

impl Queue {
    fn end(&self, lagged: bool) {
        if lagged {
            self.lagged.store(true, Ordering::SeqCst);
        }
        self.closed.store(true, Ordering::SeqCst);
        self.ready.notify_one();
    }
}

impl Hub {
    fn new(capacity: usize) -> Self {
        Hub {
            capacity: capacity.max(1),
            next: AtomicU64::new(0),
            queues: Mutex::new(HashMap::new()),
        }
    }

    fn subscribe(self: &Arc<Self>, interest: Interest) -> Subscription {
        let queue = Arc::new(Queue::default());
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut queues) = self.queues.lock() {
            queues
                .entry(interest)
                .or_default()
                .insert(id, queue.clone());
        }
        Subscription {
            queue,
            hub: Arc::downgrade(self),
            interest,
            id,
        }
    }

    /// Queues `change` for every subscriber that wants it; one whose queue is full is dropped
    /// (it finds out when its queue runs dry).
    fn dispatch(&self, change: Arc<Change>) {
        let Some(table) = TABLES.iter().copied().find(|table| *table == change.table) else {
            return;
        };
        let Ok(mut queues) = self.queues.lock() else {
            return;
        };
        let clients: &[Option<Uuid>] = match change.client_id {
            Some(_) => &[change.client_id, None],
            None => &[None],
        };
        for interest in [Some(table), None].into_iter().flat_map(|table| {
            clients.iter().map(move |client| Interest {
                table,
                client: *client,
            })
        }) {
            let Some(subscribers) = queues.get_mut(&interest) else {
                continue;
            };
            subscribers.retain(|_, queue| {
                let Ok(mut changes) = queue.changes.lock() else {
                    return false;
                };
                if changes.len() >= self.capacity {
                    drop(changes);
                    queue.end(true);
                    return false;
                }
                changes.push_back(change.clone());
                drop(changes);
                queue.ready.notify_one();
                true
            });
            if subscribers.is_empty() {
                queues.remove(&interest);
            }
        }
    }

    /// Changes in every queue, and in the longest (read at a scrape: visits every queue).
    fn queued(&self) -> (usize, usize) {
        let Ok(queues) = self.queues.lock() else {
            return (0, 0);
        };
        queues
            .values()
            .flat_map(HashMap::values)
            .map(|queue| queue.changes.lock().map_or(0, |changes| changes.len()))
            .fold((0, 0), |(total, longest), len| {
                (total + len, longest.max(len))
            })
    }

    fn unsubscribe(&self, interest: Interest, id: u64) {
        if let Ok(mut queues) = self.queues.lock()
            && let Some(subscribers) = queues.get_mut(&interest)
        {
            subscribers.remove(&id);
            if subscribers.is_empty() {
                queues.remove(&interest);
            }
        }
    }
}

/// The feed stopped: every subscriber is told, once it has read what is queued.
impl Drop for Hub {
    fn drop(&mut self) {
        if let Ok(queues) = self.queues.lock() {
            for queue in queues.values().flat_map(HashMap::values) {
                queue.end(false);
            }
        }
    }
}

/// Why a subscription gets no more changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Its queue filled up: changes were dropped.
    Lagged,
    /// The feed stopped (its server is stopping).
    Closed,
}

/// A subscriber's queue of changes.
pub struct Subscription {
    queue: Arc<Queue>,
    hub: std::sync::Weak<Hub>,
    interest: Interest,
    id: u64,
}

impl Subscription {
    /// The next change.
    pub async fn recv(&mut self) -> Result<Arc<Change>, Ended> {
        loop {
            if let Some(next) = self.try_recv() {
                return next;
            }
            // A change queued since `try_recv` left a permit: this returns at once.
            self.queue.ready.notified().await;
        }
    }

    /// The next change if one is queued.
    pub fn try_recv(&mut self) -> Option<Result<Arc<Change>, Ended>> {
        let next = self
            .queue
            .changes
            .lock()
            .ok()
            .and_then(|mut changes| changes.pop_front());
        match next {
            Some(change) => Some(Ok(change)),
            None if self.queue.lagged.load(Ordering::SeqCst) => Some(Err(Ended::Lagged)),
            None if self.queue.closed.load(Ordering::SeqCst) => Some(Err(Ended::Closed)),
            None => None,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.unsubscribe(self.interest, self.id);
        }
    }
}

/// The log entries after `after`, at most `limit` (a subscriber resuming).
pub async fn since(db: &DatabaseConnection, after: i64, limit: i64) -> Result<Vec<Change>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT seq, table_name, row_id, client_id, operation FROM change_events \
             WHERE seq > $1 ORDER BY seq LIMIT $2"
        }
        _ => {
            "SELECT seq, table_name, row_id, client_id, operation FROM change_events \
             WHERE seq > ? ORDER BY seq LIMIT ?"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [after.into(), limit.into()],
        ))
        .await?;
    let mut changes = Vec::with_capacity(rows.len());
    for row in &rows {
        match change_of(row) {
            Ok(change) => changes.push(change),
            // Written by hand with a malformed value: skipped (a gap the reader stops waiting
            // for), not left to stop every later change.
            Err(err) => tracing::warn!(error = %err, "a change log entry cannot be read: skipped"),
        }
    }
    Ok(changes)
}

fn change_of(row: &sea_orm::QueryResult) -> Result<Change, DbErr> {
    let operation: String = row.try_get("", "operation")?;
    Ok(Change {
        seq: row.try_get("", "seq")?,
        table: row.try_get("", "table_name")?,
        row_id: crate::db::uuid_column(row, "row_id")?
            .ok_or_else(|| DbErr::Type("a change without its row".to_owned()))?,
        client_id: crate::db::uuid_column(row, "client_id")?,
        operation: match operation.as_str() {
            "created" => Operation::Created,
            "deleted" => Operation::Deleted,
            _ => Operation::Updated,
        },
    })
}

/// Removes the log entries up to `seq` (never the newest: sequence numbers are not reused);
/// returns how many.
pub async fn prune_through(db: &DatabaseConnection, seq: i64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "DELETE FROM change_events \
             WHERE seq <= $1 AND seq < (SELECT MAX(seq) FROM change_events)"
        }
        _ => {
            "DELETE FROM change_events \
             WHERE seq <= ? AND seq < (SELECT MAX(seq) FROM change_events)"
        }
    };
    let done = db
        .execute_raw(Statement::from_sql_and_values(backend, sql, [seq.into()]))
        .await?;
    Ok(done.rows_affected())
}

/// Where the log ended at given times, to prune it by age without an index on time: an entry
/// is older than the retention once a mark taken after it is.
#[derive(Debug, Default)]
pub struct Retention {
    marks: std::collections::VecDeque<(Instant, i64)>,
}

impl Retention {
    /// Marks the log's current end; returns the last sequence number older than `keep`, if
    /// any, for [`prune_through`].
    pub async fn mark(
        &mut self,
        db: &DatabaseConnection,
        keep: Duration,
    ) -> Result<Option<i64>, DbErr> {
        self.marks.push_back((Instant::now(), last_seq(db).await?));
        let mut through = None;
        while let Some((at, seq)) = self.marks.front().copied() {
            if at.elapsed() < keep {
                break;
            }
            through = Some(seq);
            self.marks.pop_front();
        }
        Ok(through)
    }
}

/// The last sequence number of the log (0 when empty).
pub async fn last_seq(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(seq), 0) AS seq FROM change_events",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "seq")?,
        None => 0,
    })
}

/// The first sequence number of the log (none when empty).
pub async fn first_seq(db: &DatabaseConnection) -> Result<Option<i64>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MIN(seq) AS seq FROM change_events",
        ))
        .await?;
    match row {
        Some(row) => row.try_get("", "seq"),
        None => Ok(None),
    }
}

/// Where the task is in the log.
struct Reader {
    /// The first sequence number not settled (delivered, or a gap given up on).
    next: i64,
    /// Delivered entries past `next` (there is a gap before them).
    delivered: BTreeSet<i64>,
    /// Since when `next` has been missing while later entries exist.
    gap_since: Option<Instant>,
}

impl Reader {
    async fn read(&mut self, db: &DatabaseConnection, hub: &Hub) -> Result<(), DbErr> {
        loop {
            let changes = since(db, self.next - 1, BATCH).await?;
            let full = changes.len() as i64 == BATCH;
            for change in changes {
                if self.delivered.insert(change.seq) {
                    hub.dispatch(Arc::new(change));
                }
            }
            self.settle();
            if !full {
                return Ok(());
            }
        }
    }

    /// Moves `next` over what was delivered, and over a gap waited for long enough.
    fn settle(&mut self) {
        loop {
            while self.delivered.remove(&self.next) {
                self.next += 1;
                self.gap_since = None;
            }
            if self.delivered.is_empty() {
                return;
            }
            let since = *self.gap_since.get_or_insert_with(Instant::now);
            if since.elapsed() < GAP_WAIT {
                return;
            }
            // A transaction that took this number rolled back.
            self.next += 1;
            self.gap_since = None;
        }
    }
}

/// The `application_name` of the listening connection.
pub const LISTENER_NAME: &str = "crm-change-listener";

/// The PostgreSQL listener of the task, connected lazily and again after failures.
enum Listener {
    /// SQLite: nothing to listen to.
    None,
    /// Not connected: a one-connection pool of its own with the main pool's settings.
    Connecting(sea_orm::sqlx::PgPool),
    Listening(sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::PgPool),
}

/// The listener for `db` (none on SQLite).
fn listener(db: &DatabaseConnection) -> Listener {
    if db.get_database_backend() != DbBackend::Postgres {
        return Listener::None;
    }
    let pool = db.get_postgres_connection_pool();
    // Named, for operators (and tests) to find it in `pg_stat_activity`.
    let options = (*pool.connect_options())
        .clone()
        .application_name(LISTENER_NAME);
    Listener::Connecting(
        sea_orm::sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options),
    )
}

/// Returns when the log should be read again: a notification, a (re)connection (changes may
/// have been missed meanwhile), or a failure (after a pause); never on SQLite. Cancel-safe (the
/// task's other wake-ups drop it): the listener stays in place while it waits.
async fn notified(listener: &mut Listener) {
    const CHANNEL: &str = "crm_changes";
    let next = match listener {
        Listener::None => std::future::pending::<Listener>().await,
        Listener::Connecting(pool) => {
            let connected = async {
                let mut connection =
                    sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
                connection.listen(CHANNEL).await?;
                Ok::<_, sea_orm::sqlx::Error>(connection)
            }
            .await;
            match connected {
                Ok(connection) => Listener::Listening(connection, pool.clone()),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return;
                }
            }
        }
        // A notification, or the connection lost (reconnected on the next call).
        Listener::Listening(connection, pool) => match connection.try_recv().await {
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, "listening for changes failed; reconnecting");
                let pool = pool.clone();
                *listener = Listener::Connecting(pool);
                tokio::time::sleep(Duration::from_secs(1)).await;
                return;
            }
        },
    };
    *listener = next;
}
