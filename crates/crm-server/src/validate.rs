//! Input validation shared by every mutation: each failure is a `BAD_USER_INPUT` naming the
//! input field (camelCase). Nothing is written before validation passes.

use async_graphql::MaybeUndefined;
use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};

/// Largest amount NUMERIC(14, 2) holds.
fn max_money() -> Decimal {
    // 999 999 999 999.99
    Decimal::new(99_999_999_999_999, 2)
}

/// A required text: trimmed, not blank, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` must not be blank"),
        ));
    }
    if value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An optional text: trimmed; blank becomes null.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required_text(field, v, max).map(Some),
    }
}

/// An e-mail address: `local@domain.tld`, no spaces.
pub fn email(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = optional_text(field, value, 254)? else {
        return Ok(None);
    };
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.chars().any(char::is_whitespace)
    });
    if !valid {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` is not a valid e-mail address"),
        ));
    }
    Ok(Some(value))
}

/// A phone number: digits with optional `+`, spaces, dots, dashes and parentheses; 6 to 20
/// digits.
pub fn phone(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = optional_text(field, value, 32)? else {
        return Ok(None);
    };
    let allowed = value.chars().enumerate().all(|(i, c)| {
        c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')') || (c == '+' && i == 0)
    });
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if !allowed || !(6..=20).contains(&digits) {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` is not a valid phone number"),
        ));
    }
    Ok(Some(value))
}

/// A postal code: 2 to 10 letters, digits, spaces or dashes, with at least one digit or letter.
pub fn postal_code(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = optional_text(field, value, 10)? else {
        return Ok(None);
    };
    let valid = value.len() >= 2
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        && value.chars().any(|c| c.is_ascii_alphanumeric());
    if !valid {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` is not a valid postal code"),
        ));
    }
    Ok(Some(value.to_uppercase()))
}

/// An amount of money: at most two decimals, within NUMERIC(14, 2); `> 0` when `positive`,
/// `>= 0` otherwise.
pub fn money(field: &str, value: Decimal, positive: bool) -> AppResult<Decimal> {
    if value.normalize().scale() > 2 {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` has more than two decimals"),
        ));
    }
    if positive && value <= Decimal::ZERO {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` must be greater than 0"),
        ));
    }
    if value < Decimal::ZERO {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` must not be negative"),
        ));
    }
    if value > max_money() {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` is too large"),
        ));
    }
    let mut value = value;
    value.rescale(2);
    Ok(value)
}

/// An ISO 4217 currency code: three letters, stored upper-case.
pub fn currency(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim().to_uppercase();
    if value.len() != 3 || !value.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` must be a three-letter ISO 4217 code such as EUR"),
        ));
    }
    Ok(value)
}

/// `Some(v)` for a value, `None` for absent; an explicit null on a required field is an error.
pub fn not_null<T>(field: &str, value: MaybeUndefined<T>) -> AppResult<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(AppError::bad_input(
            field,
            format!("`{field}` cannot be null"),
        )),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_two_decimals_and_refuses_more() {
        assert_eq!(
            money("amount", Decimal::new(125, 1), false)
                .unwrap()
                .to_string(),
            "12.50"
        );
        assert!(money("amount", Decimal::new(1234, 3), false).is_err());
        assert!(money("amount", Decimal::ZERO, true).is_err());
        assert!(money("amount", Decimal::new(-1, 0), false).is_err());
        assert!(money("amount", Decimal::new(100_000_000_000_000, 2), false).is_err());
    }

    #[test]
    fn checks_contact_details() {
        assert!(email("email", Some("a@b.fr")).unwrap().is_some());
        assert!(email("email", Some("a@b")).is_err());
        assert!(email("email", Some("a b@c.fr")).is_err());
        assert!(phone("phone", Some("+33 1 23 45 67 89")).is_ok());
        assert!(phone("phone", Some("call me")).is_err());
        assert!(postal_code("postalCode", Some("75002")).is_ok());
        assert!(postal_code("postalCode", Some("7500!")).is_err());
        assert_eq!(currency("currency", " eur ").unwrap(), "EUR");
        assert!(currency("currency", "EURO").is_err());
    }
}
