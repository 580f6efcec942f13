//! Exact samplers for the noise distributions of differential privacy: uniform integers,
//! Bernoulli, Bernoulli(exp(−γ)), the discrete Laplace and the discrete Gaussian.
//!
//! # Why exact sampling
//!
//! The textbook Laplace mechanism draws `b · ln(U)` for a floating-point `U` and adds it to a
//! floating-point answer. Mironov (2012, "On significance of the least significant bits for
//! differential privacy", ACM CCS) showed that this breaks the guarantee in practice: the
//! floating-point numbers such a sampler can return are not spread evenly, so some outputs can
//! only arise from some inputs, and an observer who looks at the low-order bits of a release
//! can tell neighbouring data sets apart with certainty. Rounding, `ln` implementations and
//! the density of doubles all leave marks of this kind, and no amount of care in the
//! floating-point code removes them all.
//!
//! The samplers here avoid the problem at its root. Their parameters are **rationals**, their
//! outputs are **integers**, and every step is exact integer arithmetic on uniformly random
//! bits from [`SecureRng`](privacy_core::SecureRng). The distribution of every output is then
//! exactly the one stated, and the privacy proofs of the mechanisms built on them (which are
//! about those exact distributions) apply without an error term. There is no floating point
//! anywhere in a sampling path; the `f64` code in the tests only computes expected counts.
//!
//! # The samplers
//!
//! All of them follow Canonne, Kamath and Steinke (2020, "The Discrete Gaussian for
//! Differential Privacy", NeurIPS, arXiv:2004.00010), except where a row names another source.
//!
//! | Sampler                  | Law                            | Valid input     | Source        |
//! |--------------------------|--------------------------------|-----------------|---------------|
//! | [`sample_uniform_below`] | uniform on `{0, …, n−1}`       | integer `n ≥ 1` | rejection     |
//! | [`sample_bernoulli`]     | `P(true) = p`                  | `p ∈ [0, 1]`    | lazy digits   |
//! | [`sample_bernoulli_exp`] | `P(true) = exp(−γ)`            | `γ ≥ 0`         | CKS, Alg. 1   |
//! | [`DiscreteLaplace`]      | `P(x) ∝ exp(−\|x\|/t)` on ℤ   | `t > 0`         | geometric digits |
//! | [`DiscreteGaussian`]     | `P(x) ∝ exp(−x²/(2σ²))` on ℤ   | `σ² > 0`        | CKS, Alg. 3   |
//! | [`BoundedBernoulliExp`]  | `exp(−γ)`, bounded time        | `γ ≥ 0`         | fixed-point coin |
//! | [`BoundedDiscreteLaplace`] | discrete Laplace, bounded time | `t/s < 2¹¹³` | geometric digits |
//! | [`BoundedDiscreteGaussian`] | discrete Gaussian, bounded time | `σ² ≤ 2¹²⁰` | block rejection |
//!
//! Every parameter but `n` is a `Ratio<BigUint>`; the free functions `sample_discrete_*` build
//! the sampler and draw once. The proofs sketched below are those of the paper (or of the
//! named module), restated so that each can be checked against the code beside it.
//!
//! * **Uniform.** Draw the `k` random bits that can express `n − 1` and start again if the
//!   value is `n` or more. Unlike reducing a wider word modulo `n`, this has no bias; it accepts
//!   with probability `n/2^k > 1/2`.
//! * **Bernoulli(n/d).** Compare the binary digits of a uniform real with those of `n/d` until
//!   they differ; `V < n/d` has probability `n/d`.
//! * **Bernoulli(exp(−γ)), γ ∈ [0, 1]** (von Neumann's method). Draw `A₁, A₂, …` with
//!   `Aₖ ~ Bernoulli(γ/k)` until the first `Aₖ = 0` and return whether that `k` is odd. The
//!   probability that the first `k` draws all succeed is `γᵏ/k!`, so the probability of an odd
//!   stopping index is `Σⱼ (−γ)ʲ/j! = exp(−γ)`. For γ > 1, the output is the product of
//!   `⌊γ⌋` draws of Bernoulli(exp(−1)) and one of Bernoulli(exp(−(γ − ⌊γ⌋))), stopping at the
//!   first `false`.
//! * **Coins of a fixed irrational probability** (`exp(−1)`, the digit probabilities below):
//!   `[V < p]` decided on the first differing binary digit of `V` and `p`, the digits of `p`
//!   taken from rigorous big-integer bounds ([`lazy`](self) submodule), eight at a time.
//! * **Discrete Laplace, scale `t/s`.** The magnitude is geometric with ratio `q = exp(−s/t)`;
//!   its binary digits are independent coins of probability `q^(2^i)/(1 + q^(2^i))`, and the
//!   part above `L` digits is again geometric (memorylessness), so one draw is `L ≈ log₂(6t/s)`
//!   coins and, with probability at most `e⁻⁶`, more. A fair sign, rejecting "−0" so that zero
//!   is not counted twice, gives `P(z) ∝ exp(−|z|·s/t)`. (CKS 2020, Algorithm 2, reaches the
//!   same law by rejection, in time that grows with the value drawn.)
//! * **Discrete Gaussian, variance parameter σ².** With `t = ⌊σ⌋ + 1`, draw `Y` from the
//!   discrete Laplace of scale `t` and keep it with probability
//!   `exp(−(|Y| − σ²/t)²/(2σ²))`. The product of the two weights is
//!   `exp(−Y²/(2σ²)) · exp(−σ²/(2t²))`, and the second factor does not depend on `Y`, so the
//!   kept values have exactly the discrete Gaussian law. `t` is computed without a square root
//!   of a real: `⌊√(a/b)⌋ = ⌊√⌊a/b⌋⌋`, an integer square root.
//!
//! # Running time
//!
//! Every exact sampler takes an expected constant number of uniform draws, whatever its
//! parameters. A uniform draw needs fewer than 2 attempts; Bernoulli(exp(−γ)) for γ ≤ 1 makes
//! `exp(γ) ≤ e` Bernoulli draws on average, and for γ > 1 fewer than `1/(1 − e⁻¹) ≈ 1.6`
//! `exp(−1)` coins before the first `false` ends it. A discrete Laplace draw is accepted with
//! probability `(1 + q)/2 > ½`. One round of the discrete Gaussian succeeds with probability
//! `tanh(1/(2t)) · exp(−σ²/(2t²)) · Σ_y exp(−y²/(2σ²))`, which is above 0.44 for every σ²
//! (evaluated numerically; `tanh(½)·e^{−½} ≈ 0.28` is an easy lower bound for σ < 1) and tends
//! to `√(2π/e)/2 ≈ 0.76` as σ grows.
//!
//! **Bounded-time mode.** The running time of the exact samplers depends on the value they
//! return (the Gaussian's rejection loop, the Laplace's "−0" restart and tail blocks, the
//! lazy comparisons). The bounded-time samplers read a fixed number of random bits and do the
//! same operations for every draw, with a stated failure probability below 10⁻³⁰ that
//! mechanisms fold into δ (`docs/proofs/bounded-time.md`):
//! [`DiscreteLaplace::bounded_time`] gives a [`BoundedDiscreteLaplace`] (the geometric digits,
//! each from 127 bits), [`DiscreteGaussian::bounded_time`] a [`BoundedDiscreteGaussian`]
//! (a fixed number of rejection rounds from a power-of-two block envelope, with a fixed-work
//! fixed-point exponential for the acceptance coin), and [`BoundedBernoulliExp`] is the
//! `exp(−γ)` coin for a fixed γ. Randomized response has a bounded-time form on top of them
//! (`RandomizedResponse::bounded_time` in [`crate::mechanism`]).
//!
//! FIXME: the exponential mechanism and report-noisy-max (whose coins `2^j·exp(−γ)` have
//! data-dependent exponents and are evaluated with big integers) and sparse vector (an open
//! number of draws) have no bounded-time mode; they need the fixed-point coin of `fixed` fed
//! from fixed-width score arithmetic, and for sparse vector a declared maximum of queries to
//! bound the failure probability.
//!
//! # Implementation
//!
//! Random bits come from a [`RandomBits`] source that draws 64-bit words from the generator
//! and hands them out a few at a time; one source can be kept across many draws
//! (`sample_bits`, `sample_i128`), so no generator output is wasted. The rational algorithms
//! are written once, against exact natural numbers (`Nat`, in the `uniform` submodule). A
//! `Nat` lives in a `u128` while it fits and moves to a `BigUint` when an operation would
//! overflow, so with parameters of ordinary size the sampling loops never allocate, and huge
//! ones still give exact results; the hot paths (the Gaussian's acceptance coin) have `u128`
//! twins that read the same random bits, which the tests check. Both representations draw
//! exactly the same random bytes for the same value.
//!
//! Main trade-off: exactness and simplicity of proof first; speed comes from precomputed coin
//! tables, 128-bit integers and batched bits, not from approximation (see
//! `benches/benches/samplers.rs` and `benches/RESULTS-dp.md`).

mod bernoulli;
mod bounded;
mod bounded_gaussian;
mod exp_bounds;
mod fixed;
mod gaussian;
mod geometric;
mod laplace;
mod lazy;
mod power_of_two;
mod uniform;

use num_bigint::BigUint;
use num_rational::Ratio;
use thiserror::Error;

pub use bernoulli::{sample_bernoulli, sample_bernoulli_exp, BoundedBernoulliExp};
pub use bounded::BoundedDiscreteLaplace;
pub use bounded_gaussian::BoundedDiscreteGaussian;
pub use gaussian::{sample_discrete_gaussian, DiscreteGaussian};
pub use laplace::{sample_discrete_laplace, DiscreteLaplace};
pub use uniform::{sample_uniform_below, RandomBits};

pub(crate) use fixed::mul_wide;
pub(crate) use lazy::{Law, LazyProbability};
pub(crate) use power_of_two::{bernoulli_exp_times_power_of_two, ln2_bounds};

/// A uniform index in `[0, n)` for `n ≥ 1` (0 for `n = 0`, which callers never pass).
pub(crate) fn uniform_index(n: usize, bits: &mut RandomBits<'_>) -> usize {
    match PosNat::new(Nat::from_u128(n as u128)) {
        // `v < n`, so it fits in `usize`.
        Some(bound) => uniform::uniform_below(&bound, bits).to_u128().map_or(0, |v| v as usize),
        None => 0,
    }
}

/// A uniform integer below `n ≥ 1`, from a shared bit source (`None` for `n = 0`).
pub(crate) fn uniform_below_biguint(n: &BigUint, bits: &mut RandomBits<'_>) -> Option<BigUint> {
    PosNat::new(Nat::from_biguint(n)).map(|n| uniform::uniform_below(&n, bits).to_biguint())
}

use uniform::{Nat, PosNat};

/// A failure of a sampler: a refused parameter, or the negligible failure of the bounded-time
/// mode. Once accepted, the variable-time samplers do not fail.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SamplerError {
    /// A parameter is outside the range in the table of the [module docs](self).
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Which parameter, e.g. `scale`.
        name: &'static str,
        /// Why it was refused, e.g. `must be > 0`. A fixed text, so it can hold no data value.
        reason: &'static str,
    },
    /// A bounded-time sampler met an undecided coin, a truncated tail or no accepted round.
    /// This happens with the sampler's stated failure probability (below 10⁻³⁰),
    /// independently of the data, after the same work as a successful draw. The stated
    /// δ (`(1 + e^ε)·η`) assumes the draw then releases nothing; drawing again until success is
    /// also private but costs `(1 + e^ε)·2η` instead (`docs/proofs/bounded-time.md`).
    #[error("the bounded-time sampler failed (a negligible, data-independent event)")]
    BoundedTimeFailure,
}

impl SamplerError {
    fn invalid(name: &'static str, reason: &'static str) -> Self {
        Self::InvalidParameter { name, reason }
    }
}

/// Splits a rational into its numerator and a denominator proven non-zero.
///
/// `Ratio::new_raw` can build a ratio with a zero denominator without panicking, so a
/// `&Ratio` from outside is not trusted to have a non-zero one. The ratio need not be in lowest
/// terms: every algorithm here depends only on the value `numer/denom`.
fn split_ratio(r: &Ratio<BigUint>, name: &'static str) -> Result<(Nat, PosNat), SamplerError> {
    let denom = PosNat::new(Nat::from_biguint(r.denom()))
        .ok_or(SamplerError::invalid(name, "denominator must be > 0"))?;
    Ok((Nat::from_biguint(r.numer()), denom))
}

/// Goodness-of-fit machinery shared by the statistical tests of the sibling modules.
///
/// Every check uses a fixed seed, so for a given implementation it passes or fails
/// deterministically. Its false-failure rate is the probability, over the choice of seed, that
/// a correct sampler fails it: at most 10⁻⁶ for each chi-square test (its threshold is the
/// chi-square quantile at p = 10⁻⁶, from `chi_square_quantile`) and each Kolmogorov–Smirnov
/// test (the DKW bound at α = 10⁻⁶), and about 2·10⁻⁹ for each moment, symmetry or tail-ratio
/// check (six standard errors, in the normal approximation). With about ninety tests of the
/// first kind and a few hundred of the second across the crate, a correct implementation fails
/// one for fewer than one seed in 10⁴. The checks that a wrong law is *rejected* have a
/// false-failure rate that depends on the perturbation; each is chosen so that its expected
/// statistic is several times the threshold.
#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
pub(crate) mod test_stats {
    use std::collections::BTreeMap;

    /// The upper 10⁻⁶ quantile of the standard normal distribution, `Φ⁻¹(1 − 10⁻⁶)`.
    const Z_UPPER_1E6: f64 = 4.753_424_308_822_899;

    /// Smallest expected count a chi-square bin may have.
    const MIN_EXPECTED: f64 = 5.0;

    /// The chi-square quantile at upper tail probability 10⁻⁶ for `df` degrees of freedom, by
    /// the Wilson–Hilferty approximation `df · (1 − 2/(9df) + z·√(2/(9df)))³`.
    ///
    /// In this tail the approximation errs high: by under 3 % for `df ≥ 10`, 7 % at `df = 3`,
    /// and 15 % at `df = 1` (27.5 against 23.9). Erring high only lowers the false-failure rate.
    pub(crate) fn chi_square_quantile(df: usize) -> f64 {
        let k = df as f64;
        let c = 2.0 / (9.0 * k);
        k * (1.0 - c + Z_UPPER_1E6 * c.sqrt()).powi(3)
    }

    /// Pearson's statistic `Σ (O − E)²/E` and its degrees of freedom (bins − 1).
    fn chi_square(observed: &[u64], expected: &[f64]) -> (f64, usize) {
        assert_eq!(observed.len(), expected.len());
        assert!(observed.len() >= 2, "a chi-square test needs two bins");
        let stat = observed
            .iter()
            .zip(expected)
            .map(|(&o, &e)| {
                assert!(e >= MIN_EXPECTED, "bin with expected count {e} < {MIN_EXPECTED}");
                (o as f64 - e).powi(2) / e
            })
            .sum();
        (stat, observed.len() - 1)
    }

    /// Asserts that the observed counts fit the expected ones.
    pub(crate) fn assert_counts_fit(observed: &[u64], expected: &[f64], what: &str) {
        let (stat, df) = chi_square(observed, expected);
        let limit = chi_square_quantile(df);
        assert!(stat < limit, "{what}: chi-square {stat:.1} ≥ {limit:.1} with {df} df");
    }

    /// Asserts that the observed counts do **not** fit `expected`: a check that the test has
    /// the power to tell the law apart from a wrong one.
    pub(crate) fn assert_counts_reject(observed: &[u64], expected: &[f64], what: &str) {
        let (stat, df) = chi_square(observed, expected);
        let limit = chi_square_quantile(df);
        assert!(stat >= limit, "{what}: wrong law accepted, chi-square {stat:.1} < {limit:.1}");
    }

    /// Asserts that a Bernoulli sampler's count of `true` fits probability `p`.
    pub(crate) fn assert_bernoulli_fits(trues: u64, draws: u64, p: f64, what: &str) {
        let n = draws as f64;
        assert_counts_fit(&[trues, draws - trues], &[n * p, n * (1.0 - p)], what);
    }

    /// The empirical law of an integer-valued sampler.
    pub(crate) struct Histogram {
        counts: BTreeMap<i64, u64>,
        total: u64,
    }

    impl Histogram {
        /// Draws `total` values.
        pub(crate) fn collect(total: u64, mut draw: impl FnMut() -> i64) -> Self {
            let mut counts = BTreeMap::new();
            for _ in 0..total {
                *counts.entry(draw()).or_insert(0) += 1;
            }
            Self { counts, total }
        }

        fn count(&self, x: i64) -> u64 {
            self.counts.get(&x).copied().unwrap_or(0)
        }

        /// Bins `{x}` for `|x| ≤ m` and one tail bin `|x| > m`, with the largest `m` for which
        /// every expected count is at least [`MIN_EXPECTED`]. `pmf` must be normalised and
        /// decrease in `|x|`.
        fn bins(&self, pmf: &dyn Fn(i64) -> f64) -> (Vec<u64>, Vec<f64>) {
            let n = self.total as f64;
            let mut m = 0;
            while n * pmf(m + 1).min(pmf(-m - 1)) >= MIN_EXPECTED {
                m += 1;
            }
            loop {
                let window: f64 = (-m..=m).map(pmf).sum();
                let tail = n * (1.0 - window).max(0.0);
                // Giving up `±m` adds at least 2·MIN_EXPECTED to the tail, so this ends.
                if tail < MIN_EXPECTED && m > 0 {
                    m -= 1;
                    continue;
                }
                let mut observed: Vec<u64> = (-m..=m).map(|x| self.count(x)).collect();
                let mut expected: Vec<f64> = (-m..=m).map(|x| n * pmf(x)).collect();
                observed.push(self.total - observed.iter().sum::<u64>());
                expected.push(tail);
                return (observed, expected);
            }
        }

        /// Asserts a chi-square fit to `pmf` over the bins of [`Histogram::bins`].
        pub(crate) fn assert_fits(&self, pmf: &dyn Fn(i64) -> f64, what: &str) {
            let (observed, expected) = self.bins(pmf);
            assert_counts_fit(&observed, &expected, what);
        }

        /// Asserts that the chi-square test rejects the wrong law `pmf`.
        pub(crate) fn assert_rejects(&self, pmf: &dyn Fn(i64) -> f64, what: &str) {
            let (observed, expected) = self.bins(pmf);
            assert_counts_reject(&observed, &expected, what);
        }

        /// Asserts that the mean is 0 and the second moment is the variance of `pmf` (a law
        /// symmetric about 0), each within six standard errors. The standard error of the mean
        /// is `√(σ²/N)`; that of `Σx²/N`, with the mean known to be 0, is `√((μ₄ − σ⁴)/N)`.
        pub(crate) fn assert_moments(&self, pmf: &dyn Fn(i64) -> f64, what: &str) {
            let (variance, fourth) = exact_moments(pmf);
            let n = self.total as f64;
            let (mut sum, mut sum_sq) = (0.0, 0.0);
            for (&x, &c) in &self.counts {
                sum += x as f64 * c as f64;
                sum_sq += (x as f64).powi(2) * c as f64;
            }
            let (mean, second) = (sum / n, sum_sq / n);
            let mean_tol = 6.0 * (variance / n).sqrt();
            let var_tol = 6.0 * ((fourth - variance * variance) / n).sqrt();
            assert!(mean.abs() <= mean_tol, "{what}: mean {mean} beyond ±{mean_tol}");
            assert!(
                (second - variance).abs() <= var_tol,
                "{what}: variance {second}, exact {variance}, tolerance {var_tol}"
            );
        }

        /// Asserts the Dvoretzky–Kiefer–Wolfowitz bound: `sup |F̂ − F| ≤ √(ln(2/α)/(2N))` at
        /// α = 10⁻⁶ (Massart 1990; valid for discrete laws, where it is conservative).
        pub(crate) fn assert_ks(&self, pmf: &dyn Fn(i64) -> f64, what: &str) {
            let n = self.total as f64;
            let limit = ((2.0f64 / 1e-6).ln() / (2.0 * n)).sqrt();
            let (lo, hi) =
                (*self.counts.keys().next().unwrap(), *self.counts.keys().last().unwrap());
            // F below the smallest observed value.
            let mut exact: f64 = (lo - 10_000..lo).map(pmf).sum();
            let mut seen = 0u64;
            let mut worst: f64 = exact;
            for x in lo..=hi {
                exact += pmf(x);
                seen += self.count(x);
                worst = worst.max((seen as f64 / n - exact).abs());
            }
            assert!(worst <= limit, "{what}: KS distance {worst} > {limit}");
        }

        /// Asserts that the tail decays at the law's rate: for each `k` with enough mass,
        /// `T(k+1)/T(k)` (with `T(k) = #{|x| ≥ k}`) is within six standard errors of the exact
        /// ratio, by the delta method: `se ≈ √(r(1 − r)/T(k))`.
        pub(crate) fn assert_tail_ratios(&self, pmf: &dyn Fn(i64) -> f64, what: &str) {
            let tail = |k: i64| -> u64 {
                self.counts.iter().filter(|(x, _)| x.abs() >= k).map(|(_, c)| c).sum()
            };
            let exact_tail = |k: i64| -> f64 { (k..k + 100_000).map(|x| pmf(x) + pmf(-x)).sum() };
            let mut k = 1;
            while tail(k + 1) >= 2_000 {
                let observed = tail(k + 1) as f64 / tail(k) as f64;
                let exact = exact_tail(k + 1) / exact_tail(k);
                let se = (exact * (1.0 - exact) / tail(k) as f64).sqrt();
                assert!(
                    (observed - exact).abs() <= 6.0 * se,
                    "{what}: tail ratio at {k}: {observed} vs {exact}"
                );
                k += 1 + k / 4;
            }
        }

        /// The checks of a law on ℤ from 10⁶ draws or so: chi-square fit, Kolmogorov–Smirnov
        /// (DKW) distance, tail decay ratios, and the power to reject `wrong`; for a law
        /// symmetric about 0 given value by value (`symmetric`), also its moments and symmetry.
        pub(crate) fn assert_law(
            &self,
            law: &dyn Fn(i64) -> f64,
            wrong: &dyn Fn(i64) -> f64,
            symmetric: bool,
            what: &str,
        ) {
            self.assert_fits(law, what);
            self.assert_ks(law, what);
            self.assert_tail_ratios(law, what);
            if symmetric {
                self.assert_moments(law, what);
                self.assert_symmetric(what);
            }
            self.assert_rejects(wrong, what);
        }

        /// Asserts that positive and negative values are equally likely: given `k` non-zero
        /// values, the positive count is Binomial(k, ½), tested within six standard deviations.
        pub(crate) fn assert_symmetric(&self, what: &str) {
            let pos: u64 = self.counts.range(1..).map(|(_, c)| c).sum();
            let neg: u64 = self.counts.range(..0).map(|(_, c)| c).sum();
            let k = (pos + neg) as f64;
            let excess = (pos as f64 - k / 2.0).abs();
            assert!(excess <= 6.0 * (k / 4.0).sqrt(), "{what}: {pos} positive, {neg} negative");
        }
    }

    /// Variance and fourth moment of a law on ℤ symmetric about 0, summed until `pmf`
    /// underflows to zero.
    fn exact_moments(pmf: &dyn Fn(i64) -> f64) -> (f64, f64) {
        let (mut second, mut fourth) = (0.0, 0.0);
        for x in 1..10_000_000i64 {
            let p = pmf(x);
            if p == 0.0 {
                break;
            }
            let x2 = (x as f64).powi(2);
            second += 2.0 * p * x2;
            fourth += 2.0 * p * x2 * x2;
        }
        (second, fourth)
    }

    /// The discrete Laplace law `P(x) = (1 − q)/(1 + q) · q^|x|` with `q = exp(−1/scale)`.
    pub(crate) fn laplace_pmf(scale: f64) -> impl Fn(i64) -> f64 {
        let q = (-1.0 / scale).exp();
        let c = (1.0 - q) / (1.0 + q);
        move |x| c * (-(x.unsigned_abs() as f64) / scale).exp()
    }

    /// The discrete Gaussian law `P(x) ∝ exp(−x²/(2σ²))`, normalised by direct summation.
    pub(crate) fn gaussian_pmf(sigma_squared: f64) -> impl Fn(i64) -> f64 {
        let weight = move |x: i64| (-(x as f64).powi(2) / (2.0 * sigma_squared)).exp();
        let reach = (60.0 * sigma_squared.sqrt()) as i64 + 10;
        let norm: f64 = (-reach..=reach).map(weight).sum();
        move |x| weight(x) / norm
    }

    /// The law of `⌊X/width⌋` for `X` discrete Laplace of scale `b` (a large scale, whose values
    /// are too spread out to bin one by one): with `q = e^(−1/b)` and
    /// `A = (1 − q^width)/(1 + q)`, bucket `k ≥ 0` has `q^(k·width)·A` and bucket `k < 0` has
    /// `q^((−k−1)·width + 1)·A`.
    pub(crate) fn laplace_bucket_pmf(b: f64, width: f64) -> impl Fn(i64) -> f64 {
        let q = (-1.0 / b).exp();
        let a = -(-width / b).exp_m1() / (1.0 + q);
        move |k| {
            let exponent = if k >= 0 { k as f64 * width } else { (-k - 1) as f64 * width + 1.0 };
            (-exponent / b).exp() * a
        }
    }

    /// The law of `⌊X/width⌋` for `X` discrete Gaussian of parameter σ² (a large σ): the
    /// normal mass of `[k·width − ½, (k+1)·width − ½)`. For σ ≥ 2¹⁰ the error of this midpoint
    /// rule is below 10⁻⁶ of each bucket's mass (Euler–Maclaurin), far below what 10⁶ draws
    /// resolve.
    pub(crate) fn gaussian_bucket_pmf(sigma_squared: f64, width: f64) -> impl Fn(i64) -> f64 {
        let scale = (2.0 * sigma_squared).sqrt();
        // P(a ≤ Y < b) for a normal Y, on the side of zero where erfc is accurate.
        let mass = move |a: f64, b: f64| {
            let upper = |x: f64| 0.5 * libm::erfc(x / scale);
            if a >= 0.0 {
                upper(a) - upper(b)
            } else if b <= 0.0 {
                upper(-b) - upper(-a)
            } else {
                1.0 - upper(b) - upper(-a)
            }
        };
        move |k| mass(k as f64 * width - 0.5, (k + 1) as f64 * width - 0.5)
    }

    #[test]
    fn wilson_hilferty_is_close_to_tabulated_quantiles() {
        // Upper 10⁻⁶ quantiles of the chi-square distribution, from the regularised incomplete
        // gamma function; the approximation may err high, never much low.
        for (df, exact) in [(1, 23.93), (3, 30.66), (10, 46.86), (100, 182.13), (1000, 1227.15)] {
            let ratio = chi_square_quantile(df) / exact;
            assert!((0.999..1.16).contains(&ratio), "df {df}: ratio {ratio}");
        }
    }

    #[test]
    fn reference_laws_are_normalised() {
        for law in [
            &laplace_pmf(3.7) as &dyn Fn(i64) -> f64,
            &gaussian_pmf(10.0),
            &laplace_bucket_pmf(1e6, 7e4),
            &gaussian_bucket_pmf(1e12, 7e4),
        ] {
            let total: f64 = (-2000..=2000).map(law).sum();
            assert!((total - 1.0).abs() < 1e-12, "total {total}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;

    #[test]
    fn zero_denominators_are_refused_not_panicked_on() {
        let bad = Ratio::new_raw(BigUint::from(1u32), BigUint::from(0u32));
        let err = split_ratio(&bad, "p").map(|_| ()).unwrap_err();
        assert_eq!(err.to_string(), "invalid p: denominator must be > 0");
    }
}
