//! Sink-side safeguards: what the audit log refuses to write, whoever built the event.
//!
//! Keeping data out of events is first the duty of the crate that builds them; this module is
//! the second line of defence, applied by [`crate::AuditLog`] to every event before it is
//! written or traced. An event that fails a rule is refused with [`AuditError::Forbidden`]
//! (naming the field and the rule, never the value), so the operation it records does not
//! proceed: a leak is a bug to fix, not something to drop quietly.
//!
//! The rules, and why:
//! - **Field names that announce secrets or data** are refused: any `_`-separated word of a
//!   detail key among [`FORBIDDEN_KEY_WORDS`] (`secret`, `password`, `share`, `gradient`,
//!   `plaintext`, `seed`, `cell`, `raw`, …), and the bare keys `value`, `values`, `data`,
//!   `key` and `private_key`. Public metadata has other names (`key_fingerprint`,
//!   `released_value`, `noise_scale`). Counting words (`rows`, `records`) stay allowed: counts
//!   such as `max_rows_per_unit` or `suppressed_records` are metadata.
//! - **Long numeric arrays** (more than [`MAX_NUMERIC_ARRAY`] numbers) are refused: a vector
//!   of numbers that long is a gradient, a column or a share vector, not a parameter.
//! - **Size limits**: strings of at most [`MAX_STRING_CHARS`] characters, arrays of at most
//!   [`MAX_ARRAY_ITEMS`] items, nesting of at most [`MAX_DEPTH`] levels; principal and
//!   dataset names without control characters.
//!
//! The trade-off: the rules are syntactic. A data value put in an innocuously named field
//! (say a `reason` that quotes a cell) passes; the cross-crate canary test, which feeds
//! distinctive values through every path and searches the log for them, is what catches that.

use privacy_core::AuditEvent;
use serde_json::Value;

use crate::error::AuditError;

/// Words that may not appear in a detail key (split on `_`, `-` and `.`, lower-cased).
pub const FORBIDDEN_KEY_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "password",
    "passphrase",
    "share",
    "shares",
    "gradient",
    "gradients",
    "plaintext",
    "cleartext",
    "seed",
    "cell",
    "cells",
    "raw",
    "pii",
];

/// Whole detail keys that may not be used: they are what a data value would be called.
const FORBIDDEN_KEYS: &[&str] = &["value", "values", "data", "key", "private_key", "sk"];

/// The most numbers an array in an event may hold.
pub const MAX_NUMERIC_ARRAY: usize = 16;
/// The most items any array in an event may hold.
pub const MAX_ARRAY_ITEMS: usize = 256;
/// The longest string in an event, in characters.
pub const MAX_STRING_CHARS: usize = 4096;
/// The deepest nesting of objects and arrays in an event's details.
pub const MAX_DEPTH: usize = 8;

/// Checks `event` against every rule; the error names the field path and the rule.
pub fn check_event(event: &AuditEvent) -> Result<(), AuditError> {
    check_name("principal", &event.principal)?;
    if let Some(dataset) = &event.dataset {
        check_name("dataset", dataset)?;
    }
    for (key, value) in &event.details {
        let path = format!("details.{key}");
        check_key(&path, key)?;
        check_value(&path, value, 1)?;
    }
    Ok(())
}

fn forbidden(path: &str, rule: &'static str) -> AuditError {
    AuditError::Forbidden { field: path.chars().take(200).collect(), rule }
}

fn check_name(path: &str, name: &str) -> Result<(), AuditError> {
    if name.chars().any(char::is_control) {
        return Err(forbidden(path, "names may not hold control characters"));
    }
    if name.chars().count() > MAX_STRING_CHARS {
        return Err(forbidden(path, "string too long"));
    }
    Ok(())
}

fn check_key(path: &str, key: &str) -> Result<(), AuditError> {
    let lower = key.to_ascii_lowercase();
    if FORBIDDEN_KEYS.contains(&lower.as_str()) {
        return Err(forbidden(path, "the field name is reserved for data or secrets"));
    }
    let words = lower.split(['_', '-', '.', ' ']);
    if words.into_iter().any(|w| FORBIDDEN_KEY_WORDS.contains(&w)) {
        return Err(forbidden(path, "the field name announces data or a secret"));
    }
    Ok(())
}

fn check_value(path: &str, value: &Value, depth: usize) -> Result<(), AuditError> {
    if depth > MAX_DEPTH {
        return Err(forbidden(path, "nested too deeply"));
    }
    match value {
        Value::String(text) if text.chars().count() > MAX_STRING_CHARS => {
            Err(forbidden(path, "string too long"))
        }
        Value::Array(items) => {
            if items.len() > MAX_ARRAY_ITEMS {
                return Err(forbidden(path, "array too long"));
            }
            if items.iter().filter(|i| i.is_number()).count() > MAX_NUMERIC_ARRAY {
                return Err(forbidden(path, "long numeric arrays look like data or gradients"));
            }
            items.iter().try_for_each(|item| check_value(path, item, depth + 1))
        }
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            let inner = format!("{path}.{key}");
            check_key(&inner, key)?;
            check_value(&inner, item, depth + 1)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use privacy_core::AuditEventKind;
    use serde_json::json;

    use super::*;

    fn release() -> AuditEvent {
        AuditEvent::new(AuditEventKind::Release, "ana")
            .with_dataset("icu")
            .with_detail("mechanism", "discrete_laplace")
            .with_detail("released_value", 12.5)
            .with_detail("noise_scale", 2.0)
            .with_detail("ci95", vec![1.0, 2.0])
            .with_detail("key_fingerprint", "ab12")
            .with_detail("models", json!({"k_anonymity": {"k": 5}}))
    }

    fn rule_of(event: &AuditEvent) -> Option<(String, &'static str)> {
        match check_event(event) {
            Err(AuditError::Forbidden { field, rule }) => Some((field, rule)),
            Ok(()) => None,
            Err(other) => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn metadata_passes() {
        assert_eq!(rule_of(&release()), None);
    }

    #[test]
    fn names_of_secrets_and_data_are_refused_wherever_they_are() {
        for key in ["secret_key", "share", "client_gradients", "value", "Data", "seed", "raw-row"] {
            let event = release().with_detail(key, 1);
            let (field, _) = rule_of(&event).unwrap_or_else(|| panic!("{key} passed"));
            assert_eq!(field, format!("details.{key}"));
        }
        let nested = release().with_detail("protocol", json!({"party": {"shares": [1]}}));
        assert_eq!(rule_of(&nested).unwrap().0, "details.protocol.party.shares");
    }

    #[test]
    fn long_numeric_arrays_deep_nesting_and_control_characters_are_refused() {
        let gradient: Vec<f64> = (0..17).map(f64::from).collect();
        assert!(rule_of(&release().with_detail("update_norms", gradient)).is_some());
        let mut deep = json!(1);
        for _ in 0..10 {
            deep = json!({ "a": deep });
        }
        assert!(rule_of(&release().with_detail("nest", deep)).is_some());
        let forged = AuditEvent::new(AuditEventKind::Release, "ana\n{\"seq\":9}");
        assert_eq!(rule_of(&forged).unwrap().0, "principal");
        let long = release().with_detail("reason", "x".repeat(MAX_STRING_CHARS + 1));
        assert!(rule_of(&long).is_some());
    }
}
