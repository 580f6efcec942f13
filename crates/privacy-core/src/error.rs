//! The error type shared by every crate of the workspace for failures of the core contracts:
//! invalid privacy parameters, refused budget charges, audit sinks that cannot write.
//!
//! Crates with richer failure modes define their own `#[non_exhaustive]` enum and wrap this one.
//! Messages are lower-case, name the parameter at fault, and never contain data values.

use thiserror::Error;

/// A failure of one of the core contracts.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// A privacy parameter (ε, δ, ρ, a scale or a bound) is outside its valid range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Which parameter, e.g. `epsilon`.
        name: &'static str,
        /// Why it was refused, e.g. `must be finite and > 0`.
        reason: String,
    },
    /// Fixed-point arithmetic on privacy amounts would overflow.
    #[error("privacy amount overflow in {0}")]
    AmountOverflow(&'static str),
    /// The ledger refused a charge because it would exceed what is left.
    #[error(
        "budget exceeded for dataset {dataset:?}: requested {requested}, remaining {remaining}"
    )]
    BudgetExceeded {
        /// The dataset whose budget would be exceeded.
        dataset: String,
        /// The cost that was asked for, formatted as `ε=…, δ=…`.
        requested: String,
        /// What is left, formatted the same way.
        remaining: String,
    },
    /// The dataset has no budget in the ledger.
    #[error("dataset {0:?} has no privacy budget; create one with `medi-privacy budget init`")]
    UnknownDataset(String),
    /// The ledger's storage failed; the charge was not made.
    #[error("ledger storage error: {0}")]
    Ledger(String),
    /// The audit sink could not record an event; the operation it records must not proceed.
    #[error("audit log error: {0}")]
    Audit(String),
    /// The operating system's entropy source failed.
    #[error("operating system entropy source failed: {0}")]
    Entropy(String),
}

impl CoreError {
    /// Shorthand for [`CoreError::InvalidParameter`].
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter { name, reason: reason.into() }
    }
}
