//! Counts of root lists (`totalCount`) kept between requests while nothing changes.
//!
//! Counting a large match visits every matching row, index or not: the one cost of a page
//! that grows with the data. The same count asked again (same statement: same table, filter
//! and viewer) with nothing written meanwhile is answered from here. The cache empties on
//! every change the change log records, through any instance (the change feed clears it), and
//! on every write through this instance before its answer is sent (a client reads its own
//! writes); an entry lives `CRM_COUNT_CACHE_SECS` at most in any case (for what the log does
//! not record: users, mailboxes, rows written while the feed was catching up).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Entries kept at most; past it, the cache starts over.
const CAPACITY: usize = 4096;

/// Counts by statement.
#[derive(Debug, Default)]
pub struct CountCache {
    /// How long an entry lives; zero: the cache is off.
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, i64)>>,
    /// Bumped by every clear: a count computed across a clear is not kept.
    generation: AtomicU64,
}

impl CountCache {
    pub fn new(ttl: Duration) -> Self {
        CountCache {
            ttl,
            ..CountCache::default()
        }
    }

    /// Whether counts are kept at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The count of `statement`, if known and fresh.
    pub fn get(&self, statement: &str) -> Option<i64> {
        let entries = self.entries.lock().ok()?;
        let (at, count) = entries.get(statement)?;
        (at.elapsed() < self.ttl).then_some(*count)
    }

    /// The generation to pass to [`CountCache::put`], read before the count is computed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps `count`, unless the cache was cleared since `generation`.
    pub fn put(&self, statement: String, generation: u64, count: i64) {
        if !self.enabled() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(statement, (Instant::now(), count));
    }

    /// Forgets every count (something changed).
    pub fn clear(&self) {
        if !self.enabled() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_kept_until_a_clear_and_never_across_one() {
        let cache = CountCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.put("a".to_owned(), before, 7);
        assert_eq!(cache.get("a"), Some(7));
        cache.clear();
        assert_eq!(cache.get("a"), None);
        // Computed before the clear, stored after it: not kept.
        cache.put("a".to_owned(), before, 7);
        assert_eq!(cache.get("a"), None);
        cache.put("a".to_owned(), cache.generation(), 8);
        assert_eq!(cache.get("a"), Some(8));
    }

    #[test]
    fn an_entry_expires_and_a_zero_lifetime_keeps_nothing() {
        let cache = CountCache::new(Duration::from_millis(1));
        cache.put("a".to_owned(), cache.generation(), 7);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(cache.get("a"), None);
        let off = CountCache::new(Duration::ZERO);
        off.put("a".to_owned(), off.generation(), 7);
        assert_eq!(off.get("a"), None);
    }
}
