//! Rigorous fixed-point bounds on `exp(−c)` for a rational `c ≥ 0`, at any precision.
//!
//! The fast samplers compare random bits with irrational probabilities such as `exp(−1)` or
//! `q/(1 + q)` for `q = exp(−s/t)`. They never need the value itself, only its binary digits
//! one at a time, and a digit is known once an interval around the value is narrow enough not
//! to contain a multiple of the digit's place. This module computes such intervals, at a
//! precision the caller chooses, with big-integer arithmetic rounded in the safe direction at
//! every step, so that `lo ≤ 2^bits·exp(−c) ≤ hi` is a theorem and not a floating-point hope.
//!
//! Method: `c = n + f` with an integer `n` and `0 ≤ f < 1`. `exp(−f)` is the alternating
//! series `Σ (−f)^k/k!`, whose terms decrease for `f ≤ 1`, so a partial sum that ends on a
//! subtracted term is a lower bound and one that ends on an added term an upper bound; every
//! term is kept as a rounded-down and a rounded-up fixed-point value and each bound uses the
//! rounding that keeps it a bound. `exp(−n) = exp(−1)^n` by square-and-multiply on the bounds
//! of `exp(−1)`, rounding the lower product down and the upper one up. Everything is computed
//! with 64 guard bits and rounded outward to the requested precision at the end.
//!
//! Trade-off: big integers and a few dozen series terms per call. These bounds are computed
//! when a sampler is built, or on the rare draws (probability about `2⁻⁶⁴`) whose random bits
//! agree with the first 64 digits of a probability; never on the common path of a draw.

use num_bigint::BigUint;
use num_integer::Integer;
use num_rational::Ratio;
use num_traits::{One, ToPrimitive, Zero};

/// Guard bits carried below the requested precision.
const GUARD: usize = 64;

/// `(lo, hi)` with `lo ≤ 2^bits·exp(−c) ≤ hi`, for a rational `c ≥ 0` whose denominator is not
/// zero (callers pass ratios they have checked). `hi − lo` is a few units.
pub(crate) fn exp_neg_bounds(c: &Ratio<BigUint>, bits: usize) -> (BigUint, BigUint) {
    let work = bits + GUARD;
    let whole = c.to_integer();
    // exp(−n) ≤ 2^(−1.44·n): beyond n = bits + 2 the value is below one unit of 2^−bits.
    let Some(n) = whole.to_usize().filter(|&n| n <= bits + 2) else {
        return (BigUint::zero(), BigUint::one());
    };
    let fraction = c - Ratio::from_integer(whole);
    let (f_lo, f_hi) = exp_neg_fraction(fraction.numer(), fraction.denom(), work);
    let (p_lo, p_hi) = exp_neg_integer(n, work);
    let lo = (f_lo * p_lo) >> (work + GUARD);
    let hi = ceil_shift(&(f_hi * p_hi), work + GUARD);
    (lo, hi)
}

/// `(lo, hi)` with `lo ≤ 2^bits·p ≤ hi` for `p = exp(−c)/(1 + exp(−c))`, the probability that
/// a binary digit of a geometric variable is 1.
pub(crate) fn logistic_bounds(c: &Ratio<BigUint>, bits: usize) -> (BigUint, BigUint) {
    let work = bits + GUARD;
    let (a_lo, a_hi) = exp_neg_bounds(c, work);
    logistic_from_exp((&a_lo, &a_hi), work, bits)
}

/// Bounds on `2^bits·a/(1 + a)` from bounds on `2^work·a`: the map is increasing in `a`.
pub(crate) fn logistic_from_exp(
    a: (&BigUint, &BigUint),
    work: usize,
    bits: usize,
) -> (BigUint, BigUint) {
    let one = BigUint::one() << work;
    let lo = (a.0 << bits) / (&one + a.0);
    let hi = (a.1 << bits).div_ceil(&(&one + a.1));
    (lo, hi)
}

/// `⌈x / 2^shift⌉`.
pub(crate) fn ceil_shift(x: &BigUint, shift: usize) -> BigUint {
    let floor = x >> shift;
    if &(&floor << shift) == x {
        floor
    } else {
        floor + 1u32
    }
}

/// Bounds on `2^work·exp(−a/b)` for `0 ≤ a/b ≤ 1`, by the alternating Taylor series.
fn exp_neg_fraction(a: &BigUint, b: &BigUint, work: usize) -> (BigUint, BigUint) {
    let one = BigUint::one() << work;
    let (mut term_lo, mut term_hi) = (one.clone(), one.clone());
    let (mut plus_lo, mut plus_hi) = (one.clone(), one);
    let (mut minus_lo, mut minus_hi) = (BigUint::zero(), BigUint::zero());
    let mut k: u32 = 1;
    loop {
        // t_k = t_(k−1)·f/k, rounded down and up.
        term_lo = (&term_lo * a) / (b * k);
        term_hi = (&term_hi * a).div_ceil(&(b * k));
        if k % 2 == 1 {
            minus_lo += &term_lo;
            minus_hi += &term_hi;
        } else {
            plus_lo += &term_lo;
            plus_hi += &term_hi;
        }
        // Stop after an odd k once the next term, at most t_k/(k+1) ≤ t_k, is below one unit:
        // the lower bound then ends on a subtraction, and one more (even) term, added to the
        // upper bound only, closes the upper bound on an addition.
        if k % 2 == 1 && term_hi <= BigUint::one() {
            let next = (&term_hi * a).div_ceil(&(b * (k + 1)));
            plus_hi += next;
            break;
        }
        k += 1;
    }
    // Lower: Σ_(k ≤ K) with K odd; upper: Σ_(k ≤ K+1). The lower sum is positive for f ≤ 1
    // (exp(−f) ≥ e⁻¹), and saturating keeps both total regardless.
    let lo = if plus_lo > minus_hi { plus_lo - minus_hi } else { BigUint::zero() };
    let hi = if plus_hi > minus_lo { plus_hi - minus_lo } else { BigUint::zero() };
    (lo, hi)
}

/// Bounds on `2^work·exp(−n)`, by square-and-multiply on the bounds of `exp(−1)`.
fn exp_neg_integer(n: usize, work: usize) -> (BigUint, BigUint) {
    let one = BigUint::one() << work;
    let (e_lo, e_hi) = exp_neg_fraction(&BigUint::one(), &BigUint::one(), work);
    let (mut lo, mut hi) = (one.clone(), one);
    let (mut base_lo, mut base_hi) = (e_lo, e_hi);
    let mut rest = n;
    while rest > 0 {
        if rest & 1 == 1 {
            lo = (&lo * &base_lo) >> work;
            hi = ceil_shift(&(&hi * &base_hi), work);
        }
        rest >>= 1;
        if rest > 0 {
            base_lo = (&base_lo * &base_lo) >> work;
            base_hi = ceil_shift(&(&base_hi * &base_hi), work);
        }
    }
    (lo, hi)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;

    fn ratio(n: u64, d: u64) -> Ratio<BigUint> {
        Ratio::new(BigUint::from(n), BigUint::from(d))
    }

    #[test]
    fn bounds_bracket_exp_and_are_narrow() {
        for (n, d) in [(0u64, 1u64), (1, 3), (1, 1), (7, 2), (50, 1), (89, 1), (1, 1 << 40)] {
            let c = ratio(n, d);
            for bits in [64usize, 127, 256, 600] {
                let (lo, hi) = exp_neg_bounds(&c, bits);
                assert!(lo <= hi, "{n}/{d} at {bits}");
                assert!(&hi - &lo <= BigUint::from(4u32), "{n}/{d} at {bits}: too wide");
                let scale = 2f64.powi(bits as i32);
                let exact = (-(n as f64) / d as f64).exp() * scale;
                let (l, h) = (lo.to_f64().unwrap(), hi.to_f64().unwrap());
                assert!(l <= exact * (1.0 + 1e-14) + 1.0, "{n}/{d}: lo {l} > {exact}");
                assert!(h >= exact * (1.0 - 1e-14) - 1.0, "{n}/{d}: hi {h} < {exact}");
            }
        }
    }

    #[test]
    fn higher_precision_refines_lower_precision() {
        // The interval at 2k bits, scaled down, lies within the interval at k bits.
        let c = ratio(13, 7);
        let (lo1, hi1) = exp_neg_bounds(&c, 128);
        let (lo2, hi2) = exp_neg_bounds(&c, 256);
        assert!(&lo1 << 128usize <= hi2 && lo2 <= &hi1 << 128usize);
        // And they agree with the known leading digits of exp(−13/7) = 0.15611804...
        let digits = (&lo2 * BigUint::from(10u64).pow(8)) >> 256usize;
        assert_eq!(digits, BigUint::from(15_611_804u64));
    }

    #[test]
    fn logistic_bounds_bracket_the_digit_probability() {
        for (n, d) in [(1u64, 10u64), (1, 1), (64, 10), (3, 1 << 20)] {
            let c = n as f64 / d as f64;
            let exact = (-c).exp() / (1.0 + (-c).exp());
            let (lo, hi) = logistic_bounds(&ratio(n, d), 127);
            let scale = 2f64.powi(127);
            assert!(lo.to_f64().unwrap() / scale <= exact * (1.0 + 1e-14));
            assert!(hi.to_f64().unwrap() / scale >= exact * (1.0 - 1e-14));
            assert!(&hi - &lo <= BigUint::from(4u32));
        }
    }

    #[test]
    fn huge_exponents_are_below_one_unit() {
        let c = Ratio::from_integer(BigUint::from(10u32).pow(30));
        assert_eq!(exp_neg_bounds(&c, 128), (BigUint::zero(), BigUint::one()));
    }
}
