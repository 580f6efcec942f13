//! The error type of the privacy accountants.
//!
//! Accountants work in `f64` on parameters handed in by callers, so every public entry point
//! checks its inputs first and reports the first one at fault as one variant of
//! [`AccountantError`]. A caller can tell a bad parameter from a numerical failure without
//! reading messages. Messages name the parameter and never carry its value.

use thiserror::Error;

/// A refused accountant input, or a computation that could not produce a safe bound.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum AccountantError {
    /// An input is NaN or infinite.
    #[error("{name} must be finite")]
    NonFinite {
        /// Which input, e.g. `noise_multiplier`.
        name: &'static str,
    },
    /// A noise parameter (Gaussian noise multiplier, Laplace scale) is zero or negative.
    #[error("{name} must be > 0")]
    NonPositiveNoise {
        /// Which input, e.g. `noise_multiplier`.
        name: &'static str,
    },
    /// A sampling rate is outside [0, 1].
    #[error("sampling rate must be in [0, 1]")]
    SamplingRateOutOfRange,
    /// A randomized-response probability is outside (0, 1); at 0 or 1 the answer is the truth
    /// (or its negation) and there is no privacy to account for.
    #[error("randomized-response truth probability must be in (0, 1)")]
    ProbabilityOutOfRange,
    /// δ is outside (0, 1). δ = 0 cannot be reached from a Rényi bound.
    #[error("delta must be in (0, 1)")]
    DeltaOutOfRange,
    /// A target ε for calibration is zero or negative.
    #[error("target epsilon must be > 0")]
    NonPositiveEpsilon,
    /// An order grid is empty, or holds an order that is not finite or not above 1.
    #[error("rényi orders must be finite and > 1, and at least one is needed")]
    InvalidOrders,
    /// Two curves over different order grids were combined.
    #[error("rényi curves over different order grids cannot be combined")]
    OrderMismatch,
    /// A series did not converge, or cancelled to a non-positive value; no bound is returned
    /// rather than a wrong one.
    #[error("rényi divergence series did not converge")]
    NotConverged,
    /// Subsampling was asked of a mechanism that is already subsampled.
    #[error("a subsampled mechanism cannot be subsampled again")]
    UnsupportedSubsampling,
    /// The PLD grid would need more points than [`crate::accountant::pld::MAX_GRID_POINTS`]
    /// (a tiny noise multiplier, or a huge composition); use a coarser discretization.
    #[error("the privacy-loss grid is too large; use a coarser discretization")]
    GridTooLarge,
    /// A PLD grid step outside (0, 1], or a tail mass outside (0, 10⁻⁶].
    #[error("pld discretization must be in (0, 1] and its tail mass in (0, 1e-6]")]
    InvalidDiscretization,
    /// Calibration found no noise multiplier in its search range that meets the target, or
    /// none is needed (nothing is sampled, or there are no steps).
    #[error("no noise multiplier in the search range meets the target")]
    CalibrationOutOfRange,
}
