//! medi-privacy: privacy-preserving analysis of patient data, one facade over the workspace's
//! crates.
//!
//! This crate holds no logic. It re-exports each crate behind a cargo feature of the same name
//! (all on by default), so a team can depend on `medi-privacy` alone, or on one crate:
//!
//! | module | crate | feature | what it holds |
//! |---|---|---|---|
//! | [`core`] | `privacy-core` | always | guarantees, measurements, the CSPRNG, ledger and audit traits |
//! | `dp` | `privacy-dp` | `dp` | exact samplers and mechanisms; private count, sum, mean, variance, quantiles, histograms and group-bys over data frames; error forecasts |
//! | `budget` | `privacy-budget` | `budget` | the durable SQLite budget ledger |
//! | `audit` | `privacy-audit` | `audit` | the hash-chained audit log and its verifier |
//! | `anon` | `privacy-anon` | `anon` | anonymization: k-anonymity and successors, lattice search, Mondrian, MDAV |
//! | `mpc` | `privacy-mpc` | `mpc` | Paillier, ElGamal, commitments and proofs, secret sharing, MPC protocols over TLS, PSI, record linkage |
//! | `fl` | `privacy-fl` | `fl` | federated learning (not yet implemented) |
//!
//! The one-call entry point of the main job is re-exported at the root:
//!
//! ```no_run
//! # fn main() -> Result<(), medi_privacy::dp::DpError> {
//! use medi_privacy::{analyze_with_privacy, dp::PatientData};
//!
//! let patients = PatientData::from_path("data/adult/adult.csv")?.with_bounds("age", 17.0, 90.0)?;
//! let stats = analyze_with_privacy(&patients, 1.0)?;
//! println!("{} patients, mean age {}", stats.count.value, stats.means[0].value);
//! # Ok(())
//! # }
//! ```

pub use privacy_core as core;

#[cfg(feature = "anon")]
pub use privacy_anon as anon;
#[cfg(feature = "audit")]
pub use privacy_audit as audit;
#[cfg(feature = "budget")]
pub use privacy_budget as budget;
#[cfg(feature = "dp")]
pub use privacy_dp as dp;
#[cfg(feature = "dp")]
pub use privacy_dp::{analyze_with_privacy, explain, PatientData, Statistics};
#[cfg(feature = "fl")]
pub use privacy_fl as fl;
#[cfg(feature = "mpc")]
pub use privacy_mpc as mpc;
