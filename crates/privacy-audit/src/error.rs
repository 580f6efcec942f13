//! The error type of the audit log.
//!
//! One [`AuditError`] covers the file system, a broken chain (with the precise
//! [`ChainProblem`]) and the writer's own limits. Where the [`privacy_core::AuditSink`] trait
//! needs a [`CoreError`], every variant becomes [`CoreError::Audit`]: for the caller they all
//! mean the same thing, that the event was not recorded and the operation must not proceed.

use std::io;

use privacy_core::CoreError;
use thiserror::Error;

use crate::verify::ChainProblem;

/// A failure to read, verify or append to the audit log.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading, writing, locking or syncing the file failed.
    #[error("audit log i/o error: {0}")]
    Io(#[from] io::Error),
    /// The log is not an intact chain; nothing was appended to it.
    #[error("audit log failed verification")]
    Chain(#[from] ChainProblem),
    /// The event could not be turned into JSON.
    #[error("could not serialize the audit event: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The current time could not be written as RFC 3339 (a clock outside years 0–9999).
    #[error("could not format the current time: {0}")]
    Clock(#[from] time::error::Format),
    /// The file became shorter than what this handle had already verified: entries at its end
    /// were removed while the log was open.
    #[error("audit log shrank from {expected} to {found} bytes while open")]
    Shrunk {
        /// The length this handle had verified.
        expected: u64,
        /// The length found.
        found: u64,
    },
    /// The path is not a regular file (a device, a pipe or a directory).
    #[error("the audit log must be a regular file")]
    NotARegularFile,
    /// The entry would be longer than [`crate::MAX_LINE_BYTES`]; nothing was written.
    #[error("audit entry of {0} bytes exceeds the line limit")]
    EntryTooLarge(usize),
    /// The sequence number reached `u64::MAX`.
    #[error("audit log sequence numbers are exhausted")]
    SequenceExhausted,
}

impl From<AuditError> for CoreError {
    fn from(err: AuditError) -> Self {
        // The chain problem is the error's source, not part of its message: keep it.
        match &err {
            AuditError::Chain(problem) => CoreError::Audit(format!("{err}: {problem}")),
            _ => CoreError::Audit(err.to_string()),
        }
    }
}
