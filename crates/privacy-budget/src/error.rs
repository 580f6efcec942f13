//! The error type of the budget ledger.
//!
//! Every failure the ledger can report is one variant of [`BudgetError`], with typed payloads, so
//! a caller can tell a refused charge from a broken database without reading messages. Where a
//! [`privacy_core::BudgetLedger`] method must return [`CoreError`], the conversion keeps core
//! errors as they are and turns storage failures into [`CoreError::Ledger`].

use privacy_core::CoreError;
use thiserror::Error;

use crate::ledger::ChargeState;

/// A failure of the privacy-budget ledger.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// A core contract failed: an invalid parameter, a refused charge, an unknown dataset or an
    /// amount overflow.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// SQLite reported an error; no partial change was made (every write is one transaction).
    #[error("ledger database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL reported an error (connection, query or constraint); the transaction was
    /// rolled back, so no partial change was made.
    #[cfg(feature = "postgres")]
    #[error("ledger database error: {0}")]
    Postgres(#[from] postgres::Error),
    /// The ledger file was written by a newer version of medi-privacy.
    #[error(
        "ledger schema version {found} is newer than the supported version {supported}; \
         upgrade medi-privacy"
    )]
    UnsupportedSchema {
        /// The version recorded in the file (`PRAGMA user_version`).
        found: i64,
        /// The newest version this build understands.
        supported: i64,
    },
    /// `create_budget` was asked for a dataset that already has a budget.
    #[error("dataset {0:?} already has a privacy budget")]
    DatasetExists(String),
    /// No charge has this identifier.
    #[error("no charge with id {0}")]
    UnknownCharge(i64),
    /// The charge exists but is not reserved, so it can no longer be committed or cancelled.
    #[error("charge {id} is {state}, not reserved")]
    NotReserved {
        /// The charge's identifier.
        id: i64,
        /// Its current state.
        state: ChargeState,
    },
    /// A reservation's dataset or cost differs from the charge recorded under its identifier.
    #[error("reservation {0} does not match the ledger's record of that charge")]
    ReservationMismatch(i64),
    /// An amount is too large for the ledger's signed 64-bit integer columns.
    #[error("{0} amount is too large to store in the ledger")]
    AmountTooLarge(&'static str),
    /// The database holds a value no version of the ledger writes (negative amount, unknown
    /// state): the file was edited or damaged.
    #[error("ledger database is corrupt: {0}")]
    Corrupt(&'static str),
}

impl From<BudgetError> for CoreError {
    fn from(err: BudgetError) -> Self {
        match err {
            BudgetError::Core(core) => core,
            other => CoreError::Ledger(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_pass_through_and_storage_errors_become_ledger_errors() {
        let core = CoreError::UnknownDataset("icu".into());
        assert_eq!(CoreError::from(BudgetError::Core(core.clone())), core);
        let converted = CoreError::from(BudgetError::UnknownCharge(7));
        assert_eq!(converted, CoreError::Ledger("no charge with id 7".into()));
    }
}
