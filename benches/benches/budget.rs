//! The budget crate's speed: the issue-4 reference point under the Rényi-DP and PLD
//! accountants, and durable ledger charges per second on SQLite.
//!
//! Reference point: Poisson-sampled Gaussian, noise multiplier 1.1, sampling rate 0.01, 10 000
//! steps, δ = 10⁻⁵. Targets of issue 4: RDP in under 10 ms; PLD within ±0.001 of 5.1926 in
//! under 0.5 s on one core; the ledger at 5 000 charges per second or more from one process.
//! Google's dp-accounting runs beside these through `benches/dp_accounting_compare.sh`.
//!
//! Run: `cargo bench -p medi-privacy-benches --bench budget`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use privacy_budget::accountant::pld::{PldAccountant, PldMechanism, PldOptions};
use privacy_budget::{RdpAccountant, RdpMechanism, SqliteLedger};
use privacy_core::{BudgetLedger, ChargeDetails, ChargeRequest, EpsilonAmount, PrivacyCost};

const SIGMA: f64 = 1.1;
const RATE: f64 = 0.01;
const STEPS: u64 = 10_000;
const DELTA: f64 = 1e-5;

fn rdp_reference() -> f64 {
    let mut accountant = RdpAccountant::new();
    let mechanism = RdpMechanism::sampled_gaussian(SIGMA, RATE).expect("valid mechanism");
    accountant.compose(&mechanism, STEPS).expect("composes");
    accountant.epsilon(DELTA).expect("converts").epsilon
}

fn pld_reference(discretization: f64) -> f64 {
    let options = PldOptions { discretization, ..PldOptions::default() };
    let mut accountant = PldAccountant::with_options(options).expect("valid options");
    accountant.compose(&PldMechanism::sampled_gaussian(SIGMA, RATE).expect("valid"), STEPS);
    accountant.epsilon(DELTA).expect("converts").upper
}

fn accountants(c: &mut Criterion) {
    let mut group = c.benchmark_group("accountant_reference");
    group.sample_size(10);
    println!("rdp ε = {:.6}", rdp_reference());
    group.bench_function("rdp", |b| b.iter(|| black_box(rdp_reference())));
    for h in [1e-4, 3e-4] {
        println!("pld h={h}: ε = {:.6}", pld_reference(h));
        group.bench_function(format!("pld_h{h:e}"), |b| b.iter(|| black_box(pld_reference(h))));
    }
    group.finish();
}

fn request(unit: PrivacyCost) -> ChargeRequest {
    ChargeRequest {
        dataset: "bench".into(),
        principal: "bench".into(),
        cost: unit,
        description: "count()".into(),
    }
}

fn ledger(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ledger = SqliteLedger::open(dir.path().join("ledger.db")).expect("ledger");
    let total =
        PrivacyCost { epsilon: EpsilonAmount::from_units(u64::MAX / 4), delta: Default::default() };
    ledger.create_budget("bench", total).expect("budget");
    let unit = PrivacyCost { epsilon: EpsilonAmount::from_units(1), delta: Default::default() };
    let details = ChargeDetails { mechanism: "laplace".into(), parameters: "scale=1".into() };
    let mut group = c.benchmark_group("ledger_sqlite");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function("reserve_commit_one", |b| {
        b.iter(|| {
            let granted = ledger.reserve_detailed(&request(unit), &details).expect("granted");
            BudgetLedger::commit(&ledger, granted).expect("committed");
        })
    });
    const BATCH: usize = 512;
    let batch: Vec<_> = (0..BATCH).map(|_| (request(unit), details.clone())).collect();
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(format!("reserve_commit_batch_{BATCH}"), |b| {
        b.iter(|| {
            let granted = ledger.reserve_many(&batch).expect("decided");
            let granted = granted.into_iter().map(|r| r.expect("granted")).collect();
            ledger.commit_many(granted).expect("committed");
        })
    });
    group.finish();
}

criterion_group!(benches, accountants, ledger);
criterion_main!(benches);
