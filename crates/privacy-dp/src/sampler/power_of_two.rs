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
//! `q + 1` units gives an upper bound. Trade-off: big-integer arithmetic per coin, acceptable
//! because the mechanism using it runs once per release, not once per record.

use std::sync::OnceLock;

use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_traits::{One, Zero};
use privacy_core::SecureRng;
use rand_core::RngCore;

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
    rng: &mut SecureRng,
) -> bool {
    let exponent = Exponent::new(a, b, j);
    let pieces = exponent.piece_count();
    let mut done = BigUint::zero();
    while done < pieces {
        if !exponent.von_neumann(&pieces, rng) {
            return false;
        }
        done += 1u32;
    }
    true
}

/// `x = a/b − j·ln 2`.
struct Exponent<'a> {
    a: &'a BigUint,
    b: &'a BigUint,
    j: BigUint,
}

impl<'a> Exponent<'a> {
    fn new(a: &'a BigUint, b: &'a BigUint, j: u64) -> Self {
        Self { a, b, j: BigUint::from(j) }
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

    /// One draw of `Bernoulli(exp(−x/n))`, `x/n ≤ 1`.
    fn von_neumann(&self, n: &BigUint, rng: &mut SecureRng) -> bool {
        let mut k: u64 = 1;
        // `k` grows by one per loop and passes 20 with probability below 1/20! ≈ 4·10⁻¹⁹, so
        // it cannot overflow.
        while self.below(&(n * k), rng) {
            k += 1;
        }
        k % 2 == 1
    }

    /// Whether a uniform real `V ∈ [0, 1)`, drawn 64 bits at a time, is below `x/d`.
    ///
    /// With `V ∈ [v/2^p, (v+1)/2^p)` and `b·x·2^q ∈ [x_lo, x_hi]`: `V < x/d` is certain once
    /// `(v+1)·d·b·2^q ≤ x_lo·2^p`, and `V ≥ x/d` once `v·d·b·2^q ≥ x_hi·2^p`. Otherwise one more
    /// word of `V` is drawn, and `ln 2` is refined when its uncertainty is what blocks the
    /// decision. Both intervals shrink geometrically, so the loop ends with probability 1
    /// (after one word, but for a probability of about `2⁻⁶³`).
    fn below(&self, d: &BigUint, rng: &mut SecureRng) -> bool {
        let mut q = CACHED_BITS;
        let mut bounds = cached_ln2().clone();
        let mut v = BigUint::from(rng.next_u64());
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
                v = (v << 64usize) | BigUint::from(rng.next_u64());
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
    use num_traits::ToPrimitive;

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
        const DRAWS: u64 = 100_000;
        let mut rng = SecureRng::seeded_for_tests_only(40);
        // (a, b, j): γ = a/b, with j·ln 2 ≤ γ; j = 0 is plain Bernoulli(exp(−γ)).
        for (a, b, j) in [(1u32, 2u32, 0u64), (7, 10, 1), (5, 2, 3), (29, 4, 10), (3, 1, 0)] {
            let (ab, bb) = (BigUint::from(a), BigUint::from(b));
            let trues = (0..DRAWS)
                .filter(|_| bernoulli_exp_times_power_of_two(&ab, &bb, j, &mut rng))
                .count() as u64;
            let gamma = f64::from(a) / f64::from(b);
            let p = 2f64.powi(j as i32) * (-gamma).exp();
            let what = format!("2^{j}·exp(-{a}/{b})");
            assert_bernoulli_fits(trues, DRAWS, p, &what);
            let wrong = if p > 0.5 { p * 0.97 } else { p * 1.15 };
            let n = DRAWS as f64;
            assert_counts_reject(&[trues, DRAWS - trues], &[n * wrong, n * (1.0 - wrong)], &what);
        }
    }

    #[test]
    fn a_tight_exponent_is_decided() {
        // γ = 0.693147180559945309…: j = 1 leaves x just above 0 (the first 18 digits of ln 2,
        // rounded up), so the comparisons must use the bounds on ln 2.
        let mut rng = SecureRng::seeded_for_tests_only(41);
        let a = BigUint::from(693_147_180_559_945_310u64);
        let b = BigUint::from(10u64).pow(18);
        let trues =
            (0..1000).filter(|_| bernoulli_exp_times_power_of_two(&a, &b, 1, &mut rng)).count();
        assert_eq!(trues, 1000, "P = exp(−10⁻¹⁸ or so): a false would be a 10⁻¹⁵ event");
    }
}
