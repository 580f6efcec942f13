//! The exponential mechanism, sampled exactly, with an optional integer base measure.
//!
//! Given candidates `r` with utility scores `u_r` of sensitivity Δ and weights `w_r ≥ 0` (the
//! base measure; all 1 by default), it returns `r` with probability exactly
//!
//! ```text
//! P(r) = w_r · exp(−c·(u* − u_r)) / Σ_s w_s · exp(−c·(u* − u_s)),   c = ε/(2Δ)
//! ```
//!
//! (`c = ε/Δ` for a utility declared monotone), where `u*` is the largest score of a candidate
//! of positive weight; subtracting it changes no probability.
//!
//! # Guarantee
//!
//! **ε-DP** (pure), for the neighbouring relation under which every score moves by at most Δ
//! (McSherry & Talwar 2007, Theorem 6; Dwork & Roth 2014, Theorem 3.10). With a monotone utility
//! (on neighbours, all scores move in the same direction) the factor 2 is not needed
//! (Dwork & Roth 2014, remark after Theorem 3.10). **Assumption:** the weights do not depend
//! on the data, or the candidates are the cells of a partition of a data-independent domain
//! whose scores are constant on each cell and whose weights are the cells' sizes: then the
//! mechanism samples a cell exactly as the exponential mechanism over the domain's points (with
//! the uniform base measure) would, which is how DP quantiles use it (Smith 2011).
//!
//! # Exact sampling
//!
//! No Gumbel noise and no floating point. With `γ_r = c·(u* − u_r)` (an exact rational, the
//! scores being dyadic), pick an integer `j_r ≤ γ_r / ln 2` as close to it as cheaply possible,
//! so that `2^(−j_r) ≥ exp(−γ_r)`. Then repeat:
//!
//! 1. propose `r` with probability proportional to the dyadic weight `w_r·2^(−j_r)`: a uniform
//!    integer below the total of the integers `w_r·2^(J − j_r)`, found by a cumulative search;
//! 2. accept with probability `2^(j_r)·exp(−γ_r) ∈ (0, 1]`, by the exact coin of
//!    [`crate::sampler`]; otherwise go back to 1.
//!
//! The accepted `r` has probability `∝ w_r·2^(−j_r)·2^(j_r)·exp(−γ_r) = w_r·exp(−γ_r)`. As
//! `j_r` is within about one of `γ_r/ln 2`, a proposal is accepted with probability above
//! about ½, so two rounds are expected. To keep the integers short, `j_r` is capped at
//! `J = 64 + bits(Σ w)`: a smaller `j_r` keeps `2^(−j_r) ≥ exp(−γ_r)` true, and the capped
//! candidates together have under `2⁻⁶⁴` of the proposal mass, so they cost no time.
//!
//! Trade-off: one big-integer pass over the candidates to set up (`O(m)`, allocation of
//! `m/256` block sums), then `O(log m + 256)` per round, against Gumbel-max's single pass of
//! floating-point `ln ln` that floating-point attacks apply to.

use num_bigint::BigUint;
use num_rational::Ratio;
use num_traits::{ToPrimitive, Zero};
use privacy_core::{PrivacyGuarantee, SecureRng};

use super::exact::{common_grid, power_of_two, ratio_of};
use super::laplace::pure_guarantee;
use super::{positive_finite, MechanismError};
use crate::sampler::{
    bernoulli_exp_times_power_of_two, ln2_bounds, uniform_below_biguint, RandomBits,
};

/// Candidates per block of the cumulative search.
const BLOCK: usize = 256;
/// Fractional bits of the fixed-point factor that turns score gaps into exponents `j_r`.
const FACTOR_BITS: u32 = 64;
/// Bits of the bounds on ln 2 used to pick the exponents.
const LN2_BITS: u32 = 128;

/// The exponential mechanism for a fixed ε, sensitivity and utility shape.
///
/// | Input       | Valid range                                        |
/// |-------------|----------------------------------------------------|
/// | epsilon     | finite `f64`, `> 0`                                |
/// | sensitivity | finite `f64`, `> 0` (the utility's Δ)              |
/// | scores      | finite `f64`s, at least one candidate              |
/// | weights     | `u128`s, one per score, not all 0                  |
#[derive(Clone, Debug)]
pub struct ExponentialMechanism {
    epsilon: f64,
    sensitivity: f64,
    monotone: bool,
    /// `c`: ε/(2Δ), or ε/Δ for a monotone utility, exactly.
    rate: Ratio<BigUint>,
}

impl ExponentialMechanism {
    /// The mechanism for privacy parameter `epsilon` and a utility of sensitivity
    /// `sensitivity` (general, not necessarily monotone, utility: `c = ε/(2Δ)`).
    pub fn new(epsilon: f64, sensitivity: f64) -> Result<Self, MechanismError> {
        let epsilon = positive_finite("epsilon", epsilon)?;
        let sensitivity = positive_finite("sensitivity", sensitivity)?;
        let rate = ratio_of(epsilon) / (ratio_of(sensitivity) * BigUint::from(2u32));
        Ok(Self { epsilon, sensitivity, monotone: false, rate })
    }

    /// The same mechanism for a utility the caller declares **monotone**: on neighbouring data
    /// sets every score moves in the same direction. Then `c = ε/Δ`, which halves the noise.
    /// A wrong declaration breaks the guarantee.
    pub fn with_monotone_utility(mut self) -> Self {
        if !self.monotone {
            self.monotone = true;
            self.rate = &self.rate * BigUint::from(2u32);
        }
        self
    }

    /// ε as given.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Δ as given.
    pub fn sensitivity(&self) -> f64 {
        self.sensitivity
    }

    /// Whether the utility was declared monotone.
    pub fn is_monotone(&self) -> bool {
        self.monotone
    }

    /// The guarantee: pure ε-DP, with ε rounded up to the fixed-point grid.
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        pure_guarantee(self.epsilon)
    }

    /// The index of one candidate, with probability `∝ exp(−c·(u* − u_r))`.
    pub fn select(&self, scores: &[f64], rng: &mut SecureRng) -> Result<usize, MechanismError> {
        let weights = vec![1u128; scores.len()];
        self.select_weighted(scores, &weights, rng)
    }

    /// The index of one candidate, with probability `∝ w_r·exp(−c·(u* − u_r))`; a candidate
    /// of weight 0 is never selected. See the module docs for when data-dependent weights keep
    /// the guarantee.
    pub fn select_weighted(
        &self,
        scores: &[f64],
        weights: &[u128],
        rng: &mut SecureRng,
    ) -> Result<usize, MechanismError> {
        let proposal = Proposal::new(&self.rate, scores, weights)?;
        proposal.select(&mut RandomBits::new(rng))
    }
}

/// The dyadic proposal `w_r·2^(−j_r)` and what the acceptance test needs.
struct Proposal<'w> {
    weights: &'w [u128],
    /// `u* − u_r` on the common grid of the scores (an integer), per candidate.
    gaps: Vec<BigUint>,
    /// `γ_r = gap_r · gamma_numer / gamma_denom`.
    gamma_numer: BigUint,
    gamma_denom: BigUint,
    exponents: Vec<u64>,
    cap: u64,
    /// Cumulative proposal mass at the end of each block.
    block_ends: Vec<BigUint>,
}

impl<'w> Proposal<'w> {
    fn new(
        rate: &Ratio<BigUint>,
        scores: &[f64],
        weights: &'w [u128],
    ) -> Result<Self, MechanismError> {
        check_inputs(scores, weights)?;
        let (grid, e) = common_grid(scores);
        // The best score among candidates that can be selected.
        let best = grid
            .iter()
            .zip(weights)
            .filter(|(_, &w)| w > 0)
            .map(|(s, _)| s)
            .max()
            .cloned()
            .ok_or(MechanismError::NoCandidates("every weight is 0"))?;
        let gaps: Vec<BigUint> =
            grid.iter().map(|s| (&best - s).to_biguint().unwrap_or_default()).collect();
        let gamma = rate * power_of_two(e);
        let total_weight: BigUint = weights.iter().map(|&w| BigUint::from(w)).sum();
        let cap = 64 + total_weight.bits();
        let factor = exponent_factor(&gamma);
        let exponents = gaps.iter().map(|g| exponent_of(g, &factor, cap)).collect();
        let (gamma_numer, gamma_denom) = gamma.into_raw();
        let mut proposal =
            Self { weights, gaps, gamma_numer, gamma_denom, exponents, cap, block_ends: vec![] };
        proposal.block_ends = proposal.block_sums();
        Ok(proposal)
    }

    /// The integer proposal mass `w_r·2^(J − j_r)` of candidate `r`.
    fn mass(&self, r: usize) -> BigUint {
        BigUint::from(self.weights[r]) << (self.cap - self.exponents[r]) as usize
    }

    fn block_sums(&self) -> Vec<BigUint> {
        let mut running = BigUint::zero();
        (0..self.weights.len())
            .step_by(BLOCK)
            .map(|start| {
                let end = (start + BLOCK).min(self.weights.len());
                for r in start..end {
                    running += self.mass(r);
                }
                running.clone()
            })
            .collect()
    }

    /// Proposals until one is accepted (module docs).
    fn select(&self, bits: &mut RandomBits<'_>) -> Result<usize, MechanismError> {
        loop {
            let r = self.propose(bits)?;
            if self.accept(r, bits) {
                return Ok(r);
            }
        }
    }

    /// A candidate drawn with probability proportional to its proposal mass.
    fn propose(&self, bits: &mut RandomBits<'_>) -> Result<usize, MechanismError> {
        let total = self.block_ends.last().cloned().unwrap_or_default();
        let target = uniform_below_biguint(&total, bits)
            .ok_or(MechanismError::NoCandidates("internal: no proposal mass"))?;
        // The first block whose end exceeds the target holds it.
        let block = self.block_ends.partition_point(|end| *end <= target);
        let mut running = match block {
            0 => BigUint::zero(),
            b => self.block_ends[b - 1].clone(),
        };
        let start = block * BLOCK;
        for r in start..(start + BLOCK).min(self.weights.len()) {
            running += self.mass(r);
            if target < running {
                return Ok(r);
            }
        }
        // The target is below the total, so some candidate holds it.
        Err(MechanismError::NoCandidates("internal: proposal mass not found"))
    }

    /// The exact coin of probability `2^(j_r)·exp(−γ_r)`.
    fn accept(&self, r: usize, bits: &mut RandomBits<'_>) -> bool {
        let a = &self.gaps[r] * &self.gamma_numer;
        bernoulli_exp_times_power_of_two(&a, &self.gamma_denom, self.exponents[r], bits)
    }
}

fn check_inputs(scores: &[f64], weights: &[u128]) -> Result<(), MechanismError> {
    if scores.is_empty() {
        return Err(MechanismError::NoCandidates("no scores"));
    }
    if scores.len() != weights.len() {
        return Err(MechanismError::LengthMismatch("scores", "weights"));
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err(MechanismError::NonFiniteInput { name: "score" });
    }
    Ok(())
}

/// `⌊γ·2^F·2^q / hi⌋` with `hi ≥ 2^q·ln 2`: a fixed-point lower bound on `γ/ln 2` per unit gap.
fn exponent_factor(gamma: &Ratio<BigUint>) -> BigUint {
    let (_, hi) = ln2_bounds(LN2_BITS);
    let numer = gamma.numer() << (FACTOR_BITS + LN2_BITS) as usize;
    numer / (gamma.denom() * hi)
}

/// `min(⌊gap·factor/2^F⌋, cap)`, an integer `j` with `j·ln 2 ≤ γ·gap`.
fn exponent_of(gap: &BigUint, factor: &BigUint, cap: u64) -> u64 {
    if gap.is_zero() {
        return 0;
    }
    let j = (gap * factor) >> FACTOR_BITS as usize;
    j.to_u64().map_or(cap, |j| j.min(cap))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_counts_fit, assert_counts_reject};
    use proptest::prelude::*;

    const DRAWS: usize = 100_000;
    const MILLION: usize = 1_000_000;

    /// The exact law, in floating point (for expected counts only).
    fn exact_probabilities(rate: f64, scores: &[f64], weights: &[u128]) -> Vec<f64> {
        let best = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let raw: Vec<f64> = scores
            .iter()
            .zip(weights)
            .map(|(s, &w)| w as f64 * (-rate * (best - s)).exp())
            .collect();
        let total: f64 = raw.iter().sum();
        raw.into_iter().map(|x| x / total).collect()
    }

    fn counts(draws: usize, m: usize, mut draw: impl FnMut() -> usize) -> Vec<u64> {
        let mut c = vec![0u64; m];
        for _ in 0..draws {
            c[draw()] += 1;
        }
        c
    }

    fn expected(draws: usize, probabilities: &[f64]) -> Vec<f64> {
        probabilities.iter().map(|p| p * draws as f64).collect()
    }

    #[test]
    fn selection_follows_the_exponential_law() {
        // 10⁶ selections from one prepared proposal (the same propose-and-accept loop as
        // `select`), then 10⁵ through `select` itself.
        let mut rng = SecureRng::seeded_for_tests_only(50);
        let em = ExponentialMechanism::new(1.0, 1.0).unwrap();
        let scores = [0.0, 1.0, 2.0, 3.0, 2.5, -1.0];
        let weights = [1u128; 6];
        let proposal = Proposal::new(&em.rate, &scores, &weights).unwrap();
        let mut bits = RandomBits::new(&mut rng);
        let observed = counts(MILLION, scores.len(), || proposal.select(&mut bits).unwrap());
        let law = exact_probabilities(0.5, &scores, &weights);
        assert_counts_fit(&observed, &expected(MILLION, &law), "exponential mechanism, ε = 1");
        // Power: the law at ε = 1.03 is rejected.
        let wrong = exact_probabilities(0.515, &scores, &weights);
        assert_counts_reject(
            &observed,
            &expected(MILLION, &wrong),
            "exponential mechanism, ε = 1.03",
        );
        let mut rng = SecureRng::seeded_for_tests_only(54);
        let observed = counts(DRAWS, scores.len(), || em.select(&scores, &mut rng).unwrap());
        assert_counts_fit(&observed, &expected(DRAWS, &law), "exponential mechanism via select");
    }

    #[test]
    fn base_measure_weights_the_law() {
        let mut rng = SecureRng::seeded_for_tests_only(51);
        let em = ExponentialMechanism::new(0.7, 2.0).unwrap().with_monotone_utility();
        assert!(em.is_monotone());
        let scores = [10.0, 9.0, 7.5, 3.0, 10.0];
        let weights = [1_000u128, 40, 10, 1 << 12, 0];
        let proposal = Proposal::new(&em.rate, &scores, &weights).unwrap();
        let mut bits = RandomBits::new(&mut rng);
        let observed = counts(MILLION, scores.len(), || proposal.select(&mut bits).unwrap());
        assert_eq!(observed[4], 0, "a weight of 0 is never selected");
        let law = exact_probabilities(0.35, &scores[..4], &weights[..4]);
        let what = "weighted exponential mechanism";
        assert_counts_fit(&observed[..4], &expected(MILLION, &law), what);
        let wrong = exact_probabilities(0.35 * 1.03, &scores[..4], &weights[..4]);
        assert_counts_reject(&observed[..4], &expected(MILLION, &wrong), what);
    }

    #[test]
    fn tiny_and_huge_exponents_are_exact() {
        let mut rng = SecureRng::seeded_for_tests_only(52);
        // Score gaps of 10⁶ at ε = 1 give exp(−5·10⁵): never selected, and no time lost.
        let em = ExponentialMechanism::new(1.0, 1.0).unwrap();
        let scores = [0.0, -1e6, -1e300, 1e-300];
        for _ in 0..2000 {
            let r = em.select(&scores, &mut rng).unwrap();
            assert!(r == 0 || r == 3, "selected {r}");
        }
        // At ε = 10⁻³⁰⁰ the law is uniform up to 10⁻²⁹⁹ (on scores in a small range).
        let flat = ExponentialMechanism::new(1e-300, 1.0).unwrap();
        let observed = counts(DRAWS, 3, || flat.select(&[1.0, 2.0, 3.0], &mut rng).unwrap());
        assert_counts_fit(&observed, &[DRAWS as f64 / 3.0; 3], "ε = 1e-300");
    }

    #[test]
    fn invalid_parameters_and_inputs_are_typed_errors() {
        let mut rng = SecureRng::seeded_for_tests_only(53);
        for bad in [f64::NAN, f64::INFINITY, 0.0, -1.0] {
            assert!(matches!(
                ExponentialMechanism::new(bad, 1.0),
                Err(MechanismError::InvalidParameter { name: "epsilon", .. })
            ));
            assert!(matches!(
                ExponentialMechanism::new(1.0, bad),
                Err(MechanismError::InvalidParameter { name: "sensitivity", .. })
            ));
        }
        let em = ExponentialMechanism::new(1.0, 1.0).unwrap();
        assert_eq!(em.select(&[], &mut rng), Err(MechanismError::NoCandidates("no scores")));
        assert_eq!(
            em.select(&[1.0, f64::NAN], &mut rng),
            Err(MechanismError::NonFiniteInput { name: "score" })
        );
        assert_eq!(
            em.select_weighted(&[1.0, 2.0], &[1], &mut rng),
            Err(MechanismError::LengthMismatch("scores", "weights"))
        );
        assert_eq!(
            em.select_weighted(&[1.0, 2.0], &[0, 0], &mut rng),
            Err(MechanismError::NoCandidates("every weight is 0"))
        );
        let g = em.guarantee().unwrap();
        assert_eq!(g.kind(), "pure");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn selects_a_candidate_of_positive_weight(
            scores in prop::collection::vec(-1e6f64..1e6, 1..600),
            seed in any::<u64>(),
        ) {
            let mut rng = SecureRng::seeded_for_tests_only(seed);
            let weights: Vec<u128> = (0..scores.len()).map(|i| (i % 3) as u128).collect();
            let em = ExponentialMechanism::new(0.5, 1.0).unwrap();
            match em.select_weighted(&scores, &weights, &mut rng) {
                Ok(r) => prop_assert!(weights[r] > 0),
                Err(e) => prop_assert_eq!(e, MechanismError::NoCandidates("every weight is 0")),
            }
        }
    }
}
