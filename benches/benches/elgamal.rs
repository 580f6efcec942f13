//! Exponential ElGamal on Ristretto255 on one core: encryption, ciphertext addition, 32-bit
//! decryption with a 2^20-entry baby-step table (built once, outside the measurement), and
//! a Pedersen commitment for reference.
//!
//! Run: `cargo bench -p medi-privacy-benches --bench elgamal`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use privacy_core::{NullAuditSink, SecureRng};
use privacy_mpc::audit::AuditContext;
use privacy_mpc::elgamal::{DiscreteLogTable, SecretKey};

fn elgamal(c: &mut Criterion) {
    let mut rng = SecureRng::seeded_for_tests_only(1);
    let sink = NullAuditSink;
    let (sk, pk) = SecretKey::generate(&mut rng, &AuditContext::new(&sink, "bench")).expect("key");
    let a = pk.encrypt(1_000, &mut rng);
    let b = pk.encrypt(-7, &mut rng);
    let mut group = c.benchmark_group("elgamal-ristretto255");
    group.sample_size(10).measurement_time(Duration::from_secs(3));
    group.bench_function("encrypt", |bench| bench.iter(|| pk.encrypt(black_box(42), &mut rng)));
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
}

criterion_group!(benches, elgamal);
criterion_main!(benches);
