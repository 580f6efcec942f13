//! Exact natural numbers for the samplers, and the one primitive they all reduce to: a uniform
//! integer below a bound.
//!
//! [`Nat`] holds a value in a `u128` while it fits and in a `BigUint` once it does not. Every
//! operation checks for overflow and, instead of wrapping, redoes the operation on `BigUint`,
//! so the representation is invisible in the results: the algorithms of the sibling modules
//! are written once against exact arithmetic. [`PosNat`] is a `Nat` proven non-zero when it
//! was built, which is what makes division and uniform sampling total.
//!
//! [`uniform_below`] draws by rejection: it takes the `k` random bits that can express `n − 1`
//! and starts again if the value is `n` or more. It reads the same bytes from the generator
//! for the same `n` in either representation, so a parameter that moves between them changes
//! nothing, not even which sample a seed gives.
//!
//! Trade-off: one overflow check per operation, in exchange for no allocation while the numbers
//! fit in 128 bits.

use std::borrow::Cow;
use std::cmp::Ordering;

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{ToPrimitive, Zero};
use privacy_core::SecureRng;
use rand_core::RngCore;

use super::SamplerError;

/// An exact natural number.
#[derive(Clone, Debug)]
pub(crate) struct Nat(Repr);

/// Invariant: operations keep `Big` for values above `u128::MAX` only, but no code relies on
/// it for correctness (mixed cases compare and compute on `BigUint`); it only keeps the fast
/// path in use.
#[derive(Clone, Debug)]
enum Repr {
    Small(u128),
    Big(BigUint),
}

impl Nat {
    /// Zero.
    pub(crate) const ZERO: Nat = Nat(Repr::Small(0));
    /// One.
    pub(crate) const ONE: Nat = Nat(Repr::Small(1));

    /// The value of a `BigUint`.
    pub(crate) fn from_biguint(value: &BigUint) -> Nat {
        match value.to_u128() {
            Some(small) => Nat(Repr::Small(small)),
            None => Nat(Repr::Big(value.clone())),
        }
    }

    /// The value of a `u128`.
    pub(crate) fn from_u128(value: u128) -> Nat {
        Nat(Repr::Small(value))
    }

    /// The value as a `u128`, if it fits.
    pub(crate) fn to_u128(&self) -> Option<u128> {
        match &self.0 {
            Repr::Small(v) => Some(*v),
            Repr::Big(v) => v.to_u128(),
        }
    }

    fn from_owned(value: BigUint) -> Nat {
        match value.to_u128() {
            Some(small) => Nat(Repr::Small(small)),
            None => Nat(Repr::Big(value)),
        }
    }

    fn as_big(&self) -> Cow<'_, BigUint> {
        match &self.0 {
            Repr::Small(v) => Cow::Owned(BigUint::from(*v)),
            Repr::Big(v) => Cow::Borrowed(v),
        }
    }

    /// The value as a `BigUint`.
    pub(crate) fn to_biguint(&self) -> BigUint {
        self.as_big().into_owned()
    }

    /// The value, negated if `negative`, as a `BigInt`; zero has no sign either way.
    pub(crate) fn to_bigint(&self, negative: bool) -> BigInt {
        let sign = if negative { Sign::Minus } else { Sign::Plus };
        // `from_biguint` maps a zero magnitude to `NoSign` whatever sign it is given.
        BigInt::from_biguint(sign, self.to_biguint())
    }

    /// The value, negated if `negative`, as an `i128`, or an error past `i128`'s range.
    pub(crate) fn to_i128(&self, negative: bool) -> Result<i128, SamplerError> {
        let magnitude = match &self.0 {
            Repr::Small(v) => i128::try_from(*v).ok(),
            Repr::Big(_) => None,
        };
        let m = magnitude.ok_or(SamplerError::invalid("sample", "magnitude exceeds i128"))?;
        Ok(if negative { -m } else { m })
    }

    /// Whether the value is zero.
    pub(crate) fn is_zero(&self) -> bool {
        match &self.0 {
            Repr::Small(v) => *v == 0,
            Repr::Big(v) => v.is_zero(),
        }
    }

    /// Whether the value is odd.
    pub(crate) fn is_odd(&self) -> bool {
        match &self.0 {
            Repr::Small(v) => v & 1 == 1,
            Repr::Big(v) => v.bit(0),
        }
    }

    /// `self + other`, exactly.
    pub(crate) fn add(&self, other: &Nat) -> Nat {
        if let (Repr::Small(a), Repr::Small(b)) = (&self.0, &other.0) {
            if let Some(sum) = a.checked_add(*b) {
                return Nat(Repr::Small(sum));
            }
        }
        Nat::from_owned(self.as_big().as_ref() + other.as_big().as_ref())
    }

    /// `self · other`, exactly.
    pub(crate) fn mul(&self, other: &Nat) -> Nat {
        if let (Repr::Small(a), Repr::Small(b)) = (&self.0, &other.0) {
            if let Some(product) = a.checked_mul(*b) {
                return Nat(Repr::Small(product));
            }
        }
        Nat::from_owned(self.as_big().as_ref() * other.as_big().as_ref())
    }

    /// `|self − other|`, exactly.
    pub(crate) fn abs_diff(&self, other: &Nat) -> Nat {
        if let (Repr::Small(a), Repr::Small(b)) = (&self.0, &other.0) {
            return Nat(Repr::Small(a.abs_diff(*b)));
        }
        let (a, b) = (self.as_big(), other.as_big());
        // The larger minus the smaller cannot underflow.
        if a >= b {
            Nat::from_owned(a.as_ref() - b.as_ref())
        } else {
            Nat::from_owned(b.as_ref() - a.as_ref())
        }
    }

    /// `(⌊self / divisor⌋, self mod divisor)`; total because the divisor is non-zero.
    pub(crate) fn div_rem(&self, divisor: &PosNat) -> (Nat, Nat) {
        if let (Repr::Small(a), Repr::Small(d)) = (&self.0, &divisor.0 .0) {
            // `d ≠ 0` because a `PosNat` is only built from a non-zero value.
            return (Nat(Repr::Small(a / d)), Nat(Repr::Small(a % d)));
        }
        let (q, r) = self.as_big().div_rem(divisor.0.as_big().as_ref());
        (Nat::from_owned(q), Nat::from_owned(r))
    }
}

impl Ord for Nat {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Small(a), Repr::Small(b)) => a.cmp(b),
            _ => self.as_big().cmp(&other.as_big()),
        }
    }
}

impl PartialOrd for Nat {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Nat {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Nat {}

/// A natural number that is not zero.
#[derive(Clone, Debug)]
pub(crate) struct PosNat(Nat);

impl PosNat {
    /// One.
    pub(crate) const ONE: PosNat = PosNat(Nat::ONE);
    /// Two.
    pub(crate) const TWO: PosNat = PosNat(Nat(Repr::Small(2)));

    /// `value`, if it is not zero.
    pub(crate) fn new(value: Nat) -> Option<PosNat> {
        if value.is_zero() {
            None
        } else {
            Some(PosNat(value))
        }
    }

    /// The value.
    pub(crate) fn get(&self) -> &Nat {
        &self.0
    }

    /// `self · other`, which is not zero because neither factor is.
    pub(crate) fn mul(&self, other: &PosNat) -> PosNat {
        PosNat(self.0.mul(&other.0))
    }

    /// `self + other`, which is not zero because `self` is not.
    pub(crate) fn add(&self, other: &Nat) -> PosNat {
        PosNat(self.0.add(other))
    }
}

/// A uniform integer in `[0, n)` for an integer `n > 0`.
///
/// The draw is unbiased: it is the first of a sequence of independent uniform `k`-bit values
/// that falls below `n`, where `k` is the bit length of `n − 1`. Each attempt succeeds with
/// probability `n / 2^k > 1/2`, so fewer than two are needed on average.
pub fn sample_uniform_below(n: &BigUint, rng: &mut SecureRng) -> Result<BigUint, SamplerError> {
    let n = PosNat::new(Nat::from_biguint(n)).ok_or(SamplerError::invalid("n", "must be > 0"))?;
    Ok(uniform_below(&n, &mut RandomBits::new(rng)).to_biguint())
}

/// Random bits from [`SecureRng`], drawn 64 at a time and handed out a few at a time.
///
/// The samplers need a handful of bits per step (a fair coin, a comparison that is decided
/// after two bits on average); asking the generator for each would cost a call and a whole
/// word every time. Bits are used in order, each exactly once, so they stay independent and
/// uniform; bits left over when the source is dropped are discarded, never reused.
pub struct RandomBits<'r> {
    rng: &'r mut SecureRng,
    word: u64,
    left: u32,
    /// Words handed out before the generator's, last first (tests of rare paths only).
    #[cfg(test)]
    script: Vec<u64>,
}

impl<'r> RandomBits<'r> {
    /// A source reading from `rng`.
    pub fn new(rng: &'r mut SecureRng) -> Self {
        Self {
            rng,
            word: 0,
            left: 0,
            #[cfg(test)]
            script: Vec::new(),
        }
    }

    /// A source that hands out `words` (in order) before reading from `rng`, so that a test
    /// can drive a sampler down a path of negligible probability.
    #[cfg(test)]
    pub(crate) fn scripted(rng: &'r mut SecureRng, mut words: Vec<u64>) -> Self {
        words.reverse();
        Self { rng, word: 0, left: 0, script: words }
    }

    #[inline]
    fn next_word(&mut self) -> u64 {
        #[cfg(test)]
        if let Some(word) = self.script.pop() {
            return word;
        }
        self.rng.next_u64()
    }

    /// One uniform bit.
    #[inline]
    pub(crate) fn bit(&mut self) -> bool {
        if self.left == 0 {
            self.word = self.next_word();
            self.left = 64;
        }
        let b = self.word & 1 == 1;
        self.word >>= 1;
        self.left -= 1;
        b
    }

    /// `k ≤ 64` uniform bits, the first drawn in the lowest position.
    #[inline]
    pub(crate) fn bits(&mut self, k: u32) -> u64 {
        if k <= self.left {
            let out = if k == 64 { self.word } else { self.word & ((1u64 << k) - 1) };
            self.word = self.word.checked_shr(k).unwrap_or(0);
            self.left -= k;
            return out;
        }
        self.bits_across(k)
    }

    /// `k` bits when fewer than `k` are left: what is left, then the rest from a fresh word.
    #[inline(never)]
    fn bits_across(&mut self, k: u32) -> u64 {
        let (low, have) = (self.word, self.left);
        self.word = self.next_word();
        self.left = 64;
        let rest = self.bits(k - have);
        // `have < k ≤ 64`, so the shift is in range; for `have = 0` it keeps `rest` whole.
        low | rest.checked_shl(have).unwrap_or(0)
    }

    /// 127 uniform bits, for the fixed-width comparisons of the bounded-time samplers.
    #[inline]
    pub(crate) fn bits127(&mut self) -> u128 {
        u128::from(self.bits(63)) | u128::from(self.bits(64)) << 63
    }

    /// 128 uniform bits.
    #[inline]
    pub(crate) fn bits128(&mut self) -> u128 {
        u128::from(self.bits(64)) | u128::from(self.bits(64)) << 64
    }
}

/// A uniform [`Nat`] in `[0, n)`.
pub(crate) fn uniform_below(n: &PosNat, bits: &mut RandomBits<'_>) -> Nat {
    match &n.0 .0 {
        Repr::Small(bound) => Nat(Repr::Small(uniform_below_u128(*bound, bits))),
        Repr::Big(bound) => Nat::from_owned(uniform_below_big(bound, bits)),
    }
}

/// Requires `n ≥ 1`, which [`PosNat`] guarantees.
fn uniform_below_u128(n: u128, bits: &mut RandomBits<'_>) -> u128 {
    let k = u128::BITS - (n - 1).leading_zeros();
    loop {
        let candidate = if k <= 64 {
            u128::from(bits.bits(k))
        } else {
            u128::from(bits.bits(64)) | u128::from(bits.bits(k - 64)) << 64
        };
        if candidate < n {
            return candidate;
        }
    }
}

/// Requires `n ≥ 1`, which [`PosNat`] guarantees. Reads the same bits as
/// [`uniform_below_u128`] would for the same `n`: 64-bit words, lowest first.
fn uniform_below_big(n: &BigUint, bits: &mut RandomBits<'_>) -> BigUint {
    let k = (n - 1u32).bits();
    loop {
        let mut words = Vec::with_capacity(k.div_ceil(64) as usize);
        let mut remaining = k;
        while remaining > 0 {
            let take = remaining.min(64) as u32;
            words.push(bits.bits(take));
            remaining -= u64::from(take);
        }
        let candidate = BigUint::from_slice(
            &words.iter().flat_map(|w| [*w as u32, (*w >> 32) as u32]).collect::<Vec<u32>>(),
        );
        if &candidate < n {
            return candidate;
        }
    }
}

/// `true` with probability `numer/denom` (1 if `numer ≥ denom`), comparing the binary digits
/// of a uniform real with those of `numer/denom` until they differ: two bits on average.
pub(crate) fn bernoulli_ratio(numer: &Nat, denom: &PosNat, bits: &mut RandomBits<'_>) -> bool {
    if numer >= denom.get() {
        return true;
    }
    if let (Repr::Small(n), Repr::Small(d)) = (&numer.0, &denom.0 .0) {
        if *d <= u128::MAX >> 1 {
            return lazy_compare_u128(*n, *d, bits);
        }
    }
    lazy_compare_big(numer.to_biguint(), &denom.0.to_biguint(), bits)
}

/// [`bernoulli_ratio`] on `u128`s, for `0 < d ≤ 2¹²⁷`: the same comparison, reading the same
/// bits.
#[inline]
pub(crate) fn bernoulli_ratio_u128(n: u128, d: u128, bits: &mut RandomBits<'_>) -> bool {
    n >= d || lazy_compare_u128(n, d, bits)
}

/// `V < n/d` for a uniform real `V`, with `n < d ≤ 2¹²⁷` (so `2r` below cannot overflow).
///
/// `r/d` is the part of `n/d` not yet compared; its next binary digit is `2r ≥ d`. The first
/// digit where `V` and `n/d` differ decides: `V` is smaller where its digit is 0.
fn lazy_compare_u128(n: u128, d: u128, bits: &mut RandomBits<'_>) -> bool {
    let mut r = n;
    loop {
        r <<= 1;
        let p_digit = r >= d;
        if p_digit {
            r -= d;
        }
        let v_digit = bits.bit();
        if v_digit != p_digit {
            return p_digit;
        }
    }
}

fn lazy_compare_big(n: BigUint, d: &BigUint, bits: &mut RandomBits<'_>) -> bool {
    let mut r = n;
    loop {
        r <<= 1usize;
        let p_digit = &r >= d;
        if p_digit {
            r -= d;
        }
        if bits.bit() != p_digit {
            return p_digit;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_counts_fit, assert_counts_reject};
    use proptest::prelude::*;
    // Named explicitly: proptest's prelude exports an `RngCore` of its own.
    use rand_core::RngCore;

    fn big(v: &BigUint) -> Nat {
        // Deliberately breaks the representation invariant to reach the `BigUint` path.
        Nat(Repr::Big(v.clone()))
    }

    fn pos(v: u128) -> PosNat {
        PosNat::new(Nat(Repr::Small(v))).unwrap()
    }

    #[test]
    fn uniform_below_one_is_zero_and_reads_nothing() {
        let mut rng = SecureRng::seeded_for_tests_only(1);
        let mut twin = SecureRng::seeded_for_tests_only(1);
        assert!(uniform_below(&PosNat::ONE, &mut RandomBits::new(&mut rng)).is_zero());
        assert_eq!(rng.next_u64(), twin.next_u64());
    }

    /// Counts of 10⁶ uniform draws below `n`.
    fn uniform_counts(n: u128, seed: u64) -> Vec<u64> {
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let mut bits = RandomBits::new(&mut rng);
        let mut observed = vec![0u64; n as usize];
        for _ in 0..1_000_000 {
            observed[uniform_below(&pos(n), &mut bits).to_u128().unwrap() as usize] += 1;
        }
        observed
    }

    /// The Kolmogorov–Smirnov distance of counts from the uniform law, against the DKW bound
    /// at α = 10⁻⁶.
    fn assert_uniform_ks(observed: &[u64], what: &str) {
        let total: u64 = observed.iter().sum();
        let n = observed.len() as f64;
        let mut seen = 0u64;
        let worst = observed
            .iter()
            .enumerate()
            .map(|(i, c)| {
                seen += c;
                (seen as f64 / total as f64 - (i + 1) as f64 / n).abs()
            })
            .fold(0.0f64, f64::max);
        let limit = ((2.0f64 / 1e-6).ln() / (2.0 * total as f64)).sqrt();
        assert!(worst <= limit, "{what}: KS distance {worst} > {limit}");
    }

    #[test]
    fn uniform_below_seven_is_uniform() {
        let observed = uniform_counts(7, 2);
        let draws = 1e6;
        assert_counts_fit(&observed, &[draws / 7.0; 7], "uniform below 7");
        assert_uniform_ks(&observed, "uniform below 7");
        // The test has the power to see modulo bias: the law of "5 random bits mod 7"
        // (32 = 4·7 + 4, so 0..4 are a quarter more likely than 4..7) is rejected, and so is
        // a bias of 1 % on one value.
        let biased: Vec<f64> =
            (0..7).map(|v| draws * if v < 4 { 5.0 } else { 4.0 } / 32.0).collect();
        assert_counts_reject(&observed, &biased, "5 bits mod 7");
        let mut slight = vec![draws / 7.0; 7];
        slight[0] *= 1.03;
        slight[6] = draws - slight[..6].iter().sum::<f64>();
        assert_counts_reject(&observed, &slight, "3 % on one value");
    }

    #[test]
    fn uniform_below_a_thousand_is_uniform() {
        let observed = uniform_counts(1000, 16);
        assert_counts_fit(&observed, &[1000.0; 1000], "uniform below 1000");
        assert_uniform_ks(&observed, "uniform below 1000");
        // A law tilted linearly by ±10 % across the range is rejected.
        let tilted: Vec<f64> = (0..1000).map(|i| 1000.0 * (0.9 + 0.2 * i as f64 / 999.0)).collect();
        assert_counts_reject(&observed, &tilted, "tilted by 10 %");
    }

    #[test]
    fn uniform_below_is_the_same_in_both_representations() {
        for n in [1u128, 2, 3, 255, 256, 257, 1 << 64, (1 << 64) + 1, u128::MAX] {
            let bound = BigUint::from(n);
            let mut fast_rng = SecureRng::seeded_for_tests_only(3);
            let mut slow_rng = SecureRng::seeded_for_tests_only(3);
            let (mut fast, mut slow) =
                (RandomBits::new(&mut fast_rng), RandomBits::new(&mut slow_rng));
            let big_bound = PosNat::new(big(&bound)).unwrap();
            for _ in 0..200 {
                let a = uniform_below(&pos(n), &mut fast);
                let b = uniform_below(&big_bound, &mut slow);
                let (pa, pb) = (
                    bernoulli_ratio(&a, &big_bound, &mut fast),
                    bernoulli_ratio(&b, &big_bound, &mut slow),
                );
                assert_eq!(pa, pb, "Bernoulli representations disagree below {n}");
                assert_eq!(a, b, "representations disagree below {n}");
            }
        }
    }

    #[test]
    fn zero_bound_is_an_error() {
        let mut rng = SecureRng::seeded_for_tests_only(4);
        let err = sample_uniform_below(&BigUint::zero(), &mut rng).unwrap_err();
        assert_eq!(err, SamplerError::InvalidParameter { name: "n", reason: "must be > 0" });
        assert_eq!(err.to_string(), "invalid n: must be > 0");
    }

    fn arb_biguint() -> impl Strategy<Value = BigUint> {
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| BigUint::from_bytes_le(&b))
    }

    proptest! {
        #[test]
        fn sample_uniform_below_is_below(n in arb_biguint(), seed in any::<u64>()) {
            let n = n + 1u32;
            let mut rng = SecureRng::seeded_for_tests_only(seed);
            let v = sample_uniform_below(&n, &mut rng).unwrap();
            prop_assert!(v < n);
        }

        #[test]
        fn bits_are_handed_out_in_order(seed in any::<u64>(), widths in prop::collection::vec(1u32..=64, 1..40)) {
            let mut rng = SecureRng::seeded_for_tests_only(seed);
            let mut twin = SecureRng::seeded_for_tests_only(seed);
            let mut bits = RandomBits::new(&mut rng);
            let mut stream: Vec<bool> = Vec::new();
            for &w in &widths {
                let v = bits.bits(w);
                stream.extend((0..w).map(|i| v >> i & 1 == 1));
            }
            let words: Vec<u64> = (0..stream.len().div_ceil(64)).map(|_| twin.next_u64()).collect();
            for (i, b) in stream.iter().enumerate() {
                prop_assert_eq!(*b, words[i / 64] >> (i % 64) & 1 == 1);
            }
        }

        #[test]
        fn nat_arithmetic_matches_biguint(a in arb_biguint(), b in arb_biguint()) {
            let (na, nb) = (Nat::from_biguint(&a), Nat::from_biguint(&b));
            let (ba, bb) = (big(&a), big(&b));
            for (x, y) in [(&na, &nb), (&ba, &nb), (&na, &bb), (&ba, &bb)] {
                prop_assert_eq!(x.add(y).to_biguint(), &a + &b);
                prop_assert_eq!(x.mul(y).to_biguint(), &a * &b);
                let diff = if a >= b { &a - &b } else { &b - &a };
                prop_assert_eq!(x.abs_diff(y).to_biguint(), diff);
                prop_assert_eq!(x.cmp(y), a.cmp(&b));
                prop_assert_eq!(x.is_odd(), a.bit(0));
                if let Some(d) = PosNat::new(y.clone()) {
                    let (q, r) = x.div_rem(&d);
                    prop_assert_eq!((q.to_biguint(), r.to_biguint()), a.div_rem(&b));
                }
            }
        }
    }
}
