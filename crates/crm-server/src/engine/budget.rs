//! How much one request may read: page sizes and the rows of all its lists together.

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use crate::error::AppError;

/// Page sizes, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Rows returned when neither `first` nor `last` is given.
    pub default_size: usize,
    /// Largest `first` / `last` accepted.
    pub max_size: usize,
    /// Rows one request may read from lists and relation pages.
    pub max_rows: usize,
    /// The time zone date groupings read timestamps in, unless they name one
    /// (`CRM_TIME_ZONE`).
    pub time_zone: crate::engine::periods::Zone,
}

impl PageLimits {
    /// The page size `first` asks for (the default when it is not given); `BAD_USER_INPUT` on
    /// `first` out of range. For the lists that page forward only (groups, search, timeline,
    /// changes).
    pub fn first(&self, first: Option<i32>) -> Result<usize, crate::error::AppError> {
        match first {
            None => Ok(self.default_size),
            Some(n) => match usize::try_from(n) {
                Ok(n) if n <= self.max_size => Ok(n),
                _ => Err(crate::error::AppError::bad_input(
                    "first",
                    format!("`first` must be between 0 and {}", self.max_size),
                )),
            },
        }
    }
}

impl Default for PageLimits {
    fn default() -> Self {
        PageLimits {
            default_size: 20,
            max_size: 100,
            max_rows: 10_000,
            time_zone: crate::engine::periods::Zone::UTC,
        }
    }
}

/// What is left of the rows one request may read from lists and relation pages
/// (`CRM_MAX_ROWS`): nested lists multiply (100 clients, each 100 contracts, each 100
/// payments), and every row read is held until the answer is written. Each statement is capped
/// at what is left plus one row, so going over costs one row, never a level's worth.
#[derive(Debug)]
pub struct RowBudget {
    left: AtomicUsize,
    max: usize,
}

impl RowBudget {
    pub fn new(max: usize) -> Self {
        RowBudget {
            left: AtomicUsize::new(max),
            max,
        }
    }

    /// The `LIMIT` of a statement that wants `rows`: at most what is left plus one, the row
    /// that tells the request is over budget.
    pub(crate) fn cap(&self, rows: usize) -> u64 {
        rows.min(self.left.load(AtomicOrdering::Relaxed).saturating_add(1)) as u64
    }

    /// Counts `rows` read; `BAD_USER_INPUT` when that is more than what was left.
    pub(crate) fn spend(&self, rows: usize) -> Result<(), AppError> {
        self.left
            .fetch_update(AtomicOrdering::Relaxed, AtomicOrdering::Relaxed, |left| {
                left.checked_sub(rows)
            })
            .map(|_| ())
            .map_err(|_| {
                AppError::bad_input(
                    "first",
                    format!(
                        "the request reads more than {} rows from its lists (CRM_MAX_ROWS): ask \
                         for smaller pages or fewer nested lists",
                        self.max
                    ),
                )
            })
    }

    /// Makes the whole budget available again.
    pub(crate) fn reset(&self) {
        self.left.store(self.max, AtomicOrdering::Relaxed);
    }

    /// Gives back rows counted for a statement whose rows are read again.
    pub(crate) fn refund(&self, rows: usize) {
        self.left.fetch_add(rows, AtomicOrdering::Relaxed);
    }
}
