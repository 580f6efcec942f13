//! `Bernoulli(2^j · exp(−γ))` for a rational `γ` and an integer `j` with `j·ln 2 ≤ γ`, exactly.
//!
//! This is the acceptance test of the exponential mechanism's rejection sampler, whose proposal
//! weights are powers of two (exactly samplable) bounding `exp(−γ)` from above. The success
//! probability is `exp(−x)` with `x = γ − j·ln 2`, an irrational exponent; it is sampled with
//! von Neumann's method like `Bernoulli(exp(−γ))` (CKS 2020, Algorithm 1), except that each
//! inner coin `Bernoulli(x/(n·k))` compares a uniform real, whose bits are drawn lazily, with
//! `x/(n·k)`, evaluated from rigorous rational bounds on `ln 2` that are refined until the
//! comparison is decided. The result is exact: no bound is ever taken for the value.
//!
//! `ln 2 = Σ_{i ≥ 1} 1/(i·2^i)`; cutting the series after `q` terms and rounding every term down
//! to a multiple of `2⁻q` gives a lower bound, and the dropped tail is below `2⁻q`, so adding
//! `q + 1` units gives an upper bound. Each inner comparison is first tried on 64 random bits
//! against `u128` fixed-point bounds on `x/(n·k)` (computed once per coin); only when those
//! 64 bits cannot decide (probability about `2⁻⁶²`) does it continue with big integers, from
//! the same bits. Trade-off: big-integer set-up per coin (a few multiplications), acceptable
//! because the mechanisms using it flip one coin per candidate and release, not per record.

use std::sync::OnceLock;

use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};

use super::uniform::RandomBits;

/// Precision of the cached bounds on `ln 2`, in bits.
const CACHED_BITS: u32 = 256;

/// `(lo, hi)` with `lo ≤ 2^q · ln 2 ≤ hi` and `hi − lo = q + 1`.
pub(crate) fn ln2_bounds(q: u32) -> (BigUint, BigUint) {
    let mut lo = BigUint::zero();
    for i in 1..=q {
        // ⌊2^(q−i)/i⌋ ≤ 2^q/(i·2^i): each term rounds down by less than one unit.
        lo += (BigUint::one() << (q - i) as usize) / i;
    }
    let hi = &lo + (q + 1);
    (lo, hi)
}

fn cached_ln2() -> &'static (BigUint, BigUint) {
    static CACHE: OnceLock<(BigUint, BigUint)> = OnceLock::new();
    CACHE.get_or_init(|| ln2_bounds(CACHED_BITS))
}

/// `true` with probability `2^j · exp(−a/b)`.
///
/// * **Precondition:** `b > 0` and `j·ln 2 ≤ a/b`, so that the probability is at most 1. The
///   caller establishes it from an upper bound on `ln 2` (for example with [`ln2_bounds`]).
/// * **Algorithm:** with `x = a/b − j·ln 2 ≥ 0` and an integer `n ≥ x`, return whether `n`
///   independent draws of `Bernoulli(exp(−x/n))` all succeed; each draw is von Neumann's:
///   draw `Aₖ ~ Bernoulli(x/(n·k))` for `k = 1, 2, …` until the first failure, and succeed if
///   that `k` is odd (`P = exp(−x/n)` since `x/n ≤ 1`; CKS 2020, Algorithm 1).
/// * **Postcondition:** `P(true) = exp(−x/n)^n = exp(−x) = 2^j·exp(−a/b)`.
pub(crate) fn bernoulli_exp_times_power_of_two(
    a: &BigUint,
    b: &BigUint,
    j: u64,
    bits: &mut RandomBits<'_>,
) -> bool {
    PowerOfTwoCoin::new(a, b, j).sample(bits)
}

/// The coin of [`bernoulli_exp_times_power_of_two`], set up once to be flipped many times.
pub(crate) struct PowerOfTwoCoin<'a> {
    exponent: Exponent<'a>,
    /// `n`, the number of von Neumann pieces.
    pieces: BigUint,
    /// `n` when it fits a `u64` (always, but for astronomically large exponents).
    small_pieces: Option<u64>,
}

impl<'a> PowerOfTwoCoin<'a> {
    /// The coin `2^j·exp(−a/b)`, under the precondition of
    /// [`bernoulli_exp_times_power_of_two`].
    pub(crate) fn new(a: &'a BigUint, b: &'a BigUint, j: u64) -> Self {
        let exponent = Exponent::new(a, b, j);
        let pieces = exponent.piece_count();
        let small_pieces = pieces.to_u64();
        Self { exponent, pieces, small_pieces }
    }

    /// One flip.
    pub(crate) fn sample(&self, bits: &mut RandomBits<'_>) -> bool {
        let mut done = BigUint::zero();
        while done < self.pieces {
            if !self.von_neumann(bits) {
                return false;
            }
            done += 1u32;
        }
        true
    }

    /// One draw of `Bernoulli(exp(−x/n))`, `x/n ≤ 1`.
    fn von_neumann(&self, bits: &mut RandomBits<'_>) -> bool {
        let mut k: u64 = 1;
        // `k` grows by one per loop and passes 20 with probability below 1/20! ≈ 4·10⁻¹⁹, so
        // it cannot overflow.
        loop {
            let small = self.small_pieces.map(|n| u128::from(n) * u128::from(k));
            if !self.exponent.below(small, || &self.pieces * k, bits) {
                return k % 2 == 1;
            }
            k += 1;
        }
    }
}

/// `x = a/b − j·ln 2`.
struct Exponent<'a> {
    a: &'a BigUint,
    b: &'a BigUint,
    j: BigUint,
    /// `(x_lo, x_hi)` with `x_lo ≤ 2⁶⁴·x ≤ x_hi`, when `x < 2⁶²`.
    fixed: Option<(u128, u128)>,
}

impl<'a> Exponent<'a> {
    fn new(a: &'a BigUint, b: &'a BigUint, j: u64) -> Self {
        let j = BigUint::from(j);
        let (lo, hi) = cached_ln2();
        // 2⁶⁴·x = (a·2^q − j·b·ln2·2^q)·2⁶⁴/(b·2^q), bounded with ln 2's bounds.
        let a_scaled = BigInt::from(a << (CACHED_BITS + 64) as usize);
        let denom = BigInt::from(b << CACHED_BITS as usize);
        let x_lo = (&a_scaled - BigInt::from((&j * b * hi) << 64usize)).div_floor(&denom);
        let x_hi = (a_scaled - BigInt::from((&j * b * lo) << 64usize)).div_ceil(&denom);
        let fixed = match (x_lo.to_u128(), x_hi.to_u128()) {
            (Some(l), Some(h)) if h < 1 << 126 => Some((l, h)),
            // A negative lower bound (x within 2⁻²⁵⁶ of 0) is still a bound as 0.
            (None, Some(h)) if x_lo.sign() == num_bigint::Sign::Minus && h < 1 << 126 => {
                Some((0, h))
            }
            _ => None,
        };
        Self { a, b, j, fixed }
    }

    /// An integer `n ≥ max(x, 1)`: `⌈(a·2^q − j·b·lo)/(b·2^q)⌉`, since `lo ≤ 2^q·ln 2`.
    fn piece_count(&self) -> BigUint {
        let (lo, _) = cached_ln2();
        let numer =
            BigInt::from(self.a << CACHED_BITS as usize) - BigInt::from(&self.j * self.b * lo);
        let denom = BigInt::from(self.b << CACHED_BITS as usize);
        // A negative numerator would break the precondition; `max(·, 1)` keeps this total.
        let n = numer.div_ceil(&denom);
        n.to_biguint().filter(|n| !n.is_zero()).unwrap_or_else(BigUint::one)
    }

    /// Whether a uniform real `V ∈ [0, 1)`, drawn 64 bits at a time, is below `x/d`.
    ///
    /// With `V ∈ [v/2^p, (v+1)/2^p)` and `b·x·2^q ∈ [x_lo, x_hi]`: `V < x/d` is certain once
    /// `(v+1)·d·b·2^q ≤ x_lo·2^p`, and `V ≥ x/d` once `v·d·b·2^q ≥ x_hi·2^p`. Otherwise one more
    /// word of `V` is drawn, and `ln 2` is refined when its uncertainty is what blocks the
    /// decision. Both intervals shrink geometrically, so the loop ends with probability 1
    /// (after one word, but for a probability of about `2⁻⁶³`).
    fn below(
        &self,
        small: Option<u128>,
        big: impl FnOnce() -> BigUint,
        bits: &mut RandomBits<'_>,
    ) -> bool {
        let first = bits.bits(64);
        // V ∈ [v/2⁶⁴, (v+1)/2⁶⁴) and 2⁶⁴·x/d ∈ [⌊x_lo/d⌋, ⌈x_hi/d⌉].
        if let (Some((x_lo, x_hi)), Some(d)) = (self.fixed, small) {
            let v = u128::from(first);
            if v < x_lo / d {
                return true;
            }
            if v >= x_hi.div_ceil(d) {
                return false;
            }
        }
        let d = &big();
        let mut q = CACHED_BITS;
        let mut bounds = cached_ln2().clone();
        let mut v = BigUint::from(first);
        let mut p: usize = 64;
        loop {
            let a_scaled = BigInt::from(self.a << q as usize);
            let x_lo = &a_scaled - BigInt::from(&self.j * self.b * &bounds.1);
            let x_hi = a_scaled - BigInt::from(&self.j * self.b * &bounds.0);
            // V < x/d  ⟺  V·d·b < a − j·b·ln 2, compared after scaling by 2^(p+q).
            let dq = BigInt::from((d * self.b) << q as usize);
            let vi = BigInt::from(v.clone());
            if (&vi + 1u32) * &dq <= x_lo.clone() << p {
                return true;
            }
            if vi * &dq >= x_hi.clone() << p {
                return false;
            }
            // Refine whichever uncertainty is larger: V's (d·b·2^q/2^p) or ln 2's (x_hi − x_lo).
            if (x_hi - x_lo) << p >= dq {
                q *= 2;
                bounds = ln2_bounds(q);
            } else {
                v = (v << 64usize) | BigUint::from(bits.bits(64));
                p += 64;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_bernoulli_fits, assert_counts_reject};
    use privacy_core::SecureRng;

    #[test]
    fn ln2_bounds_bracket_ln2() {
        for q in [8u32, 53, 256] {
            let (lo, hi) = ln2_bounds(q);
            let scale = 2f64.powi(q as i32);
            let (lo, hi) = (lo.to_f64().unwrap() / scale, hi.to_f64().unwrap() / scale);
            let ln2 = std::f64::consts::LN_2;
            assert!(lo <= ln2 && ln2 <= hi, "q = {q}: [{lo}, {hi}]");
            assert!(hi - lo <= (q as f64 + 1.0) / scale);
        }
    }

    #[test]
    fn probability_is_two_to_the_j_times_exp_minus_gamma() {
        // 10⁶ flips per coin (the chi-square test of a coin is its binomial and KS test).
        const DRAWS: u64 = 1_000_000;
        let mut rng = SecureRng::seeded_for_tests_only(40);
        let mut bits = RandomBits::new(&mut rng);
        // (a, b, j): γ = a/b, with j·ln 2 ≤ γ; j = 0 is plain Bernoulli(exp(−γ)).
        for (a, b, j) in [(1u32, 2u32, 0u64), (7, 10, 1), (5, 2, 3), (29, 4, 10), (3, 1, 0)] {
            let (ab, bb) = (BigUint::from(a), BigUint::from(b));
            let coin = PowerOfTwoCoin::new(&ab, &bb, j);
            assert!(coin.exponent.fixed.is_some());
            let trues = (0..DRAWS).filter(|_| coin.sample(&mut bits)).count() as u64;
            let gamma = f64::from(a) / f64::from(b);
            let p = 2f64.powi(j as i32) * (-gamma).exp();
            let what = format!("2^{j}·exp(-{a}/{b})");
            assert_bernoulli_fits(trues, DRAWS, p, &what);
            let wrong = if p > 0.5 { p * 0.99 } else { p * 1.06 };
            let n = DRAWS as f64;
            assert_counts_reject(&[trues, DRAWS - trues], &[n * wrong, n * (1.0 - wrong)], &what);
        }
    }

    #[test]
    fn fixed_point_shortcut_makes_the_same_decisions() {
        // With the u128 shortcut removed, every flip must read the same bits and agree.
        for (a, b, j) in [(7u32, 10u32, 1u64), (29, 4, 10), (1000, 3, 0)] {
            let (ab, bb) = (BigUint::from(a), BigUint::from(b));
            let fast = PowerOfTwoCoin::new(&ab, &bb, j);
            let mut slow = PowerOfTwoCoin::new(&ab, &bb, j);
            slow.exponent.fixed = None;
            let mut r1 = SecureRng::seeded_for_tests_only(42);
            let mut r2 = SecureRng::seeded_for_tests_only(42);
            let (mut b1, mut b2) = (RandomBits::new(&mut r1), RandomBits::new(&mut r2));
            for _ in 0..3000 {
                assert_eq!(fast.sample(&mut b1), slow.sample(&mut b2), "{a}/{b}, j = {j}");
            }
            assert_eq!(b1.bits(64), b2.bits(64), "the two read different numbers of bits");
        }
    }

    #[test]
    fn a_tight_exponent_is_decided() {
        // γ = 0.693147180559945309…: j = 1 leaves x just above 0 (the first 18 digits of ln 2,
        // rounded up), so the comparisons must use the bounds on ln 2.
        let mut rng = SecureRng::seeded_for_tests_only(41);
        let mut bits = RandomBits::new(&mut rng);
        let a = BigUint::from(693_147_180_559_945_310u64);
        let b = BigUint::from(10u64).pow(18);
        let trues =
            (0..1000).filter(|_| bernoulli_exp_times_power_of_two(&a, &b, 1, &mut bits)).count();
        assert_eq!(trues, 1000, "P = exp(−10⁻¹⁸ or so): a false would be a 10⁻¹⁵ event");
    }
}
