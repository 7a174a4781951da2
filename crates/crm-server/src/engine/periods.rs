//! Dates cut to periods (day, ISO week, month, quarter, year), timestamps first read in a time
//! zone, and dates aged in buckets of days past (receivables' aging): the keys of date
//! groupings, the same on both backends.
//!
//! PostgreSQL does it with `AT TIME ZONE` and `DATE_TRUNC`. SQLite has no time zones: a
//! timestamp (stored as RFC 3339 text in UTC) is moved by the zone's UTC offset at that instant,
//! read from the zone's transitions between 1970 and 2100 (from the IANA database compiled in,
//! `chrono-tz`) as a binary tree of comparisons, then cut with its date functions. The zone's
//! name is checked against that database and spliced into the SQL only once checked (a
//! parameter would make PostgreSQL see each grouping expression as a different one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::Enum;
use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::Expr;

use crate::engine::scope::Scope;
use crate::error::AppError;

/// The period a date key is cut to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// The day itself.
    Day,
    /// The ISO week, starting on Monday (its key is that Monday).
    Week,
    /// The month (its key is the first day).
    Month,
    /// The quarter (January, April, July, October; its key is the first day).
    Quarter,
    /// The year (its key is January 1st).
    Year,
}

impl Period {
    fn unit(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }
}

/// A checked time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

impl Zone {
    pub const UTC: Zone = Zone(Tz::UTC);

    /// The zone named `name` (an IANA name such as `Europe/Paris`, or `UTC`); `argument` names
    /// the input in the error.
    /// Only `Area/City` names and `UTC`: PostgreSQL reads short names (`CET`, `EST`) as fixed
    /// abbreviations before zones, without daylight saving, where chrono-tz has the zone.
    pub fn parse(name: &str, argument: &str) -> Result<Zone, AppError> {
        let name = name.trim();
        let unknown = || {
            AppError::bad_input(
                argument,
                "unknown time zone: use an IANA Area/City name such as \"Europe/Paris\", or \"UTC\"",
            )
        };
        if name != "UTC" && !name.contains('/') {
            return Err(unknown());
        }
        name.parse::<Tz>().map(Zone).map_err(|_| unknown())
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Today's date in the zone.
    pub fn today(self) -> NaiveDate {
        Utc::now().with_timezone(&self.0).date_naive()
    }
}

/// How long ago a date was, in the buckets of a receivables' aging report: days since the date,
/// as of today in the grouping's time zone.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgingBucket {
    /// Today or later: not due yet.
    Current,
    /// 1 to 30 days ago.
    #[graphql(name = "DAYS_1_TO_30")]
    Days1To30,
    /// 31 to 60 days ago.
    #[graphql(name = "DAYS_31_TO_60")]
    Days31To60,
    /// 61 to 90 days ago.
    #[graphql(name = "DAYS_61_TO_90")]
    Days61To90,
    /// More than 90 days ago.
    #[graphql(name = "OVER_90_DAYS")]
    Over90Days,
}

impl AgingBucket {
    /// The buckets in order, as their rank in SQL (0 to 4).
    pub const ALL: [AgingBucket; 5] = [
        AgingBucket::Current,
        AgingBucket::Days1To30,
        AgingBucket::Days31To60,
        AgingBucket::Days61To90,
        AgingBucket::Over90Days,
    ];

    /// The bucket of rank `rank` (as [`aging_key`] computes it).
    pub fn from_rank(rank: i64) -> Option<AgingBucket> {
        usize::try_from(rank)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// Its rank: buckets order from the most recent to the oldest.
    pub fn rank(self) -> i64 {
        Self::ALL.iter().position(|b| *b == self).unwrap_or(0) as i64
    }
}

/// The rank of the [`AgingBucket`] of `column` (a date) of the row aliased by `s`, as of `today`
/// (null for a null date). The dates are spliced as literals (made here, not given by clients),
/// so the grouping expression stays one PostgreSQL recognises in `GROUP BY`.
pub fn aging_key(s: &Scope, column: &str, today: NaiveDate) -> Expr {
    let col = s.raw(column);
    let date = |days: i64| {
        let day = (today - Duration::days(days)).format("%Y-%m-%d");
        if s.is_sqlite() {
            format!("'{day}'")
        } else {
            format!("DATE '{day}'")
        }
    };
    Expr::cust(format!(
        "CAST(CASE WHEN {col} IS NULL THEN NULL WHEN {col} >= {} THEN 0 WHEN {col} >= {} THEN 1 \
         WHEN {col} >= {} THEN 2 WHEN {col} >= {} THEN 3 ELSE 4 END AS BIGINT)",
        date(0),
        date(30),
        date(60),
        date(90),
    ))
}

/// The first day of the period holding `column` (a date) of the row aliased by `s`.
pub fn date_key(s: &Scope, column: &str, period: Period) -> Expr {
    let col = s.raw(column);
    Expr::cust(if s.is_sqlite() {
        sqlite_cut(&col, period)
    } else if period == Period::Day {
        col
    } else {
        format!(
            "CAST(DATE_TRUNC('{}', CAST({col} AS TIMESTAMP)) AS DATE)",
            period.unit()
        )
    })
}

/// The first day of the period holding `column` (a timestamp) of the row aliased by `s`, as
/// a calendar date in `zone`.
pub fn timestamp_key(s: &Scope, column: &str, period: Period, zone: Zone) -> Expr {
    let col = s.raw(column);
    Expr::cust(if s.is_sqlite() {
        sqlite_cut(&sqlite_local(&col, zone), period)
    } else {
        // The zone's name is one of chrono-tz's (checked), made of letters, digits, `/_+-`.
        let local = format!("({col} AT TIME ZONE '{}')", zone.name().replace('\'', ""));
        if period == Period::Day {
            format!("CAST({local} AS DATE)")
        } else {
            format!("CAST(DATE_TRUNC('{}', {local}) AS DATE)", period.unit())
        }
    })
}

/// SQLite: the first day of the period holding `value` (a date or a local date and time).
fn sqlite_cut(value: &str, period: Period) -> String {
    match period {
        Period::Day => format!("date({value})"),
        // Back six days, then forward to a Monday: the Monday of the ISO week.
        Period::Week => format!("date({value}, '-6 days', 'weekday 1')"),
        Period::Month => format!("date({value}, 'start of month')"),
        Period::Quarter => format!(
            "date({value}, 'start of month', '-' || ((CAST(strftime('%m', {value}) AS INTEGER) - 1) % 3) || ' months')"
        ),
        Period::Year => format!("date({value}, 'start of year')"),
    }
}

/// SQLite: the timestamp `col` (UTC) as the local date and time of `zone`.
fn sqlite_local(col: &str, zone: Zone) -> String {
    let rules = transitions(zone);
    if rules.changes.is_empty() {
        return if rules.initial == 0 {
            format!("datetime({col})")
        } else {
            format!("datetime({col}, '{:+} seconds')", rules.initial)
        };
    }
    format!(
        "datetime({col}, {} || ' seconds')",
        offset_tree(col, rules.initial, &rules.changes)
    )
}

/// The offset (in seconds, with its sign) of the instant `col` under `changes`: a binary tree
/// of comparisons, so each row compares its timestamp a dozen times at most.
fn offset_tree(col: &str, before: i32, changes: &[(String, i32)]) -> String {
    if changes.is_empty() {
        return format!("'{before:+}'");
    }
    let mid = changes.len() / 2;
    let (at, offset) = &changes[mid];
    format!(
        "CASE WHEN {col} < '{at}' THEN {} ELSE {} END",
        offset_tree(col, before, &changes[..mid]),
        offset_tree(col, *offset, &changes[mid + 1..]),
    )
}

/// A zone's UTC offsets: the offset before the first change, then each change (the instant,
/// as stored timestamps compare, and the offset from then on).
struct Rules {
    initial: i32,
    changes: Vec<(String, i32)>,
}

/// The rules of `zone` between 1970 and 2100, worked out once per zone.
fn transitions(zone: Zone) -> Arc<Rules> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Arc<Rules>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(rules) = cache.lock().ok().and_then(|c| c.get(zone.name()).cloned()) {
        return rules;
    }
    let rules = Arc::new(compute_rules(zone.0));
    if let Ok(mut cache) = cache.lock() {
        cache.insert(zone.name(), rules.clone());
    }
    rules
}

fn offset_at(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

fn compute_rules(tz: Tz) -> Rules {
    let start = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or_default();
    let end = NaiveDate::from_ymd_opt(2100, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or_default();
    let initial = offset_at(tz, start);
    let mut changes = Vec::new();
    let mut current = initial;
    let mut day = start;
    // Offsets change at most once a day: step by days, then find the second of the change.
    while day < end {
        let next = day + Duration::days(1);
        let offset = offset_at(tz, next);
        if offset != current {
            let (mut low, mut high) = (day, next);
            while high - low > Duration::seconds(1) {
                let mid = low + (high - low) / 2;
                if offset_at(tz, mid) == current {
                    low = mid;
                } else {
                    high = mid;
                }
            }
            changes.push((high.format("%Y-%m-%dT%H:%M:%S").to_string(), offset));
            current = offset;
        }
        day = next;
    }
    Rules { initial, changes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_changes_twice_a_year_at_one_in_the_morning_utc() {
        let Ok(zone) = Zone::parse("Europe/Paris", "timeZone") else {
            unreachable!()
        };
        let rules = transitions(zone);
        assert!(
            rules
                .changes
                .contains(&("2026-03-29T01:00:00".to_owned(), 7200))
        );
        assert!(
            rules
                .changes
                .contains(&("2026-10-25T01:00:00".to_owned(), 3600))
        );
        assert!(transitions(Zone::UTC).changes.is_empty());
        assert!(Zone::parse("Mars/Olympus", "timeZone").is_err());
        // A zone in chrono-tz that PostgreSQL reads as a fixed abbreviation.
        assert!(Zone::parse("CET", "timeZone").is_err());
    }
}
