//! Zero-concentrated DP: [`ZcdpAccountant`] adds ρ across mechanisms and converts the total to
//! (ε, δ), with the conversion of Bun & Steinke 2016 or the tighter one of Canonne, Kamath,
//! Steinke 2020.
//!
//! ρ-zCDP bounds every Rényi divergence: D_α(M(x) ‖ M(x')) ≤ ρα for all α > 1 (Bun & Steinke
//! 2016, Definition 1.1). Composition adds ρ (Lemma 2.3), adaptively; the Gaussian mechanism
//! with ℓ2 sensitivity Δ and standard deviation σ is Δ²/(2σ²)-zCDP (Proposition 1.6), and pure
//! ε-DP implies ε²/2-zCDP (Proposition 1.4).
//!
//! Conversions to (ε, δ)-DP:
//! - [`ZcdpConversion::BunSteinke2016`]: ε = ρ + 2√(ρ ln(1/δ)) (Proposition 1.3).
//! - [`ZcdpConversion::CanonneKamathSteinke2020`] (the default): ε = inf_{α>1} αρ +
//!   ln((α−1)/α) − (ln δ + ln α)/(α−1), which is Corollary 13 of Canonne, Kamath, Steinke
//!   2020 solved for ε (equivalently Balle et al. 2020, Theorem 21, on the curve αρ). The
//!   infimum is found numerically; every α gives a valid bound, so the search can only cost
//!   tightness, never soundness, and the result is never above the first conversion.
//!
//! Both give 0 when δ ≥ √(1 − e^(−ρ)) (total variation; see `rdp/mod.rs`).

use crate::accountant::AccountantError;

/// How ρ-zCDP is turned into (ε, δ)-DP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZcdpConversion {
    /// ρ + 2√(ρ ln(1/δ)): Bun & Steinke 2016, Proposition 1.3.
    BunSteinke2016,
    /// The optimal conversion through Rényi divergences: Canonne, Kamath, Steinke 2020,
    /// Corollary 13.
    #[default]
    CanonneKamathSteinke2020,
}

/// Sums ρ over the mechanisms composed so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ZcdpAccountant {
    rho: f64,
}

impl ZcdpAccountant {
    /// An empty accountant.
    pub fn new() -> Self {
        Self::default()
    }

    /// The total ρ.
    pub fn rho(&self) -> f64 {
        self.rho
    }

    /// Adds a ρ-zCDP mechanism.
    pub fn compose_rho(&mut self, rho: f64) -> Result<(), AccountantError> {
        if !rho.is_finite() {
            return Err(AccountantError::NonFinite { name: "rho" });
        }
        if rho < 0.0 {
            return Err(AccountantError::NonPositiveEpsilon);
        }
        self.rho += rho;
        Ok(())
    }

    /// Adds `steps` Gaussian mechanisms with standard deviation `noise_multiplier` × ℓ2
    /// sensitivity: ρ = steps/(2σ²).
    pub fn compose_gaussian(
        &mut self,
        noise_multiplier: f64,
        steps: u64,
    ) -> Result<(), AccountantError> {
        if !noise_multiplier.is_finite() {
            return Err(AccountantError::NonFinite { name: "noise_multiplier" });
        }
        if noise_multiplier <= 0.0 {
            return Err(AccountantError::NonPositiveNoise { name: "noise_multiplier" });
        }
        self.compose_rho(steps as f64 / (2.0 * noise_multiplier * noise_multiplier))
    }

    /// Adds a pure ε-DP mechanism as ε²/2-zCDP.
    pub fn compose_pure(&mut self, epsilon: f64) -> Result<(), AccountantError> {
        if !epsilon.is_finite() {
            return Err(AccountantError::NonFinite { name: "epsilon" });
        }
        if epsilon < 0.0 {
            return Err(AccountantError::NonPositiveEpsilon);
        }
        self.compose_rho(epsilon * epsilon / 2.0)
    }

    /// The ε at which the composition is (ε, δ)-DP.
    pub fn epsilon(&self, delta: f64, conversion: ZcdpConversion) -> Result<f64, AccountantError> {
        zcdp_epsilon(self.rho, delta, conversion)
    }
}

/// ε of the (ε, δ)-DP guarantee implied by ρ-zCDP under `conversion`; never negative or NaN.
pub fn zcdp_epsilon(
    rho: f64,
    delta: f64,
    conversion: ZcdpConversion,
) -> Result<f64, AccountantError> {
    if !delta.is_finite() {
        return Err(AccountantError::NonFinite { name: "delta" });
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(AccountantError::DeltaOutOfRange);
    }
    if !rho.is_finite() {
        return Err(AccountantError::NonFinite { name: "rho" });
    }
    if rho < 0.0 {
        return Err(AccountantError::NonPositiveEpsilon);
    }
    if delta * delta + (-rho).exp_m1() >= 0.0 {
        return Ok(0.0);
    }
    let bun_steinke = rho + 2.0 * (rho * (1.0 / delta).ln()).sqrt();
    Ok(match conversion {
        ZcdpConversion::BunSteinke2016 => bun_steinke,
        ZcdpConversion::CanonneKamathSteinke2020 => cks(rho, delta).min(bun_steinke).max(0.0),
    })
}

/// inf over α of αρ + ln((α−1)/α) − (ln δ + ln α)/(α−1), by golden-section search on
/// ln(α − 1) around the Bun–Steinke optimum α = 1 + √(ln(1/δ)/ρ).
fn cks(rho: f64, delta: f64) -> f64 {
    let at = |alpha: f64| {
        alpha * rho + (-1.0 / alpha).ln_1p() - (delta.ln() + alpha.ln()) / (alpha - 1.0)
    };
    let centre = ((1.0 / delta).ln() / rho).sqrt().ln();
    let (mut lo, mut hi) = (centre - 8.0, centre + 8.0);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..100 {
        let a = hi - ratio * (hi - lo);
        let b = lo + ratio * (hi - lo);
        if at(1.0 + a.exp()) < at(1.0 + b.exp()) {
            hi = b;
        } else {
            lo = a;
        }
    }
    let value = at(1.0 + (0.5 * (lo + hi)).exp());
    if value.is_nan() {
        f64::INFINITY
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tighter_conversion_is_never_looser() {
        for rho in [1e-4, 0.01, 0.5, 2.0, 40.0] {
            for delta in [1e-12, 1e-6, 1e-2] {
                let bs = zcdp_epsilon(rho, delta, ZcdpConversion::BunSteinke2016).unwrap();
                let cks = zcdp_epsilon(rho, delta, ZcdpConversion::default()).unwrap();
                assert!(cks <= bs && cks >= 0.0, "ρ={rho} δ={delta}: {cks} > {bs}");
            }
        }
    }
}
