//! Exact Bernoulli samplers: `Bernoulli(p)` for a rational `p`, and `Bernoulli(exp(−γ))` for a
//! rational `γ ≥ 0` by Algorithm 1 of Canonne, Kamath and Steinke (2020); and the
//! bounded-time coin [`BoundedBernoulliExp`].
//!
//! The second is the building block of the discrete Gaussian: it turns the exponential weight
//! of its rejection step into coin flips without evaluating `exp`, so no rounding enters. The
//! integer part of γ is handled by flips of a precomputed `exp(−1)` coin
//! ([`super::lazy`]), 8 random bits each on average, and the fractional part by von Neumann's
//! method. Trade-off: a few coins per draw where a floating-point test would take one multiply.
//!
//! **Bounded time.** The exact coin reads a number of random bits that depends on its outcome
//! (the von Neumann loop, and comparisons decided at the first differing digit).
//! [`BoundedBernoulliExp`] reads exactly 127 bits per flip and compares them with rigorous
//! bounds on `exp(−γ)` computed when it is built: `u < lo` is `true`, `u ≥ hi` is `false`, and
//! in between (probability at most `4·2⁻¹²⁷`) the flip fails with a typed error. For
//! exponents that depend on the draw itself, as in the bounded-time discrete Gaussian, the
//! same comparison runs on bounds from the fixed-work evaluation of [`super::fixed`].

use num_bigint::BigUint;
use num_rational::Ratio;
use privacy_core::SecureRng;

use super::lazy::{exp_minus_one, Law, LazyProbability, COIN_BITS};
use super::uniform::{bernoulli_ratio, bernoulli_ratio_u128, Nat, PosNat, RandomBits};
use super::{split_ratio, SamplerError};

/// `true` with probability exactly `p`, for a rational `p ∈ [0, 1]`.
///
/// Compares a uniform real with `numer/denom` digit by digit (two random bits on average);
/// `P(true) = numer/denom`.
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
/// * **Algorithm** (CKS 2020, Algorithm 1, with the `exp(−1)` draws done by a precomputed
///   exact coin): for `γ ≤ 1`, von Neumann's method (module docs of
///   [`sampler`](super)). For `γ > 1`, draw up to `⌊γ⌋` values of Bernoulli(exp(−1)),
///   returning `false` at the first `false`, then return one draw of
///   Bernoulli(exp(−(γ − ⌊γ⌋))).
/// * **Postcondition:** `P(true) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)) = exp(−γ)`, the draws being
///   independent.
/// * **Cost:** fewer than `1/(1 − e⁻¹) ≈ 1.6` `exp(−1)` coins and at most `e` rational coins
///   on average, whatever `γ`.
pub fn sample_bernoulli_exp(
    gamma: &Ratio<BigUint>,
    rng: &mut SecureRng,
) -> Result<bool, SamplerError> {
    let (numer, denom) = split_ratio(gamma, "gamma")?;
    Ok(bernoulli_exp(&numer, &denom, &mut RandomBits::new(rng)))
}

/// `true` with probability `exp(−numer/denom)`, for any `numer/denom ≥ 0`.
pub(crate) fn bernoulli_exp(numer: &Nat, denom: &PosNat, bits: &mut RandomBits<'_>) -> bool {
    if numer <= denom.get() {
        return bernoulli_exp_at_most_one(numer, denom, bits);
    }
    let (whole, fraction) = numer.div_rem(denom);
    let mut done = Nat::ZERO;
    while done < whole {
        if !exp_minus_one().sample(bits) {
            return false;
        }
        done = done.add(&Nat::ONE);
    }
    // `fraction < denom`, so the precondition of the γ ≤ 1 case holds.
    bernoulli_exp_at_most_one(&fraction, denom, bits)
}

/// [`bernoulli_exp`] on `u128`s, for `0 < denom < 2¹²⁰`: the same algorithm, reading the same
/// random bits, without allocating.
#[inline]
pub(crate) fn bernoulli_exp_u128(numer: u128, denom: u128, bits: &mut RandomBits<'_>) -> bool {
    let (whole, fraction) =
        if numer <= denom { (0, numer) } else { (numer / denom, numer % denom) };
    for _ in 0..whole {
        if !exp_minus_one().sample(bits) {
            return false;
        }
    }
    // Von Neumann on γ = fraction/denom ≤ 1 (with γ = 1 when numer = denom).
    let mut k: u128 = 1;
    loop {
        let next = match denom.checked_mul(k).filter(|d| *d <= u128::MAX >> 1) {
            Some(d) => bernoulli_ratio_u128(fraction, d, bits),
            // k ≥ 128 (probability below 1/128!): continue on exact naturals.
            None => {
                let d = PosNat::new(Nat::from_u128(denom).mul(&Nat::from_u128(k)));
                d.is_some_and(|d| bernoulli_ratio(&Nat::from_u128(fraction), &d, bits))
            }
        };
        if !next {
            return k & 1 == 1;
        }
        k += 1;
    }
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
    bits: &mut RandomBits<'_>,
) -> bool {
    let mut k = PosNat::ONE;
    while bernoulli_ratio(numer, &denom.mul(&k), bits) {
        k = k.add(&Nat::ONE);
    }
    k.get().is_odd()
}

/// A `Bernoulli(exp(−γ))` coin for a fixed rational `γ ≥ 0` that reads exactly 127 random bits
/// per flip and does the same operations whatever it draws (module docs).
///
/// | Input | Valid range                              |
/// |-------|------------------------------------------|
/// | gamma | `Ratio<BigUint>`, `≥ 0`, denominator ≠ 0 |
///
/// A flip agrees with the exact coin fed the same bits except on a failure, of probability at
/// most [`failure_probability`](Self::failure_probability) (below 2⁻¹²⁵), independent of
/// anything but the random bits. A mechanism that is (ε, δ)-DP with exact coins is then
/// (ε, δ + (1 + e^ε)·k·η)-DP for `k` flips (`docs/proofs/bounded-time.md`).
#[derive(Clone, Debug)]
pub struct BoundedBernoulliExp {
    coin: LazyProbability,
}

impl BoundedBernoulliExp {
    /// The coin for `gamma`, its bounds computed now.
    pub fn new(gamma: &Ratio<BigUint>) -> Result<Self, SamplerError> {
        split_ratio(gamma, "gamma")?;
        Ok(Self { coin: LazyProbability::new(Law::ExpNeg(gamma.clone())) })
    }

    /// One flip: `Ok(true)` with probability `exp(−γ)` (up to the failure), or
    /// [`SamplerError::BoundedTimeFailure`].
    pub fn sample(&self, bits: &mut RandomBits<'_>) -> Result<bool, SamplerError> {
        let (outcome, failed) = self.coin.sample_bounded(bits);
        if failed {
            return Err(SamplerError::BoundedTimeFailure);
        }
        Ok(outcome)
    }

    /// An upper bound on the probability that one flip fails.
    pub fn failure_probability(&self) -> f64 {
        self.coin.failure_units() as f64 * 2f64.powi(-(COIN_BITS as i32)) * (1.0 + 1e-12)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_bernoulli_fits, assert_counts_reject};

    /// Draws per law: the chi-square test of a coin is the two-sided binomial test, which for
    /// a law on two points is also its Kolmogorov–Smirnov test.
    const DRAWS: u64 = 1_000_000;

    fn ratio(numer: u64, denom: u64) -> Ratio<BigUint> {
        Ratio::new(BigUint::from(numer), BigUint::from(denom))
    }

    fn count_true(draws: u64, mut coin: impl FnMut() -> bool) -> u64 {
        (0..draws).filter(|_| coin()).count() as u64
    }

    /// Fit to `p` and rejection of a law off by the relative `off`.
    fn check(trues: u64, p: f64, off: f64, what: &str) {
        assert_bernoulli_fits(trues, DRAWS, p, what);
        let n = DRAWS as f64;
        let wrong = p * (1.0 + off);
        assert_counts_reject(&[trues, DRAWS - trues], &[n * wrong, n * (1.0 - wrong)], what);
    }

    #[test]
    fn bernoulli_matches_its_probability() {
        let mut rng = SecureRng::seeded_for_tests_only(10);
        for (n, d) in [(1, 3), (1, 2), (999, 1000), (1, 1000)] {
            let p = ratio(n, d);
            let trues = count_true(DRAWS, || sample_bernoulli(&p, &mut rng).unwrap());
            let off = match (n, d) {
                (999, _) => -0.0005,
                (1, 1000) => 0.5,
                _ => 0.02,
            };
            check(trues, n as f64 / d as f64, off, &format!("p = {n}/{d}"));
        }
        for (p, always) in [(ratio(0, 1), false), (ratio(1, 1), true)] {
            assert!((0..1000).all(|_| sample_bernoulli(&p, &mut rng).unwrap() == always));
        }
    }

    #[test]
    fn bernoulli_exp_matches_exp_minus_gamma() {
        let mut rng = SecureRng::seeded_for_tests_only(11);
        let gamma_zero = ratio(0, 1);
        assert!((0..10_000).all(|_| sample_bernoulli_exp(&gamma_zero, &mut rng).unwrap()));
        for (n, d) in [(1, 2), (1, 1), (5, 2), (7, 1)] {
            let gamma = ratio(n, d);
            let p = (-(n as f64) / d as f64).exp();
            let trues = count_true(DRAWS, || sample_bernoulli_exp(&gamma, &mut rng).unwrap());
            // Power: a sampler of exp(−1.02·γ) (or 1.05·γ for the rare γ = 7) would be caught.
            let off = if n == 7 {
                (-0.05 * 7.0f64).exp() - 1.0
            } else {
                (-0.02 * n as f64 / d as f64).exp() - 1.0
            };
            check(trues, p, off, &format!("exp(-{n}/{d})"));
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
    fn bounded_bernoulli_exp_matches_exp_minus_gamma() {
        let mut rng = SecureRng::seeded_for_tests_only(14);
        let mut bits = RandomBits::new(&mut rng);
        for (n, d) in [(0u64, 1u64), (1, 2), (1, 1), (5, 2)] {
            let coin = BoundedBernoulliExp::new(&ratio(n, d)).unwrap();
            assert!(coin.failure_probability() < 1e-37, "{n}/{d}");
            let trues = count_true(DRAWS, || coin.sample(&mut bits).unwrap());
            let p = (-(n as f64) / d as f64).exp();
            if n == 0 {
                assert_eq!(trues, DRAWS);
                continue;
            }
            check(trues, p, (-0.02 * n as f64 / d as f64).exp() - 1.0, "bounded exp coin");
        }
        // Exactly 127 bits per flip: 64 flips are 127 words.
        let coin = BoundedBernoulliExp::new(&ratio(1, 3)).unwrap();
        let mut a = SecureRng::seeded_for_tests_only(15);
        let mut twin = SecureRng::seeded_for_tests_only(15);
        {
            let mut bits = RandomBits::new(&mut a);
            for _ in 0..64 {
                coin.sample(&mut bits).unwrap();
            }
        }
        for _ in 0..127 {
            rand_core::RngCore::next_u64(&mut twin);
        }
        assert_eq!(rand_core::RngCore::next_u64(&mut a), rand_core::RngCore::next_u64(&mut twin));
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
        let err = BoundedBernoulliExp::new(&zero_denom).unwrap_err();
        assert_eq!(err.to_string(), "invalid gamma: denominator must be > 0");
    }
}
