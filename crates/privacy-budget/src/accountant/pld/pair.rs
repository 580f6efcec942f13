//! The mechanisms the PLD accountant knows, as dominating pairs (P, Q) whose privacy loss
//! L = ln(dP/dQ) has closed-form tails under both P and Q.
//!
//! Every mechanism here has a privacy loss that is a monotone function of one real output z,
//! so `{L > ℓ}` is a half-line in z and its probability under P and under Q is a tail of the
//! noise distribution. That is all the discretization in `grid.rs` needs: the P- and
//! Q-probability of every interval of privacy-loss values, computed from tails rather than
//! densities, so point masses (Laplace's plateaus, randomized response) need no special case.
//!
//! Pairs, for a query of sensitivity 1 (noise parameters are multipliers of the sensitivity):
//!
//! | mechanism | remove direction (P ‖ Q) | add direction (P ‖ Q) |
//! |---|---|---|
//! | Gaussian σ, Laplace λ | N(0) ‖ N(1), i.e. X ‖ X + 1 | the same pair, by symmetry |
//! | Poisson-sampled, rate q | (1−q)X + q(X+1) ‖ X | X ‖ (1−q)X + q(X+1) |
//! | randomized response p | Bern(p) ‖ Bern(1−p) | the same pair |
//!
//! The sampled pairs are the tight dominating pairs of Poisson subsampling under add/remove-one
//! neighbours (Zhu, Dong, Wang 2022, Proposition 30; Koskela, Jälkö, Honkela 2020). The
//! accountant composes each direction separately and reports the larger ε.
//!
//! Main trade-off: tails are evaluated in `f64` through `ln erfc` (Gaussian) or exact
//! exponentials (Laplace); each is accurate to a few ulps relative, which is what makes the
//! interval masses accurate far into the tails.

use crate::accountant::special::normal_sf;
use crate::accountant::AccountantError;

/// Which neighbour is the larger dataset in a pair of neighbouring datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// P is the output on the dataset with the extra record.
    Remove,
    /// P is the output on the dataset without it.
    Add,
}

/// The noise of an additive mechanism, relative to a sensitivity of 1.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Noise {
    Gaussian { sigma: f64 },
    Laplace { scale: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Additive { noise: Noise, rate: f64 },
    RandomizedResponse { truth: f64 },
}

/// A mechanism the PLD accountant can discretize, with validated parameters.
///
/// Noise parameters are multipliers of the sensitivity: ℓ2 for the Gaussian, ℓ1 for Laplace.
/// The sampled variants run the mechanism on a Poisson sample (each record kept independently
/// with probability `sampling_rate`), under add/remove-one neighbours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PldMechanism(Kind);

/// The four tail probabilities of the privacy loss at one value ℓ.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Tails {
    /// P(L ≤ ℓ).
    pub(crate) p_below: f64,
    /// Q(L ≤ ℓ).
    pub(crate) q_below: f64,
    /// P(L > ℓ).
    pub(crate) p_above: f64,
    /// Q(L > ℓ).
    pub(crate) q_above: f64,
}

impl PldMechanism {
    /// The Gaussian mechanism with standard deviation `noise_multiplier` × ℓ2 sensitivity.
    pub fn gaussian(noise_multiplier: f64) -> Result<Self, AccountantError> {
        Self::sampled_gaussian(noise_multiplier, 1.0)
    }

    /// The Laplace mechanism with scale `noise_multiplier` × ℓ1 sensitivity.
    pub fn laplace(noise_multiplier: f64) -> Result<Self, AccountantError> {
        Self::sampled_laplace(noise_multiplier, 1.0)
    }

    /// The Gaussian mechanism on a Poisson sample of rate `sampling_rate` (DP-SGD's step).
    pub fn sampled_gaussian(
        noise_multiplier: f64,
        sampling_rate: f64,
    ) -> Result<Self, AccountantError> {
        let sigma = positive(noise_multiplier)?;
        Ok(Self(Kind::Additive { noise: Noise::Gaussian { sigma }, rate: rate(sampling_rate)? }))
    }

    /// The Laplace mechanism on a Poisson sample of rate `sampling_rate`.
    pub fn sampled_laplace(
        noise_multiplier: f64,
        sampling_rate: f64,
    ) -> Result<Self, AccountantError> {
        let scale = positive(noise_multiplier)?;
        Ok(Self(Kind::Additive { noise: Noise::Laplace { scale }, rate: rate(sampling_rate)? }))
    }

    /// Binary randomized response reporting the true bit with probability `truth_probability`.
    pub fn randomized_response(truth_probability: f64) -> Result<Self, AccountantError> {
        if !truth_probability.is_finite() {
            return Err(AccountantError::NonFinite { name: "truth_probability" });
        }
        if !(truth_probability > 0.0 && truth_probability < 1.0) {
            return Err(AccountantError::ProbabilityOutOfRange);
        }
        // The curve is symmetric in p ↔ 1 − p; the pair is stated for p ≥ 1/2.
        Ok(Self(Kind::RandomizedResponse { truth: truth_probability.max(1.0 - truth_probability) }))
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self.0 {
            Kind::Additive { noise: Noise::Gaussian { .. }, rate } if rate < 1.0 => {
                "sampled_gaussian"
            }
            Kind::Additive { noise: Noise::Gaussian { .. }, .. } => "gaussian",
            Kind::Additive { noise: Noise::Laplace { .. }, rate } if rate < 1.0 => {
                "sampled_laplace"
            }
            Kind::Additive { noise: Noise::Laplace { .. }, .. } => "laplace",
            Kind::RandomizedResponse { .. } => "randomized_response",
        }
    }

    /// Whether the mechanism reveals nothing (sampling rate 0): its PLD is a point mass at 0.
    pub(crate) fn is_trivial(&self) -> bool {
        matches!(self.0, Kind::Additive { rate, .. } if rate == 0.0)
    }

    /// Whether both directions give the same PLD, so only one needs composing.
    pub(crate) fn is_symmetric(&self) -> bool {
        !matches!(self.0, Kind::Additive { rate, .. } if rate < 1.0)
    }

    /// A privacy-loss range outside which each of P and Q has mass at most `tail` (the whole
    /// support when it is bounded).
    pub(crate) fn loss_range(&self, direction: Direction, tail: f64) -> (f64, f64) {
        match self.0 {
            Kind::RandomizedResponse { truth } => {
                let loss = (truth / (1.0 - truth)).ln();
                (-loss, loss)
            }
            Kind::Additive { noise, rate } => {
                let z = noise.quantile_above(tail);
                // L is monotone in z, and each of P and Q is a mixture of X and X + 1, so
                // outside [−z, z + 1] both have mass at most `tail`.
                let (a, b) = (self.loss_at(noise, rate, direction, -z), {
                    self.loss_at(noise, rate, direction, z + 1.0)
                });
                (a.min(b), a.max(b))
            }
        }
    }

    /// The privacy loss at output z.
    fn loss_at(&self, noise: Noise, rate: f64, direction: Direction, z: f64) -> f64 {
        let ln_ratio = noise.ln_ratio(z);
        // ln(1 − q + q·r) = ln(1 + q(r − 1)), computed without cancellation.
        let mixed = (rate * ln_ratio.exp_m1()).ln_1p();
        match direction {
            Direction::Remove => mixed,
            Direction::Add => -mixed,
        }
    }

    /// P and Q tails of the privacy loss at `loss`.
    pub(crate) fn tails(&self, direction: Direction, loss: f64) -> Tails {
        match self.0 {
            Kind::RandomizedResponse { truth } => rr_tails(truth, loss),
            Kind::Additive { noise, rate } => additive_tails(noise, rate, direction, loss),
        }
    }
}

fn positive(value: f64) -> Result<f64, AccountantError> {
    let name = "noise_multiplier";
    if !value.is_finite() {
        return Err(AccountantError::NonFinite { name });
    }
    if value <= 0.0 {
        return Err(AccountantError::NonPositiveNoise { name });
    }
    Ok(value)
}

fn rate(value: f64) -> Result<f64, AccountantError> {
    if !value.is_finite() {
        return Err(AccountantError::NonFinite { name: "sampling_rate" });
    }
    if !(0.0..=1.0).contains(&value) {
        return Err(AccountantError::SamplingRateOutOfRange);
    }
    Ok(value)
}

impl Noise {
    /// ln(f(z − 1)/f(z)): the log-likelihood ratio of X + 1 against X at z.
    fn ln_ratio(self, z: f64) -> f64 {
        match self {
            Self::Gaussian { sigma } => (2.0 * z - 1.0) / (2.0 * sigma * sigma),
            Self::Laplace { scale } => (2.0 * z - 1.0).clamp(-1.0, 1.0) / scale,
        }
    }

    /// The threshold t with {z : ln_ratio(z) > u} = {z > t}, up to a null set, in [−∞, ∞].
    fn threshold(self, u: f64) -> f64 {
        match self {
            Self::Gaussian { sigma } => sigma * sigma * u + 0.5,
            Self::Laplace { scale } => {
                if u >= 1.0 / scale {
                    f64::INFINITY
                } else if u < -1.0 / scale {
                    f64::NEG_INFINITY
                } else {
                    (scale * u + 1.0) / 2.0
                }
            }
        }
    }

    /// The threshold t with {z : ln_ratio(z) < u} = {z < t}, up to a null set, in [−∞, ∞].
    fn threshold_below(self, u: f64) -> f64 {
        match self {
            Self::Gaussian { .. } => self.threshold(u),
            Self::Laplace { scale } => {
                if u > 1.0 / scale {
                    f64::INFINITY
                } else if u <= -1.0 / scale {
                    f64::NEG_INFINITY
                } else {
                    (scale * u + 1.0) / 2.0
                }
            }
        }
    }

    /// P(X > t).
    fn sf(self, t: f64) -> f64 {
        match self {
            Self::Gaussian { sigma } => normal_sf(t / sigma),
            Self::Laplace { scale } => {
                if t == f64::INFINITY {
                    0.0
                } else if t == f64::NEG_INFINITY {
                    1.0
                } else if t >= 0.0 {
                    0.5 * (-t / scale).exp()
                } else {
                    1.0 - 0.5 * (t / scale).exp()
                }
            }
        }
    }

    /// A z with P(X > z) ≤ `tail`.
    fn quantile_above(self, tail: f64) -> f64 {
        match self {
            // P(Z > z) ≤ e^(−z²/2)/2 for z ≥ 0 (a Chernoff bound), so z = σ√(2 ln(1/(2 tail))).
            Self::Gaussian { sigma } => sigma * (2.0 * (0.5 / tail).ln().max(0.0)).sqrt(),
            Self::Laplace { scale } => scale * (0.5 / tail).ln().max(0.0),
        }
    }
}

/// Tails of the sampled additive pair; see the module docs for the two directions.
fn additive_tails(noise: Noise, rate: f64, direction: Direction, loss: f64) -> Tails {
    let not_rate = 1.0 - rate;
    match direction {
        Direction::Remove => {
            // L > ℓ ⟺ q·r(z) > e^ℓ − (1 − q); always true when the right side is ≤ 0.
            let excess = loss.exp_m1() + rate;
            let t = if excess <= 0.0 {
                f64::NEG_INFINITY
            } else {
                noise.threshold(excess.ln() - rate.ln())
            };
            Tails {
                p_above: not_rate * noise.sf(t) + rate * noise.sf(t - 1.0),
                q_above: noise.sf(t),
                p_below: not_rate * noise.sf(-t) + rate * noise.sf(1.0 - t),
                q_below: noise.sf(-t),
            }
        }
        Direction::Add => {
            // L > ℓ ⟺ 1 − q + q·r(z) < e^(−ℓ) ⟺ r(z) < (e^(−ℓ) − (1 − q))/q.
            let excess = (-loss).exp_m1() + rate;
            let t = if excess <= 0.0 {
                f64::NEG_INFINITY
            } else {
                noise.threshold_below(excess.ln() - rate.ln())
            };
            // {z < t} under X has mass P(X < t) = P(X > −t) by symmetry.
            Tails {
                p_above: noise.sf(-t),
                q_above: not_rate * noise.sf(-t) + rate * noise.sf(1.0 - t),
                p_below: noise.sf(t),
                q_below: not_rate * noise.sf(t) + rate * noise.sf(t - 1.0),
            }
        }
    }
}

/// Tails of randomized response: loss +a with P-mass p (Q-mass 1 − p), −a with P-mass 1 − p.
fn rr_tails(truth: f64, loss: f64) -> Tails {
    let a = (truth / (1.0 - truth)).ln();
    let (mut tails, other) = (Tails::default(), 1.0 - truth);
    for (value, p_mass, q_mass) in [(a, truth, other), (-a, other, truth)] {
        if value > loss {
            tails.p_above += p_mass;
            tails.q_above += q_mass;
        } else {
            tails.p_below += p_mass;
            tails.q_below += q_mass;
        }
    }
    tails
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_add_up_to_one_and_agree_with_direct_integration() {
        let mechanisms = [
            PldMechanism::sampled_gaussian(1.1, 0.01).unwrap(),
            PldMechanism::sampled_laplace(0.7, 0.3).unwrap(),
            PldMechanism::gaussian(2.0).unwrap(),
            PldMechanism::laplace(1.0).unwrap(),
            PldMechanism::randomized_response(0.8).unwrap(),
        ];
        for mechanism in mechanisms {
            for direction in [Direction::Remove, Direction::Add] {
                for loss in [-2.0, -0.3, 0.0, 0.004, 0.5, 1.0, 3.0] {
                    let t = mechanism.tails(direction, loss);
                    assert!((t.p_above + t.p_below - 1.0).abs() < 1e-15, "{mechanism:?} {loss}");
                    assert!((t.q_above + t.q_below - 1.0).abs() < 1e-15, "{mechanism:?} {loss}");
                    // On {L > ℓ}, dP = e^L dQ > e^ℓ dQ.
                    assert!(t.p_above >= loss.exp() * t.q_above * (1.0 - 1e-12));
                    assert!(t.p_below <= loss.exp() * t.q_below * (1.0 + 1e-12));
                }
            }
        }
    }

    #[test]
    fn gaussian_tails_are_the_shifted_normal_tails() {
        // P = X + 1 and Q = X with X ~ N(0, σ²): L = (2z − 1)/(2σ²) ~ N(1/(2σ²), 1/σ²) under P.
        let sigma = 1.3;
        let mechanism = PldMechanism::gaussian(sigma).unwrap();
        for loss in [-1.0, 0.2, 2.5] {
            let t = mechanism.tails(Direction::Remove, loss);
            let mean = 1.0 / (2.0 * sigma * sigma);
            let expected = normal_sf((loss - mean) * sigma);
            assert!((t.p_above - expected).abs() < 1e-15, "{loss}");
        }
    }
}
