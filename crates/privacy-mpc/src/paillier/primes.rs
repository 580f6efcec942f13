//! Prime generation and primality testing for Paillier keys.
//!
//! Candidates are fresh uniform odd integers of the exact bit length with the two top bits set
//! (so the product of two has exactly twice the length), filtered by trial division by the
//! primes below 2¹⁶ and then by Miller–Rabin with random bases from the caller's CSPRNG.
//! Every candidate is drawn afresh rather than by incrementing from one random start, so the
//! primes are uniform among primes of that shape (incremental search favours primes after long
//! gaps). Safe primes `p = 2p′ + 1` sieve `p′` and `p` together.
//!
//! Error bounds: [`MR_ROUNDS`] = 40 rounds give at most 4⁻⁴⁰ = 2⁻⁸⁰ for any composite, including
//! adversarial ones (Rabin 1980); for random candidates the bound is far smaller (Damgård,
//! Landrock, Pomerance 1993), so the same count serves checking a received key.
//!
//! Trade-off: trial division to 2¹⁶ costs ~6,500 word divisions per candidate but rejects
//! about 95% of them before the first modular exponentiation.

use std::sync::OnceLock;

use num_bigint::{BigUint, RandBigInt};
use num_traits::One;
use rand_core::{CryptoRng, RngCore};

/// Miller–Rabin rounds for a final primality decision.
pub const MR_ROUNDS: usize = 40;

/// Trial-division bound: a modulus that passes [`smallest_small_factor`] has no prime factor
/// below this.
pub const SMALL_PRIME_BOUND: u32 = 1 << 16;

/// The odd primes below [`SMALL_PRIME_BOUND`], by a sieve of Eratosthenes computed once.
pub fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        let limit = SMALL_PRIME_BOUND as usize;
        let mut composite = vec![false; limit];
        let mut primes = Vec::with_capacity(6_542);
        for i in 2..limit {
            if !composite[i] {
                if i > 2 {
                    primes.push(i as u32);
                }
                for multiple in (i * i..limit).step_by(i) {
                    composite[multiple] = true;
                }
            }
        }
        primes
    })
}

/// The smallest prime below [`SMALL_PRIME_BOUND`] that divides `n` (2 included), if any.
pub fn smallest_small_factor(n: &BigUint) -> Option<u32> {
    if !n.bit(0) {
        return Some(2);
    }
    let digits: Vec<u32> = n.iter_u32_digits().collect();
    small_primes().iter().copied().find(|&p| rem_u32(&digits, p) == 0 && *n != p.into())
}

/// `n mod d` for `n` given by its 32-bit digits (least significant first): Horner's rule.
fn rem_u32(digits: &[u32], d: u32) -> u32 {
    let d = u64::from(d);
    let r = digits.iter().rev().fold(0u64, |r, &digit| ((r << 32) | u64::from(digit)) % d);
    // r < d ≤ u32::MAX, so the narrowing is exact.
    r as u32
}

/// Miller–Rabin with `rounds` random bases. `n` must be odd and > 3 (smaller or even values
/// are answered directly).
pub fn is_probable_prime<R: RngCore + CryptoRng>(n: &BigUint, rounds: usize, rng: &mut R) -> bool {
    let two = BigUint::from(2u32);
    if *n < BigUint::from(4u32) {
        return *n >= two;
    }
    if !n.bit(0) {
        return false;
    }
    let n_minus_1 = n - 1u32;
    // `n - 1` is even and non-zero here, so it has a lowest set bit.
    let s = n_minus_1.trailing_zeros().unwrap_or(0);
    let d = &n_minus_1 >> s;
    (0..rounds).all(|_| {
        let a = rng.gen_biguint_range(&two, &n_minus_1);
        miller_rabin_round(n, &n_minus_1, &d, s, &a)
    })
}

fn miller_rabin_round(n: &BigUint, n_minus_1: &BigUint, d: &BigUint, s: u64, a: &BigUint) -> bool {
    let mut x = a.modpow(d, n);
    if x.is_one() || x == *n_minus_1 {
        return true;
    }
    for _ in 1..s {
        x = (&x * &x) % n;
        if x == *n_minus_1 {
            return true;
        }
    }
    false
}

/// A uniform odd candidate of exactly `bits` bits with the two top bits set.
fn candidate<R: RngCore + CryptoRng>(bits: u64, rng: &mut R) -> BigUint {
    let mut x = rng.gen_biguint(bits);
    x.set_bit(bits - 1, true);
    x.set_bit(bits - 2, true);
    x.set_bit(0, true);
    x
}

fn passes_trial_division(n: &BigUint) -> bool {
    smallest_small_factor(n).is_none()
}

/// A random prime of exactly `bits` bits (≥ 32) with its two top bits set.
pub fn random_prime<R: RngCore + CryptoRng>(bits: u64, rng: &mut R) -> BigUint {
    loop {
        let p = candidate(bits, rng);
        if passes_trial_division(&p)
            && is_probable_prime(&p, 1, rng)
            && is_probable_prime(&p, MR_ROUNDS, rng)
        {
            return p;
        }
    }
}

/// A random safe prime `p = 2p′ + 1` (`p′` prime) of exactly `bits` bits (≥ 32), top two bits
/// set. Expect about `bits` times as many candidates as [`random_prime`].
pub fn random_safe_prime<R: RngCore + CryptoRng>(bits: u64, rng: &mut R) -> BigUint {
    loop {
        let p = candidate(bits, rng);
        let half = &p >> 1u32;
        // p ≡ 3 (mod 4) so that p′ is odd.
        if !half.bit(0) || !safe_sieve(&half) {
            continue;
        }
        if is_probable_prime(&half, 1, rng)
            && is_probable_prime(&p, 1, rng)
            && is_probable_prime(&half, MR_ROUNDS, rng)
            && is_probable_prime(&p, MR_ROUNDS, rng)
        {
            return p;
        }
    }
}

/// Refuses `p′` when `p′` or `2p′ + 1` has a small factor.
fn safe_sieve(half: &BigUint) -> bool {
    let digits: Vec<u32> = half.iter_u32_digits().collect();
    small_primes().iter().all(|&r| {
        let residue = rem_u32(&digits, r);
        residue != 0 && residue != (r - 1) / 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use privacy_core::SecureRng;

    #[test]
    fn small_primes_are_the_primes() {
        let primes = small_primes();
        assert_eq!(primes.len(), 6_541, "odd primes below 2^16");
        assert_eq!(&primes[..5], &[3, 5, 7, 11, 13]);
        assert_eq!(*primes.last().unwrap(), 65_521);
    }

    #[test]
    fn recognises_primes_and_carmichael_numbers() {
        let mut rng = SecureRng::seeded_for_tests_only(3);
        // 2^127 - 1 is prime; 561 and 2^64+1 (= 274177 · 67280421310721) are not.
        let m127 = (BigUint::one() << 127u32) - 1u32;
        assert!(is_probable_prime(&m127, MR_ROUNDS, &mut rng));
        assert!(!is_probable_prime(&BigUint::from(561u32), MR_ROUNDS, &mut rng));
        let f = (BigUint::one() << 64u32) + 1u32;
        assert!(!is_probable_prime(&f, MR_ROUNDS, &mut rng));
        assert_eq!(smallest_small_factor(&BigUint::from(3u32 * 65_521)), Some(3));
        assert_eq!(smallest_small_factor(&m127), None);
    }

    #[test]
    fn generates_primes_and_safe_primes_of_the_exact_length() {
        let mut rng = SecureRng::seeded_for_tests_only(4);
        let p = random_prime(256, &mut rng);
        assert_eq!(p.bits(), 256);
        assert!(p.bit(254));
        let s = random_safe_prime(128, &mut rng);
        assert_eq!(s.bits(), 128);
        assert!(is_probable_prime(&(&s >> 1u32), MR_ROUNDS, &mut rng));
    }
}
