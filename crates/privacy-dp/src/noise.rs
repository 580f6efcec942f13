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
//! | discrete Gaussian, exact profile | the least integer σ² with `δ_ℤ(σ², Δ, ε) ≤ δ` | (ε, δ)-DP | Canonne, Kamath, Steinke 2020, Theorem 7 (Balle & Wang 2018, Theorem 8) |
//!
//! Proof sketch (Laplace): for integer queries f(x), f(x′) with |f(x) − f(x′)| ≤ Δ, the ratio of
//! the probabilities of any output z is `exp((|z − f(x′)| − |z − f(x)|)/t) ≤ exp(Δ/t) = exp(ε)`.
//! (Gaussian): the Rényi divergence of order α between N_Z(a, σ²) and N_Z(b, σ²) is at most
//! `α(a − b)²/(2σ²) ≤ αΔ²/(2σ²) = αρ`, which is ρ-zCDP by definition.
//!
//! **(ε, δ) for the discrete Gaussian.** A query charged (ε, δ) can be noised two ways, both
//! rigorous; [`gaussian_budget`] picks, before any data is read, whichever gives less noise:
//! - the *exact privacy profile* of the discrete Gaussian (CKS 2020, Theorem 7): adding
//!   `N_ℤ(0, σ²)` to an integer query of sensitivity Δ is (ε, δ)-DP for
//!   `δ = P[Y > a] − e^ε·P[Y > a + Δ]`, `a = εσ²/Δ − Δ/2`. [`NoiseBudget::Approximate`] takes the
//!   least integer σ² for which an upper bound on that δ (below) is at most the δ share. This
//!   is the tightest calibration for a single scalar draw; a statistic made of m draws splits
//!   (ε, δ) into m equal parts (basic composition).
//! - *zCDP then conversion*: ρ is the largest value whose Canonne–Kamath–Steinke conversion
//!   (2020, Corollary 13; `privacy_core::guarantee::epsilon_delta_to_rho_tight`) costs at most
//!   (ε, δ); the m draws split ρ, which composes additively. This wins for statistics of
//!   several draws and is the only choice for vector-valued releases (per-group statistics),
//!   whose privacy loss is not one-dimensional.
//!
//! The δ bound replaces the tails by integrals of `f(y) = exp(−y²/(2σ²))`:
//! `δ ≤ max(0, f(n_a) + I(n_a) − e^ε·I(n_b)) / (σ√(2π))` with `n_a = ⌊a⌋ + 1`,
//! `n_b = ⌊a + Δ⌋ + 1`, `I(n) = σ√(π/2)·erfc(n/(σ√2))`, and the normaliser at least `σ√(2π)`
//! by Poisson summation (`docs/proofs/analytic-gaussian.md`). Here `a`, `n_a` and `n_b` are
//! computed **exactly** from the integer σ², the integer Δ and the fixed-point ε, and only then
//! rounded to `f64` in the safe direction (`n_a` down, `n_b` up), so the bound stays valid for
//! the very large sensitivities (2⁴⁰ grid steps and more) of sums; the `erfc` and `exp` terms
//! are inflated or deflated by a relative 10⁻⁹, far above their few-ulp error.

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use num_traits::{FromPrimitive, One, ToPrimitive, Zero};
use privacy_core::guarantee::epsilon_delta_to_rho_tight;
use privacy_core::{
    DeltaAmount, EpsilonAmount, PrivacyCost, PrivacyGuarantee, RhoAmount, SecureRng,
};

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
    /// (ε, δ)-DP: discrete Gaussian noise calibrated by its exact privacy profile.
    Approximate {
        /// ε > 0.
        epsilon: EpsilonAmount,
        /// δ in (0, 1).
        delta: DeltaAmount,
    },
}

impl NoiseBudget {
    /// Splits the budget into `parts` budgets that compose (basic composition for ε and for
    /// (ε, δ), additive composition for ρ: Bun & Steinke 2016, Lemma 2.3) to exactly this one.
    pub fn split(self, parts: usize) -> Result<Vec<Self>, DpError> {
        Ok(match self {
            Self::Pure(e) => e.split(parts)?.into_iter().map(Self::Pure).collect(),
            Self::Zcdp(r) => r.split(parts)?.into_iter().map(Self::Zcdp).collect(),
            Self::Approximate { epsilon, delta } => epsilon
                .split(parts)?
                .into_iter()
                .zip(delta.split(parts)?)
                .map(|(epsilon, delta)| Self::Approximate { epsilon, delta })
                .collect(),
        })
    }

    /// The guarantee a draw calibrated to this budget gives.
    pub fn guarantee(self) -> PrivacyGuarantee {
        match self {
            Self::Pure(epsilon) => PrivacyGuarantee::Pure { epsilon },
            Self::Zcdp(rho) => PrivacyGuarantee::ZeroConcentrated { rho },
            Self::Approximate { epsilon, delta } => {
                PrivacyGuarantee::Approximate { epsilon, delta }
            }
        }
    }

    /// Whether the noise is Gaussian.
    pub fn is_gaussian(self) -> bool {
        !matches!(self, Self::Pure(_))
    }
}

/// The budget for a statistic of `parts` discrete Gaussian draws that must be (ε, δ)-DP in
/// total: the exact profile per part ([`NoiseBudget::Approximate`], scalar statistics only) or
/// zCDP at the tight conversion ([`NoiseBudget::Zcdp`]), whichever gives each part the smaller
/// σ (module docs). Depends only on the parameters, never on the data.
pub fn gaussian_budget(
    cost: PrivacyCost,
    parts: usize,
    vector: bool,
) -> Result<NoiseBudget, DpError> {
    let rho = epsilon_delta_to_rho_tight(cost.epsilon, cost.delta)?;
    let zcdp = NoiseBudget::Zcdp(rho);
    if vector {
        return Ok(zcdp);
    }
    let exact = NoiseBudget::Approximate { epsilon: cost.epsilon, delta: cost.delta };
    // Compare the σ² of one part at a sensitivity of 2²⁰ grid steps (σ scales with Δ).
    let probe = BigUint::one() << 20u32;
    let variance = |budget: NoiseBudget| -> Result<Option<Ratio<BigUint>>, DpError> {
        let part = budget.split(parts)?.into_iter().next();
        match part.map(|p| IntegerNoise::calibrate(&probe, p)) {
            Some(Ok(IntegerNoise::Gaussian(g))) => Ok(Some(g.sigma_squared().clone())),
            _ => Ok(None),
        }
    };
    Ok(match (variance(exact)?, variance(zcdp)?) {
        (Some(a), Some(z)) if a < z => exact,
        (Some(_), None) => exact,
        _ => zcdp,
    })
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
            NoiseBudget::Approximate { epsilon, delta } => {
                positive_units(epsilon.units(), "epsilon")?;
                if delta.is_zero() || !delta.is_valid_delta() {
                    return Err(
                        privacy_core::CoreError::invalid("delta", "must be in (0, 1)").into()
                    );
                }
                let sigma_squared = exact_profile_variance(sensitivity, epsilon, delta)?;
                Ok(Self::Gaussian(DiscreteGaussian::new(Ratio::from_integer(sigma_squared))?))
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

/// Relative slack on the `f64` terms of the δ bound (their error is a few ulps).
const PROFILE_SLACK: f64 = 1e-9;

/// The least integer σ² found by bisection on σ whose δ bound at (ε, Δ) is at most δ.
///
/// The bound need not be monotone in σ² (it is evaluated on integers), but only σ² values at
/// which it holds are ever returned: `hi` satisfies it throughout.
fn exact_profile_variance(
    sensitivity: &BigUint,
    epsilon: EpsilonAmount,
    delta: DeltaAmount,
) -> Result<BigUint, DpError> {
    let target = delta.to_f64() * (1.0 - 1e-12);
    let d = sensitivity.to_f64().unwrap_or(f64::INFINITY);
    let square = |sigma: f64| BigUint::from_f64((sigma * sigma).ceil()).unwrap_or_default();
    let fits = |sigma: f64| discrete_gaussian_delta(&square(sigma), sensitivity, epsilon) <= target;
    let too_small = || privacy_core::CoreError::invalid("delta", "too small to calibrate");
    let mut hi = d.max(1.0);
    while !fits(hi) {
        hi *= 2.0;
        if !hi.is_finite() || hi > d * 1e15 {
            return Err(too_small().into());
        }
    }
    let mut lo = hi / 2.0;
    while fits(lo) && lo > d * 1e-9 {
        hi = lo;
        lo /= 2.0;
    }
    for _ in 0..90 {
        let mid = 0.5 * (lo + hi);
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(square(hi))
}

/// An upper bound on δ of `N_ℤ(0, σ²)` noise on an integer query of sensitivity Δ at ε
/// (module docs; 1 outside the bound's regime `a ≥ 0`).
fn discrete_gaussian_delta(
    sigma_squared: &BigUint,
    sensitivity: &BigUint,
    epsilon: EpsilonAmount,
) -> f64 {
    if sigma_squared.is_zero() || sensitivity.is_zero() {
        return 1.0;
    }
    // a = ε·σ²/Δ − Δ/2 = (2·e·σ² − Δ²·10¹²) / (2·Δ·10¹²) with ε = e·10⁻¹², exactly.
    let scale = BigInt::from(EpsilonAmount::UNITS_PER_ONE);
    let two_e_s2 =
        BigInt::from(2u32) * BigInt::from(epsilon.units()) * BigInt::from(sigma_squared.clone());
    let d = BigInt::from(sensitivity.clone());
    let d2 = &d * &d * &scale;
    let denominator = BigInt::from(2u32) * &d * &scale;
    let numerator_a = &two_e_s2 - &d2;
    if numerator_a < BigInt::zero() {
        return 1.0;
    }
    let n_a = numerator_a / &denominator + 1u32;
    let n_b = (&two_e_s2 + &d2) / &denominator + 1u32;
    let (n_a, n_b) = (integer_to_f64(&n_a, false), integer_to_f64(&n_b, true));
    let s2 = sigma_squared.to_f64().unwrap_or(f64::INFINITY);
    if s2 <= SUMMED_PROFILE_MAX_VARIANCE {
        return summed_delta_bound(s2, n_a, n_b, epsilon);
    }
    let sigma = s2.sqrt();
    let f = |y: f64| (-(y * y) / (2.0 * s2)).exp();
    let integral = |n: f64| {
        sigma
            * (std::f64::consts::PI / 2.0).sqrt()
            * libm::erfc(n / (sigma * std::f64::consts::SQRT_2))
    };
    let upper = (f(n_a) + integral(n_a)) * (1.0 + PROFILE_SLACK);
    // e^ε with ε rounded down: the subtracted term is never overstated.
    let lower = (epsilon.to_f64() * (1.0 - 1e-15)).exp() * integral(n_b) * (1.0 - PROFILE_SLACK);
    ((upper - lower).max(0.0) / (sigma * (2.0 * std::f64::consts::PI).sqrt()))
        * (1.0 + PROFILE_SLACK)
}

/// Up to this σ², [`discrete_gaussian_delta`] sums the tails term by term (at most about
/// 2·40·256 terms): the integral bound is loose for small σ, by a relative `≈ n_a/σ²`.
const SUMMED_PROFILE_MAX_VARIANCE: f64 = 65_536.0;

/// The δ bound by direct summation: `δ = T(n_a) − e^ε·T(n_b)` with `T(n) = Σ_{y ≥ n} w(y) / Z`
/// and `w(y) = exp(−y²/(2σ²))`. Sums run to `R = max(n_a, n_b, 0) + 40σ + 1`, beyond which
/// `w < e^(−800)`, below the smallest `f64`: the truncated tail, bounded by `w(R) + I(R)`, is
/// added to the upper tail and (twice) to the normaliser under the lower tail, and is nil in
/// floating point anyway. Upper terms are
/// inflated and lower ones deflated by [`PROFILE_SLACK`], which dominates the summation error
/// (at most about 10⁵ terms of relative error 2⁻⁵³ each).
fn summed_delta_bound(s2: f64, n_a: f64, n_b: f64, epsilon: EpsilonAmount) -> f64 {
    let sigma = s2.sqrt();
    let w = |y: f64| (-(y * y) / (2.0 * s2)).exp();
    let reach = (n_a.max(n_b).max(0.0) + 40.0 * sigma + 1.0).ceil();
    let sum = |from: f64| {
        let mut total = 0.0;
        let mut y = from.ceil();
        while y <= reach {
            total += w(y);
            y += 1.0;
        }
        total
    };
    // Z = Σ_{|y| ≤ R} w(y): w(0) plus twice the positive half.
    let z = 1.0 + 2.0 * sum(1.0);
    let beyond = w(reach)
        + sigma
            * (std::f64::consts::PI / 2.0).sqrt()
            * libm::erfc(reach / (sigma * std::f64::consts::SQRT_2));
    // `a ≥ 0` here, so `n_b > n_a ≥ 1`: both tails are sums over positive y.
    let upper = (sum(n_a) + beyond) * (1.0 + PROFILE_SLACK) / (z * (1.0 - PROFILE_SLACK));
    // The truncated normaliser is a lower bound of Z; adding both truncated tails bounds it above.
    let lower = sum(n_b) * (1.0 - PROFILE_SLACK) / ((z + 2.0 * beyond) * (1.0 + PROFILE_SLACK));
    let e = (epsilon.to_f64() * (1.0 - 1e-15)).exp();
    (upper - e * lower).max(0.0) * (1.0 + PROFILE_SLACK)
}

/// A non-negative integer as an `f64`, rounded down (`up = false`) or up.
fn integer_to_f64(n: &BigInt, up: bool) -> f64 {
    let x = n.to_f64().unwrap_or(f64::INFINITY);
    match BigInt::from_f64(x) {
        Some(back) if up && back < *n => x.next_up(),
        Some(back) if !up && back > *n => x.next_down(),
        _ => x,
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

    fn approximate(e: &str, d: &str) -> NoiseBudget {
        NoiseBudget::Approximate {
            epsilon: EpsilonAmount::parse_decimal(e).unwrap(),
            delta: DeltaAmount::parse_decimal(d).unwrap(),
        }
    }

    /// δ of `N_ℤ(0, s2)` noise at sensitivity `d` and ε by direct summation of the pmf.
    fn summed_delta(s2: f64, d: i64, eps: f64) -> f64 {
        let reach = (60.0 * s2.sqrt()) as i64 + 10;
        let w = |y: i64| (-((y * y) as f64) / (2.0 * s2)).exp();
        let z: f64 = (-reach..=reach).map(w).sum();
        // δ = Σ_y max(0, p(y) − e^ε p(y − d)).
        (-reach..=reach).map(|y| (w(y) - eps.exp() * w(y - d)).max(0.0)).sum::<f64>() / z
    }

    /// Balle and Wang's σ for the continuous Gaussian, by bisection.
    fn balle_wang_sigma(d: f64, eps: f64, delta: f64) -> f64 {
        let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let at = |s: f64| {
            phi(d / (2.0 * s) - eps * s / d) - eps.exp() * phi(-d / (2.0 * s) - eps * s / d)
        };
        let (mut lo, mut hi) = (d * 1e-3, d * 1e3);
        for _ in 0..200 {
            let mid = (lo * hi).sqrt();
            if at(mid) <= delta {
                hi = mid
            } else {
                lo = mid
            }
        }
        hi
    }

    #[test]
    fn exact_profile_is_sound_and_tight_for_small_sensitivities() {
        for (e, d, sens) in [("1", "1e-5", 1u32), ("0.5", "1e-6", 3), ("3", "1e-9", 2)] {
            let noise = IntegerNoise::calibrate(&BigUint::from(sens), approximate(e, d)).unwrap();
            let IntegerNoise::Gaussian(g) = &noise else { panic!("gaussian expected") };
            let s2 = ratio_to_f64(g.sigma_squared());
            let (eps, delta) = (e.parse::<f64>().unwrap(), d.parse::<f64>().unwrap());
            let exact = summed_delta(s2, i64::from(sens), eps);
            assert!(exact <= delta, "{e},{d}: δ {exact} at σ² {s2}");
            // Within a few percent of the exact optimum among integers: 3% less variance, or
            // the next integer down, fails.
            let smaller = summed_delta((s2 * 0.97).min(s2 - 1.0), i64::from(sens), eps);
            assert!(smaller > delta, "{e},{d}: calibration loose, {smaller} at 0.97 σ²");
        }
    }

    #[test]
    fn exact_profile_matches_balle_and_wang_at_huge_sensitivities() {
        // 2⁴⁴ grid steps: the sensitivity of a sum over 16 rows per patient on a 2⁻⁴⁰ grid.
        let sens = BigUint::one() << 44u32;
        for (e, d) in [("1", "1e-6"), ("0.1", "1e-9"), ("8", "1e-5")] {
            let noise = IntegerNoise::calibrate(&sens, approximate(e, d)).unwrap();
            let sigma = noise.scale() / 2f64.powi(44);
            let reference = balle_wang_sigma(1.0, e.parse().unwrap(), d.parse().unwrap());
            assert!(sigma >= reference * (1.0 - 1e-6), "{e},{d}: {sigma} below {reference}");
            assert!(sigma <= reference * 1.001, "{e},{d}: {sigma} far above {reference}");
        }
    }

    #[test]
    fn gaussian_budget_picks_the_smaller_noise() {
        let cost = PrivacyCost {
            epsilon: EpsilonAmount::parse_decimal("1").unwrap(),
            delta: DeltaAmount::parse_decimal("1e-6").unwrap(),
        };
        // One scalar draw: the exact profile; a vector: zCDP at the tight conversion.
        assert!(matches!(
            gaussian_budget(cost, 1, false).unwrap(),
            NoiseBudget::Approximate { .. }
        ));
        assert!(matches!(gaussian_budget(cost, 1, true).unwrap(), NoiseBudget::Zcdp(_)));
        // Whatever is picked is never noisier than either alternative, nor than Bun–Steinke.
        let sens = BigUint::from(1000u32);
        let s2 = |b: NoiseBudget| match IntegerNoise::calibrate(&sens, b).unwrap() {
            IntegerNoise::Gaussian(g) => ratio_to_f64(g.sigma_squared()),
            IntegerNoise::Laplace(_) => unreachable!(),
        };
        let bun_steinke = NoiseBudget::Zcdp(
            privacy_core::guarantee::epsilon_delta_to_rho(cost.epsilon, cost.delta).unwrap(),
        );
        for parts in [1, 2, 3] {
            let chosen = gaussian_budget(cost, parts, false).unwrap().split(parts).unwrap()[0];
            let zcdp = gaussian_budget(cost, parts, true).unwrap().split(parts).unwrap()[0];
            let naive = bun_steinke.split(parts).unwrap()[0];
            assert!(s2(chosen) <= s2(zcdp) && s2(chosen) < s2(naive), "{parts} parts");
        }
        assert!(s2(gaussian_budget(cost, 1, false).unwrap()) < 0.65 * s2(bun_steinke));
    }

    #[test]
    fn split_budgets_add_up() {
        let parts = eps("1").split(3).unwrap();
        let total: u64 = parts
            .iter()
            .map(|p| match p {
                NoiseBudget::Pure(e) => e.units(),
                _ => 0,
            })
            .sum();
        assert_eq!(total, EpsilonAmount::UNITS_PER_ONE);
    }
}
