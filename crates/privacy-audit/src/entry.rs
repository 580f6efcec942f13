//! One log entry: its canonical serialization, its hash, and parsing it back.
//!
//! The canonical form is written here by hand rather than left to `serde_json`'s map ordering,
//! because that ordering is a cargo feature (`preserve_order`) that any crate in a build can
//! switch on for everyone. Objects are written with their keys sorted by byte value, with no
//! whitespace; strings and numbers are written by `serde_json`, whose escaping and
//! shortest-round-trip number format are deterministic. So a line parsed and re-serialized
//! gives back exactly the same bytes, and the verifier can demand exactly that.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Prepended to every hashed entry, so a hash of this format can never be confused with a hash
/// of anything else (or of a later version of this format).
const DOMAIN: &[u8] = b"medi-privacy-audit-v1\n";

/// The `prev` of the first entry: 32 zero bytes in hex.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The content of an entry that its hash covers: everything but the hash itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Body {
    pub(crate) seq: u64,
    pub(crate) time: String,
    pub(crate) prev: String,
    /// The event, already in canonical JSON.
    event: String,
}

impl Body {
    pub(crate) fn new(seq: u64, time: String, prev: String, event: &Value) -> Self {
        let mut canonical = String::new();
        write_canonical(event, &mut canonical);
        Self { seq, time, prev, event: canonical }
    }

    /// Hex SHA-256 of the domain tag followed by the canonical JSON of
    /// `{"event", "prev", "seq", "time"}` (keys in sorted order, as [`write_canonical`] would
    /// write that object).
    pub(crate) fn hash(&self) -> String {
        let canonical = format!(
            "{{\"event\":{},\"prev\":{},\"seq\":{},\"time\":{}}}",
            self.event,
            json_string(&self.prev),
            self.seq,
            json_string(&self.time),
        );
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        hasher.update(canonical.as_bytes());
        hex::encode(hasher.finalize())
    }

    /// The line written to the log, newline included. The top-level keys are in reading order
    /// (`seq` first, `hash` last) rather than sorted; that order is part of the canonical form.
    pub(crate) fn line(&self, hash: &str) -> String {
        format!(
            "{{\"seq\":{},\"time\":{},\"prev\":{},\"event\":{},\"hash\":{}}}\n",
            self.seq,
            json_string(&self.time),
            json_string(&self.prev),
            self.event,
            json_string(hash),
        )
    }
}

/// An entry read back from a line whose hash and form are valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) seq: u64,
    pub(crate) prev: String,
    pub(crate) hash: String,
}

/// Why a line is not a valid entry on its own (before its place in the chain is checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LineFault {
    /// Not an entry: bad JSON, missing or mistyped fields, or not in canonical form.
    Malformed(&'static str),
    /// Invalid JSON, with the parser's description (positions only, never content).
    InvalidJson(String),
    /// A well-formed entry whose hash does not match its content.
    HashMismatch {
        /// The sequence number the line claims.
        seq: u64,
    },
}

/// Parses one line (without its newline) and checks its hash and canonical form.
pub(crate) fn parse_line(line: &[u8]) -> Result<Parsed, LineFault> {
    if line.is_empty() {
        return Err(LineFault::Malformed("empty line"));
    }
    let value: Value =
        serde_json::from_slice(line).map_err(|e| LineFault::InvalidJson(e.to_string()))?;
    let Value::Object(mut fields) = value else {
        return Err(LineFault::Malformed("not a JSON object"));
    };
    if fields.len() != 5 {
        return Err(LineFault::Malformed("an entry has exactly seq, time, prev, event and hash"));
    }
    let seq = fields.get("seq").and_then(Value::as_u64);
    let seq = seq.ok_or(LineFault::Malformed("seq is not a non-negative integer"))?;
    let text = |fields: &mut serde_json::Map<String, Value>, key: &str| match fields.remove(key) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    let time = text(&mut fields, "time").ok_or(LineFault::Malformed("time is not a string"))?;
    let prev = text(&mut fields, "prev").filter(|p| is_hash(p));
    let prev = prev.ok_or(LineFault::Malformed("prev is not a lower-case hex SHA-256"))?;
    let hash = text(&mut fields, "hash").filter(|h| is_hash(h));
    let hash = hash.ok_or(LineFault::Malformed("hash is not a lower-case hex SHA-256"))?;
    let event = fields.get("event").filter(|e| e.is_object());
    let event = event.ok_or(LineFault::Malformed("event is not a JSON object"))?;
    let body = Body::new(seq, time, prev, event);
    if body.hash() != hash {
        return Err(LineFault::HashMismatch { seq });
    }
    // A valid hash over a value whose bytes were re-spelled (an escape written differently, say)
    // still means the line was changed; the hash alone would not see it.
    let canonical = body.line(&hash);
    if canonical.as_bytes().strip_suffix(b"\n") != Some(line) {
        return Err(LineFault::Malformed("not in canonical form"));
    }
    Ok(Parsed { seq: body.seq, prev: body.prev, hash })
}

/// The `seq` of a line, if it is a JSON object with one, without checking anything else.
pub(crate) fn peek_seq(line: &[u8]) -> Option<u64> {
    let value: Value = serde_json::from_slice(line).ok()?;
    value.get("seq")?.as_u64()
}

fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A JSON string literal, escaped by `serde_json`.
fn json_string(text: &str) -> String {
    // Display of a JSON value is infallible: it writes into a String.
    Value::from(text).to_string()
}

/// Appends the canonical JSON of `value`: object keys sorted by byte value, no whitespace.
pub(crate) fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json_string(key));
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use serde_json::json;

    use super::*;

    fn body() -> Body {
        let details = json!({"z": 1, "a": [true, null, 2.5]});
        let event = json!({"principal": "ana", "kind": "release", "details": details});
        Body::new(1, "2025-01-01T00:00:00Z".into(), GENESIS_PREV.into(), &event)
    }

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        let mut out = String::new();
        write_canonical(&json!({"b": {"y": 1, "x": "é\n"}, "a": [{"d": 0, "c": -1}]}), &mut out);
        assert_eq!(out, r#"{"a":[{"c":-1,"d":0}],"b":{"x":"é\n","y":1}}"#);
    }

    #[test]
    fn the_hash_covers_the_sorted_object_without_the_hash() {
        let body = body();
        let mut sorted = String::new();
        let value = json!({"seq": 1, "time": body.time, "prev": body.prev,
            "event": serde_json::from_str::<Value>(&body.event).unwrap()});
        write_canonical(&value, &mut sorted);
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        hasher.update(sorted.as_bytes());
        assert_eq!(body.hash(), hex::encode(hasher.finalize()));
    }

    #[test]
    fn a_written_line_parses_back() {
        let body = body();
        let hash = body.hash();
        let line = body.line(&hash);
        let parsed = parse_line(line.trim_end().as_bytes()).unwrap();
        assert_eq!(parsed, Parsed { seq: 1, prev: GENESIS_PREV.into(), hash });
    }

    #[test]
    fn a_respelled_but_equal_line_is_refused() {
        let body = body();
        let line = body.line(&body.hash());
        let respelled = line.trim_end().replacen("\"ana\"", "\"\\u0061na\"", 1);
        assert_eq!(
            parse_line(respelled.as_bytes()),
            Err(LineFault::Malformed("not in canonical form"))
        );
    }
}
