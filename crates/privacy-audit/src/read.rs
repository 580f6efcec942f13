//! Reading the events back out of a log, for reports.
//!
//! Reading is separate from verifying: a report first verifies the log (and says so at the top),
//! then reads every line that parses as an entry, whatever the state of the chain, so that a
//! damaged log can still be examined. Lines that are not entries are counted, not guessed at.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AuditError;
use crate::verify::MAX_LINE_BYTES;

/// One entry as read back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedEntry {
    /// The sequence number.
    pub seq: u64,
    /// When it was appended (RFC 3339, informative).
    pub time: String,
    /// The event, as written.
    pub event: Value,
}

impl LoggedEntry {
    /// The event's kind (`release`, `refusal`, …), or `""`.
    pub fn kind(&self) -> &str {
        self.event.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// A top-level event field as text (`principal`, `dataset`).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.event.get(name).and_then(Value::as_str)
    }

    /// A detail, if present.
    pub fn detail(&self, name: &str) -> Option<&Value> {
        self.event.get("details").and_then(|d| d.get(name))
    }
}

/// Every entry of a log, in file order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoggedEntries {
    /// The entries that parsed.
    pub entries: Vec<LoggedEntry>,
    /// Complete lines that are not entries.
    pub unreadable: u64,
}

/// Reads every entry of the log at `path`.
pub fn read_entries(path: impl AsRef<Path>) -> Result<LoggedEntries, AuditError> {
    let file = File::open(path.as_ref())?;
    crate::log::require_regular_file(&file)?;
    read_entries_from(BufReader::with_capacity(1 << 20, file))
}

/// Reads every entry from `reader`.
pub fn read_entries_from(mut reader: impl BufRead) -> Result<LoggedEntries, AuditError> {
    #[derive(Deserialize)]
    struct Line {
        seq: u64,
        time: String,
        event: Value,
    }
    let mut out = LoggedEntries::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read =
            Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(out);
        }
        let Some(content) = buf.strip_suffix(b"\n") else { return Ok(out) };
        match serde_json::from_slice::<Line>(content) {
            Ok(line) if line.event.is_object() && read <= MAX_LINE_BYTES => {
                out.entries.push(LoggedEntry { seq: line.seq, time: line.time, event: line.event })
            }
            _ => out.unreadable += 1,
        }
    }
}
