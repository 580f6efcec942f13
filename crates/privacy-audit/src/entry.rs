//! One log entry: writing a line, parsing one back, and the hash that chains them.
//!
//! Two line formats are read; only the second is written.
//!
//! - **Version 2** (written since signed checkpoints came in):
//!   `{"v":2,"seq":…,"time":…,"prev":…,"event":…,"hash":"…"}`. The hash covers the exact bytes
//!   of the line with its `,"hash":"…"` member removed, so checking it needs no
//!   canonicalization: any changed byte changes the hash. The writer still writes the event in
//!   canonical form (keys sorted, no whitespace) so equal events give equal lines.
//! - **Version 1** (the first logs): no `v` field; the hash covers a canonical re-serialization
//!   and the line itself must be canonical, so the verifier re-serializes it. Kept so that old
//!   logs still verify and can be continued (a v1 log gets v2 entries appended).
//!
//! The trade-off of version 2 is that its hash is defined on bytes rather than on the JSON value:
//! a tool that re-serializes a line (even without changing its meaning) breaks it. In exchange a
//! verifier parses each line once, without building a JSON tree, which is what makes checking a
//! million entries take well under a second.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// Prepended to every hashed version-1 entry.
const DOMAIN_V1: &[u8] = b"medi-privacy-audit-v1\n";
/// Prepended to every hashed version-2 entry, so no hash of one version can pass for the other.
const DOMAIN_V2: &[u8] = b"medi-privacy-audit-v2\n";

/// The version this build writes.
pub const CURRENT_VERSION: u64 = 2;

/// The `prev` of the first entry: 32 zero bytes in hex.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `,"hash":"` + 64 hex digits + `"}`: how every version-2 line ends (before its newline).
const V2_SUFFIX_LEN: usize = 9 + 64 + 2;

/// A version-2 entry about to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewEntry {
    /// The line, newline included.
    pub(crate) line: String,
    /// Its chain hash.
    pub(crate) hash: Hash,
}

/// Builds the line of entry `seq` whose event is already canonical JSON.
pub(crate) fn new_entry(seq: u64, time: &str, prev: &Hash, event_json: &str) -> NewEntry {
    let mut line = format!(
        "{{\"v\":{CURRENT_VERSION},\"seq\":{seq},\"time\":{},\"prev\":\"{}\",\"event\":{event_json}",
        json_string(time),
        hex::encode(prev),
    );
    let hash = v2_hash(line.as_bytes());
    line.push_str(",\"hash\":\"");
    line.push_str(&hex::encode(hash));
    line.push_str("\"}\n");
    NewEntry { line, hash }
}

/// `SHA-256(domain ‖ body ‖ "}")`, where `body` is the line up to, not including, the hash
/// member.
fn v2_hash(body: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN_V2);
    hasher.update(body);
    hasher.update(b"}");
    hasher.finalize().into()
}

/// An entry read back from a line whose hash is valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) seq: u64,
    pub(crate) prev: Hash,
    pub(crate) hash: Hash,
}

/// Why a line is not a valid entry on its own (before its place in the chain is checked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LineFault {
    /// Not an entry: bad JSON, missing or mistyped fields, or not in the required form.
    Malformed(&'static str),
    /// Invalid JSON, with the parser's description (positions only, never content).
    InvalidJson(String),
    /// A line of a format version this build does not know.
    UnknownVersion(u64),
    /// A well-formed entry whose hash does not match its content.
    HashMismatch {
        /// The sequence number the line claims.
        seq: u64,
        /// The hash the line claims, which the next entry links to.
        claimed: Hash,
    },
}

/// Parses one line (without its newline) and checks its hash.
pub(crate) fn parse_line(line: &[u8]) -> Result<Parsed, LineFault> {
    if line.is_empty() {
        return Err(LineFault::Malformed("empty line"));
    }
    match declared_version(line) {
        None => parse_v1(line),
        Some(Some(2)) => parse_v2(line),
        Some(Some(other)) => Err(LineFault::UnknownVersion(other)),
        Some(None) => Err(LineFault::Malformed("the version is not a non-negative integer")),
    }
}

/// `None` for a line without a leading `"v"` member (version 1); otherwise the number written
/// there, if it is one.
fn declared_version(line: &[u8]) -> Option<Option<u64>> {
    let rest = line.strip_prefix(b"{\"v\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let number = std::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok());
    Some(number.filter(|_| matches!(rest.get(digits), Some(b',' | b'}'))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct V2Fields<'a> {
    #[allow(dead_code, reason = "checked textually by declared_version")]
    v: u64,
    seq: u64,
    #[serde(borrow)]
    #[allow(dead_code, reason = "informative only; its presence and type are checked")]
    time: &'a str,
    prev: &'a str,
    #[allow(dead_code, reason = "only its JSON validity and shape are checked here")]
    event: AnyObject,
    hash: &'a str,
}

/// Any JSON object, checked for validity and skipped without being built.
struct AnyObject;

impl<'de> Deserialize<'de> for AnyObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Skip;
        impl<'de> Visitor<'de> for Skip {
            type Value = AnyObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyObject, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(AnyObject)
            }
        }
        deserializer.deserialize_map(Skip)
    }
}

fn parse_v2(line: &[u8]) -> Result<Parsed, LineFault> {
    let fields: V2Fields<'_> =
        serde_json::from_slice(line).map_err(|e| LineFault::InvalidJson(e.to_string()))?;
    let prev = parse_hash(fields.prev)
        .ok_or(LineFault::Malformed("prev is not a lower-case hex SHA-256"))?;
    let claimed = parse_hash(fields.hash)
        .ok_or(LineFault::Malformed("hash is not a lower-case hex SHA-256"))?;
    // The hash must be the last member, written exactly so: then everything before it is
    // covered by it. (The JSON parse has already refused a duplicate `hash` member.)
    let split = line.len().checked_sub(V2_SUFFIX_LEN);
    let (body, suffix) = split.map(|at| line.split_at(at)).unwrap_or((b"", line));
    // `,"hash":"` + the 64 digits + `"}`, compared in place (no allocation per line).
    let ends_right = suffix.len() == V2_SUFFIX_LEN
        && suffix.starts_with(b",\"hash\":\"")
        && suffix.ends_with(b"\"}")
        && &suffix[9..73] == fields.hash.as_bytes();
    if !ends_right {
        return Err(LineFault::Malformed("hash is not the last member"));
    }
    if v2_hash(body) != claimed {
        return Err(LineFault::HashMismatch { seq: fields.seq, claimed });
    }
    Ok(Parsed { seq: fields.seq, prev, hash: claimed })
}

/// The hex digest as bytes, if it is 64 lower-case hex digits.
///
/// Decoded through a lookup table rather than `hex::decode_to_slice`: the verifier decodes two
/// digests per line, and the general decoder's per-character checks were a sixth of the time
/// of verifying a log.
pub(crate) fn parse_hash(text: &str) -> Option<Hash> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        if (high | low) & 0xf0 != 0 {
            return None;
        }
        *byte = high << 4 | low;
    }
    Some(out)
}

/// The value of each lower-case hex digit; `0xff` for every other byte.
const NIBBLE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

fn parse_v1(line: &[u8]) -> Result<Parsed, LineFault> {
    let value: Value =
        serde_json::from_slice(line).map_err(|e| LineFault::InvalidJson(e.to_string()))?;
    let Value::Object(mut fields) = value else {
        return Err(LineFault::Malformed("not a JSON object"));
    };
    if fields.contains_key("v") {
        return Err(LineFault::Malformed("the version must be the first member"));
    }
    if fields.len() != 5 {
        return Err(LineFault::Malformed("an entry has exactly seq, time, prev, event and hash"));
    }
    let seq = fields.get("seq").and_then(Value::as_u64);
    let seq = seq.ok_or(LineFault::Malformed("seq is not a non-negative integer"))?;
    let mut text = |key: &str| match fields.remove(key) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    let time = text("time").ok_or(LineFault::Malformed("time is not a string"))?;
    let prev = text("prev").ok_or(LineFault::Malformed("prev is not a string"))?;
    let hash = text("hash").ok_or(LineFault::Malformed("hash is not a string"))?;
    let prev_bytes =
        parse_hash(&prev).ok_or(LineFault::Malformed("prev is not a lower-case hex SHA-256"))?;
    let claimed =
        parse_hash(&hash).ok_or(LineFault::Malformed("hash is not a lower-case hex SHA-256"))?;
    let event = fields.get("event").filter(|e| e.is_object());
    let event = event.ok_or(LineFault::Malformed("event is not a JSON object"))?;
    let mut event_json = String::new();
    write_canonical(event, &mut event_json);
    let hashed = format!(
        "{{\"event\":{event_json},\"prev\":{},\"seq\":{seq},\"time\":{}}}",
        json_string(&prev),
        json_string(&time),
    );
    let recomputed: Hash =
        Sha256::new().chain_update(DOMAIN_V1).chain_update(&hashed).finalize().into();
    if recomputed != claimed {
        return Err(LineFault::HashMismatch { seq, claimed });
    }
    // A valid hash over a value whose bytes were re-spelled (an escape written differently, say)
    // still means the line was changed; the hash alone would not see it.
    let canonical = format!(
        "{{\"seq\":{seq},\"time\":{},\"prev\":{},\"event\":{event_json},\"hash\":{}}}",
        json_string(&time),
        json_string(&prev),
        json_string(&hash),
    );
    if canonical.as_bytes() != line {
        return Err(LineFault::Malformed("not in canonical form"));
    }
    Ok(Parsed { seq, prev: prev_bytes, hash: claimed })
}

/// The `seq` of a line, if it is a JSON object with one, without checking anything else.
pub(crate) fn peek_seq(line: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Seq {
        seq: u64,
    }
    serde_json::from_slice::<Seq>(line).ok().map(|s| s.seq)
}

/// A JSON string literal, escaped by `serde_json`.
pub(crate) fn json_string(text: &str) -> String {
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

    #[test]
    fn digests_are_lower_case_hex_of_exactly_64_digits() {
        let hash: Hash = Sha256::digest(b"x").into();
        assert_eq!(parse_hash(&hex::encode(hash)), Some(hash));
        assert_eq!(parse_hash(&hex::encode_upper(hash)), None);
        assert_eq!(parse_hash(&hex::encode(hash)[..62]), None);
        assert_eq!(parse_hash(&format!("{}0", hex::encode(hash))), None);
        let mut bad = hex::encode(hash).into_bytes();
        bad[10] = b'g';
        assert_eq!(parse_hash(std::str::from_utf8(&bad).unwrap()), None);
        assert_eq!(parse_hash(&"é".repeat(32)), None);
    }

    fn canonical(value: &Value) -> String {
        let mut out = String::new();
        write_canonical(value, &mut out);
        out
    }

    fn genesis() -> Hash {
        [0; 32]
    }

    #[test]
    fn canonical_form_sorts_keys_at_every_depth() {
        let out = canonical(&json!({"b": {"y": 1, "x": "é\n"}, "a": [{"d": 0, "c": -1}]}));
        assert_eq!(out, r#"{"a":[{"c":-1,"d":0}],"b":{"x":"é\n","y":1}}"#);
    }

    #[test]
    fn a_written_line_parses_back_and_its_hash_covers_the_line_without_the_hash() {
        let event = canonical(&json!({"kind": "release", "principal": "ana", "details": {}}));
        let entry = new_entry(1, "2025-01-01T00:00:00Z", &genesis(), &event);
        let line = entry.line.trim_end();
        let parsed = parse_line(line.as_bytes()).unwrap();
        assert_eq!(parsed, Parsed { seq: 1, prev: genesis(), hash: entry.hash });
        // What an auditor would do by hand: drop the hash member, hash the rest.
        let hex_hash = hex::encode(entry.hash);
        let without = line.replace(&format!(",\"hash\":\"{hex_hash}\""), "");
        let by_hand: Hash =
            Sha256::new().chain_update(DOMAIN_V2).chain_update(&without).finalize().into();
        assert_eq!(by_hand, entry.hash);
    }

    #[test]
    fn a_respelled_v2_line_fails_its_hash() {
        let event = canonical(&json!({"kind": "release", "principal": "ana"}));
        let entry = new_entry(3, "2025-01-01T00:00:00Z", &genesis(), &event);
        let respelled = entry.line.trim_end().replacen("\"ana\"", "\"\\u0061na\"", 1);
        assert!(matches!(
            parse_line(respelled.as_bytes()),
            Err(LineFault::HashMismatch { seq: 3, .. })
        ));
    }

    #[test]
    fn versions_are_read_from_the_first_member() {
        assert_eq!(parse_line(br#"{"v":7,"seq":1}"#), Err(LineFault::UnknownVersion(7)));
        assert!(matches!(parse_line(br#"{"v":-1,"seq":1}"#), Err(LineFault::Malformed(_))));
        assert!(matches!(parse_line(br#"{"seq":1,"v":2}"#), Err(LineFault::Malformed(_))));
        assert!(matches!(parse_line(b"[1,2]"), Err(LineFault::Malformed(_))));
        assert!(matches!(parse_line(b"not json"), Err(LineFault::InvalidJson(_))));
    }

    #[test]
    fn a_version_1_line_still_parses() {
        // The first entry of a log written by the version-1 writer.
        let event = json!({"kind": "release", "principal": "ana", "details": {"z": 1}});
        let event_json = canonical(&event);
        let hashed = format!(
            "{{\"event\":{event_json},\"prev\":\"{GENESIS_PREV}\",\"seq\":1,\"time\":\"t\"}}"
        );
        let hash: Hash =
            Sha256::new().chain_update(DOMAIN_V1).chain_update(&hashed).finalize().into();
        let line = format!(
            "{{\"seq\":1,\"time\":\"t\",\"prev\":\"{GENESIS_PREV}\",\"event\":{event_json},\
             \"hash\":\"{}\"}}",
            hex::encode(hash)
        );
        assert_eq!(parse_line(line.as_bytes()).unwrap().hash, hash);
        let respelled = line.replacen("\"ana\"", "\"\\u0061na\"", 1);
        assert_eq!(
            parse_line(respelled.as_bytes()),
            Err(LineFault::Malformed("not in canonical form"))
        );
    }
}
