//! The sign-in rate limit: a budget of attempts per account (e-mail) and per client address,
//! refilled over a minute (GCRA, from `governor`). Beyond it, `signIn` answers `RATE_LIMITED`
//! with `retryAfterSeconds`, without checking the password.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{AppError, AppResult};

pub struct SignInThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl SignInThrottle {
    /// `per_minute` attempts per account; ten times as many per client address (an office
    /// behind one address has many people).
    pub fn new(per_minute: u32) -> Self {
        let account = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let client = NonZeroU32::new(per_minute.max(1).saturating_mul(10)).unwrap_or(account);
        SignInThrottle {
            per_account: RateLimiter::keyed(Quota::per_minute(account)),
            per_client: RateLimiter::keyed(Quota::per_minute(client)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; `RATE_LIMITED` when the account or the address is over budget.
    pub fn attempt(&self, email: &str, client: Option<IpAddr>) -> AppResult<()> {
        if let Some(ip) = client {
            self.per_client.check_key(&ip).map_err(|not_until| {
                limited(not_until.wait_time_from(self.clock.now()).as_secs())
            })?;
        }
        self.per_account
            .check_key(&email.trim().to_lowercase())
            .map_err(|not_until| limited(not_until.wait_time_from(self.clock.now()).as_secs()))?;
        // Forget keys whose budget is full again, so the maps stay small.
        if self.per_account.len() > 10_000 {
            self.per_account.retain_recent();
            self.per_client.retain_recent();
        }
        Ok(())
    }
}

fn limited(wait_secs: u64) -> AppError {
    AppError::RateLimited {
        retry_after_secs: wait_secs.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_gets_its_budget_then_is_refused() {
        let throttle = SignInThrottle::new(3);
        for _ in 0..3 {
            assert!(throttle.attempt("Rep@Example.com", None).is_ok());
        }
        let refused = throttle.attempt("rep@example.com ", None);
        assert!(matches!(refused, Err(AppError::RateLimited { .. })));
        assert!(throttle.attempt("other@example.com", None).is_ok());
    }
}
