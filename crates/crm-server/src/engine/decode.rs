//! Model values read by position, faster than SeaORM's generic decoding ([`read_at`]).
//!
//! PostgreSQL: through sqlx and SeaORM, each value of a row is checked against the Rust type
//! twice (the column's type compared with every type the Rust type accepts), then decoded, a
//! `numeric` by way of sqlx's own digit vector and a division per value into a
//! `rust_decimal`: a large share of a page's cost (figures: `bench/README.md`).
//! [`ReadAt::read_pg`] reads the value's bytes itself, for the types the models use, when the
//! row is in the binary format (every prepared statement's is) and the column is of the
//! PostgreSQL type expected. It answers only what it reads exactly; anything else (a
//! text-format row, another column type, a null in a non-null field, a `numeric` that does
//! not fit, an infinite date) goes the usual way, which reads it or reports the error it
//! always did.
//!
//! SQLite: [`ReadAt::read_sqlite`] reads the value's storage class (text, integer, real,
//! blob) straight from the row, without SeaORM's and sqlx's type checks; dates are parsed by
//! hand when they are `YYYY-MM-DD` (sqlx parsed them with a format string, a costly step),
//! timestamps as RFC 3339 (what sqlx tries first). SQLite keeps decimals as binary floating
//! point and SeaORM converted each double to its exact binary expansion (costly too); the
//! double's shortest decimal text holds the digits that were stored (up to 15 significant
//! digits: a `NUMERIC(12, 2)` amount has at most 12), and is read instead. Whatever else
//! (another storage class, another text) goes the usual way.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::{PgValueFormat, PgValueRef};
use sea_orm::sqlx::sqlite::{Sqlite, SqliteValueRef};
use sea_orm::sqlx::{Decode, Row as _, TypeInfo as _, ValueRef as _};
use sea_orm::{ActiveEnum, DbErr, Iterable, QueryResult, TryGetable};
use uuid::Uuid;

/// A value read from its binary format.
pub trait FromPgBinary: Sized {
    /// The PostgreSQL types (OIDs) it is read from.
    const OIDS: &'static [u32];

    /// The value of `bytes`; `None` when they are not one this reads.
    fn from_pg_binary(bytes: &[u8]) -> Option<Self>;

    /// Why `bytes`, which [`FromPgBinary::from_pg_binary`] did not read, hold no value of the
    /// type, when SeaORM's reading would not say it either (sqlx panics on dates beyond
    /// chrono's range, PostgreSQL's `infinity` among them); `None` otherwise.
    fn invalid(_bytes: &[u8]) -> Option<&'static str> {
        None
    }
}

/// A SQLite value as stored (its storage class).
pub enum Stored<'r> {
    Integer(i64),
    Real(f64),
    Text(&'r str),
    Blob(&'r [u8]),
}

impl<'r> Stored<'r> {
    /// The value of `value`, `None` for null (or a class sqlx does not name).
    fn of(value: SqliteValueRef<'r>) -> Option<Stored<'r>> {
        if value.is_null() {
            return None;
        }
        let class = value.type_info();
        match class.name() {
            "INTEGER" => <i64 as Decode<Sqlite>>::decode(value)
                .ok()
                .map(Stored::Integer),
            "REAL" => <f64 as Decode<Sqlite>>::decode(value)
                .ok()
                .map(Stored::Real),
            "TEXT" => <&str as Decode<Sqlite>>::decode(value)
                .ok()
                .map(Stored::Text),
            "BLOB" => <&[u8] as Decode<Sqlite>>::decode(value)
                .ok()
                .map(Stored::Blob),
            _ => None,
        }
    }
}

/// A value read from what SQLite stores.
pub trait FromSqlite: Sized {
    /// The value of `stored`; `None` when it is not one this reads.
    fn from_sqlite(stored: Stored<'_>) -> Option<Self>;
}

/// A model field's type, read without SeaORM's decoding when it can be.
pub trait ReadAt: TryGetable {
    /// The value of a PostgreSQL row (or why there is none), or `None` for the usual way.
    fn read_pg(value: &PgValueRef<'_>) -> Option<Result<Self, DbErr>>;

    /// The value of a SQLite row, or `None` for the usual way.
    fn read_sqlite(value: SqliteValueRef<'_>) -> Option<Self>;
}

/// The value at position `index` of a row, as SeaORM reads it.
pub fn read_at<T: ReadAt>(row: &QueryResult, index: usize) -> Result<T, DbErr> {
    if let Some(pg) = row.try_as_pg_row() {
        if let Some(value) = pg.try_get_raw(index).ok().and_then(|v| T::read_pg(&v)) {
            return value;
        }
    } else if let Some(sqlite) = row.try_as_sqlite_row()
        && let Some(value) = sqlite.try_get_raw(index).ok().and_then(T::read_sqlite)
    {
        return Ok(value);
    }
    row.try_get_by_index(index)
}

/// The value of `value` read as a `T`, if it is in the binary format of one of `T`'s types.
fn binary<T: FromPgBinary>(value: &PgValueRef<'_>) -> Option<Result<T, DbErr>> {
    if value.format() != PgValueFormat::Binary {
        return None;
    }
    let oid = value.type_info().oid()?.0;
    if !T::OIDS.contains(&oid) {
        return None;
    }
    let bytes = value.as_bytes().ok()?;
    match T::from_pg_binary(bytes) {
        Some(read) => Some(Ok(read)),
        None => T::invalid(bytes).map(|why| Err(DbErr::Type(why.to_owned()))),
    }
}

/// [`binary`] for a nullable column: null is `None`.
fn optional<T: FromPgBinary>(value: &PgValueRef<'_>) -> Option<Result<Option<T>, DbErr>> {
    if value.is_null() {
        Some(Ok(None))
    } else {
        binary(value).map(|read| read.map(Some))
    }
}

/// [`ReadAt`] for each type and its `Option` (null: `None`).
macro_rules! read_at {
    ($($ty:ty),* $(,)?) => {$(
        impl ReadAt for $ty {
            fn read_pg(value: &PgValueRef<'_>) -> Option<Result<Self, DbErr>> {
                binary(value)
            }
            fn read_sqlite(value: SqliteValueRef<'_>) -> Option<Self> {
                <$ty>::from_sqlite(Stored::of(value)?)
            }
        }

        impl ReadAt for Option<$ty> {
            fn read_pg(value: &PgValueRef<'_>) -> Option<Result<Self, DbErr>> {
                optional(value)
            }
            fn read_sqlite(value: SqliteValueRef<'_>) -> Option<Self> {
                if value.is_null() {
                    Some(None)
                } else {
                    <$ty>::from_sqlite(Stored::of(value)?).map(Some)
                }
            }
        }
    )*};
}
read_at!(
    Uuid,
    String,
    bool,
    i64,
    Decimal,
    NaiveDate,
    DateTime<Utc>,
    entity::ClientStatus,
    entity::ContractStatus,
    entity::PaymentStatus,
    entity::Role,
);

impl FromSqlite for Uuid {
    fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
        match stored {
            Stored::Blob(bytes) => Uuid::from_slice(bytes).ok(),
            _ => None,
        }
    }
}

impl FromSqlite for String {
    fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
        match stored {
            Stored::Text(text) => Some(text.to_owned()),
            _ => None,
        }
    }
}

impl FromSqlite for bool {
    fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
        match stored {
            Stored::Integer(n) => Some(n != 0),
            _ => None,
        }
    }
}

impl FromSqlite for i64 {
    fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
        match stored {
            Stored::Integer(n) => Some(n),
            _ => None,
        }
    }
}

/// Doubles from their shortest text; integers (SQLite stores `100.0` as `100`) as they are.
impl FromSqlite for Decimal {
    fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
        match stored {
            Stored::Real(double) => decimal_of_double(double),
            Stored::Integer(n) => Some(Decimal::from(n)),
            _ => None,
        }
    }
}

/// `YYYY-MM-DD` only.
impl FromSqlite for NaiveDate {
    fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
        let Stored::Text(text) = stored else {
            return None;
        };
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| {
            bytes[range].iter().try_fold(0u32, |n, &b| {
                b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
            })
        };
        let year = i32::try_from(number(0..4)?).ok()?;
        NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
    }
}

/// RFC 3339, what sqlx tries first.
impl FromSqlite for DateTime<Utc> {
    fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
        match stored {
            Stored::Text(text) => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            _ => None,
        }
    }
}

/// The decimal a double was made from, from its shortest round-trip text (`None` for values
/// that have none: infinities, NaN). Doubles under 2^33 with at most four decimals (money) are
/// found without the text: the first `m / 10^k` (k = 0…4, `m` the double × 10^k rounded) that
/// is the double again. Below 2^33 a double's spacing is under 2^-19, so at most one decimal
/// with k ≤ 4 decimals rounds to it, the one the shortest text also names.
fn decimal_of_double(double: f64) -> Option<Decimal> {
    const POWERS: [f64; 5] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0];
    if double != 0.0 && double.abs() < 8_589_934_592.0 {
        for (scale, power) in (0u32..).zip(POWERS) {
            let mantissa = (double * power).round();
            if mantissa / power == double {
                // |mantissa| < 2^47: exact as an integer.
                return Some(Decimal::new(mantissa as i64, scale));
            }
        }
    }
    decimal_of_text(double)
}

/// [`decimal_of_double`] through the double's shortest round-trip text.
fn decimal_of_text(double: f64) -> Option<Decimal> {
    use std::fmt::Write;
    struct Text {
        bytes: [u8; 64],
        len: usize,
    }
    impl Write for Text {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.len + s.len();
            self.bytes
                .get_mut(self.len..end)
                .ok_or(std::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut text = Text {
        bytes: [0; 64],
        len: 0,
    };
    write!(text, "{double}").ok()?;
    let text = std::str::from_utf8(&text.bytes[..text.len]).ok()?;
    text.parse().ok()
}

const UUID: u32 = 2950;
const TEXT: u32 = 25;
const VARCHAR: u32 = 1043;
const BOOL: u32 = 16;
const INT8: u32 = 20;
const NUMERIC: u32 = 1700;
const DATE: u32 = 1082;
const TIMESTAMPTZ: u32 = 1184;

/// Days from 0001-01-01 (chrono's day 1) to 2000-01-01 (PostgreSQL's day 0).
const PG_EPOCH_DAYS_FROM_CE: i32 = 730_120;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

impl FromPgBinary for Uuid {
    const OIDS: &'static [u32] = &[UUID];
    fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
        Uuid::from_slice(bytes).ok()
    }
}

impl FromPgBinary for String {
    const OIDS: &'static [u32] = &[TEXT, VARCHAR];
    fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
        std::str::from_utf8(bytes).ok().map(str::to_owned)
    }
}

impl FromPgBinary for bool {
    const OIDS: &'static [u32] = &[BOOL];
    fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [byte] => Some(*byte != 0),
            _ => None,
        }
    }
}

impl FromPgBinary for i64 {
    const OIDS: &'static [u32] = &[INT8];
    fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
        Some(i64::from_be_bytes(bytes.try_into().ok()?))
    }
}

impl FromPgBinary for NaiveDate {
    const OIDS: &'static [u32] = &[DATE];
    fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
        let days = i32::from_be_bytes(bytes.try_into().ok()?);
        NaiveDate::from_num_days_from_ce_opt(days.checked_add(PG_EPOCH_DAYS_FROM_CE)?)
    }
    fn invalid(bytes: &[u8]) -> Option<&'static str> {
        (bytes.len() == 4).then_some("a date out of range (infinity?)")
    }
}

impl FromPgBinary for DateTime<Utc> {
    const OIDS: &'static [u32] = &[TIMESTAMPTZ];
    fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
        let micros = i64::from_be_bytes(bytes.try_into().ok()?);
        DateTime::from_timestamp_micros(micros.checked_add(PG_EPOCH_UNIX_MICROS)?)
    }
    fn invalid(bytes: &[u8]) -> Option<&'static str> {
        (bytes.len() == 8).then_some("a timestamp out of range (infinity?)")
    }
}

/// `numeric`: a header (digit count, weight of the first digit, sign, display scale), then
/// base-10,000 digits. The decimal keeps the display scale, as sqlx's conversion does, except
/// for zero (no digits), which sqlx reads as a plain `0`.
impl FromPgBinary for Decimal {
    const OIDS: &'static [u32] = &[NUMERIC];
    fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
        let (header, digits) = bytes.split_at_checked(8)?;
        let word = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
        let count = i32::from(word(0) as i16);
        let weight = i32::from(word(2) as i16);
        let negative = match word(4) {
            0x0000 => false,
            0x4000 => true,
            _ => return None, // NaN, infinities
        };
        let scale = u32::from(word(6));
        if count < 0 || digits.len() != count as usize * 2 || scale > 28 {
            return None;
        }
        if count == 0 {
            return Some(Decimal::ZERO);
        }
        let mut whole: i128 = 0;
        for digit in digits.chunks_exact(2) {
            let digit = i16::from_be_bytes([digit[0], digit[1]]);
            if !(0..10_000).contains(&digit) {
                return None;
            }
            whole = whole.checked_mul(10_000)?.checked_add(i128::from(digit))?;
        }
        // The value is `whole` × 10,000^(weight − count + 1); the decimal's mantissa is the
        // value × 10^scale.
        let exponent = 4 * (weight - count + 1) + scale as i32;
        let mantissa = if exponent >= 0 {
            whole.checked_mul(10i128.checked_pow(exponent.unsigned_abs())?)?
        } else {
            let divisor = 10i128.checked_pow(exponent.unsigned_abs())?;
            if whole % divisor != 0 {
                return None; // digits beyond the display scale
            }
            whole / divisor
        };
        Decimal::try_from_i128_with_scale(if negative { -mantissa } else { mantissa }, scale).ok()
    }
}

/// Enums stored as text: their SeaORM string value.
macro_rules! text_enums {
    ($($ty:ty),* $(,)?) => {$(
        impl FromPgBinary for $ty {
            const OIDS: &'static [u32] = &[TEXT, VARCHAR];
            fn from_pg_binary(bytes: &[u8]) -> Option<Self> {
                static VALUES: OnceLock<Vec<(String, $ty)>> = OnceLock::new();
                VALUES
                    .get_or_init(|| <$ty>::iter().map(|v| (v.to_value(), v)).collect())
                    .iter()
                    .find(|(text, _)| text.as_bytes() == bytes)
                    .map(|(_, value)| *value)
            }
        }

        impl FromSqlite for $ty {
            fn from_sqlite(stored: Stored<'_>) -> Option<Self> {
                match stored {
                    Stored::Text(text) => <$ty>::from_pg_binary(text.as_bytes()),
                    _ => None,
                }
            }
        }
    )*};
}
text_enums!(
    entity::ClientStatus,
    entity::ContractStatus,
    entity::PaymentStatus,
    entity::Role,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_double_gives_back_the_decimal_it_was_made_from() {
        for text in [
            "44770.48",
            "0.1",
            "100",
            "9999999999.99",
            "-12.5",
            "0.05",
            "1234567.89",
        ] {
            let double: f64 = text.parse().unwrap_or_default();
            assert_eq!(
                decimal_of_double(double).map(|d| d.to_string()).as_deref(),
                Some(text)
            );
        }
        assert_eq!(decimal_of_double(f64::NAN), None);
        assert_eq!(decimal_of_double(f64::INFINITY), None);
        // The quick way finds what the text does, digit for digit (scale included).
        let mut checked = 0;
        for cents in (-2_000_000i64..2_000_000)
            .step_by(7)
            .chain([1, 10, 100, 12_345_678_901])
        {
            for divisor in [1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 3.0] {
                let double = cents as f64 / divisor;
                let quick = decimal_of_double(double).map(|d| d.to_string());
                let text = decimal_of_text(double).map(|d| d.to_string());
                assert_eq!(quick, text, "{double}");
                checked += 1;
            }
        }
        assert!(checked > 1_000_000);
    }

    #[test]
    fn the_epochs_are_postgresqls() {
        use chrono::Datelike;
        let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
        assert_eq!(epoch.num_days_from_ce(), PG_EPOCH_DAYS_FROM_CE);
        let midnight = epoch.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        assert_eq!(midnight.timestamp_micros(), PG_EPOCH_UNIX_MICROS);
    }

    /// `numeric` bytes: digits in base 10,000, weight, sign, scale.
    fn numeric(digits: &[i16], weight: i16, sign: u16, scale: u16) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, scale] {
            bytes.extend(word.to_be_bytes());
        }
        for digit in digits {
            bytes.extend(digit.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn numerics_keep_their_value_and_scale() {
        let read = |digits: &[i16], weight, sign, scale| {
            Decimal::from_pg_binary(&numeric(digits, weight, sign, scale)).map(|d| d.to_string())
        };
        assert_eq!(read(&[4, 4770, 4800], 1, 0, 2).as_deref(), Some("44770.48"));
        assert_eq!(read(&[12, 5000], 0, 0x4000, 2).as_deref(), Some("-12.50"));
        assert_eq!(read(&[500], -1, 0, 2).as_deref(), Some("0.05"));
        assert_eq!(read(&[1], 2, 0, 2).as_deref(), Some("100000000.00"));
        assert_eq!(read(&[], 0, 0, 2).as_deref(), Some("0"));
        assert_eq!(
            read(&[9999, 9999, 9999, 9900], 2, 0, 2).as_deref(),
            Some("999999999999.99")
        );
        // What this does not read goes the usual way.
        assert_eq!(read(&[], 0, 0xC000, 0), None); // NaN
        assert_eq!(read(&[1, 2345], 0, 0, 2), None); // 1.2345 shown with 2 decimals
        assert_eq!(read(&[10_000], 0, 0, 0), None); // not a base-10,000 digit
        assert_eq!(Decimal::from_pg_binary(&[0, 1, 0, 0]), None); // cut short
    }

    #[test]
    fn the_other_types_read_their_bytes_and_nothing_else() {
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(Uuid::from_pg_binary(id.as_bytes()), Some(id));
        assert_eq!(Uuid::from_pg_binary(&[1, 2, 3]), None);
        assert_eq!(
            String::from_pg_binary("Société".as_bytes()).as_deref(),
            Some("Société")
        );
        assert_eq!(String::from_pg_binary(&[0xff, 0xfe]), None);
        assert_eq!(bool::from_pg_binary(&[1]), Some(true));
        assert_eq!(bool::from_pg_binary(&[0]), Some(false));
        assert_eq!(i64::from_pg_binary(&(-5i64).to_be_bytes()), Some(-5));
        assert_eq!(i64::from_pg_binary(&5i32.to_be_bytes()), None);
        assert_eq!(
            NaiveDate::from_pg_binary(&(-1i32).to_be_bytes()),
            NaiveDate::from_ymd_opt(1999, 12, 31)
        );
        assert_eq!(NaiveDate::from_pg_binary(&i32::MAX.to_be_bytes()), None); // 'infinity'
        assert_eq!(
            DateTime::<Utc>::from_pg_binary(&1_000_000i64.to_be_bytes()).map(|t| t.to_rfc3339()),
            Some("2000-01-01T00:00:01+00:00".to_owned())
        );
        assert_eq!(
            DateTime::<Utc>::from_pg_binary(&i64::MAX.to_be_bytes()),
            None
        );
        assert_eq!(
            entity::PaymentStatus::from_pg_binary(b"completed"),
            Some(entity::PaymentStatus::Completed)
        );
        assert_eq!(entity::PaymentStatus::from_pg_binary(b"Completed"), None);
    }
}
