//! The Laplace mechanism on real values, and the geometric mechanism on integers.
//!
//! **Geometric** (Ghosh, Roughgarden, Sundararajan 2009): an integer query `f` of integer
//! sensitivity Δ plus discrete Laplace noise of scale `Δ/ε`, `P(z) ∝ exp(−ε|z|/Δ)`, is ε-DP: for
//! neighbours, the probability of every output changes by a factor of at most
//! `exp(ε|f(x) − f(x′)|/Δ) ≤ exp(ε)`.
//!
//! **Laplace on reals, without floating-point noise.** A real answer `x` is rounded to the
//! nearest multiple of a power-of-two grid step `2^g`, discrete Laplace noise is added to the
//! integer `k = round(x/2^g)`, and `(k + Y)·2^g` is released. Rounding moves each answer by at
//! most `2^(g−1)`, so for `|x − x′| ≤ Δ` the integers differ by at most `Δ_g = ⌊Δ/2^g⌋ + 1`; the
//! noise scale in grid units is `Δ_g/ε`, exactly, so the integer release is ε-DP by the
//! geometric mechanism's argument, and the final conversion to `f64` is post-processing. The
//! grid exponent is `g = ⌊log₂(Δ/ε)⌋ − 40`, chosen from the scale, so the grid is 2⁻⁴⁰ of the
//! noise scale and costs a relative 2⁻⁴⁰ of extra noise; it is part of the release metadata
//! ([`LaplaceMechanism::grid_exponent`]). Every output is a multiple of `2^g` whatever the
//! input, so the low-order bits of a release carry no information: Mironov's 2012 attack on
//! floating-point Laplace noise, and later precision-based attacks, have nothing to read.
//!
//! Neighbouring relation: the caller's, under which `|f(x) − f(x′)| ≤ Δ`. Trade-off: one big
//! integer per release in the worst case (huge inputs), against an exact guarantee.

use num_bigint::{BigInt, BigUint, Sign};
use num_rational::Ratio;
use num_traits::{One, ToPrimitive, Zero};
use privacy_core::{EpsilonAmount, PrivacyGuarantee, SecureRng};

use super::exact::{decompose, power_of_two, ratio_of};
use super::{bounded_time_guarantee, positive_finite, MechanismError};
use crate::sampler::{BoundedDiscreteLaplace, DiscreteLaplace, RandomBits};

/// Bits of grid resolution below the noise scale.
pub(crate) const GRID_BITS: i32 = 40;

/// The guarantee `ε`-DP for an `f64` ε, rounded up to the fixed-point grid.
pub(crate) fn pure_guarantee(epsilon: f64) -> Result<PrivacyGuarantee, MechanismError> {
    let e = EpsilonAmount::from_f64_up(epsilon)
        .map_err(|_| MechanismError::invalid("epsilon", "too large for a privacy amount"))?;
    PrivacyGuarantee::pure(e).map_err(|_| MechanismError::invalid("epsilon", "must be > 0"))
}

/// The geometric mechanism: integer answers plus discrete Laplace noise of scale `Δ/ε`.
///
/// | Input       | Valid range                  |
/// |-------------|------------------------------|
/// | epsilon     | finite `f64`, `> 0`          |
/// | sensitivity | integer `≥ 1`                |
#[derive(Clone, Debug)]
pub struct GeometricMechanism {
    epsilon: f64,
    noise: DiscreteLaplace,
}

impl GeometricMechanism {
    /// The mechanism for ε and an integer sensitivity Δ.
    pub fn new(epsilon: f64, sensitivity: u64) -> Result<Self, MechanismError> {
        let epsilon = positive_finite("epsilon", epsilon)?;
        if sensitivity == 0 {
            return Err(MechanismError::invalid("sensitivity", "must be >= 1"));
        }
        let scale = Ratio::from_integer(BigUint::from(sensitivity)) / ratio_of(epsilon);
        Ok(Self { epsilon, noise: DiscreteLaplace::new(scale)? })
    }

    /// The guarantee: pure ε-DP.
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        pure_guarantee(self.epsilon)
    }

    /// The noise scale `Δ/ε`, exactly.
    pub fn scale(&self) -> &Ratio<BigUint> {
        self.noise.scale()
    }

    /// `value` plus noise.
    pub fn release(&self, value: &BigInt, rng: &mut SecureRng) -> Result<BigInt, MechanismError> {
        Ok(value + self.noise.sample(rng)?)
    }

    /// `value` plus noise, clamped to `[lower, upper]` (post-processing, as in Ghosh et al.'s
    /// range-restricted form).
    pub fn release_clamped(
        &self,
        value: &BigInt,
        lower: &BigInt,
        upper: &BigInt,
        rng: &mut SecureRng,
    ) -> Result<BigInt, MechanismError> {
        if lower > upper {
            return Err(MechanismError::invalid("range", "lower must not exceed upper"));
        }
        Ok(self.release(value, rng)?.clamp(lower.clone(), upper.clone()))
    }
}

/// The Laplace mechanism on `f64` answers, by rounding to a power-of-two grid (module docs).
///
/// | Input       | Valid range                                           |
/// |-------------|-------------------------------------------------------|
/// | epsilon     | finite `f64`, `> 0`                                   |
/// | sensitivity | finite `f64`, `> 0`, with `Δ/ε` a finite non-zero `f64` |
/// | value       | finite `f64`                                          |
#[derive(Clone, Debug)]
pub struct LaplaceMechanism {
    epsilon: f64,
    grid: Grid,
    noise: DiscreteLaplace,
    bounded: Option<BoundedDiscreteLaplace>,
}

impl LaplaceMechanism {
    /// The mechanism for ε and an L1 sensitivity Δ of the answer.
    pub fn new(epsilon: f64, sensitivity: f64) -> Result<Self, MechanismError> {
        let epsilon = positive_finite("epsilon", epsilon)?;
        let sensitivity = positive_finite("sensitivity", sensitivity)?;
        let grid = Grid::for_scale(sensitivity / epsilon, sensitivity)?;
        let scale = Ratio::from_integer(grid.sensitivity.clone()) / ratio_of(epsilon);
        Ok(Self { epsilon, grid, noise: DiscreteLaplace::new(scale)?, bounded: None })
    }

    /// The same mechanism in **bounded-time mode**: every release does the same work and reads
    /// the same number of random bits whatever the noise (see
    /// [`BoundedDiscreteLaplace`]). Its draws differ from exact ones with probability at most
    /// `η` (below 10⁻³⁰), independently of the data, so the guarantee becomes
    /// (ε, (1 + e^ε)·η)-DP, reported with δ rounded up to the fixed-point grid (10⁻¹⁸).
    pub fn bounded_time(mut self) -> Result<Self, MechanismError> {
        self.bounded = Some(self.noise.bounded_time()?);
        Ok(self)
    }

    /// The guarantee: pure ε-DP, or (ε, (1 + e^ε)·η)-DP in bounded-time mode.
    pub fn guarantee(&self) -> Result<PrivacyGuarantee, MechanismError> {
        match &self.bounded {
            None => pure_guarantee(self.epsilon),
            Some(bounded) => {
                bounded_time_guarantee(self.epsilon, 0.0, bounded.failure_probability())
            }
        }
    }

    /// The grid exponent `g`: every release is a multiple of `2^g`.
    pub fn grid_exponent(&self) -> i32 {
        self.grid.exponent
    }

    /// The noise scale in the units of the answer, `Δ_g·2^g/ε` (slightly above `Δ/ε`).
    pub fn scale(&self) -> f64 {
        self.noise.scale().to_f64().unwrap_or(f64::INFINITY) * 2f64.powi(self.grid.exponent)
    }

    /// The noisy answer.
    pub fn release(&self, value: f64, rng: &mut SecureRng) -> Result<f64, MechanismError> {
        self.release_bits(value, &mut RandomBits::new(rng))
    }

    /// The noisy answer, drawing from a shared bit source (for many releases in a row).
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
            // |noise| < 2¹²⁷ and |small| < 2⁶³ can still overflow an i128 at the very edge;
            // the exact sum is then taken in big integers, never wrapped.
            return Ok(match i128::from(small).checked_add(noise) {
                Some(noisy) => self.grid.to_f64_i128(noisy),
                None => self.grid.to_f64(&(k + BigInt::from(noise))),
            });
        }
        let noisy = k + self.noise.sample_bits(bits)?;
        Ok(self.grid.to_f64(&noisy))
    }
}

/// A power-of-two grid `2^exponent` and an answer's sensitivity in grid steps.
#[derive(Clone, Debug)]
pub(crate) struct Grid {
    pub(crate) exponent: i32,
    /// `Δ_g = ⌊Δ/2^g⌋ + 1`, for the norm the caller gave Δ in.
    pub(crate) sensitivity: BigUint,
}

impl Grid {
    /// The grid `2^(⌊log₂ scale⌋ − 40)`, for a noise scale and a sensitivity Δ.
    pub(crate) fn for_scale(scale: f64, sensitivity: f64) -> Result<Self, MechanismError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(MechanismError::invalid(
                "scale",
                "sensitivity/epsilon must be a finite f64",
            ));
        }
        // `decompose` gives scale = m·2^e with m odd; ⌊log₂ scale⌋ = e + bits(m) − 1.
        let (_, m, e) = decompose(scale);
        let log2 = e + (64 - m.leading_zeros() as i32) - 1;
        let exponent = log2 - GRID_BITS;
        let steps = ratio_of(sensitivity) / power_of_two(exponent);
        Ok(Self { exponent, sensitivity: steps.to_integer() + BigUint::one() })
    }

    /// `round(value / 2^g)`, ties away from zero, exactly.
    pub(crate) fn round(&self, value: f64) -> Result<BigInt, MechanismError> {
        if !value.is_finite() {
            return Err(MechanismError::NonFiniteInput { name: "value" });
        }
        let (negative, m, e) = decompose(value);
        let shift = e - self.exponent;
        let magnitude = if m == 0 {
            BigUint::zero()
        } else if shift >= 0 {
            BigUint::from(m) << shift as usize
        } else {
            // ⌊(m + 2^(s−1)) / 2^s⌋ rounds half away from zero for s = −shift ≥ 1.
            let s = (-shift) as usize;
            (BigUint::from(m) + (BigUint::one() << (s - 1))) >> s
        };
        Ok(BigInt::from_biguint(if negative { Sign::Minus } else { Sign::Plus }, magnitude))
    }

    /// `k·2^g` as the nearest `f64` (post-processing).
    pub(crate) fn to_f64(&self, k: &BigInt) -> f64 {
        // An integer beyond `f64`'s range is cut to its top 64 bits first (rounding toward
        // zero there), so that `k·2^g` is finite whenever it is representable.
        let bits = k.bits();
        let drop = bits.saturating_sub(64);
        let top: BigInt = k >> drop as usize;
        let exponent = i64::from(self.exponent) + drop as i64;
        let e = exponent.clamp(i64::from(i32::MIN / 2), i64::from(i32::MAX / 2)) as i32;
        scale_f64(top.to_f64().unwrap_or(f64::NAN), e)
    }

    pub(crate) fn to_f64_i128(&self, k: i128) -> f64 {
        scale_f64(k as f64, self.exponent)
    }
}

/// `x·2^e`, in two steps so that an exponent below −1022 does not underflow `2^e` to zero.
fn scale_f64(x: f64, e: i32) -> f64 {
    let half = e / 2;
    x * 2f64.powi(half) * 2f64.powi(e - half)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.
mod tests {
    use super::*;
    use privacy_core::DeltaAmount;

    #[test]
    fn grid_is_chosen_from_the_scale() {
        let m = LaplaceMechanism::new(0.5, 1.0).unwrap();
        // Scale 2 = 2¹, so g = 1 − 40; Δ_g = 2³⁹ + 1.
        assert_eq!(m.grid_exponent(), -39);
        assert_eq!(m.grid.sensitivity, (BigUint::one() << 39usize) + 1u32);
        assert!((m.scale() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn releases_lie_on_the_grid() {
        let mut rng = SecureRng::seeded_for_tests_only(60);
        let m = LaplaceMechanism::new(1.0, 3.0).unwrap();
        let step = 2f64.powi(m.grid_exponent());
        for x in [0.0, 0.1, -1e6, 123.456] {
            let y = m.release(x, &mut rng).unwrap();
            assert_eq!((y / step).fract(), 0.0, "{y} is not a multiple of {step}");
        }
        let huge = m.release(1e300, &mut rng).unwrap();
        assert_eq!(huge, 1e300, "noise of scale 3 is invisible at 10³⁰⁰");
    }

    #[test]
    fn bounded_time_mode_states_its_delta() {
        let mut rng = SecureRng::seeded_for_tests_only(62);
        let m = LaplaceMechanism::new(1.0, 1.0).unwrap().bounded_time().unwrap();
        let g = m.guarantee().unwrap();
        assert_eq!(g.kind(), "approximate");
        assert_eq!(
            g,
            PrivacyGuarantee::approximate(
                EpsilonAmount::parse_decimal("1").unwrap(),
                DeltaAmount::from_units(1)
            )
            .unwrap()
        );
        let step = 2f64.powi(m.grid_exponent());
        let y = m.release(2.5, &mut rng).unwrap();
        assert_eq!((y / step).fract(), 0.0);
        assert!((y - 2.5).abs() < 60.0, "P(|noise| > 60) = e⁻⁶⁰");
    }

    #[test]
    fn rounding_is_to_nearest() {
        let grid = Grid { exponent: -1, sensitivity: BigUint::one() };
        let cases = [(0.25, 1), (0.24, 0), (-0.25, -1), (1.0, 2), (-3.7, -7)];
        for (x, k) in cases {
            assert_eq!(grid.round(x).unwrap(), BigInt::from(k), "{x}");
        }
    }

    #[test]
    fn invalid_parameters_are_refused() {
        for bad in [f64::NAN, f64::INFINITY, 0.0, -2.0] {
            assert!(matches!(
                LaplaceMechanism::new(bad, 1.0),
                Err(MechanismError::InvalidParameter { name: "epsilon", .. })
            ));
            assert!(matches!(
                LaplaceMechanism::new(1.0, bad),
                Err(MechanismError::InvalidParameter { name: "sensitivity", .. })
            ));
            assert!(GeometricMechanism::new(bad, 1).is_err());
        }
        assert!(matches!(
            LaplaceMechanism::new(1e-300, 1e300),
            Err(MechanismError::InvalidParameter { name: "scale", .. })
        ));
        assert!(GeometricMechanism::new(1.0, 0).is_err());
        let mut rng = SecureRng::seeded_for_tests_only(61);
        let m = LaplaceMechanism::new(1.0, 1.0).unwrap();
        assert_eq!(
            m.release(f64::NAN, &mut rng),
            Err(MechanismError::NonFiniteInput { name: "value" })
        );
        let g = GeometricMechanism::new(1.0, 1).unwrap();
        let (lo, hi) = (BigInt::from(0), BigInt::from(10));
        for _ in 0..100 {
            let v = g.release_clamped(&BigInt::from(10), &lo, &hi, &mut rng).unwrap();
            assert!(v >= lo && v <= hi);
        }
        assert!(g.release_clamped(&lo, &hi, &lo, &mut rng).is_err());
    }
}
