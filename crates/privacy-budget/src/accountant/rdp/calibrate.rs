//! Calibration: the smallest noise multiplier for which the sampled Gaussian meets an (ε, δ)
//! target, found by bisection on the accountant's own conversion.
//!
//! The answer is checked by construction rather than trusted: the bisection keeps a noise
//! multiplier that fails the target and one that meets it, and returns the one that meets it. It
//! rests on ε being non-increasing in σ, which holds order by order for the exact divergence and
//! so for the minimum over orders.

use super::{compose, Conversion, OrderGrid, RdpMechanism};
use crate::accountant::AccountantError;

/// Relative width of the final bracket.
const RELATIVE_TOLERANCE: f64 = 1e-6;

/// The search gives up below this noise multiplier.
const MIN_NOISE_MULTIPLIER: f64 = 1e-3;

/// The search gives up above this noise multiplier.
const MAX_NOISE_MULTIPLIER: f64 = 1e6;

/// The smallest noise multiplier σ, to a relative 10⁻⁶, such that `steps` runs of the
/// Poisson-sampled Gaussian at `sampling_rate` are (`target_epsilon`, `delta`)-DP under the
/// [`Conversion::BalleEtAl2020`] conversion over `orders`.
///
/// **Postcondition:** the returned σ meets the target, computed exactly as
/// [`super::RdpAccountant::epsilon`] computes it (the search only ever returns a σ it has seen
/// meet the target); a σ it has seen fail lies within a relative 10⁻⁶ below it, so by
/// monotonicity σ·(1 − 10⁻⁶) fails too.
///
/// Fails with [`AccountantError::CalibrationOutOfRange`] when no σ in [10⁻³, 10⁶] meets the
/// target, or when every σ does (`sampling_rate` = 0 or `steps` = 0: there is no smallest one).
pub fn calibrate_sampled_gaussian(
    orders: &OrderGrid,
    sampling_rate: f64,
    steps: u64,
    target_epsilon: f64,
    delta: f64,
) -> Result<f64, AccountantError> {
    if !target_epsilon.is_finite() {
        return Err(AccountantError::NonFinite { name: "target_epsilon" });
    }
    if target_epsilon <= 0.0 {
        return Err(AccountantError::NonPositiveEpsilon);
    }
    // Validates the sampling rate before any search starts.
    RdpMechanism::sampled_gaussian(1.0, sampling_rate)?;
    if sampling_rate == 0.0 || steps == 0 {
        return Err(AccountantError::CalibrationOutOfRange);
    }
    let meets = |sigma: f64| -> Result<bool, AccountantError> {
        let step = RdpMechanism::sampled_gaussian(sigma, sampling_rate)?.curve(orders)?;
        let total = compose(&step, steps);
        Ok(total.to_epsilon(delta, Conversion::BalleEtAl2020)?.epsilon <= target_epsilon)
    };
    let (failing, meeting) = bracket(&meets)?;
    bisect(&meets, failing, meeting, RELATIVE_TOLERANCE)
}

/// A pair (σ that fails, σ that meets), found by doubling or halving from 1.
pub(crate) fn bracket(
    meets: &impl Fn(f64) -> Result<bool, AccountantError>,
) -> Result<(f64, f64), AccountantError> {
    let (mut low, mut high) = (1.0, 1.0);
    if meets(1.0)? {
        while meets(low)? {
            high = low;
            low /= 2.0;
            if low < MIN_NOISE_MULTIPLIER {
                return Err(AccountantError::CalibrationOutOfRange);
            }
        }
    } else {
        while !meets(high)? {
            low = high;
            high *= 2.0;
            if high > MAX_NOISE_MULTIPLIER {
                return Err(AccountantError::CalibrationOutOfRange);
            }
        }
    }
    Ok((low, high))
}

/// Shrinks the bracket to a relative width of `tolerance`, keeping its invariant:
/// `meets(failing)` is false and `meets(meeting)` is true.
pub(crate) fn bisect(
    meets: &impl Fn(f64) -> Result<bool, AccountantError>,
    mut failing: f64,
    mut meeting: f64,
    tolerance: f64,
) -> Result<f64, AccountantError> {
    while meeting - failing > tolerance * meeting {
        let middle = 0.5 * (failing + meeting);
        if meets(middle)? {
            meeting = middle;
        } else {
            failing = middle;
        }
    }
    Ok(meeting)
}
