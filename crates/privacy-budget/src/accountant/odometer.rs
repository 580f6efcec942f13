//! Privacy odometers: a running bound on the privacy spent so far that holds at every moment
//! at once, for mechanisms and parameters chosen adaptively, without a budget fixed in advance
//! (Rogers, Roth, Ullman, Vadhan 2016; Whitehouse, Ramdas, Rogers, Wu 2023).
//!
//! An odometer differs from a filter: a filter promises one (ε, δ) for an interaction that
//! stops before it is exceeded, an odometer reports, after every step, an ε that bounds the
//! privacy loss so far, simultaneously for all steps, except with probability δ. Rogers et al.
//! show that this costs more than a filter in general (a √(log log) factor for advanced
//! composition), which is why [`ZcdpOdometer`] reads slightly above the matching filter.
//!
//! - [`BasicOdometer`]: (Σε_i, Σδ_i). Basic composition holds for adaptively chosen
//!   parameters with no extra cost (Rogers et al. 2016).
//! - [`ZcdpOdometer`]: for ρ_i-zCDP mechanisms (pure ε_i-DP counts as ε_i²/2). A ladder of
//!   budgets ρ_j = ρ_0·2^j, each with its own failure probability δ_j = 6δ/(π²(j+1)²) (they
//!   add up to at most δ); at each rung the supermartingale bound of Feldman & Zrnic 2021
//!   and Ville's inequality give P(∃t with Σρ ≤ ρ_j and L_t > ρ_j + 2√(ρ_j ln(1/δ_j))) ≤ δ_j.
//!   A union bound over the rungs makes the reading of the smallest rung above Σρ valid at
//!   all times at once. This is the "stitching" construction of Whitehouse et al. 2023
//!   (Section 5) in its simplest, geometric form; see `docs/proofs/adaptive-composition.md`.

use crate::accountant::AccountantError;

/// Basic composition as an odometer: the running (Σε_i, Σδ_i).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BasicOdometer {
    spent: (f64, f64),
}

impl BasicOdometer {
    /// An odometer at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an (ε_i, δ_i)-DP mechanism.
    pub fn record(&mut self, epsilon: f64, delta: f64) -> Result<(), AccountantError> {
        if !(epsilon.is_finite() && delta.is_finite()) {
            return Err(AccountantError::NonFinite { name: "epsilon" });
        }
        if epsilon < 0.0 {
            return Err(AccountantError::NonPositiveEpsilon);
        }
        if !(0.0..1.0).contains(&delta) {
            return Err(AccountantError::DeltaOutOfRange);
        }
        self.spent = (self.spent.0 + epsilon, self.spent.1 + delta);
        Ok(())
    }

    /// The bound (Σε_i, Σδ_i) on everything recorded so far.
    pub fn reading(&self) -> (f64, f64) {
        self.spent
    }
}

/// A zCDP odometer with total failure probability δ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZcdpOdometer {
    delta: f64,
    first_rung: f64,
    spent: f64,
}

impl ZcdpOdometer {
    /// An odometer with failure probability δ whose ladder starts at ρ_0 = `first_rung`
    /// (readings below ρ_0 are those of ρ_0; pick about the smallest ρ you expect to spend).
    pub fn new(delta: f64, first_rung: f64) -> Result<Self, AccountantError> {
        if !(delta.is_finite() && first_rung.is_finite()) {
            return Err(AccountantError::NonFinite { name: "delta" });
        }
        if !(delta > 0.0 && delta < 1.0) {
            return Err(AccountantError::DeltaOutOfRange);
        }
        if first_rung <= 0.0 {
            return Err(AccountantError::NonPositiveEpsilon);
        }
        Ok(Self { delta, first_rung, spent: 0.0 })
    }

    /// Adds a ρ_i-zCDP mechanism.
    pub fn record_rho(&mut self, rho: f64) -> Result<(), AccountantError> {
        if !rho.is_finite() {
            return Err(AccountantError::NonFinite { name: "rho" });
        }
        if rho < 0.0 {
            return Err(AccountantError::NonPositiveEpsilon);
        }
        self.spent += rho;
        Ok(())
    }

    /// Adds a pure ε_i-DP mechanism as ε_i²/2-zCDP.
    pub fn record_pure(&mut self, epsilon: f64) -> Result<(), AccountantError> {
        if !epsilon.is_finite() {
            return Err(AccountantError::NonFinite { name: "epsilon" });
        }
        self.record_rho(epsilon * epsilon / 2.0)
    }

    /// Σρ recorded so far.
    pub fn spent(&self) -> f64 {
        self.spent
    }

    /// The ε bounding the privacy loss of everything recorded so far, valid at every step at
    /// once except with probability δ: ρ_j + 2√(ρ_j ln(1/δ_j)) at the smallest rung
    /// ρ_j = ρ_0·2^j ≥ Σρ, with δ_j = 6δ/(π²(j+1)²).
    pub fn reading(&self) -> f64 {
        let mut rung = self.first_rung;
        let mut j = 0u32;
        while rung < self.spent {
            rung *= 2.0;
            j += 1;
        }
        let jf = f64::from(j) + 1.0;
        let delta_j = 6.0 * self.delta / (std::f64::consts::PI.powi(2) * jf * jf);
        rung + 2.0 * (rung * (1.0 / delta_j).ln()).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_grow_with_what_was_spent_and_exceed_the_fixed_time_bound() {
        let mut odometer = ZcdpOdometer::new(1e-6, 1e-4).unwrap();
        let mut last = odometer.reading();
        for _ in 0..100 {
            odometer.record_pure(0.05).unwrap();
            let reading = odometer.reading();
            assert!(reading >= last);
            last = reading;
            // Never below the Bun–Steinke conversion at the same ρ and δ (a filter's price).
            let rho = odometer.spent();
            assert!(reading >= rho + 2.0 * (rho * (1e6f64).ln()).sqrt());
        }
        let mut basic = BasicOdometer::new();
        basic.record(0.5, 1e-7).unwrap();
        basic.record(0.25, 0.0).unwrap();
        assert_eq!(basic.reading(), (0.75, 1e-7));
        assert_eq!(basic.record(-1.0, 0.0), Err(AccountantError::NonPositiveEpsilon));
    }
}
