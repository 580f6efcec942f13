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
//! Differential Privacy", NeurIPS, arXiv:2004.00010).
//!
//! | Sampler                  | Law                            | Valid input     | Source        |
//! |--------------------------|--------------------------------|-----------------|---------------|
//! | [`sample_uniform_below`] | uniform on `{0, …, n−1}`       | integer `n ≥ 1` | rejection     |
//! | [`sample_bernoulli`]     | `P(true) = p`                  | `p ∈ [0, 1]`    | via uniform   |
//! | [`sample_bernoulli_exp`] | `P(true) = exp(−γ)`            | `γ ≥ 0`         | CKS, Alg. 1   |
//! | [`DiscreteLaplace`]      | `P(x) ∝ exp(−\|x\|/t)` on ℤ   | `t > 0`         | CKS, Alg. 2   |
//! | [`DiscreteGaussian`]     | `P(x) ∝ exp(−x²/(2σ²))` on ℤ   | `σ² > 0`        | CKS, Alg. 3   |
//!
//! Every parameter but `n` is a `Ratio<BigUint>`; the free functions `sample_discrete_*` build
//! the sampler and draw once. The proofs sketched below are those of the paper, restated so
//! that each can be checked against the code beside it.
//!
//! * **Uniform.** Draw the `k` random bits that can express `n − 1` and start again if the
//!   value is `n` or more. Unlike reducing a wider word modulo `n`, this has no bias; it accepts
//!   with probability `n/2^k > 1/2`.
//! * **Bernoulli(n/d).** A uniform `U < d`; return `U < n`.
//! * **Bernoulli(exp(−γ)), γ ∈ [0, 1]** (von Neumann's method). Draw `A₁, A₂, …` with
//!   `Aₖ ~ Bernoulli(γ/k)` until the first `Aₖ = 0` and return whether that `k` is odd. The
//!   probability that the first `k` draws all succeed is `γᵏ/k!`, so the probability of an odd
//!   stopping index is `Σⱼ (−γ)ʲ/j! = exp(−γ)`. For γ > 1, the output is the product of
//!   `⌊γ⌋` draws of Bernoulli(exp(−1)) and one of Bernoulli(exp(−(γ − ⌊γ⌋))), stopping at the
//!   first `false`.
//! * **Discrete Laplace, scale `t/s`.** Draw `U` uniform below `t`, keep it with probability
//!   `exp(−U/t)`, add `t·V` for a geometric `V` with `P(V = v) ∝ exp(−v)`: `X = U + tV` is
//!   then geometric with `P(X = x) ∝ exp(−x/t)`, and `Y = ⌊X/s⌋` is geometric with
//!   `P(Y = y) ∝ exp(−ys/t)`. A fair random sign, rejecting "−0" so that zero is not counted
//!   twice, gives `P(Z = z) ∝ exp(−|z|·s/t)`.
//! * **Discrete Gaussian, variance parameter σ².** With `t = ⌊σ⌋ + 1`, draw `Y` from the
//!   discrete Laplace of scale `t` and keep it with probability
//!   `exp(−(|Y| − σ²/t)²/(2σ²))`. The product of the two weights is
//!   `exp(−Y²/(2σ²)) · exp(−σ²/(2t²))`, and the second factor does not depend on `Y`, so the
//!   kept values have exactly the discrete Gaussian law. `t` is computed without a square root
//!   of a real: `⌊√(a/b)⌋ = ⌊√⌊a/b⌋⌋`, an integer square root.
//!
//! # Running time
//!
//! Every sampler takes an expected constant number of uniform draws, whatever its parameters;
//! each draw costs arithmetic on numbers of about as many bits as the parameters and the
//! output. A uniform draw needs fewer than 2 attempts; Bernoulli(exp(−γ)) for γ ≤ 1 makes
//! `exp(γ) ≤ e` Bernoulli draws on average, and for γ > 1 fewer than `1/(1 − e⁻¹) ≈ 1.6`
//! rounds of its outer loop before the first `false` ends it. One round of the discrete
//! Laplace succeeds with probability at least `(1 − e⁻¹)/2 ≈ 0.32`. One round of the discrete
//! Gaussian succeeds with probability `tanh(1/(2t)) · exp(−σ²/(2t²)) · Σ_y exp(−y²/(2σ²))`,
//! which is above 0.44 for every σ² (evaluated numerically; `tanh(½)·e^{−½} ≈ 0.28` is an easy
//! lower bound for σ < 1) and tends to `√(2π/e)/2 ≈ 0.76` as σ grows.
//!
//! **Bounded-time mode.** The running time of the samplers above depends on the value they
//! return (the discrete Laplace loops about `|x|·s/t` times to return `x`).
//! [`DiscreteLaplace::bounded_time`] gives a [`BoundedDiscreteLaplace`] that reads a fixed
//! number of random bits and does fixed work per draw, with a stated failure probability below
//! 10⁻³⁰ that mechanisms fold into δ (`docs/proofs/bounded-time.md`).
//!
//! FIXME: the discrete Gaussian (and the mechanisms built on Bernoulli(exp(−γ)) coins: the
//! exponential mechanism, report-noisy-max, randomized response) still run in time that depends
//! on their output; a bounded-time discrete Gaussian needs a fixed number of rejection rounds
//! with a fixed-work acceptance coin `exp(−(|y| − σ²/t)²/(2σ²))` (rigorous fixed-point bounds of
//! `exp` evaluated per draw), which is not written yet.
//!
//! # Implementation
//!
//! Random bits come from a [`RandomBits`] source that draws 64-bit words from the generator
//! and hands them out a few at a time; a Bernoulli coin `n/d` compares the binary digits of a
//! uniform real with those of `n/d` lazily (two bits on average) instead of drawing a uniform
//! integer below `d`. The algorithms are written once, against exact natural numbers (`Nat`, in
//! the `uniform` submodule). A `Nat` lives in a `u128` while it fits and moves to a `BigUint` when an
//! operation would overflow, so with parameters of ordinary size the sampling loops never
//! allocate, and huge ones still give exact results. Both representations draw exactly the same random bytes for the
//! same value, which the tests check.
//!
//! Main trade-off: exactness and simplicity of proof first; speed comes from 128-bit integers
//! and batched bits, not from approximation (see `benches/benches/samplers.rs`).

mod bernoulli;
mod bounded;
mod gaussian;
mod laplace;
mod power_of_two;
mod uniform;

use num_bigint::BigUint;
use num_rational::Ratio;
use thiserror::Error;

pub use bernoulli::{sample_bernoulli, sample_bernoulli_exp};
pub use bounded::BoundedDiscreteLaplace;
pub use gaussian::{sample_discrete_gaussian, DiscreteGaussian};
pub use laplace::{sample_discrete_laplace, DiscreteLaplace};
pub use uniform::{sample_uniform_below, RandomBits};

pub(crate) use power_of_two::{bernoulli_exp_times_power_of_two, ln2_bounds};

/// A uniform index in `[0, n)` for `n ≥ 1` (0 for `n = 0`, which callers never pass).
pub(crate) fn uniform_index(n: usize, rng: &mut privacy_core::SecureRng) -> usize {
    match PosNat::new(Nat::from_biguint(&BigUint::from(n))) {
        Some(bound) => {
            let v = uniform::uniform_below(&bound, &mut RandomBits::new(rng)).to_biguint();
            // `v < n`, so it fits in `usize`.
            num_traits::ToPrimitive::to_usize(&v).unwrap_or(0)
        }
        None => 0,
    }
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
    /// A bounded-time sampler met an undecided coin or a truncated tail. This happens with the
    /// sampler's stated failure probability (below 10⁻³⁰), independently of the data, after
    /// the same work as a successful draw; draw again with fresh randomness.
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
/// chi-square quantile at p = 10⁻⁶, from `chi_square_quantile`) and about 2·10⁻⁹ for each
/// moment or symmetry check (six standard errors, in the normal approximation). With some
/// forty checks in the module, a correct implementation fails one for fewer than one seed in
/// 10⁴. The checks that a wrong law is *rejected* have a false-failure rate that depends on
/// the perturbation; each is chosen so that its expected statistic is several times the
/// threshold.
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
        for law in [&laplace_pmf(3.7) as &dyn Fn(i64) -> f64, &gaussian_pmf(10.0)] {
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
