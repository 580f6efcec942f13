//! Reading the events back out of a log, for reports.
//!
//! Reading is separate from verifying: a report first verifies the log (and says so at the top),
//! then reads every line that parses as an entry, whatever the state of the chain, so that a
//! damaged log can still be examined. Lines that are not entries are counted, not guessed at.
//!
//! [`for_each_entry`] streams: it holds one line at a time, so a report over a log of millions
//! of entries needs memory for its summaries, not for the log. [`read_entries`] collects every
//! entry and is meant for small logs and tests.

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
pub fn read_entries_from(reader: impl BufRead) -> Result<LoggedEntries, AuditError> {
    let mut entries = Vec::new();
    let unreadable = for_each_entry_from(reader, |entry| entries.push(entry))?;
    Ok(LoggedEntries { entries, unreadable })
}

/// Calls `f` with every entry of the log at `path`, in file order, holding one line at a time;
/// returns how many complete lines were not entries (an incomplete last line is not counted).
pub fn for_each_entry(
    path: impl AsRef<Path>,
    f: impl FnMut(LoggedEntry),
) -> Result<u64, AuditError> {
    let file = File::open(path.as_ref())?;
    crate::log::require_regular_file(&file)?;
    for_each_entry_from(BufReader::with_capacity(1 << 20, file), f)
}

/// [`for_each_entry`] over any reader.
pub fn for_each_entry_from(
    mut reader: impl BufRead,
    mut f: impl FnMut(LoggedEntry),
) -> Result<u64, AuditError> {
    #[derive(Deserialize)]
    struct Line {
        seq: u64,
        time: String,
        event: Value,
    }
    let mut unreadable = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read =
            Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(unreadable);
        }
        if read > MAX_LINE_BYTES {
            // An over-long line: count it and skip to its end, a bounded piece at a time.
            unreadable += 1;
            skip_line(&mut reader, &buf)?;
            continue;
        }
        let Some(content) = buf.strip_suffix(b"\n") else { return Ok(unreadable) };
        match serde_json::from_slice::<Line>(content) {
            Ok(line) if line.event.is_object() => {
                f(LoggedEntry { seq: line.seq, time: line.time, event: line.event })
            }
            _ => unreadable += 1,
        }
    }
}

/// Reads past the rest of a line whose first `MAX_LINE_BYTES + 1` bytes are in `head`.
fn skip_line(reader: &mut impl BufRead, head: &[u8]) -> Result<(), AuditError> {
    if head.ends_with(b"\n") {
        return Ok(());
    }
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = Read::take(&mut *reader, MAX_LINE_BYTES as u64).read_until(b'\n', &mut buf)?;
        if read == 0 || buf.ends_with(b"\n") {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    #[test]
    fn lines_that_are_not_entries_are_counted_and_a_torn_tail_is_left_out() {
        let long = format!("{{\"seq\":9,\"pad\":\"{}\"}}\n", "x".repeat(MAX_LINE_BYTES + 10));
        let text = format!(
            "{{\"seq\":1,\"time\":\"t\",\"event\":{{\"kind\":\"release\"}}}}\nnot json\n{long}\
             {{\"seq\":2,\"time\":\"t\",\"event\":{{\"kind\":\"refusal\"}}}}\n{{\"seq\":3"
        );
        let read = read_entries_from(text.as_bytes()).unwrap();
        let kinds: Vec<&str> = read.entries.iter().map(LoggedEntry::kind).collect();
        assert_eq!(kinds, ["release", "refusal"]);
        assert_eq!(read.unreadable, 2);
    }
}
