//! Privacy filters: budgets that stay sound when the analyst chooses each next mechanism *and
//! its privacy parameters* after seeing the earlier answers (fully adaptive composition,
//! Rogers, Roth, Ullman, Vadhan 2016).
//!
//! Ordinary composition theorems assume the list of (ε_i, δ_i) is fixed in advance. A filter
//! is a stopping rule instead: each request states its parameters, the filter accepts it only
//! if the whole interaction, stopped at that point, still meets the target, and otherwise
//! refuses it (and everything after it) and leaves its state unchanged. Every filter here
//! carries the theorem that makes it valid for adaptively chosen parameters.
//!
//! | filter | accepts while | guarantee | reference |
//! |---|---|---|---|
//! | [`BasicFilter`] | Σε_i ≤ ε, Σδ_i ≤ δ | (ε, δ)-DP | Rogers, Roth, Ullman, Vadhan 2016, basic composition of filters |
//! | [`ZcdpFilter`] | Σρ_i ≤ ρ | ρ-zCDP, hence (ε, δ)-DP | Feldman & Zrnic 2021, Theorem 3.1 at every order α; Whitehouse, Ramdas, Rogers, Wu 2023 (zCDP filter) |
//! | [`AdvancedFilter`] | Σε_i²/2 + √(2 ln(1/δ') Σε_i²) ≤ ε, Σδ_i ≤ δ − δ' | (ε, δ)-DP | Whitehouse, Ramdas, Rogers, Wu 2023 (advanced-composition filter, through their approximate-zCDP filter) |
//! | [`RenyiFilter`] | Σε_i(α) ≤ B(α) at one order fixed in advance | (α, B)-RDP, hence (ε, δ)-DP | Feldman & Zrnic 2021, Theorem 3.1 |
//!
//! The common argument (written out in `docs/proofs/adaptive-composition.md`): for RDP at
//! order α, M_t = exp((α−1)(L_t − Σ_{s≤t} ε_s(α))) is a non-negative supermartingale in the
//! privacy loss L_t when each ε_s(α) is chosen before the s-th answer, so a stopping rule that
//! keeps Σε_s(α) ≤ B surely gives E[exp((α−1)L)] ≤ exp((α−1)B), which is (α, B)-RDP. zCDP is
//! RDP at every order at once (ε(α) = ρα), and pure ε-DP is ε²/2-zCDP. An (ε_i, δ_i)-DP
//! mechanism is, outside an event of probability δ_i, ε_i-DP, which is where the δ_i add.

use crate::accountant::zcdp::{zcdp_epsilon, ZcdpConversion};
use crate::accountant::AccountantError;

fn check_epsilon(epsilon: f64, name: &'static str) -> Result<f64, AccountantError> {
    if !epsilon.is_finite() {
        return Err(AccountantError::NonFinite { name });
    }
    if epsilon < 0.0 {
        return Err(AccountantError::NonPositiveEpsilon);
    }
    Ok(epsilon)
}

fn check_delta(delta: f64, allow_zero: bool) -> Result<f64, AccountantError> {
    if !delta.is_finite() {
        return Err(AccountantError::NonFinite { name: "delta" });
    }
    let low_ok = if allow_zero { delta >= 0.0 } else { delta > 0.0 };
    if !(low_ok && delta < 1.0) {
        return Err(AccountantError::DeltaOutOfRange);
    }
    Ok(delta)
}

/// Basic composition as a filter: accepts (ε_i, δ_i) while the sums stay within (ε, δ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BasicFilter {
    budget: (f64, f64),
    spent: (f64, f64),
}

impl BasicFilter {
    /// A filter with budget (ε, δ), δ in [0, 1).
    pub fn new(epsilon: f64, delta: f64) -> Result<Self, AccountantError> {
        let budget = (check_epsilon(epsilon, "epsilon")?, check_delta(delta, true)?);
        Ok(Self { budget, spent: (0.0, 0.0) })
    }

    /// Accepts and counts (ε_i, δ_i) if the sums stay within budget; otherwise returns
    /// `false` and changes nothing.
    pub fn try_spend(&mut self, epsilon: f64, delta: f64) -> Result<bool, AccountantError> {
        let (e, d) = (check_epsilon(epsilon, "epsilon")?, check_delta(delta, true)?);
        let next = (self.spent.0 + e, self.spent.1 + d);
        if next.0 > self.budget.0 || next.1 > self.budget.1 {
            return Ok(false);
        }
        self.spent = next;
        Ok(true)
    }

    /// What has been accepted so far, (Σε_i, Σδ_i).
    pub fn spent(&self) -> (f64, f64) {
        self.spent
    }
}

/// A zCDP filter: accepts ρ_i-zCDP mechanisms (or pure ε_i-DP ones, as ε_i²/2) while Σρ_i ≤ ρ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZcdpFilter {
    budget: f64,
    spent: f64,
}

impl ZcdpFilter {
    /// A filter with budget ρ.
    pub fn new(rho: f64) -> Result<Self, AccountantError> {
        Ok(Self { budget: check_epsilon(rho, "rho")?, spent: 0.0 })
    }

    /// The filter with the largest ρ whose (ε, δ) conversion (Canonne, Kamath, Steinke 2020)
    /// is at most `epsilon`, found by bisection (every ρ it keeps converts to at most ε).
    pub fn for_target(epsilon: f64, delta: f64) -> Result<Self, AccountantError> {
        check_epsilon(epsilon, "epsilon")?;
        check_delta(delta, false)?;
        let (mut fits, mut fails) = (0.0, epsilon.max(1e-300));
        while zcdp_epsilon(fails, delta, ZcdpConversion::default())? <= epsilon {
            fits = fails;
            fails *= 2.0;
        }
        for _ in 0..200 {
            let mid = 0.5 * (fits + fails);
            if zcdp_epsilon(mid, delta, ZcdpConversion::default())? <= epsilon {
                fits = mid;
            } else {
                fails = mid;
            }
        }
        Self::new(fits)
    }

    /// Accepts and counts a ρ_i-zCDP mechanism if Σρ stays within budget; otherwise `false`.
    pub fn try_spend_rho(&mut self, rho: f64) -> Result<bool, AccountantError> {
        let next = self.spent + check_epsilon(rho, "rho")?;
        if next > self.budget {
            return Ok(false);
        }
        self.spent = next;
        Ok(true)
    }

    /// Accepts a pure ε_i-DP mechanism as ε_i²/2-zCDP (Bun & Steinke 2016, Proposition 1.4).
    pub fn try_spend_pure(&mut self, epsilon: f64) -> Result<bool, AccountantError> {
        let e = check_epsilon(epsilon, "epsilon")?;
        self.try_spend_rho(e * e / 2.0)
    }

    /// Σρ accepted so far.
    pub fn spent(&self) -> f64 {
        self.spent
    }
}

/// The advanced-composition filter for (ε_i, δ_i)-DP mechanisms with adaptively chosen
/// parameters, at the rate of advanced composition including constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdvancedFilter {
    epsilon: f64,
    delta: f64,
    slack: f64,
    squares: f64,
    deltas: f64,
}

impl AdvancedFilter {
    /// A filter with target (ε, δ), of which `slack` = δ' pays for the concentration and
    /// δ − δ' is left for the δ_i of the mechanisms.
    pub fn new(epsilon: f64, delta: f64, slack: f64) -> Result<Self, AccountantError> {
        check_epsilon(epsilon, "epsilon")?;
        check_delta(delta, false)?;
        check_delta(slack, false)?;
        if slack > delta {
            return Err(AccountantError::DeltaOutOfRange);
        }
        Ok(Self { epsilon, delta, slack, squares: 0.0, deltas: 0.0 })
    }

    /// Accepts and counts (ε_i, δ_i) if Σε²/2 + √(2 ln(1/δ') Σε²) ≤ ε and δ' + Σδ ≤ δ after
    /// it; otherwise `false` and nothing changes.
    pub fn try_spend(&mut self, epsilon: f64, delta: f64) -> Result<bool, AccountantError> {
        let (e, d) = (check_epsilon(epsilon, "epsilon")?, check_delta(delta, true)?);
        let squares = self.squares + e * e;
        let loss = squares / 2.0 + (2.0 * (1.0 / self.slack).ln() * squares).sqrt();
        if loss > self.epsilon || self.slack + self.deltas + d > self.delta {
            return Ok(false);
        }
        (self.squares, self.deltas) = (squares, self.deltas + d);
        Ok(true)
    }
}

/// A Rényi filter at one order α chosen before the interaction (Feldman & Zrnic 2021).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenyiFilter {
    order: f64,
    budget: f64,
    spent: f64,
}

impl RenyiFilter {
    /// A filter at order α whose budget B converts to exactly `epsilon` at `delta` by Balle
    /// et al. 2020, Theorem 21: B = ε − ln((α−1)/α) + (ln δ + ln α)/(α−1). Refused with
    /// [`AccountantError::CalibrationOutOfRange`] when that B is not positive (the order is too
    /// small for δ: no interaction could be accepted).
    pub fn new(order: f64, epsilon: f64, delta: f64) -> Result<Self, AccountantError> {
        if !(order.is_finite() && order > 1.0) {
            return Err(AccountantError::InvalidOrders);
        }
        check_epsilon(epsilon, "epsilon")?;
        check_delta(delta, false)?;
        let budget = epsilon - (-1.0 / order).ln_1p() + (delta.ln() + order.ln()) / (order - 1.0);
        if budget.is_nan() || budget <= 0.0 {
            return Err(AccountantError::CalibrationOutOfRange);
        }
        Ok(Self { order, budget, spent: 0.0 })
    }

    /// The order α.
    pub fn order(&self) -> f64 {
        self.order
    }

    /// Accepts and counts a mechanism with ε_i(α) = `rdp` if the sum stays within B.
    pub fn try_spend(&mut self, rdp: f64) -> Result<bool, AccountantError> {
        let next = self.spent + check_epsilon(rdp, "rdp")?;
        if next > self.budget {
            return Ok(false);
        }
        self.spent = next;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_request_changes_nothing() {
        let mut basic = BasicFilter::new(1.0, 1e-6).unwrap();
        assert!(basic.try_spend(0.6, 0.0).unwrap());
        assert!(!basic.try_spend(0.5, 0.0).unwrap());
        assert!(basic.try_spend(0.4, 1e-6).unwrap());
        assert_eq!(basic.spent(), (1.0, 1e-6));
        let mut renyi = RenyiFilter::new(8.0, 2.0, 1e-6).unwrap();
        while renyi.try_spend(0.05).unwrap() {}
        assert!(renyi.spent <= renyi.budget);
        assert_eq!(RenyiFilter::new(1.01, 1.0, 1e-9), Err(AccountantError::CalibrationOutOfRange));
    }

    #[test]
    fn the_advanced_filter_accepts_quadratically_more_than_the_basic_one() {
        // ε = 1 in steps of 0.01: basic stops after 100, advanced (δ' = 10⁻⁶) after about
        // (ε/(√(2 ln 10⁶)+…))²/10⁻⁴ ≈ 350.
        let mut advanced = AdvancedFilter::new(1.0, 1e-6, 1e-6).unwrap();
        let mut accepted = 0;
        while advanced.try_spend(0.01, 0.0).unwrap() {
            accepted += 1;
        }
        assert!(accepted > 300 && accepted < 400, "{accepted}");
        let mut zcdp = ZcdpFilter::for_target(1.0, 1e-6).unwrap();
        let mut pure = 0;
        while zcdp.try_spend_pure(0.01).unwrap() {
            pure += 1;
        }
        // The zCDP route converts with Canonne–Kamath–Steinke, so it accepts at least as many.
        assert!(pure >= accepted, "{pure} < {accepted}");
    }
}
