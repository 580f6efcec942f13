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
//! `Y`; report it if it is the truth, else report it with probability `exp(−ε)` (an exact coin
//! of [`crate::sampler`], built once per mechanism) and otherwise draw again. Per round the
//! truth has weight `1/k` and every other category `e^(−ε)/k`, so the report has exactly the
//! law above. Trade-off: about `k/(1 + (k − 1)e^(−ε))` rounds, against a floating-point
//! threshold that would be biased.
//!
//! **Bounded-time mode** ([`RandomizedResponse::bounded_time`]): one coin of probability
//! `e^ε/(e^ε + k − 1)` from 127 random bits against rigorous bounds, and one uniform index
//! among the `k − 1` other categories from 128 bits by a multiply-shift (Lemire 2019) whose
//! few biased inputs are failures instead of rejections; the report is selected from the two
//! without a branch on the truth. A report differs from the exact mechanism's only on a
//! failure, of probability `η ≤ 4·2⁻¹²⁷ + (k − 1)·2⁻¹²⁸` independent of the truth, so the
//! guarantee becomes (ε, (1 + e^ε)·η)-local DP (`docs/proofs/bounded-time.md`).

use num_bigint::BigUint;
use privacy_core::{PrivacyGuarantee, SecureRng};

use super::exact::ratio_of;
use super::laplace::pure_guarantee;
use super::{bounded_time_guarantee, positive_finite, MechanismError};
use crate::sampler::{mul_wide, uniform_index, Law, LazyProbability, RandomBits, SamplerError};

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
    /// The exact coin `exp(−ε)`.
    reject: LazyProbability,
    bounded: Option<BoundedResponse>,
}

/// The parts of the bounded-time mode.
#[derive(Clone, Debug)]
struct BoundedResponse {
    /// The coin `e^ε/(e^ε + k − 1)`.
    keep: LazyProbability,
    /// `2¹²⁸ mod (k − 1)`: multiply-shift inputs below it make the index biased.
    bias_threshold: u128,
    failure: f64,
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
        let reject = LazyProbability::new(Law::ExpNeg(ratio_of(epsilon)));
        Ok(Self { epsilon, categories, reject, bounded: None })
    }

    /// The same mechanism in bounded time (module docs); its guarantee becomes
    /// (ε, (1 + e^ε)·η)-local DP.
    pub fn bounded_time(mut self) -> Result<Self, MechanismError> {
        let others = self.categories as u128 - 1;
        let keep = LazyProbability::new(Law::Keep(
            ratio_of(self.epsilon),
            BigUint::from(self.categories - 1),
        ));
        let bias_threshold = 0u128.wrapping_sub(others) % others;
        let units = keep.failure_units() as f64 * 2.0 + bias_threshold as f64;
        let failure = units * 2f64.powi(-128) * (1.0 + 1e-12);
        self.bounded = Some(BoundedResponse { keep, bias_threshold, failure });
        Ok(self)
    }

    /// The guarantee of one report: pure ε-DP for its respondent, or (ε, (1 + e^ε)·η)-DP in
    /// bounded-time mode (δ rounded up to 10⁻¹⁸).
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        match &self.bounded {
            None => pure_guarantee(self.epsilon),
            Some(bounded) => bounded_time_guarantee(self.epsilon, 0.0, bounded.failure),
        }
    }

    /// The probability of reporting the truth, `e^ε/(e^ε + k − 1)` (for debiasing estimates).
    pub fn keep_probability(&self) -> f64 {
        1.0 / (1.0 + (self.categories as f64 - 1.0) * (-self.epsilon).exp())
    }

    /// The report for a respondent whose true category is `truth`.
    pub fn respond(&self, truth: usize, rng: &mut SecureRng) -> Result<usize, MechanismError> {
        self.respond_bits(truth, &mut RandomBits::new(rng))
    }

    /// The report, drawing from a shared bit source (for many respondents in a row).
    pub fn respond_bits(
        &self,
        truth: usize,
        bits: &mut RandomBits<'_>,
    ) -> Result<usize, MechanismError> {
        if truth >= self.categories {
            return Err(MechanismError::invalid("truth", "must be below the number of categories"));
        }
        if let Some(bounded) = &self.bounded {
            return self.respond_bounded(bounded, truth, bits);
        }
        loop {
            let y = uniform_index(self.categories, bits);
            if y == truth || self.reject.sample(bits) {
                return Ok(y);
            }
        }
    }

    /// Binary form: the report for a respondent whose true answer is `truth`.
    pub fn respond_bool(&self, truth: bool, rng: &mut SecureRng) -> Result<bool, MechanismError> {
        Ok(self.respond(usize::from(truth), rng)? == 1)
    }

    /// The bounded-time report: the same bits and operations whatever the truth.
    fn respond_bounded(
        &self,
        bounded: &BoundedResponse,
        truth: usize,
        bits: &mut RandomBits<'_>,
    ) -> Result<usize, MechanismError> {
        let (keep, keep_failed) = bounded.keep.sample_bounded(bits);
        let others = self.categories as u128 - 1;
        let (index, low) = mul_wide(bits.bits128(), others);
        let biased = low < bounded.bias_threshold;
        // The index among the others, shifted past the truth without a branch.
        let index = index as usize;
        let other = index + usize::from(index >= truth);
        let mask = 0usize.wrapping_sub(usize::from(keep));
        let report = (truth & mask) | (other & !mask);
        if keep_failed | biased {
            return Err(SamplerError::BoundedTimeFailure.into());
        }
        Ok(report)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use crate::sampler::test_stats::{assert_counts_fit, assert_counts_reject};

    const DRAWS: usize = 1_000_000;

    /// Counts of 10⁶ reports of `truth` (a law on `k` points; chi-square is its KS test up to
    /// the binning, and the tail of a k-point law is its last bins).
    fn reports(rr: &RandomizedResponse, truth: usize, seed: u64) -> Vec<u64> {
        let mut rng = SecureRng::seeded_for_tests_only(seed);
        let mut bits = RandomBits::new(&mut rng);
        let mut observed = vec![0u64; rr.categories];
        for _ in 0..DRAWS {
            observed[rr.respond_bits(truth, &mut bits).unwrap()] += 1;
        }
        observed
    }

    fn law(k: usize, truth: usize, keep: f64) -> Vec<f64> {
        (0..k)
            .map(|c| DRAWS as f64 * if c == truth { keep } else { (1.0 - keep) / (k - 1) as f64 })
            .collect()
    }

    #[test]
    fn reports_follow_the_randomized_response_law() {
        for (epsilon, k, truth, seed) in [(1.0, 4, 2, 100), (0.5, 2, 1, 102), (0.5, 2, 0, 103)] {
            let rr = RandomizedResponse::k_ary(epsilon, k).unwrap();
            let observed = reports(&rr, truth, seed);
            let keep = rr.keep_probability();
            let what = format!("{k}-ary randomized response at ε = {epsilon}");
            assert_counts_fit(&observed, &law(k, truth, keep), &what);
            assert_counts_reject(&observed, &law(k, truth, keep * 1.01), &what);
        }
    }

    #[test]
    fn bounded_time_reports_follow_the_same_law() {
        for (epsilon, k, truth, seed) in [(1.0, 4, 2, 104), (0.5, 2, 1, 105), (3.0, 7, 0, 106)] {
            let rr = RandomizedResponse::k_ary(epsilon, k).unwrap().bounded_time().unwrap();
            let observed = reports(&rr, truth, seed);
            let keep = rr.keep_probability();
            let what = format!("bounded {k}-ary randomized response at ε = {epsilon}");
            assert_counts_fit(&observed, &law(k, truth, keep), &what);
            assert_counts_reject(&observed, &law(k, truth, keep * 1.01), &what);
        }
    }

    #[test]
    fn bounded_time_reads_the_same_bits_whatever_the_truth() {
        let rr = RandomizedResponse::k_ary(1.0, 5).unwrap().bounded_time().unwrap();
        let g = rr.guarantee().unwrap();
        assert_eq!(g.kind(), "approximate");
        let mut next_words = vec![];
        for truth in 0..5 {
            let mut rng = SecureRng::seeded_for_tests_only(107);
            {
                let mut bits = RandomBits::new(&mut rng);
                for _ in 0..64 {
                    rr.respond_bits(truth, &mut bits).unwrap();
                }
            }
            next_words.push(rand_core::RngCore::next_u64(&mut rng));
        }
        assert!(next_words.windows(2).all(|w| w[0] == w[1]), "bits read depend on the truth");
    }

    #[test]
    fn invalid_inputs_are_refused() {
        let mut rng = SecureRng::seeded_for_tests_only(101);
        assert!(RandomizedResponse::binary(f64::INFINITY).is_err());
        assert!(RandomizedResponse::k_ary(1.0, 1).is_err());
        let rr = RandomizedResponse::k_ary(1.0, 3).unwrap();
        assert_eq!(
            rr.respond(3, &mut rng),
            Err(MechanismError::invalid("truth", "must be below the number of categories"))
        );
        let bounded = rr.bounded_time().unwrap();
        assert!(bounded.respond(3, &mut rng).is_err());
        // At ε = 40 a report lies with probability e⁻⁴⁰.
        let sure = RandomizedResponse::binary(40.0).unwrap().bounded_time().unwrap();
        assert!((0..1000).all(|_| sure.respond_bool(true, &mut rng).unwrap()));
        assert!((0..1000).all(|_| !sure.respond_bool(false, &mut rng).unwrap()));
    }
}
