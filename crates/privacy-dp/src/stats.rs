//! Differentially private count, sum and mean over a column of a polars data frame.
//!
//! Each statistic is a [`Measurement`]: its sensitivity comes from the declared clamping bounds
//! and the contribution bound `k` (never from the data), and its guarantee and cost are known
//! before [`Measurement::release`] draws any noise.
//!
//! | statistic | exact integer computed | sensitivity Δ (add/remove one unit) |
//! |---|---|---|
//! | `count()` | kept rows | k |
//! | `sum(c, L, U)` | Σ q(clamp(x, L, U)) | k · ⌈B/g⌉ grid steps, B = max(\|L\|, \|U\|) |
//! | `mean(c, L, U)` | the centred sum Σ (q(clamp(x, L, U)) − q(m)) and the count of non-missing values | k · max(q(U) − q(m), q(m) − q(L)) and k, m = (L+U)/2 |
//!
//! **Why the sum is an integer.** A floating-point sum's rounding depends on the order and the
//! magnitude of its terms, so the sensitivity of a float sum is not `k·B` (Casacuberta, Shoemate,
//! Vadhan, Wagaman 2022, "Widespread underestimation of sensitivity in differentially private
//! libraries"). Here each clamped value is first mapped, on its own, to the nearest multiple of
//! a power-of-two grid step `g = 2^(E−40)` with `2^E > B` (a per-row map, so it cannot raise the
//! sensitivity), and the multiples are added as exact integers. The grid is part of the
//! release's metadata; its relative resolution, 2⁻⁴⁰ of the bound, is far below any noise.
//!
//! **Mean.** The budget is split evenly between the centred sum and the count (basic or zCDP
//! composition), and the mean is `q(m)·g + Ŝ·g/max(N̂, 1)` clamped to `[L, U]`, which is
//! post-processing of the two releases. Its 95% interval is derived from a 97.5% interval for
//! each part (a union bound), so it covers the true mean of the clamped values with probability
//! at least 95%.
//!
//! Missing values are skipped by `sum` and `mean`; `count()` counts rows. Non-finite values are
//! handled by [`NonFinitePolicy`] before any budget is charged.

use num_bigint::{BigInt, BigUint};
use num_traits::ToPrimitive;
use polars::prelude::*;
use privacy_core::{
    CoreError, Measurement, NeighbouringRelation, PrivacyCost, PrivacyGuarantee, SecureRng,
    Sensitivity,
};
use serde::Serialize;

use crate::error::DpError;
use crate::noise::{IntegerNoise, NoiseBudget};
use crate::table::{BoundedTable, NonFinitePolicy};

/// Bits of resolution below the bound on the summation grid.
const GRID_BITS: i32 = 40;
/// Largest magnitude of a clamping bound (2⁶⁰ ≈ 1.15·10¹⁸).
const MAX_BOUND: f64 = (1u64 << 60) as f64;
/// Smallest non-zero magnitude of a clamping bound (2⁻⁶⁰).
const MIN_BOUND: f64 = 1.0 / MAX_BOUND;

/// A two-sided interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

/// What one statistic released, in the units of the data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// The differentially private value.
    pub value: f64,
    /// The noise mechanism.
    pub mechanism: &'static str,
    /// The noise scale in data units: Laplace t or Gaussian σ. For a mean, the scale of the sum
    /// noise divided by the released count (the dominant term; approximate).
    pub noise_scale: f64,
    /// A 95% confidence interval for the true value, computed from released values only.
    pub ci95: Interval,
    /// The summation grid step (data units), when the statistic sums values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<f64>,
}

/// Declared clamping bounds for a column, checked once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    lower: f64,
    upper: f64,
}

impl Bounds {
    /// Bounds `[lower, upper]` with `lower < upper`, both finite and at most 2⁶⁰ in magnitude.
    pub fn new(column: &str, lower: f64, upper: f64) -> Result<Self, DpError> {
        let bad = |reason: String| DpError::InvalidBounds { column: column.to_owned(), reason };
        if !lower.is_finite() || !upper.is_finite() {
            return Err(bad("bounds must be finite".into()));
        }
        if lower >= upper {
            return Err(bad(format!("lower bound {lower} is not below upper bound {upper}")));
        }
        if lower.abs().max(upper.abs()) > MAX_BOUND || (upper / 2.0 - lower / 2.0) < MIN_BOUND {
            return Err(bad("bounds must lie within ±2^60 and be at least 2^-60 apart".into()));
        }
        Ok(Self { lower, upper })
    }

    /// The lower bound.
    pub fn lower(self) -> f64 {
        self.lower
    }

    /// The upper bound.
    pub fn upper(self) -> f64 {
        self.upper
    }
}

/// A power-of-two grid fine enough for values of magnitude at most `magnitude`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Grid {
    /// 1/g, a power of two.
    inverse_step: f64,
    /// ⌈magnitude/g⌉ ≤ 2⁴⁰: the largest grid index a clamped value can take.
    max_index: u64,
}

impl Grid {
    fn for_magnitude(magnitude: f64) -> Self {
        // 2^E > magnitude, from the binary exponent (exact, unlike log2).
        let exponent = ((magnitude.to_bits() >> 52) & 0x7ff) as i32 - 1022;
        let inverse_step = pow2(GRID_BITS - exponent);
        // magnitude·2^(40−E) < 2^40 is exact (a power-of-two scaling within range).
        let max_index = (magnitude * inverse_step).ceil() as u64;
        Self { inverse_step, max_index }
    }

    fn step(self) -> f64 {
        1.0 / self.inverse_step
    }

    /// The sensitivity in grid steps of a sum to which one unit adds at most `k` values.
    fn sensitivity(self, k: u64) -> BigUint {
        BigUint::from(self.max_index) * k
    }
}

/// 2^e as an exact `f64`, for |e| ≤ 1000.
pub(crate) fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e.clamp(-1000, 1000)) as u64) << 52)
}

/// Nearest grid index (ties to even) of a value already clamped to the grid's magnitude.
///
/// `|x·2^k| ≤ 2⁴⁰ < 2⁵¹`, so adding 1.5·2⁵² lands in `[2⁵², 2⁵³)`, where the spacing of `f64`s
/// is exactly 1: the addition rounds to the nearest integer and the bit pattern's difference
/// from that of 1.5·2⁵² is that integer. Unlike a float-to-int cast this vectorizes.
#[inline(always)]
fn grid_index(x: f64, inverse_step: f64) -> i64 {
    const SHIFTER: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    ((x * inverse_step + SHIFTER).to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64)
}

/// The clamp [`quantized_sum`] applies to each value before quantizing it.
///
/// NaN goes to the lower bound and ±∞ to the nearer bound instead of propagating; NaN and
/// infinities are counted separately and excluded (see [`quantized_sum`]). Quantizing is
/// monotone, so a clamped value's grid index lies between those of the two bounds.
#[derive(Clone, Copy, Debug)]
struct RowMap {
    lower: f64,
    upper: f64,
}

impl RowMap {
    /// The clamp of a finite `x` to `[lower, upper]`. Written as two comparisons so that it
    /// compiles to one `maxpd` and one `minpd`; what it makes of NaN does not matter, because
    /// [`quantized_sum`] masks non-finite values out.
    #[inline(always)]
    fn apply(self, x: f64) -> f64 {
        let above = if x > self.lower { x } else { self.lower };
        if above < self.upper {
            above
        } else {
            self.upper
        }
    }
}

/// The exact sum of grid indices over kept, non-missing, finite values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QuantizedSum {
    pub(crate) total: i128,
    /// Values that took part.
    pub(crate) count: u64,
    /// Kept, non-missing values that were NaN or infinite (left out of `total` and `count`).
    pub(crate) non_finite: u64,
}

/// Sums in one pass, without branches in the inner loops.
///
/// **Exactness.** Each value is clamped to `[L, U]` (so `|c| ≤ B ≤ 2^E`), multiplied by the
/// power of two `1/g = 2^(40−E)` (exact: only the exponent changes), and rounded to the
/// nearest integer by [`grid_index`]: `|c/g| ≤ 2⁴⁰ < 2⁵¹`, so `c/g + 1.5·2⁵²` lies in
/// `[2⁵², 2⁵³)`, where consecutive `f64`s are exactly 1 apart, and IEEE 754 addition rounds
/// it to the nearest such integer (ties to even) — the rounding of `c/g` itself, because the
/// shifter is an integer. Every value's index therefore depends on that value alone,
/// deterministically, on every IEEE 754 platform (Rust's `f64` arithmetic is IEEE 754 binary64
/// with round-to-nearest-even, and this code uses no fused multiply-add). Indices are then added
/// as integers, in any order with the same result.
///
/// **No overflow.** An index has magnitude at most `2⁴⁰`; a block of at most `2²²` rows sums
/// in `i64` to at most `2⁶²` in magnitude, whatever the split into SIMD lanes (each lane holds a
/// sub-sum of the block); blocks are added to an `i128` total, which `2⁶⁴` blocks could not
/// overflow. So no sum can wrap for any data, and no error depends on the data.
///
/// **Masks instead of branches.** A value takes part with weight `kept · valid · finite ∈ {0,
/// 1}`, applied as an all-ones or all-zeros mask; `finite` is `|x| < ∞` (false for NaN), and
/// whatever the clamp and the shifter make of a non-finite value is masked away. The count of
/// non-finite values is derived (rows taking part minus finite ones) rather than accumulated.
/// Chunks without nulls (the common case) read only the values and, with a per-unit bound, the
/// truncation mask; chunks with nulls zip the validity bitmap in as a third weight.
fn quantized_sum(
    values: &Float64Chunked,
    table: &BoundedTable,
    map: RowMap,
    grid: Grid,
) -> QuantizedSum {
    let kernel = Kernel { map, inverse_step: grid.inverse_step };
    let mask = table.mask();
    let mut sum = QuantizedSum::default();
    let mut offset = 0usize;
    for chunk in values.downcast_iter() {
        let xs = chunk.values().as_slice();
        let keep = mask.map(|m| &m[offset..offset + xs.len()]);
        offset += xs.len();
        // One iterator over the validity bits, consumed block by block.
        let mut validity = chunk.validity().filter(|v| v.unset_bits() > 0).map(|v| v.iter());
        for start in (0..xs.len()).step_by(BLOCK) {
            let end = (start + BLOCK).min(xs.len());
            let (total, count, rows) = match (keep, validity.as_mut()) {
                (None, None) => kernel.all(&xs[start..end]),
                (Some(k), None) => kernel.kept(&xs[start..end], &k[start..end]),
                (keep, Some(valid)) => kernel.with_validity(
                    &xs[start..end],
                    keep.map(|k| &k[start..end]),
                    valid.by_ref().take(end - start),
                ),
            };
            sum.total += i128::from(total);
            sum.count += count;
            sum.non_finite += rows - count;
        }
    }
    sum
}

/// Rows per `i64` block of [`quantized_sum`]: `2²²·2⁴⁰ = 2⁶²` bounds any block sum.
const BLOCK: usize = 1 << 22;

/// The per-value work of [`quantized_sum`]: clamp, scale, round to the grid.
#[derive(Clone, Copy, Debug)]
struct Kernel {
    map: RowMap,
    inverse_step: f64,
}

impl Kernel {
    /// The index of `x` and whether `x` is finite, without a branch.
    #[inline(always)]
    fn index(self, x: f64) -> (i64, bool) {
        (grid_index(self.map.apply(x), self.inverse_step), x.abs() < f64::INFINITY)
    }

    /// `(Σ index, #finite, #rows)` over a block with every row kept and valid, compiled for
    /// the widest SIMD the CPU offers (see [`Kernel::dispatch`]).
    #[inline(never)]
    fn all(self, xs: &[f64]) -> (i64, u64, u64) {
        Self::dispatch(
            #[inline(always)]
            || self.all_scalar(xs),
        )
    }

    /// The same over a block with a truncation mask.
    #[inline(never)]
    fn kept(self, xs: &[f64], keep: &[bool]) -> (i64, u64, u64) {
        Self::dispatch(
            #[inline(always)]
            || self.kept_scalar(xs, keep),
        )
    }

    /// Runs `f` inlined into a function compiled for the best instruction set the CPU has
    /// (AVX-512 or AVX2 and FMA on x86-64, chosen at run time by `pulp`; the baseline
    /// otherwise), so the branch-free loops vectorize 4 or 8 lanes wide instead of 2.
    ///
    /// The wider code computes bit-for-bit the same indices and sums: every operation is an
    /// IEEE 754 one with the same rounding (max, min, multiply, add, compare), integer adds are
    /// associative, and Rust never contracts a multiply and an add into a fused multiply-add on
    /// its own, whatever the target features. `quantized_sum_is_exact_and_respects_truncation_
    /// and_nulls` and the sensitivity laws hold for both paths.
    #[inline(always)]
    fn dispatch<R>(f: impl pulp::NullaryFnOnce<Output = R>) -> R {
        pulp::Arch::new().dispatch(f)
    }

    #[inline(always)]
    fn all_scalar(self, xs: &[f64]) -> (i64, u64, u64) {
        let (mut total, mut count) = (0i64, 0i64);
        for &x in xs {
            let (i, finite) = self.index(x);
            let m = -i64::from(finite);
            total += i & m;
            count -= m;
        }
        (total, count as u64, xs.len() as u64)
    }

    #[inline(always)]
    fn kept_scalar(self, xs: &[f64], keep: &[bool]) -> (i64, u64, u64) {
        let (mut total, mut count, mut rows) = (0i64, 0i64, 0i64);
        for (&x, &k) in xs.iter().zip(keep) {
            let (i, finite) = self.index(x);
            let k = -i64::from(k);
            let m = k & -i64::from(finite);
            total += i & m;
            count -= m;
            rows -= k;
        }
        (total, count as u64, rows as u64)
    }

    /// The same over a block with nulls (and perhaps a truncation mask).
    fn with_validity(
        self,
        xs: &[f64],
        keep: Option<&[bool]>,
        valid: impl Iterator<Item = bool>,
    ) -> (i64, u64, u64) {
        let (mut total, mut count, mut rows) = (0i64, 0u64, 0u64);
        for (i, (&x, v)) in xs.iter().zip(valid).enumerate() {
            let weight = v & keep.is_none_or(|k| k[i]);
            let (index, finite) = self.index(x);
            let taken = weight & finite;
            total += index & -i64::from(taken);
            count += u64::from(taken);
            rows += u64::from(weight);
        }
        (total, count, rows)
    }
}

/// Applies the non-finite policy to a finished sum: under [`NonFinitePolicy::Refuse`] any
/// NaN or infinity among the kept values refuses the release (before any noise is drawn).
pub(crate) fn check_non_finite(
    sum: QuantizedSum,
    column: &str,
    policy: NonFinitePolicy,
) -> Result<(), DpError> {
    if policy == NonFinitePolicy::Refuse && sum.non_finite > 0 {
        return Err(DpError::NonFiniteValues {
            column: column.to_owned(),
            count: sum.non_finite as usize,
        });
    }
    Ok(())
}

pub(crate) fn big_to_f64(x: &BigInt) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

/// Shared parameters of every statistic.
#[derive(Clone, Debug)]
pub(crate) struct Common {
    relation: NeighbouringRelation,
    k: u64,
    budget: NoiseBudget,
    cost: PrivacyCost,
}

impl Common {
    pub(crate) fn new(k: u64, budget: NoiseBudget, cost: PrivacyCost) -> Result<Self, DpError> {
        if k == 0 {
            return Err(DpError::InvalidContribution(
                "max rows per unit must be at least 1".into(),
            ));
        }
        Ok(Self {
            relation: NeighbouringRelation::AddRemoveUnit { max_rows_per_unit: k },
            k,
            budget,
            cost,
        })
    }

    pub(crate) fn guarantee(&self) -> PrivacyGuarantee {
        self.budget.guarantee()
    }

    pub(crate) fn relation(&self) -> NeighbouringRelation {
        self.relation
    }

    pub(crate) fn cost(&self) -> PrivacyCost {
        self.cost
    }

    pub(crate) fn k(&self) -> u64 {
        self.k
    }

    /// Refuses a table truncated to more rows per unit than the noise is calibrated for:
    /// the sensitivity would then be computed from the wrong bound.
    pub(crate) fn check_table(&self, table: &BoundedTable) -> Result<(), DpError> {
        let rows = table.bound().max_rows_per_unit;
        if rows > self.k {
            return Err(DpError::InvalidContribution(format!(
                "the table keeps up to {rows} rows per unit, but the statistic is calibrated for {}",
                self.k
            )));
        }
        Ok(())
    }
}

/// The [`Measurement`] methods every statistic here answers from its [`Common`] parameters.
macro_rules! delegate_to_common {
    () => {
        fn relation(&self) -> NeighbouringRelation {
            self.common.relation()
        }

        fn guarantee(&self) -> PrivacyGuarantee {
            self.common.guarantee()
        }

        fn cost(&self) -> Result<PrivacyCost, CoreError> {
            Ok(self.common.cost())
        }
    };
}
pub(crate) use delegate_to_common;

/// A count plus exact integer noise: the part of every statistic that counts.
#[derive(Clone, Debug)]
pub(crate) struct CountEngine {
    noise: IntegerNoise,
}

impl CountEngine {
    /// Noise for a count to which one unit adds at most `k`.
    pub(crate) fn new(k: u64, budget: NoiseBudget) -> Result<Self, DpError> {
        Ok(Self { noise: IntegerNoise::calibrate(&BigUint::from(k), budget)? })
    }

    pub(crate) fn noise(&self) -> &IntegerNoise {
        &self.noise
    }

    /// The noisy count and a half-width `w` with `P(|noise| > w) ≤ alpha`.
    pub(crate) fn release_count(
        &self,
        true_count: u64,
        alpha: f64,
        rng: &mut SecureRng,
    ) -> Result<(f64, f64), DpError> {
        let noisy = BigInt::from(true_count) + self.noise.sample(rng)?;
        Ok((big_to_f64(&noisy), self.noise.half_width(alpha)))
    }

    /// The release of a count: never below 0 (post-processing), with its 95% interval.
    pub(crate) fn estimate(
        &self,
        true_count: u64,
        rng: &mut SecureRng,
    ) -> Result<Estimate, DpError> {
        let (value, width) = self.release_count(true_count, 0.05, rng)?;
        Ok(Estimate {
            value: value.max(0.0),
            mechanism: self.noise.mechanism(),
            noise_scale: self.noise.scale(),
            ci95: Interval { lower: (value - width).max(0.0), upper: value + width },
            grid: None,
        })
    }
}

/// The number of rows after per-unit truncation, plus exact integer noise.
#[derive(Clone, Debug)]
pub struct DpCount {
    common: Common,
    engine: CountEngine,
}

impl DpCount {
    /// A count where one unit contributes at most `k` rows, charged `cost` and noised for
    /// `budget` (which must imply `cost`; see [`crate::analysis`]).
    pub fn new(k: u64, budget: NoiseBudget, cost: PrivacyCost) -> Result<Self, DpError> {
        let common = Common::new(k, budget, cost)?;
        Ok(Self { common, engine: CountEngine::new(k, budget)? })
    }

    pub(crate) fn engine(&self) -> &CountEngine {
        &self.engine
    }
}

impl Measurement for DpCount {
    type Input = BoundedTable;
    type Output = Estimate;
    type Error = DpError;

    delegate_to_common!();

    fn sensitivity(&self) -> Sensitivity {
        let k = self.common.k as f64;
        scalar_sensitivity(k)
    }

    fn release(&self, table: &BoundedTable, rng: &mut SecureRng) -> Result<Estimate, DpError> {
        self.common.check_table(table)?;
        self.engine.estimate(table.kept_rows(), rng)
    }
}

/// The scalar sensitivity `d = k · (a bound magnitude)`.
///
/// `k` is a `u64` (at most 1.9·10¹⁹) and a bound magnitude at most 2⁶⁰ (checked by
/// [`Bounds::new`]), so `d` is finite and ≥ 0, which is all `Sensitivity::scalar` asks.
pub(crate) fn scalar_sensitivity(d: f64) -> Sensitivity {
    Sensitivity::scalar(d).unwrap_or_else(|_| unreachable!("k · bound is finite and >= 0"))
}

/// A column read with declared bounds and summed exactly on a grid fine for those bounds: the
/// part shared by [`DpSum`] and [`DpMean`] (and their per-group forms).
#[derive(Clone, Debug)]
pub(crate) struct ClampedColumn {
    column: String,
    bounds: Bounds,
    policy: NonFinitePolicy,
    grid: Grid,
}

impl ClampedColumn {
    pub(crate) fn new(column: &str, bounds: Bounds, policy: NonFinitePolicy) -> Self {
        let grid = Grid::for_magnitude(bounds.lower.abs().max(bounds.upper.abs()));
        Self { column: column.to_owned(), bounds, policy, grid }
    }

    /// The declared bounds.
    pub(crate) fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// The grid index of `x`.
    fn index(&self, x: f64) -> i64 {
        grid_index(x, self.grid.inverse_step)
    }

    /// The grid index of a value after clamping it to the bounds: the per-row map of every
    /// sum. A finite `x` only (callers leave NaN and infinities out).
    pub(crate) fn clamped_index(&self, x: f64) -> i64 {
        let map = RowMap { lower: self.bounds.lower, upper: self.bounds.upper };
        self.index(map.apply(x))
    }

    /// The grid step, in data units.
    pub(crate) fn step(&self) -> f64 {
        self.grid.step()
    }

    /// The sensitivity in grid steps of a sum to which one unit adds at most `k` values.
    pub(crate) fn sum_sensitivity(&self, k: u64) -> BigUint {
        self.grid.sensitivity(k)
    }

    /// The grid index of the centre `(L + U)/2`.
    pub(crate) fn centre_index(&self) -> i64 {
        self.index(self.bounds.lower / 2.0 + self.bounds.upper / 2.0)
    }

    /// How far, in grid steps, a clamped value's index can lie from the centre's (at least
    /// one, should the grid be coarse), and the centre's index. A clamped value's index lies
    /// in `[index(L), index(U)]` because quantizing is monotone.
    pub(crate) fn mean_reach(&self) -> (u64, i64) {
        let centre = self.centre_index();
        let (lo, hi) = (self.index(self.bounds.lower), self.index(self.bounds.upper));
        ((hi - centre).max(centre - lo).max(1) as u64, centre)
    }

    /// The exact quantized sum of the kept values (tests of the fault classes).
    #[cfg(test)]
    pub(crate) fn exact_sum(&self, table: &BoundedTable) -> Result<QuantizedSum, DpError> {
        self.sum(table, "test")
    }

    /// The exact quantized sum of the kept values, refusing non-finite ones under
    /// [`NonFinitePolicy::Refuse`].
    fn sum(&self, table: &BoundedTable, query: &str) -> Result<QuantizedSum, DpError> {
        let values = table.float_column(&self.column, query)?;
        let map = RowMap { lower: self.bounds.lower, upper: self.bounds.upper };
        let sum = quantized_sum(&values, table, map, self.grid);
        check_non_finite(sum, &self.column, self.policy)?;
        Ok(sum)
    }
}

/// A sum of grid indices plus exact integer noise, released in data units.
#[derive(Clone, Debug)]
pub(crate) struct SumEngine {
    values: ClampedColumn,
    noise: IntegerNoise,
}

impl SumEngine {
    /// Noise for a sum to which one unit adds at most `k` values.
    pub(crate) fn new(values: ClampedColumn, k: u64, budget: NoiseBudget) -> Result<Self, DpError> {
        let noise = IntegerNoise::calibrate(&values.sum_sensitivity(k), budget)?;
        Ok(Self { values, noise })
    }

    pub(crate) fn values(&self) -> &ClampedColumn {
        &self.values
    }

    pub(crate) fn noise(&self) -> &IntegerNoise {
        &self.noise
    }

    /// The grid step, in data units.
    pub(crate) fn step(&self) -> f64 {
        self.values.step()
    }

    /// The release of the exact sum of grid indices `total`.
    pub(crate) fn estimate(&self, total: i128, rng: &mut SecureRng) -> Result<Estimate, DpError> {
        let noisy = BigInt::from(total) + self.noise.sample(rng)?;
        let step = self.step();
        let value = big_to_f64(&noisy) * step;
        let width = self.noise.half_width(0.05) * step;
        Ok(Estimate {
            value,
            mechanism: self.noise.mechanism(),
            noise_scale: self.noise.scale() * step,
            ci95: Interval { lower: value - width, upper: value + width },
            grid: Some(step),
        })
    }
}

/// The sum of a column's values clamped to declared bounds, plus exact integer noise.
#[derive(Clone, Debug)]
pub struct DpSum {
    common: Common,
    engine: SumEngine,
}

impl DpSum {
    /// A sum of `column` clamped to `bounds`, one unit contributing at most `k` values.
    pub fn new(
        column: &str,
        bounds: Bounds,
        policy: NonFinitePolicy,
        k: u64,
        budget: NoiseBudget,
        cost: PrivacyCost,
    ) -> Result<Self, DpError> {
        let common = Common::new(k, budget, cost)?;
        let values = ClampedColumn::new(column, bounds, policy);
        Ok(Self { common, engine: SumEngine::new(values, k, budget)? })
    }

    pub(crate) fn engine(&self) -> &SumEngine {
        &self.engine
    }
}

impl Measurement for DpSum {
    type Input = BoundedTable;
    type Output = Estimate;
    type Error = DpError;

    delegate_to_common!();

    fn sensitivity(&self) -> Sensitivity {
        let bounds = self.engine.values.bounds;
        let d = self.common.k as f64 * bounds.lower.abs().max(bounds.upper.abs());
        scalar_sensitivity(d)
    }

    fn release(&self, table: &BoundedTable, rng: &mut SecureRng) -> Result<Estimate, DpError> {
        self.common.check_table(table)?;
        let sum = self.engine.values.sum(table, "sum")?;
        self.engine.estimate(sum.total, rng)
    }
}

/// A centred sum and a count, each with exact integer noise, released as a mean.
#[derive(Clone, Debug)]
pub(crate) struct MeanEngine {
    values: ClampedColumn,
    /// The grid index of the centre `(L + U)/2`; values are summed as offsets from it.
    centre_index: i64,
    sum_noise: IntegerNoise,
    count: CountEngine,
}

impl MeanEngine {
    /// `budget` is split evenly between the centred sum and the count, which compose to
    /// exactly `budget`; one unit adds at most `k` values.
    pub(crate) fn new(values: ClampedColumn, k: u64, budget: NoiseBudget) -> Result<Self, DpError> {
        let halves = budget.split(2)?;
        let (reach, centre_index) = values.mean_reach();
        let sum_noise = IntegerNoise::calibrate(&(BigUint::from(reach) * k), halves[0])?;
        let count = CountEngine::new(k, halves[1])?;
        Ok(Self { values, centre_index, sum_noise, count })
    }

    pub(crate) fn values(&self) -> &ClampedColumn {
        &self.values
    }

    /// The noise of the centred sum (grid units) and of the count.
    pub(crate) fn noises(&self) -> (&IntegerNoise, &IntegerNoise) {
        (&self.sum_noise, self.count.noise())
    }

    /// The grid step, in data units.
    pub(crate) fn step(&self) -> f64 {
        self.values.grid.step()
    }

    /// The release of a mean from the exact sum of grid indices `total` of `n` values.
    pub(crate) fn estimate(
        &self,
        total: i128,
        n: u64,
        rng: &mut SecureRng,
    ) -> Result<Estimate, DpError> {
        let (lo, hi) = (self.values.bounds.lower, self.values.bounds.upper);
        // Σ (index(x) − index(centre)), exactly.
        let total = total - i128::from(n) * i128::from(self.centre_index);
        let step = self.step();
        let centre = self.centre_index as f64 * step;
        let noisy_sum = big_to_f64(&(BigInt::from(total) + self.sum_noise.sample(rng)?)) * step;
        let sum_width = self.sum_noise.half_width(0.025) * step;
        let (noisy_count, count_width) = self.count.release_count(n, 0.025, rng)?;
        let denominator = noisy_count.max(1.0);
        let value = (centre + noisy_sum / denominator).clamp(lo, hi);
        Ok(Estimate {
            value,
            mechanism: self.sum_noise.mechanism(),
            noise_scale: self.sum_noise.scale() * step / denominator,
            ci95: mean_interval(
                (noisy_sum, sum_width),
                (noisy_count, count_width),
                centre,
                (lo, hi),
            ),
            grid: Some(step),
        })
    }
}

/// The mean of a column's non-missing values clamped to declared bounds.
#[derive(Clone, Debug)]
pub struct DpMean {
    common: Common,
    engine: MeanEngine,
}

impl DpMean {
    /// A mean of `column` clamped to `bounds`; `budget` is split evenly between a centred sum
    /// and a count, which compose to exactly `budget`.
    pub fn new(
        column: &str,
        bounds: Bounds,
        policy: NonFinitePolicy,
        k: u64,
        budget: NoiseBudget,
        cost: PrivacyCost,
    ) -> Result<Self, DpError> {
        let common = Common::new(k, budget, cost)?;
        let values = ClampedColumn::new(column, bounds, policy);
        Ok(Self { common, engine: MeanEngine::new(values, k, budget)? })
    }

    pub(crate) fn engine(&self) -> &MeanEngine {
        &self.engine
    }
}

impl Measurement for DpMean {
    type Input = BoundedTable;
    type Output = Estimate;
    type Error = DpError;

    delegate_to_common!();

    fn sensitivity(&self) -> Sensitivity {
        let bounds = self.engine.values.bounds;
        let d = self.common.k as f64 * (bounds.upper / 2.0 - bounds.lower / 2.0);
        scalar_sensitivity(d)
    }

    fn release(&self, table: &BoundedTable, rng: &mut SecureRng) -> Result<Estimate, DpError> {
        self.common.check_table(table)?;
        let sum = self.engine.values.sum(table, "mean")?;
        self.engine.estimate(sum.total, sum.count, rng)
    }
}

/// The range of `centre + S/N` over `S ∈ [ŝ ± a]`, `N ∈ [n̂ ± b] ∩ [1, ∞)`, within `[lo, hi]`.
fn mean_interval(sum: (f64, f64), count: (f64, f64), centre: f64, bounds: (f64, f64)) -> Interval {
    let (s, a) = sum;
    let (n, b) = count;
    let (n_lo, n_hi) = ((n - b).max(1.0), (n + b).max(1.0));
    if n - b < 1.0 {
        // The count interval reaches zero: the mean can be anything within the bounds.
        return Interval { lower: bounds.0, upper: bounds.1 };
    }
    let ends = [(s - a) / n_lo, (s - a) / n_hi, (s + a) / n_lo, (s + a) / n_hi];
    let lower = ends.iter().copied().fold(f64::INFINITY, f64::min) + centre;
    let upper = ends.iter().copied().fold(f64::NEG_INFINITY, f64::max) + centre;
    Interval { lower: lower.clamp(bounds.0, bounds.1), upper: upper.clamp(bounds.0, bounds.1) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::table::ContributionBound;
    use crate::test_support::{pure, table};

    #[test]
    fn grid_covers_the_bound_exactly() {
        for magnitude in [1.0, 90.0, 0.3, 1e-9, 5e17, 1024.0] {
            let g = Grid::for_magnitude(magnitude);
            assert!(g.max_index <= 1 << GRID_BITS, "{magnitude}");
            assert!(g.max_index >= 1 << (GRID_BITS - 1), "{magnitude}: grid too coarse");
            assert!(g.step().recip() == g.inverse_step);
        }
        assert_eq!(grid_index(2.5, 1.0), 2, "ties go to even");
        assert_eq!(grid_index(3.5, 1.0), 4);
        assert_eq!(grid_index(-2.5, 1.0), -2);
        assert_eq!(grid_index(2.4, 1.0), 2);
        assert_eq!(grid_index(-0.6, 1.0), -1);
        assert_eq!(grid_index(0.0, 1.0), 0);
        assert_eq!(grid_index(-((1u64 << 40) as f64), 1.0), -(1i64 << 40));
        let g = Grid::for_magnitude(90.0);
        assert!(grid_index(90.0, g.inverse_step) as u64 <= g.max_index);
    }

    #[test]
    fn bounds_are_checked() {
        assert!(Bounds::new("a", 1.0, 0.0).is_err());
        assert!(Bounds::new("a", 1.0, 1.0).is_err());
        assert!(Bounds::new("a", f64::NAN, 1.0).is_err());
        assert!(Bounds::new("a", 0.0, 1e30).is_err());
        assert!(Bounds::new("a", -5.0, 5.0).is_ok());
    }

    #[test]
    fn quantized_sum_is_exact_and_respects_truncation_and_nulls() {
        let t = table(
            "pid,v\n1,1.5\n1,2\n1,100\n2,\n3,-7\n",
            ContributionBound::per_unit("pid", 2).unwrap(),
        );
        let values = t.numeric_column("v", "q", NonFinitePolicy::Refuse).unwrap();
        let grid = Grid::for_magnitude(10.0);
        let map = RowMap { lower: -5.0, upper: 10.0 };
        let QuantizedSum { total, count, non_finite } = quantized_sum(&values, &t, map, grid);
        // Kept: 1.5, 2 (the third row of unit 1 is truncated), missing skipped, −7 → −5.
        assert_eq!((count, non_finite), (3, 0));
        assert_eq!(total as f64 * grid.step(), 1.5 + 2.0 - 5.0);
    }

    /// The kernels compiled for the CPU's widest SIMD give exactly the baseline's sums, on
    /// values built to stress the rounding: exact ties between grid points, values beyond the
    /// bounds, the bounds themselves, NaN, ±∞, signed zeros, subnormals, and any f64 bit
    /// pattern; with and without a truncation mask, over lengths that leave every tail size.
    #[test]
    fn dispatched_kernels_equal_the_baseline_bit_for_bit() {
        use rand_core::RngCore;
        let mut rng = SecureRng::seeded_for_tests_only(11);
        let grid = Grid::for_magnitude(100.0);
        let kernel =
            Kernel { map: RowMap { lower: -37.25, upper: 100.0 }, inverse_step: grid.inverse_step };
        let step = grid.step();
        for len in [0usize, 1, 3, 7, 8, 9, 15, 17, 31, 33, 64, 1000, 4099] {
            let xs: Vec<f64> = (0..len)
                .map(|_| {
                    let r = rng.next_u64();
                    match r % 10 {
                        0 => ((r >> 8) % 4000) as f64 * step * 0.5 - 50.0,
                        1 => f64::NAN,
                        2 => [f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0][(r >> 8) as usize % 4],
                        3 => [-37.25, 100.0, 1e300, -1e300, 5e-324][(r >> 8) as usize % 5],
                        4 => f64::from_bits(rng.next_u64()),
                        _ => ((r >> 11) as f64 / (1u64 << 53) as f64) * 180.0 - 60.0,
                    }
                })
                .collect();
            let keep: Vec<bool> = (0..len).map(|_| !rng.next_u64().is_multiple_of(3)).collect();
            assert_eq!(kernel.all(&xs), kernel.all_scalar(&xs), "length {len}");
            assert_eq!(kernel.kept(&xs, &keep), kernel.kept_scalar(&xs, &keep), "length {len}");
            // And the baseline is the plain definition: clamp, round half to even, sum.
            let (total, count, _) = kernel.all_scalar(&xs);
            let finite: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
            let expected: i64 = finite
                .iter()
                .map(|&x| (x.clamp(-37.25, 100.0) * grid.inverse_step).round_ties_even() as i64)
                .sum();
            assert_eq!((total, count), (expected, finite.len() as u64), "length {len}");
        }
    }

    #[test]
    fn non_finite_values_are_counted_and_left_out() {
        let t = table(
            "v
1
NaN
inf
-inf
2
",
            ContributionBound::one_row_per_unit(),
        );
        let values = t.float_column("v", "q").unwrap();
        let grid = Grid::for_magnitude(10.0);
        let map = RowMap { lower: 0.0, upper: 10.0 };
        let sum = quantized_sum(&values, &t, map, grid);
        assert_eq!((sum.count, sum.non_finite), (2, 3));
        assert_eq!(sum.total as f64 * grid.step(), 3.0);
        assert!(check_non_finite(sum, "v", NonFinitePolicy::Refuse).is_err());
        assert!(check_non_finite(sum, "v", NonFinitePolicy::Drop).is_ok());
    }

    #[test]
    fn releases_are_close_to_the_truth_at_large_epsilon() {
        let mut rng = SecureRng::seeded_for_tests_only(7);
        let csv: String = std::iter::once("v".to_owned())
            .chain((0..1000).map(|i| format!("{}", i % 100)))
            .collect::<Vec<_>>()
            .join("\n");
        let t = table(&csv, ContributionBound::one_row_per_unit());
        let (budget, cost) = pure("10");
        let count = DpCount::new(1, budget, cost).unwrap().release(&t, &mut rng).unwrap();
        assert!((count.value - 1000.0).abs() < 10.0, "{count:?}");
        let bounds = Bounds::new("v", 0.0, 100.0).unwrap();
        let policy = NonFinitePolicy::Refuse;
        let sum = DpSum::new("v", bounds, policy, 1, budget, cost)
            .unwrap()
            .release(&t, &mut rng)
            .unwrap();
        assert!((sum.value - 49_500.0).abs() < 200.0, "{sum:?}");
        let half_width = (sum.ci95.upper - sum.ci95.lower) / 2.0;
        assert!((sum.value - 49_500.0).abs() <= 3.0 * half_width, "{sum:?}");
        let mean = DpMean::new("v", bounds, policy, 1, budget, cost)
            .unwrap()
            .release(&t, &mut rng)
            .unwrap();
        assert!((mean.value - 49.5).abs() < 0.5, "{mean:?}");
        assert!(mean.ci95.lower < mean.value && mean.value < mean.ci95.upper, "{mean:?}");
    }

    /// Over many runs at a small ε, the 95% intervals cover the truth about 95% of the time (at
    /// least: the Gaussian and mean intervals are conservative). With 400 runs a coverage below
    /// 90% has probability < 1e-4 if the true coverage is 95%.
    #[test]
    fn intervals_cover_the_truth() {
        let mut rng = SecureRng::seeded_for_tests_only(11);
        let csv: String = std::iter::once("v".to_owned())
            .chain((0..200).map(|i| format!("{}", i % 10)))
            .collect::<Vec<_>>()
            .join("\n");
        let t = table(&csv, ContributionBound::one_row_per_unit());
        let (budget, cost) = pure("0.5");
        let bounds = Bounds::new("v", 0.0, 10.0).unwrap();
        let sum = DpSum::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, cost).unwrap();
        let mean = DpMean::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, cost).unwrap();
        let count = DpCount::new(1, budget, cost).unwrap();
        let (mut sum_hits, mut mean_hits, mut count_hits) = (0, 0, 0);
        for _ in 0..400 {
            let s = sum.release(&t, &mut rng).unwrap();
            sum_hits += usize::from(s.ci95.lower <= 900.0 && 900.0 <= s.ci95.upper);
            let m = mean.release(&t, &mut rng).unwrap();
            mean_hits += usize::from(m.ci95.lower <= 4.5 && 4.5 <= m.ci95.upper);
            let c = count.release(&t, &mut rng).unwrap();
            count_hits += usize::from(c.ci95.lower <= 200.0 && 200.0 <= c.ci95.upper);
        }
        for (name, hits) in [("sum", sum_hits), ("mean", mean_hits), ("count", count_hits)] {
            assert!(hits >= 360, "{name} interval covered {hits}/400");
        }
    }
}
