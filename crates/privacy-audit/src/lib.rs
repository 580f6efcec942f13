//! A tamper-evident audit log of privacy releases: [`AuditLog`], the
//! [`privacy_core::AuditSink`] of medi-privacy, and [`verify`], its checker.
//!
//! Every release, refusal and budget creation is appended as one line of JSON whose hash covers
//! the hash of the line before it. Changing, removing or reordering an entry therefore breaks
//! the chain at that point, and [`verify`] reports the first break as a typed [`ChainProblem`]
//! with its line number.
//!
//! # Format (version 1)
//!
//! The file is UTF-8 JSON lines. Line *n* (from 1) is one object with exactly these fields,
//! written in this order, with no whitespace:
//!
//! | field | content |
//! |---|---|
//! | `seq` | *n*, the entry's sequence number |
//! | `time` | when it was appended, RFC 3339 in UTC (informative: not checked, clocks can step) |
//! | `prev` | the `hash` of entry *n* − 1; for entry 1, [`GENESIS_PREV`] (64 zeros) |
//! | `event` | the [`privacy_core::AuditEvent`], serialized by serde |
//! | `hash` | lower-case hex SHA-256 of the entry without this field, as defined below |
//!
//! `hash = SHA-256("medi-privacy-audit-v1\n" ‖ C)`, where `C` is the canonical JSON of the object
//! `{seq, time, prev, event}`: object keys sorted by byte value at every depth, no whitespace,
//! strings escaped and numbers written as `serde_json` writes them. The line itself must be
//! canonical too (its nested objects sorted the same way), so every byte of it is checked:
//! either it changes the value and so the hash, or it changes the spelling and the line is no
//! longer canonical. A verifier parses each line, removes `hash`, recomputes it, and checks
//! `seq` and `prev` against the previous line. The canonical form is written by this crate
//! rather than inherited from `serde_json`'s map type, whose ordering depends on a cargo
//! feature.
//!
//! # What the log contains
//!
//! **Invariant:** the log holds only [`privacy_core::AuditEvent`]s — mechanism, guarantee,
//! parameters, principal, dataset name, outcome — and never a record, a data value, a noise
//! value or a secret. [`AuditLog::append`] serializes the event it is given and nothing else;
//! keeping data out of events is the duty of whoever builds them.
//!
//! # Durability and concurrency
//!
//! [`AuditLog::append`] returns only after `sync_data`, so a release is never reported before
//! its entry is on disk. Appends hold an exclusive advisory lock on the file; under it the
//! writer first verifies any lines other processes appended since it last looked, then extends
//! the chain from the true last entry. So several processes (or several handles) can share one
//! log and the chain stays valid.
//!
//! # What the chain does not show, and the trade-off
//!
//! The hash is unkeyed: it detects accidental damage and naive edits, but someone with write
//! access who recomputes every hash from the edited entry onwards produces a valid chain, and
//! removing entries from the end leaves a valid (shorter) chain. Both are caught by comparing
//! with a copy of [`VerifyReport::last_hash`] kept elsewhere (printed, mailed, or in another
//! system). A keyed MAC or signatures would close the first gap at the cost of key management;
//! this version chooses a format anyone can verify with standard tools and no secret.

mod entry;
mod error;
mod lock;
mod log;
mod verify;

pub use entry::GENESIS_PREV;
pub use error::AuditError;
pub use log::{AppendReceipt, AuditLog};
pub use verify::{verify, ChainProblem, VerifyReport, MAX_LINE_BYTES};
