//! The seams of medi-privacy: guarantee types, the measurement abstraction, the one CSPRNG, and
//! the traits through which the budget ledger and the audit log are reached.
//!
//! Every other crate of the workspace depends on this one and on nothing above it, so the types
//! here are the vocabulary they share: a [`PrivacyCost`] is what a release spends, a
//! [`Measurement`] knows that cost before it draws any noise, a [`BudgetLedger`] reserves it and
//! an [`AuditSink`] records what happened.
//!
//! Main design decision: privacy amounts are **exact fixed-point integers** (ε and ρ in units
//! of 10⁻¹², δ in units of 10⁻¹⁸), not `f64`. Splitting, adding and comparing budgets is then
//! exact, so a budget of 0.3 allows a charge of 0.1 and one of 0.2 and nothing more, and a sum
//! of charges can never drift past the total through rounding. Conversions that produce
//! irrational values (square roots, logarithms) round **up** when they produce a cost and
//! **down** when they produce an allowance. The trade-off is a resolution limit (ε below 10⁻¹²
//! or δ below 10⁻¹⁸ cannot be expressed), far below any value used in practice.
//!
//! This crate does no I/O, uses no data-frame library and no big integers.

pub mod amount;
pub mod audit;
pub mod error;
pub mod guarantee;
pub mod ledger;
pub mod measurement;
pub mod rng;

pub use amount::{DeltaAmount, EpsilonAmount, RhoAmount};
pub use audit::{AuditEvent, AuditEventKind, AuditSink, NullAuditSink};
pub use error::CoreError;
pub use guarantee::{GuaranteeRecord, PrivacyCost, PrivacyGuarantee};
pub use ledger::{BudgetLedger, BudgetStatus, ChargeDetails, ChargeRequest, Reservation};
pub use measurement::{Measurement, NeighbouringRelation, Sensitivity};
pub use rng::SecureRng;
