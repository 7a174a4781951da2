//! Read replicas: queries read from PostgreSQL streaming replicas, everything else (mutations,
//! the reads inside them, subscriptions, credentials) from the primary, and a client always
//! reads its own writes.
//!
//! Positions are PostgreSQL's WAL positions (LSNs). After a mutation the server reads the
//! primary's position and answers it in the `Crm-Write-Position` header; a request carrying it
//! back in `Crm-Read-After` reads from a replica that has replayed that far, or from the
//! primary. Without the header, each instance remembers the position of every user's last
//! write until every replica has replayed it, so a user's next query on the same instance reads
//! it too (a load balancer keeping a user on one instance needs no header at all).
//!
//! A background task checks every replica's replayed position (`CRM_REPLICA_CHECK_MS`): one
//! that does not answer, or lags more than `CRM_REPLICA_MAX_LAG_SECS` behind the primary, is
//! not read from until it catches up. With no replica usable, queries read from the primary.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbErr, Statement};
use uuid::Uuid;

use crate::engine::counts::CountCache;
use crate::engine::reader::Reader;

/// Users whose last write is remembered at most; past it, the oldest positions are folded
/// into one floor every query must have (correct, if more often on the primary).
const MAX_REMEMBERED: usize = 100_000;

/// How long a query waits for a replica to say how far it has replayed before reading from
/// the primary instead; the background check waits [`CHECK_TIMEOUT`].
const ASK_TIMEOUT: Duration = Duration::from_millis(200);
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A position in PostgreSQL's write-ahead log (`pg_lsn`, written `16/B374D848`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl FromStr for Lsn {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Lsn, Self::Err> {
        const BAD: &str = "a WAL position such as 16/B374D848, as `Crm-Write-Position` gave it";
        let (high, low) = text.trim().split_once('/').ok_or(BAD)?;
        if high.is_empty() || low.is_empty() || high.len() > 8 || low.len() > 8 {
            return Err(BAD);
        }
        let high = u32::from_str_radix(high, 16).map_err(|_| BAD)?;
        let low = u32::from_str_radix(low, 16).map_err(|_| BAD)?;
        Ok(Lsn((u64::from(high) << 32) | u64::from(low)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// The read replicas' settings.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// How often each replica's position is checked.
    pub check_every: Duration,
    /// A replica further behind is not read from.
    pub max_lag: Duration,
    /// How long the root lists' counts are kept (as on the primary).
    pub count_cache: Duration,
}

/// Where a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Primary,
    Replica,
}

/// The primary and its replicas.
pub struct Replicas {
    /// The primary's reader's connections, unmetered: for its position (the server's own
    /// statements).
    primary: Reader,
    /// The primary's reader, for the queries no replica can take.
    primary_reader: Reader,
    replicas: Vec<Replica>,
    /// The next replica to try (round robin).
    next: AtomicUsize,
    writes: Mutex<Writes>,
    settings: ReplicaSettings,
    /// The primary's positions at the last checks, oldest first (how far behind a replica is,
    /// in time).
    history: Mutex<VecDeque<(Instant, Lsn)>>,
}

struct Replica {
    reader: Reader,
    /// The same connections for the checks (not counted as requests' statements).
    checks: Reader,
    /// Replayed that far at the last check.
    replayed: AtomicU64,
    /// Answered the last check, within the lag allowed, and has not failed a query since.
    usable: Arc<AtomicBool>,
    /// Has answered a check at least once.
    answered: AtomicBool,
    /// How far behind the primary at the last check, in milliseconds.
    lag_ms: AtomicU64,
    /// This replica's counts (emptied whenever it replays further).
    counts: Arc<CountCache>,
}

/// What `/metrics` tells of a replica.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaStatus {
    pub usable: bool,
    pub lag: Duration,
}

#[derive(Default)]
struct Writes {
    /// Each user's last write, until every replica has replayed it.
    by_user: HashMap<Uuid, Lsn>,
    /// What every query must see (positions forgotten when the map was full).
    floor: Lsn,
}

impl Replicas {
    /// Readers on the replicas at `urls` (connections open on demand: a replica down at start
    /// only keeps queries on the primary).
    pub fn new(
        primary_reader: Reader,
        urls: &[String],
        settings: ReplicaSettings,
    ) -> Result<Replicas, DbErr> {
        let replicas = urls
            .iter()
            .map(|url| {
                let counts = Arc::new(CountCache::new(settings.count_cache));
                let usable = Arc::new(AtomicBool::new(false));
                let reader = Reader::replica(&primary_reader, url, usable.clone())?
                    .with_counts(counts.clone());
                Ok(Replica {
                    checks: reader.unmetered(),
                    reader,
                    replayed: AtomicU64::new(0),
                    usable,
                    answered: AtomicBool::new(false),
                    lag_ms: AtomicU64::new(0),
                    counts,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        Ok(Replicas {
            primary: primary_reader.unmetered(),
            primary_reader,
            replicas,
            next: AtomicUsize::new(0),
            writes: Mutex::default(),
            settings,
            history: Mutex::default(),
        })
    }

    /// Checks the replicas now, then every `check_every`, as long as they are in use.
    pub fn start(self: &Arc<Self>) {
        let replicas = Arc::downgrade(self);
        let every = self.settings.check_every;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(replicas) = replicas.upgrade() else {
                    return;
                };
                replicas.check().await;
            }
        });
    }

    /// The reader for a query by `user` that must see `after` (a position the client sent
    /// back), and where it reads: a usable replica that has replayed what the query must see,
    /// else the primary.
    pub async fn reader_for(&self, user: Option<Uuid>, after: Option<Lsn>) -> (Reader, Target) {
        let needed = self.needed(user, after);
        let count = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut behind = None;
        for offset in 0..count {
            let index = (start + offset) % count;
            let replica = &self.replicas[index];
            if !replica.usable.load(Ordering::Relaxed) {
                continue;
            }
            if Lsn(replica.replayed.load(Ordering::Acquire)) >= needed {
                return (replica.reader.clone(), Target::Replica);
            }
            behind.get_or_insert(index);
        }
        // A usable replica that was behind at its last check may have caught up since: ask it
        // once.
        if let Some(index) = behind {
            let replica = &self.replicas[index];
            if let Ok(Ok(position)) =
                tokio::time::timeout(ASK_TIMEOUT, replayed(&replica.checks)).await
            {
                replica.advance(position);
                if position >= needed {
                    return (replica.reader.clone(), Target::Replica);
                }
            }
        }
        (self.primary_reader.clone(), Target::Primary)
    }

    /// What a query by `user` carrying `after` must see.
    fn needed(&self, user: Option<Uuid>, after: Option<Lsn>) -> Lsn {
        let remembered = self.writes.lock().map_or(Lsn(u64::MAX), |writes| {
            let own = user.and_then(|user| writes.by_user.get(&user).copied());
            Ord::max(writes.floor, own.unwrap_or_default())
        });
        Ord::max(remembered, after.unwrap_or_default())
    }

    /// After a mutation by `user`: the primary's position now (its writes included), kept
    /// for the user's next queries and answered to the client.
    pub async fn written(&self, user: Option<Uuid>) -> Result<Lsn, DbErr> {
        let position = current(&self.primary).await?;
        if let (Some(user), Ok(mut writes)) = (user, self.writes.lock()) {
            if writes.by_user.len() >= MAX_REMEMBERED && !writes.by_user.contains_key(&user) {
                // Forget them all behind one floor: queries after it read at least that far.
                let highest = writes.by_user.values().copied().max().unwrap_or_default();
                writes.floor = Ord::max(writes.floor, highest);
                writes.by_user.clear();
            }
            let entry = writes.by_user.entry(user).or_default();
            *entry = Ord::max(*entry, position);
        }
        Ok(position)
    }

    /// Reads the primary's and each replica's position: which replicas are usable and how far
    /// behind, and forgets the writes every replica has replayed.
    async fn check(&self) {
        let now = Instant::now();
        let keep = self.settings.max_lag + self.settings.check_every * 2;
        if let Ok(Ok(position)) = tokio::time::timeout(CHECK_TIMEOUT, current(&self.primary)).await
            && let Ok(mut history) = self.history.lock()
        {
            history.push_back((now, position));
            while history
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > keep)
            {
                history.pop_front();
            }
        }
        let mut everywhere = Lsn(u64::MAX);
        for (index, replica) in self.replicas.iter().enumerate() {
            let answer = tokio::time::timeout(CHECK_TIMEOUT, replayed(&replica.checks))
                .await
                .unwrap_or_else(|_| {
                    Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(
                        "no answer in time".to_owned(),
                    )))
                });
            match answer {
                Ok(position) => {
                    replica.advance(position);
                    let lag = self.lag(position, now);
                    replica.lag_ms.store(
                        u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                    let usable = lag <= self.settings.max_lag;
                    if replica.usable.swap(usable, Ordering::Relaxed) != usable {
                        tracing::warn!(
                            replica = index,
                            lag_ms = lag.as_millis(),
                            usable,
                            "read replica"
                        );
                    }
                    replica.answered.store(true, Ordering::Relaxed);
                    everywhere = Ord::min(everywhere, position);
                }
                Err(err) => {
                    everywhere = Lsn(0);
                    if replica.usable.swap(false, Ordering::Relaxed) {
                        tracing::warn!(replica = index, error = %err, "read replica unreachable: reading from the primary");
                    }
                }
            }
        }
        if let Ok(mut writes) = self.writes.lock() {
            writes.by_user.retain(|_, position| *position > everywhere);
        }
    }

    /// How long ago the primary was at `position` (zero when it is no further).
    fn lag(&self, position: Lsn, now: Instant) -> Duration {
        let Ok(history) = self.history.lock() else {
            return Duration::MAX;
        };
        // The primary's position at the latest check the replica has replayed past; the
        // replica is behind since the next one.
        let Some(index) = history.iter().rposition(|(_, at)| *at <= position) else {
            return history
                .front()
                .map_or(Duration::ZERO, |(at, _)| now.duration_since(*at));
        };
        match history.get(index + 1) {
            None => Duration::ZERO,
            Some((since, _)) => now.duration_since(*since),
        }
    }

    /// Each replica's state.
    pub fn status(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|replica| ReplicaStatus {
                usable: replica.usable.load(Ordering::Relaxed),
                lag: Duration::from_millis(replica.lag_ms.load(Ordering::Relaxed)),
            })
            .collect()
    }

    /// Each replica's connections.
    pub fn pool_stats(&self) -> Vec<crate::engine::reader::PoolStats> {
        self.replicas
            .iter()
            .map(|replica| replica.reader.stats())
            .collect()
    }

    /// Whether a replica has answered at least once (`/ready`).
    pub fn any_answered(&self) -> bool {
        self.replicas
            .iter()
            .any(|replica| replica.answered.load(Ordering::Relaxed))
    }

    /// Closes the replicas' connections (at shutdown).
    pub async fn close(&self) {
        for replica in &self.replicas {
            replica.reader.close().await;
        }
    }
}

impl Replica {
    /// Records that the replica has replayed up to `position`; its counts computed before are
    /// stale.
    fn advance(&self, position: Lsn) {
        let before = self.replayed.fetch_max(position.0, Ordering::AcqRel);
        if position.0 > before {
            self.counts.clear();
        }
    }
}

/// The primary's current position (every commit acknowledged is before it).
async fn current(db: &impl ConnectionTrait) -> Result<Lsn, DbErr> {
    position(db, "SELECT pg_current_wal_lsn()::text").await
}

/// How far a replica has replayed (a server that is not a standby, e.g. a replica promoted
/// after a failover, has everything it wrote).
async fn replayed(db: &impl ConnectionTrait) -> Result<Lsn, DbErr> {
    position(
        db,
        "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
         ELSE pg_current_wal_lsn() END)::text",
    )
    .await
}

async fn position(db: &impl ConnectionTrait, sql: &str) -> Result<Lsn, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no WAL position".to_owned()))?;
    let text: Option<String> = row.try_get_by_index(0)?;
    // NULL: a standby that has replayed nothing yet.
    text.map_or(Ok(Lsn(0)), |text| {
        text.parse()
            .map_err(|err: &str| DbErr::Type(format!("{text}: {err}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_and_write_as_postgresql_does() {
        let Ok(lsn) = "16/B374D848".parse::<Lsn>() else {
            unreachable!("a valid position")
        };
        assert_eq!(lsn, Lsn((0x16 << 32) | 0xB374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert!("0/1".parse::<Lsn>().is_ok_and(|lsn| lsn < Lsn(2)));
        for bad in ["", "16", "/1", "1/", "x/1", "1/123456789", "1/2/3"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }
}
