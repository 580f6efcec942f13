//! Exponential ElGamal on Ristretto255 on one core: encryption (with the constant-time short
//! plaintext multiplication, and the full-width path beside it), ciphertext addition, 32-bit
//! decryption with a 2^20-entry baby-step table (built once, outside the measurement; its
//! build is measured on its own), and batch decryption beside one-by-one decryption.
//!
//! Run: `taskset -c 1 cargo bench -p medi-privacy-benches --bench elgamal`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use privacy_core::{NullAuditSink, SecureRng};
use privacy_mpc::audit::AuditContext;
use privacy_mpc::elgamal::{Ciphertext, DiscreteLogTable, SecretKey};

fn elgamal(c: &mut Criterion) {
    let mut rng = SecureRng::seeded_for_tests_only(1);
    let sink = NullAuditSink;
    let (sk, pk) = SecretKey::generate(&mut rng, &AuditContext::new(&sink, "bench")).expect("key");
    let a = pk.encrypt(1_000, &mut rng);
    let b = pk.encrypt(-7, &mut rng);
    let mut group = c.benchmark_group("elgamal-ristretto255");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    group.bench_function("encrypt", |bench| bench.iter(|| pk.encrypt(black_box(42), &mut rng)));
    let m = privacy_mpc::group::scalar_from_i64(42);
    group.bench_function("encrypt, full-width m·G (the former path)", |bench| {
        bench.iter(|| pk.encrypt_scalar(black_box(&m), &mut rng))
    });
    group.bench_function("add", |bench| bench.iter(|| black_box(a) + black_box(b)));
    let table = DiscreteLogTable::new(20).expect("table");
    let big = pk.encrypt(3_000_000_000, &mut rng);
    group.bench_function("decrypt 32-bit (2^20 table, 2^12 fixed giant steps)", |bench| {
        bench.iter(|| sk.decrypt(black_box(&big), &table, 0, 32).expect("in range"))
    });
    let small = pk.encrypt(5, &mut rng);
    group.bench_function("decrypt 32-bit, plaintext 5 (same step count)", |bench| {
        bench.iter(|| sk.decrypt(black_box(&small), &table, 0, 32).expect("in range"))
    });
    group.finish();

    let mut group = c.benchmark_group("elgamal-batch-decryption");
    group.sample_size(10).measurement_time(Duration::from_secs(3));
    let cts: Vec<Ciphertext> = (0..1000).map(|v| pk.encrypt(v * 37 - 18_000, &mut rng)).collect();
    let small_table = DiscreteLogTable::new(16).expect("table");
    let audit = AuditContext::new(&sink, "bench");
    group.throughput(Throughput::Elements(cts.len() as u64));
    group.bench_function("1000 x 16-bit, batch (2^16 table)", |bench| {
        bench.iter(|| {
            sk.decrypt_batch_audited(black_box(&cts), &small_table, (-(1 << 15), 16), &audit)
                .expect("in range")
        })
    });
    group.bench_function("1000 x 16-bit, one by one (2^16 table)", |bench| {
        bench.iter(|| {
            cts.iter()
                .map(|c| sk.decrypt(c, &small_table, -(1 << 15), 16).expect("in range"))
                .collect::<Vec<_>>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("elgamal-table");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("build 2^20 baby steps", |bench| {
        bench.iter(|| DiscreteLogTable::new(20).expect("table"))
    });
    group.finish();
}

criterion_group!(benches, elgamal);
criterion_main!(benches);
