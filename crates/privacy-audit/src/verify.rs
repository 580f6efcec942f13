//! Walking the chain: [`verify`] a whole log, and the incremental walk the writer uses to
//! catch up with entries appended by another process.
//!
//! Each line is checked on its own first (form, then hash), then against its predecessor
//! (sequence number, then `prev`), and the first problem is reported with its line number. When
//! a sequence number jumps forward the rest of the file is scanned once for the missing number,
//! which tells a reordering (it appears later) from a removal (it does not). The walk streams
//! the file, holding one line at a time.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use crate::entry::{parse_line, peek_seq, LineFault, GENESIS_PREV};
use crate::error::AuditError;
use crate::lock::FileLock;

/// The first problem found in a log, located by its 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainProblem {
    /// The line is a well-formed entry whose hash does not match its content: a value in it was
    /// changed.
    #[error("line {line} (entry {seq}) was edited: its hash does not match its content")]
    Edited {
        /// The sequence number the line claims.
        seq: u64,
        /// The line.
        line: u64,
    },
    /// The line is a valid entry, but its sequence number skips ahead and the missing numbers
    /// appear nowhere later in the file: entries were removed before it.
    #[error(
        "entries are missing before line {line}: expected entry {expected_seq}, found {found_seq}"
    )]
    Removed {
        /// The sequence number that should have come next.
        expected_seq: u64,
        /// The sequence number found instead.
        found_seq: u64,
        /// The line.
        line: u64,
    },
    /// The line is a valid entry out of place: its sequence number goes backwards (a moved or
    /// duplicated entry), or skips ahead to one whose missing predecessor appears later.
    #[error("line {line} is out of order: expected entry {expected_seq}, found {found_seq}")]
    Reordered {
        /// The sequence number that should have come next.
        expected_seq: u64,
        /// The sequence number found instead.
        found_seq: u64,
        /// The line.
        line: u64,
    },
    /// The line is a valid entry with the expected sequence number, but its `prev` is not the
    /// hash of the line before it: the entry before was replaced by one with a recomputed hash.
    #[error("line {line} (entry {seq}) does not link to the entry before it")]
    BrokenLink {
        /// The sequence number of the line.
        seq: u64,
        /// The line.
        line: u64,
    },
    /// The last line has no trailing newline: a write was interrupted (or the file truncated).
    #[error("the last line ({line}) is incomplete")]
    TornTail {
        /// The line.
        line: u64,
    },
    /// The line is not an entry: invalid JSON, a missing or mistyped field, or a value written
    /// in other than the canonical form.
    #[error("line {line} is malformed: {reason}")]
    Malformed {
        /// The line.
        line: u64,
        /// What is wrong, without any of the line's content.
        reason: String,
    },
}

/// The result of verifying an intact log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[must_use]
pub struct VerifyReport {
    /// How many entries the log holds (the sequence number of the last one).
    pub entries: u64,
    /// The hash of the last entry, [`GENESIS_PREV`] for an empty log. Keeping it somewhere
    /// else is what detects the removal of entries from the end, which no chain can show.
    pub last_hash: String,
}

/// The longest line (entry) a log may hold, newline included: far above any real entry, and
/// a bound on the memory that reading a hostile file can take.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Verifies the whole log at `path`.
///
/// Returns the report of an intact log, or [`AuditError::Chain`] with the first
/// [`ChainProblem`]. Takes a shared lock on the file, so it never sees an append half-written.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
    let file = File::open(path.as_ref())?;
    crate::log::require_regular_file(&file)?;
    let _lock = FileLock::shared(&file)?;
    let walked = walk(BufReader::new(&file), Head::genesis())?;
    Ok(VerifyReport { entries: walked.head.seq, last_hash: walked.head.hash })
}

/// The last entry of a verified prefix of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// Its sequence number, which is also the number of lines before the next entry.
    pub(crate) seq: u64,
    /// Its hash.
    pub(crate) hash: String,
}

impl Head {
    pub(crate) fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS_PREV.to_owned() }
    }
}

/// Where a walk ended.
#[derive(Debug)]
pub(crate) struct Walked {
    pub(crate) head: Head,
    /// Bytes read, all of them in complete, verified lines.
    pub(crate) bytes: u64,
}

/// Verifies every line from `reader` as the continuation of the chain ending at `head`.
pub(crate) fn walk(mut reader: impl BufRead, mut head: Head) -> Result<Walked, AuditError> {
    let mut bytes = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // Bounded, so that a huge or endless file without newlines cannot exhaust memory.
        let read =
            Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(Walked { head, bytes });
        }
        // In an intact prefix line numbers and sequence numbers coincide.
        let line = head.seq.checked_add(1).ok_or(AuditError::SequenceExhausted)?;
        if read > MAX_LINE_BYTES {
            let reason = format!("line longer than {MAX_LINE_BYTES} bytes");
            return Err(ChainProblem::Malformed { line, reason }.into());
        }
        let Some(content) = buf.strip_suffix(b"\n") else {
            return Err(ChainProblem::TornTail { line }.into());
        };
        let entry = parse_line(content).map_err(|fault| located(fault, line))?;
        let expected_seq = line;
        if entry.seq == expected_seq && entry.prev != head.hash {
            return Err(ChainProblem::BrokenLink { seq: entry.seq, line }.into());
        }
        if entry.seq > expected_seq {
            let found_seq = entry.seq;
            return Err(if appears_later(&mut reader, expected_seq)? {
                ChainProblem::Reordered { expected_seq, found_seq, line }
            } else {
                ChainProblem::Removed { expected_seq, found_seq, line }
            }
            .into());
        }
        if entry.seq < expected_seq {
            let found_seq = entry.seq;
            return Err(ChainProblem::Reordered { expected_seq, found_seq, line }.into());
        }
        head = Head { seq: entry.seq, hash: entry.hash };
        bytes += read as u64;
    }
}

fn located(fault: LineFault, line: u64) -> ChainProblem {
    match fault {
        LineFault::HashMismatch { seq } => ChainProblem::Edited { seq, line },
        LineFault::Malformed(reason) => ChainProblem::Malformed { line, reason: reason.into() },
        LineFault::InvalidJson(detail) => {
            ChainProblem::Malformed { line, reason: format!("invalid JSON: {detail}") }
        }
    }
}

/// Whether any remaining line claims sequence number `seq`.
fn appears_later(reader: &mut impl BufRead, seq: u64) -> Result<bool, AuditError> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(false);
        }
        if peek_seq(buf.strip_suffix(b"\n").unwrap_or(&buf)) == Some(seq) {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use serde_json::json;

    use super::*;
    use crate::entry::Body;

    /// Lines of a valid chain of `n` entries, each with a recomputed hash.
    fn chain(n: u64, tamper_principal_of: Option<u64>) -> String {
        let mut prev = GENESIS_PREV.to_owned();
        let mut text = String::new();
        for seq in 1..=n {
            let who = if tamper_principal_of == Some(seq) { "mallory" } else { "ana" };
            let event = json!({"kind": "release", "principal": who, "details": {}});
            let body = Body::new(seq, "2025-01-01T00:00:00Z".into(), prev.clone(), &event);
            let hash = body.hash();
            text.push_str(&body.line(&hash));
            prev = hash;
        }
        text
    }

    #[test]
    fn a_valid_chain_walks_to_its_end() {
        let text = chain(3, None);
        let walked = walk(text.as_bytes(), Head::genesis()).unwrap();
        assert_eq!(walked.head.seq, 3);
        assert_eq!(walked.bytes, text.len() as u64);
    }

    #[test]
    fn a_replaced_entry_with_a_recomputed_hash_breaks_the_next_link() {
        let honest = chain(4, None);
        let forged = chain(4, Some(2));
        let mut lines: Vec<&str> = honest.lines().collect();
        lines[1] = forged.lines().nth(1).unwrap();
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let err = walk(text.as_bytes(), Head::genesis()).unwrap_err();
        assert!(matches!(err, AuditError::Chain(ChainProblem::BrokenLink { seq: 3, line: 3 })));
    }

    #[test]
    fn problems_serialize_with_a_tag() {
        let problem = ChainProblem::Removed { expected_seq: 2, found_seq: 3, line: 2 };
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(
            json,
            json!({"problem": "removed", "expected_seq": 2, "found_seq": 3, "line": 2})
        );
    }
}
