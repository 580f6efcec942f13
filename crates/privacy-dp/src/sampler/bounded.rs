//! Bounded-time discrete Laplace sampling: a fixed amount of work and randomness per sample,
//! whatever the value drawn, at the price of a tiny, stated failure probability.
//!
//! The variable-time sampler (CKS 2020, Algorithm 2) loops about `|x|·s/t` times to return
//! `x`, so its running time tells an observer about the noise. This one does not loop.
//!
//! **Algorithm.** The discrete Laplace law of scale `t/s` is the law of `G₁ − G₂` for two
//! independent geometric variables with `P(G = g) = (1 − q)·q^g`, `q = exp(−s/t)`. The binary
//! digits of a geometric variable are independent: `q^g = Π_i (q^(2^i))^(g_i)` factorises over
//! the digits `g_i` of `g`, so digit `i` is 1 with probability `p_i = q^(2^i)/(1 + q^(2^i))`.
//! Each `G` is therefore drawn as `L` independent coins, digit by digit, where `L` is the
//! smallest number of digits with `q^(2^L) ≤ 2⁻¹²⁸`. Each coin compares 128 fresh random bits
//! `u` (the first bits of a uniform real `V`) with rigorous bounds `lo_i ≤ 2¹²⁸·p_i ≤ hi_i`,
//! computed once at construction with directed-rounding big-integer arithmetic (alternating
//! Taylor series of `exp`): `u < lo_i` proves `V < p_i` (digit 1), `u ≥ hi_i` proves
//! `V ≥ p_i` (digit 0), and anything else is a **failure**.
//!
//! **Coupling and failure probability.** On the event that no coin fails and `G < 2^L` for
//! both variables, the output equals that of an exact sampler fed the same uniform reals, so the
//! output law is within total variation `η` of the exact law, where
//! `η ≤ 2L·(max_i(hi_i − lo_i) + 1)·2⁻¹²⁸ + 2·2⁻¹²⁸` (two digit-sets of coins, two truncations).
//! The failure event is independent of the data; a failed draw returns a typed error after the
//! same work as a successful one. A mechanism that is (ε, δ)-DP with the exact sampler is then
//! (ε, δ + e^ε·η)-DP with this one (`docs/proofs/bounded-time.md`).
//!
//! **Fixed work.** Every sample draws exactly `2·L·128` random bits and performs the same
//! arithmetic, with comparisons folded into integers rather than branches. This removes the
//! algorithmic timing channel; it is not a proof of constant time at the instruction level
//! (the compiler is free to reintroduce branches). Trade-off: `2L` coins of 128 bits where the
//! variable-time sampler needs a few coins of a few bits, measured in `benches/`.

use num_bigint::BigUint;
use num_integer::Integer;
use num_rational::Ratio;
use num_traits::{One, ToPrimitive, Zero};

use super::uniform::RandomBits;
use super::SamplerError;

/// Bits of the fixed-point thresholds.
const THRESHOLD_BITS: usize = 128;
/// Working precision of the exponential bounds.
const WORK_BITS: usize = 256;
/// Taylor terms of `exp(−f)`, `f < 1`: the last one is below `1/61! ≈ 2⁻²⁸⁰`.
const TAYLOR_TERMS: u32 = 61;
/// Most digits per geometric variable (scales up to about 2¹¹³).
const MAX_DIGITS: u32 = 120;

/// A discrete Laplace sampler of scale `t/s` running in fixed time (module docs).
#[derive(Clone, Debug)]
pub struct BoundedDiscreteLaplace {
    /// `(lo_i, hi_i)` for each digit.
    thresholds: Vec<(u128, u128)>,
    failure: f64,
}

impl BoundedDiscreteLaplace {
    /// The bounded-time sampler for scale `t/s` (both non-zero).
    pub(crate) fn new(t: &BigUint, s: &BigUint) -> Result<Self, SamplerError> {
        let mut thresholds = Vec::new();
        let mut widest: u128 = 0;
        // Digit i has exponent c_i = 2^i·s/t; stop once q^(2^L) = exp(−c_L) ≤ 2⁻¹²⁸, i.e. once
        // c_L ≥ 89 > 128·ln 2.
        for i in 0..=MAX_DIGITS {
            let c = Ratio::new(s << i as usize, t.clone());
            if c >= Ratio::from_integer(BigUint::from(89u32)) {
                let failure =
                    (2.0 * thresholds.len() as f64 * (widest as f64 + 1.0) + 2.0) * 2f64.powi(-128);
                return Ok(Self { thresholds, failure });
            }
            let (lo, hi) = digit_threshold(&c);
            widest = widest.max(hi - lo);
            thresholds.push((lo, hi));
        }
        Err(SamplerError::invalid("scale", "too large for the bounded-time mode"))
    }

    /// An upper bound `η` on the total variation distance from the exact law, which is also
    /// the probability of a failed draw.
    pub fn failure_probability(&self) -> f64 {
        self.failure
    }

    /// Random bits one sample consumes, always.
    pub fn bits_per_sample(&self) -> usize {
        2 * self.thresholds.len() * THRESHOLD_BITS
    }

    /// One sample, or [`SamplerError::BoundedTimeFailure`] with probability at most
    /// [`failure_probability`](Self::failure_probability); the work is the same either way.
    pub fn sample_i128(&self, bits: &mut RandomBits<'_>) -> Result<i128, SamplerError> {
        let (g1, f1) = self.geometric(bits);
        let (g2, f2) = self.geometric(bits);
        if (f1 | f2) != 0 {
            return Err(SamplerError::BoundedTimeFailure);
        }
        // Both are below 2^120, so the difference fits.
        Ok(g1 as i128 - g2 as i128)
    }

    /// A geometric variable digit by digit, and a non-zero flag if a coin was undecided.
    fn geometric(&self, bits: &mut RandomBits<'_>) -> (u128, u8) {
        let mut g: u128 = 0;
        let mut failed: u8 = 0;
        for (i, &(lo, hi)) in self.thresholds.iter().enumerate() {
            let u = u128::from(bits.bits(64)) | u128::from(bits.bits(64)) << 64;
            // Borrow flags as integers: `u < lo` and `u < hi`.
            let below_lo = u.overflowing_sub(lo).1 as u8;
            let below_hi = u.overflowing_sub(hi).1 as u8;
            g |= u128::from(below_lo) << i;
            failed |= below_hi & (below_lo ^ 1);
        }
        (g, failed)
    }
}

/// `(lo, hi)` with `lo ≤ 2¹²⁸·p ≤ hi` for `p = e^(−c)/(1 + e^(−c))`.
fn digit_threshold(c: &Ratio<BigUint>) -> (u128, u128) {
    let (a_lo, a_hi) = exp_neg_bounds(c);
    let one = BigUint::one() << WORK_BITS;
    // p = a/(1 + a) increases with a; in fixed point p·2¹²⁸ = a·2¹²⁸/(2^W + a).
    let lo = (&a_lo << THRESHOLD_BITS) / (&one + &a_lo);
    let hi = (&a_hi << THRESHOLD_BITS).div_ceil(&(&one + &a_hi));
    // p ≤ ½, so both fit in 127 bits.
    (lo.to_u128().unwrap_or(u128::MAX), hi.to_u128().unwrap_or(u128::MAX))
}

/// Fixed-point bounds `(lo, hi)` with `lo ≤ 2^W·exp(−c) ≤ hi`, for a rational `c ≥ 0`.
fn exp_neg_bounds(c: &Ratio<BigUint>) -> (BigUint, BigUint) {
    let whole = c.to_integer();
    let fraction = c - Ratio::from_integer(whole.clone());
    let (mut lo, mut hi) = exp_neg_fraction(&fraction);
    let (e_lo, e_hi) = exp_neg_fraction(&Ratio::from_integer(BigUint::one()));
    let mut n = BigUint::zero();
    while n < whole && !hi.is_zero() {
        lo = (&lo * &e_lo) >> WORK_BITS;
        hi = (&hi * &e_hi).div_ceil(&(BigUint::one() << WORK_BITS));
        n += 1u32;
    }
    if n < whole {
        lo = BigUint::zero();
    }
    (lo, hi)
}

/// Bounds on `2^W·exp(−f)` for a rational `0 ≤ f ≤ 1`, by the alternating Taylor series.
///
/// The terms `f^k/k!` decrease, so a partial sum ending on a subtracted term is a lower bound
/// and one ending on an added term an upper bound. Each term's magnitude is kept as a rounded
/// down and a rounded up fixed-point value, and each bound uses the rounding that keeps it a
/// bound.
fn exp_neg_fraction(f: &Ratio<BigUint>) -> (BigUint, BigUint) {
    let (a, b) = (f.numer(), f.denom());
    let one = BigUint::one() << WORK_BITS;
    let (mut term_lo, mut term_hi) = (one.clone(), one.clone());
    let (mut plus_lo, mut plus_hi) = (one.clone(), one);
    let (mut minus_lo, mut minus_hi) = (BigUint::zero(), BigUint::zero());
    for k in 1..=TAYLOR_TERMS + 1 {
        term_lo = (&term_lo * a) / (b * k);
        term_hi = (&term_hi * a).div_ceil(&(b * k));
        if k % 2 == 1 {
            minus_lo += &term_lo;
            minus_hi += &term_hi;
        } else if k <= TAYLOR_TERMS {
            plus_lo += &term_lo;
            plus_hi += &term_hi;
        } else {
            // The one extra, even term closes the upper bound on an added term.
            plus_hi += &term_hi;
        }
    }
    // Lower: Σ_{k ≤ 61} ends on the subtracted k = 61; upper: Σ_{k ≤ 62} ends on an addition.
    let lo = if plus_lo > minus_hi { plus_lo - minus_hi } else { BigUint::zero() };
    // cosh-like sum ≥ sinh-like sum for f ≤ 1, so this does not underflow; saturate anyway.
    let hi = if plus_hi > minus_lo { plus_hi - minus_lo } else { BigUint::zero() };
    (lo, hi)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{laplace_pmf, Histogram};
    use privacy_core::SecureRng;

    #[test]
    fn exponential_bounds_bracket_exp() {
        for (n, d) in [(0u32, 1u32), (1, 3), (1, 1), (7, 2), (50, 1)] {
            let c = Ratio::new(BigUint::from(n), BigUint::from(d));
            let (lo, hi) = exp_neg_bounds(&c);
            let scale = 2f64.powi(WORK_BITS as i32);
            let exact = (-(f64::from(n) / f64::from(d))).exp();
            let (lo, hi) = (lo.to_f64().unwrap() / scale, hi.to_f64().unwrap() / scale);
            assert!(lo <= exact * (1.0 + 1e-15) && exact <= hi * (1.0 + 1e-15), "{n}/{d}");
            assert!(hi - lo <= exact * 1e-60 + 1e-70, "{n}/{d}: width {}", hi - lo);
        }
    }

    #[test]
    fn bounded_laplace_has_the_discrete_laplace_law() {
        let mut rng = SecureRng::seeded_for_tests_only(110);
        let mut bits = RandomBits::new(&mut rng);
        for (t, s, seed_scale) in [(1u32, 1u32, 1.0), (37, 10, 3.7), (100, 1, 100.0)] {
            let sampler =
                BoundedDiscreteLaplace::new(&BigUint::from(t), &BigUint::from(s)).unwrap();
            assert!(sampler.failure_probability() < 1e-30);
            let hist =
                Histogram::collect(100_000, || sampler.sample_i128(&mut bits).unwrap() as i64);
            let what = format!("bounded discrete Laplace, scale {t}/{s}");
            hist.assert_fits(&laplace_pmf(seed_scale), &what);
            hist.assert_moments(&laplace_pmf(seed_scale), &what);
            hist.assert_rejects(&laplace_pmf(1.1 * seed_scale), &what);
        }
    }

    #[test]
    fn every_sample_reads_the_same_number_of_bits() {
        let sampler = BoundedDiscreteLaplace::new(&BigUint::from(5u32), &BigUint::one()).unwrap();
        let mut rng = SecureRng::seeded_for_tests_only(111);
        let mut twin = SecureRng::seeded_for_tests_only(111);
        {
            let mut bits = RandomBits::new(&mut rng);
            for _ in 0..1000 {
                sampler.sample_i128(&mut bits).unwrap();
            }
        }
        // 1000 samples of whole 64-bit words each: the generators must be in the same state
        // after skipping exactly that many words on the twin.
        let words = 1000 * sampler.bits_per_sample() / 64;
        for _ in 0..words {
            rand_core::RngCore::next_u64(&mut twin);
        }
        assert_eq!(rand_core::RngCore::next_u64(&mut rng), rand_core::RngCore::next_u64(&mut twin));
    }
}
