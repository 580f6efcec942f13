//! Integer-valued additive noise, calibrated exactly to an integer sensitivity.
//!
//! Every statistic in this crate is computed as an **exact integer** (a count, or a sum of
//! values quantized to a power-of-two grid), and noise is an exact integer draw from
//! [`crate::sampler`]. No floating-point number enters the privacy-critical path: the scale is a
//! rational built from the integer sensitivity and the fixed-point ε or ρ, so the released
//! distribution is exactly the one the proofs below are about. Only the final conversion of the
//! noisy integer to `f64` for display rounds, and that is post-processing.
//!
//! | noise | calibration | guarantee | reference |
//! |---|---|---|---|
//! | discrete Laplace, scale t = Δ₁/ε | `t = Δ·10¹²/ε_units` | pure ε-DP | Ghosh, Roughgarden, Sundararajan 2009 (geometric mechanism); Canonne, Kamath, Steinke 2020, §2 |
//! | discrete Gaussian, σ² = Δ₂²/(2ρ) | `σ² = Δ²·10¹²/(2ρ_units)` | ρ-zCDP | Canonne, Kamath, Steinke 2020, Theorem 14 |
//!
//! Proof sketch (Laplace): for integer queries f(x), f(x′) with |f(x) − f(x′)| ≤ Δ, the ratio of
//! the probabilities of any output z is `exp((|z − f(x′)| − |z − f(x)|)/t) ≤ exp(Δ/t) = exp(ε)`.
//! (Gaussian): the Rényi divergence of order α between N_Z(a, σ²) and N_Z(b, σ²) is at most
//! `α(a − b)²/(2σ²) ≤ αΔ²/(2σ²) = αρ`, which is ρ-zCDP by definition.

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use num_traits::{ToPrimitive, Zero};
use privacy_core::{EpsilonAmount, RhoAmount, SecureRng};

use crate::error::DpError;
use crate::sampler::{
    BoundedDiscreteGaussian, BoundedDiscreteLaplace, DiscreteGaussian, DiscreteLaplace, RandomBits,
};

/// The privacy parameter one noise draw is calibrated to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoiseBudget {
    /// Pure ε-DP: discrete Laplace noise.
    Pure(EpsilonAmount),
    /// ρ-zCDP: discrete Gaussian noise.
    Zcdp(RhoAmount),
}

impl NoiseBudget {
    /// Splits the budget into `parts` budgets that compose (basic composition for ε, additive
    /// composition for ρ: Bun & Steinke 2016, Lemma 2.3) to exactly this one.
    pub fn split(self, parts: usize) -> Result<Vec<Self>, DpError> {
        Ok(match self {
            Self::Pure(e) => e.split(parts)?.into_iter().map(Self::Pure).collect(),
            Self::Zcdp(r) => r.split(parts)?.into_iter().map(Self::Zcdp).collect(),
        })
    }
}

/// Exact integer noise for a query of a given integer sensitivity.
#[derive(Clone, Debug)]
pub enum IntegerNoise {
    /// Discrete Laplace noise (pure ε-DP).
    Laplace(DiscreteLaplace),
    /// Discrete Gaussian noise (ρ-zCDP).
    Gaussian(DiscreteGaussian),
}

impl IntegerNoise {
    /// Noise for a query whose value moves by at most `sensitivity` (in grid units) between
    /// neighbouring data sets.
    pub fn calibrate(sensitivity: &BigUint, budget: NoiseBudget) -> Result<Self, DpError> {
        if sensitivity.is_zero() {
            return Err(privacy_core::CoreError::invalid("sensitivity", "must be > 0").into());
        }
        let million_million = BigUint::from(EpsilonAmount::UNITS_PER_ONE);
        match budget {
            NoiseBudget::Pure(epsilon) => {
                let units = positive_units(epsilon.units(), "epsilon")?;
                let scale = Ratio::new(sensitivity * million_million, units);
                Ok(Self::Laplace(DiscreteLaplace::new(scale)?))
            }
            NoiseBudget::Zcdp(rho) => {
                let units = positive_units(rho.units(), "rho")?;
                let sigma_squared =
                    Ratio::new(sensitivity * sensitivity * million_million, units * 2u32);
                Ok(Self::Gaussian(DiscreteGaussian::new(sigma_squared)?))
            }
        }
    }

    /// Draws one noise value.
    pub fn sample(&self, rng: &mut SecureRng) -> Result<BigInt, DpError> {
        Ok(match self {
            Self::Laplace(l) => l.sample(rng)?,
            Self::Gaussian(g) => g.sample(rng)?,
        })
    }

    /// The mechanism's name in releases and audit entries.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Self::Laplace(_) => "discrete_laplace",
            Self::Gaussian(_) => "discrete_gaussian",
        }
    }

    /// The noise scale in grid units: t for Laplace, σ for Gaussian.
    pub fn scale(&self) -> f64 {
        match self {
            Self::Laplace(l) => ratio_to_f64(l.scale()),
            Self::Gaussian(g) => ratio_to_f64(g.sigma_squared()).sqrt(),
        }
    }

    /// A half-width `w` (grid units) with `P(|noise| > w) ≤ alpha`, rounded outward.
    ///
    /// Laplace: the tail is exact, `P(|X| > m) = 2p^(m+1)/(1+p)` with `p = e^(−1/t)`.
    /// Gaussian: the discrete Gaussian is σ²-subgaussian (Canonne, Kamath, Steinke 2020, §5),
    /// so `P(|X| ≥ m) ≤ 2·exp(−m²/(2σ²))`; this bound is a little wider than the exact tail.
    pub fn half_width(&self, alpha: f64) -> f64 {
        let alpha = alpha.clamp(f64::MIN_POSITIVE, 1.0);
        let width = match self {
            Self::Laplace(_) => {
                let t = self.scale();
                let p = (-1.0 / t).exp();
                (t * (2.0 / (alpha * (1.0 + p))).ln()).ceil() - 1.0
            }
            Self::Gaussian(_) => self.scale() * (2.0 * (2.0 / alpha).ln()).sqrt(),
        };
        // One grid step of slack absorbs the rounding of the f64 evaluation above.
        width.max(0.0).ceil() + 1.0
    }
}

fn positive_units(units: u64, name: &'static str) -> Result<BigUint, DpError> {
    if units == 0 {
        return Err(privacy_core::CoreError::invalid(name, "must be > 0").into());
    }
    Ok(BigUint::from(units))
}

/// The nearest `f64` to a non-negative rational (for display and intervals only).
pub(crate) fn ratio_to_f64(r: &Ratio<BigUint>) -> f64 {
    r.to_f64().unwrap_or(f64::INFINITY)
}

/// [`IntegerNoise`] drawn in **bounded time**: the same law, sampled with a fixed number of
/// random bits and operations per draw ([`BoundedDiscreteLaplace`],
/// [`BoundedDiscreteGaussian`]), so the time a release takes does not depend on its noise.
///
/// A draw fails, with a typed error after the same work, with probability at most
/// [`failure_probability`](Self::failure_probability) `η` (below 10⁻³⁰), independently of the
/// data. A statistic that is (ε, δ)-DP with exact noise is then (ε, δ + (1 + e^ε)·η)-DP with this
/// noise (per draw; `docs/proofs/bounded-time.md`), provided a failed draw releases nothing.
/// For zCDP noise, convert ρ to (ε, δ) first, then add `(1 + e^ε)·η` to δ: a failure probability
/// has no zCDP form.
#[derive(Clone, Debug)]
pub struct BoundedIntegerNoise {
    noise: IntegerNoise,
    sampler: BoundedSampler,
}

#[derive(Clone, Debug)]
enum BoundedSampler {
    Laplace(BoundedDiscreteLaplace),
    Gaussian(BoundedDiscreteGaussian),
}

impl IntegerNoise {
    /// The same noise in bounded time; refused (a typed error) for scales beyond the
    /// bounded samplers' range (Laplace scale about 2¹¹³, Gaussian σ² 2¹²⁰).
    pub fn bounded_time(&self) -> Result<BoundedIntegerNoise, DpError> {
        let sampler = match self {
            Self::Laplace(l) => BoundedSampler::Laplace(l.bounded_time()?),
            Self::Gaussian(g) => BoundedSampler::Gaussian(g.bounded_time()?),
        };
        Ok(BoundedIntegerNoise { noise: self.clone(), sampler })
    }
}

impl BoundedIntegerNoise {
    /// Draws one noise value, or [`crate::sampler::SamplerError::BoundedTimeFailure`] (as a
    /// [`DpError`]) with probability at most `η`.
    pub fn sample(&self, rng: &mut SecureRng) -> Result<BigInt, DpError> {
        let mut bits = RandomBits::new(rng);
        let value = match &self.sampler {
            BoundedSampler::Laplace(l) => l.sample_i128(&mut bits)?,
            BoundedSampler::Gaussian(g) => g.sample_i128(&mut bits)?,
        };
        Ok(BigInt::from(value))
    }

    /// `η`: an upper bound on the probability that a draw fails, which also bounds the total
    /// variation distance of a draw from the exact law.
    pub fn failure_probability(&self) -> f64 {
        match &self.sampler {
            BoundedSampler::Laplace(l) => l.failure_probability(),
            BoundedSampler::Gaussian(g) => g.failure_probability(),
        }
    }

    /// The exact noise this draws (its mechanism name, scale and interval half-widths).
    pub fn noise(&self) -> &IntegerNoise {
        &self.noise
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod bounded_tests {
    use super::*;

    /// Bounded-time noise has the scale of the exact noise: its empirical variance over 2·10⁵
    /// draws is within 5 % of the law's (a 10σ band for these sample sizes), for both laws.
    #[test]
    fn bounded_noise_draws_the_calibrated_law() {
        let mut rng = SecureRng::seeded_for_tests_only(140);
        let budgets = [
            NoiseBudget::Pure(EpsilonAmount::parse_decimal("0.5").unwrap()),
            NoiseBudget::Zcdp(RhoAmount::parse_decimal("0.02").unwrap()),
        ];
        for budget in budgets {
            let exact = IntegerNoise::calibrate(&BigUint::from(3u32), budget).unwrap();
            let bounded = exact.bounded_time().unwrap();
            assert!(bounded.failure_probability() < 1e-30);
            assert_eq!(bounded.noise().mechanism(), exact.mechanism());
            let n = 200_000;
            let second: f64 = (0..n)
                .map(|_| bounded.sample(&mut rng).unwrap().to_f64().unwrap().powi(2))
                .sum::<f64>()
                / n as f64;
            let s = exact.scale();
            let variance = match exact {
                // The discrete Laplace of scale t has variance 2q/(1 − q)², q = e^(−1/t).
                IntegerNoise::Laplace(_) => {
                    let q = (-1.0 / s).exp();
                    2.0 * q / (1.0 - q).powi(2)
                }
                IntegerNoise::Gaussian(_) => s * s,
            };
            assert!((second / variance - 1.0).abs() < 0.05, "{second} against {variance}");
        }
    }

    #[test]
    fn scales_beyond_the_bounded_range_are_refused() {
        let huge = BigUint::from(1u32) << 200usize;
        let rho = NoiseBudget::Zcdp(RhoAmount::parse_decimal("1").unwrap());
        let noise = IntegerNoise::calibrate(&huge, rho).unwrap();
        assert!(noise.bounded_time().is_err());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;

    fn eps(s: &str) -> NoiseBudget {
        NoiseBudget::Pure(EpsilonAmount::parse_decimal(s).unwrap())
    }

    #[test]
    fn laplace_scale_is_sensitivity_over_epsilon() {
        let noise = IntegerNoise::calibrate(&BigUint::from(3u32), eps("0.5")).unwrap();
        assert_eq!(noise.mechanism(), "discrete_laplace");
        assert!((noise.scale() - 6.0).abs() < 1e-12);
        // P(|X| > w) ≤ 0.05 for t = 6 needs w ≈ t ln(2/(0.05(1+e^(-1/6)))) − 1 ≈ 17.
        let w = noise.half_width(0.05);
        assert!((17.0..=19.0).contains(&w), "{w}");
    }

    #[test]
    fn gaussian_variance_is_sensitivity_squared_over_two_rho() {
        let rho = NoiseBudget::Zcdp(RhoAmount::parse_decimal("0.125").unwrap());
        let noise = IntegerNoise::calibrate(&BigUint::from(2u32), rho).unwrap();
        // σ² = 4 / 0.25 = 16.
        assert!((noise.scale() - 4.0).abs() < 1e-12);
        assert_eq!(noise.mechanism(), "discrete_gaussian");
    }

    #[test]
    fn zero_parameters_are_refused() {
        assert!(IntegerNoise::calibrate(&BigUint::zero(), eps("1")).is_err());
        assert!(IntegerNoise::calibrate(
            &BigUint::from(1u32),
            NoiseBudget::Pure(EpsilonAmount::ZERO)
        )
        .is_err());
    }

    #[test]
    fn split_budgets_add_up() {
        let parts = eps("1").split(3).unwrap();
        let total: u64 = parts
            .iter()
            .map(|p| match p {
                NoiseBudget::Pure(e) => e.units(),
                NoiseBudget::Zcdp(_) => 0,
            })
            .sum();
        assert_eq!(total, EpsilonAmount::UNITS_PER_ONE);
    }
}
