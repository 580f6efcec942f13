//! Differentially private variance and standard deviation of a column with declared bounds.
//!
//! **What is released.** The variance of the non-missing values of a column after clamping to
//! `[L, U]` and the per-row bounds of [`crate::table`] (dividing by the number of values `n`,
//! not `n − 1`), or its square root. Both are computed from three exact integers over values
//! *shifted to the midpoint* `m = (L + U)/2` and quantized to a power-of-two grid:
//!
//! | part | exact integer | sensitivity Δ (add/remove one unit of ≤ k values) |
//! |---|---|---|
//! | S₁ | Σ y, y = q(clamp(x) − m) ∈ [−R, R] | k·R |
//! | S₂ | Σ y² ∈ [0, R²] per value | k·R² |
//! | n | the number of values | k |
//!
//! where `q` rounds to the nearest multiple of the grid step `g = 2^(E−24)` (`2^E > (U−L)/2`),
//! clamps the multiple to `[−R, R]` with `R = ⌈((U−L)/2)/g⌉ ≤ 2²⁴`, and is applied to each
//! value on its own (a per-row map, so it cannot raise the sensitivity). The shift to the
//! midpoint is what makes the sensitivity of S₂ `k·((U−L)/2)²` rather than `k·max(L², U²)`
//! (the "shifted" form; Du, Foot, Moniot, Bray, Groce 2020, "Differentially private confidence
//! intervals", compare it with other ways of releasing a variance).
//!
//! **Guarantee.** The budget is split in three equal parts (basic composition for ε and
//! (ε, δ), additive for ρ: Dwork & Roth 2014, Theorem 3.16; Bun & Steinke 2016, Lemma 2.3), one
//! exact integer noise draw per part ([`crate::noise`]), so the triple is ε-DP (or ρ-zCDP, or
//! (ε, δ)-DP) for add/remove of one unit. Everything after the draws is post-processing:
//! `V = Ŝ₂/N − (Ŝ₁/N)²` with `N = max(n̂, 1)`, capped to `[0, (U−L)²/4]` — the exact range of
//! the variance of values in `[L, U]` (Popoviciu's inequality), so the cap is never looser than
//! the statistic's true range — and `std = √V`, in `[0, (U−L)/2]`.
//!
//! **Exact accumulation.** `|y| ≤ 2²⁴` and `y² ≤ 2⁴⁸`, so the sums of up to 2⁶⁴ values (more
//! than any table in memory) fit in `i128` with room to spare: no overflow, no data-dependent
//! error, and the sums are the same integers in any row order.
//!
//! **95% interval.** From a 1 − 0.05/3 interval for each part (union bound), the range of
//! `s₂/n − (s₁/n)²` over the box of the three intervals, intersected with `[0, (U−L)²/4]`;
//! it covers the variance of the quantized clamped values with probability at least 95%.
//! Trade-off: the grid (2⁻²⁴ of the half-range) is coarser than the sum's, to keep the
//! squares exact in 128 bits; its effect on the variance (at most about `g·(U−L)`) is far
//! below any noise.

use num_bigint::{BigInt, BigUint};
use polars::prelude::Float64Chunked;
use privacy_core::{
    CoreError, Measurement, NeighbouringRelation, PrivacyCost, PrivacyGuarantee, SecureRng,
    Sensitivity,
};

use crate::error::DpError;
use crate::noise::{IntegerNoise, NoiseBudget};
use crate::stats::{
    big_to_f64, delegate_to_common, pow2, scalar_sensitivity, Bounds, Common, Estimate, Interval,
};
use crate::table::{BoundedTable, NonFinitePolicy};

/// Bits of resolution below the half-range on the variance grid.
pub(crate) const CENTRED_GRID_BITS: i32 = 24;

/// The `E` with `2^(E−1) ≤ x < 2^E` of a positive, normal `f64`, read from its exponent bits
/// (exact, unlike `log2`).
pub(crate) fn exponent_above(x: f64) -> i32 {
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1022
}

/// Values clamped to `[L, U]`, shifted to the midpoint and quantized: `y ∈ [−R, R]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CentredGrid {
    bounds: Bounds,
    centre: f64,
    inverse_step: f64,
    reach: i64,
}

impl CentredGrid {
    pub(crate) fn new(bounds: Bounds) -> Self {
        // `Bounds::new` guarantees a half-range of at least 2⁻⁶⁰, a normal number.
        let half = bounds.upper() / 2.0 - bounds.lower() / 2.0;
        let inverse_step = pow2(CENTRED_GRID_BITS - exponent_above(half));
        // half·2^(24−E) < 2²⁴ is exact (a power-of-two scaling within range).
        let reach = ((half * inverse_step).ceil() as i64).max(1);
        let centre = bounds.lower() / 2.0 + bounds.upper() / 2.0;
        Self { bounds, centre, inverse_step, reach }
    }

    /// The per-row map: clamp, shift, scale, round, and clamp the integer to `[−R, R]` (the
    /// last step makes the bound exact whatever the `f64` rounding did). Finite `x` only.
    pub(crate) fn index(self, x: f64) -> i64 {
        let clamped = x.max(self.bounds.lower()).min(self.bounds.upper());
        // |clamped − centre|·2^(24−E) ≤ 2²⁴ + 1, so the cast is exact.
        let y = ((clamped - self.centre) * self.inverse_step).round() as i64;
        y.clamp(-self.reach, self.reach)
    }

    pub(crate) fn step(self) -> f64 {
        1.0 / self.inverse_step
    }

    pub(crate) fn reach(self) -> i64 {
        self.reach
    }

    pub(crate) fn bounds(self) -> Bounds {
        self.bounds
    }
}

/// The exact sums of a column's centred grid values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Moments {
    /// Values that took part.
    pub(crate) count: u64,
    /// Σ y.
    pub(crate) sum: i128,
    /// Σ y².
    pub(crate) sum_squares: i128,
}

impl Moments {
    pub(crate) fn add(&mut self, y: i64) {
        self.count += 1;
        self.sum += i128::from(y);
        self.sum_squares += i128::from(y) * i128::from(y);
    }
}

/// Calls `f(row, x)` for every kept, non-missing value of `values`, in row order.
pub(crate) fn for_each_kept_value(
    values: &Float64Chunked,
    keep: impl Fn(usize) -> bool,
    mut f: impl FnMut(usize, f64),
) {
    let mut row = 0usize;
    for chunk in values.downcast_iter() {
        for (i, value) in chunk.iter().enumerate() {
            if let Some(&x) = value {
                if keep(row + i) {
                    f(row + i, x);
                }
            }
        }
        row += chunk.len();
    }
}

/// Calls `f(row, x)` for every kept, non-missing, finite value of `values`, in row order, and
/// applies the non-finite policy: under [`NonFinitePolicy::Refuse`] any kept NaN or infinity
/// refuses the whole release (before any noise is drawn); under `Drop` it is left out.
pub(crate) fn for_each_finite_value(
    values: &Float64Chunked,
    keep: impl Fn(usize) -> bool,
    column: &str,
    policy: NonFinitePolicy,
    mut f: impl FnMut(usize, f64),
) -> Result<(), DpError> {
    let mut non_finite = 0usize;
    for_each_kept_value(values, keep, |row, x| {
        if x.is_finite() {
            f(row, x);
        } else {
            non_finite += 1;
        }
    });
    if policy == NonFinitePolicy::Refuse && non_finite > 0 {
        return Err(DpError::NonFiniteValues { column: column.to_owned(), count: non_finite });
    }
    Ok(())
}

/// The three noisy parts of a variance and how to turn them into a release.
#[derive(Clone, Debug)]
pub(crate) struct VarianceEngine {
    grid: CentredGrid,
    sum_noise: IntegerNoise,
    squares_noise: IntegerNoise,
    count_noise: IntegerNoise,
    std: bool,
}

impl VarianceEngine {
    /// Noise for values in `bounds`, one unit adding at most `k` of them; `budget` is split in
    /// three equal parts. `std` releases the square root.
    pub(crate) fn new(
        bounds: Bounds,
        k: u64,
        budget: NoiseBudget,
        std: bool,
    ) -> Result<Self, DpError> {
        let grid = CentredGrid::new(bounds);
        let parts = budget.split(3)?;
        let reach = BigUint::from(grid.reach().unsigned_abs());
        let k = BigUint::from(k);
        Ok(Self {
            grid,
            sum_noise: IntegerNoise::calibrate(&(&k * &reach), parts[0])?,
            squares_noise: IntegerNoise::calibrate(&(&k * &reach * &reach), parts[1])?,
            count_noise: IntegerNoise::calibrate(&k, parts[2])?,
            std,
        })
    }

    pub(crate) fn grid(&self) -> CentredGrid {
        self.grid
    }

    /// Whether the square root is released.
    pub(crate) fn is_std(&self) -> bool {
        self.std
    }

    /// The noises of S₁, S₂ and n, in grid units.
    pub(crate) fn noises(&self) -> [&IntegerNoise; 3] {
        [&self.sum_noise, &self.squares_noise, &self.count_noise]
    }

    /// The cap `(U − L)²/4` in data units.
    pub(crate) fn cap(&self) -> f64 {
        let half = self.grid.bounds.upper() / 2.0 - self.grid.bounds.lower() / 2.0;
        half * half
    }

    /// The release from the exact moments.
    pub(crate) fn estimate(&self, m: Moments, rng: &mut SecureRng) -> Result<Estimate, DpError> {
        let g = self.grid.step();
        let noisy = |x: i128, noise: &IntegerNoise, rng: &mut SecureRng| -> Result<f64, DpError> {
            Ok(big_to_f64(&(BigInt::from(x) + noise.sample(rng)?)))
        };
        let s1 = noisy(m.sum, &self.sum_noise, rng)? * g;
        let s2 = noisy(m.sum_squares, &self.squares_noise, rng)? * g * g;
        let n = noisy(i128::from(m.count), &self.count_noise, rng)?;
        let alpha = 0.05 / 3.0;
        let widths = [
            self.sum_noise.half_width(alpha) * g,
            self.squares_noise.half_width(alpha) * g * g,
            self.count_noise.half_width(alpha),
        ];
        let cap = self.cap();
        let denominator = n.max(1.0);
        let variance = (s2 / denominator - (s1 / denominator).powi(2)).clamp(0.0, cap);
        let interval = variance_interval((s1, widths[0]), (s2, widths[1]), (n, widths[2]), cap);
        let noise_scale = self.squares_noise.scale() * g * g / denominator;
        Ok(if self.std {
            Estimate {
                value: variance.sqrt(),
                mechanism: self.squares_noise.mechanism(),
                noise_scale: noise_scale.sqrt(),
                ci95: Interval { lower: interval.lower.sqrt(), upper: interval.upper.sqrt() },
                grid: Some(g),
            }
        } else {
            Estimate {
                value: variance,
                mechanism: self.squares_noise.mechanism(),
                noise_scale,
                ci95: interval,
                grid: Some(g),
            }
        })
    }
}

/// The range of `s₂/n − (s₁/n)²` over `s₁ ∈ [ŝ₁ ± a]`, `s₂ ∈ [ŝ₂ ± b]`, `n ∈ [n̂ ± c]`, within
/// `[0, cap]`; the whole of `[0, cap]` when the count interval reaches below 1.
///
/// With `u = 1/n`, the function is `s₂u − s₁²u²`: increasing in `s₂`, largest where `s₁²` is
/// smallest, and concave in `u` for fixed `s₁`, `s₂`. So its minimum over the box is at the
/// largest `s₁²`, the smallest `s₂` and an end of the `u` interval, and its maximum at the
/// smallest `s₁²`, the largest `s₂` and the vertex `u = s₂/(2s₁²)` clipped to the interval.
pub(crate) fn variance_interval(
    sum: (f64, f64),
    squares: (f64, f64),
    count: (f64, f64),
    cap: f64,
) -> Interval {
    let (n, c) = count;
    if n - c < 1.0 {
        return Interval { lower: 0.0, upper: cap };
    }
    let (u_lo, u_hi) = (1.0 / (n + c), 1.0 / (n - c));
    let (s1_lo, s1_hi) = (sum.0 - sum.1, sum.0 + sum.1);
    let (s2_lo, s2_hi) = (squares.0 - squares.1, squares.0 + squares.1);
    let largest = s1_lo.abs().max(s1_hi.abs()).powi(2);
    let smallest =
        if s1_lo <= 0.0 && 0.0 <= s1_hi { 0.0 } else { s1_lo.abs().min(s1_hi.abs()).powi(2) };
    let at = |s2: f64, c: f64, u: f64| s2 * u - c * u * u;
    let lower = at(s2_lo, largest, u_lo).min(at(s2_lo, largest, u_hi));
    let vertex = if smallest > 0.0 { (s2_hi / (2.0 * smallest)).clamp(u_lo, u_hi) } else { u_hi };
    let upper =
        at(s2_hi, smallest, u_lo).max(at(s2_hi, smallest, u_hi)).max(at(s2_hi, smallest, vertex));
    Interval { lower: lower.clamp(0.0, cap), upper: upper.clamp(0.0, cap) }
}

/// The variance (or standard deviation) of a column's non-missing values clamped to declared
/// bounds (module docs).
#[derive(Clone, Debug)]
pub struct DpVariance {
    common: Common,
    column: String,
    policy: NonFinitePolicy,
    engine: VarianceEngine,
}

impl DpVariance {
    /// The variance of `column` clamped to `bounds`, one unit contributing at most `k` values;
    /// `std` releases the standard deviation instead.
    pub fn new(
        column: &str,
        bounds: Bounds,
        policy: NonFinitePolicy,
        k: u64,
        budget: NoiseBudget,
        cost: PrivacyCost,
        std: bool,
    ) -> Result<Self, DpError> {
        let common = Common::new(k, budget, cost)?;
        let engine = VarianceEngine::new(bounds, k, budget, std)?;
        Ok(Self { common, column: column.to_owned(), policy, engine })
    }

    pub(crate) fn engine(&self) -> &VarianceEngine {
        &self.engine
    }

    /// The exact moments of the kept values, refusing non-finite ones under the refuse policy.
    fn moments(&self, table: &BoundedTable) -> Result<Moments, DpError> {
        let query = if self.engine.std { "std" } else { "var" };
        let values = table.float_column(&self.column, query)?;
        let mask = table.mask();
        let mut moments = Moments::default();
        let keep = |row: usize| mask.is_none_or(|m| m[row]);
        for_each_finite_value(&values, keep, &self.column, self.policy, |_, x| {
            moments.add(self.engine.grid.index(x))
        })?;
        Ok(moments)
    }
}

impl Measurement for DpVariance {
    type Input = BoundedTable;
    type Output = Estimate;
    type Error = DpError;

    delegate_to_common!();

    /// The sensitivity of the sum of squares, `k·((U − L)/2)²`, the largest of the three parts.
    fn sensitivity(&self) -> Sensitivity {
        scalar_sensitivity(self.common.k() as f64 * self.engine.cap())
    }

    fn release(&self, table: &BoundedTable, rng: &mut SecureRng) -> Result<Estimate, DpError> {
        self.common.check_table(table)?;
        let moments = self.moments(table)?;
        self.engine.estimate(moments, rng)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::table::ContributionBound;
    use crate::test_support::{column_table, pure, table};

    #[test]
    fn centred_grid_stays_within_its_reach() {
        for (lo, hi) in [(0.0, 1.0), (17.0, 90.0), (-1e18, 1e18), (1e-9, 3e-9), (-5.0, -4.0)] {
            let grid = CentredGrid::new(Bounds::new("v", lo, hi).unwrap());
            assert!(grid.reach() <= 1 << CENTRED_GRID_BITS && grid.reach() >= 1 << 22, "{lo}");
            for x in [lo, hi, lo - 1.0, hi + 1e300, (lo + hi) / 2.0, f64::MAX, -f64::MAX] {
                assert!(grid.index(x).abs() <= grid.reach(), "{lo}, {hi}: {x}");
            }
            assert!(grid.index(hi) >= grid.reach() - 1, "{lo}, {hi}");
            assert!(grid.index(lo) <= 1 - grid.reach(), "{lo}, {hi}");
        }
    }

    #[test]
    fn variance_is_close_and_capped() {
        let mut rng = SecureRng::seeded_for_tests_only(21);
        // 2000 values, 0..=9 repeated: variance 8.25, std 2.872.
        let t = column_table((0..2000).map(|i| format!("{}", i % 10)));
        let (budget, cost) = pure("20");
        let bounds = Bounds::new("v", 0.0, 10.0).unwrap();
        let var =
            DpVariance::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, cost, false).unwrap();
        let v = var.release(&t, &mut rng).unwrap();
        assert!((v.value - 8.25).abs() < 0.2, "{v:?}");
        assert!(v.ci95.lower <= 8.25 && 8.25 <= v.ci95.upper, "{v:?}");
        let std =
            DpVariance::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, cost, true).unwrap();
        let s = std.release(&t, &mut rng).unwrap();
        assert!((s.value - 8.25f64.sqrt()).abs() < 0.05, "{s:?}");
        // Tiny ε: the release is noise, but always within [0, (U − L)²/4].
        let (tiny, tiny_cost) = pure("0.001");
        let noisy =
            DpVariance::new("v", bounds, NonFinitePolicy::Refuse, 1, tiny, tiny_cost, false)
                .unwrap();
        for _ in 0..200 {
            let e = noisy.release(&t, &mut rng).unwrap();
            assert!((0.0..=25.0).contains(&e.value), "{e:?}");
            assert!(0.0 <= e.ci95.lower && e.ci95.upper <= 25.0, "{e:?}");
        }
    }

    #[test]
    fn variance_intervals_cover_the_truth() {
        // 400 runs at ε = 1 over 300 values: coverage below 90% has probability < 1e-4 if the
        // true coverage is at least 95% (the union bound makes it higher).
        let mut rng = SecureRng::seeded_for_tests_only(22);
        let t = column_table((0..300).map(|i| format!("{}", (i * 7) % 11)));
        let values: Vec<f64> = (0..300).map(|i| f64::from((i * 7) % 11)).collect();
        let mean = values.iter().sum::<f64>() / 300.0;
        let truth = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 300.0;
        let (budget, cost) = pure("1");
        let bounds = Bounds::new("v", 0.0, 10.0).unwrap();
        let var =
            DpVariance::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, cost, false).unwrap();
        let hits = (0..400)
            .filter(|_| {
                let e = var.release(&t, &mut rng).unwrap();
                e.ci95.lower <= truth && truth <= e.ci95.upper
            })
            .count();
        assert!(hits >= 360, "covered {hits}/400");
    }

    #[test]
    fn interval_bounds_the_function_over_the_box() {
        // Brute force over a grid of the box agrees with the closed-form range.
        let cases = [
            ((3.0, 1.0), (20.0, 4.0), (10.0, 2.0)),
            ((-5.0, 8.0), (9.0, 30.0), (4.0, 2.5)),
            ((0.0, 0.5), (1.0, 0.1), (100.0, 5.0)),
        ];
        for (s1, s2, n) in cases {
            let got = variance_interval(s1, s2, n, 1e9);
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for i in 0..=40 {
                for j in 0..=40 {
                    for l in 0..=40 {
                        let a = s1.0 - s1.1 + 2.0 * s1.1 * f64::from(i) / 40.0;
                        let b = s2.0 - s2.1 + 2.0 * s2.1 * f64::from(j) / 40.0;
                        let c = n.0 - n.1 + 2.0 * n.1 * f64::from(l) / 40.0;
                        let v = (b / c - (a / c).powi(2)).clamp(0.0, 1e9);
                        lo = lo.min(v);
                        hi = hi.max(v);
                    }
                }
            }
            assert!(got.lower <= lo + 1e-9 && got.upper >= hi - 1e-9, "{got:?} vs [{lo}, {hi}]");
            assert!(
                got.lower >= lo - 0.05 * (hi - lo) && got.upper <= hi + 0.05 * (hi - lo),
                "{got:?} vs [{lo}, {hi}]"
            );
        }
        assert_eq!(
            variance_interval((0.0, 1.0), (0.0, 1.0), (1.0, 0.5), 4.0),
            Interval { lower: 0.0, upper: 4.0 }
        );
    }

    #[test]
    fn permuted_rows_give_identical_moments_and_extremes_do_not_overflow() {
        let bounds = Bounds::new("v", -1e18, 1e18).unwrap();
        let grid = CentredGrid::new(bounds);
        let xs: Vec<f64> = (0..5000).map(|i| if i % 2 == 0 { 1e300 } else { -f64::MAX }).collect();
        let mut forward = Moments::default();
        xs.iter().for_each(|&x| forward.add(grid.index(x)));
        let mut backward = Moments::default();
        xs.iter().rev().for_each(|&x| backward.add(grid.index(x)));
        assert_eq!(forward, backward);
        let r = i128::from(grid.reach());
        assert!(
            forward.sum_squares <= 5000 * r * r && forward.sum_squares >= 5000 * (r - 1) * (r - 1)
        );
    }

    #[test]
    fn non_finite_values_follow_the_policy() {
        let t = table("v\n1\nNaN\n3\ninf\n", ContributionBound::one_row_per_unit());
        let (budget, cost) = pure("1");
        let bounds = Bounds::new("v", 0.0, 4.0).unwrap();
        let refuse =
            DpVariance::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, cost, false).unwrap();
        assert!(matches!(refuse.moments(&t), Err(DpError::NonFiniteValues { count: 2, .. })));
        let drop =
            DpVariance::new("v", bounds, NonFinitePolicy::Drop, 1, budget, cost, false).unwrap();
        let m = drop.moments(&t).unwrap();
        assert_eq!(m.count, 2);
        assert_eq!(m.sum, 0, "1 and 3 are symmetric about the midpoint 2");
    }
}
