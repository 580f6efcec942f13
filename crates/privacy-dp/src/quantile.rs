//! Differentially private quantiles and median over a bounded domain, by the exponential
//! mechanism sampled exactly.
//!
//! **The domain and its grid.** Releases are points of the grid
//! `D = {L + j·g : j = 0, …, M}` (the last point capped at `U`), with `g = 2^(E−20)` for
//! `2^E ≥ U − L`, so `M = ⌈(U − L)/g⌉ ≤ 2²⁰`: a resolution of about 10⁻⁶ of the range. Each
//! kept, non-missing value is clamped to `[L, U]` and mapped on its own to the index of its
//! nearest grid point `v_i ∈ {0, …, M}` (a per-row map). The grid, its step and `M` depend on
//! the declared bounds only; the step is part of the release's metadata.
//!
//! **Utility.** For a point `y ∈ {0, …, M}` let `L(y) = #{i : v_i < y}`,
//! `R(y) = #{i : v_i ≤ y}` and `t = ⌊q·n⌋` with `n` the number of values (`q·n` is computed
//! exactly from the `f64` q, a dyadic rational). `y` is an exact `q`-quantile when
//! `L(y) ≤ t ≤ R(y)`; the utility is minus the distance of `t` from that range,
//! `u(y) = −max(0, L(y) − t, t − R(y))`, an integer. (Counting only the values below `y` would
//! make data piled on the upper bound, common after clamping, unrecognisable: no grid point
//! would have them below it.) Adding or removing one unit changes its `a ≤ k` values: `L(y)`
//! and `R(y)` move by at most `a`, and `t` by `⌊q(n + a)⌋ − ⌊qn⌋ ∈ [0, a]`, all in the same
//! direction, so each of `L − t` and `t − R` moves by at most `a` and so does their maximum
//! with 0: `|u′(y) − u(y)| ≤ a ≤ k`. The sensitivity is `Δ = k`, from the contribution bound
//! alone (the utility is not monotone, so the mechanism uses `ε/(2Δ)`).
//!
//! **Mechanism** (Smith 2011, "Privacy-preserving statistical estimation with optimal
//! convergence rates", STOC; the "interval" form used by OpenDP and Google's library). `u` is
//! constant on each distinct value's point and on each run of points strictly between
//! consecutive distinct values (at most `2·min(n, M + 1) + 1` cells), so the exponential
//! mechanism over the `M + 1` points with the uniform base measure equals: pick a cell with
//! probability `∝ |cell| · exp(ε·u(cell)/(2Δ))`, then a uniform point of the cell. The first
//! step is [`ExponentialMechanism::select_weighted`] with the cells' sizes as its base measure
//! (data-dependent weights of exactly the kind its guarantee allows: the cells partition a
//! data-independent domain and the score is constant on each), the second an exact uniform
//! draw. **Guarantee: ε-DP** for add/remove of one unit (McSherry & Talwar 2007, Theorem 6).
//!
//! **No underflow.** Nothing is exponentiated in floating point: the mechanism works with the
//! exact rational exponents `ε·(u* − u)/(2Δ)` (differences to the best score) and exact coins
//! `Bernoulli(2^j·exp(−γ))`, the exact counterpart of computing in log space, so cells with a
//! tiny probability keep exactly that probability instead of rounding to 0.
//!
//! **Accuracy.** With probability at least `1 − β` the released point's rank error is within
//! `(2Δ/ε)·(ln(M + 1) + ln(1/β))` of the best achievable on the grid (Dwork & Roth 2014,
//! Theorem 3.11): at β = 5%, [`QuantileEngine::rank_half_width`]. It is stated in ranks, not in
//! data units, because turning ranks into values needs the data's spread: a quantile release
//! has no value interval (`ci95` is absent). At the extremes the rank does not pin a value
//! down: every point up to the smallest value has rank 0, so `quantile(c, 0, L, U)` is a
//! point anywhere in `[L, min]` (and `q = 1` one in `(max, U]`); use bounds close to the data.
//!
//! Trade-off: sorting the values (`O(n log n)`) and one big-integer pass over the distinct
//! cells (at most `min(n, M) + 1`) per release.

use num_bigint::{BigInt, BigUint};
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use privacy_core::{
    CoreError, EpsilonAmount, Measurement, NeighbouringRelation, PrivacyCost, PrivacyGuarantee,
    SecureRng, Sensitivity,
};
use serde::Serialize;

use crate::error::DpError;
use crate::mechanism::ExponentialMechanism;
use crate::noise::NoiseBudget;
use crate::sampler::sample_uniform_below;
use crate::stats::{delegate_to_common, pow2, scalar_sensitivity, Bounds, Common};
use crate::table::{BoundedTable, NonFinitePolicy};
use crate::variance::{exponent_above, for_each_finite_value};

/// Bits of resolution of the quantile grid over the declared range.
pub(crate) const QUANTILE_GRID_BITS: i32 = 20;

/// What a quantile release holds.
///
/// FIXME: no interval in data units is released, only a (loose, union-bound) rank error:
/// an interval needs the data's spread near the quantile, e.g. two more exponential-mechanism
/// draws at the ranks `t ± R` with part of the budget; until then `ci95` is absent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuantileEstimate {
    /// The released grid point.
    pub value: f64,
    /// `exponential`.
    pub mechanism: &'static str,
    /// With probability ≥ 95%, the released point's rank error exceeds the best achievable on
    /// the grid by at most this many values (module docs).
    pub rank_error95: f64,
    /// The grid step.
    pub grid: f64,
}

/// The grid `L + j·g`, `j = 0, …, M`, over declared bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct QuantileGrid {
    bounds: Bounds,
    inverse_step: f64,
    points: u64,
}

impl QuantileGrid {
    pub(crate) fn new(bounds: Bounds) -> Self {
        // U − L ≤ 2⁶¹ and ≥ 2⁻⁵⁹ by `Bounds::new`; halving first keeps it finite.
        let half_span = bounds.upper() / 2.0 - bounds.lower() / 2.0;
        let inverse_step = pow2(QUANTILE_GRID_BITS - 1 - exponent_above(half_span));
        // (U − L)·2^(20−E) ≤ 2²⁰, a power-of-two scaling: exact up to the subtraction.
        let points = ((2.0 * half_span * inverse_step).ceil() as u64).max(1);
        Self { bounds, inverse_step, points }
    }

    /// The index of the grid point nearest to `x` clamped to the bounds (finite `x` only).
    pub(crate) fn index(self, x: f64) -> u64 {
        let clamped = x.max(self.bounds.lower()).min(self.bounds.upper());
        let j = ((clamped - self.bounds.lower()) * self.inverse_step).round();
        // 0 ≤ j ≤ M + 1 after rounding; the clamp makes it a point of the grid.
        (j.max(0.0) as u64).min(self.points)
    }

    /// The value of grid point `j`, never above `U`.
    pub(crate) fn value(self, j: u64) -> f64 {
        (self.bounds.lower() + j as f64 / self.inverse_step).min(self.bounds.upper())
    }

    pub(crate) fn step(self) -> f64 {
        1.0 / self.inverse_step
    }

    /// `M`, the largest index (the grid has `M + 1` points).
    pub(crate) fn last(self) -> u64 {
        self.points
    }
}

/// The largest `f64` not above the exact fixed-point ε, so the mechanism never spends more
/// than the charged share.
pub(crate) fn epsilon_f64_down(epsilon: EpsilonAmount) -> f64 {
    let exact =
        BigRational::new(BigInt::from(epsilon.units()), BigInt::from(EpsilonAmount::UNITS_PER_ONE));
    let mut f = epsilon.to_f64();
    while BigRational::from_float(f).is_some_and(|r| r > exact) {
        f = f.next_down();
    }
    f
}

/// `k` as an `f64` not below `k` (a sensitivity may be rounded up, never down).
pub(crate) fn f64_up(k: u64) -> f64 {
    let f = k as f64;
    if (f as u128) < u128::from(k) {
        f.next_up()
    } else {
        f
    }
}

/// The exponential mechanism over the grid for one quantile.
#[derive(Clone, Debug)]
pub(crate) struct QuantileEngine {
    grid: QuantileGrid,
    q: f64,
    k: u64,
    epsilon: f64,
    mechanism: ExponentialMechanism,
}

impl QuantileEngine {
    /// The `q`-quantile of values in `bounds`, one unit adding at most `k`, at pure ε.
    pub(crate) fn new(
        bounds: Bounds,
        q: f64,
        k: u64,
        epsilon: EpsilonAmount,
    ) -> Result<Self, DpError> {
        if !(0.0..=1.0).contains(&q) {
            return Err(CoreError::invalid("quantile", "must be in [0, 1]").into());
        }
        let eps = epsilon_f64_down(epsilon);
        let mechanism = ExponentialMechanism::new(eps, f64_up(k))?;
        Ok(Self { grid: QuantileGrid::new(bounds), q, k, epsilon: eps, mechanism })
    }

    pub(crate) fn grid(&self) -> QuantileGrid {
        self.grid
    }

    /// `(2k/ε)·(ln(M + 1) + ln 20)`: the 95% rank error bound of the module docs.
    pub(crate) fn rank_half_width(&self) -> f64 {
        rank_half_width(self.k, self.epsilon, self.grid.last())
    }

    /// The release from the grid indices of the values (in any order; sorted here).
    pub(crate) fn estimate(
        &self,
        mut indices: Vec<u64>,
        rng: &mut SecureRng,
    ) -> Result<QuantileEstimate, DpError> {
        indices.sort_unstable();
        let cells = cells(&indices, self.grid.last(), target_rank(self.q, indices.len() as u64));
        let scores: Vec<f64> = cells.iter().map(|c| c.score).collect();
        let weights: Vec<u128> = cells.iter().map(|c| u128::from(c.size)).collect();
        let chosen = self.mechanism.select_weighted(&scores, &weights, rng)?;
        let cell = &cells[chosen];
        let offset = sample_uniform_below(&BigUint::from(cell.size), rng)?;
        // The offset is below the cell's size, a u64.
        let j = cell.first + offset.to_u64().unwrap_or(0);
        Ok(QuantileEstimate {
            value: self.grid.value(j),
            mechanism: "exponential",
            rank_error95: self.rank_half_width(),
            grid: self.grid.step(),
        })
    }
}

/// `(2k/ε)·(ln(M + 1) + ln 20)`, rounded up.
pub(crate) fn rank_half_width(k: u64, epsilon: f64, last: u64) -> f64 {
    (2.0 * k as f64 / epsilon * (((last + 1) as f64).ln() + 20f64.ln())).ceil()
}

/// `⌊q·n⌋`, exactly (q is a dyadic rational, n an integer).
pub(crate) fn target_rank(q: f64, n: u64) -> u64 {
    let exact = BigRational::from_float(q).unwrap_or_else(BigRational::zero) * BigInt::from(n);
    exact.floor().to_integer().to_u64().unwrap_or(0).min(n)
}

/// A run of grid points on which the utility is constant.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cell {
    /// The first point.
    pub(crate) first: u64,
    /// The number of points (≥ 1).
    pub(crate) size: u64,
    /// `−max(0, L − t, t − R)`, an integer below 2⁵³ in magnitude.
    pub(crate) score: f64,
}

/// The cells of sorted indices: for each distinct value `d` (with `L` values below it and `R`
/// values up to it) the run of points since the previous value (`L(y) = R(y) = L`, when not
/// empty), then `d` itself; then the points above the largest value (`L = R = n`, when not
/// empty). They partition `{0, …, M}`.
pub(crate) fn cells(sorted: &[u64], last: u64, target: u64) -> Vec<Cell> {
    // Counts are at most n, the length of a slice: far below 2⁵³ for any table in memory.
    let score = |below: u64, up_to: u64| {
        -(below.saturating_sub(target).max(target.saturating_sub(up_to)) as f64)
    };
    let mut out = Vec::new();
    let mut first = 0u64;
    let mut i = 0usize;
    while i < sorted.len() {
        let d = sorted[i];
        let below = i as u64;
        if d > first {
            out.push(Cell { first, size: d - first, score: score(below, below) });
        }
        while i < sorted.len() && sorted[i] == d {
            i += 1;
        }
        out.push(Cell { first: d, size: 1, score: score(below, i as u64) });
        first = d + 1;
    }
    if first <= last {
        let n = sorted.len() as u64;
        out.push(Cell { first, size: last - first + 1, score: score(n, n) });
    }
    out
}

/// The `q`-quantile of a column's non-missing values clamped to declared bounds (module docs).
#[derive(Clone, Debug)]
pub struct DpQuantile {
    common: Common,
    column: String,
    policy: NonFinitePolicy,
    engine: QuantileEngine,
}

impl DpQuantile {
    /// The `q`-quantile of `column` clamped to `bounds`, one unit contributing at most `k`
    /// values, at pure `epsilon`.
    pub fn new(
        column: &str,
        q: f64,
        bounds: Bounds,
        policy: NonFinitePolicy,
        k: u64,
        epsilon: EpsilonAmount,
        cost: PrivacyCost,
    ) -> Result<Self, DpError> {
        let common = Common::new(k, NoiseBudget::Pure(epsilon), cost)?;
        let engine = QuantileEngine::new(bounds, q, k, epsilon)?;
        Ok(Self { common, column: column.to_owned(), policy, engine })
    }

    pub(crate) fn engine(&self) -> &QuantileEngine {
        &self.engine
    }

    /// The grid indices of the kept values, refusing non-finite ones under the refuse policy.
    fn indices(&self, table: &BoundedTable) -> Result<Vec<u64>, DpError> {
        let values = table.float_column(&self.column, "quantile")?;
        let mask = table.mask();
        let mut indices = Vec::new();
        let keep = |row: usize| mask.is_none_or(|m| m[row]);
        for_each_finite_value(&values, keep, &self.column, self.policy, |_, x| {
            indices.push(self.engine.grid.index(x))
        })?;
        Ok(indices)
    }
}

impl Measurement for DpQuantile {
    type Input = BoundedTable;
    type Output = QuantileEstimate;
    type Error = DpError;

    delegate_to_common!();

    /// The utility's sensitivity `k` (in ranks).
    fn sensitivity(&self) -> Sensitivity {
        scalar_sensitivity(self.common.k() as f64)
    }

    fn release(
        &self,
        table: &BoundedTable,
        rng: &mut SecureRng,
    ) -> Result<QuantileEstimate, DpError> {
        self.common.check_table(table)?;
        let indices = self.indices(table)?;
        self.engine.estimate(indices, rng)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;
    use crate::test_support::column_table as table;

    fn median(e: &str, lo: f64, hi: f64) -> DpQuantile {
        let epsilon = EpsilonAmount::parse_decimal(e).unwrap();
        let cost = PrivacyCost { epsilon, delta: Default::default() };
        let bounds = Bounds::new("v", lo, hi).unwrap();
        DpQuantile::new("v", 0.5, bounds, NonFinitePolicy::Refuse, 1, epsilon, cost).unwrap()
    }

    #[test]
    fn cells_partition_the_grid() {
        let cells = cells(&[2, 2, 5, 9], 9, 2);
        assert_eq!(
            cells,
            vec![
                Cell { first: 0, size: 2, score: -2.0 },
                Cell { first: 2, size: 1, score: 0.0 },
                Cell { first: 3, size: 2, score: 0.0 },
                Cell { first: 5, size: 1, score: 0.0 },
                Cell { first: 6, size: 3, score: -1.0 },
                Cell { first: 9, size: 1, score: -1.0 },
            ]
        );
        // No points above a value that sits on M; with no values, one cell.
        assert_eq!(super::cells(&[], 4, 0), vec![Cell { first: 0, size: 5, score: 0.0 }]);
        assert_eq!(super::cells(&[0], 0, 0), vec![Cell { first: 0, size: 1, score: 0.0 }]);
        // All values on the upper bound: its point is the median.
        let top = super::cells(&[7; 10], 7, 5);
        assert_eq!(
            top,
            vec![Cell { first: 0, size: 7, score: -5.0 }, Cell { first: 7, size: 1, score: 0.0 }]
        );
    }

    proptest::proptest! {
        #[test]
        fn cells_cover_every_point_once_with_the_right_rank(
            mut values in proptest::collection::vec(0u64..50, 0..40),
            q in 0.0f64..=1.0,
        ) {
            values.sort_unstable();
            let last = 49;
            let t = target_rank(q, values.len() as u64);
            let cells = cells(&values, last, t);
            let mut next = 0;
            for cell in &cells {
                proptest::prop_assert_eq!(cell.first, next);
                proptest::prop_assert!(cell.size >= 1);
                for y in cell.first..cell.first + cell.size {
                    let below = values.iter().filter(|&&v| v < y).count() as u64;
                    let up_to = values.iter().filter(|&&v| v <= y).count() as u64;
                    let u = below.saturating_sub(t).max(t.saturating_sub(up_to));
                    proptest::prop_assert_eq!(cell.score, -(u as f64));
                }
                next = cell.first + cell.size;
            }
            proptest::prop_assert_eq!(next, last + 1);
        }

        /// The utility moves by at most k between neighbours: a unit of up to k values
        /// (anywhere, repeated) added to any data set.
        #[test]
        fn utility_sensitivity_is_at_most_k(
            values in proptest::collection::vec(0u64..30, 0..30),
            added in proptest::collection::vec(0u64..30, 1..5),
            q in 0.0f64..=1.0,
        ) {
            let k = added.len() as u64;
            let utility = |data: &[u64], y: u64| {
                let t = target_rank(q, data.len() as u64) as i64;
                let below = data.iter().filter(|&&v| v < y).count() as i64;
                let up_to = data.iter().filter(|&&v| v <= y).count() as i64;
                -(0.max(below - t).max(t - up_to))
            };
            let mut bigger = values.clone();
            bigger.extend(&added);
            for y in 0..30 {
                let d = (utility(&values, y) - utility(&bigger, y)).unsigned_abs();
                proptest::prop_assert!(d <= k, "y {}: moved by {} > k = {}", y, d, k);
            }
        }
    }

    #[test]
    fn target_rank_is_exact() {
        assert_eq!(target_rank(0.5, 7), 3);
        assert_eq!(target_rank(0.9, 10), 9, "0.9 as f64 is above 9/10");
        assert_eq!(target_rank(0.1, 10), 1, "0.1 as f64 is above 1/10");
        assert_eq!(target_rank(0.3, 10), 2, "0.3 as f64 is below 3/10");
        assert_eq!(target_rank(1.0, 10), 10);
        assert_eq!(target_rank(0.0, 10), 0);
        assert_eq!(target_rank(0.5, u64::MAX), u64::MAX / 2);
    }

    #[test]
    fn epsilon_and_sensitivity_are_rounded_the_safe_way() {
        for text in ["0.1", "1", "0.333333333333", "1e-12", "7.000000000001"] {
            let e = EpsilonAmount::parse_decimal(text).unwrap();
            let f = epsilon_f64_down(e);
            let exact = BigRational::new(
                BigInt::from(e.units()),
                BigInt::from(EpsilonAmount::UNITS_PER_ONE),
            );
            assert!(BigRational::from_float(f).unwrap() <= exact, "{text}");
            assert!(
                BigRational::from_float(f.next_up()).unwrap() > exact,
                "{text}: not the largest"
            );
        }
        assert_eq!(f64_up(3), 3.0);
        assert!(f64_up(u64::MAX) >= u64::MAX as f64);
        let k = (1u64 << 53) + 1;
        assert!(f64_up(k) as u128 >= u128::from(k));
    }

    #[test]
    fn grid_is_fine_and_bounded() {
        for (lo, hi) in [(0.0, 1.0), (17.0, 90.0), (-1.15e18, 1.15e18), (1e-9, 2e-9)] {
            let g = QuantileGrid::new(Bounds::new("v", lo, hi).unwrap());
            assert!(
                g.last() <= 1 << QUANTILE_GRID_BITS && g.last() > 1 << (QUANTILE_GRID_BITS - 2)
            );
            assert_eq!(g.index(lo - 5.0), 0);
            assert_eq!(g.index(hi + 1e300), g.last());
            assert_eq!(g.value(g.last()), hi);
            assert!(g.value(0) == lo);
        }
    }

    #[test]
    fn median_of_ages_is_close_at_moderate_epsilon() {
        let mut rng = SecureRng::seeded_for_tests_only(31);
        // 1001 values 0..=1000 in a scrambled order; median 500.
        let t = table((0..1001).map(|i| format!("{}", (i * 337) % 1001)));
        let m = median("1", 0.0, 1000.0);
        let bound = m.engine.rank_half_width();
        for _ in 0..20 {
            let e = m.release(&t, &mut rng).unwrap();
            // One value per unit of rank here, so the rank bound is also a value bound.
            assert!((e.value - 500.0).abs() <= bound + 1.0, "{e:?}");
            assert_eq!(e.mechanism, "exponential");
        }
        // At large ε the release is essentially exact.
        let sharp = median("50", 0.0, 1000.0);
        let e = sharp.release(&t, &mut rng).unwrap();
        assert!((e.value - 500.0).abs() <= 2.0, "{e:?}");
    }

    #[test]
    fn quantiles_follow_q_and_stay_in_bounds() {
        let mut rng = SecureRng::seeded_for_tests_only(32);
        let t = table((0..2000).map(|i| format!("{}", i % 100)));
        let epsilon = EpsilonAmount::parse_decimal("5").unwrap();
        let cost = PrivacyCost { epsilon, delta: Default::default() };
        let bounds = Bounds::new("v", -50.0, 150.0).unwrap();
        for (q, truth) in [(0.1, 10.0), (0.9, 90.0), (0.25, 25.0)] {
            let dq =
                DpQuantile::new("v", q, bounds, NonFinitePolicy::Refuse, 1, epsilon, cost).unwrap();
            let e = dq.release(&t, &mut rng).unwrap();
            assert!((e.value - truth).abs() < 3.0, "q {q}: {e:?}");
        }
        // At q = 0 every point up to the minimum has rank 0, and at q = 1 every point above
        // the maximum has rank n: the release lies anywhere in those ranges (documented).
        for (q, ok) in [(0.0, -50.0..=3.0), (1.0, 96.0..=150.0)] {
            let dq =
                DpQuantile::new("v", q, bounds, NonFinitePolicy::Refuse, 1, epsilon, cost).unwrap();
            let e = dq.release(&t, &mut rng).unwrap();
            assert!(ok.contains(&e.value), "q {q}: {e:?}");
        }
        // Every value outside the bounds is clamped: the median of values all above U is U.
        let high = table((0..500).map(|_| "1e300".to_owned()));
        let e = median("10", 0.0, 1.0).release(&high, &mut rng).unwrap();
        assert_eq!(e.value, 1.0, "{e:?}");
    }

    #[test]
    fn non_finite_values_follow_the_policy() {
        let t = table(["1", "NaN", "2"].iter().map(|s| s.to_string()));
        let mut rng = SecureRng::seeded_for_tests_only(33);
        assert!(matches!(
            median("1", 0.0, 3.0).release(&t, &mut rng),
            Err(DpError::NonFiniteValues { count: 1, .. })
        ));
        let epsilon = EpsilonAmount::parse_decimal("1").unwrap();
        let cost = PrivacyCost { epsilon, delta: Default::default() };
        let bounds = Bounds::new("v", 0.0, 3.0).unwrap();
        let drop =
            DpQuantile::new("v", 0.5, bounds, NonFinitePolicy::Drop, 1, epsilon, cost).unwrap();
        assert_eq!(drop.indices(&t).unwrap().len(), 2);
        assert!(DpQuantile::new("v", 1.5, bounds, NonFinitePolicy::Drop, 1, epsilon, cost).is_err());
    }
}
