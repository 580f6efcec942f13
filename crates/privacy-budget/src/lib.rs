//! Privacy accountants and a durable privacy-budget ledger: [`SqliteLedger`] (one SQLite file)
//! and, behind the `postgres` feature, `PostgresLedger`, both [`BudgetStore`]s implementing
//! [`privacy_core::BudgetLedger`].
//!
//! Each dataset (or project, or analyst) has a total (ε, δ) budget. Every release charges its
//! cost against that budget under basic composition (ε and δ add up), and the ledger refuses
//! any charge that would take the sum past the total in either coordinate. Budgets form a
//! hierarchy: [`BudgetStore::allocate`] hands part of a budget to child budgets, charging the
//! parent, so no child can spend more than its parent had left. Every change is journaled with
//! time, principal, mechanism and parameters ([`BudgetStore::history`]), and can be reported to
//! a [`privacy_core::AuditSink`].
//!
//! Tighter composition comes from the accountants in [`accountant`]: composition theorems,
//! zCDP, Rényi DP ([`RdpAccountant`]) and the privacy-loss-distribution accountant
//! ([`PldAccountant`], the tightest), which turn a planned run (DP-SGD above all) into one
//! (ε, δ) to charge once; filters and odometers for parameters chosen adaptively; and
//! [`allocation`] strategies for splitting a budget across planned queries.
//!
//! # The protocol: reserve before release
//!
//! 1. [`SqliteLedger::reserve`] grants the cost (or refuses it, recording the refusal) before
//!    any noise is drawn. From that moment the cost counts as spent.
//! 2. The caller draws the noise and releases.
//! 3. [`SqliteLedger::commit`] marks the charge as released; it stays counted.
//!
//! [`SqliteLedger::cancel`] returns a reservation's cost, and is only for the case where no
//! noise was drawn at all. A crash between steps 1 and 3 leaves the charge *reserved*, and so
//! counted: an answer can be lost, but the budget is never under-charged. Charges left reserved
//! are visible in [`SqliteLedger::charges`], and an operator may cancel one only after
//! establishing that nothing was released.
//!
//! # Why SQLite
//!
//! The ledger must be durable (a granted charge survives a crash or power loss), transactional
//! (a check-then-charge is atomic), and shared by several processes on one machine (CLI runs,
//! services) without a server to operate. SQLite gives all three in a single file: the
//! connection runs with `synchronous = FULL`, so a charge is on disk once `reserve` returns, and
//! with write-ahead logging, so readers do not block the writer. Amounts are stored as integer
//! units of [`privacy_core::EpsilonAmount`] and [`privacy_core::DeltaAmount`], so sums are exact.
//!
//! # Why concurrent reservations cannot overspend
//!
//! **Invariant:** for every dataset, the sum of reserved and committed charges never exceeds
//! the total, in ε or in δ.
//!
//! A reservation is one `BEGIN IMMEDIATE` transaction: it takes the database's write lock
//! *before* it reads the total and the charges, and holds it until the new charge is written and
//! committed. Two reservations — from two threads or two processes, each with its own
//! connection — therefore cannot both read the same "spent" sum: the second waits (up to the
//! busy timeout) for the first to commit and then reads a sum that includes the first charge.
//! The reservations are serializable, and each one checks the invariant on the state it
//! extends. A deferred transaction would not do: two readers could both see room for one more
//! charge before either wrote.
//!
//! # Trade-off
//!
//! One file means one writer at a time: reservations on all datasets of a ledger file are
//! serialized, and a second process waits for the first. Reservations are short (a few
//! milliseconds with `fsync`), so this costs nothing noticeable next to a release, and in return
//! the argument above needs no reasoning about isolation levels. The ledger is local: processes
//! on different machines need a file system with working locks, which many network file systems
//! lack, so the ledger file belongs on a local disk.

pub mod accountant;
pub mod allocation;
mod error;
mod ledger;
mod schema;

pub use accountant::pld::{PldAccountant, PldMechanism};
pub use accountant::rdp::{AccountantError, RdpAccountant, RdpMechanism};
pub use error::BudgetError;
#[cfg(feature = "postgres")]
pub use ledger::postgres::PostgresLedger;
pub use ledger::sqlite::SqliteLedger;
pub use ledger::{
    BudgetInfo, BudgetStore, ChargeRecord, ChargeState, HistoryEntry, RefusalRecord,
    MAX_DATASET_NAME_CHARS,
};
