//! Randomized response, binary and k-ary (Warner 1965; Kairouz, Oh, Viswanath 2014 for the
//! k-ary form), sampled exactly.
//!
//! Each respondent reports their true category with probability `e^ε/(e^ε + k − 1)` and each
//! other category with probability `1/(e^ε + k − 1)`. That is **ε-local DP** (each report is
//! ε-DP with respect to that respondent's value): any two true values give any report with
//! probabilities in ratio at most `e^ε`. The neighbouring relation is "one respondent's value
//! changes"; nothing is assumed of the data.
//!
//! The irrational keep-probability is sampled without computing it: draw a uniform category
//! `Y`; report it if it is the truth, else report it with probability `exp(−ε)` (the exact coin
//! of [`crate::sampler`]) and otherwise draw again. Per round the truth has weight `1/k` and
//! every other category `e^(−ε)/k`, so the report has exactly the law above. Trade-off: about
//! `k/(1 + (k − 1)e^(−ε))` rounds, against a floating-point threshold that would be biased.

use num_bigint::BigUint;
use num_rational::Ratio;
use privacy_core::{PrivacyGuarantee, SecureRng};

use super::exact::ratio_of;
use super::laplace::pure_guarantee;
use super::{positive_finite, MechanismError};
use crate::sampler::{sample_bernoulli_exp, uniform_index};

/// k-ary randomized response (binary for `k = 2`).
///
/// | Input      | Valid range           |
/// |------------|-----------------------|
/// | epsilon    | finite `f64`, `> 0`   |
/// | categories | integer `≥ 2`         |
#[derive(Clone, Debug)]
pub struct RandomizedResponse {
    epsilon: f64,
    categories: usize,
    gamma: Ratio<BigUint>,
}

impl RandomizedResponse {
    /// Binary randomized response (categories 0 and 1).
    pub fn binary(epsilon: f64) -> Result<Self, MechanismError> {
        Self::k_ary(epsilon, 2)
    }

    /// Randomized response over `categories` categories `0..k`.
    pub fn k_ary(epsilon: f64, categories: usize) -> Result<Self, MechanismError> {
        let epsilon = positive_finite("epsilon", epsilon)?;
        if categories < 2 {
            return Err(MechanismError::invalid("categories", "must be >= 2"));
        }
        Ok(Self { epsilon, categories, gamma: ratio_of(epsilon) })
    }

    /// The guarantee of one report: pure ε-DP for its respondent.
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        pure_guarantee(self.epsilon)
    }

    /// The probability of reporting the truth, `e^ε/(e^ε + k − 1)` (for debiasing estimates).
    pub fn keep_probability(&self) -> f64 {
        1.0 / (1.0 + (self.categories as f64 - 1.0) * (-self.epsilon).exp())
    }

    /// The report for a respondent whose true category is `truth`.
    pub fn respond(&self, truth: usize, rng: &mut SecureRng) -> Result<usize, MechanismError> {
        if truth >= self.categories {
            return Err(MechanismError::invalid("truth", "must be below the number of categories"));
        }
        loop {
            let y = uniform_index(self.categories, rng);
            if y == truth || sample_bernoulli_exp(&self.gamma, rng)? {
                return Ok(y);
            }
        }
    }

    /// Binary form: the report for a respondent whose true answer is `truth`.
    pub fn respond_bool(&self, truth: bool, rng: &mut SecureRng) -> Result<bool, MechanismError> {
        Ok(self.respond(usize::from(truth), rng)? == 1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_counts_fit, assert_counts_reject};

    #[test]
    fn reports_follow_the_randomized_response_law() {
        const DRAWS: usize = 200_000;
        let mut rng = SecureRng::seeded_for_tests_only(100);
        let rr = RandomizedResponse::k_ary(1.0, 4).unwrap();
        let mut observed = [0u64; 4];
        for _ in 0..DRAWS {
            observed[rr.respond(2, &mut rng).unwrap()] += 1;
        }
        let keep = rr.keep_probability();
        let law = |keep: f64| {
            (0..4)
                .map(|c| DRAWS as f64 * if c == 2 { keep } else { (1.0 - keep) / 3.0 })
                .collect::<Vec<_>>()
        };
        assert_counts_fit(&observed, &law(keep), "4-ary randomized response");
        assert_counts_reject(&observed, &law(keep * 1.02), "keep probability 2% off");
        let binary = RandomizedResponse::binary(0.5).unwrap();
        let trues = (0..DRAWS).filter(|_| binary.respond_bool(true, &mut rng).unwrap()).count();
        let p = binary.keep_probability();
        let n = DRAWS as f64;
        assert_counts_fit(
            &[trues as u64, (DRAWS - trues) as u64],
            &[n * p, n * (1.0 - p)],
            "binary",
        );
    }

    #[test]
    fn invalid_inputs_are_refused() {
        let mut rng = SecureRng::seeded_for_tests_only(101);
        assert!(RandomizedResponse::binary(f64::INFINITY).is_err());
        assert!(RandomizedResponse::k_ary(1.0, 1).is_err());
        let rr = RandomizedResponse::k_ary(1.0, 3).unwrap();
        assert!(rr.respond(3, &mut rng).is_err());
    }
}
