//! The sign-in rate limit, built so that a stranger cannot turn it into a lock-out.
//!
//! Each password check (`signIn`, `changePassword`) is counted against three budgets, with
//! `per_minute` = `CRM_SIGN_IN_PER_MINUTE` (default 5):
//!
//! | budget | attempts a minute | bounds |
//! |---|---|---|
//! | one account from one client address | `per_minute` | one address guessing one password |
//! | one client address, all accounts | 10 × `per_minute` | one address guessing many accounts |
//! | one account, from addresses it never signed in from | 10 × `per_minute` | many addresses guessing one password |
//!
//! An address from which the account signed in successfully (in the last 30 days, since the
//! server started) skips the account-wide budget: attackers elsewhere cannot lock the user out
//! of their usual address, and can lock them out of a new one only by guessing from more
//! than ten addresses at full speed. A success also forgives that address's earlier mistakes
//! on the account. IPv6 clients are counted by their /64 network (what one subscriber gets).
//!
//! Each budget is a GCRA bucket (a burst of its size, then one attempt per 60 s / size). An
//! attempt is counted only when every budget has room, so refused attempts cost nothing and
//! do not push the wait further. Beyond a budget, the answer is `RATE_LIMITED` with
//! `retryAfterSeconds`, and the password is not checked.
//!
//! Memory: a bucket is forgotten once it is full again (at most a minute after its last
//! attempt), so the maps hold at most the attempts of the last minute, each of which paid
//! for an argon2 verification; trusted addresses are kept for 30 days, at most
//! [`TRUSTED_CAPACITY`] of them.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// The account-wide and per-address budgets, as multiples of the per-pair one.
const WIDE_FACTOR: u32 = 10;
/// How long an address that signed in successfully stays trusted for that account.
const TRUST_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Trusted (account, address) pairs kept at most; beyond, the oldest are forgotten.
pub const TRUSTED_CAPACITY: usize = 100_000;
/// Map sizes below which no pruning happens.
const PRUNE_FLOOR: usize = 1_024;

/// An account: the SHA-256 of its normalised e-mail (fixed size, whatever was sent).
type Account = [u8; 32];
/// A client address, IPv6 reduced to its /64; `None` when the server does not know it.
type Address = Option<IpAddr>;

/// A GCRA budget: `size` attempts at once, then one every `interval`.
#[derive(Debug, Clone, Copy)]
struct Budget {
    interval: Duration,
    tolerance: Duration,
}

impl Budget {
    fn per_minute(size: u32) -> Self {
        let size = size.max(1);
        let interval = Duration::from_secs(60) / size;
        Budget {
            interval,
            tolerance: interval * (size - 1),
        }
    }

    /// How long until the bucket whose theoretical arrival time is `tat` takes one more
    /// attempt (zero: now).
    fn wait(&self, tat: Option<Instant>, now: Instant) -> Duration {
        tat.map_or(Duration::ZERO, |tat| {
            tat.saturating_duration_since(now)
                .saturating_sub(self.tolerance)
        })
    }

    /// The bucket's new arrival time after one attempt.
    fn charge(&self, tat: Option<Instant>, now: Instant) -> Instant {
        tat.map_or(now, |tat| tat.max(now)) + self.interval
    }
}

/// Buckets by key, pruned of full ones with amortised O(1) cost.
struct Buckets<K> {
    budget: Budget,
    tats: HashMap<K, Instant>,
    prune_at: usize,
}

impl<K: Hash + Eq> Buckets<K> {
    fn new(budget: Budget) -> Self {
        Buckets {
            budget,
            tats: HashMap::new(),
            prune_at: PRUNE_FLOOR,
        }
    }

    fn wait(&self, key: &K, now: Instant) -> Duration {
        self.budget.wait(self.tats.get(key).copied(), now)
    }

    fn charge(&mut self, key: K, now: Instant) {
        let tat = self.budget.charge(self.tats.get(&key).copied(), now);
        self.tats.insert(key, tat);
        if self.tats.len() > self.prune_at {
            // A bucket whose arrival time has passed is full again: the same as no bucket.
            self.tats.retain(|_, tat| *tat > now);
            self.prune_at = (self.tats.len() * 2).max(PRUNE_FLOOR);
        }
    }

    fn forget(&mut self, key: &K) {
        self.tats.remove(key);
    }
}

struct State {
    pairs: Buckets<(Account, Address)>,
    addresses: Buckets<IpAddr>,
    accounts: Buckets<Account>,
    /// When each (account, address) pair last signed in successfully.
    trusted: HashMap<(Account, Address), Instant>,
    trusted_prune_at: usize,
    trusted_capacity: usize,
}

/// Counts password checks; see the module documentation.
pub struct SignInThrottle {
    state: Mutex<State>,
}

impl SignInThrottle {
    /// `per_minute` attempts per account and address; ten times as many per address (an
    /// office behind one address has many people) and per account from untrusted addresses.
    pub fn new(per_minute: u32) -> Self {
        let pair = per_minute.max(1);
        let wide = pair.saturating_mul(WIDE_FACTOR);
        SignInThrottle {
            state: Mutex::new(State {
                pairs: Buckets::new(Budget::per_minute(pair)),
                addresses: Buckets::new(Budget::per_minute(wide)),
                accounts: Buckets::new(Budget::per_minute(wide)),
                trusted: HashMap::new(),
                trusted_prune_at: PRUNE_FLOOR.min(TRUSTED_CAPACITY),
                trusted_capacity: TRUSTED_CAPACITY,
            }),
        }
    }

    /// Counts one attempt to check `email`'s password from `client`; `RATE_LIMITED` (and
    /// nothing counted) when a budget is spent.
    pub fn attempt(&self, email: &str, client: Option<IpAddr>) -> AppResult<()> {
        self.attempt_at(email, client, Instant::now())
    }

    /// Records a successful password check: the address is trusted for the account, and its
    /// earlier failed attempts on it are forgiven.
    pub fn succeeded(&self, email: &str, client: Option<IpAddr>) {
        self.succeeded_at(email, client, Instant::now());
    }

    fn attempt_at(&self, email: &str, client: Option<IpAddr>, now: Instant) -> AppResult<()> {
        let (account, address) = (account(email), address(client));
        let mut state = self.lock()?;
        let trusted = state
            .trusted
            .get(&(account, address))
            .is_some_and(|at| now.saturating_duration_since(*at) < TRUST_TTL);
        let mut wait = state.pairs.wait(&(account, address), now);
        if let Some(ip) = address {
            wait = wait.max(state.addresses.wait(&ip, now));
        }
        if !trusted {
            wait = wait.max(state.accounts.wait(&account, now));
        }
        if !wait.is_zero() {
            return Err(AppError::RateLimited {
                retry_after_secs: whole_seconds(wait),
            });
        }
        state.pairs.charge((account, address), now);
        if let Some(ip) = address {
            state.addresses.charge(ip, now);
        }
        if !trusted {
            state.accounts.charge(account, now);
        }
        Ok(())
    }

    fn succeeded_at(&self, email: &str, client: Option<IpAddr>, now: Instant) {
        let key = (account(email), address(client));
        let Ok(mut state) = self.lock() else {
            return;
        };
        state.pairs.forget(&key);
        state.trusted.insert(key, now);
        if state.trusted.len() > state.trusted_prune_at {
            state
                .trusted
                .retain(|_, at| now.saturating_duration_since(*at) < TRUST_TTL);
            let capacity = state.trusted_capacity;
            if state.trusted.len() > capacity {
                // Keep (at most) the newest nine tenths of the capacity.
                let keep = capacity - capacity / 10;
                let mut times: Vec<Instant> = state.trusted.values().copied().collect();
                let cut = times.len() - keep;
                let (_, cutoff, _) = times.select_nth_unstable(cut);
                let cutoff = *cutoff;
                state.trusted.retain(|_, at| *at > cutoff);
            }
            state.trusted_prune_at = (state.trusted.len() * 2).max(PRUNE_FLOOR).min(capacity);
        }
    }

    fn lock(&self) -> AppResult<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| AppError::Internal("the sign-in throttle is poisoned".to_owned()))
    }

    #[cfg(test)]
    fn sizes(&self) -> (usize, usize, usize, usize) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (
            state.pairs.tats.len(),
            state.addresses.tats.len(),
            state.accounts.tats.len(),
            state.trusted.len(),
        )
    }
}

fn account(email: &str) -> Account {
    Sha256::digest(email.trim().to_lowercase().as_bytes()).into()
}

/// IPv4 (also IPv4-mapped IPv6) as is; other IPv6 addresses by their /64 network.
fn address(client: Option<IpAddr>) -> Address {
    client.map(|ip| match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    })
}

fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn refused(result: AppResult<()>) -> Option<u64> {
        match result {
            Err(AppError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
            _ => None,
        }
    }

    #[test]
    fn one_address_gets_its_budget_per_account_then_waits() {
        let throttle = SignInThrottle::new(3);
        let now = Instant::now();
        let attacker = ip("203.0.113.7");
        for _ in 0..3 {
            assert!(
                throttle
                    .attempt_at("Rep@Example.com", attacker, now)
                    .is_ok()
            );
        }
        // The e-mail is normalised; one more attempt every 20 s.
        assert_eq!(
            refused(throttle.attempt_at("rep@example.com ", attacker, now)),
            Some(20)
        );
        // Refused attempts cost nothing: the wait does not grow.
        let later = now + Duration::from_secs(5);
        assert_eq!(
            refused(throttle.attempt_at("rep@example.com", attacker, later)),
            Some(15)
        );
        assert!(
            throttle
                .attempt_at("rep@example.com", attacker, now + Duration::from_secs(20))
                .is_ok()
        );
        // Other accounts from the same address are not affected.
        assert!(
            throttle
                .attempt_at("other@example.com", attacker, now)
                .is_ok()
        );
    }

    #[test]
    fn an_attacker_elsewhere_does_not_lock_the_user_out() {
        let throttle = SignInThrottle::new(5);
        let now = Instant::now();
        for _ in 0..5 {
            assert!(
                throttle
                    .attempt_at("victim@example.com", ip("203.0.113.7"), now)
                    .is_ok()
            );
        }
        assert!(
            refused(throttle.attempt_at("victim@example.com", ip("203.0.113.7"), now)).is_some()
        );
        // The victim, from their own address, is not slowed down.
        assert!(
            throttle
                .attempt_at("victim@example.com", ip("198.51.100.20"), now)
                .is_ok()
        );
        throttle.succeeded_at("victim@example.com", ip("198.51.100.20"), now);
        // Nor is the attacker after the victim's success.
        assert!(
            refused(throttle.attempt_at("victim@example.com", ip("203.0.113.7"), now)).is_some()
        );
    }

    #[test]
    fn many_addresses_are_bounded_account_wide_but_trusted_addresses_get_in() {
        let throttle = SignInThrottle::new(5);
        let now = Instant::now();
        let home = ip("198.51.100.20");
        throttle.succeeded_at("victim@example.com", home, now);
        // Ten attacking addresses, five guesses each: the account-wide budget (50) is spent.
        let mut allowed = 0;
        for n in 0..20 {
            let attacker = ip(&format!("203.0.113.{n}"));
            for _ in 0..5 {
                if throttle
                    .attempt_at("victim@example.com", attacker, now)
                    .is_ok()
                {
                    allowed += 1;
                }
            }
        }
        assert_eq!(
            allowed, 50,
            "guesses at one account are bounded, however many addresses"
        );
        // A new address waits (one attempt every 1.2 s account-wide) …
        assert_eq!(
            refused(throttle.attempt_at("victim@example.com", ip("192.0.2.1"), now)),
            Some(2)
        );
        // … but the address the victim signed in from does not.
        assert!(throttle.attempt_at("victim@example.com", home, now).is_ok());
        // Trust lapses after 30 days.
        let much_later = now + TRUST_TTL;
        for n in 0..10 {
            for _ in 0..5 {
                let attacker = ip(&format!("192.0.2.{n}"));
                assert!(
                    throttle
                        .attempt_at("victim@example.com", attacker, much_later)
                        .is_ok()
                );
            }
        }
        assert!(refused(throttle.attempt_at("victim@example.com", home, much_later)).is_some());
    }

    #[test]
    fn one_address_is_bounded_across_accounts() {
        let throttle = SignInThrottle::new(5);
        let now = Instant::now();
        let office = ip("192.0.2.10");
        let allowed = (0..100)
            .filter(|n| {
                throttle
                    .attempt_at(&format!("user{n}@example.com"), office, now)
                    .is_ok()
            })
            .count();
        assert_eq!(allowed, 50);
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        let throttle = SignInThrottle::new(2);
        let now = Instant::now();
        assert!(
            throttle
                .attempt_at("a@example.com", ip("2001:db8:1:2::1"), now)
                .is_ok()
        );
        assert!(
            throttle
                .attempt_at("a@example.com", ip("2001:db8:1:2::ffff:1"), now)
                .is_ok()
        );
        assert!(
            refused(throttle.attempt_at("a@example.com", ip("2001:db8:1:2:abcd::9"), now))
                .is_some()
        );
        assert!(
            throttle
                .attempt_at("a@example.com", ip("2001:db8:1:3::1"), now)
                .is_ok()
        );
        assert_eq!(address(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn a_success_forgives_the_address_its_mistakes() {
        let throttle = SignInThrottle::new(2);
        let now = Instant::now();
        let home = ip("198.51.100.20");
        assert!(throttle.attempt_at("u@example.com", home, now).is_ok());
        assert!(throttle.attempt_at("u@example.com", home, now).is_ok());
        assert!(refused(throttle.attempt_at("u@example.com", home, now)).is_some());
        throttle.succeeded_at("u@example.com", home, now);
        assert!(throttle.attempt_at("u@example.com", home, now).is_ok());
    }

    #[test]
    fn unknown_addresses_share_one_budget_per_account() {
        let throttle = SignInThrottle::new(3);
        let now = Instant::now();
        for _ in 0..3 {
            assert!(throttle.attempt_at("rep@example.com", None, now).is_ok());
        }
        assert!(refused(throttle.attempt_at("rep@example.com", None, now)).is_some());
        assert!(throttle.attempt_at("other@example.com", None, now).is_ok());
    }

    #[test]
    fn the_maps_are_pruned_of_full_buckets() {
        let throttle = SignInThrottle::new(5);
        let start = Instant::now();
        for n in 0..5_000u32 {
            let client = Some(IpAddr::from(n.to_be_bytes()));
            let at = start + Duration::from_millis(u64::from(n) * 100);
            assert!(
                throttle
                    .attempt_at(&format!("u{n}@example.com"), client, at)
                    .is_ok()
            );
        }
        // One attempt every 100 ms; buckets fill again within 12 s: at most 120 are live, and
        // the maps never grow beyond twice the live ones (or the floor).
        let (pairs, addresses, accounts, _) = throttle.sizes();
        for size in [pairs, addresses, accounts] {
            assert!(size <= 2 * PRUNE_FLOOR, "{size} entries kept");
        }
    }

    #[test]
    fn trusted_pairs_lapse_and_are_bounded() {
        let throttle = SignInThrottle::new(5);
        let now = Instant::now();
        let client = |n: u32| Some(IpAddr::from(n.to_be_bytes()));
        for n in 0..3_000 {
            throttle.succeeded_at("u@example.com", client(n), now);
        }
        assert_eq!(throttle.sizes().3, 3_000);
        let later = now + TRUST_TTL;
        for n in 0..2_000 {
            throttle.succeeded_at("v@example.com", client(n), later);
        }
        // The first 3,000 lapsed and were pruned.
        assert!(throttle.sizes().3 <= 2_000, "{:?}", throttle.sizes());

        let small = SignInThrottle::new(5);
        if let Ok(mut state) = small.state.lock() {
            state.trusted_capacity = 100;
            state.trusted_prune_at = 100;
        }
        for n in 0..1_000 {
            small.succeeded_at(
                "u@example.com",
                client(n),
                now + Duration::from_secs(n.into()),
            );
        }
        assert!(small.sizes().3 <= 100, "{:?}", small.sizes());
        // The newest are kept.
        let state = small.state.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            state
                .trusted
                .contains_key(&(account("u@example.com"), client(999)))
        );
    }
}
