//! The geometric law `P(G = g) = (1 − q)·q^g` on `{0, 1, …}` with `q = exp(−s/t)`, sampled
//! digit by digit, exactly or in bounded time.
//!
//! **Digits are independent.** `q^g = Π_i (q^(2^i))^(g_i)` over the binary digits `g_i` of `g`,
//! so the law of `G` restricted to `[0, 2^L)` is a product over its `L` low digits: digit `i`
//! is 1 with probability `p_i = q^(2^i)/(1 + q^(2^i))`, independently of the others (the
//! normalising constant is `Π_(i<L) (1 + q^(2^i)) = (1 − q^(2^L))/(1 − q)`). And `G` is
//! memoryless: `G ≥ 2^L` has probability `Q = q^(2^L)`, and then `G − 2^L` is again
//! geometric with ratio `q`. So
//!
//! ```text
//! G = K·2^L + D,   K ~ Geometric(Q),   D = Σ_(i<L) d_i·2^i,   d_i ~ Bernoulli(p_i),
//! ```
//!
//! all independent: `P(K = k, D = d) = (1 − Q)Q^k · q^d(1 − q)/(1 − Q) = (1 − q)·q^(k·2^L + d)`.
//! This is the same decomposition the bounded-time discrete Laplace uses
//! (`docs/proofs/bounded-time.md`).
//!
//! **Exact mode** takes `L` with `2^L·s/t ≥ 6`, so `Q ≤ e⁻⁶ ≈ 0.0025`: a draw is `L` digit
//! coins and, almost always, one tail coin; every coin is an exact [`LazyProbability`]
//! reading 8 bits on average. The work is then nearly independent of the value drawn (only
//! the count `K` of tail coins varies, and it is 0 with probability 0.9975), but not
//! independent: this mode makes no timing claim.
//!
//! **Bounded-time mode** takes `L` with `2^L·s/t ≥ 89`, so `Q < 2⁻¹²⁸`, drops `K` (the event
//! `K > 0` is a truncation folded into the failure probability), and flips each digit coin
//! from 127 fresh bits with [`LazyProbability::sample_bounded`]: a fixed number of bits and
//! operations per draw.
//!
//! The digit probabilities are computed once, when the table is built, from one evaluation of
//! `q` and repeated squaring (`q^(2^(i+1)) = (q^(2^i))²`) with directed rounding at
//! `127 + 64 + L` bits: each squaring at most doubles the width of the interval, so after `L`
//! of them it is still below `2^(L+3)` units of `2^−(191+L)`, far inside one unit of 2⁻¹²⁷.
//!
//! Trade-off: a table of `L ≈ log₂(t/s) + 3` coins (about 48 for the float Laplace's scales),
//! built with big integers in well under a millisecond, for draws that cost `L` comparisons.

use num_bigint::BigUint;
use num_rational::Ratio;
use num_traits::One;

use super::exp_bounds::{ceil_shift, exp_neg_bounds, logistic_from_exp};
use super::lazy::{Law, LazyProbability, COIN_BITS};
use super::uniform::{Nat, RandomBits};
use super::SamplerError;

/// Exact mode: digits until `2^L·s/t ≥ EXACT_TAIL`.
const EXACT_TAIL: u32 = 6;
/// Bounded mode: digits until `2^L·s/t ≥ BOUNDED_TAIL`, so that `exp(−2^L·s/t) < 2⁻¹²⁸`
/// (`89 > 128·ln 2 ≈ 88.7`).
const BOUNDED_TAIL: u32 = 89;
/// Most digits of the bounded mode, whose draws are `u128`s (scales up to about 2¹¹³).
pub(crate) const MAX_BOUNDED_DIGITS: usize = 120;

/// The digit coins of one geometric law (module docs).
#[derive(Clone, Debug)]
pub(crate) struct GeometricDigits {
    /// `p_i` for `i` below the larger of the two modes' digit counts.
    digits: Vec<LazyProbability>,
    /// Digits of the exact mode.
    exact_digits: usize,
    /// `Q = q^(2^exact_digits)`, the probability of one more tail block in exact mode.
    tail: LazyProbability,
    /// Digits of the bounded mode, if the scale allows it.
    bounded_digits: Option<usize>,
}

impl GeometricDigits {
    /// The table for `q = exp(−s/t)`, with `t, s ≥ 1` (the caller has checked they are not 0).
    pub(crate) fn new(t: &BigUint, s: &BigUint) -> Self {
        let exact_digits = digits_until(t, s, EXACT_TAIL);
        let bounded = digits_until(t, s, BOUNDED_TAIL);
        let bounded_digits = (bounded <= MAX_BOUNDED_DIGITS).then_some(bounded);
        let count = bounded_digits.unwrap_or(exact_digits).max(exact_digits);
        let work = COIN_BITS as usize + 64 + count;
        let c0 = Ratio::new(s.clone(), t.clone());
        let (mut a_lo, mut a_hi) = exp_neg_bounds(&c0, work);
        let mut digits = Vec::with_capacity(count);
        let mut tail = None;
        for i in 0..=count {
            let c = &c0 * BigUint::from(2u32).pow(i as u32);
            if i == exact_digits {
                let lo = &a_lo >> (work - COIN_BITS as usize);
                let hi = ceil_shift(&a_hi, work - COIN_BITS as usize);
                tail = Some(LazyProbability::with_bounds(Law::ExpNeg(c.clone()), &lo, &hi));
            }
            if i == count {
                break;
            }
            let (lo, hi) = logistic_from_exp((&a_lo, &a_hi), work, COIN_BITS as usize);
            digits.push(LazyProbability::with_bounds(Law::Logistic(c), &lo, &hi));
            // q^(2^(i+1)) = (q^(2^i))², rounded outward.
            a_lo = (&a_lo * &a_lo) >> work;
            a_hi = ceil_shift(&(&a_hi * &a_hi), work);
        }
        // `exact_digits ≤ count`, so the loop set the tail; the fallback is never used.
        let tail = tail.unwrap_or_else(|| LazyProbability::new(Law::ExpNeg(c0)));
        Self { digits, exact_digits, tail, bounded_digits }
    }

    /// One exact draw.
    pub(crate) fn sample(&self, bits: &mut RandomBits<'_>) -> Nat {
        let digits = &self.digits[..self.exact_digits];
        let low = if digits.len() <= 127 {
            let mut d: u128 = 0;
            for (i, p) in digits.iter().enumerate() {
                d |= u128::from(p.sample(bits)) << i;
            }
            Nat::from_u128(d)
        } else {
            let mut d = BigUint::default();
            for (i, p) in digits.iter().enumerate() {
                if p.sample(bits) {
                    d.set_bit(i as u64, true);
                }
            }
            Nat::from_biguint(&d)
        };
        let mut blocks = Nat::ZERO;
        while self.tail.sample(bits) {
            blocks = blocks.add(&Nat::ONE);
        }
        if blocks.is_zero() {
            return low;
        }
        let block = Nat::from_biguint(&(BigUint::one() << self.exact_digits));
        blocks.mul(&block).add(&low)
    }

    /// Digits of the bounded mode, or an error if the scale is too large for it.
    pub(crate) fn bounded_digits(&self) -> Result<usize, SamplerError> {
        self.bounded_digits
            .ok_or(SamplerError::invalid("scale", "too large for the bounded-time mode"))
    }

    /// One bounded-time draw of the `L`-digit truncation and whether a coin failed; reads
    /// `L·127` bits and does the same operations whatever it draws. Requires the bounded mode
    /// ([`bounded_digits`](Self::bounded_digits)); with fewer digits it draws what it has.
    #[inline]
    pub(crate) fn sample_bounded(&self, bits: &mut RandomBits<'_>) -> (u128, bool) {
        let count = self.bounded_digits.unwrap_or(0);
        let mut g: u128 = 0;
        let mut failed = false;
        for (i, p) in self.digits[..count].iter().enumerate() {
            let (digit, fail) = p.sample_bounded(bits);
            g |= u128::from(digit) << i;
            failed |= fail;
        }
        (g, failed)
    }

    /// Units of 2⁻¹²⁷ of failure probability, summed over the bounded mode's digit coins.
    pub(crate) fn bounded_failure_units(&self) -> u128 {
        let count = self.bounded_digits.unwrap_or(0);
        self.digits[..count].iter().map(LazyProbability::failure_units).sum()
    }

    /// The digit coins of the exact mode (for tests).
    #[cfg(test)]
    pub(crate) fn exact_digit_count(&self) -> usize {
        self.exact_digits
    }
}

/// The smallest `L ≥ 0` with `2^L·s ≥ bound·t`.
fn digits_until(t: &BigUint, s: &BigUint, bound: u32) -> usize {
    let target = t * bound;
    let mut l = 0usize;
    let mut scaled = s.clone();
    while scaled < target {
        scaled <<= 1usize;
        l += 1;
    }
    l
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use privacy_core::SecureRng;

    #[test]
    fn digit_counts_follow_the_scale() {
        let g = GeometricDigits::new(&BigUint::from(10u32), &BigUint::one());
        // 2^6/10 = 6.4 ≥ 6 and 2^10/10 = 102.4 ≥ 89.
        assert_eq!((g.exact_digit_count(), g.bounded_digits().unwrap()), (6, 10));
        let tiny = GeometricDigits::new(&BigUint::one(), &BigUint::from(100u32));
        assert_eq!((tiny.exact_digit_count(), tiny.bounded_digits().unwrap()), (0, 0));
        let huge = GeometricDigits::new(&(BigUint::one() << 200usize), &BigUint::one());
        assert!(huge.bounded_digits().is_err());
        assert_eq!(huge.exact_digit_count(), 203);
    }

    #[test]
    fn intervals_are_narrow_after_all_the_squarings() {
        let g = GeometricDigits::new(&(BigUint::one() << 100usize), &BigUint::from(3u32));
        assert!(g.bounded_failure_units() <= 4 * g.digits.len() as u128);
        for p in &g.digits {
            let (lo, hi) = p.interval();
            assert!(hi - lo <= 4, "interval of width {}", hi - lo);
        }
    }

    #[test]
    fn huge_scales_draw_beyond_u128() {
        let g = GeometricDigits::new(&(BigUint::one() << 200usize), &BigUint::one());
        let mut rng = SecureRng::seeded_for_tests_only(9);
        let mut bits = RandomBits::new(&mut rng);
        let big = (0..20).filter(|_| g.sample(&mut bits).to_biguint().bits() > 150).count();
        assert!(big >= 15, "a geometric of mean 2^200 is beyond 2^150 almost always: {big}");
    }
}
