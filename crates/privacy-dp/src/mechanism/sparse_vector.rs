//! The sparse vector technique: AboveThreshold with a cutoff, in the corrected form of Lyu, Su
//! and Li (2017, "Understanding the Sparse Vector Technique for Differential Privacy", PVLDB,
//! Algorithm 1).
//!
//! The threshold `T` gets noise `ρ ~ Lap(Δ/ε₁)` **once**; each query answer `q_i` gets fresh
//! noise `ν_i ~ Lap(2cΔ/ε₂)` (`Lap(cΔ/ε₂)` for monotone queries); the answer is ⊤ when
//! `q_i + ν_i ≥ T + ρ`, and the session stops after `c` ⊤ answers. Only the ⊤/⊥ pattern is
//! released, never a noisy value. With `ε₁ = ε₂ = ε/2` the whole session is **ε-DP** (Lyu, Su,
//! Li 2017, Theorem 2), for the neighbouring relation under which each query answer moves by at
//! most Δ. Several published variants omit the query noise, reuse it for a released value, or
//! do not stop after `c` positives; none of those is ε-DP, and this type cannot express them.
//!
//! Queries, threshold and Δ are integers, and both noises are exact discrete Laplace draws: the
//! proof's shifts of `ρ` by Δ and of `ν_i` by 2Δ stay on the integers, so it carries over
//! unchanged. Trade-off: real-valued queries must be scaled to integers by the caller.

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use privacy_core::{PrivacyGuarantee, SecureRng};

use super::exact::ratio_of;
use super::laplace::pure_guarantee;
use super::{positive_finite, MechanismError};
use crate::sampler::DiscreteLaplace;

/// AboveThreshold with cutoff `c` (module docs).
///
/// | Input       | Valid range            |
/// |-------------|------------------------|
/// | epsilon     | finite `f64`, `> 0`    |
/// | sensitivity | integer `≥ 1`          |
/// | cutoff `c`  | integer `≥ 1`          |
#[derive(Clone, Debug)]
pub struct AboveThreshold {
    epsilon: f64,
    threshold: BigInt,
    cutoff: usize,
    threshold_noise: DiscreteLaplace,
    query_noise: DiscreteLaplace,
}

impl AboveThreshold {
    /// The mechanism; `monotone` declares that on neighbouring data sets all query answers move
    /// in the same direction (which halves the query noise).
    pub fn new(
        epsilon: f64,
        sensitivity: u64,
        threshold: i64,
        cutoff: usize,
        monotone: bool,
    ) -> Result<Self, MechanismError> {
        let epsilon = positive_finite("epsilon", epsilon)?;
        if sensitivity == 0 {
            return Err(MechanismError::invalid("sensitivity", "must be >= 1"));
        }
        if cutoff == 0 {
            return Err(MechanismError::invalid("cutoff", "must be >= 1"));
        }
        let half = ratio_of(epsilon) / BigUint::from(2u32);
        let delta = Ratio::from_integer(BigUint::from(sensitivity));
        let factor = BigUint::from(cutoff) * BigUint::from(if monotone { 1u32 } else { 2u32 });
        Ok(Self {
            epsilon,
            threshold: BigInt::from(threshold),
            cutoff,
            threshold_noise: DiscreteLaplace::new(&delta / &half)?,
            query_noise: DiscreteLaplace::new(delta * factor / half)?,
        })
    }

    /// The guarantee of one whole session: pure ε-DP.
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        pure_guarantee(self.epsilon)
    }

    /// A session: draws the threshold noise.
    pub fn start(&self, rng: &mut SecureRng) -> Result<SparseVector<'_>, MechanismError> {
        let noisy_threshold = &self.threshold + self.threshold_noise.sample(rng)?;
        Ok(SparseVector { mechanism: self, noisy_threshold, positives_left: self.cutoff })
    }
}

/// One run of [`AboveThreshold`] over a stream of queries.
#[derive(Debug)]
pub struct SparseVector<'m> {
    mechanism: &'m AboveThreshold,
    noisy_threshold: BigInt,
    positives_left: usize,
}

impl SparseVector<'_> {
    /// Whether the next query's answer is (noisily) above the threshold. After `c` positive
    /// answers the session is over and every further call is refused.
    pub fn test(&mut self, answer: i64, rng: &mut SecureRng) -> Result<bool, MechanismError> {
        if self.positives_left == 0 {
            return Err(MechanismError::Exhausted);
        }
        let noisy = BigInt::from(answer) + self.mechanism.query_noise.sample(rng)?;
        let above = noisy >= self.noisy_threshold;
        if above {
            self.positives_left -= 1;
        }
        Ok(above)
    }

    /// Whether the session can answer more queries.
    pub fn is_exhausted(&self) -> bool {
        self.positives_left == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_query_far_above_the_threshold() {
        let mut rng = SecureRng::seeded_for_tests_only(90);
        let svt = AboveThreshold::new(10.0, 1, 100, 1, false).unwrap();
        let mut session = svt.start(&mut rng).unwrap();
        let answers = [0, 10, 20, 500, 0];
        let mut results = vec![];
        for a in answers {
            match session.test(a, &mut rng) {
                Ok(r) => results.push(r),
                Err(e) => {
                    assert_eq!(e, MechanismError::Exhausted);
                    break;
                }
            }
        }
        assert_eq!(results, vec![false, false, false, true]);
        assert!(session.is_exhausted());
    }

    #[test]
    fn invalid_parameters_are_refused() {
        assert!(AboveThreshold::new(f64::NAN, 1, 0, 1, false).is_err());
        assert!(AboveThreshold::new(0.0, 1, 0, 1, false).is_err());
        assert!(AboveThreshold::new(1.0, 0, 0, 1, false).is_err());
        assert!(AboveThreshold::new(1.0, 1, 0, 0, false).is_err());
    }
}
