//! Privacy-loss distributions on the grid {i·h}: connect-the-dots discretization, FFT
//! composition with Chernoff-bounded windows, and the exact inversion of δ(ε).
//!
//! **Discretization.** For a pair (P, Q) and grid points ε_j = j·h, the connect-the-dots pair
//! (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi 2022) moves the P- and Q-mass of the losses in
//! each interval (ε_j, ε_{j+1}] onto its two end points, in the unique proportion that gives the
//! end points likelihood ratios exactly e^(ε_j) and e^(ε_{j+1}): the Q-mass Q(I) is split as
//! θ·Q(I) up and (1−θ)·Q(I) down with θ = (P(I)e^(−ε_j) − Q(I)) / (Q(I)(e^h − 1)) ∈ [0, 1].
//! Losses below ε_0 go to ε_0 (paired with a Q-only atom at −∞), losses above ε_n go to ε_n
//! and +∞. The resulting pair's hockey-stick curve is the piecewise-linear interpolation, in
//! e^ε, of the true curve through the grid points, which lies above the true (convex) curve:
//! the discretized pair **dominates** the true one, and domination survives composition
//! (Zhu, Dong, Wang 2022, Theorem 10). This split is the same pair as the paper's, computed
//! from interval masses instead of second differences of δ, which avoids cancellation.
//!
//! The **lower** side merges each interval into one outcome (a post-processing of the pair,
//! so its δ(ε) is at most the true one, before and after composition), whose loss
//! ℓ̄ = ln(P(I)/Q(I)) lies in the interval, and rounds ℓ̄ to the two end points at random without
//! changing its mean. The rounding errors of T steps are independent, have mean 0 and lie in
//! intervals of width h, so by Hoeffding's inequality their sum exceeds w with probability at
//! most η = exp(−2w²/(T h²)); hence δ_true(ε) ≥ δ_rounded(ε + w) − η, which `mod.rs` turns into
//! a lower bound on ε. Losses outside the range are dropped, which only lowers δ.
//!
//! **Composition.** The loss of a composition is the sum of independent losses, so its
//! distribution is a convolution, done as a product of FFTs (rustfft) raised to the number of
//! steps. A circular convolution of length N only holds N grid points, so the sum is read in a
//! window [a, b] chosen by Chernoff bounds P(S ≥ b) ≤ e^(−λb)·E[e^(λS)] (and the mirror bound
//! for a) so that each tail outside holds at most a given mass τ. Aliasing folds that outside
//! mass into the window, which only adds mass: for the upper bound, τ_a + τ_b is added to δ;
//! for the lower bound it is subtracted.
//!
//! **Inversion.** δ(ε) = ω_∞ + Σ_i m_i (1 − e^(ε − ε_i))₊ is, between grid points, of the form
//! A − B·e^ε, so the smallest ε with δ(ε) ≤ δ* is found exactly by one pass from the top.

use std::sync::Arc;

use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;

use super::pair::{Direction, PldMechanism, Tails};
use super::MAX_GRID_POINTS;
use crate::accountant::AccountantError;

/// A discretized privacy-loss distribution: masses at (offset + i)·h and a mass at +∞.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GridPld {
    pub(crate) offset: i64,
    pub(crate) masses: Vec<f64>,
    pub(crate) infinity: f64,
}

/// The pessimistic (dominating) and optimistic discretizations of one mechanism.
pub(crate) struct Discretized {
    pub(crate) upper: GridPld,
    pub(crate) lower: GridPld,
}

/// Discretizes `mechanism` in `direction` on the grid of step `h`, over a loss range outside
/// which P and Q hold at most `tail` each.
pub(crate) fn discretize(
    mechanism: &PldMechanism,
    direction: Direction,
    h: f64,
    tail: f64,
) -> Result<Discretized, AccountantError> {
    let (lo, hi) = mechanism.loss_range(direction, tail);
    let width = (hi - lo) / h;
    if width.is_nan() || width > MAX_GRID_POINTS as f64 {
        return Err(AccountantError::GridTooLarge);
    }
    let first = (lo / h).floor() as i64;
    let last = ((hi / h).ceil() as i64).max(first + 1);
    let points = usize::try_from(last - first + 1).map_err(|_| AccountantError::GridTooLarge)?;
    let tails: Vec<Tails> =
        (first..=last).map(|j| mechanism.tails(direction, j as f64 * h)).collect();
    let mut upper = vec![0.0; points];
    let mut lower = vec![0.0; points];
    // Losses at or below ε_0 all go to ε_0 in the dominating pair; the lower side drops them.
    upper[0] = tails[0].p_below;
    let step_growth = h.exp_m1();
    for j in 0..points - 1 {
        let (p_mass, q_mass) = interval_masses(&tails[j], &tails[j + 1]);
        let loss = (first + j as i64) as f64 * h;
        let up = upper_share(p_mass, q_mass, loss, h, step_growth);
        upper[j + 1] += up;
        upper[j] += p_mass - up;
        let up = garbled_upper_share(p_mass, q_mass, loss, h);
        lower[j + 1] += up;
        lower[j] += p_mass - up;
    }
    let top = &tails[points - 1];
    let top_loss = last as f64 * h;
    // Above ε_n: Q-mass at ratio e^(ε_n) stays finite, the rest of P goes to +∞.
    let at_top = (top_loss.exp() * top.q_above).min(top.p_above);
    upper[points - 1] += at_top;
    Ok(Discretized {
        upper: GridPld { offset: first, masses: upper, infinity: top.p_above - at_top },
        lower: GridPld { offset: first, masses: lower, infinity: 0.0 },
    })
}

/// P(I) and Q(I) for I = (ℓ_j, ℓ_{j+1}], each as the difference of whichever tail is smaller,
/// so that neither loses its relative accuracy to a cancellation near 1.
fn interval_masses(a: &Tails, b: &Tails) -> (f64, f64) {
    let diff = |below_a: f64, below_b: f64, above_a: f64, above_b: f64| {
        let value = if above_a < 0.5 { above_a - above_b } else { below_b - below_a };
        value.max(0.0)
    };
    let p_mass = diff(a.p_below, b.p_below, a.p_above, b.p_above);
    (p_mass, diff(a.q_below, b.q_below, a.q_above, b.q_above))
}

/// The part of an interval's P-mass that connect-the-dots puts on its upper end.
fn upper_share(p_mass: f64, q_mass: f64, loss: f64, h: f64, step_growth: f64) -> f64 {
    if q_mass <= 0.0 {
        // No Q-mass means no finite-loss P-mass either; anything left is rounding, put on top.
        return p_mass;
    }
    let theta = ((p_mass * (-loss).exp() - q_mass) / (q_mass * step_growth)).clamp(0.0, 1.0);
    ((loss + h).exp() * theta * q_mass).clamp(0.0, p_mass)
}

/// The part of an interval's P-mass that the lower side puts on its upper end: the interval
/// merged into one outcome has loss ℓ̄ = ln(P(I)/Q(I)) ∈ [ℓ_j, ℓ_{j+1}] (a post-processing of
/// the pair, so it is dominated by it), rounded to the two end points without changing its
/// mean.
fn garbled_upper_share(p_mass: f64, q_mass: f64, loss: f64, h: f64) -> f64 {
    if q_mass <= 0.0 || p_mass <= 0.0 {
        return 0.0;
    }
    let merged = (p_mass.ln() - q_mass.ln()).clamp(loss, loss + h);
    p_mass * ((merged - loss) / h).clamp(0.0, 1.0)
}

/// A composition read out of a circular convolution.
#[derive(Clone, Debug)]
pub(crate) struct Composed {
    /// Grid index of `masses[0]`.
    pub(crate) offset: i64,
    pub(crate) masses: Vec<f64>,
    pub(crate) infinity: f64,
    /// Mass outside the window, bounded by Chernoff: (below, above).
    pub(crate) outside: (f64, f64),
}

/// λ values (in units of 1/loss) tried by the Chernoff bounds.
fn chernoff_lambdas() -> impl Iterator<Item = f64> {
    (-24..=28).map(|j| 2f64.powf(f64::from(j) / 2.0))
}

/// ln E[e^(λL)] over the finite part of `pld`, as a bound: the sum runs from the end that
/// dominates (so the running factor e^(−|λ|h) never overflows) and is inflated by a relative
/// 10⁻⁹, far above the rounding of its n multiplications.
fn ln_mgf(pld: &GridPld, lambda: f64, h: f64) -> f64 {
    let factor = (-lambda.abs() * h).exp();
    let (mut sum, mut weight) = (0.0, 1.0);
    let reference = if lambda > 0.0 {
        for &mass in pld.masses.iter().rev() {
            sum += mass * weight;
            weight *= factor;
        }
        (pld.offset + pld.masses.len() as i64 - 1) as f64 * h
    } else {
        for &mass in &pld.masses {
            sum += mass * weight;
            weight *= factor;
        }
        pld.offset as f64 * h
    };
    lambda * reference + (sum * (1.0 + 1e-9)).ln()
}

/// Composes `parts` (each a distribution and its number of steps) on grid step `h`, keeping a
/// window whose outside tails hold at most `tail` each.
pub(crate) fn compose(
    parts: &[(&GridPld, u64)],
    h: f64,
    tail: f64,
) -> Result<Composed, AccountantError> {
    let mut ln_finite = 0.0;
    for (pld, steps) in parts {
        ln_finite += *steps as f64 * (-pld.infinity).ln_1p();
    }
    let infinity = -ln_finite.exp_m1();
    let full_low: i64 = parts.iter().map(|(p, k)| p.offset.saturating_mul(*k as i64)).sum();
    let full_high: i64 = parts
        .iter()
        .map(|(p, k)| (p.offset + p.masses.len() as i64 - 1).saturating_mul(*k as i64))
        .sum();
    let (low, below) = window_edge(parts, h, tail, -1.0, full_low);
    let (high, above) = window_edge(parts, h, tail, 1.0, full_high);
    let widest = parts.iter().map(|(p, _)| p.masses.len()).max().unwrap_or(1);
    let window = usize::try_from(high - low + 1).unwrap_or(usize::MAX);
    if window > MAX_GRID_POINTS {
        return Err(AccountantError::GridTooLarge);
    }
    let n = fft_length(window.max(widest));
    let masses = circular_composition(parts, n);
    // masses[r] holds every absolute index ≡ r + full_low (mod n); rotate to start at `low`.
    let shift = (low - full_low).rem_euclid(n as i64) as usize;
    let rotated = masses[shift..].iter().chain(&masses[..shift]).map(|m| m.max(0.0)).collect();
    Ok(Composed { offset: low, masses: rotated, infinity, outside: (below, above) })
}

/// The window edge on one side (`sign` −1: lower, +1: upper) and a bound on the mass beyond it.
fn window_edge(parts: &[(&GridPld, u64)], h: f64, tail: f64, sign: f64, full: i64) -> (i64, f64) {
    let ln_tail = tail.ln();
    let mut best = full as f64 * h;
    for lambda in chernoff_lambdas() {
        let cumulant: f64 =
            parts.iter().map(|(p, k)| *k as f64 * ln_mgf(p, sign * lambda, h)).sum();
        // P(sign·S ≥ sign·x) ≤ exp(cumulant − λ·sign·x) ≤ tail  ⟺  sign·x ≥ (cumulant − ln τ)/λ.
        let edge = sign * (cumulant - ln_tail) / lambda;
        if (sign > 0.0 && edge < best) || (sign < 0.0 && edge > best) {
            best = edge;
        }
    }
    let index = if sign > 0.0 { (best / h).ceil() as i64 } else { (best / h).floor() as i64 };
    if (sign > 0.0 && index >= full) || (sign < 0.0 && index <= full) {
        (full, 0.0)
    } else {
        (index, tail)
    }
}

/// The smallest length ≥ `needed` of the form 2^a·3^b with b ≤ 1, which rustfft handles fast.
fn fft_length(needed: usize) -> usize {
    let power = needed.next_power_of_two();
    let three = (power / 4) * 3;
    if three >= needed && three > 0 {
        three
    } else {
        power
    }
}

/// The circular convolution of length `n` of every part raised to its number of steps, each
/// part shifted to start at position 0.
fn circular_composition(parts: &[(&GridPld, u64)], n: usize) -> Vec<f64> {
    let mut planner = FftPlanner::<f64>::new();
    let forward: Arc<dyn rustfft::Fft<f64>> = planner.plan_fft_forward(n);
    let mut product = vec![Complex64::new(1.0, 0.0); n];
    let mut buffer = vec![Complex64::new(0.0, 0.0); n];
    for (pld, steps) in parts {
        buffer.iter_mut().for_each(|c| *c = Complex64::new(0.0, 0.0));
        for (slot, &mass) in buffer.iter_mut().zip(&pld.masses) {
            slot.re = mass;
        }
        forward.process(&mut buffer);
        let k = *steps as f64;
        for (acc, value) in product.iter_mut().zip(&buffer) {
            // value^k in polar form: one rounding of the angle and of the modulus each.
            let (r, phi) = value.to_polar();
            *acc *= Complex64::from_polar(if r == 0.0 { 0.0 } else { (k * r.ln()).exp() }, k * phi);
        }
    }
    planner.plan_fft_inverse(n).process(&mut product);
    let scale = 1.0 / n as f64;
    product.into_iter().map(|c| c.re * scale).collect()
}

impl Composed {
    /// The smallest ε ≥ 0 with δ(ε) + `extra` ≤ `delta`, or +∞ when even ε = ∞ does not fit
    /// (the mass at +∞ and `extra` alone exceed δ).
    pub(crate) fn epsilon_for_delta(&self, delta: f64, extra: f64, h: f64) -> f64 {
        let base = self.infinity + extra;
        if base >= delta {
            return f64::INFINITY;
        }
        let growth = (-h).exp();
        // Sums over the masses at or above the current index j: Σ m and Σ m·e^(ε_j − ε_i).
        let (mut above, mut scaled) = (0.0, 0.0);
        for (i, &mass) in self.masses.iter().enumerate().rev() {
            let grid_loss = (self.offset + i as i64) as f64 * h;
            // δ at ε_j, from the masses strictly above: base + Σ m_i (1 − e^(ε_j − ε_i)).
            let at_point = base + above - scaled * growth;
            if at_point > delta {
                // The answer lies in [ε_j, ε_{j+1}], where δ(ε) = base + above − e^(ε−ε_{j+1})·scaled.
                return (grid_loss + h + ((base + above - delta) / scaled).ln()).max(0.0);
            }
            above += mass;
            scaled = scaled * growth + mass;
        }
        let bottom = self.offset as f64 * h;
        if scaled <= 0.0 {
            return 0.0;
        }
        // Below the window: δ(ε) = base + above − e^(ε − ε_0)·scaled.
        let value = base + above - delta;
        if value <= 0.0 {
            return 0.0;
        }
        (bottom + (value / scaled).ln()).max(0.0)
    }

    /// δ(ε) + `extra`, clamped to [0, 1].
    pub(crate) fn delta_for_epsilon(&self, epsilon: f64, extra: f64, h: f64) -> f64 {
        let mut sum = self.infinity + extra;
        for (i, &mass) in self.masses.iter().enumerate() {
            let loss = (self.offset + i as i64) as f64 * h;
            if loss > epsilon {
                sum += mass * -(epsilon - loss).exp_m1();
            }
        }
        sum.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discretization_keeps_all_the_mass() {
        let mechanism = PldMechanism::sampled_gaussian(1.1, 0.01).unwrap();
        for direction in [Direction::Remove, Direction::Add] {
            let d = discretize(&mechanism, direction, 1e-3, 1e-15).unwrap();
            let total: f64 = d.upper.masses.iter().sum::<f64>() + d.upper.infinity;
            assert!((total - 1.0).abs() < 1e-12, "{total}");
            let lower: f64 = d.lower.masses.iter().sum();
            assert!(lower <= 1.0 + 1e-12 && lower > 1.0 - 1e-12, "{lower}");
            assert!(d.upper.masses.iter().all(|m| *m >= 0.0));
        }
    }

    #[test]
    fn fft_lengths_are_smooth_and_large_enough() {
        for needed in [1usize, 2, 3, 5, 100, 1000, 65_537, 200_000] {
            let n = fft_length(needed);
            assert!(n >= needed);
            assert!(
                n == n.next_power_of_two() || (n.is_multiple_of(3) && (n / 3).is_power_of_two())
            );
        }
    }
}
