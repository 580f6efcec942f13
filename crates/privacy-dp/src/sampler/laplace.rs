//! The exact discrete Laplace sampler: `P(x) = (1 − q)/(1 + q) · q^|x|` on ℤ with
//! `q = exp(−1/t)` for a rational scale `t > 0`.
//!
//! Adding this noise to an integer query of sensitivity Δ gives pure (Δ/t)-DP; that guarantee
//! is stated by the mechanisms built on this sampler, not here. The law is the discrete
//! analogue of the Laplace law and needs no rounding, so its privacy proof applies to the
//! samples exactly.
//!
//! The magnitude is a geometric variable drawn digit by digit from exact coins of
//! precomputed irrational probability ([`super::geometric`]), and the sign is a fair bit with
//! "−0" rejected. This replaces the rejection loop of Canonne, Kamath and Steinke (2020,
//! Algorithm 2), whose cost grows with the value drawn, by `log₂(6·scale)` coins of 8 bits on
//! average; the law is the same, exactly. [`DiscreteLaplace::bounded_time`] gives the
//! bounded-time variant of the same table ([`BoundedDiscreteLaplace`]).
//!
//! Trade-off: the table is built with big integers when the sampler is built (tens of
//! microseconds), against draws of a few dozen nanoseconds.

use std::sync::Arc;

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use privacy_core::SecureRng;

use super::bounded::BoundedDiscreteLaplace;
use super::geometric::GeometricDigits;
use super::uniform::{Nat, PosNat, RandomBits};
use super::{split_ratio, SamplerError};

/// A discrete Laplace sampler with a fixed rational scale.
///
/// | Input  | Valid range                               |
/// |--------|-------------------------------------------|
/// | scale  | `Ratio<BigUint>`, `> 0`, denominator ≠ 0  |
///
/// Built once per scale (a table of about `log₂(scale) + 3` coins, shared by clones);
/// [`sample`](Self::sample) then does not fail.
#[derive(Clone, Debug)]
pub struct DiscreteLaplace {
    scale: Ratio<BigUint>,
    /// The magnitude's geometric law, `q = exp(−s/t)` for the scale `t/s`.
    magnitude: Arc<GeometricDigits>,
}

impl DiscreteLaplace {
    /// A sampler for scale `scale`, refused if the scale is zero or has a zero denominator.
    pub fn new(scale: Ratio<BigUint>) -> Result<Self, SamplerError> {
        let (numer, denom) = split_ratio(&scale, "scale")?;
        let numer = PosNat::new(numer).ok_or(SamplerError::invalid("scale", "must be > 0"))?;
        let magnitude =
            Arc::new(GeometricDigits::new(&numer.get().to_biguint(), &denom.get().to_biguint()));
        Ok(Self { scale, magnitude })
    }

    /// The scale `t` of the law `P(x) ∝ exp(−|x|/t)`.
    pub fn scale(&self) -> &Ratio<BigUint> {
        &self.scale
    }

    /// One sample. It does not fail; the `Result` is shared with the bounded-time sampler.
    ///
    /// Draws from a fresh [`RandomBits`]: the bits left over are discarded. To draw many
    /// samples, keep one `RandomBits` and call [`sample_bits`](Self::sample_bits) or
    /// [`sample_i128`](Self::sample_i128).
    pub fn sample(&self, rng: &mut SecureRng) -> Result<BigInt, SamplerError> {
        self.sample_bits(&mut RandomBits::new(rng))
    }

    /// One sample, from a bit source shared across many draws (no generator call is wasted).
    pub fn sample_bits(&self, bits: &mut RandomBits<'_>) -> Result<BigInt, SamplerError> {
        let (negative, magnitude) = self.draw(bits);
        Ok(magnitude.to_bigint(negative))
    }

    /// The same law in bounded time: a fixed amount of work and randomness per sample, with a
    /// stated failure probability (see [`BoundedDiscreteLaplace`]).
    pub fn bounded_time(&self) -> Result<BoundedDiscreteLaplace, SamplerError> {
        BoundedDiscreteLaplace::from_digits(Arc::clone(&self.magnitude))
    }

    /// One sample as an `i128`, without allocating. A sample of magnitude `2¹²⁷` or more (for a
    /// scale below 2¹⁰⁰, a probability below `exp(−2²⁷)`) is a typed error.
    pub fn sample_i128(&self, bits: &mut RandomBits<'_>) -> Result<i128, SamplerError> {
        let (negative, magnitude) = self.draw(bits);
        magnitude.to_i128(negative)
    }

    /// Sign and magnitude of one draw.
    ///
    /// * **Algorithm:** draw the magnitude `M` from the geometric law with ratio
    ///   `q = exp(−s/t)` (digit by digit, [`GeometricDigits`]) and a fair sign `B`; start
    ///   again if `B` is negative and `M = 0`; return `(B, M)`.
    /// * **Postcondition:** `P(±m) = (1 − q)/(1 + q) · q^m`, the discrete Laplace law of scale
    ///   `t/s`.
    /// * **Argument:** each non-zero `z` is reached by exactly one pair (sign, `|z|`), with
    ///   weight `½(1 − q)q^|z|`, and zero by one kept pair of weight `½(1 − q)`; normalising
    ///   over the kept pairs gives `(1 − q)/(1 + q)·q^|z|` (this is how CKS 2020, Algorithm 2
    ///   treats the sign; it draws the geometric variable differently).
    /// * **Cost:** the restart has probability `(1 − q)/2 < ½`; a round is `log₂(6t/s)`
    ///   digit coins, one tail coin and a sign bit, about `8·log₂(6t/s)` random bits.
    pub(crate) fn draw(&self, bits: &mut RandomBits<'_>) -> (bool, Nat) {
        loop {
            let magnitude = self.magnitude.sample(bits);
            let negative = bits.bit();
            if negative && magnitude.is_zero() {
                continue;
            }
            return (negative, magnitude);
        }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{laplace_bucket_pmf, laplace_pmf, Histogram};
    use num_traits::ToPrimitive;

    const DRAWS: u64 = 1_000_000;

    /// 10⁶ draws at scale `numer/denom` from one shared bit source: chi-square fit,
    /// Kolmogorov–Smirnov (DKW) distance, tail decay ratios, moments, symmetry, and rejection
    /// of the law at a scale 2 % larger.
    fn check_scale(numer: u64, denom: u64, seed: u64) {
        let scale = Ratio::new(BigUint::from(numer), BigUint::from(denom));
        let sampler = DiscreteLaplace::new(scale).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let mut bits = RandomBits::new(&mut rng);
        let hist = Histogram::collect(DRAWS, || sampler.sample_i128(&mut bits).unwrap() as i64);
        let b = numer as f64 / denom as f64;
        let what = format!("discrete Laplace, scale {numer}/{denom}");
        hist.assert_law(&laplace_pmf(b), &laplace_pmf(1.02 * b), true, &what);
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
    fn laplace_one_draw_per_generator_call_has_the_same_law() {
        // `sample(rng)` builds a fresh bit source per draw: the law must not depend on it.
        let sampler = DiscreteLaplace::new(Ratio::from_integer(BigUint::from(10u32))).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(27);
        let hist =
            Histogram::collect(200_000, || sampler.sample(&mut rng).unwrap().to_i64().unwrap());
        hist.assert_fits(&laplace_pmf(10.0), "discrete Laplace via sample()");
        hist.assert_ks(&laplace_pmf(10.0), "discrete Laplace via sample()");
    }

    #[test]
    fn laplace_at_the_float_mechanisms_scale_has_the_law_in_buckets() {
        // Scale 2⁴⁰ + 1 (the Laplace mechanism's grid at Δ = ε = 1): 43 digit coins per draw.
        // Values are bucketed by 2³⁶, about a sixteenth of the scale.
        let scale = (1u64 << 40) + 1;
        let sampler = DiscreteLaplace::new(Ratio::from_integer(BigUint::from(scale))).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(28);
        let mut bits = RandomBits::new(&mut rng);
        let width = 1i64 << 36;
        let hist = Histogram::collect(DRAWS, || {
            (sampler.sample_i128(&mut bits).unwrap() as i64).div_euclid(width)
        });
        let law = laplace_bucket_pmf(scale as f64, width as f64);
        let wrong = laplace_bucket_pmf(1.02 * scale as f64, width as f64);
        hist.assert_law(&law, &wrong, false, "discrete Laplace, scale 2^40 + 1, buckets of 2^36");
    }

    #[test]
    fn laplace_beyond_u128_has_the_same_law() {
        // 3.7 as 37·10⁴⁰ / 10⁴¹, unreduced: the table is built from numbers beyond u128.
        let tens = BigUint::from(10u32).pow(40);
        let scale = Ratio::new_raw(&tens * 37u32, tens * 10u32);
        let sampler = DiscreteLaplace::new(scale).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(24);
        let hist =
            Histogram::collect(200_000, || sampler.sample(&mut rng).unwrap().to_i64().unwrap());
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
        let floor = BigInt::from(10u32).pow(45);
        let mut large = 0;
        for _ in 0..200 {
            // P(|x| ≥ 300·scale) = 2·e⁻³⁰⁰/(1 + q) is negligible; P(|x| < 10⁻⁴·scale) ≈ 10⁻⁴.
            let x = sampler.sample(&mut rng).unwrap();
            assert!(x.magnitude() < limit.magnitude());
            large += usize::from(x.magnitude() > floor.magnitude());
        }
        assert!(large >= 190, "{large} of 200 draws were of the scale's order");
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
