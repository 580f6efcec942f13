//! Privacy accountants: tighter composition than the ledger's basic rule, computed before a
//! cost is charged.
//!
//! The ledger adds ε and δ across releases, which is always sound and often far too pessimistic
//! for many small noisy steps. An accountant takes the list of mechanisms a run will execute and
//! returns a single (ε, δ) for all of them, which can then be charged once. The first one is
//! [`rdp`], a Rényi-DP accountant; its inputs are `f64` parameters checked on entry, and its
//! failures are one [`AccountantError`].
//!
//! Main trade-off: accountants compute in `f64`, not in the exact fixed-point amounts of
//! `privacy-core`; they round up only at the boundary, when an ε becomes an
//! [`privacy_core::EpsilonAmount`].

pub mod composition;
mod error;
pub mod filter;
pub mod odometer;
pub mod pld;
pub mod rdp;
mod special;
pub mod zcdp;

pub use error::AccountantError;
