//! Differential privacy mechanisms on the exact samplers of [`crate::sampler`].
//!
//! Every mechanism here states its guarantee, the neighbouring relation it is stated for, what
//! it assumes of its input, and the theorem it rests on; every one refuses a NaN, infinite, zero
//! or negative parameter with a typed [`MechanismError`] instead of running with it; and every
//! one draws its randomness from [`SecureRng`](privacy_core::SecureRng) through samplers whose
//! output law is exactly the one the proof is about (no floating-point sampling anywhere).
//!
//! | mechanism | guarantee | input | reference |
//! |---|---|---|---|
//! | [`ExponentialMechanism`] | ε-DP | utility scores of sensitivity Δ, optional integer base measure | McSherry & Talwar 2007; Dwork & Roth 2014, Thm 3.10 |
//! | [`ReportNoisyMax`] (permute-and-flip), top-k by peeling | ε-DP | scores of sensitivity Δ | McKenna & Sheldon 2020, Thm 1; Ding et al. 2021 |
//! | [`LaplaceMechanism`] | ε-DP | `f64` answer, L1 sensitivity Δ; power-of-two grid | Dwork et al. 2006; grid: module `laplace` |
//! | [`GeometricMechanism`] | ε-DP | integer answer, integer Δ | Ghosh, Roughgarden, Sundararajan 2009 |
//! | [`GaussianMechanism`] | (ε, δ)-DP (analytic or classic) or ρ-zCDP | `f64` answer, L2 sensitivity Δ | Balle & Wang 2018, Thm 8; CKS 2020, Thms 4 and 7; Dwork & Roth 2014, Thm A.1 |
//! | [`AboveThreshold`] (sparse vector) | ε-DP | integer queries of sensitivity Δ, cutoff c | Lyu, Su, Li 2017, Alg. 1 and Thm 2 |
//! | [`RandomizedResponse`] | ε-local DP | one category of k ≥ 2 | Warner 1965; Kairouz, Oh, Viswanath 2014 |
//!
//! The neighbouring relation is always the one under which the caller's sensitivity Δ holds
//! (add/remove or replace one patient, after the contribution bounds of the statistics that
//! feed the mechanism). A mechanism cannot check Δ: it is the caller's claim, derived from
//! declared bounds and never from the data.
//!
//! Parameters given as `f64` are converted to rationals **exactly** (every finite `f64` is a
//! dyadic rational), so the noise is calibrated to the value the caller wrote, not to a rounded
//! neighbour of it; the guarantee reported in fixed point ([`privacy_core::EpsilonAmount`]) is
//! rounded up, so it never understates the privacy lost.
//!
//! **Bounded time.** [`LaplaceMechanism::bounded_time`], [`GaussianMechanism::bounded_time`]
//! (for (ε, δ) calibrations) and [`RandomizedResponse::bounded_time`] draw with the
//! bounded-time samplers of [`crate::sampler`], whose running time does not depend on the noise;
//! their guarantee gains `(1 + e^ε)·η` of δ, `η < 10⁻³⁰` (`docs/proofs/bounded-time.md`). The
//! exponential mechanism, report-noisy-max and sparse vector have no such mode.
//!
//! Main trade-off: exactness over speed wherever the two conflict; the hot paths (the samplers)
//! are made fast in fixed-width integers instead of being made approximate.

mod exact;
mod exponential;
mod gaussian;
mod laplace;
mod randomized_response;
mod selection;
mod sparse_vector;

use privacy_core::{DeltaAmount, EpsilonAmount, PrivacyGuarantee};
use thiserror::Error;

use crate::sampler::SamplerError;

pub use exponential::ExponentialMechanism;
pub use gaussian::{GaussianCalibration, GaussianMechanism};
pub use laplace::{GeometricMechanism, LaplaceMechanism};
pub use randomized_response::RandomizedResponse;
pub use selection::ReportNoisyMax;
pub use sparse_vector::{AboveThreshold, SparseVector};

/// A failure of a mechanism: a refused parameter or input. Messages hold parameter names and
/// fixed reasons only, never a data value, so they may be written to an audit log.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechanismError {
    /// A privacy or noise parameter is NaN, infinite, zero, negative or otherwise out of range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Which parameter, e.g. `epsilon`.
        name: &'static str,
        /// Why it was refused, e.g. `must be finite and > 0`.
        reason: &'static str,
    },
    /// An input the mechanism reads (a score, a query answer) is NaN or infinite.
    #[error("{name} must be finite")]
    NonFiniteInput {
        /// Which input, e.g. `score`.
        name: &'static str,
    },
    /// A selection mechanism was given no candidate it could select.
    #[error("no candidate to select from: {0}")]
    NoCandidates(&'static str),
    /// Two inputs that must have the same length do not.
    #[error("{0} and {1} have different lengths")]
    LengthMismatch(&'static str, &'static str),
    /// A sparse vector session already gave its `c` positive answers.
    #[error("the sparse vector session is over: its cutoff of positive answers was reached")]
    Exhausted,
    /// A sampler refused its parameters or gave up in bounded-time mode.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
}

impl MechanismError {
    pub(crate) fn invalid(name: &'static str, reason: &'static str) -> Self {
        Self::InvalidParameter { name, reason }
    }
}

/// `value` if it is finite and > 0, else the typed refusal every mechanism gives.
pub(crate) fn positive_finite(name: &'static str, value: f64) -> Result<f64, MechanismError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(MechanismError::invalid(name, "must be finite and > 0"))
    }
}

/// The guarantee of a mechanism that is (ε, δ)-DP with exact noise (δ = 0 for pure ε-DP) when
/// its draws come from bounded-time samplers whose laws are within total variation `failure`
/// of the exact ones: (ε, δ + (1 + e^ε)·failure)-DP (`docs/proofs/bounded-time.md`), with ε and
/// both parts of δ rounded up to the fixed-point grid and added there (in `f64`, δ + 10⁻³⁰
/// would round back to δ).
pub(crate) fn bounded_time_guarantee(
    epsilon: f64,
    delta: f64,
    failure: f64,
) -> Result<PrivacyGuarantee, MechanismError> {
    let too_large = |name| MechanismError::invalid(name, "too large for bounded-time mode");
    let e = EpsilonAmount::from_f64_up(epsilon).map_err(|_| too_large("epsilon"))?;
    let base = DeltaAmount::from_f64_up(delta).map_err(|_| too_large("delta"))?;
    let extra = DeltaAmount::from_f64_up((1.0 + epsilon.exp()) * failure)
        .map_err(|_| too_large("epsilon"))?;
    let d = base.checked_add(extra).map_err(|_| too_large("delta"))?;
    PrivacyGuarantee::approximate(e, d).map_err(|_| too_large("delta"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_finite_refuses_nan_infinity_zero_and_negatives() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, -1.0, -f64::MIN_POSITIVE]
        {
            assert_eq!(
                positive_finite("epsilon", bad),
                Err(MechanismError::InvalidParameter {
                    name: "epsilon",
                    reason: "must be finite and > 0"
                })
            );
        }
        assert_eq!(positive_finite("epsilon", f64::MIN_POSITIVE), Ok(f64::MIN_POSITIVE));
    }
}
