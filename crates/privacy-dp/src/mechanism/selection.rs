//! Report-noisy-max and top-k selection by permute-and-flip, sampled exactly.
//!
//! **Permute-and-flip** (McKenna & Sheldon 2020): visit the candidates in a uniformly random
//! order and stop at the first `r` whose coin `Bernoulli(exp(−c·(u* − u_r)))` succeeds, with
//! `c = ε/(2Δ)` (`ε/Δ` for a monotone utility) and `u*` the best score (whose coin always
//! succeeds, so the walk ends). It is **ε-DP** (McKenna & Sheldon 2020, Theorem 1) and it is
//! exactly report-noisy-max with exponential noise (Ding, Kifer et al. 2021), whose expected
//! error is never worse than the exponential mechanism's. Each coin is the exact
//! `Bernoulli(exp(−γ))` of [`crate::sampler`] on a rational `γ`, and the order is an exact
//! Fisher–Yates shuffle, so no floating-point noise is involved.
//!
//! **Top-k** by peeling: `k` rounds of permute-and-flip with `ε/k` each, removing the winner
//! every time; ε-DP by basic composition (Dwork & Roth 2014, Theorem 3.16).
//!
//! Neighbouring relation: the caller's, under which every score moves by at most Δ.
//! Trade-off: up to `m` coins per selection, against one pass of Gumbel noise that would need
//! floating-point logarithms.

use num_bigint::BigUint;
use num_rational::Ratio;
use privacy_core::{PrivacyGuarantee, SecureRng};

use super::exact::{common_grid, power_of_two, ratio_of};
use super::laplace::pure_guarantee;
use super::{positive_finite, MechanismError};
use crate::sampler::{bernoulli_exp_times_power_of_two, uniform_index, RandomBits};

/// Report-noisy-max (permute-and-flip) for a fixed ε and sensitivity.
///
/// | Input       | Valid range                      |
/// |-------------|----------------------------------|
/// | epsilon     | finite `f64`, `> 0`              |
/// | sensitivity | finite `f64`, `> 0`              |
/// | scores      | finite `f64`s, at least one      |
#[derive(Clone, Debug)]
pub struct ReportNoisyMax {
    epsilon: f64,
    sensitivity: f64,
    monotone: bool,
}

impl ReportNoisyMax {
    /// The mechanism for ε and a utility of sensitivity Δ.
    pub fn new(epsilon: f64, sensitivity: f64) -> Result<Self, MechanismError> {
        positive_finite("epsilon", epsilon)?;
        positive_finite("sensitivity", sensitivity)?;
        Ok(Self { epsilon, sensitivity, monotone: false })
    }

    /// The same mechanism for a utility declared monotone (`c = ε/Δ`).
    pub fn with_monotone_utility(mut self) -> Self {
        self.monotone = true;
        self
    }

    /// The guarantee of one selection (or of one whole top-k): pure ε-DP.
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        pure_guarantee(self.epsilon)
    }

    fn rate(&self, epsilon: f64) -> Ratio<BigUint> {
        let factor = if self.monotone { 1u32 } else { 2u32 };
        ratio_of(epsilon) / (ratio_of(self.sensitivity) * BigUint::from(factor))
    }

    /// The index of the (noisily) best score.
    pub fn select(&self, scores: &[f64], rng: &mut SecureRng) -> Result<usize, MechanismError> {
        let live: Vec<usize> = (0..scores.len()).collect();
        permute_and_flip(&self.rate(self.epsilon), scores, &live, &mut RandomBits::new(rng))
    }

    /// `k` distinct indices, best first, by peeling with `ε/k` per round.
    pub fn top_k(
        &self,
        scores: &[f64],
        k: usize,
        rng: &mut SecureRng,
    ) -> Result<Vec<usize>, MechanismError> {
        if k == 0 || k > scores.len() {
            return Err(MechanismError::invalid("k", "must be between 1 and the number of scores"));
        }
        let rate = self.rate(self.epsilon) / BigUint::from(k);
        let mut live: Vec<usize> = (0..scores.len()).collect();
        let mut chosen = Vec::with_capacity(k);
        let mut bits = RandomBits::new(rng);
        for _ in 0..k {
            let winner = permute_and_flip(&rate, scores, &live, &mut bits)?;
            live.retain(|&i| i != winner);
            chosen.push(winner);
        }
        Ok(chosen)
    }
}

/// Permute-and-flip over the candidates `live` (indices into `scores`).
fn permute_and_flip(
    rate: &Ratio<BigUint>,
    scores: &[f64],
    live: &[usize],
    bits: &mut RandomBits<'_>,
) -> Result<usize, MechanismError> {
    if live.is_empty() {
        return Err(MechanismError::NoCandidates("no scores"));
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err(MechanismError::NonFiniteInput { name: "score" });
    }
    let subset: Vec<f64> = live.iter().map(|&i| scores[i]).collect();
    let (grid, e) = common_grid(&subset);
    let gamma = rate * power_of_two(e);
    // `grid` is non-empty because `live` is.
    let best = grid.iter().max().cloned().unwrap_or_default();
    let mut order: Vec<usize> = (0..live.len()).collect();
    for i in 0..order.len() {
        // Fisher–Yates, one step at a time: position `i` gets a uniform remaining candidate.
        let j = i + uniform_index(order.len() - i, bits);
        order.swap(i, j);
        let r = order[i];
        let gap = (&best - &grid[r]).to_biguint().unwrap_or_default();
        let a = gap * gamma.numer();
        if bernoulli_exp_times_power_of_two(&a, gamma.denom(), 0, bits) {
            return Ok(live[r]);
        }
    }
    // The best candidate's coin has probability exp(0) = 1, so the walk always stops above.
    Err(MechanismError::NoCandidates("internal: no coin succeeded"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_counts_fit, assert_counts_reject};

    /// The exact law of permute-and-flip, by summing over the stopping position: the
    /// probability of `r` is `p_r·E[Π over candidates before r of (1 − p_s)]`, computed over
    /// all subsets for a handful of candidates.
    fn pf_law(p: &[f64]) -> Vec<f64> {
        let m = p.len();
        let mut law = vec![0.0; m];
        for r in 0..m {
            let others: Vec<usize> = (0..m).filter(|&s| s != r).collect();
            for mask in 0u32..(1 << others.len()) {
                // `mask` is the set of candidates before r; a set of size j precedes r with
                // probability j!(m−1−j)!/m!.
                let j = mask.count_ones() as usize;
                let mut weight = (1..=j).product::<usize>() as f64
                    * (1..=(m - 1 - j)).product::<usize>() as f64
                    / (1..=m).product::<usize>() as f64;
                for (bit, &s) in others.iter().enumerate() {
                    if mask >> bit & 1 == 1 {
                        weight *= 1.0 - p[s];
                    }
                }
                law[r] += weight * p[r];
            }
        }
        law
    }

    #[test]
    fn permute_and_flip_follows_its_law() {
        const DRAWS: usize = 100_000;
        let mut rng = SecureRng::seeded_for_tests_only(80);
        let rnm = ReportNoisyMax::new(1.0, 1.0).unwrap();
        let scores = [3.0, 2.0, 0.5, 3.0, -1.0];
        let mut observed = vec![0u64; scores.len()];
        for _ in 0..DRAWS {
            observed[rnm.select(&scores, &mut rng).unwrap()] += 1;
        }
        let p: Vec<f64> = scores.iter().map(|s| (-0.5 * (3.0 - s)).exp()).collect();
        let expected: Vec<f64> = pf_law(&p).iter().map(|q| q * DRAWS as f64).collect();
        assert_counts_fit(&observed, &expected, "permute-and-flip");
        let wrong: Vec<f64> = scores.iter().map(|s| (-0.6 * (3.0 - s)).exp()).collect();
        let wrong: Vec<f64> = pf_law(&wrong).iter().map(|q| q * DRAWS as f64).collect();
        assert_counts_reject(&observed, &wrong, "permute-and-flip at ε = 1.2");
    }

    #[test]
    fn top_k_returns_distinct_indices() {
        let mut rng = SecureRng::seeded_for_tests_only(81);
        let rnm = ReportNoisyMax::new(100.0, 1.0).unwrap().with_monotone_utility();
        let scores = [1.0, 50.0, 20.0, 40.0, 0.0];
        let top = rnm.top_k(&scores, 3, &mut rng).unwrap();
        assert_eq!(top, vec![1, 3, 2], "at ε = 100 over gaps of 10 the order is certain");
        assert!(rnm.top_k(&scores, 0, &mut rng).is_err());
        assert!(rnm.top_k(&scores, 6, &mut rng).is_err());
        assert_eq!(rnm.select(&[], &mut rng), Err(MechanismError::NoCandidates("no scores")));
        assert_eq!(
            rnm.select(&[f64::NAN], &mut rng),
            Err(MechanismError::NonFiniteInput { name: "score" })
        );
        assert!(ReportNoisyMax::new(f64::NAN, 1.0).is_err());
        assert!(ReportNoisyMax::new(1.0, -1.0).is_err());
    }
}
