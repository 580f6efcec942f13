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
    // ---- De-identification of direct identifiers (`safe_harbor`, `pseudonym`, …). ----
    /// A table could not be parsed (ragged rows, no header, not UTF-8, …).
    #[error("cannot read the table {path}: {reason}")]
    MalformedTable {
        /// The file.
        path: String,
        /// What is wrong (positions and counts, never cell contents).
        reason: String,
    },
    /// A table has two columns of the same name.
    #[error("the table has two columns named {0:?}")]
    DuplicateColumn(String),
    /// A key file is missing, malformed, too widely readable or would be overwritten.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The key file.
        path: String,
        /// What is wrong (never the key).
        reason: String,
    },
    /// The job asks for a keyed transform (pseudonyms, tokens, date shifting) without a key.
    #[error("column {column:?} needs a key for its rule `{rule}`; pass --key-file")]
    KeyRequired {
        /// The column.
        column: String,
        /// The rule.
        rule: String,
    },
    /// The restricted three-digit ZIP table is malformed.
    #[error("invalid ZIP3 table {path}: line {line}: {reason}")]
    InvalidZip3Table {
        /// The table's file (or `built-in`).
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A rule cannot be applied to a column's values (e.g. a value that is not a date under
    /// `shift`).
    #[error("column {column:?}: rule `{rule}`: {reason}")]
    RuleFailed {
        /// The column.
        column: String,
        /// The rule.
        rule: String,
        /// Why (counts and formats, never values).
        reason: String,
    },
    /// The scan of the de-identified output still found identifier kinds the profile was told
    /// to remove; nothing was written.
    #[error(
        "the output still contains identifiers it was told to remove ({0}); nothing was written"
    )]
    IdentifiersRemain(String),
    /// A token could not be decrypted with the key (wrong key, wrong domain or altered).
    #[error("a token of column {column:?} does not decrypt with this key and domain")]
    BadToken {
        /// The column.
        column: String,
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
            Self::MalformedTable { .. } => "malformed_table",
            Self::DuplicateColumn(_) => "duplicate_column",
            Self::KeyFile { .. } => "key_file",
            Self::KeyRequired { .. } => "key_required",
            Self::InvalidZip3Table { .. } => "invalid_zip3_table",
            Self::RuleFailed { .. } => "rule_failed",
            Self::IdentifiersRemain(_) => "identifiers_remain",
            Self::BadToken { .. } => "bad_token",
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
