//! The exact discrete Laplace sampler: `P(x) = (1 − q)/(1 + q) · q^|x|` on ℤ with
//! `q = exp(−1/t)` for a rational scale `t > 0`, by Algorithm 2 of Canonne, Kamath and
//! Steinke (2020).
//!
//! Adding this noise to an integer query of sensitivity Δ gives pure (Δ/t)-DP; that guarantee
//! is stated by the mechanisms built on this sampler, not here. The law is the discrete
//! analogue of the Laplace law and needs no rounding, so its privacy proof applies to the
//! samples exactly. Trade-off: an expected constant number of rounds, each of a few uniform
//! draws, where a floating-point sampler takes one draw and a logarithm.

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use privacy_core::SecureRng;

use super::bernoulli::{bernoulli_exp_at_most_one, bernoulli_exp_minus_one, fair_coin};
use super::bounded::BoundedDiscreteLaplace;
use super::uniform::{uniform_below, Nat, PosNat, RandomBits};
use super::{split_ratio, SamplerError};

/// A discrete Laplace sampler with a fixed rational scale.
///
/// | Input  | Valid range                               |
/// |--------|-------------------------------------------|
/// | scale  | `Ratio<BigUint>`, `> 0`, denominator ≠ 0  |
///
/// Built once per scale; [`sample`](Self::sample) then does not fail.
#[derive(Clone, Debug)]
pub struct DiscreteLaplace {
    scale: Ratio<BigUint>,
    /// `t` of the scale `t/s`, as given (the ratio need not be reduced).
    numer: PosNat,
    /// `s` of the scale `t/s`.
    denom: PosNat,
}

impl DiscreteLaplace {
    /// A sampler for scale `scale`, refused if the scale is zero or has a zero denominator.
    pub fn new(scale: Ratio<BigUint>) -> Result<Self, SamplerError> {
        let (numer, denom) = split_ratio(&scale, "scale")?;
        let numer = PosNat::new(numer).ok_or(SamplerError::invalid("scale", "must be > 0"))?;
        Ok(Self { scale, numer, denom })
    }

    /// The scale `t` of the law `P(x) ∝ exp(−|x|/t)`.
    pub fn scale(&self) -> &Ratio<BigUint> {
        &self.scale
    }

    /// One sample. It does not fail today; the `Result` leaves room for a bounded-time mode
    /// that gives up after a fixed number of rounds (see the `FIXME` in the module docs).
    pub fn sample(&self, rng: &mut SecureRng) -> Result<BigInt, SamplerError> {
        self.sample_bits(&mut RandomBits::new(rng))
    }

    /// One sample, from a bit source shared across many draws (no generator call is wasted).
    pub fn sample_bits(&self, bits: &mut RandomBits<'_>) -> Result<BigInt, SamplerError> {
        let (negative, magnitude) = discrete_laplace(&self.numer, &self.denom, bits);
        Ok(magnitude.to_bigint(negative))
    }

    /// The same law in bounded time: a fixed amount of work and randomness per sample, with a
    /// stated failure probability (see [`BoundedDiscreteLaplace`]).
    pub fn bounded_time(&self) -> Result<BoundedDiscreteLaplace, SamplerError> {
        BoundedDiscreteLaplace::new(&self.numer.get().to_biguint(), &self.denom.get().to_biguint())
    }

    /// One sample as an `i128`, without allocating. A sample of magnitude `2¹²⁷` or more (for a
    /// scale below 2¹⁰⁰, a probability below `exp(−2²⁷)`) is a typed error.
    pub fn sample_i128(&self, bits: &mut RandomBits<'_>) -> Result<i128, SamplerError> {
        let (negative, magnitude) = discrete_laplace(&self.numer, &self.denom, bits);
        magnitude.to_i128(negative)
    }
}

/// One sample of the discrete Laplace law with rational scale `scale > 0`.
///
/// Equivalent to `DiscreteLaplace::new(scale.clone())?.sample(rng)`; build a
/// [`DiscreteLaplace`] to draw many.
pub fn sample_discrete_laplace(
    scale: &Ratio<BigUint>,
    rng: &mut SecureRng,
) -> Result<BigInt, SamplerError> {
    DiscreteLaplace::new(scale.clone())?.sample(rng)
}

/// Sign and magnitude of one draw from the discrete Laplace law of scale `t/s`.
///
/// * **Algorithm** (CKS 2020, Algorithm 2), one round: draw `U` uniform in `[0, t)` and go to
///   the next round unless Bernoulli(exp(−U/t)) succeeds; count the successes `V` of
///   Bernoulli(exp(−1)) before its first failure; let `X = U + t·V` and `Y = ⌊X/s⌋`; flip a
///   fair coin `B`; go to the next round if `B` and `Y = 0`; return `(B, Y)`.
/// * **Postcondition:** `P(sign·Y = z) = (1 − q)/(1 + q) · q^|z|` with `q = exp(−s/t)`.
/// * **Argument:** each `x ≥ 0` is `u + t·v` for exactly one `u < t`, `v ≥ 0`, and is kept
///   with weight `exp(−u/t) · exp(−v) = exp(−x/t)`, so `X` is geometric with ratio
///   `exp(−1/t)`; grouping the `s` values of `X` with one `⌊X/s⌋` makes `Y` geometric with
///   ratio `q`. Rejecting `(B, 0)` leaves zero with weight 1 and each `±y` with weight `qʸ`,
///   which normalises to the stated law.
/// * **Cost:** a round is accepted with probability at least `(1 − e⁻¹)/2 ≈ 0.32`; the count
///   `V` takes `X/t ≈ |result|·s/t` Bernoulli(exp(−1)) draws.
pub(crate) fn discrete_laplace(t: &PosNat, s: &PosNat, rng: &mut RandomBits<'_>) -> (bool, Nat) {
    loop {
        let u = uniform_below(t, rng);
        // `u < t`, so `u/t ≤ 1` as the γ ≤ 1 case requires.
        if !bernoulli_exp_at_most_one(&u, t, rng) {
            continue;
        }
        let mut v = Nat::ZERO;
        while bernoulli_exp_minus_one(rng) {
            v = v.add(&Nat::ONE);
        }
        let x = u.add(&t.get().mul(&v));
        let (y, _) = x.div_rem(s);
        let negative = fair_coin(rng);
        if negative && y.is_zero() {
            continue;
        }
        return (negative, y);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{laplace_pmf, Histogram};
    use num_traits::ToPrimitive;

    const DRAWS: u64 = 200_000;

    fn draw_all(sampler: &DiscreteLaplace, seed: u64, draws: u64) -> Histogram {
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        Histogram::collect(draws, || sampler.sample(&mut rng).unwrap().to_i64().unwrap())
    }

    /// Fit, moments and symmetry of the law at scale `numer/denom`, and rejection of the law
    /// at a scale 10 % larger.
    fn check_scale(numer: u64, denom: u64, seed: u64) {
        let scale = Ratio::new(BigUint::from(numer), BigUint::from(denom));
        let sampler = DiscreteLaplace::new(scale).unwrap();
        let hist = draw_all(&sampler, seed, DRAWS);
        let b = numer as f64 / denom as f64;
        let what = format!("discrete Laplace, scale {numer}/{denom}");
        hist.assert_fits(&laplace_pmf(b), &what);
        hist.assert_moments(&laplace_pmf(b), &what);
        hist.assert_symmetric(&what);
        hist.assert_rejects(&laplace_pmf(1.1 * b), &what);
    }

    #[test]
    fn laplace_scale_one_half() {
        check_scale(1, 2, 20);
    }

    #[test]
    fn laplace_scale_one() {
        check_scale(1, 1, 21);
    }

    #[test]
    fn laplace_scale_thirty_seven_tenths() {
        check_scale(37, 10, 22);
    }

    #[test]
    fn laplace_scale_one_hundred() {
        check_scale(100, 1, 23);
    }

    #[test]
    fn laplace_million_draws_fit_in_law_distance_and_tails() {
        // 10⁶ draws at scale 3.7: chi-square, DKW (Kolmogorov–Smirnov) and tail decay.
        let scale = Ratio::new(BigUint::from(37u32), BigUint::from(10u32));
        let sampler = DiscreteLaplace::new(scale).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(27);
        let mut bits = RandomBits::new(&mut rng);
        let hist = Histogram::collect(1_000_000, || sampler.sample_i128(&mut bits).unwrap() as i64);
        let law = laplace_pmf(3.7);
        hist.assert_fits(&law, "discrete Laplace 10⁶");
        hist.assert_ks(&law, "discrete Laplace 10⁶");
        hist.assert_tail_ratios(&law, "discrete Laplace 10⁶");
        hist.assert_rejects(&laplace_pmf(3.7 * 1.02), "discrete Laplace 10⁶ vs 2% wider");
    }

    #[test]
    fn laplace_beyond_u128_has_the_same_law() {
        // 3.7 as 37·10⁴⁰ / 10⁴¹, unreduced: every number in the sampler exceeds u128.
        let tens = BigUint::from(10u32).pow(40);
        let scale = Ratio::new_raw(&tens * 37u32, tens * 10u32);
        let sampler = DiscreteLaplace::new(scale).unwrap();
        let hist = draw_all(&sampler, 24, 50_000);
        hist.assert_fits(&laplace_pmf(3.7), "discrete Laplace, scale 3.7 in BigUint");
        hist.assert_moments(&laplace_pmf(3.7), "discrete Laplace, scale 3.7 in BigUint");
    }

    #[test]
    fn laplace_of_a_huge_scale_is_of_that_order() {
        let scale = Ratio::new(BigUint::from(10u32).pow(50), BigUint::from(3u32));
        let sampler = DiscreteLaplace::new(scale.clone()).unwrap();
        assert_eq!(sampler.scale(), &scale);
        let mut rng = SecureRng::seeded_for_tests_only(25);
        let limit = BigInt::from(10u32).pow(52);
        for _ in 0..200 {
            // P(|x| ≥ 300·scale) = 2·e⁻³⁰⁰/(1 + q) is negligible.
            assert!(sampler.sample(&mut rng).unwrap().magnitude() < limit.magnitude());
        }
    }

    #[test]
    fn invalid_scales_are_errors() {
        let mut rng = SecureRng::seeded_for_tests_only(26);
        let zero = Ratio::from_integer(BigUint::from(0u32));
        let err = DiscreteLaplace::new(zero.clone()).unwrap_err();
        assert_eq!(err, SamplerError::InvalidParameter { name: "scale", reason: "must be > 0" });
        assert_eq!(sample_discrete_laplace(&zero, &mut rng).unwrap_err(), err);
        let zero_denom = Ratio::new_raw(BigUint::from(1u32), BigUint::from(0u32));
        let err = DiscreteLaplace::new(zero_denom).unwrap_err();
        assert_eq!(err.to_string(), "invalid scale: denominator must be > 0");
    }
}
