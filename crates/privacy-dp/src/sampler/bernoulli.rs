//! Exact Bernoulli samplers: `Bernoulli(p)` for a rational `p`, and `Bernoulli(exp(−γ))` for a
//! rational `γ ≥ 0` by Algorithm 1 of Canonne, Kamath and Steinke (2020).
//!
//! The second is the building block of both discrete noise samplers: it turns the exponential
//! weights of their laws into coin flips without evaluating `exp`, so no rounding enters.
//! Trade-off: it costs up to `e` uniform draws on average where `exp` would cost one multiply.

use num_bigint::BigUint;
use num_rational::Ratio;
use privacy_core::SecureRng;

use super::uniform::{bernoulli_ratio, Nat, PosNat, RandomBits};
use super::{split_ratio, SamplerError};

/// `true` with probability exactly `p`, for a rational `p ∈ [0, 1]`.
///
/// Draws `U` uniform in `[0, denom)` and returns `U < numer`, which has probability
/// `numer/denom`.
pub fn sample_bernoulli(p: &Ratio<BigUint>, rng: &mut SecureRng) -> Result<bool, SamplerError> {
    let (numer, denom) = split_ratio(p, "p")?;
    if &numer > denom.get() {
        return Err(SamplerError::invalid("p", "must be at most 1"));
    }
    Ok(bernoulli_ratio(&numer, &denom, &mut RandomBits::new(rng)))
}

/// `true` with probability exactly `exp(−γ)`, for a rational `γ ≥ 0`.
///
/// * **Precondition:** `γ` has a non-zero denominator (it is non-negative by its type).
/// * **Algorithm** (CKS 2020, Algorithm 1): for `γ ≤ 1`, von Neumann's method (module docs
///   of [`sampler`](super)). For `γ > 1`, draw up to `⌊γ⌋` values of
///   Bernoulli(exp(−1)), returning `false` at the first `false`, then return one draw of
///   Bernoulli(exp(−(γ − ⌊γ⌋))).
/// * **Postcondition:** `P(true) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)) = exp(−γ)`, the draws being
///   independent.
/// * **Cost:** fewer than `1/(1 − e⁻¹) + 1 ≈ 2.6` runs of the `γ ≤ 1` case on average, each of
///   at most `e` Bernoulli draws, whatever `γ`.
pub fn sample_bernoulli_exp(
    gamma: &Ratio<BigUint>,
    rng: &mut SecureRng,
) -> Result<bool, SamplerError> {
    let (numer, denom) = split_ratio(gamma, "gamma")?;
    Ok(bernoulli_exp(&numer, &denom, &mut RandomBits::new(rng)))
}

/// `true` with probability ½.
pub(crate) fn fair_coin(bits: &mut RandomBits<'_>) -> bool {
    bits.bit()
}

/// `true` with probability `exp(−numer/denom)`, for any `numer/denom ≥ 0`.
pub(crate) fn bernoulli_exp(numer: &Nat, denom: &PosNat, rng: &mut RandomBits<'_>) -> bool {
    if numer <= denom.get() {
        return bernoulli_exp_at_most_one(numer, denom, rng);
    }
    let (whole, fraction) = numer.div_rem(denom);
    let mut done = Nat::ZERO;
    while done < whole {
        if !bernoulli_exp_minus_one(rng) {
            return false;
        }
        done = done.add(&Nat::ONE);
    }
    // `fraction < denom`, so the precondition of the γ ≤ 1 case holds.
    bernoulli_exp_at_most_one(&fraction, denom, rng)
}

/// `true` with probability `exp(−1)`.
pub(crate) fn bernoulli_exp_minus_one(rng: &mut RandomBits<'_>) -> bool {
    bernoulli_exp_at_most_one(&Nat::ONE, &PosNat::ONE, rng)
}

/// `true` with probability `exp(−γ)` for `γ = numer/denom ∈ [0, 1]`.
///
/// * **Precondition:** `numer ≤ denom`, so that every `γ/k` below is a probability.
/// * **Algorithm** (von Neumann): draw `A₁, A₂, …` with `Aₖ ~ Bernoulli(γ/k)` until the first
///   `Aₖ = 0`; return whether that `K = k` is odd.
/// * **Postcondition:** `P(true) = exp(−γ)`.
/// * **Argument:** `P(K > k) = γᵏ/k!`, so
///   `P(K odd) = Σ_{k odd} (γ^{k−1}/(k−1)! − γᵏ/k!) = Σ_{j ≥ 0} (−γ)ʲ/j! = exp(−γ)`.
/// * **Cost:** `E[K] = Σ_{k ≥ 0} γᵏ/k! = exp(γ) ≤ e` Bernoulli draws.
pub(crate) fn bernoulli_exp_at_most_one(
    numer: &Nat,
    denom: &PosNat,
    rng: &mut RandomBits<'_>,
) -> bool {
    let mut k = PosNat::ONE;
    while bernoulli_ratio(numer, &denom.mul(&k), rng) {
        k = k.add(&Nat::ONE);
    }
    k.get().is_odd()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_bernoulli_fits, assert_counts_reject};

    const DRAWS: u64 = 200_000;

    fn ratio(numer: u64, denom: u64) -> Ratio<BigUint> {
        Ratio::new(BigUint::from(numer), BigUint::from(denom))
    }

    fn count_true(draws: u64, mut coin: impl FnMut() -> bool) -> u64 {
        (0..draws).filter(|_| coin()).count() as u64
    }

    #[test]
    fn bernoulli_matches_its_probability() {
        let mut rng = SecureRng::seeded_for_tests_only(10);
        for (n, d) in [(1, 3), (1, 2), (999, 1000)] {
            let p = ratio(n, d);
            let trues = count_true(DRAWS, || sample_bernoulli(&p, &mut rng).unwrap());
            assert_bernoulli_fits(trues, DRAWS, n as f64 / d as f64, &format!("p = {n}/{d}"));
        }
        for (p, always) in [(ratio(0, 1), false), (ratio(1, 1), true)] {
            assert!((0..1000).all(|_| sample_bernoulli(&p, &mut rng).unwrap() == always));
        }
    }

    #[test]
    fn bernoulli_exp_matches_exp_minus_gamma() {
        let mut rng = SecureRng::seeded_for_tests_only(11);
        let gamma_zero = ratio(0, 1);
        assert!((0..DRAWS).all(|_| sample_bernoulli_exp(&gamma_zero, &mut rng).unwrap()));
        for (n, d) in [(1, 2), (1, 1), (5, 2)] {
            let gamma = ratio(n, d);
            let p = (-(n as f64) / d as f64).exp();
            let trues = count_true(DRAWS, || sample_bernoulli_exp(&gamma, &mut rng).unwrap());
            let what = format!("exp(-{n}/{d})");
            assert_bernoulli_fits(trues, DRAWS, p, &what);
            // Power: a sampler of exp(−1.05·γ) would be caught.
            let wrong_p = (-1.05 * n as f64 / d as f64).exp();
            let wrong = [DRAWS as f64 * wrong_p, DRAWS as f64 * (1.0 - wrong_p)];
            assert_counts_reject(&[trues, DRAWS - trues], &wrong, &what);
        }
    }

    #[test]
    fn bernoulli_exp_of_a_huge_gamma_is_false_and_quick() {
        let mut rng = SecureRng::seeded_for_tests_only(12);
        // γ = 10⁴⁰ + 1/3: the outer loop must stop at its first `false`, not count to ⌊γ⌋.
        let numer = BigUint::from(10u32).pow(40) * 3u32 + 1u32;
        let gamma = Ratio::new(numer, BigUint::from(3u32));
        let trues = count_true(10_000, || sample_bernoulli_exp(&gamma, &mut rng).unwrap());
        assert_eq!(trues, 0);
    }

    #[test]
    fn invalid_probabilities_are_errors() {
        let mut rng = SecureRng::seeded_for_tests_only(13);
        let err = sample_bernoulli(&ratio(4, 3), &mut rng).unwrap_err();
        assert_eq!(err, SamplerError::InvalidParameter { name: "p", reason: "must be at most 1" });
        let zero_denom = Ratio::new_raw(BigUint::from(1u32), BigUint::from(0u32));
        let err = sample_bernoulli(&zero_denom, &mut rng).unwrap_err();
        assert_eq!(err.to_string(), "invalid p: denominator must be > 0");
        let err = sample_bernoulli_exp(&zero_denom, &mut rng).unwrap_err();
        assert_eq!(err.to_string(), "invalid gamma: denominator must be > 0");
    }
}
