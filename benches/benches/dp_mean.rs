//! DP mean and DP count of one 10-million-row column, clamped, with and without a per-patient
//! contribution bound, next to the plain polars mean and count of the same column, in one run.
//!
//! The private side is measured end to end: truncating each patient to `k` rows (one pass over
//! the patient column, when there is one), the exact quantized sum and count, and the noise
//! draws. The target of issue 3 is at most 1.5× the plain polars aggregate.
//!
//! Run: `taskset -c 1 cargo bench -p medi-privacy-benches --bench dp_mean`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use medi_privacy_benches::{patient_frame, MAX_ROWS_PER_PATIENT};
use polars::prelude::DataFrame;
use privacy_core::{EpsilonAmount, Measurement, PrivacyCost, SecureRng};
use privacy_dp::{
    BoundedTable, Bounds, ContributionBound, DpCount, DpMean, NoiseBudget, NonFinitePolicy,
};

const ROWS: usize = 10_000_000;

/// A private mean of `value` in [0, 100] at ε = 1, for units of at most `k` rows.
fn dp_mean(k: u64) -> DpMean {
    let epsilon = EpsilonAmount::parse_decimal("1").expect("valid epsilon");
    let cost = PrivacyCost { epsilon, delta: Default::default() };
    let bounds = Bounds::new("value", 0.0, 100.0).expect("valid bounds");
    DpMean::new("value", bounds, NonFinitePolicy::Refuse, k, NoiseBudget::Pure(epsilon), cost)
        .expect("mean")
}

/// A private count at ε = 1, for units of at most `k` rows.
fn dp_count(k: u64) -> DpCount {
    let epsilon = EpsilonAmount::parse_decimal("1").expect("valid epsilon");
    let cost = PrivacyCost { epsilon, delta: Default::default() };
    DpCount::new(k, NoiseBudget::Pure(epsilon), cost).expect("count")
}

/// Benchmarks one whole release of `statistic`: the truncation pass (when `bound` has a unit
/// column), the exact aggregate, and the noise draws.
fn bench_release<M, S>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
    name: String,
    frame: &DataFrame,
    bound: ContributionBound,
    statistic: &S,
) where
    M: criterion::measurement::Measurement,
    S: Measurement<Input = BoundedTable>,
    S::Error: std::fmt::Debug,
{
    let mut rng = SecureRng::from_os_entropy().expect("entropy");
    group.bench_function(name, |b| {
        b.iter(|| {
            let table = BoundedTable::new(frame.clone(), bound.clone()).expect("table");
            black_box(statistic.release(&table, &mut rng).expect("release"))
        })
    });
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("mean_10m_rows");
    group.sample_size(20);
    for (layout, sorted) in [("sorted_by_patient", true), ("shuffled", false)] {
        let frame = patient_frame(ROWS, sorted).expect("frame");
        let column = frame.column("value").expect("column").as_materialized_series().clone();
        group.bench_function(format!("polars_mean/{layout}"), |b| {
            b.iter(|| black_box(column.mean()))
        });
        // Without a unit column (one row per patient) there is no truncation pass.
        let name = format!("dp_mean_one_row_per_unit/{layout}");
        bench_release(&mut group, name, &frame, ContributionBound::one_row_per_unit(), &dp_mean(1));
        for k in [MAX_ROWS_PER_PATIENT, 2] {
            let bound = ContributionBound::per_unit("patient_id", k).expect("bound");
            let name = format!("dp_mean_k{k}/{layout}");
            bench_release(&mut group, name, &frame, bound, &dp_mean(k));
        }
    }
    group.finish();
    let mut group = c.benchmark_group("count_10m_rows");
    group.sample_size(20);
    for (layout, sorted) in [("sorted_by_patient", true), ("shuffled", false)] {
        let frame = patient_frame(ROWS, sorted).expect("frame");
        let column = frame.column("value").expect("column").as_materialized_series().clone();
        // COUNT(value): the non-null values, which polars keeps as metadata.
        group.bench_function(format!("polars_count/{layout}"), |b| {
            b.iter(|| black_box(black_box(&column).len() - black_box(&column).null_count()))
        });
        let name = format!("dp_count_one_row_per_unit/{layout}");
        let unbounded = ContributionBound::one_row_per_unit();
        bench_release(&mut group, name, &frame, unbounded, &dp_count(1));
        for k in [MAX_ROWS_PER_PATIENT, 2] {
            let bound = ContributionBound::per_unit("patient_id", k).expect("bound");
            let name = format!("dp_count_k{k}/{layout}");
            bench_release(&mut group, name, &frame, bound, &dp_count(k));
        }
    }
    group.finish();
    // The fixed cost of one release (noise draws), on a tiny table.
    let mut group = c.benchmark_group("mean_100_rows");
    let small = patient_frame(100, true).expect("frame");
    let unbounded = ContributionBound::one_row_per_unit();
    bench_release(&mut group, "dp_mean_one_row_per_unit".into(), &small, unbounded, &dp_mean(1));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
