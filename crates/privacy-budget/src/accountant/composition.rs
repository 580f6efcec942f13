//! Composition theorems for mechanisms known only by their (ε, δ): basic, advanced (Dwork,
//! Rothblum, Vadhan 2010) and the optimal homogeneous composition of Kairouz, Oh, Viswanath
//! 2015, exact and in closed form.
//!
//! These apply to any mechanisms, adaptively chosen, with their parameters fixed in advance
//! (for parameters chosen adaptively, see [`crate::accountant::filter`]). All results are
//! upper bounds on the privacy of the composition under the neighbouring relation the parts
//! share.
//!
//! | function | result | reference |
//! |---|---|---|
//! | [`basic`] | (Σε_i, Σδ_i) | Dwork & Roth 2014, Theorem 3.16 |
//! | [`advanced`] | (ε√(2k ln(1/δ')) + kε(e^ε−1), kδ + δ') | Dwork, Rothblum, Vadhan 2010, Theorem III.3; Dwork & Roth 2014, Theorem 3.20 |
//! | [`advanced_heterogeneous`] | (√(2 ln(1/δ') Σε_i²) + Σε_i(e^(ε_i)−1), Σδ_i + δ') | Dwork & Roth 2014, Theorem 3.20, with ε_i (Kairouz et al. 2015, Theorem 3.5) |
//! | [`kairouz_closed_form`] | the minimum of three bounds | Kairouz, Oh, Viswanath 2015, Theorem 3.4 |
//! | [`optimal_homogeneous`] | the exact smallest ε | Kairouz, Oh, Viswanath 2015, Theorem 3.3 |
//!
//! The optimal composition of k (ε, δ)-DP mechanisms is that of k randomized responses
//! (Theorem 3.3): with δ*(ε') = Σ_ℓ C(k,ℓ) (e^((k−ℓ)ε) − e^(ε') e^(ℓε))₊ / (1 + e^ε)^k, the
//! composition is (ε', 1 − (1−δ)^k (1 − δ*(ε')))-DP and nothing smaller holds in general.
//! [`optimal_homogeneous`] solves that for ε' exactly (the curve is piecewise of the form
//! A − B·e^(ε')), with every sum in log space, so k in the millions is fine.

use crate::accountant::special::LogSum;
use crate::accountant::AccountantError;

/// Basic composition: (Σε_i, Σδ_i). Refuses a negative or non-finite part and δ ≥ 1.
pub fn basic(parts: &[(f64, f64)]) -> Result<(f64, f64), AccountantError> {
    let mut total = (0.0, 0.0);
    for &(epsilon, delta) in parts {
        check_part(epsilon, delta)?;
        total = (total.0 + epsilon, total.1 + delta);
    }
    Ok(total)
}

/// Advanced composition of `k` (ε, δ)-DP mechanisms with slack `delta_slack` = δ'.
pub fn advanced(
    epsilon: f64,
    delta: f64,
    k: u64,
    delta_slack: f64,
) -> Result<(f64, f64), AccountantError> {
    check_part(epsilon, delta)?;
    check_slack(delta_slack)?;
    let k = k as f64;
    let e = epsilon * (2.0 * k * (1.0 / delta_slack).ln()).sqrt() + k * epsilon * epsilon.exp_m1();
    Ok((e, k * delta + delta_slack))
}

/// Advanced composition of mechanisms with different (ε_i, δ_i), slack δ'.
pub fn advanced_heterogeneous(
    parts: &[(f64, f64)],
    delta_slack: f64,
) -> Result<(f64, f64), AccountantError> {
    check_slack(delta_slack)?;
    let (mut squares, mut drift, mut delta) = (0.0, 0.0, 0.0);
    for &(e, d) in parts {
        check_part(e, d)?;
        squares += e * e;
        drift += e * e.exp_m1();
        delta += d;
    }
    Ok(((2.0 * (1.0 / delta_slack).ln() * squares).sqrt() + drift, delta + delta_slack))
}

/// Kairouz, Oh, Viswanath 2015, Theorem 3.4: k (ε, δ)-DP mechanisms compose to
/// (ε̃, 1 − (1−δ)^k (1 − δ̃))-DP with ε̃ the smallest of kε,
/// kε(e^ε−1)/(e^ε+1) + ε√(2k ln(e + √(kε²)/δ̃)) and kε(e^ε−1)/(e^ε+1) + ε√(2k ln(1/δ̃)).
pub fn kairouz_closed_form(
    epsilon: f64,
    delta: f64,
    k: u64,
    delta_slack: f64,
) -> Result<(f64, f64), AccountantError> {
    check_part(epsilon, delta)?;
    check_slack(delta_slack)?;
    let kf = k as f64;
    let drift = kf * epsilon * epsilon.exp_m1() / (epsilon.exp() + 1.0);
    let first = epsilon
        * (2.0 * kf * (std::f64::consts::E + (kf * epsilon * epsilon).sqrt() / delta_slack).ln())
            .sqrt();
    let second = epsilon * (2.0 * kf * (1.0 / delta_slack).ln()).sqrt();
    let e = (kf * epsilon).min(drift + first).min(drift + second);
    Ok((e, total_delta(delta, k, delta_slack)))
}

/// The smallest ε' such that k (ε, δ)-DP mechanisms compose to (ε', `target_delta`)-DP,
/// exactly (Kairouz, Oh, Viswanath 2015, Theorem 3.3). Fails with
/// [`AccountantError::DeltaOutOfRange`] when `target_delta` < 1 − (1−δ)^k, which no ε' meets.
pub fn optimal_homogeneous(
    epsilon: f64,
    delta: f64,
    k: u64,
    target_delta: f64,
) -> Result<f64, AccountantError> {
    check_part(epsilon, delta)?;
    if !target_delta.is_finite() {
        return Err(AccountantError::NonFinite { name: "delta" });
    }
    if !(target_delta > 0.0 && target_delta < 1.0) {
        return Err(AccountantError::DeltaOutOfRange);
    }
    // 1 − (1−δ)^k (1 − δ*) ≤ target  ⟺  δ* ≤ 1 − (1 − target)/(1−δ)^k.
    let kf = k as f64;
    let ln_kept = kf * (-delta).ln_1p();
    let allowance = -((-target_delta).ln_1p() - ln_kept).exp_m1();
    if allowance <= 0.0 {
        return Err(AccountantError::DeltaOutOfRange);
    }
    if k == 0 || epsilon == 0.0 {
        return Ok(0.0);
    }
    Ok(randomized_response_epsilon(epsilon, k, allowance))
}

/// The smallest ε' with δ*(ε') ≤ `allowance` for k-fold randomized response at ε: losses
/// (k−2ℓ)ε with P-mass C(k,ℓ)e^((k−ℓ)ε)/(1+e^ε)^k and Q-mass C(k,ℓ)e^(ℓε)/(1+e^ε)^k.
fn randomized_response_epsilon(epsilon: f64, k: u64, allowance: f64) -> f64 {
    let ln_norm = k as f64 * epsilon.exp().ln_1p();
    let (mut p_above, mut q_above) = (LogSum::new(), LogSum::new());
    let mut ln_choose = 0.0_f64;
    // Walk the losses from the largest (ℓ = 0) down; between two losses δ* = A − e^(ε')·B.
    for l in 0..=k {
        let lf = l as f64;
        if l > 0 {
            ln_choose += ((k - l + 1) as f64 / lf).ln();
        }
        let loss = (k as f64 - 2.0 * lf) * epsilon;
        let (a, b) = (p_above.ln().exp(), q_above.ln().exp());
        // δ* at ε' = loss, from the losses strictly above it.
        if a - loss.exp() * b > allowance {
            return (((a - allowance) / b).ln()).max(0.0);
        }
        p_above.add(ln_choose + (k as f64 - lf) * epsilon - ln_norm);
        q_above.add(ln_choose + lf * epsilon - ln_norm);
    }
    let (a, b) = (p_above.ln().exp(), q_above.ln().exp());
    if a <= allowance {
        return 0.0;
    }
    ((a - allowance) / b).ln().max(0.0)
}

fn total_delta(delta: f64, k: u64, slack: f64) -> f64 {
    -((k as f64) * (-delta).ln_1p() + (-slack).ln_1p()).exp_m1()
}

fn check_part(epsilon: f64, delta: f64) -> Result<(), AccountantError> {
    if !epsilon.is_finite() {
        return Err(AccountantError::NonFinite { name: "epsilon" });
    }
    if epsilon < 0.0 {
        return Err(AccountantError::NonPositiveEpsilon);
    }
    if !delta.is_finite() {
        return Err(AccountantError::NonFinite { name: "delta" });
    }
    if !(0.0..1.0).contains(&delta) {
        return Err(AccountantError::DeltaOutOfRange);
    }
    Ok(())
}

fn check_slack(slack: f64) -> Result<(), AccountantError> {
    if !slack.is_finite() {
        return Err(AccountantError::NonFinite { name: "delta" });
    }
    if !(slack > 0.0 && slack < 1.0) {
        return Err(AccountantError::DeltaOutOfRange);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mechanism_composes_to_itself() {
        // k = 1: randomized response at ε has δ*(ε') = 0 exactly for ε' ≥ ε.
        assert!((optimal_homogeneous(0.7, 0.0, 1, 1e-9).unwrap() - 0.7).abs() < 1e-8);
        assert_eq!(basic(&[(0.5, 1e-6), (0.25, 0.0)]).unwrap(), (0.75, 1e-6));
    }
}
