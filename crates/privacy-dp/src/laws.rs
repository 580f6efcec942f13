//! Laws and fault classes of the statistics, checked against the internal exact integers.
//!
//! - **Sensitivity never below its exact rational value.** For random declared bounds and
//!   contribution bounds, every integer sensitivity the noise is calibrated to is at least the
//!   exact rational bound of the quantity it protects (computed here in exact rationals from the
//!   `f64` bounds, which are dyadic), and the exact integer aggregates of two neighbouring data
//!   sets — one adversarial unit of up to `k` values (huge, tiny, NaN, ±∞) added — never differ
//!   by more than that sensitivity.
//! - **No overflow, no data-dependent error**: extreme values over more rows than one
//!   accumulation block sum exactly, and the noise was fixed before the data was seen.
//! - **Summation order**: a permuted column gives the identical exact integers.
//! - **Degenerate bounds are refused; clipped data is what is summed.**

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use num_bigint::BigInt;
use num_rational::BigRational;
use polars::prelude::*;
use proptest::prelude::*;

use crate::noise::NoiseBudget;
use crate::stats::{Bounds, ClampedColumn};
use crate::table::{BoundedTable, ContributionBound, NonFinitePolicy};
use crate::variance::{CentredGrid, Moments};

fn exact(x: f64) -> BigRational {
    BigRational::from_float(x).unwrap()
}

fn big(n: u128) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}

/// Bounds drawn over many magnitudes, `lower < upper`, as `Bounds::new` accepts them.
fn bounds_strategy() -> impl Strategy<Value = (f64, f64)> {
    (-1e18f64..1e18, 1e-12f64..1e18, -30i32..30).prop_filter_map("valid bounds", |(a, w, e)| {
        let scale = 2f64.powi(e);
        let (lo, hi) = (a * scale.min(1.0), a * scale.min(1.0) + w * scale);
        Bounds::new("v", lo, hi).ok().map(|_| (lo, hi))
    })
}

/// Values an adversarial unit may hold.
fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(-f64::MAX),
        -1e20f64..1e20,
    ]
}

fn frame(values: &[f64]) -> DataFrame {
    DataFrame::new(values.len(), vec![Series::new("v".into(), values.to_vec()).into()]).unwrap()
}

fn one_per_row(values: &[f64]) -> BoundedTable {
    BoundedTable::new(frame(values), ContributionBound::one_row_per_unit()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The sum's sensitivity `k·⌈B/g⌉` and the mean's `k·reach` are at least `k·B/g` and
    /// `k·((U − L)/2)/g` exactly, and neighbours' exact sums differ by at most them.
    #[test]
    fn sum_and_mean_sensitivities_are_never_below_the_exact_bound(
        (lo, hi) in bounds_strategy(),
        k in 1u64..6,
        base in prop::collection::vec(value_strategy(), 0..20),
        added in prop::collection::vec(value_strategy(), 1..6),
    ) {
        let bounds = Bounds::new("v", lo, hi).unwrap();
        let added = &added[..added.len().min(k as usize)];
        let column = ClampedColumn::new("v", bounds, NonFinitePolicy::Drop);
        let step = exact(column.step());
        let magnitude = exact(lo.abs().max(hi.abs()));
        let sum_sensitivity = BigRational::from_integer(BigInt::from(column.sum_sensitivity(k)));
        prop_assert!(sum_sensitivity >= big(u128::from(k)) * magnitude / &step);
        let (reach, _) = column.mean_reach();
        let half = (exact(hi) - exact(lo)) / big(2);
        prop_assert!(big(u128::from(k) * u128::from(reach)) >= big(u128::from(k)) * half / &step - big(u128::from(k)));
        // Neighbours: the same rows plus one unit of ≤ k values.
        let mut more = base.clone();
        more.extend_from_slice(added);
        let a = column.exact_sum(&one_per_row(&base)).unwrap();
        let b = column.exact_sum(&one_per_row(&more)).unwrap();
        let difference = BigInt::from(b.total - a.total).magnitude().clone();
        prop_assert!(BigRational::from_integer(difference.into()) <= sum_sensitivity);
        let centre = column.centre_index();
        let centred = |s: crate::stats::QuantizedSum| s.total - i128::from(s.count) * i128::from(centre);
        let moved = (centred(b) - centred(a)).unsigned_abs();
        prop_assert!(moved <= u128::from(k) * u128::from(reach));
        prop_assert!(b.count - a.count <= k);
    }

    /// The variance's sensitivities `k·R` and `k·R²` are at least the exact `k·h/g` and
    /// `k·(h/g)²`, and neighbours' exact moments differ by at most them.
    #[test]
    fn variance_sensitivities_are_never_below_the_exact_bound(
        (lo, hi) in bounds_strategy(),
        k in 1u64..6,
        base in prop::collection::vec(value_strategy(), 0..20),
        added in prop::collection::vec(value_strategy(), 1..6),
    ) {
        let bounds = Bounds::new("v", lo, hi).unwrap();
        let added = &added[..added.len().min(k as usize)];
        let grid = CentredGrid::new(bounds);
        let r = grid.reach().unsigned_abs();
        let h_over_g = (exact(hi) - exact(lo)) / big(2) / exact(grid.step());
        prop_assert!(big(u128::from(r)) >= h_over_g);
        let moments = |xs: &[f64]| {
            let mut m = Moments::default();
            xs.iter().filter(|x| x.is_finite()).for_each(|&x| m.add(grid.index(x)));
            m
        };
        let mut more = base.clone();
        more.extend_from_slice(added);
        let (a, b) = (moments(&base), moments(&more));
        let k = u128::from(k);
        prop_assert!((b.sum - a.sum).unsigned_abs() <= k * u128::from(r));
        prop_assert!((b.sum_squares - a.sum_squares).unsigned_abs() <= k * u128::from(r) * u128::from(r));
        prop_assert!(u128::from(b.count - a.count) <= k);
    }

    /// A permuted column gives the identical exact integers (no float summation order).
    #[test]
    fn permuted_columns_give_identical_exact_sums(
        (lo, hi) in bounds_strategy(),
        mut values in prop::collection::vec(value_strategy(), 0..200),
        seed in any::<u64>(),
    ) {
        let bounds = Bounds::new("v", lo, hi).unwrap();
        let column = ClampedColumn::new("v", bounds, NonFinitePolicy::Drop);
        let grid = CentredGrid::new(bounds);
        let moments = |xs: &[f64]| {
            let mut m = Moments::default();
            xs.iter().filter(|x| x.is_finite()).for_each(|&x| m.add(grid.index(x)));
            m
        };
        let before = (column.exact_sum(&one_per_row(&values)).unwrap(), moments(&values));
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..values.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let after = (column.exact_sum(&one_per_row(&values)).unwrap(), moments(&values));
        prop_assert_eq!(before, after);
    }
}

#[test]
fn extreme_values_over_many_blocks_sum_exactly_without_error() {
    // More rows than one i64 accumulation block (2²² rows), all at the largest magnitude.
    let rows = (1usize << 22) + 1000;
    let bounds = Bounds::new("v", -(2f64.powi(60)), 2f64.powi(60)).unwrap();
    let column = ClampedColumn::new("v", bounds, NonFinitePolicy::Refuse);
    let sensitivity_before = column.sum_sensitivity(1);
    let mut values = vec![f64::MAX; rows];
    values[7] = 1e300;
    let sum = column.exact_sum(&one_per_row(&values)).unwrap();
    let top = i128::from(column.clamped_index(f64::MAX));
    assert_eq!(sum.total, top * rows as i128, "the exact integer sum, in i128");
    assert_eq!(sum.count, rows as u64);
    // The noise was calibrated before the data and does not change with it.
    assert_eq!(column.sum_sensitivity(1), sensitivity_before);
    let negative = vec![-f64::MAX; rows];
    let sum = column.exact_sum(&one_per_row(&negative)).unwrap();
    assert_eq!(sum.total, -top * rows as i128);
}

#[test]
fn degenerate_bounds_are_refused_for_every_statistic() {
    use crate::analysis::{plan_parameters, AnalysisRequest, MechanismChoice};
    use crate::query::parse_query;
    let cost = privacy_core::PrivacyCost {
        epsilon: privacy_core::EpsilonAmount::parse_decimal("1").unwrap(),
        delta: privacy_core::DeltaAmount::ZERO,
    };
    for text in [
        "sum(a, 1, 1)",
        "mean(a, 5, 5)",
        "var(a, 2, 2)",
        "std(a, 3, 1)",
        "median(a, 0, 0)",
        "quantile(a, 0.5, 1, 1)",
        "histogram(a, [x]) ",
        "mean(a, 1, 1) by b",
    ] {
        let request = AnalysisRequest {
            dataset: "d".into(),
            principal: "p".into(),
            budget: cost,
            queries: vec![parse_query(text).unwrap()],
            contribution: ContributionBound::one_row_per_unit(),
            non_finite: NonFinitePolicy::Refuse,
            mechanism: MechanismChoice::Auto,
        };
        let result = plan_parameters(&request);
        if text.starts_with("histogram") {
            assert!(result.is_ok(), "a histogram has no bounds");
        } else {
            assert!(
                matches!(result, Err(crate::DpError::InvalidBounds { .. })),
                "{text}: {result:?}"
            );
        }
    }
}

#[test]
fn statistics_see_the_clipped_values() {
    use crate::quantile::DpQuantile;
    use crate::variance::DpVariance;
    use privacy_core::{EpsilonAmount, Measurement, PrivacyCost, SecureRng};
    let mut rng = SecureRng::seeded_for_tests_only(71);
    let epsilon = EpsilonAmount::parse_decimal("50").unwrap();
    let cost = PrivacyCost { epsilon, delta: Default::default() };
    let budget = NoiseBudget::Pure(epsilon);
    let bounds = Bounds::new("v", 0.0, 1.0).unwrap();
    // Half the values far below, half far above: clipped to 0 and 1, variance 1/4 exactly.
    let values: Vec<f64> = (0..2000).map(|i| if i % 2 == 0 { -1e9 } else { 1e9 }).collect();
    let t = one_per_row(&values);
    let var =
        DpVariance::new("v", bounds, NonFinitePolicy::Refuse, 1, budget, cost, false).unwrap();
    let e = var.release(&t, &mut rng).unwrap();
    assert!((e.value - 0.25).abs() < 0.01 && e.value <= 0.25, "{e:?}");
    assert!(e.ci95.upper <= 0.25, "{e:?}");
    // Values above the bound: the 0.9-quantile is the upper bound itself.
    let high: Vec<f64> = (0..1000).map(|i| if i < 50 { 0.5 } else { 7.0 }).collect();
    let q = DpQuantile::new("v", 0.9, bounds, NonFinitePolicy::Refuse, 1, epsilon, cost).unwrap();
    assert_eq!(q.release(&one_per_row(&high), &mut rng).unwrap().value, 1.0);
}
