//! DP mean of one 10-million-row column, clamped, with a per-patient contribution bound, next
//! to the plain polars mean of the same column, in one run.
//!
//! The private side is measured end to end: truncating each patient to `k` rows (one pass over
//! the patient column), the exact quantized sum and count, and the two noise draws. The target
//! of issue 2 is at most 1.5× the plain polars mean.
//!
//! Run: `cargo bench -p medi-privacy-benches --bench dp_mean`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use medi_privacy_benches::{patient_frame, MAX_ROWS_PER_PATIENT};
use polars::prelude::DataFrame;
use privacy_core::{EpsilonAmount, Measurement, PrivacyCost, SecureRng};
use privacy_dp::{BoundedTable, Bounds, ContributionBound, DpMean, NoiseBudget, NonFinitePolicy};

const ROWS: usize = 10_000_000;

/// A private mean of `value` in [0, 100] at ε = 1, for units of at most `k` rows.
fn dp_mean(k: u64) -> DpMean {
    let epsilon = EpsilonAmount::parse_decimal("1").expect("valid epsilon");
    let cost = PrivacyCost { epsilon, delta: Default::default() };
    let bounds = Bounds::new("value", 0.0, 100.0).expect("valid bounds");
    DpMean::new("value", bounds, NonFinitePolicy::Refuse, k, NoiseBudget::Pure(epsilon), cost)
        .expect("mean")
}

/// Benchmarks one whole release: the truncation pass (when `bound` has a unit column), the
/// exact quantized sum and count, and the two noise draws.
fn bench_release<M: criterion::measurement::Measurement>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
    name: String,
    frame: &DataFrame,
    bound: ContributionBound,
) {
    let mean = dp_mean(bound.max_rows_per_unit);
    let mut rng = SecureRng::from_os_entropy().expect("entropy");
    group.bench_function(name, |b| {
        b.iter(|| {
            let table = BoundedTable::new(frame.clone(), bound.clone()).expect("table");
            black_box(mean.release(&table, &mut rng).expect("release"))
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
        bench_release(&mut group, name, &frame, ContributionBound::one_row_per_unit());
        for k in [MAX_ROWS_PER_PATIENT, 2] {
            let bound = ContributionBound::per_unit("patient_id", k).expect("bound");
            bench_release(&mut group, format!("dp_mean_k{k}/{layout}"), &frame, bound);
        }
    }
    group.finish();
    // The fixed cost of one release (noise draws), on a tiny table.
    let mut group = c.benchmark_group("mean_100_rows");
    let small = patient_frame(100, true).expect("frame");
    bench_release(
        &mut group,
        "dp_mean_one_row_per_unit".into(),
        &small,
        ContributionBound::one_row_per_unit(),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
