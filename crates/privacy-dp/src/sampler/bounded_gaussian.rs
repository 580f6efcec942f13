//! Bounded-time discrete Gaussian sampling: a fixed number of rejection rounds of fixed work,
//! with a stated error probability below 10⁻³⁰ that mechanisms fold into δ.
//!
//! The exact sampler ([`super::DiscreteGaussian`], CKS 2020 Algorithm 3) runs until a proposal
//! is accepted and draws its proposals in time that grows with their size; both leak the
//! noise through the running time. This sampler runs **the same `R` rounds every time**, each
//! reading the same number of random bits and doing the same operations, and returns the first
//! accepted proposal (or a failure if none is, or if a fixed-precision comparison cannot
//! decide).
//!
//! # One round
//!
//! The target is the law of the magnitude `y = |z|` of `z ~ N_ℤ(0, σ²)`, with weight
//! `g(y) = c_y·ρ(y)`, `ρ(y) = exp(−y²/(2σ²))`, `c_0 = 1`, `c_y = 2` for `y > 0`, and a fair sign.
//! Magnitudes below `M` (`M² > 184σ²`, so `ρ(M) < e⁻⁹²`) are cut into `J` blocks
//! `[jw, (j+1)w)` of a power-of-two width `w ≤ σ/4` (`w = 1` for `σ < 8`), each with the
//! envelope `ê_j = 2ρ(jw)` (`ê_0 = 1` when `w = 1`), an upper bound of `g` on the block. A
//! round:
//!
//! 1. **Block.** 128 random bits `u` pick block `j` with probability `W_j/2¹²⁸`: `j` is the
//!    number of cumulative sums `C_k = W_0 + … + W_k` (`k < J − 1`) at most `u`, counted over
//!    every entry. The integers `W_j ≈ 2¹²⁸·ê_j/Σê` sum to exactly 2¹²⁸.
//! 2. **Offset.** `log₂ w` random bits give `o < w` uniformly; `y = jw + o`.
//! 3. **Coin** (only when `w > 1`). Accept with probability `g(y)/ê_j = exp(−x)` (times ½ when
//!    `y = 0`), where `x = (y² − (jw)²)/(2σ²) = o(2jw + o)/(2σ²) < 3.5`. Q127 bounds
//!    `[α_lo, α_hi]` come from integer bounds on `1/(2σ²)` and the fixed-work exponential of
//!    [`super::fixed`]; 127 random bits `v` accept if `v < α_lo`, reject if `v ≥ α_hi`, and
//!    **fail** in between (the interval is at most 64 units wide).
//! 4. **Sign.** One random bit; `z = ±y` (0 when `y = 0`).
//!
//! If the weights were exactly `2¹²⁸·ê_j/Σê`, a round would accept `y` with probability
//! `g(y)/(w·Σê)`, exactly proportional to the target; with integer weights it is off by the
//! factor `W_j/X_j = 1 + O(1/X_j)` on block `j` (`X_j` the exact value), which moves the
//! output law by at most `τ_w = 2·Σ_j |W_j − X_j|/(p·2¹²⁸) < 2⁻¹¹⁸` in total variation
//! (`p` the acceptance probability of a round).
//!
//! # Error probability
//!
//! Fed the same random bits, this sampler returns the output of the exact rejection sampler
//! for the block proposal (restricted to `y < M`) unless, before that sampler's first
//! acceptance, a coin's `v` falls in its interval, or it needs more than `R` rounds; those
//! events depend on the random bits only, and on them this sampler returns a failure. Adding
//! the truncation to `y < M` (total variation below `2⁻¹³²`) and `τ_w`, the law of a draw
//! (failure counted as an outcome) is within total variation
//!
//! ```text
//! η = R·64·2⁻¹²⁷ + (1 − p)^R + τ_w + 2⁻¹³²
//! ```
//!
//! of the exact discrete Gaussian, where `p ≥ G/(w·Σê) − 2⁻¹⁰⁰` is bounded below at
//! construction (`G = Σ_(|z|<M) ρ(z) ≥ max(1, σ√(2π))(1 − 2⁻¹²⁰)`, Poisson summation) and `R`
//! is the least number of rounds with `(1 − p)^R ≤ 2⁻¹⁰⁴` (computed with upward rounding). A
//! mechanism that is (ε, δ)-DP with exact noise is (ε, δ + (1 + e^ε)·η)-DP with this sampler
//! (`docs/proofs/bounded-time.md`).
//!
//! Trade-off: `R` rounds (about 30 for σ ≥ 8, one for σ < 8) of a table scan and a fixed-point
//! exponential, where the exact sampler needs 1.3 rounds of a few coins; see
//! `benches/RESULTS-dp.md` for the measured cost. Rust gives no constant-time guarantee at the
//! instruction level: the code has no branch or memory access that depends on what it draws,
//! which removes the algorithmic timing channel, not every microarchitectural one.

use num_bigint::BigUint;
use num_integer::Integer;
use num_rational::Ratio;
use num_traits::{One, ToPrimitive, Zero};

use super::exp_bounds::exp_neg_bounds;
use super::fixed::{exp_neg_fixed, mul_up, mul_wide, shr_wide, EXP_ABOVE, EXP_BELOW, ONE, X_LIMIT};
use super::uniform::RandomBits;
use super::SamplerError;

/// Working precision of the envelope table: the smallest envelope value, near `ρ(M) ≈ 2⁻¹³³`,
/// still has about 190 significant bits, so every weight is within one unit of its exact value.
const TABLE_BITS: usize = 320;
/// `(1 − p)^R ≤ 2^−ROUNDS_TARGET_BITS`.
const ROUNDS_TARGET_BITS: u32 = 104;
/// A coin's interval is at most this many units of 2⁻¹²⁷ (`docs/proofs/bounded-time.md`;
/// checked by the tests).
pub(crate) const COIN_WIDTH: u128 = 64;
/// σ² at most 2¹²⁰, so that every magnitude and block product fits in a `u128`.
const MAX_SIGMA_SQUARED_BITS: u64 = 120;
/// Most blocks (the scan's length); about 110 are ever needed.
const MAX_BLOCKS: usize = 1 << 12;
/// Most rounds the sampler accepts to run (acceptance is above 0.9 for every σ, so about 30
/// are ever needed).
const MAX_ROUNDS: usize = 256;

/// A discrete Gaussian sampler of parameter σ² running in fixed time (module docs).
#[derive(Clone, Debug)]
pub struct BoundedDiscreteGaussian {
    /// `log₂ w`.
    block_bits: u32,
    /// `C_k` for `k < J − 1` (the last, 2¹²⁸, is implicit).
    cumulative: Vec<u128>,
    /// Bounds `κ_lo ≤ 2^(shift+124)/(2σ²) ≤ κ_hi`, so that `x·2¹²⁴ ∈ [⌊N_x·κ_lo/2^shift⌋,
    /// ⌈N_x·κ_hi/2^shift⌉]` for the integer `N_x = o(2jw + o)`.
    kappa: (u128, u128),
    shift: u32,
    rounds: usize,
    error: f64,
}

impl BoundedDiscreteGaussian {
    /// The bounded-time sampler for `σ² = a/b` (both non-zero, checked by the caller), refused
    /// above σ² = 2¹²⁰.
    pub(crate) fn new(a: &BigUint, b: &BigUint) -> Result<Self, SamplerError> {
        let too_large =
            || SamplerError::invalid("sigma_squared", "too large for the bounded-time mode");
        if (a / b).bits() > MAX_SIGMA_SQUARED_BITS {
            return Err(too_large());
        }
        let sigma_floor = (a / b).sqrt();
        // w = 2^m, the largest power of two ≤ ⌊σ⌋/4 (≤ σ/4), or 1.
        let block_bits =
            if sigma_floor >= BigUint::from(8u32) { (sigma_floor.bits() - 3) as u32 } else { 0 };
        let w = BigUint::one() << block_bits as usize;
        // M = ⌊√(184·σ²)⌋ + 2 > √184·σ, so M²/(2σ²) > 92.
        let cutoff = (a * 184u32 / b).sqrt() + 2u32;
        let blocks =
            cutoff.div_ceil(&w).to_usize().filter(|&j| j < MAX_BLOCKS).ok_or_else(too_large)?;
        let envelope = envelope(a, b, block_bits, blocks);
        let (cumulative, weight_error) = weights(&envelope);
        let (kappa, shift) = if block_bits > 0 { kappa(a, b) } else { ((0, 0), 1) };
        if block_bits > 0 && x_max(block_bits, blocks, kappa.1, shift) >= X_LIMIT {
            return Err(too_large());
        }
        let p = acceptance_lower_bound(a, b, block_bits, &envelope);
        let (rounds, miss) = if block_bits == 0 { (1, 0.0) } else { rounds_for(&p)? };
        let p = p.to_f64().unwrap_or(0.0).max(0.5);
        let coins = if block_bits == 0 { 0.0 } else { COIN_WIDTH as f64 * 2f64.powi(-127) };
        let error = (rounds as f64 * coins
            + miss
            + 2.0 * weight_error / p * 2f64.powi(-128)
            + 2f64.powi(-132))
            * (1.0 + 1e-9);
        Ok(Self { block_bits, cumulative, kappa, shift, rounds, error })
    }

    /// An upper bound `η` on the total variation distance between the law of a draw (a failure
    /// counted as an outcome) and the exact discrete Gaussian; in particular on the probability
    /// of a failure (module docs).
    pub fn failure_probability(&self) -> f64 {
        self.error
    }

    /// Rejection rounds per draw, always.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Random bits one draw consumes, always.
    pub fn bits_per_sample(&self) -> usize {
        let coin = if self.block_bits > 0 { 127 } else { 0 };
        self.rounds * (128 + self.block_bits as usize + coin + 1)
    }

    /// One sample, or [`SamplerError::BoundedTimeFailure`] with probability at most
    /// [`failure_probability`](Self::failure_probability); the work is the same either way.
    pub fn sample_i128(&self, bits: &mut RandomBits<'_>) -> Result<i128, SamplerError> {
        let (mut done, mut failed) = (false, false);
        let (mut out, mut negative) = (0u128, false);
        for _ in 0..self.rounds {
            let round = self.round(bits);
            let active = !done;
            failed |= active & round.undecided;
            let take = active & round.accepted;
            out = select(take, round.magnitude, out);
            negative = (negative & !take) | (take & round.negative);
            done |= active & (round.accepted | round.undecided);
        }
        if failed | !done {
            return Err(SamplerError::BoundedTimeFailure);
        }
        // `out < M ≤ 2⁶⁴`, so it fits in an `i128`.
        let magnitude = out as i128;
        Ok(if negative { -magnitude } else { magnitude })
    }

    /// One round (module docs), with no branch on anything drawn.
    #[inline]
    fn round(&self, bits: &mut RandomBits<'_>) -> Round {
        let u = bits.bits128();
        let block = self.cumulative.iter().map(|&c| u128::from(u >= c)).sum::<u128>();
        let offset = u128::from(bits.bits(self.block_bits));
        let magnitude = block << self.block_bits | offset;
        let (accepted, undecided) = if self.block_bits > 0 {
            self.coin(block, offset, magnitude, bits)
        } else {
            // w = 1: the block is the magnitude, and its envelope is its weight.
            (true, false)
        };
        let negative = bits.bit() & (magnitude != 0);
        Round { accepted, undecided, magnitude, negative }
    }

    /// The coin `exp(−x)` (½ of it at `y = 0`) of a round with `w > 1`: `(accept, undecided)`.
    #[inline]
    fn coin(
        &self,
        block: u128,
        offset: u128,
        magnitude: u128,
        bits: &mut RandomBits<'_>,
    ) -> (bool, bool) {
        let (mut lo, mut hi) = self.interval(block, offset);
        // y = 0 has weight 1, not 2, in its block's envelope 2ρ(0).
        let half = u32::from(magnitude == 0);
        lo >>= half;
        hi = (hi + u128::from(half)) >> half;
        let v = bits.bits127();
        let accept = v < lo;
        (accept, !accept & (v < hi))
    }

    /// Q127 bounds `(lo, hi)` on `exp(−x)`, `x = o(2jw + o)/(2σ²)`, for block `j` and offset
    /// `o`, by a fixed sequence of operations.
    #[inline]
    fn interval(&self, block: u128, offset: u128) -> (u128, u128) {
        // N_x = o·(2jw + o) < 2¹²⁴; x = N_x/(2σ²) in Q124, bounded through κ.
        let n_x = offset * ((block << (self.block_bits + 1)) + offset);
        let (h, l) = mul_wide(n_x, self.kappa.0);
        let x_lo = shr_wide(h, l, self.shift).0;
        let (h, l) = mul_wide(n_x, self.kappa.1);
        let (q, dropped) = shr_wide(h, l, self.shift);
        let x_hi = q + u128::from(dropped);
        let e = exp_neg_fixed(x_lo);
        // exp(−x) ≥ exp(−x_hi) ≥ exp(−x_lo)·(1 − (x_hi − x_lo)); the difference in Q127.
        let d = (x_hi - x_lo) << 3;
        let lo = e.saturating_sub(EXP_BELOW + mul_up(e + EXP_ABOVE, d.min(ONE)));
        (lo, (e + EXP_ABOVE).min(ONE))
    }
}

/// What one round drew.
struct Round {
    accepted: bool,
    undecided: bool,
    magnitude: u128,
    negative: bool,
}

/// `if take { a } else { b }` without a branch.
#[inline]
fn select(take: bool, a: u128, b: u128) -> u128 {
    b ^ ((a ^ b) & 0u128.wrapping_sub(u128::from(take)))
}

/// Bounds `(lo, hi)` on `2^TABLE_BITS·ê_j` for every block.
fn envelope(a: &BigUint, b: &BigUint, block_bits: u32, blocks: usize) -> Vec<(BigUint, BigUint)> {
    (0..blocks)
        .map(|j| {
            if j == 0 && block_bits == 0 {
                let one = BigUint::one() << TABLE_BITS;
                return (one.clone(), one);
            }
            // ρ(jw) = exp(−(jw)²·b/(2a)); ê_j = 2ρ(jw).
            let jw = BigUint::from(j) << block_bits as usize;
            let c = Ratio::new(&jw * &jw * b, a * 2u32);
            let (lo, hi) = exp_neg_bounds(&c, TABLE_BITS);
            (lo << 1usize, hi << 1usize)
        })
        .collect()
}

/// The cumulative weights `C_k` (`k < J − 1`) of integers `W_j` summing to exactly 2¹²⁸, and a
/// bound on `Σ_j |W_j − X_j|` with `X_j = 2¹²⁸·ê_j/Σê` the exact values.
///
/// `W_j = ⌊2¹²⁸·lo_j/Σ lo⌋`, with the remainder (at most `J`) added to the largest. The
/// envelope's bounds are relatively within 2⁻¹⁸⁰ of the truth, so `|W_j − X_j| ≤ 1 + 2⁻⁴⁰`
/// for the others and `≤ J + 1` for the largest.
fn weights(envelope: &[(BigUint, BigUint)]) -> (Vec<u128>, f64) {
    let total: BigUint = envelope.iter().map(|(lo, _)| lo).sum();
    let full = BigUint::one() << 128usize;
    let mut w: Vec<BigUint> = envelope.iter().map(|(lo, _)| (&full * lo) / &total).collect();
    let sum: BigUint = w.iter().sum();
    let largest = (0..w.len()).max_by(|&i, &j| w[i].cmp(&w[j])).unwrap_or(0);
    if let Some(top) = w.get_mut(largest) {
        // Σ⌊·⌋ ≤ 2¹²⁸, so the remainder is non-negative.
        *top += &full - &sum;
    }
    let mut running = BigUint::zero();
    let mut cumulative = Vec::with_capacity(w.len().saturating_sub(1));
    for weight in &w[..w.len().saturating_sub(1)] {
        running += weight;
        // A prefix sum that reaches 2¹²⁸ (all later weights zero) is stored as the largest
        // u128: no 128-bit u exceeds it, which is what the sum 2¹²⁸ would say.
        cumulative.push(running.to_u128().unwrap_or(u128::MAX));
    }
    let error = (w.len() as f64 - 1.0) * (1.0 + 1e-12) + (w.len() as f64 + 1.0);
    (cumulative, error)
}

/// `((κ_lo, κ_hi), shift)` with `κ_lo ≤ b·2^(shift+124)/(2a) ≤ κ_hi ≤ 2¹²⁷`, `κ_lo ≥ 2¹²⁶`.
/// Only used for σ² ≥ 64, where `2a/b ≥ 128` makes the shift at least 8.
fn kappa(a: &BigUint, b: &BigUint) -> ((u128, u128), u32) {
    let two_a = a * 2u32;
    // b·2^e/(2a) lies in (2¹²⁶, 2¹²⁸) for e = 127 + bits(2a) − bits(b); one step down if it
    // is 2¹²⁷ or more, so that the rounded-up value still fits.
    let mut e = (127 + two_a.bits()).saturating_sub(b.bits()) as usize;
    if (b << e) / &two_a >= BigUint::one() << 127usize {
        e -= 1;
    }
    let scaled = b << e;
    let lo = &scaled / &two_a;
    let hi = Integer::div_ceil(&scaled, &two_a);
    let shift = (e as u32).saturating_sub(124).clamp(1, 255);
    let fit = |x: BigUint| x.to_u128().unwrap_or(ONE).min(ONE);
    ((fit(lo), fit(hi)), shift)
}

/// The largest `x_hi` (Q124) a round can compute.
fn x_max(block_bits: u32, blocks: usize, kappa_hi: u128, shift: u32) -> u128 {
    let w = 1u128 << block_bits;
    let n_max = (w - 1) * (((blocks as u128 - 1) << (block_bits + 1)) + w - 1);
    let (h, l) = mul_wide(n_max, kappa_hi);
    let (q, dropped) = shr_wide(h, l, shift);
    q + u128::from(dropped)
}

/// A rational lower bound on the acceptance probability of one round,
/// `p ≥ G/(w·Σê) − 2⁻¹⁰⁰` (module docs; the `2⁻¹⁰⁰` covers the integer weights).
fn acceptance_lower_bound(
    a: &BigUint,
    b: &BigUint,
    block_bits: u32,
    envelope: &[(BigUint, BigUint)],
) -> Ratio<BigUint> {
    let table_one = BigUint::one() << TABLE_BITS;
    let total: BigUint = envelope.iter().map(|(_, hi)| hi).sum();
    // G ≥ σ√(2π)(1 − 2⁻¹²⁰), with σ ≥ ⌊σ·2⁶⁴⌋/2⁶⁴ and √(2π) ≥ 2.506628274631; in units of
    // 2^−TABLE_BITS.
    let sigma = (a * (BigUint::one() << 128usize) / b).sqrt();
    let scaled = ((sigma * BigUint::from(2_506_628_274_631u64)) << TABLE_BITS) >> 64usize;
    let g = (scaled / BigUint::from(1_000_000_000_000u64)).max(table_one);
    let g = &g - (&g >> 120usize) - 1u32;
    let w = BigUint::one() << block_bits as usize;
    let p = Ratio::new(g, w * total);
    let margin = Ratio::new(BigUint::one(), BigUint::one() << 100usize);
    if p > margin {
        p - margin
    } else {
        Ratio::from_integer(BigUint::zero())
    }
}

/// The least `R` with `(1 − p)^R ≤ 2⁻¹⁰⁴` computed with upward rounding, and `(1 − p)^R`.
fn rounds_for(p: &Ratio<BigUint>) -> Result<(usize, f64), SamplerError> {
    let one = Ratio::from_integer(BigUint::one());
    let miss = if p >= &one { Ratio::from_integer(BigUint::zero()) } else { one - p };
    // 1 − p in Q127, rounded up.
    let q = (miss * BigUint::from(ONE)).ceil().to_integer().to_u128().unwrap_or(ONE).min(ONE);
    let target = ONE >> ROUNDS_TARGET_BITS;
    let mut power = ONE;
    let mut rounds = 0;
    while power > target {
        power = mul_up(power, q);
        rounds += 1;
        if rounds > MAX_ROUNDS {
            return Err(SamplerError::invalid(
                "sigma_squared",
                "acceptance too low for bounded time",
            ));
        }
    }
    Ok((rounds.max(1), power as f64 * 2f64.powi(-127)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{gaussian_pmf, Histogram};
    use privacy_core::SecureRng;

    fn sampler(sigma_squared: u128) -> BoundedDiscreteGaussian {
        BoundedDiscreteGaussian::new(&BigUint::from(sigma_squared), &BigUint::one()).unwrap()
    }

    #[test]
    fn parameters_are_as_documented() {
        for (s2, block_bits) in [(1u128, 0u32), (49, 0), (64, 1), (100, 1), (1 << 48, 22)] {
            let s = sampler(s2);
            assert_eq!(s.block_bits, block_bits, "σ² = {s2}");
            assert!(s.failure_probability() < 1e-30, "σ² = {s2}: η = {}", s.error);
            assert!(s.rounds() <= 35, "σ² = {s2}: {} rounds", s.rounds());
            assert!(s.cumulative.len() < 128);
        }
        // Small σ: the proposal is the law itself, up to the rounding of the weights.
        assert_eq!(sampler(1).rounds(), 1);
        assert_eq!(sampler(49).rounds(), 1);
    }

    #[test]
    fn coin_intervals_are_at_most_the_documented_width() {
        // Every block, extreme and middle offsets: the interval stays ≤ 64 units wide, and the
        // exponent stays inside the evaluator's range.
        for s2 in [64u128, 1000, 123_456_789, 1 << 48, 1 << 100] {
            let s = sampler(s2);
            let w = 1u128 << s.block_bits;
            for block in 0..=s.cumulative.len() as u128 {
                for offset in [0, 1, w / 3, w / 2, w - 1] {
                    let (lo, hi) = s.interval(block, offset);
                    assert!(hi - lo <= COIN_WIDTH, "σ² = {s2}, block {block}: {}", hi - lo);
                }
            }
        }
    }

    /// Chi-square fit, Kolmogorov–Smirnov (DKW) distance, tail decay, moments, symmetry, and
    /// power against a law wider by the factor `wider`, over `draws` draws at σ².
    fn check_law(s2: u128, draws: u64, wider: f64, seed: u64) {
        let s = sampler(s2);
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let mut bits = RandomBits::new(&mut rng);
        let hist = Histogram::collect(draws, || s.sample_i128(&mut bits).unwrap() as i64);
        let what = format!("bounded discrete Gaussian, σ² = {s2}");
        hist.assert_law(&gaussian_pmf(s2 as f64), &gaussian_pmf(wider * s2 as f64), true, &what);
    }

    #[test]
    fn bounded_gaussian_with_block_coins_has_the_law() {
        // σ = 10: blocks of 2, 28 rounds of coins per draw.
        check_law(100, 1_000_000, 1.02, 120);
    }

    #[test]
    fn bounded_gaussian_of_small_sigma_has_the_law() {
        // σ² = 2: one block per magnitude, one round, no coin.
        check_law(2, 1_000_000, 1.02, 122);
    }

    #[test]
    fn bounded_gaussian_of_wider_blocks_has_the_law() {
        // σ ≈ 55: blocks of 8 (fewer draws: each is about 25 rounds of coins).
        check_law(3000, 200_000, 1.05, 123);
    }

    #[test]
    fn every_sample_reads_the_same_number_of_bits() {
        let s = sampler(1000);
        let mut rng = SecureRng::seeded_for_tests_only(121);
        let mut twin = SecureRng::seeded_for_tests_only(121);
        let samples = 64;
        {
            let mut bits = RandomBits::new(&mut rng);
            for _ in 0..samples {
                s.sample_i128(&mut bits).unwrap();
            }
        }
        let total = samples * s.bits_per_sample();
        // Skip whole words on the twin, then compare the next word past the partial one.
        for _ in 0..total.div_ceil(64) {
            rand_core::RngCore::next_u64(&mut twin);
        }
        assert_eq!(rand_core::RngCore::next_u64(&mut rng), rand_core::RngCore::next_u64(&mut twin));
    }

    #[test]
    fn large_sigma_is_refused_beyond_the_range() {
        let a = BigUint::one() << 122usize;
        assert!(matches!(
            BoundedDiscreteGaussian::new(&a, &BigUint::one()),
            Err(SamplerError::InvalidParameter { name: "sigma_squared", .. })
        ));
    }
}
