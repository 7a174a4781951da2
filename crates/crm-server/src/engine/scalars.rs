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
        Value::String(decimal_text(&self.0))
    }
}

/// `value` as `Display` writes it ("-1250.50": every digit of the scale, no exponent), written
/// into one allocation of the right size (`Display` cost more than the rest of a money field).
fn decimal_text(value: &rust_decimal::Decimal) -> String {
    let mantissa = value.mantissa();
    let Ok(mut digits) = u64::try_from(mantissa.unsigned_abs()) else {
        return value.to_string();
    };
    let scale = value.scale() as usize;
    // 20 digits of a u64, the point, the zeros up to a scale of 28 and the sign.
    let mut text = [0u8; 52];
    let mut at = text.len();
    let mut written = 0;
    loop {
        if written == scale && scale > 0 {
            at -= 1;
            text[at] = b'.';
        }
        at -= 1;
        text[at] = b'0' + (digits % 10) as u8;
        digits /= 10;
        written += 1;
        if digits == 0 && written > scale {
            break;
        }
    }
    if value.is_sign_negative() && mantissa != 0 {
        at -= 1;
        text[at] = b'-';
    }
    std::str::from_utf8(&text[at..]).map_or_else(|_| value.to_string(), str::to_owned)
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
        Value::String(date_text(self.0))
    }
}

/// `YYYY-MM-DD`, written directly for the years 0 to 9999 (`Display` otherwise).
fn date_text(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let (year, month, day) = (date.year(), date.month(), date.day());
    let Ok(year @ 0..=9999) = u32::try_from(year) else {
        return date.to_string();
    };
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let text = [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    std::str::from_utf8(&text).map_or_else(|_| date.to_string(), str::to_owned)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        for text in [
            "0",
            "0.00",
            "0.05",
            "1.5",
            "-1.50",
            "44770.48",
            "-0.01",
            "1250",
            "10.000",
            "9999999999.99",
            "18446744073709551615",
            "0.0000000000000000000000000001",
            "79228162514264337593543950335",
            "-79228162514264337593543950.335",
        ] {
            let value = rust_decimal::Decimal::from_str(text).unwrap_or_default();
            assert_eq!(decimal_text(&value), value.to_string(), "{text}");
        }
        let mut zero = rust_decimal::Decimal::new(0, 2);
        zero.set_sign_negative(true);
        assert_eq!(decimal_text(&zero), "0.00", "no negative zero");
    }

    #[test]
    fn dates_are_written_as_display_writes_them() {
        for (y, m, d) in [
            (2026, 11, 30),
            (1, 1, 1),
            (999, 12, 31),
            (9999, 1, 9),
            (-5, 3, 4),
            (12345, 6, 7),
        ] {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
            assert_eq!(date_text(date), date.to_string(), "{date}");
        }
    }
}
