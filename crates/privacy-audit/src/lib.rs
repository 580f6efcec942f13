//! A tamper-evident audit log of privacy releases — [`AuditLog`], the
//! [`privacy_core::AuditSink`] of medi-privacy — with its verifier, Merkle proofs, signed
//! checkpoints, and the compliance documents built from it.
//!
//! Every release, refusal, budget charge, anonymization run, key generation, protocol run and
//! federated round is appended as one line of JSON. Three mechanisms protect the record:
//!
//! 1. **A hash chain.** Each entry's hash covers the hash of the entry before it, so changing,
//!    removing or reordering an entry breaks the chain at that point, and [`verify_with`] names
//!    the line.
//! 2. **A Merkle tree** over the entries, exactly as Certificate Transparency builds it
//!    (RFC 6962 / RFC 9162, module [`merkle`]), so an auditor can check that one entry is in the
//!    log (an inclusion proof) and that a later log extends an earlier one (a consistency
//!    proof), each with `O(log n)` hashes and without reading the log.
//! 3. **Signed checkpoints** (Ed25519, module [`checkpoint`]): the writer periodically and on
//!    close signs the log's size, Merkle root and last hash. With the public key, a verifier
//!    detects a log rewritten from scratch (the roots differ) and entries removed from the end
//!    (the log is shorter than the signature says), which a bare hash chain cannot.
//!
//! # Format (version 2)
//!
//! The file is UTF-8 JSON lines. Line *n* (from 1) is one object with exactly these members, in
//! this order, with no whitespace:
//!
//! | member | content |
//! |---|---|
//! | `v` | 2, the format version |
//! | `seq` | *n*, the entry's sequence number |
//! | `time` | when it was appended, RFC 3339 in UTC (informative: not checked, clocks can step) |
//! | `prev` | the `hash` of entry *n* − 1; for entry 1, [`GENESIS_PREV`] (64 zeros) |
//! | `event` | the [`privacy_core::AuditEvent`], serialized with keys sorted |
//! | `hash` | lower-case hex `SHA-256("medi-privacy-audit-v2\n" ‖ L)`, where `L` is the line with its `,"hash":"…"` member removed |
//!
//! Merkle leaf *n* − 1 is `SHA-256(0x00 ‖ line n)` (without the newline). Logs written by the
//! first version (no `v` member, a hash over a canonical re-serialization) are still verified and
//! continued; see the `entry` module. Checkpoint files are described in [`checkpoint`], key files
//! in [`keys`].
//!
//! # What the log contains
//!
//! **Invariant:** the log holds only [`privacy_core::AuditEvent`]s — mechanism, guarantee,
//! parameters, principal, dataset name, outcome — and never a record, a data value, a noise
//! value, a secret, a share or a gradient. The crates that build events keep data out of them;
//! [`safeguard`] refuses, at the sink, events whose field names or shapes announce data or
//! secrets. Each recorded event is also emitted as a `tracing` event (target
//! `medi_privacy::audit`) with structured metadata fields; this library never installs a
//! subscriber.
//!
//! # Durability and concurrency
//!
//! [`AuditLog::append`] returns only after `fsync`, so a release is never reported before its
//! entry is on disk; concurrent appends are group-committed (one sync for everything queued,
//! see [`AuditLog`]), and [`AuditLog::append_batch`] writes many entries with one sync. Appends
//! hold an exclusive advisory lock on the file; under it the writer first verifies any lines
//! other processes appended, then extends the chain from the true last entry. A torn last line
//! (a crash mid-write) stops every writer and is reported by the verifier; it is never dropped
//! or repaired silently — [`AuditLog::recover`] moves it aside explicitly and records that it
//! did.
//!
//! # Compliance documents
//!
//! [`compliance`] turns the log, plus plain inputs the caller gathers (budget ledger snapshots,
//! job summaries, Safe Harbor findings, risk summaries, a project description), into a GDPR
//! Article 30 record, an Article 35 DPIA draft, an Expert Determination summary, and
//! [`report`] renders all of it as a self-contained HTML page and the same content as Markdown,
//! byte-for-byte deterministic for the same input.

pub mod checkpoint;
pub mod compliance;
mod entry;
mod error;
pub mod keys;
mod lock;
mod log;
pub mod merkle;
pub mod proof;
pub mod read;
pub mod report;
pub mod safeguard;
mod verify;

pub use checkpoint::{default_checkpoint_path, Checkpoint};
pub use entry::{CURRENT_VERSION, GENESIS_PREV};
pub use error::AuditError;
pub use keys::{AuditSigningKey, AuditVerifyingKey};
pub use log::{AppendReceipt, AuditLog, AuditLogOptions};
pub use verify::{
    verify, verify_bytes, verify_with, ChainProblem, CheckpointSummary, SignatureCheck,
    Verification, VerifyOptions, VerifyReport, MAX_LINE_BYTES,
};
