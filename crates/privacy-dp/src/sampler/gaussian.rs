//! The exact discrete Gaussian sampler: `P(x) ∝ exp(−x²/(2σ²))` on ℤ for a rational `σ² > 0`,
//! by Algorithm 3 of Canonne, Kamath and Steinke (2020).
//!
//! Adding this noise to an integer query of sensitivity Δ gives `Δ²/(2σ²)`-zCDP, exactly as
//! the continuous Gaussian does (CKS 2020); that guarantee is stated by the mechanisms built on
//! this sampler, not here. The sampler is rejection sampling from the discrete Laplace law,
//! whose tails are heavier. Trade-off: about 1.3 discrete Laplace draws per sample for large σ
//! (fewer than 2.3 for every σ), in exchange for needing nothing but integer arithmetic.
//!
//! Its running time depends on the value drawn. [`DiscreteGaussian::bounded_time`] gives a
//! sampler of the same law that runs a fixed number of fixed-work rounds, with a failure
//! probability below 10⁻³⁰ to fold into δ ([`BoundedDiscreteGaussian`],
//! `docs/proofs/bounded-time.md`).

use std::sync::Arc;

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use privacy_core::SecureRng;

use super::bernoulli::{bernoulli_exp, bernoulli_exp_u128};
use super::bounded_gaussian::BoundedDiscreteGaussian;
use super::laplace::DiscreteLaplace;
use super::uniform::{Nat, PosNat, RandomBits};
use super::{split_ratio, SamplerError};

/// A discrete Gaussian sampler with a fixed rational variance parameter σ².
///
/// | Input         | Valid range                               |
/// |---------------|-------------------------------------------|
/// | sigma_squared | `Ratio<BigUint>`, `> 0`, denominator ≠ 0  |
///
/// σ² is the parameter of the law, not its variance, which is less: by 14 % at σ² = ¼,
/// 0.2 % at σ² = ½, 2·10⁻⁷ at σ² = 1, and by less than rounding error from σ² = 2 on.
/// Built once per σ²; [`sample`](Self::sample) then does not fail.
#[derive(Clone, Debug)]
pub struct DiscreteGaussian {
    sigma_squared: Ratio<BigUint>,
    /// The precomputed parts, shared by clones.
    parts: Arc<Parts>,
}

/// What a draw needs, computed once from σ².
#[derive(Debug)]
struct Parts {
    /// The discrete Laplace proposals, of scale `t = ⌊σ⌋ + 1`.
    proposal: DiscreteLaplace,
    /// `a` of `σ² = a/b`, as given (the ratio need not be reduced).
    numer: Nat,
    /// `b`.
    denom: Nat,
    /// `t·b`.
    scale_times_denom: Nat,
    /// `2·a·b·t²`, the denominator of the rejection exponent.
    exponent_denom: PosNat,
    /// `(t·b, a, 2abt²)` when they fit the `u128` fast path of the acceptance coin.
    fast: Option<(u128, u128, u128)>,
}

impl DiscreteGaussian {
    /// A sampler for `sigma_squared`, refused if it is zero or has a zero denominator.
    pub fn new(sigma_squared: Ratio<BigUint>) -> Result<Self, SamplerError> {
        let (numer, denom) = split_ratio(&sigma_squared, "sigma_squared")?;
        let numer =
            PosNat::new(numer).ok_or(SamplerError::invalid("sigma_squared", "must be > 0"))?;
        // ⌊√(a/b)⌋ = ⌊√⌊a/b⌋⌋: if m² ≤ a/b < (m+1)² for an integer m, then m² ≤ ⌊a/b⌋ too.
        let whole = numer.get().div_rem(&denom).0;
        let root = Nat::from_biguint(&whole.to_biguint().sqrt());
        let t = PosNat::ONE.add(&root);
        let exponent_denom = PosNat::TWO.mul(&numer).mul(&denom).mul(&t).mul(&t);
        let scale_times_denom = t.get().mul(denom.get());
        let proposal = DiscreteLaplace::new(Ratio::from_integer(t.get().to_biguint()))?;
        let fast = match (
            scale_times_denom.to_u128(),
            numer.get().to_u128(),
            exponent_denom.get().to_u128(),
        ) {
            // Von Neumann's denominators `k·2abt²` stay below 2¹²⁷ for k < 128.
            (Some(tb), Some(a), Some(d)) if d < 1 << 120 => Some((tb, a, d)),
            _ => None,
        };
        let parts = Parts {
            proposal,
            numer: numer.get().clone(),
            denom: denom.get().clone(),
            scale_times_denom,
            exponent_denom,
            fast,
        };
        Ok(Self { sigma_squared, parts: Arc::new(parts) })
    }

    /// The parameter σ² of the law `P(x) ∝ exp(−x²/(2σ²))`.
    pub fn sigma_squared(&self) -> &Ratio<BigUint> {
        &self.sigma_squared
    }

    /// The same law in bounded time: a fixed number of rounds of fixed work per sample, with a
    /// stated failure probability (see [`BoundedDiscreteGaussian`]); refused above σ² = 2¹²⁰.
    pub fn bounded_time(&self) -> Result<BoundedDiscreteGaussian, SamplerError> {
        BoundedDiscreteGaussian::new(&self.parts.numer.to_biguint(), &self.parts.denom.to_biguint())
    }

    /// One sample.
    ///
    /// * **Algorithm** (CKS 2020, Algorithm 3), one round: draw `Y` from the discrete Laplace
    ///   law of scale `t = ⌊σ⌋ + 1`; return it with probability
    ///   `exp(−(|Y| − σ²/t)²/(2σ²))`, else go to the next round.
    /// * **Argument:** `exp(−|y|/t) · exp(−(|y| − σ²/t)²/(2σ²)) = exp(−y²/(2σ²)) ·
    ///   exp(−σ²/(2t²))`, and the last factor is the same for every `y`.
    /// * **Exactness:** with `σ² = a/b`, the exponent is the rational
    ///   `(|Y|·t·b − a)² / (2·a·b·t²)`, so no real number is ever computed.
    /// * **Cost:** a round is accepted with probability above 0.44 for every σ² (module docs
    ///   of [`sampler`](super)).
    ///
    /// Draws from a fresh [`RandomBits`]; keep one and call [`sample_bits`](Self::sample_bits)
    /// or [`sample_i128`](Self::sample_i128) to draw many. It does not fail; the `Result` is
    /// shared with the bounded-time sampler.
    pub fn sample(&self, rng: &mut SecureRng) -> Result<BigInt, SamplerError> {
        self.sample_bits(&mut RandomBits::new(rng))
    }

    /// One sample, from a bit source shared across many draws.
    pub fn sample_bits(&self, bits: &mut RandomBits<'_>) -> Result<BigInt, SamplerError> {
        let (negative, y) = self.draw(bits);
        Ok(y.to_bigint(negative))
    }

    /// One sample as an `i128`, without allocating; a magnitude of `2¹²⁷` or more is a typed
    /// error (for σ below 2¹⁰⁰, a probability below `exp(−2⁵⁰)`).
    pub fn sample_i128(&self, bits: &mut RandomBits<'_>) -> Result<i128, SamplerError> {
        let (negative, y) = self.draw(bits);
        y.to_i128(negative)
    }

    fn draw(&self, bits: &mut RandomBits<'_>) -> (bool, Nat) {
        loop {
            let (negative, y) = self.parts.proposal.draw(bits);
            if self.parts.accept(&y, bits) {
                return (negative, y);
            }
        }
    }
}

impl Parts {
    /// The coin `exp(−(y·t·b − a)²/(2abt²))`: in `u128` when the numbers fit (the same
    /// algorithm and the same random bits as the general path), else on exact naturals.
    #[inline]
    fn accept(&self, y: &Nat, bits: &mut RandomBits<'_>) -> bool {
        if let (Some((tb, a, d)), Some(y)) = (self.fast, y.to_u128()) {
            if let Some(offset) = y.checked_mul(tb).map(|yt| yt.abs_diff(a)) {
                // An offset below 2⁶³ has a square below 2¹²⁶.
                if offset < 1 << 63 {
                    return bernoulli_exp_u128(offset * offset, d, bits);
                }
            }
        }
        let offset = y.mul(&self.scale_times_denom).abs_diff(&self.numer);
        bernoulli_exp(&offset.mul(&offset), &self.exponent_denom, bits)
    }
}

/// One sample of the discrete Gaussian law with rational parameter `sigma_squared > 0`.
///
/// Equivalent to `DiscreteGaussian::new(sigma_squared.clone())?.sample(rng)`; build a
/// [`DiscreteGaussian`] to draw many.
pub fn sample_discrete_gaussian(
    sigma_squared: &Ratio<BigUint>,
    rng: &mut SecureRng,
) -> Result<BigInt, SamplerError> {
    DiscreteGaussian::new(sigma_squared.clone())?.sample(rng)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{gaussian_bucket_pmf, gaussian_pmf, Histogram};
    use num_traits::ToPrimitive;

    const DRAWS: u64 = 1_000_000;

    /// 10⁶ draws at `σ² = numer/denom` from one shared bit source: chi-square fit,
    /// Kolmogorov–Smirnov (DKW) distance, tail decay ratios, moments, symmetry, and rejection
    /// of the law at a σ² 2 % larger.
    fn check_sigma_squared(numer: u64, denom: u64, seed: u64) {
        let sigma_squared = Ratio::new(BigUint::from(numer), BigUint::from(denom));
        let sampler = DiscreteGaussian::new(sigma_squared).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let mut bits = RandomBits::new(&mut rng);
        let hist = Histogram::collect(DRAWS, || sampler.sample_i128(&mut bits).unwrap() as i64);
        let s2 = numer as f64 / denom as f64;
        let what = format!("discrete Gaussian, sigma² {numer}/{denom}");
        hist.assert_law(&gaussian_pmf(s2), &gaussian_pmf(1.02 * s2), true, &what);
    }

    #[test]
    fn gaussian_sigma_squared_one_quarter() {
        check_sigma_squared(1, 4, 30);
    }

    #[test]
    fn gaussian_sigma_squared_one() {
        check_sigma_squared(1, 1, 31);
    }

    #[test]
    fn gaussian_sigma_squared_ten() {
        check_sigma_squared(10, 1, 32);
    }

    #[test]
    fn gaussian_sigma_squared_one_thousand() {
        check_sigma_squared(1000, 1, 33);
    }

    #[test]
    fn gaussian_at_the_float_mechanisms_scale_has_the_law_in_buckets() {
        // σ = 2²⁴ (the Gaussian mechanism's grid), values bucketed by 2²⁰.
        let s2 = 1u64 << 48;
        let sampler = DiscreteGaussian::new(Ratio::from_integer(BigUint::from(s2))).unwrap();
        assert!(sampler.parts.fast.is_some(), "the u128 fast path covers this σ");
        let mut rng = SecureRng::seeded_for_tests_only(38);
        let mut bits = RandomBits::new(&mut rng);
        let width = 1i64 << 20;
        let hist = Histogram::collect(DRAWS, || {
            (sampler.sample_i128(&mut bits).unwrap() as i64).div_euclid(width)
        });
        let law = gaussian_bucket_pmf(s2 as f64, width as f64);
        let wrong = gaussian_bucket_pmf(1.02 * s2 as f64, width as f64);
        hist.assert_law(&law, &wrong, false, "discrete Gaussian, sigma 2^24, buckets of 2^20");
    }

    #[test]
    fn gaussian_fast_and_general_coins_agree_bit_for_bit() {
        // The u128 acceptance coin and the exact-natural one read the same bits.
        for s2 in [3u32, 100, 77_777] {
            let sampler = DiscreteGaussian::new(Ratio::from_integer(BigUint::from(s2))).unwrap();
            let (tb, a, d) = sampler.parts.fast.unwrap();
            let mut r1 = SecureRng::seeded_for_tests_only(39);
            let mut r2 = SecureRng::seeded_for_tests_only(39);
            let (mut b1, mut b2) = (RandomBits::new(&mut r1), RandomBits::new(&mut r2));
            for y in 0..2000u128 {
                let offset = (y * tb).abs_diff(a);
                let fast = bernoulli_exp_u128(offset * offset, d, &mut b1);
                let general = bernoulli_exp(
                    &Nat::from_u128(offset * offset),
                    &PosNat::new(Nat::from_u128(d)).unwrap(),
                    &mut b2,
                );
                assert_eq!(fast, general, "σ² = {s2}, y = {y}");
            }
        }
    }

    #[test]
    fn gaussian_one_draw_per_generator_call_has_the_same_law() {
        let sampler = DiscreteGaussian::new(Ratio::from_integer(BigUint::from(30u32))).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(37);
        let hist =
            Histogram::collect(200_000, || sampler.sample(&mut rng).unwrap().to_i64().unwrap());
        hist.assert_fits(&gaussian_pmf(30.0), "discrete Gaussian via sample()");
        hist.assert_ks(&gaussian_pmf(30.0), "discrete Gaussian via sample()");
    }

    #[test]
    fn gaussian_beyond_u128_has_the_same_law() {
        // σ² = 10 as 10⁴¹ / 10⁴⁰, unreduced, so the exponent is computed in BigUint.
        let tens = BigUint::from(10u32).pow(40);
        let sigma_squared = Ratio::new_raw(&tens * 10u32, tens);
        let sampler = DiscreteGaussian::new(sigma_squared).unwrap();
        assert!(sampler.parts.fast.is_none());
        let mut rng = SecureRng::seeded_for_tests_only(34);
        let hist =
            Histogram::collect(100_000, || sampler.sample(&mut rng).unwrap().to_i64().unwrap());
        hist.assert_fits(&gaussian_pmf(10.0), "discrete Gaussian, sigma² 10 in BigUint");
        hist.assert_moments(&gaussian_pmf(10.0), "discrete Gaussian, sigma² 10 in BigUint");
    }

    #[test]
    fn laplace_scale_is_floor_sigma_plus_one() {
        for (numer, denom, t) in
            [(1u32, 4u32, 1u32), (1, 1, 2), (99, 25, 2), (4, 1, 3), (1000, 1, 32)]
        {
            let sigma_squared = Ratio::new(BigUint::from(numer), BigUint::from(denom));
            let sampler = DiscreteGaussian::new(sigma_squared).unwrap();
            assert_eq!(sampler.parts.proposal.scale(), &Ratio::from_integer(BigUint::from(t)));
        }
    }

    #[test]
    fn gaussian_of_a_huge_sigma_is_of_that_order() {
        // σ² = 10⁶⁰ + 1/7, so σ ≈ 10³⁰ and t·b exceeds u128.
        let sigma_squared =
            Ratio::new(BigUint::from(10u32).pow(60) * 7u32 + 1u32, BigUint::from(7u32));
        let sampler = DiscreteGaussian::new(sigma_squared.clone()).unwrap();
        assert_eq!(sampler.sigma_squared(), &sigma_squared);
        let mut rng = SecureRng::seeded_for_tests_only(35);
        let limit = BigInt::from(10u32).pow(32);
        for _ in 0..200 {
            // P(|x| ≥ 100·σ) is about e⁻⁵⁰⁰⁰.
            assert!(sampler.sample(&mut rng).unwrap().magnitude() < limit.magnitude());
        }
    }

    #[test]
    fn invalid_sigma_squared_is_an_error() {
        let mut rng = SecureRng::seeded_for_tests_only(36);
        let zero = Ratio::from_integer(BigUint::from(0u32));
        let err = DiscreteGaussian::new(zero.clone()).unwrap_err();
        assert_eq!(
            err,
            SamplerError::InvalidParameter { name: "sigma_squared", reason: "must be > 0" }
        );
        assert_eq!(sample_discrete_gaussian(&zero, &mut rng).unwrap_err(), err);
        let zero_denom = Ratio::new_raw(BigUint::from(1u32), BigUint::from(0u32));
        let err = DiscreteGaussian::new(zero_denom).unwrap_err();
        assert_eq!(err.to_string(), "invalid sigma_squared: denominator must be > 0");
    }
}
