//! Exact conversions from `f64` to integers and rationals, for calibrating mechanisms.
//!
//! A finite `f64` is exactly `±m·2^e` with an integer `m < 2⁵³` and `−1074 ≤ e ≤ 971`, so it
//! converts to a rational with no rounding at all. Calibrating noise from the exact value of a
//! parameter (instead of from a decimal or a rounded neighbour) is what lets the proofs speak
//! about the numbers the caller wrote. Trade-off: big integers where a float would do, paid once
//! per mechanism, never per sample.

use num_bigint::{BigInt, BigUint, Sign};
use num_rational::Ratio;
use num_traits::{One, Zero};

/// `(negative, m, e)` with `x = ±m·2^e` exactly, for a finite `x`; `m` is odd or zero.
pub(crate) fn decompose(x: f64) -> (bool, u64, i32) {
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) =
        if biased == 0 { (fraction, -1074) } else { (fraction | 1u64 << 52, biased - 1075) };
    if m == 0 {
        return (negative, 0, 0);
    }
    let shift = m.trailing_zeros();
    m >>= shift;
    e += shift as i32;
    (negative, m, e)
}

/// The exact value of a finite, non-negative `x` as a reduced rational.
pub(crate) fn ratio_of(x: f64) -> Ratio<BigUint> {
    let (_, m, e) = decompose(x);
    let m = BigUint::from(m);
    if e >= 0 {
        Ratio::from_integer(m << e as usize)
    } else {
        // `m` is odd, so `m / 2^−e` is already in lowest terms.
        Ratio::new_raw(m, BigUint::one() << (-e) as usize)
    }
}

/// Finite values as exact integers on one common power-of-two grid: returns `(v, e)` with
/// `xs[i] = v[i]·2^e` exactly, `e` the smallest exponent among the non-zero values.
pub(crate) fn common_grid(xs: &[f64]) -> (Vec<BigInt>, i32) {
    let parts: Vec<(bool, u64, i32)> = xs.iter().map(|&x| decompose(x)).collect();
    let e_min = parts.iter().filter(|p| p.1 != 0).map(|p| p.2).min().unwrap_or(0);
    let values = parts
        .into_iter()
        .map(|(negative, m, e)| {
            if m == 0 {
                return BigInt::zero();
            }
            // `e ≥ e_min` for every non-zero value, by the choice of `e_min`.
            let magnitude = BigUint::from(m) << (e - e_min) as usize;
            BigInt::from_biguint(if negative { Sign::Minus } else { Sign::Plus }, magnitude)
        })
        .collect();
    (values, e_min)
}

/// `2^e` as a rational, for any `e`.
pub(crate) fn power_of_two(e: i32) -> Ratio<BigUint> {
    let p = BigUint::one() << e.unsigned_abs() as usize;
    if e >= 0 {
        Ratio::from_integer(p)
    } else {
        Ratio::new_raw(BigUint::one(), p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_traits::ToPrimitive;
    use proptest::prelude::*;

    #[test]
    fn decompose_known_values() {
        assert_eq!(decompose(1.0), (false, 1, 0));
        assert_eq!(decompose(-6.0), (true, 3, 1));
        assert_eq!(decompose(0.1), (false, 3_602_879_701_896_397, -55));
        assert_eq!(decompose(f64::MIN_POSITIVE / 4.0), (false, 1, -1024));
        assert_eq!(decompose(5e-324), (false, 1, -1074));
        assert_eq!(decompose(0.0).1, 0);
    }

    #[test]
    fn ratio_is_exact() {
        assert_eq!(ratio_of(0.5), Ratio::new(BigUint::from(1u32), BigUint::from(2u32)));
        assert_eq!(ratio_of(f64::MAX).to_integer().bits(), 1024);
        assert_eq!(power_of_two(-3), Ratio::new(BigUint::from(1u32), BigUint::from(8u32)));
    }

    proptest! {
        #[test]
        fn ratio_round_trips(x in 0.0f64..1e300) {
            prop_assert_eq!(ratio_of(x).to_f64().unwrap_or(f64::NAN), x);
        }

        #[test]
        fn common_grid_is_exact(xs in prop::collection::vec(-1e30f64..1e30, 1..8)) {
            let (values, e) = common_grid(&xs);
            for (x, v) in xs.iter().zip(values) {
                let scaled = v.to_f64().unwrap_or(f64::NAN) * 2f64.powi(e);
                prop_assert_eq!(scaled, *x);
            }
        }
    }
}
