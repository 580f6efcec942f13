//! Fixed-width, fixed-work arithmetic for the bounded-time samplers: 256-bit products,
//! directed rounding in Q127 fixed point, and rigorous bounds on `exp(−x)` for an `x` that
//! depends on the noise being drawn.
//!
//! A bounded-time sampler may not branch or loop on what it draws, so it cannot use big
//! integers (whose cost depends on their size) or a Taylor series stopped when its terms get
//! small. Everything here works on `u128` values with a fixed number of operations: a value
//! `v` in **Q127** stands for `v/2¹²⁷` (so `2¹²⁷` is 1), and every product is rounded down or
//! up as the bound it feeds requires.
//!
//! **`exp(−x)` for `0 ≤ x < 4`,** `x` given in Q124 (`x·2¹²⁴`): write `x = n/1024 + f` with
//! an integer `n < 4096` and `0 ≤ f < 2⁻¹⁰`. Then `exp(−n/1024) = Π_i t_i^(n_i)` over the twelve
//! binary digits `n_i` of `n`, with `t_i = exp(−2^i/1024)` from a table of twelve constants
//! (computed once with big integers, [`super::exp_bounds`]); each factor is selected with a
//! mask, so neither the work nor the memory touched depends on `n`. `exp(−f)` is the Taylor
//! polynomial of degree 10 evaluated by Horner's rule. The whole evaluation is one chain of
//! 23 rounded products, and its error is bounded once, here, rather than tracked at run time:
//!
//! * table entries are the lower ends of 191-bit bounds, truncated: `t_i − T_i ∈ [0, 1)` units
//!   of 2⁻¹²⁷ (`u`); each product `P_(i+1) = ⌊P_i·S_i⌋` with `S_i ∈ {T_i, 1}` loses at most
//!   `1u` more, and earlier errors are multiplied by factors ≤ 1, so `p − P ∈ [0, 24u]`;
//! * Horner's rule with coefficients `⌊2¹²⁷/k!⌉` (error `≤ ½u`) and products rounded down
//!   (`≤ 1u`), on `f < 2⁻¹⁰`: each step's error is at most `1.5u` plus `f` times the previous
//!   one, so `|H − h| ≤ 1.51u`; the Taylor remainder is below `f¹¹/11! < 2⁻¹³⁵`; so
//!   `exp(−f) ∈ [H − 2u, H + 2u]`;
//! * `E = ⌊P·H⌋` (one more unit, and a margin for the `u²` terms): `exp(−x) ∈ [E − 3u, E + 28u]`.
//!
//! The tests check these bounds against big-integer bounds at 200 bits over the whole range.
//!
//! Trade-off: 23 products of 128-bit numbers (about 90 64-bit multiplications) per evaluation,
//! always, where a variable-time evaluation would stop after a few terms for small `x`.

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_rational::Ratio;
use num_traits::ToPrimitive;

use super::exp_bounds::exp_neg_bounds;

/// 1 in Q127.
pub(crate) const ONE: u128 = 1 << 127;
/// Degree of the Taylor polynomial of `exp(−f)`, `f < 2⁻¹⁰`.
const DEGREE: usize = 10;
/// Binary digits of `n = ⌊1024·x⌋`: `x < 4`.
const DIGITS: usize = 12;
/// Largest `x` (exclusive) the evaluator accepts, in Q124.
pub(crate) const X_LIMIT: u128 = 4 << 124;
/// Units of 2⁻¹²⁷ below and above `E` that bound `exp(−x)` (module docs).
pub(crate) const EXP_BELOW: u128 = 3;
/// See [`EXP_BELOW`].
pub(crate) const EXP_ABOVE: u128 = 28;

/// The 256-bit product `a·b` as `(high, low)` halves.
#[inline]
pub(crate) fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & u128::from(u64::MAX));
    let (b1, b0) = (b >> 64, b & u128::from(u64::MAX));
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // Each partial product is below 2¹²⁸, and so is this sum of three 64-bit halves.
    let mid = (p00 >> 64) + (p01 & u128::from(u64::MAX)) + (p10 & u128::from(u64::MAX));
    let low = (p00 & u128::from(u64::MAX)) | mid << 64;
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (high, low)
}

/// `⌊a·b/2¹²⁷⌋` for `a, b ≤ 2¹²⁷` (so the result is at most 2¹²⁷).
#[inline]
pub(crate) fn mul_down(a: u128, b: u128) -> u128 {
    let (high, low) = mul_wide(a, b);
    // a·b ≤ 2²⁵⁴, so `high < 2¹²⁶` and the shift loses nothing.
    high << 1 | low >> 127
}

/// `⌈a·b/2¹²⁷⌉` for `a, b ≤ 2¹²⁷`.
#[inline]
pub(crate) fn mul_up(a: u128, b: u128) -> u128 {
    let (high, low) = mul_wide(a, b);
    (high << 1 | low >> 127) + u128::from(low << 1 != 0)
}

/// `(⌊v/2^s⌋, whether bits were dropped)` for the 256-bit `v = (high, low)` and a public
/// shift `0 < s < 256` with `⌊v/2^s⌋ < 2¹²⁸` (the caller's precondition). Branches only on `s`.
#[inline]
pub(crate) fn shr_wide(high: u128, low: u128, s: u32) -> (u128, bool) {
    if s < 128 {
        let dropped = low << (128 - s) != 0;
        (high << (128 - s) | low >> s, dropped)
    } else if s == 128 {
        (high, low != 0)
    } else {
        let dropped = low != 0 || high << (256 - s) != 0;
        (high >> (s - 128), dropped)
    }
}

/// The constants: `⌊2¹²⁷/k!⌉` for `k ≤ 10` and `T_i ≤ 2¹²⁷·exp(−2^i/1024) < T_i + 1`.
struct Tables {
    inverse_factorial: [u128; DEGREE + 1],
    powers: [u128; DIGITS],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut inverse_factorial = [0; DEGREE + 1];
        let mut factorial = BigUint::from(1u32);
        for (k, entry) in inverse_factorial.iter_mut().enumerate() {
            if k > 0 {
                factorial *= k as u32;
            }
            // Rounded to nearest: ⌊(2·2¹²⁷ + k!)/(2·k!)⌋.
            let nearest = (BigUint::from(ONE) * 2u32 + &factorial) / (&factorial * 2u32);
            *entry = to_u128(&nearest);
        }
        let mut powers = [0; DIGITS];
        for (i, entry) in powers.iter_mut().enumerate() {
            let c = Ratio::new(BigUint::from(1u32) << i, BigUint::from(1024u32));
            // The lower end of a 191-bit interval of width ≤ 4 units, truncated to 127 bits:
            // below the true value by less than one unit of 2⁻¹²⁷.
            let (lo, _) = exp_neg_bounds(&c, 191);
            *entry = to_u128(&(lo >> 64usize));
        }
        Tables { inverse_factorial, powers }
    })
}

/// A value known to be at most 2¹²⁷ (a probability in Q127) as a `u128`.
fn to_u128(x: &BigUint) -> u128 {
    x.to_u128().unwrap_or(ONE).min(ONE)
}

/// `E` with `E − 3 ≤ 2¹²⁷·exp(−x) ≤ E + 28` for `x` in Q124 with `x < 4` (module docs), by a
/// fixed sequence of operations.
#[inline]
pub(crate) fn exp_neg_fixed(x: u128) -> u128 {
    let t = tables();
    // n = ⌊1024·x⌋ < 4096 and f = x − n/1024 < 2⁻¹⁰, the low 114 bits of Q124, as Q127.
    let n = x >> 114;
    let f = (x & ((1u128 << 114) - 1)) << 3;
    let mut product = ONE;
    for (i, &power) in t.powers.iter().enumerate() {
        let mask = 0u128.wrapping_sub((n >> i) & 1);
        product = mul_down(product, (power & mask) | (ONE & !mask));
    }
    let mut horner = t.inverse_factorial[DEGREE];
    for k in (0..DEGREE).rev() {
        // f·h ≤ h/1024 < 1/k!, so this cannot underflow.
        horner = t.inverse_factorial[k] - mul_down(f, horner);
    }
    mul_down(product, horner)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn big(x: u128) -> BigUint {
        BigUint::from(x)
    }

    #[test]
    fn wide_products_are_exact() {
        for (a, b) in [(u128::MAX, u128::MAX), (ONE, ONE), (3, 5), (u128::MAX, 1), (0, 7)] {
            let (high, low) = mul_wide(a, b);
            assert_eq!((big(high) << 128usize) + big(low), big(a) * big(b));
        }
        assert_eq!(mul_down(ONE, ONE), ONE);
        // (2¹²⁷ − 2)/2¹²⁷ rounds down to 0 and up to 1.
        assert_eq!((mul_down(ONE / 3, 3), mul_up(ONE / 3, 3)), (0, 1));
    }

    #[test]
    fn exp_bounds_bracket_exp_everywhere() {
        // A sweep of x over [0, 4), and every power of two, against bounds at 200 bits.
        let sweep =
            (0..3000u128).map(|i| (X_LIMIT / 3000 * i + i * 12_345_678_901).min(X_LIMIT - 1));
        let edges = (0..126).map(|e| 1u128 << e).filter(|&x| x < X_LIMIT);
        for x in sweep.chain(edges).chain([0, X_LIMIT - 1]) {
            let e = exp_neg_fixed(x);
            let c = Ratio::new(big(x), BigUint::from(1u32) << 124usize);
            let (exact_lo, exact_hi) = exp_neg_bounds(&c, 200);
            let (lo, hi) = (e.saturating_sub(EXP_BELOW), e + EXP_ABOVE);
            assert!(big(lo) << 73usize <= exact_lo, "lower bound above exp at x = {x}");
            assert!(big(hi) << 73usize >= exact_hi, "upper bound below exp at x = {x}");
        }
    }

    proptest! {
        #[test]
        fn shifts_match_big_integer_shifts(high in any::<u128>(), low in any::<u128>(), s in 1u32..256) {
            let v = (big(high) << 128usize) + big(low);
            let expected = &v >> s as usize;
            prop_assume!(expected.bits() <= 128);
            let (q, dropped) = shr_wide(high, low, s);
            prop_assert_eq!(big(q), expected.clone());
            prop_assert_eq!(dropped, expected << s as usize != v);
        }

        #[test]
        fn directed_products_bracket_the_exact_one(a in 0..=ONE, b in 0..=ONE) {
            let exact = big(a) * big(b);
            let (down, up) = (big(mul_down(a, b)), big(mul_up(a, b)));
            prop_assert!(&down << 127usize <= exact);
            prop_assert!(&up << 127usize >= exact);
            prop_assert!(up - down <= BigUint::from(1u32));
        }
    }
}
