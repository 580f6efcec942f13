//! Shared helpers for the benchmarks: reproducible synthetic patient columns of any size.
//!
//! Benchmarks need tables far larger than the bundled real data (10 million rows), so they are
//! generated here from a seeded generator. The seed makes runs comparable; it protects nothing,
//! and this crate is never a dependency of a library.

use polars::prelude::*;
use privacy_core::SecureRng;
use rand_core::RngCore;

/// Rows per patient in [`patient_frame`]: every patient has between 1 and this many rows.
pub const MAX_ROWS_PER_PATIENT: u64 = 4;

/// A frame of `rows` rows with `patient_id` (i64) and `value` (f64 in [0, 100)).
///
/// Patients have 1 to [`MAX_ROWS_PER_PATIENT`] rows each. With `sorted`, each patient's rows are
/// contiguous (a file sorted by patient); otherwise the ids are shuffled across the file.
pub fn patient_frame(rows: usize, sorted: bool) -> PolarsResult<DataFrame> {
    let mut rng = SecureRng::seeded_for_tests_only(2026);
    let mut ids = Vec::with_capacity(rows);
    let mut id = 0i64;
    while ids.len() < rows {
        let n = 1 + rng.next_u64() % MAX_ROWS_PER_PATIENT;
        for _ in 0..n {
            ids.push(id);
        }
        id += 1;
    }
    ids.truncate(rows);
    if !sorted {
        // Fisher–Yates; the slight modulo bias is irrelevant for a benchmark layout.
        for i in (1..ids.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            ids.swap(i, j);
        }
    }
    let values: Vec<f64> =
        (0..rows).map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 100.0).collect();
    DataFrame::new(
        rows,
        vec![Column::new("patient_id".into(), ids), Column::new("value".into(), values)],
    )
}
