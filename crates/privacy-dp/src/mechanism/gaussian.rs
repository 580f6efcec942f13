//! The Gaussian mechanism on real values: discrete Gaussian noise on a power-of-two grid,
//! calibrated for (ε, δ)-DP by the analytic Gaussian condition or the classic formula (where it
//! is valid), or for ρ-zCDP.
//!
//! As for [`LaplaceMechanism`](super::LaplaceMechanism), the answer is rounded to a grid
//! `2^g`, with `g = ⌊log₂ σ⌋ − 24` chosen from the noise scale, and the L2 sensitivity in grid
//! steps is `Δ_g = ⌊Δ/2^g⌋ + 1`. The integer answer gets discrete Gaussian noise `N_ℤ(0, σ_g²)`
//! with an **integer** `σ_g²` (rounded up), drawn exactly (CKS 2020, Algorithm 3); the release
//! `(k + Y)·2^g` is post-processing. The grid is coarser than the Laplace one (2⁻²⁴ of σ)
//! so that the sampler's exact arithmetic stays in 128-bit integers.
//!
//! **Bounded-time mode** ([`GaussianMechanism::bounded_time`]) draws the same noise law with
//! [`BoundedDiscreteGaussian`](crate::sampler::BoundedDiscreteGaussian): a fixed number of
//! rejection rounds of fixed work, so the running time does not depend on the noise; its
//! error probability `η < 10⁻³⁰` is added to δ as `(1 + e^ε)·η` (`docs/proofs/bounded-time.md`).
//!
//! | calibration | guarantee | condition on `σ_g` | reference |
//! |---|---|---|---|
//! | [`GaussianCalibration::Zcdp`] | ρ-zCDP | `σ_g² ≥ Δ_g²/(2ρ)` | CKS 2020, Theorem 4 |
//! | [`GaussianCalibration::Analytic`] | (ε, δ)-DP | `δ_ℤ(σ_g) ≤ δ` below | Balle & Wang 2018, Theorem 8; CKS 2020, Theorem 7 |
//! | [`GaussianCalibration::Classic`] | (ε, δ)-DP, ε < 1 only | `σ ≥ Δ√(2 ln(1.25/δ))/ε` and `δ_ℤ ≤ δ` | Dwork & Roth 2014, Theorem A.1 |
//!
//! **The analytic condition for the discrete Gaussian.** Balle & Wang's exact condition for the
//! Gaussian mechanism, restated by Canonne, Kamath and Steinke (Theorem 7) for integer noise
//! `Y ~ N_ℤ(0, σ²)` and integer sensitivity Δ: the release is (ε, δ)-DP for
//! `δ = P[Y > a] − e^ε·P[Y > a + Δ]` with `a = εσ²/Δ − Δ/2`. Its tails are sums, bounded here by
//! integrals of `f(y) = exp(−y²/(2σ²))` (decreasing for `y ≥ 0`): with `n(x) = ⌊x⌋ + 1`,
//! `∫_{n}^∞ f ≤ Σ_{y ≥ n} f(y) ≤ f(n) + ∫_{n}^∞ f`, and the normaliser is at least `σ√(2π)`
//! (Poisson summation: `Σ_y f(y) = σ√(2π)·Σ_k exp(−2π²σ²k²)`). So
//!
//! ```text
//! δ_ℤ(σ) ≤ max(0, f(n(a)) + I(n(a)) − e^ε·I(n(a+Δ))) / (σ√(2π)),   I(n) = σ√(π/2)·erfc(n/(σ√2))
//! ```
//!
//! evaluated in `f64` with the upper terms inflated and the lower one deflated by a relative
//! 10⁻⁹ (`erfc` and `exp` are accurate to a few ulps), and `σ_g` is the smallest (by bisection)
//! that satisfies it; see `docs/proofs/analytic-gaussian.md`. The classic formula is refused for
//! ε ≥ 1, where it does not hold.
//!
//! Neighbouring relation: the caller's, under which `‖f(x) − f(x′)‖₂ ≤ Δ`. Trade-off: a
//! bisection at construction (microseconds) for a δ that is tight to within the integral bounds.

use num_bigint::{BigInt, BigUint};
use num_rational::Ratio;
use num_traits::{One, ToPrimitive};
use privacy_core::{DeltaAmount, EpsilonAmount, PrivacyGuarantee, RhoAmount, SecureRng};

use super::exact::{power_of_two, ratio_of};
use super::laplace::Grid;
use super::{bounded_time_guarantee, positive_finite, MechanismError};
use crate::sampler::{BoundedDiscreteGaussian, DiscreteGaussian, RandomBits};

/// Bits of grid resolution below σ.
const GAUSSIAN_GRID_BITS: i32 = 24;
/// Relative slack on every floating-point term of the δ bound.
const SLACK: f64 = 1e-9;

/// How σ is calibrated; each variant's parameters are validated by [`GaussianMechanism::new`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GaussianCalibration {
    /// (ε, δ)-DP by the analytic (exact) condition, for any ε > 0 and δ ∈ (0, 1).
    Analytic {
        /// ε > 0.
        epsilon: f64,
        /// δ ∈ (0, 1).
        delta: f64,
    },
    /// (ε, δ)-DP by `σ = Δ√(2 ln(1.25/δ))/ε`; refused unless 0 < ε < 1.
    Classic {
        /// ε ∈ (0, 1).
        epsilon: f64,
        /// δ ∈ (0, 1).
        delta: f64,
    },
    /// ρ-zCDP with `σ² = Δ²/(2ρ)`.
    Zcdp {
        /// ρ > 0.
        rho: f64,
    },
}

/// The Gaussian mechanism on `f64` answers (module docs).
#[derive(Clone, Debug)]
pub struct GaussianMechanism {
    calibration: GaussianCalibration,
    grid: Grid,
    noise: DiscreteGaussian,
    bounded: Option<BoundedDiscreteGaussian>,
}

impl GaussianMechanism {
    /// The mechanism for an L2 sensitivity Δ and a calibration.
    pub fn new(sensitivity: f64, calibration: GaussianCalibration) -> Result<Self, MechanismError> {
        let sensitivity = positive_finite("sensitivity", sensitivity)?;
        validate(calibration)?;
        let sigma_real = sensitivity * unit_sigma(calibration)?;
        let grid = grid_for(sigma_real, sensitivity)?;
        let sigma_squared = grid_variance(&grid.sensitivity, calibration)?;
        let noise = DiscreteGaussian::new(Ratio::from_integer(sigma_squared))?;
        Ok(Self { calibration, grid, noise, bounded: None })
    }

    /// The same mechanism in **bounded-time mode**: every release runs the same number of
    /// rejection rounds of the same work and reads the same number of random bits, whatever the
    /// noise ([`BoundedDiscreteGaussian`]). Its draws differ from exact ones with probability
    /// at most `η` (below 10⁻³⁰), independently of the data, so an (ε, δ) calibration becomes
    /// (ε, δ + (1 + e^ε)·η)-DP, reported with the extra δ rounded up to the fixed-point grid (10⁻¹⁸).
    ///
    /// A [`GaussianCalibration::Zcdp`] calibration is refused: a failure probability folds
    /// into δ, and ρ-zCDP has none (convert to (ε, δ) and calibrate with
    /// [`GaussianCalibration::Analytic`] instead).
    pub fn bounded_time(mut self) -> Result<Self, MechanismError> {
        if let GaussianCalibration::Zcdp { .. } = self.calibration {
            return Err(MechanismError::invalid(
                "calibration",
                "bounded-time mode needs an (epsilon, delta) calibration",
            ));
        }
        self.bounded = Some(self.noise.bounded_time()?);
        Ok(self)
    }

    /// The guarantee, with every parameter rounded up to the fixed-point grid.
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        let too_large = |name| MechanismError::invalid(name, "too large for a privacy amount");
        match self.calibration {
            GaussianCalibration::Analytic { epsilon, delta }
            | GaussianCalibration::Classic { epsilon, delta } => {
                if let Some(bounded) = &self.bounded {
                    return bounded_time_guarantee(epsilon, delta, bounded.failure_probability());
                }
                let e = EpsilonAmount::from_f64_up(epsilon).map_err(|_| too_large("epsilon"))?;
                let d = DeltaAmount::from_f64_up(delta).map_err(|_| too_large("delta"))?;
                PrivacyGuarantee::approximate(e, d)
                    .map_err(|_| MechanismError::invalid("delta", "must be in (0, 1)"))
            }
            GaussianCalibration::Zcdp { rho } => {
                let r = RhoAmount::from_f64_up(rho).map_err(|_| too_large("rho"))?;
                PrivacyGuarantee::zero_concentrated(r)
                    .map_err(|_| MechanismError::invalid("rho", "must be > 0"))
            }
        }
    }

    /// The grid exponent `g`: every release is a multiple of `2^g`.
    pub fn grid_exponent(&self) -> i32 {
        self.grid.exponent
    }

    /// σ in the units of the answer, `σ_g·2^g`.
    pub fn sigma(&self) -> f64 {
        let s2 = self.noise.sigma_squared().to_f64().unwrap_or(f64::INFINITY);
        s2.sqrt() * 2f64.powi(self.grid.exponent)
    }

    /// The noisy answer.
    pub fn release(&self, value: f64, rng: &mut SecureRng) -> Result<f64, MechanismError> {
        self.release_bits(value, &mut RandomBits::new(rng))
    }

    /// The noisy answer, drawing from a shared bit source.
    pub fn release_bits(
        &self,
        value: f64,
        bits: &mut RandomBits<'_>,
    ) -> Result<f64, MechanismError> {
        let k = self.grid.round(value)?;
        if let Some(bounded) = &self.bounded {
            let noisy = k + BigInt::from(bounded.sample_i128(bits)?);
            return Ok(self.grid.to_f64(&noisy));
        }
        if let Some(small) = k.to_i64() {
            let noise = self.noise.sample_i128(bits)?;
            // The exact sum in big integers at the (unreachable in practice) edge of i128.
            return Ok(match i128::from(small).checked_add(noise) {
                Some(noisy) => self.grid.to_f64_i128(noisy),
                None => self.grid.to_f64(&(k + BigInt::from(noise))),
            });
        }
        let noisy: BigInt = k + self.noise.sample_bits(bits)?;
        Ok(self.grid.to_f64(&noisy))
    }
}

fn validate(calibration: GaussianCalibration) -> Result<(), MechanismError> {
    let delta_ok = |d: f64| {
        if d.is_finite() && d > 0.0 && d < 1.0 {
            Ok(())
        } else {
            Err(MechanismError::invalid("delta", "must be in (0, 1)"))
        }
    };
    match calibration {
        GaussianCalibration::Analytic { epsilon, delta } => {
            positive_finite("epsilon", epsilon)?;
            delta_ok(delta)
        }
        GaussianCalibration::Classic { epsilon, delta } => {
            positive_finite("epsilon", epsilon)?;
            if epsilon >= 1.0 {
                return Err(MechanismError::invalid(
                    "epsilon",
                    "the classic Gaussian formula holds only for epsilon < 1",
                ));
            }
            delta_ok(delta)
        }
        GaussianCalibration::Zcdp { rho } => positive_finite("rho", rho).map(|_| ()),
    }
}

/// σ per unit of sensitivity, to choose the grid (the exact σ is set in grid units later).
fn unit_sigma(calibration: GaussianCalibration) -> Result<f64, MechanismError> {
    // Scale invariance: σ(Δ) = Δ·σ(1) for the continuous mechanism; 2⁴⁰ steps approximate it.
    const STEPS: f64 = (1u64 << 40) as f64;
    Ok(match calibration {
        GaussianCalibration::Zcdp { rho } => 1.0 / (2.0 * rho).sqrt(),
        GaussianCalibration::Classic { epsilon, delta } => classic_sigma(1.0, epsilon, delta),
        GaussianCalibration::Analytic { epsilon, delta } => {
            analytic_sigma(STEPS, epsilon, delta)? / STEPS
        }
    })
}

fn classic_sigma(sensitivity: f64, epsilon: f64, delta: f64) -> f64 {
    sensitivity * (2.0 * (1.25 / delta).ln()).sqrt() / epsilon
}

fn grid_for(sigma: f64, sensitivity: f64) -> Result<Grid, MechanismError> {
    let mut grid = Grid::for_scale(sigma, sensitivity)?;
    // `Grid::for_scale` puts 40 bits below the scale; the Gaussian wants 24.
    grid.exponent += super::laplace::GRID_BITS - GAUSSIAN_GRID_BITS;
    let steps = ratio_of(sensitivity) / power_of_two(grid.exponent);
    grid.sensitivity = steps.to_integer() + BigUint::one();
    Ok(grid)
}

/// The integer `σ_g²` for a sensitivity of `steps` grid units.
fn grid_variance(
    steps: &BigUint,
    calibration: GaussianCalibration,
) -> Result<BigUint, MechanismError> {
    let too_wide = || MechanismError::invalid("sensitivity", "too many grid steps for the sampler");
    let d = steps.to_f64().filter(|d| *d < 1e15).ok_or_else(too_wide)?;
    match calibration {
        GaussianCalibration::Zcdp { rho } => {
            // ⌈Δ_g²/(2ρ)⌉, exactly.
            let exact = Ratio::from_integer(steps * steps) / (ratio_of(rho) * BigUint::from(2u32));
            Ok(exact.ceil().to_integer())
        }
        GaussianCalibration::Analytic { epsilon, delta } => {
            Ok(ceil_square(analytic_sigma(d, epsilon, delta)?))
        }
        GaussianCalibration::Classic { epsilon, delta } => {
            let sigma = classic_sigma(d, epsilon, delta);
            if discrete_delta_bound(sigma, d, epsilon) > delta {
                return Err(MechanismError::invalid(
                    "delta",
                    "classic sigma fails the exact check",
                ));
            }
            Ok(ceil_square(sigma))
        }
    }
}

/// `⌈σ²⌉` for a σ below 2⁵⁰, rounded up past the `f64` product's rounding.
fn ceil_square(sigma: f64) -> BigUint {
    let s2 = sigma * sigma * (1.0 + 1e-15);
    BigUint::from(s2.ceil() as u128)
}

/// The smallest σ (to a relative 10⁻¹²) whose discrete δ bound is at most `delta`, for an
/// integer sensitivity `d`.
fn analytic_sigma(d: f64, epsilon: f64, delta: f64) -> Result<f64, MechanismError> {
    let fits = |s: f64| discrete_delta_bound(s, d, epsilon) <= delta;
    let mut hi = d;
    while !fits(hi) {
        hi *= 2.0;
        if !hi.is_finite() || hi > d * 1e12 {
            return Err(MechanismError::invalid("delta", "too small to calibrate"));
        }
    }
    let mut lo = hi / 2.0;
    while fits(lo) && lo > d * 1e-6 {
        lo /= 2.0;
    }
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // `hi` always satisfies the bound.
    Ok(hi)
}

/// An upper bound on `δ` of the discrete Gaussian mechanism with parameter σ, integer
/// sensitivity `d` and ε (module docs).
pub(crate) fn discrete_delta_bound(sigma: f64, d: f64, epsilon: f64) -> f64 {
    let a = epsilon * sigma * sigma / d - d / 2.0;
    if a.is_nan() || a < 0.0 {
        // Outside the regime of the bound (σ² < Δ²/(2ε)); report it as unusable.
        return 1.0;
    }
    let (na, nb) = (a.floor() + 1.0, (a + d).floor() + 1.0);
    let f = |y: f64| (-(y * y) / (2.0 * sigma * sigma)).exp();
    let integral = |n: f64| {
        sigma
            * (std::f64::consts::PI / 2.0).sqrt()
            * libm::erfc(n / (sigma * std::f64::consts::SQRT_2))
    };
    let upper = (f(na) + integral(na)) * (1.0 + SLACK);
    let lower = integral(nb) * (1.0 - SLACK);
    let numer = upper - epsilon.exp() * lower;
    (numer.max(0.0) / (sigma * (2.0 * std::f64::consts::PI).sqrt())) * (1.0 + SLACK)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;

    /// Balle & Wang's δ for the continuous Gaussian, for comparison.
    fn continuous_delta(sigma: f64, d: f64, eps: f64) -> f64 {
        let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        phi(d / (2.0 * sigma) - eps * sigma / d)
            - eps.exp() * phi(-d / (2.0 * sigma) - eps * sigma / d)
    }

    #[test]
    fn analytic_sigma_matches_balle_and_wang_for_fine_grids() {
        for (eps, delta) in [(1.0, 1e-5), (0.1, 1e-6), (5.0, 1e-9)] {
            let d = 1e6;
            let s = analytic_sigma(d, eps, delta).unwrap();
            // The discrete bound costs under 10⁻⁵ relative at 10⁶ steps.
            assert!(continuous_delta(s, d, eps) <= delta * 1.0001, "ε {eps}");
            assert!(continuous_delta(s * 0.999, d, eps) > delta, "σ not tight at ε {eps}");
        }
        // At ε = 1, δ = 10⁻⁵ the analytic σ is about 3.73Δ (Balle & Wang 2018, Figure 1 range).
        let s = analytic_sigma(1e6, 1.0, 1e-5).unwrap() / 1e6;
        assert!((3.6..3.9).contains(&s), "{s}");
    }

    #[test]
    fn small_integer_sensitivities_are_bounded_by_the_exact_sum() {
        // For Δ = 1 the bound is checked against the exact sums of the discrete law.
        for (eps, delta) in [(1.0, 1e-3), (0.5, 1e-4)] {
            let s = analytic_sigma(1.0, eps, delta).unwrap();
            let w = |y: i64| (-(y as f64).powi(2) / (2.0 * s * s)).exp();
            let z: f64 = (-2000..=2000).map(w).sum();
            let a = eps * s * s - 0.5;
            let tail = |x: f64| (-2000..=2000).filter(|&y| y as f64 > x).map(w).sum::<f64>() / z;
            let exact = tail(a) - eps.exp() * tail(a + 1.0);
            assert!(exact <= delta, "exact {exact} > {delta}");
            assert!(exact <= discrete_delta_bound(s, 1.0, eps));
        }
    }

    #[test]
    fn classic_formula_is_refused_outside_its_range() {
        for eps in [1.0, 1.5, 10.0] {
            let err = GaussianMechanism::new(
                1.0,
                GaussianCalibration::Classic { epsilon: eps, delta: 1e-5 },
            )
            .unwrap_err();
            assert_eq!(
                err,
                MechanismError::invalid(
                    "epsilon",
                    "the classic Gaussian formula holds only for epsilon < 1"
                )
            );
        }
        let ok =
            GaussianMechanism::new(1.0, GaussianCalibration::Classic { epsilon: 0.5, delta: 1e-5 })
                .unwrap();
        assert!(ok.sigma() >= classic_sigma(1.0, 0.5, 1e-5));
    }

    #[test]
    fn zcdp_sigma_is_sensitivity_over_root_two_rho() {
        let m = GaussianMechanism::new(2.0, GaussianCalibration::Zcdp { rho: 0.5 }).unwrap();
        assert!((m.sigma() / 2.0 - 1.0).abs() < 1e-6, "{}", m.sigma());
        assert_eq!(m.guarantee().unwrap().kind(), "zcdp");
        let a = GaussianMechanism::new(
            1.0,
            GaussianCalibration::Analytic { epsilon: 1.0, delta: 1e-5 },
        )
        .unwrap();
        assert_eq!(a.guarantee().unwrap().kind(), "approximate");
    }

    #[test]
    fn invalid_parameters_are_refused() {
        for bad in [f64::NAN, f64::INFINITY, 0.0, -1.0] {
            assert!(GaussianMechanism::new(bad, GaussianCalibration::Zcdp { rho: 1.0 }).is_err());
            assert!(GaussianMechanism::new(1.0, GaussianCalibration::Zcdp { rho: bad }).is_err());
            let analytic = GaussianCalibration::Analytic { epsilon: bad, delta: 1e-5 };
            assert!(GaussianMechanism::new(1.0, analytic).is_err());
        }
        for bad_delta in [0.0, 1.0, f64::NAN, -1e-5, 2.0] {
            let analytic = GaussianCalibration::Analytic { epsilon: 1.0, delta: bad_delta };
            assert_eq!(
                GaussianMechanism::new(1.0, analytic).unwrap_err(),
                MechanismError::invalid("delta", "must be in (0, 1)")
            );
        }
    }

    #[test]
    fn releases_lie_on_the_grid() {
        let mut rng = SecureRng::seeded_for_tests_only(70);
        let m = GaussianMechanism::new(1.0, GaussianCalibration::Zcdp { rho: 0.1 }).unwrap();
        let step = 2f64.powi(m.grid_exponent());
        for x in [0.0, 0.3, -17.25] {
            let y = m.release(x, &mut rng).unwrap();
            assert_eq!((y / step).fract(), 0.0);
        }
        assert_eq!(
            m.release(f64::INFINITY, &mut rng),
            Err(MechanismError::NonFiniteInput { name: "value" })
        );
    }
}
