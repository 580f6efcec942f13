//! The error type of the audit log.
//!
//! One [`AuditError`] covers the file system, a broken chain (with the precise
//! [`ChainProblem`]), keys, refused events, proofs, compliance inputs and the writer's own
//! limits. Where the [`privacy_core::AuditSink`] trait needs a [`CoreError`], every variant
//! becomes [`CoreError::Audit`]: for the caller they all mean the same thing, that the event was
//! not recorded and the operation must not proceed.

use std::io;

use privacy_core::CoreError;
use thiserror::Error;

use crate::merkle::ProofError;
use crate::verify::ChainProblem;

/// A failure to read, verify or append to the audit log, or to build a report from it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading, writing, locking or syncing the file failed.
    #[error("audit log i/o error: {0}")]
    Io(#[from] io::Error),
    /// The log is not an intact chain; nothing was appended to it.
    #[error("audit log failed verification")]
    Chain(#[from] ChainProblem),
    /// The event could not be turned into JSON, or a JSON input could not be read.
    #[error("invalid JSON: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The current time could not be written as RFC 3339 (a clock outside years 0–9999).
    #[error("could not format the current time")]
    Clock,
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
    /// A key file is missing, unreadable, of the wrong kind, or would overwrite a file.
    #[error("audit key: {0}")]
    Key(&'static str),
    /// The event breaks a sink-side safeguard ([`crate::safeguard`]); nothing was written.
    #[error("audit event refused: field {field}: {rule}")]
    Forbidden {
        /// The path of the offending field (names only, never values).
        field: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A proof could not be made or does not hold.
    #[error("merkle proof: {0}")]
    Proof(#[from] ProofError),
    /// An option is out of range (an origin with control characters, a zero interval).
    #[error("invalid audit option: {0}")]
    InvalidOption(&'static str),
    /// A compliance input (project description, thresholds, findings) is invalid.
    #[error("invalid compliance input: {0}")]
    Compliance(String),
    /// A chart could not be drawn.
    #[error("could not draw a chart: {0}")]
    Chart(String),
}

impl AuditError {
    /// The same error again, for each caller of a group commit that shared one failed write.
    pub(crate) fn replicate(&self) -> Self {
        match self {
            Self::Io(e) => Self::Io(io::Error::new(e.kind(), e.to_string())),
            Self::Chain(problem) => Self::Chain(problem.clone()),
            Self::Serialize(e) => Self::Compliance(e.to_string()),
            Self::Clock => Self::Clock,
            Self::Shrunk { expected, found } => Self::Shrunk { expected: *expected, found: *found },
            Self::NotARegularFile => Self::NotARegularFile,
            Self::EntryTooLarge(n) => Self::EntryTooLarge(*n),
            Self::SequenceExhausted => Self::SequenceExhausted,
            Self::Key(what) => Self::Key(what),
            Self::Forbidden { field, rule } => Self::Forbidden { field: field.clone(), rule },
            Self::Proof(e) => Self::Proof(e.clone()),
            Self::InvalidOption(what) => Self::InvalidOption(what),
            Self::Compliance(what) => Self::Compliance(what.clone()),
            Self::Chart(what) => Self::Chart(what.clone()),
        }
    }
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
