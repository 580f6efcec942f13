//! Opening the ledger file: connection settings and the versioned schema (version 2: budget
//! hierarchy, running totals, mechanism and parameters on every charge, and the event journal).
//!
//! The schema version lives in SQLite's `PRAGMA user_version`, which is part of the database
//! header and so changes atomically with the tables it describes. A file whose version is newer
//! than this build's is refused rather than guessed at: an older binary that misread a newer
//! schema could under-count spending.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::BudgetError;

/// The schema version this build writes and reads.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// How long a connection waits for another writer before giving up. Reservations are short
/// transactions, so waiting this long means something is wrong, not that the ledger is busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Version 1. Amounts are integer units of `EpsilonAmount` (10⁻¹²) and `DeltaAmount` (10⁻¹⁸).
/// `AUTOINCREMENT` keeps charge identifiers unique for the life of the file, so an id quoted in
/// an audit entry never comes to name another charge. The `CHECK`s repeat the validation done in
/// Rust as a second line of defence against other writers.
const SCHEMA_V1: &str = "
CREATE TABLE budgets (
    dataset       TEXT PRIMARY KEY NOT NULL CHECK (length(dataset) > 0),
    epsilon_units INTEGER NOT NULL CHECK (epsilon_units > 0),
    delta_units   INTEGER NOT NULL
                  CHECK (delta_units >= 0 AND delta_units < 1000000000000000000),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE charges (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset       TEXT NOT NULL REFERENCES budgets (dataset),
    principal     TEXT NOT NULL,
    description   TEXT NOT NULL,
    epsilon_units INTEGER NOT NULL CHECK (epsilon_units >= 0),
    delta_units   INTEGER NOT NULL CHECK (delta_units >= 0),
    state         TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'cancelled')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX charges_by_dataset_state ON charges (dataset, state);

CREATE TABLE refusals (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset                 TEXT NOT NULL REFERENCES budgets (dataset),
    principal               TEXT NOT NULL,
    description             TEXT NOT NULL,
    epsilon_units           INTEGER NOT NULL CHECK (epsilon_units >= 0),
    delta_units             INTEGER NOT NULL CHECK (delta_units >= 0),
    remaining_epsilon_units INTEGER NOT NULL CHECK (remaining_epsilon_units >= 0),
    remaining_delta_units   INTEGER NOT NULL CHECK (remaining_delta_units >= 0),
    created_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX refusals_by_dataset ON refusals (dataset);
";

/// Version 2, applied on top of version 1 (a new file gets both, an old file only this):
/// - `budgets.parent` names the budget a child was allocated from (institution → project →
///   analyst); `spent_*` are running totals of the counted charges, kept in the same
///   transaction as every change, so a reservation reads one row instead of summing charges.
/// - `charges.kind` is `query` or `allocation` (budget handed to a child); `mechanism` and
///   `parameters` say what a charge paid for; refusals carry the same two.
/// - `events` is an append-only journal of every state change and refusal, with time,
///   principal, mechanism and parameters: what `budget history` prints.
const SCHEMA_V2: &str = "
ALTER TABLE budgets ADD COLUMN parent TEXT REFERENCES budgets (dataset);
ALTER TABLE budgets ADD COLUMN spent_epsilon_units INTEGER NOT NULL DEFAULT 0
    CHECK (spent_epsilon_units >= 0);
ALTER TABLE budgets ADD COLUMN spent_delta_units INTEGER NOT NULL DEFAULT 0
    CHECK (spent_delta_units >= 0);
ALTER TABLE charges ADD COLUMN kind TEXT NOT NULL DEFAULT 'query'
    CHECK (kind IN ('query', 'allocation'));
ALTER TABLE charges ADD COLUMN mechanism TEXT NOT NULL DEFAULT '';
ALTER TABLE charges ADD COLUMN parameters TEXT NOT NULL DEFAULT '';
ALTER TABLE refusals ADD COLUMN mechanism TEXT NOT NULL DEFAULT '';
ALTER TABLE refusals ADD COLUMN parameters TEXT NOT NULL DEFAULT '';

UPDATE budgets SET
    spent_epsilon_units = (SELECT coalesce(sum(epsilon_units), 0) FROM charges
        WHERE charges.dataset = budgets.dataset AND state IN ('reserved', 'committed')),
    spent_delta_units = (SELECT coalesce(sum(delta_units), 0) FROM charges
        WHERE charges.dataset = budgets.dataset AND state IN ('reserved', 'committed'));

CREATE INDEX budgets_by_parent ON budgets (parent);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset       TEXT NOT NULL REFERENCES budgets (dataset),
    action        TEXT NOT NULL CHECK (action IN
                  ('created', 'reserved', 'committed', 'cancelled', 'refused', 'allocated')),
    charge_id     INTEGER,
    principal     TEXT NOT NULL,
    mechanism     TEXT NOT NULL,
    parameters    TEXT NOT NULL,
    epsilon_units INTEGER NOT NULL CHECK (epsilon_units >= 0),
    delta_units   INTEGER NOT NULL CHECK (delta_units >= 0),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE INDEX events_by_dataset ON events (dataset, id);
";

/// Opens (creating if needed) the ledger file with the settings the ledger relies on, and
/// brings its schema to [`SCHEMA_VERSION`].
pub(crate) fn open_connection(path: &Path) -> Result<Connection, BudgetError> {
    let mut conn = Connection::open(path)?;
    // Set first, so that even the journal-mode switch below waits for other processes.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Correctness does not depend on WAL (BEGIN IMMEDIATE serializes writers in every
        // journal mode); only readers waiting on writers does.
        tracing::warn!(journal_mode = %mode, "ledger database could not switch to WAL mode");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Creates the schema in a new file, or checks the version of an existing one.
///
/// The check runs under the write lock, so two processes opening a new file at once cannot
/// both create the tables.
fn migrate(conn: &mut Connection) -> Result<(), BudgetError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match found {
        SCHEMA_VERSION => {}
        0 | 1 => {
            if found == 0 {
                // Plain CREATE TABLE (not IF NOT EXISTS): an unrelated SQLite file that happens
                // to have a `budgets` table fails here instead of being adopted.
                tx.execute_batch(SCHEMA_V1)?;
            }
            tx.execute_batch(SCHEMA_V2)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        newer if newer > SCHEMA_VERSION => {
            return Err(BudgetError::UnsupportedSchema { found, supported: SCHEMA_VERSION });
        }
        _ => return Err(BudgetError::Corrupt("negative schema version")),
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    #[test]
    fn a_new_file_gets_the_current_version_and_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join("ledger.db")).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!((version, mode.as_str()), (SCHEMA_VERSION, "wal"));
    }

    #[test]
    fn a_version_one_file_is_upgraded_with_its_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        conn.execute_batch(
            "INSERT INTO budgets (dataset, epsilon_units, delta_units) VALUES ('icu', 10, 0);
             INSERT INTO charges (dataset, principal, description, epsilon_units, delta_units,
                 state) VALUES ('icu', 'a', 'q', 3, 0, 'committed'), ('icu', 'a', 'q', 4, 0,
                 'cancelled'), ('icu', 'a', 'q', 2, 0, 'reserved');
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(conn);
        let conn = open_connection(&path).unwrap();
        let spent: i64 = conn
            .query_row("SELECT spent_epsilon_units FROM budgets WHERE dataset = 'icu'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(spent, 5);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        drop(open_connection(&path).unwrap());
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let err = open_connection(&path).unwrap_err();
        assert!(matches!(err, BudgetError::UnsupportedSchema { found: 99, supported: 2 }));
    }
}
