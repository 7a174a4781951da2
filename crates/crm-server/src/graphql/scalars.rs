//! The API's own scalars: exact money, calendar dates and UTC timestamps.
//!
//! Each rejects bad input with `extensions.code = BAD_USER_INPUT`; the argument or input field
//! it came from is added to `extensions.field` by [`crate::graphql::errors`].

use std::str::FromStr;

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{SecondsFormat, TimeZone, Utc};

use crate::error::codes;

fn bad_input<T: async_graphql::InputType>(message: impl std::fmt::Display) -> InputValueError<T> {
    InputValueError::custom(message).with_extension("code", codes::BAD_USER_INPUT)
}

fn expected<T: async_graphql::InputType>(what: &str) -> InputValueError<T> {
    bad_input(format!("expected {what}"))
}

/// An exact decimal number, as a JSON string such as "1250.00" (money has two decimals).
/// Integers are also accepted as JSON numbers; fractional JSON numbers are refused because
/// they lose precision on the way through binary floating point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(pub rust_decimal::Decimal);

/// An exact decimal number, as a JSON string such as "1250.00" (money has two decimals).
/// Integers are also accepted as JSON numbers; fractional JSON numbers are refused because
/// they lose precision on the way through binary floating point.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => rust_decimal::Decimal::from_str(s.trim())
                .map(Decimal)
                .map_err(|_| expected("a decimal number such as \"1250.00\"")),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(Decimal(rust_decimal::Decimal::from(i))),
                None => Err(bad_input(
                    "send decimal numbers as strings (\"1250.50\") to keep them exact",
                )),
            },
            _ => Err(expected("a decimal number as a string")),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_) | Value::Number(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl Decimal {
    /// Money as stored: rounded to exactly two decimals (SQLite hands amounts back through
    /// binary floating point, PostgreSQL's NUMERIC(14, 2) exactly; both come out the same).
    pub fn money(value: rust_decimal::Decimal) -> Self {
        let mut value = value.round_dp(2);
        value.rescale(2);
        Decimal(value)
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar date, `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| expected("a date as YYYY-MM-DD")),
            _ => Err(expected("a date as a YYYY-MM-DD string")),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        // `Display` is `%Y-%m-%d` without re-parsing a format string for every value.
        Value::String(self.0.to_string())
    }
}

impl From<chrono::NaiveDate> for Date {
    fn from(value: chrono::NaiveDate) -> Self {
        Date(value)
    }
}

/// An instant, as an RFC 3339 string in UTC (`2026-11-25T09:30:00.123456Z`). Input may carry
/// any offset; it is converted to UTC and kept to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, as an RFC 3339 string in UTC (`2026-11-25T09:30:00.123456Z`). Input may carry
/// any offset; it is converted to UTC and kept to the microsecond.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime::from(t.with_timezone(&Utc)))
                .map_err(|_| expected("an RFC 3339 timestamp such as 2026-11-25T09:30:00Z")),
            _ => Err(expected("an RFC 3339 timestamp string")),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    /// Truncates to microseconds, the precision both databases keep.
    fn from(value: chrono::DateTime<Utc>) -> Self {
        let micros = value.timestamp_micros();
        DateTime(Utc.timestamp_micros(micros).single().unwrap_or(value))
    }
}
