//! Splitting a budget across a planned set of queries: equally, by weights, or so that every
//! query reaches the same fraction of its target accuracy.
//!
//! Every strategy returns exact fixed-point shares that add up to exactly the total, so k equal
//! shares allow exactly k charges and nothing is lost or invented by rounding: the units that
//! do not divide evenly are handed out one at a time (largest remainder first). The accuracy
//! strategy takes the error-versus-ε relation of each query as an [`ErrorModel`] argument, so
//! this crate does not depend on `privacy-dp` (whose noise calibrations supply it, e.g. the
//! 95% half-width of a Laplace count, 3/ε).

use privacy_core::{CoreError, DeltaAmount, EpsilonAmount, PrivacyCost};

use crate::error::BudgetError;

/// The expected error of a query answered with privacy parameter ε; must not increase with ε.
pub trait ErrorModel {
    /// The error at `epsilon` > 0 (e.g. a confidence half-width, in the query's units).
    fn error(&self, epsilon: f64) -> f64;
}

impl<F: Fn(f64) -> f64> ErrorModel for F {
    fn error(&self, epsilon: f64) -> f64 {
        self(epsilon)
    }
}

/// `k` shares of ε and δ that add up exactly to `total`.
pub fn split_equal(total: PrivacyCost, k: usize) -> Result<Vec<PrivacyCost>, BudgetError> {
    let epsilons = total.epsilon.split(k)?;
    let deltas = total.delta.split(k)?;
    Ok(epsilons
        .into_iter()
        .zip(deltas)
        .map(|(epsilon, delta)| PrivacyCost { epsilon, delta })
        .collect())
}

/// Shares proportional to positive integer `weights` (both ε and δ), adding up exactly.
pub fn split_weighted(
    total: PrivacyCost,
    weights: &[u64],
) -> Result<Vec<PrivacyCost>, BudgetError> {
    if weights.is_empty() || weights.contains(&0) {
        return Err(CoreError::invalid("weights", "need at least one weight, all > 0").into());
    }
    let as_f64: Vec<f64> = weights.iter().map(|&w| w as f64).collect();
    let epsilons = apportion(total.epsilon.units(), &as_f64);
    let deltas = apportion(total.delta.units(), &as_f64);
    Ok(epsilons
        .into_iter()
        .zip(deltas)
        .map(|(e, d)| PrivacyCost {
            epsilon: EpsilonAmount::from_units(e),
            delta: DeltaAmount::from_units(d),
        })
        .collect())
}

/// Shares of a budget split by target accuracy, and how well the targets are met.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AccuracyAllocation {
    /// One share per query; ε by accuracy, δ equally; they add up exactly to the total.
    pub shares: Vec<PrivacyCost>,
    /// The common ratio error/target every query reaches: ≤ 1 means every target is met.
    pub ratio: f64,
}

/// Splits `total.epsilon` so that each query i reaches error ≤ ratio × `targets[i]` with the
/// same ratio for all, as small as the total allows (δ is split equally). Each ε_i is the
/// smallest ε whose error meets its share of the ratio, found by bisection; the ratio is then
/// bisected until the ε_i add up to the total.
pub fn split_by_accuracy(
    total: PrivacyCost,
    queries: &[(&dyn ErrorModel, f64)],
) -> Result<AccuracyAllocation, BudgetError> {
    if queries.is_empty() {
        return Err(CoreError::invalid("queries", "need at least one query").into());
    }
    if queries.iter().any(|(_, t)| !(t.is_finite() && *t > 0.0)) {
        return Err(CoreError::invalid("target", "targets must be finite and > 0").into());
    }
    let budget = total.epsilon.to_f64();
    let needed = |ratio: f64| -> Vec<f64> {
        queries
            .iter()
            .map(|(model, target)| smallest_epsilon(*model, ratio * target, budget))
            .collect()
    };
    // The ratio is found on a log scale between 10⁻⁹ and 10⁹.
    let (mut lo, mut hi) = (-9.0 * std::f64::consts::LN_10, 9.0 * std::f64::consts::LN_10);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if needed(mid.exp()).iter().sum::<f64>() > budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let ratio = hi.exp();
    let weights = needed(ratio);
    if weights.iter().any(|w| !w.is_finite()) || weights.iter().sum::<f64>() <= 0.0 {
        return Err(CoreError::invalid(
            "error model",
            "errors must be finite and decrease with epsilon",
        )
        .into());
    }
    let epsilons = apportion(total.epsilon.units(), &weights);
    let deltas = total.delta.split(queries.len())?;
    let shares = epsilons
        .into_iter()
        .zip(deltas)
        .map(|(e, delta)| PrivacyCost { epsilon: EpsilonAmount::from_units(e), delta })
        .collect();
    Ok(AccuracyAllocation { shares, ratio })
}

/// The smallest ε in (0, `cap`] with `model.error(ε)` ≤ `target`, or `cap` when none is.
fn smallest_epsilon(model: &dyn ErrorModel, target: f64, cap: f64) -> f64 {
    if model.error(cap) > target {
        return cap;
    }
    let (mut fails, mut meets) = (0.0, cap);
    for _ in 0..100 {
        let mid = 0.5 * (fails + meets);
        if model.error(mid) <= target {
            meets = mid;
        } else {
            fails = mid;
        }
    }
    meets
}

/// Splits `total` units in proportion to `weights`: floors first, then the remaining units one
/// at a time to the largest fractional parts (ties to the earlier share). Exact: the result
/// adds up to `total`.
fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut shares: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    // Rounding in the floats may overshoot by a unit or two: take it back from the largest.
    while shares.iter().sum::<u64>() > total {
        if let Some(max) = shares.iter_mut().max() {
            *max -= 1;
        }
    }
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - shares[a] as f64, exact[b] - shares[b] as f64);
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let missing = total - shares.iter().sum::<u64>();
    for &i in order.iter().cycle().take(usize::try_from(missing).unwrap_or(usize::MAX)) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_shares_add_up_exactly() {
        let total = PrivacyCost {
            epsilon: EpsilonAmount::parse_decimal("1").unwrap(),
            delta: DeltaAmount::parse_decimal("1e-6").unwrap(),
        };
        let shares = split_weighted(total, &[1, 2, 3]).unwrap();
        let sum = shares.iter().try_fold(PrivacyCost::ZERO, |a, s| a.checked_add(*s)).unwrap();
        assert_eq!(sum, total);
        assert_eq!(shares[2].epsilon.to_string(), "0.5");
        assert!(split_weighted(total, &[1, 0]).is_err());
    }
}
