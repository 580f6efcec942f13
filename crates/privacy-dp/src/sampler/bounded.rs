//! Bounded-time discrete Laplace sampling: a fixed amount of work and randomness per sample,
//! whatever the value drawn, at the price of a tiny, stated failure probability.
//!
//! The exact sampler ([`super::DiscreteLaplace`]) restarts when it draws "−0" and flips one
//! more tail coin for each block of `2^L` in the magnitude, so its running time tells an
//! observer something about the noise. This one does not branch on anything it draws.
//!
//! **Algorithm.** The discrete Laplace law of scale `t/s` is the law of `G₁ − G₂` for two
//! independent geometric variables with `P(G = g) = (1 − q)·q^g`, `q = exp(−s/t)`. Each `G` is
//! drawn as its `L` low binary digits, which are independent coins of probability
//! `p_i = q^(2^i)/(1 + q^(2^i))` ([`super::geometric`]), `L` the smallest number of digits with
//! `q^(2^L) < 2⁻¹²⁸`. Each coin compares 127 fresh random bits `u` (the first bits of a uniform
//! real `V`) with rigorous bounds `lo_i ≤ 2¹²⁷·p_i ≤ hi_i`, computed once at construction:
//! `u < lo_i` proves `V < p_i` (digit 1), `u ≥ hi_i` proves `V ≥ p_i` (digit 0), and anything
//! else is a **failure**.
//!
//! **Coupling and failure probability.** On the event that no coin fails and `G < 2^L` for
//! both variables, the output equals that of an exact sampler fed the same uniform reals, so
//! the output law is within total variation `η` of the exact law, where
//! `η ≤ (2·Σ_i (hi_i − lo_i) + 1)·2⁻¹²⁷` (two digit-sets of coins, two truncations of
//! probability below 2⁻¹²⁸ each). The failure event is independent of the data; a failed draw
//! returns a typed error after the same work as a successful one. A mechanism that is
//! (ε, δ)-DP with the exact sampler is then (ε, δ + (1 + e^ε)·η)-DP with this one
//! (`docs/proofs/bounded-time.md`).
//!
//! **Fixed work.** Every sample draws exactly `2·L·127` random bits and performs the same
//! arithmetic, with comparisons folded into integers rather than branches. This removes the
//! algorithmic timing channel; it is not a proof of constant time at the instruction level
//! (the compiler is free to reintroduce branches). Trade-off: `2L` coins of 127 bits where the
//! exact sampler needs `L` coins of 8 bits on average, measured in `benches/`.

use std::sync::Arc;

use super::geometric::GeometricDigits;
use super::lazy::COIN_BITS;
use super::uniform::RandomBits;
use super::SamplerError;

/// A discrete Laplace sampler of scale `t/s` running in fixed time (module docs).
#[derive(Clone, Debug)]
pub struct BoundedDiscreteLaplace {
    digits: Arc<GeometricDigits>,
    /// `L`.
    count: usize,
    failure: f64,
}

impl BoundedDiscreteLaplace {
    /// The bounded-time sampler for the geometric digits of a discrete Laplace sampler.
    pub(crate) fn from_digits(digits: Arc<GeometricDigits>) -> Result<Self, SamplerError> {
        let count = digits.bounded_digits()?;
        let units = 2 * digits.bounded_failure_units() + 1;
        // Units of 2⁻¹²⁷, rounded up by the relative 2⁻⁵² of the conversions.
        let failure = units as f64 * 2f64.powi(-(COIN_BITS as i32)) * (1.0 + 1e-12);
        Ok(Self { digits, count, failure })
    }

    /// An upper bound `η` on the total variation distance from the exact law, which is also
    /// the probability of a failed draw.
    pub fn failure_probability(&self) -> f64 {
        self.failure
    }

    /// Random bits one sample consumes, always.
    pub fn bits_per_sample(&self) -> usize {
        2 * self.count * COIN_BITS as usize
    }

    /// One sample, or [`SamplerError::BoundedTimeFailure`] with probability at most
    /// [`failure_probability`](Self::failure_probability); the work is the same either way.
    pub fn sample_i128(&self, bits: &mut RandomBits<'_>) -> Result<i128, SamplerError> {
        let (g1, f1) = self.digits.sample_bounded(bits);
        let (g2, f2) = self.digits.sample_bounded(bits);
        if f1 | f2 {
            return Err(SamplerError::BoundedTimeFailure);
        }
        // Both are below 2^120, so the difference fits.
        Ok(g1 as i128 - g2 as i128)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{laplace_pmf, Histogram};
    use crate::sampler::DiscreteLaplace;
    use num_bigint::BigUint;
    use num_rational::Ratio;
    use privacy_core::SecureRng;

    fn bounded(t: u32, s: u32) -> BoundedDiscreteLaplace {
        let scale = Ratio::new(BigUint::from(t), BigUint::from(s));
        DiscreteLaplace::new(scale).unwrap().bounded_time().unwrap()
    }

    #[test]
    fn bounded_laplace_has_the_discrete_laplace_law() {
        // 10⁶ draws per scale: chi-square, Kolmogorov–Smirnov (DKW), tail decay, and power
        // against a 2 % wider law.
        let mut rng = SecureRng::seeded_for_tests_only(110);
        let mut bits = RandomBits::new(&mut rng);
        for (t, s, scale) in [(1u32, 1u32, 1.0), (37, 10, 3.7), (100, 1, 100.0)] {
            let sampler = bounded(t, s);
            assert!(sampler.failure_probability() < 1e-30);
            let hist =
                Histogram::collect(1_000_000, || sampler.sample_i128(&mut bits).unwrap() as i64);
            let what = format!("bounded discrete Laplace, scale {t}/{s}");
            hist.assert_law(&laplace_pmf(scale), &laplace_pmf(1.02 * scale), true, &what);
        }
    }

    #[test]
    fn every_sample_reads_the_same_number_of_bits() {
        let sampler = bounded(5, 1);
        let mut rng = SecureRng::seeded_for_tests_only(111);
        let mut twin = SecureRng::seeded_for_tests_only(111);
        {
            let mut bits = RandomBits::new(&mut rng);
            for _ in 0..1024 {
                sampler.sample_i128(&mut bits).unwrap();
            }
        }
        // 1024 samples of 2·L·127 bits are a whole number of 64-bit words: the generators
        // must be in the same state after skipping exactly that many words on the twin.
        assert_eq!(1024 * sampler.bits_per_sample() % 64, 0);
        let words = 1024 * sampler.bits_per_sample() / 64;
        for _ in 0..words {
            rand_core::RngCore::next_u64(&mut twin);
        }
        assert_eq!(rand_core::RngCore::next_u64(&mut rng), rand_core::RngCore::next_u64(&mut twin));
    }

    #[test]
    fn scales_beyond_the_bounded_range_are_refused() {
        let scale = Ratio::from_integer(BigUint::from(1u32) << 130usize);
        let err = DiscreteLaplace::new(scale).unwrap().bounded_time().unwrap_err();
        assert_eq!(
            err,
            SamplerError::InvalidParameter {
                name: "scale",
                reason: "too large for the bounded-time mode"
            }
        );
    }
}
