//! `m·G` for a signed 64-bit `m`, in constant time and about three times faster than a
//! full-width fixed-base multiplication.
//!
//! Exponential ElGamal multiplies the base point by the plaintext, which is a small integer
//! (a count, a bounded sum), while curve25519-dalek's fixed-base multiplication always walks 64
//! radix-16 digits of a 253-bit scalar. Here `|m| < 2^64` is recoded into 17 signed radix-16
//! digits `d_k ∈ [−8, 8)` with `|m| = Σ d_k·16^k`, and `m·G = ±Σ d_k·(16^k·G)` is summed from a
//! table of `j·16^k·G` (`j = 1..8`, 17 windows, 136 points built once per process).
//!
//! Constant time: every digit costs one scan of its whole window with conditional selection,
//! one conditional negation and one addition, whatever its value, and the final sign is applied
//! by conditional negation; no branch or memory address depends on `m`. Bit manipulation on
//! `m` itself uses only shifts, masks and wrapping arithmetic.

use std::sync::OnceLock;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use subtle::{Choice, ConditionallyNegatable, ConditionallySelectable, ConstantTimeEq};

/// Radix-16 windows for a 64-bit magnitude, plus the final carry.
const WINDOWS: usize = 17;

/// `table[k][j − 1] = j·16^k·G`.
fn table() -> &'static [[RistrettoPoint; 8]; WINDOWS] {
    static TABLE: OnceLock<[[RistrettoPoint; 8]; WINDOWS]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [[RistrettoPoint::identity(); 8]; WINDOWS];
        let mut base = RISTRETTO_BASEPOINT_POINT;
        for window in &mut table {
            let mut multiple = base;
            for entry in window.iter_mut() {
                *entry = multiple;
                multiple += base;
            }
            // After eight additions `multiple` is 9·base; 16·base is four doublings.
            base = base + base;
            base = base + base;
            base = base + base;
            base = base + base;
        }
        table
    })
}

/// The 17 signed radix-16 digits of `magnitude`, each in `[−8, 8)` (the last in `{0, 1}`).
fn signed_digits(magnitude: u64) -> [i8; WINDOWS] {
    let mut digits = [0i8; WINDOWS];
    let mut carry = 0u64;
    for (k, digit) in digits.iter_mut().take(16).enumerate() {
        let nibble = ((magnitude >> (4 * k)) & 15) + carry;
        // carry = 1 exactly when nibble ≥ 8, without a branch.
        carry = (nibble + 8) >> 4;
        // nibble − 16·carry ∈ [−8, 8): fits in i8.
        *digit = (nibble as i64 - ((carry as i64) << 4)) as i8;
    }
    digits[16] = carry as i8;
    digits
}

/// `m·G` in constant time.
pub(crate) fn mul_base_i64(m: i64) -> RistrettoPoint {
    let windows = table();
    let mut sum = RistrettoPoint::identity();
    for (window, digit) in windows.iter().zip(signed_digits(m.unsigned_abs())) {
        let negative = Choice::from((digit as u8) >> 7);
        // |digit| without a branch: (d ^ s) − s for the sign mask s.
        let mask = digit >> 7;
        let magnitude = ((digit ^ mask) - mask) as u8;
        let mut term = RistrettoPoint::identity();
        for (j, entry) in window.iter().enumerate() {
            // j + 1 ≤ 8 fits in u8.
            term.conditional_assign(entry, magnitude.ct_eq(&(j as u8 + 1)));
        }
        term.conditional_negate(negative);
        sum += term;
    }
    sum.conditional_negate(Choice::from((m >> 63) as u8 & 1));
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::scalar_from_i64;

    #[test]
    fn matches_the_full_multiplication_at_the_edges() {
        let cases = [
            0i64,
            1,
            -1,
            7,
            8,
            -8,
            15,
            16,
            255,
            -256,
            0x7777_7777_7777_7777,
            0x0888_8888_8888_8888,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            -123_456_789_012,
        ];
        for m in cases {
            assert_eq!(mul_base_i64(m), RistrettoPoint::mul_base(&scalar_from_i64(m)), "{m}");
        }
    }

    #[test]
    fn digits_recompose_the_magnitude() {
        for magnitude in [0u64, 8, 0x8888_8888_8888_8888, u64::MAX, 1 << 63] {
            let digits = signed_digits(magnitude);
            let back = digits.iter().rev().fold(0i128, |acc, d| acc * 16 + i128::from(*d));
            assert_eq!(back, i128::from(magnitude));
            assert!(digits[..16].iter().all(|d| (-8..8).contains(d)));
        }
    }
}
