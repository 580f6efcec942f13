//! The one error type of `privacy-anon`.
//!
//! Every failure is typed so that the CLI can say what went wrong and an audit log can record
//! it. Some messages must name a data value to be useful to the data owner (a hierarchy that
//! lacks a value present in the data names that value, as the issue asks); those variants are
//! listed in [`AnonError::audit_reason`], which gives a value-free text for audit logs.

use thiserror::Error;

use privacy_core::CoreError;
use privacy_dp::DpError;

/// A failure while reading a job, building hierarchies, searching or writing the result.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AnonError {
    /// A core contract failed, e.g. the audit sink could not record the run.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Reading the data or population table failed.
    #[error(transparent)]
    Data(#[from] DpError),
    /// A file could not be read or written.
    #[error("cannot access {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The job file is not valid TOML or does not follow the job schema.
    #[error("invalid job file {path}: {reason}")]
    InvalidJob {
        /// The job file.
        path: String,
        /// The parser's reason (it names keys and positions, never data values).
        reason: String,
    },
    /// The job names a column the data does not have.
    #[error("unknown column {0:?}")]
    UnknownColumn(String),
    /// A generalization hierarchy is malformed (ragged rows, a value with two parents, …).
    #[error("invalid hierarchy for column {column:?}: {reason}")]
    InvalidHierarchy {
        /// The column the hierarchy belongs to.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// A value present in the data is not a leaf of the column's hierarchy.
    #[error("the hierarchy of column {column:?} has no entry for the value {value:?} in the data")]
    ValueNotInHierarchy {
        /// The column.
        column: String,
        /// The value that is missing from the hierarchy (shown to the data owner only).
        value: String,
    },
    /// A column holds missing values and its policy is to refuse them.
    #[error(
        "column {column:?} has {count} missing values and its missing-value policy is `refuse`; \
         choose `own-category` or `matches-anything`, or clean the data"
    )]
    MissingValues {
        /// The column.
        column: String,
        /// How many values are missing.
        count: usize,
    },
    /// A privacy model's parameters are unusable.
    #[error("invalid privacy model {model}: {reason}")]
    InvalidModel {
        /// The model, e.g. `t-closeness`.
        model: String,
        /// Why.
        reason: String,
    },
    /// A job parameter (limit, metric, method) is unusable.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// Why.
        reason: String,
    },
    /// No transformation satisfies the privacy models within the suppression limit.
    #[error(
        "no transformation satisfies the privacy models within the suppression limit of {limit} \
         records ({searched} nodes searched)"
    )]
    NoSolution {
        /// The largest number of records that could be suppressed.
        limit: u64,
        /// How many lattice nodes were evaluated.
        searched: u64,
    },
    /// The generalization lattice is too large for the optimal search.
    #[error(
        "the generalization lattice has {nodes} nodes, more than the optimal search handles \
         ({max}); use the heuristic search"
    )]
    LatticeTooLarge {
        /// The lattice size (saturated at `u64::MAX`).
        nodes: u64,
        /// The largest lattice the optimal search accepts.
        max: u64,
    },
    /// The independent re-check of the output found a model violated; nothing was written.
    #[error("the independent verification found {0} violated on the output; nothing was written")]
    VerificationFailed(String),
    /// Writing the output table failed.
    #[error("cannot write the output table {path}: {reason}")]
    Output {
        /// The output file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl AnonError {
    /// A short, stable identifier of the failure, free of data values.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Core(_) => "core_failure",
            Self::Data(e) => e.code(),
            Self::Io { .. } => "unreadable_file",
            Self::InvalidJob { .. } => "invalid_job",
            Self::UnknownColumn(_) => "unknown_column",
            Self::InvalidHierarchy { .. } => "invalid_hierarchy",
            Self::ValueNotInHierarchy { .. } => "value_not_in_hierarchy",
            Self::MissingValues { .. } => "missing_values",
            Self::InvalidModel { .. } => "invalid_model",
            Self::InvalidParameter { .. } => "invalid_parameter",
            Self::NoSolution { .. } => "no_solution",
            Self::LatticeTooLarge { .. } => "lattice_too_large",
            Self::VerificationFailed(_) => "verification_failed",
            Self::Output { .. } => "output_failure",
        }
    }

    /// A description that is safe for an audit log: it never contains a data value.
    pub fn audit_reason(&self) -> String {
        match self {
            Self::ValueNotInHierarchy { column, .. } => format!("{}: {column:?}", self.code()),
            // A hierarchy's reason may quote one of its labels, i.e. a possible data value.
            Self::InvalidHierarchy { column, .. } => format!("{}: {column:?}", self.code()),
            Self::MissingValues { column, .. } => format!("{}: {column:?}", self.code()),
            Self::Data(e) => e.audit_reason(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_reasons_hold_no_values() {
        let e = AnonError::ValueNotInHierarchy { column: "zip".into(), value: "02138".into() };
        assert!(e.to_string().contains("02138"), "the data owner sees the value");
        assert!(!e.audit_reason().contains("02138"), "{}", e.audit_reason());
        let e = AnonError::MissingValues { column: "age".into(), count: 17 };
        assert!(!e.audit_reason().contains("17"));
        assert_eq!(e.code(), "missing_values");
    }
}
