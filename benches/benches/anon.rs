//! Anonymization of the Adult census table (30,162 records), the standard benchmark of the
//! k-anonymity literature, with ARX's hierarchies:
//! - `search/k5_suppression_4pct`: optimal full-domain search over the 8 quasi-identifiers,
//!   k = 5, ≤ 4 % suppression, loss metric (ARX: 0.59–0.74 s on this machine, same node);
//! - `search/k5_no_suppression`: the same without suppression (ARX: 0.06 s);
//! - `mondrian/k5`: Mondrian local recoding (anonypy: ~31 s);
//! - `measure/k_l_entropy_t`: k, distinct l, entropy l and t of salary-class over the raw
//!   quasi-identifiers (pycanon: ~35 s);
//! - `search/heuristic_k5_4pct_1000`: the heuristic search with a budget of 1,000 node
//!   evaluations (no peer: ARX's heuristics are not run here);
//! - `synthesize/adult_7_columns`: DP synthetic data (ε = 1, δ = 10⁻⁶) of seven Adult columns,
//!   measuring and sampling 30,162 rows (no peer run here).
//!
//! The search benchmarks include building the bottom classes (`Problem::new`) but not reading
//! and encoding the CSV, which is measured separately (`encode/adult`). Peers run from
//! `benches/anon_peers.sh` (a virtualenv with anonypy and pycanon from PyPI).
//!
//! Run: `cargo bench -p medi-privacy-benches --bench anon`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use privacy_anon::encode::{column_text, encode_column, EncodedTable, MissingPolicy};
use privacy_anon::verify::SensitiveText;
use privacy_anon::*;

const QIS: [&str; 8] = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
];

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/adult").join(relative)
}

fn encode(frame: &polars::prelude::DataFrame) -> EncodedTable {
    let quasi = QIS
        .iter()
        .map(|q| {
            let path = data(&format!("hierarchies/adult_hierarchy_{q}.csv"));
            let h = Hierarchy::from_csv_file(q, &path).expect("hierarchy");
            encode_column(&column_text(frame, q).expect("column"), h, MissingPolicy::Refuse)
                .expect("encoded")
        })
        .collect();
    let salary = column_text(frame, "salary-class").expect("salary");
    let values = privacy_anon::encode::distinct_values([salary.as_slice()]);
    let flat = Hierarchy::flat("salary-class", &values).expect("flat");
    let sensitive = vec![encode_column(&salary, flat, MissingPolicy::Refuse).expect("salary")];
    EncodedTable { rows: frame.height(), quasi, sensitive, population: None }
}

fn search(table: &EncodedTable, limit: u64) -> SearchOutcome {
    let models = CompiledModels::compile(&[PrivacyModel::KAnonymity { k: 5 }], table, limit)
        .expect("models");
    let metric = MetricTables::new(Metric::Loss, table);
    Problem::new(table, &models, &metric, limit).optimal().expect("search")
}

fn benches(c: &mut Criterion) {
    let frame = privacy_dp::read_table(&data("adult.csv"), Default::default()).expect("adult");
    let table = encode(&frame);
    let mut group = c.benchmark_group("anon");
    group.sample_size(10);
    group.bench_function("encode/adult", |b| b.iter(|| black_box(encode(&frame))));
    let limit = (0.04 * table.rows as f64) as u64;
    let found = search(&table, limit);
    eprintln!(
        "k=5, 4%: levels {:?}, loss {:.4}, suppressed {}",
        found.levels, found.objective, found.suppressed
    );
    group.bench_function("search/k5_suppression_4pct", |b| {
        b.iter(|| black_box(search(&table, limit)))
    });
    group.bench_function("search/k5_no_suppression", |b| b.iter(|| black_box(search(&table, 0))));
    let k5 = CompiledModels::compile(&[PrivacyModel::KAnonymity { k: 5 }], &table, limit)
        .expect("models");
    let loss = MetricTables::new(Metric::Loss, &table);
    let heuristic =
        privacy_anon::search::HeuristicLimits { max_evaluations: 1000, ..Default::default() };
    group.bench_function("search/heuristic_k5_4pct_1000", |b| {
        b.iter(|| black_box(Problem::new(&table, &k5, &loss, limit).heuristic_with(&heuristic)))
    });
    let specs: Vec<privacy_anon::synthetic::ColumnSpec> =
        ["age:17:90:8", "sex", "race", "marital-status", "education", "workclass", "salary-class"]
            .iter()
            .map(|c| privacy_anon::synthetic::ColumnSpec::parse(c).expect("spec"))
            .collect();
    let categorical =
        privacy_anon::synthetic::CategoricalTable::encode(&frame, &specs).expect("encoded");
    let request = privacy_anon::synthetic::SynthesisRequest {
        dataset: "adult".into(),
        principal: "bench".into(),
        epsilon: privacy_core::EpsilonAmount::parse_decimal("1").expect("eps"),
        delta: privacy_core::DeltaAmount::parse_decimal("0.000001").expect("delta"),
        rows: None,
    };
    let mut rng = privacy_core::SecureRng::seeded_for_tests_only(1);
    group.bench_function("synthesize/adult_7_columns", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().expect("dir");
            let ledger =
                privacy_budget::SqliteLedger::open(dir.path().join("l.sqlite")).expect("ledger");
            ledger
                .create_budget(
                    "adult",
                    privacy_core::PrivacyCost {
                        epsilon: privacy_core::EpsilonAmount::parse_decimal("10").expect("e"),
                        delta: privacy_core::DeltaAmount::parse_decimal("0.001").expect("d"),
                    },
                )
                .expect("budget");
            black_box(
                privacy_anon::synthetic::synthesize(&categorical, &request, &ledger, &mut rng)
                    .expect("synthesis"),
            )
        })
    });
    let models =
        CompiledModels::compile(&[PrivacyModel::KAnonymity { k: 5 }], &table, 0).expect("m");
    group.bench_function("mondrian/k5", |b| {
        b.iter(|| {
            black_box(privacy_anon::mondrian::mondrian(&table, &models, 0).expect("mondrian"))
        })
    });
    let quasi: Vec<Vec<String>> = QIS
        .iter()
        .map(|q| {
            column_text(&frame, q).expect("c").into_iter().map(Option::unwrap_or_default).collect()
        })
        .collect();
    let salary: Vec<String> = column_text(&frame, "salary-class")
        .expect("s")
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let suppressed = vec![false; frame.height()];
    let sa = [SensitiveText { name: "salary-class", values: &salary, hierarchy: None }];
    group.bench_function("measure/k_l_entropy_t", |b| {
        b.iter(|| black_box(verify(&quasi, &sa, &suppressed, None, &[])))
    });
    group.finish();
}

criterion_group!(anon, benches);
criterion_main!(anon);
