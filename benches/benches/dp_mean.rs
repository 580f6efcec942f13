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
use privacy_core::{EpsilonAmount, Measurement, PrivacyCost, SecureRng};
use privacy_dp::{BoundedTable, Bounds, ContributionBound, DpMean, NoiseBudget, NonFinitePolicy};

const ROWS: usize = 10_000_000;

fn bench(c: &mut Criterion) {
    let epsilon = EpsilonAmount::parse_decimal("1").expect("valid epsilon");
    let cost = PrivacyCost { epsilon, delta: Default::default() };
    let bounds = Bounds::new("value", 0.0, 100.0).expect("valid bounds");
    let mut group = c.benchmark_group("mean_10m_rows");
    group.sample_size(20);
    for (layout, sorted) in [("sorted_by_patient", true), ("shuffled", false)] {
        let frame = patient_frame(ROWS, sorted).expect("frame");
        let column = frame.column("value").expect("column").as_materialized_series().clone();
        group.bench_function(format!("polars_mean/{layout}"), |b| {
            b.iter(|| black_box(column.mean()))
        });
        let rows_mean = DpMean::new(
            "value",
            bounds,
            NonFinitePolicy::Refuse,
            1,
            NoiseBudget::Pure(epsilon),
            cost,
        )
        .expect("mean");
        let mut rng = SecureRng::from_os_entropy().expect("entropy");
        // The private mean without a unit column (one row per patient): clamping, the exact
        // quantized sum and count, and the noise, but no truncation pass.
        group.bench_function(format!("dp_mean_one_row_per_unit/{layout}"), |b| {
            b.iter(|| {
                let table = BoundedTable::new(frame.clone(), ContributionBound::one_row_per_unit())
                    .expect("table");
                black_box(rows_mean.release(&table, &mut rng).expect("release"))
            })
        });
        for k in [MAX_ROWS_PER_PATIENT, 2] {
            let mean = DpMean::new(
                "value",
                bounds,
                NonFinitePolicy::Refuse,
                k,
                NoiseBudget::Pure(epsilon),
                cost,
            )
            .expect("mean");
            let mut rng = SecureRng::from_os_entropy().expect("entropy");
            group.bench_function(format!("dp_mean_k{k}/{layout}"), |b| {
                b.iter(|| {
                    let bound = ContributionBound::per_unit("patient_id", k).expect("bound");
                    let table = BoundedTable::new(frame.clone(), bound).expect("table");
                    black_box(mean.release(&table, &mut rng).expect("release"))
                })
            });
        }
    }
    group.finish();
    // The fixed cost of one release (noise draws, planning), on a tiny table.
    let small = patient_frame(100, true).expect("frame");
    let mean =
        DpMean::new("value", bounds, NonFinitePolicy::Refuse, 1, NoiseBudget::Pure(epsilon), cost)
            .expect("mean");
    let mut rng = SecureRng::from_os_entropy().expect("entropy");
    c.bench_function("mean_100_rows/dp_mean_one_row_per_unit", |b| {
        b.iter(|| {
            let table = BoundedTable::new(small.clone(), ContributionBound::one_row_per_unit())
                .expect("table");
            black_box(mean.release(&table, &mut rng).expect("release"))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
