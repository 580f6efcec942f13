//! The one error type of `privacy-dp`.
//!
//! Every failure is typed so that callers (the CLI, a service) can decide what to show and what
//! to record. Messages name columns, parameters and positions, never a data value: the same text
//! may end up in an audit log. [`DpError::code`] gives a stable, value-free identifier for logs.

use thiserror::Error;

use privacy_core::CoreError;

use crate::mechanism::MechanismError;
use crate::query::QueryParseError;
use crate::sampler::SamplerError;

/// A failure while loading data, planning or running a private release.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DpError {
    /// A core contract failed: an invalid privacy parameter, a refused budget charge, an audit
    /// sink that could not write.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A noise sampler was given an invalid parameter.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// A mechanism refused a parameter or an input.
    #[error(transparent)]
    Mechanism(#[from] MechanismError),
    /// A query string does not parse.
    #[error(transparent)]
    Query(#[from] QueryParseError),
    /// The data file could not be opened or read.
    #[error("cannot read data file {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The data file is empty (no bytes, or no header).
    #[error("data file {0} is empty")]
    EmptyData(String),
    /// The data could not be parsed as CSV or Parquet.
    #[error("malformed data in {path}: {reason}")]
    MalformedData {
        /// The file.
        path: String,
        /// The parser's reason. Parser messages can quote cell contents, so this text is shown
        /// to the analyst who owns the file but is never written to an audit log.
        reason: String,
    },
    /// A query names a column the data does not have.
    #[error("unknown column {column:?}; the data has columns: {available}")]
    UnknownColumn {
        /// The column asked for.
        column: String,
        /// The columns that exist, comma-separated.
        available: String,
    },
    /// The data has two columns of the same name.
    #[error("the data has more than one column named {0:?}")]
    DuplicateColumn(String),
    /// A numeric query names a column that is not numeric.
    #[error("column {column:?} has type {dtype}, but {query} needs a numeric column")]
    NonNumericColumn {
        /// The column.
        column: String,
        /// Its data type.
        dtype: String,
        /// The query that needs a number.
        query: String,
    },
    /// A numeric column holds NaN or infinite values and the policy is to refuse them.
    #[error(
        "column {column:?} holds {count} NaN or infinite values; clean the data or choose the \
         `drop` policy for non-finite values"
    )]
    NonFiniteValues {
        /// The column.
        column: String,
        /// How many values are not finite.
        count: usize,
    },
    /// Declared clamping bounds are not usable.
    #[error("invalid bounds for {column:?}: {reason}")]
    InvalidBounds {
        /// The column.
        column: String,
        /// Why, e.g. `lower bound 10 is not below upper bound 5`.
        reason: String,
    },
    /// The per-query shares of a call do not fit the call's total budget.
    #[error("invalid budget split: {0}")]
    InvalidSplit(String),
    /// The privacy unit or contribution bound is unusable.
    #[error("invalid contribution bound: {0}")]
    InvalidContribution(String),
    /// A mechanism was asked for with parameters it cannot use.
    #[error("invalid mechanism choice: {0}")]
    InvalidMechanism(String),
}

impl DpError {
    /// A short, stable identifier of the failure that contains no data value, for audit logs
    /// and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Core(CoreError::BudgetExceeded { .. }) => "budget_exceeded",
            Self::Core(CoreError::UnknownDataset(_)) => "unknown_dataset",
            Self::Core(CoreError::InvalidParameter { .. }) => "invalid_parameter",
            Self::Core(CoreError::Audit(_)) => "audit_failure",
            Self::Core(CoreError::Ledger(_)) => "ledger_failure",
            Self::Core(_) => "core_failure",
            Self::Sampler(SamplerError::BoundedTimeFailure) => "bounded_time_failure",
            Self::Sampler(_) => "invalid_noise_parameter",
            Self::Mechanism(_) => "invalid_mechanism_input",
            Self::Query(_) => "query_parse_error",
            Self::Io { .. } => "unreadable_file",
            Self::EmptyData(_) => "empty_data",
            Self::MalformedData { .. } => "malformed_data",
            Self::UnknownColumn { .. } => "unknown_column",
            Self::DuplicateColumn(_) => "duplicate_column",
            Self::NonNumericColumn { .. } => "non_numeric_column",
            Self::NonFiniteValues { .. } => "non_finite_values",
            Self::InvalidBounds { .. } => "invalid_bounds",
            Self::InvalidSplit(_) => "invalid_budget_split",
            Self::InvalidContribution(_) => "invalid_contribution_bound",
            Self::InvalidMechanism(_) => "invalid_mechanism",
        }
    }

    /// A description that is safe to write to an audit log: the message for every variant
    /// whose text cannot hold a data value, and only the code otherwise.
    pub fn audit_reason(&self) -> String {
        match self {
            // A parser message may quote a cell; a count of NaNs is a fact about the data.
            Self::MalformedData { .. } | Self::DuplicateColumn(_) => self.code().to_owned(),
            // The header row could be a data row of a file without one.
            Self::UnknownColumn { column, .. } => format!("{}: {column:?}", self.code()),
            Self::NonFiniteValues { column, .. } => format!("{}: column {column:?}", self.code()),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_reasons_hold_no_data() {
        let malformed = DpError::MalformedData {
            path: "f.csv".into(),
            reason: "could not parse `Jane Doe` as i64".into(),
        };
        assert_eq!(malformed.audit_reason(), "malformed_data");
        let nan = DpError::NonFiniteValues { column: "age".into(), count: 1234 };
        assert!(!nan.audit_reason().contains("1234"), "{}", nan.audit_reason());
        assert!(nan.to_string().contains("1234"), "the analyst still sees the count");
        let unknown =
            DpError::UnknownColumn { column: "age".into(), available: "John Smith, 45".into() };
        assert!(!unknown.audit_reason().contains("John"), "{}", unknown.audit_reason());
    }
}
