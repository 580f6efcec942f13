//! Coins whose probability is a fixed irrational number, flipped exactly by comparing random
//! bits with the number's binary digits as lazily as possible.
//!
//! A coin `Bernoulli(p)` is `[V < p]` for a uniform real `V ∈ [0, 1)`. Comparing the binary
//! digits of `V` and `p` from the first one on, the first place where they differ decides,
//! so only as many digits of `V` are drawn as it takes to differ from `p`. A
//! [`LazyProbability`] keeps the first 64 digits of `p` (settled when it is built, from a
//! rigorous interval) and compares `V` with them eight digits at a time: the first chunk
//! decides with probability `255/256`, and one draw reads eight random bits on average. Only
//! when `V` agrees with all 64 known digits, an event of probability `2⁻⁶⁴`, are further digits
//! of `p` computed, with big integers at twice the precision each time they run out
//! ([`super::exp_bounds`]). The result is exact: no digit is ever guessed.
//!
//! The same object gives a **bounded-time coin**: read 127 random bits `u` and compare them
//! with the interval `lo ≤ 2¹²⁷·p ≤ hi`; `u < lo` proves `V < p`, `u ≥ hi` proves `V ≥ p`, and
//! anything else is a failure, of probability `(hi − lo)/2¹²⁷`, at the same cost.
//!
//! Trade-off: each coin stores its 127-bit interval and a description of `p` to refine it,
//! built once per sampler with big integers, so that a flip costs one comparison.

use num_bigint::BigUint;
use num_rational::Ratio;
use num_traits::{One, ToPrimitive};

use super::exp_bounds::{exp_neg_bounds, logistic_bounds};
use super::uniform::RandomBits;

/// Bits of the stored interval.
pub(crate) const COIN_BITS: u32 = 127;

/// The number a coin's probability is, in a form that can be evaluated to any precision.
#[derive(Clone, Debug)]
pub(crate) enum Law {
    /// `exp(−c)`, for a rational `c > 0`.
    ExpNeg(Ratio<BigUint>),
    /// `exp(−c)/(1 + exp(−c))`, for a rational `c > 0`.
    Logistic(Ratio<BigUint>),
    /// `1/(1 + m·exp(−c))`, for a rational `c > 0` and an integer `m ≥ 1`: the probability
    /// that randomized response over `m + 1` categories keeps the truth.
    Keep(Ratio<BigUint>, BigUint),
}

impl Law {
    /// `(lo, hi)` with `lo ≤ 2^bits·p ≤ hi`.
    fn bounds(&self, bits: usize) -> (BigUint, BigUint) {
        match self {
            Law::ExpNeg(c) => exp_neg_bounds(c, bits),
            Law::Logistic(c) => logistic_bounds(c, bits),
            Law::Keep(c, m) => {
                // p = 2^w/(2^w + m·a) decreases in a = 2^w·exp(−c).
                let work = bits + 64;
                let (a_lo, a_hi) = exp_neg_bounds(c, work);
                let one = BigUint::one() << work;
                let lo = (&one << bits) / (&one + m * a_hi);
                let hi = num_integer::Integer::div_ceil(&(&one << bits), &(&one + m * a_lo));
                (lo, hi)
            }
        }
    }
}

/// A coin of fixed irrational probability `p ∈ (0, 1)` (module docs).
#[derive(Clone, Debug)]
pub(crate) struct LazyProbability {
    /// `lo ≤ 2¹²⁷·p`.
    lo: u128,
    /// `2¹²⁷·p ≤ hi ≤ 2¹²⁷`.
    hi: u128,
    /// `⌊2⁶⁴·p⌋`, when the interval settles it.
    top: Option<u64>,
    law: Law,
}

impl LazyProbability {
    /// The coin for `law`, its interval computed now.
    pub(crate) fn new(law: Law) -> Self {
        let (lo, hi) = law.bounds(COIN_BITS as usize);
        Self::with_bounds(law, &lo, &hi)
    }

    /// The coin for `law` with a 127-bit interval the caller has computed rigorously.
    pub(crate) fn with_bounds(law: Law, lo: &BigUint, hi: &BigUint) -> Self {
        let cap = 1u128 << COIN_BITS;
        // An upper bound above 1 is replaced by 1, which is still an upper bound of p ≤ 1.
        let hi = hi.to_u128().map_or(cap, |h| h.min(cap));
        let lo = lo.to_u128().map_or(cap, |l| l.min(hi));
        let shift = COIN_BITS - 64;
        let top = (lo >> shift == hi >> shift).then(|| (lo >> shift) as u64);
        Self { lo, hi, top: top.filter(|_| hi >> shift < 1 << 64), law }
    }

    /// The interval `(lo, hi)` around `2¹²⁷·p`.
    #[cfg(test)]
    pub(crate) fn interval(&self) -> (u128, u128) {
        (self.lo, self.hi)
    }

    /// One exact flip: `true` with probability `p`.
    #[inline]
    pub(crate) fn sample(&self, bits: &mut RandomBits<'_>) -> bool {
        let Some(top) = self.top else {
            return self.sample_beyond(bits, 0);
        };
        for shift in (0..64).step_by(8).rev() {
            let digits = (top >> shift) as u8;
            let v = bits.bits(8) as u8;
            if v != digits {
                return v < digits;
            }
        }
        self.sample_beyond(bits, 64)
    }

    /// The flip after `V` was found to agree with the first `start` digits of `p` (a multiple
    /// of 8): compares further chunks of eight digits, computing `p` to more precision when
    /// the chunk is not settled yet. Reads the same chunks as [`sample`](Self::sample).
    #[cold]
    fn sample_beyond(&self, bits: &mut RandomBits<'_>, start: usize) -> bool {
        let mut position = start;
        let mut precision = 256usize.max(2 * start);
        loop {
            let (lo, hi) = self.law.bounds(precision);
            // Digits [position, position + 8) are settled when the interval's ends agree on
            // the first position + 8 digits.
            while position + 8 <= precision {
                let shift = precision - position - 8;
                let (a, b) = (&lo >> shift, &hi >> shift);
                if a != b {
                    break;
                }
                let digits = (a & BigUint::from(0xffu32)).to_u8().unwrap_or(0);
                let v = bits.bits(8) as u8;
                if v != digits {
                    return v < digits;
                }
                position += 8;
            }
            precision *= 2;
        }
    }

    /// One bounded-time flip from 127 fresh bits: `(outcome, failed)`. When `failed` is false
    /// the outcome is that of the exact coin on a uniform real whose first 127 bits are the
    /// ones read; `failed` has probability `(hi − lo)/2¹²⁷`. No branch depends on the bits.
    #[inline]
    pub(crate) fn sample_bounded(&self, bits: &mut RandomBits<'_>) -> (bool, bool) {
        let u = bits.bits127();
        let below_lo = u < self.lo;
        let below_hi = u < self.hi;
        (below_lo, below_hi & !below_lo)
    }

    /// The probability of a failed bounded-time flip, `(hi − lo)/2¹²⁷`, exactly as an integer
    /// count of units of 2⁻¹²⁷.
    pub(crate) fn failure_units(&self) -> u128 {
        self.hi - self.lo
    }
}

/// `exp(−1)`, shared by every sampler that flips it.
pub(crate) fn exp_minus_one() -> &'static LazyProbability {
    static COIN: std::sync::OnceLock<LazyProbability> = std::sync::OnceLock::new();
    COIN.get_or_init(|| LazyProbability::new(Law::ExpNeg(Ratio::from_integer(BigUint::one()))))
}

/// A lazily built coin of a law whose interval is not settled on 64 digits, for the tests of
/// the slow path.
#[cfg(test)]
pub(crate) fn unsettled(law: Law) -> LazyProbability {
    let mut coin = LazyProbability::new(law);
    coin.top = None;
    coin
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_bernoulli_fits, assert_counts_reject};
    use privacy_core::SecureRng;

    fn ratio(n: u64, d: u64) -> Ratio<BigUint> {
        Ratio::new(BigUint::from(n), BigUint::from(d))
    }

    #[test]
    fn fast_and_slow_paths_agree_bit_for_bit() {
        // The slow path, started from the first digit, reads the same chunks and must make the
        // same decision on every stream.
        for law in [Law::ExpNeg(ratio(1, 1)), Law::Logistic(ratio(3, 7)), Law::ExpNeg(ratio(9, 4))]
        {
            let fast = LazyProbability::new(law.clone());
            let slow = unsettled(law);
            let mut a = SecureRng::seeded_for_tests_only(5);
            let mut b = SecureRng::seeded_for_tests_only(5);
            let (mut bits_a, mut bits_b) = (RandomBits::new(&mut a), RandomBits::new(&mut b));
            for _ in 0..2000 {
                assert_eq!(fast.sample(&mut bits_a), slow.sample(&mut bits_b));
            }
        }
    }

    #[test]
    fn exp_minus_one_has_its_probability() {
        const DRAWS: u64 = 1_000_000;
        let mut rng = SecureRng::seeded_for_tests_only(6);
        let mut bits = RandomBits::new(&mut rng);
        let coin = exp_minus_one();
        let trues = (0..DRAWS).filter(|_| coin.sample(&mut bits)).count() as u64;
        let p = (-1f64).exp();
        assert_bernoulli_fits(trues, DRAWS, p, "exp(-1) coin");
        let n = DRAWS as f64;
        let wrong = p * 1.01;
        assert_counts_reject(&[trues, DRAWS - trues], &[n * wrong, n * (1.0 - wrong)], "1% off");
    }

    #[test]
    fn ties_on_64_digits_are_decided_by_further_digits() {
        // A scripted stream that agrees with the first 64 digits of exp(−1), then offers a
        // chunk just below or just above digits 64..72: the slow path must decide from those.
        let coin = exp_minus_one();
        let (lo, hi) = Law::ExpNeg(ratio(1, 1)).bounds(256);
        assert_eq!(&lo >> 128usize, &hi >> 128usize, "exp(−1) settled on 128 digits");
        let top = (&lo >> 192usize).to_u64().unwrap();
        assert_eq!(Some(top), coin.top);
        let next = ((&lo >> 184usize) & BigUint::from(0xffu32)).to_u8().unwrap();
        // Chunks are read low byte first; the first chunk compared holds digits 1..8.
        let word = (0..8).fold(0u64, |w, i| w | ((top >> (56 - 8 * i)) & 0xff) << (8 * i));
        for (v, expected) in [(next.checked_sub(1), true), (next.checked_add(1), false)] {
            let Some(v) = v else { continue };
            let mut rng = SecureRng::seeded_for_tests_only(8);
            let mut bits = RandomBits::scripted(&mut rng, vec![word, u64::from(v)]);
            assert_eq!(coin.sample(&mut bits), expected, "chunk {v} against digits {next}");
        }
    }

    #[test]
    fn bounded_flips_fail_rarely_and_follow_the_law() {
        const DRAWS: u64 = 1_000_000;
        let coin = LazyProbability::new(Law::Logistic(ratio(1, 3)));
        assert!(coin.failure_units() <= 4);
        let mut rng = SecureRng::seeded_for_tests_only(7);
        let mut bits = RandomBits::new(&mut rng);
        let mut trues = 0u64;
        for _ in 0..DRAWS {
            let (outcome, failed) = coin.sample_bounded(&mut bits);
            assert!(!failed);
            trues += u64::from(outcome);
        }
        let q = (-1f64 / 3.0).exp();
        assert_bernoulli_fits(trues, DRAWS, q / (1.0 + q), "bounded logistic coin");
    }
}
