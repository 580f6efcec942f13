//! A quick operations-per-second probe of Paillier and ElGamal, single-threaded, that builds
//! without the benches package (and so without polars): the same operations as
//! `benches/benches/{paillier,elgamal}.rs` and `benches/python_paillier.py`, for a fast
//! side-by-side run with python-paillier on a busy machine.
//!
//! Run: `cargo run --release -p privacy-mpc --example speed`.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)] // A measurement script.

use std::hint::black_box;
use std::time::Instant;

use num_bigint::BigUint;
use privacy_core::{NullAuditSink, SecureRng};
use privacy_mpc::audit::AuditContext;
use privacy_mpc::elgamal::{self, DiscreteLogTable};
use privacy_mpc::paillier::{RandomnessPool, SecretKey};

fn rate<T>(mut f: impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed().as_secs_f64() < 2.0 {
        black_box(f());
        count += 1;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn paillier(bits: &str, hex_text: &str, rng: &mut SecureRng) {
    let key = SecretKey::from_bytes(&hex::decode(hex_text.trim()).unwrap(), rng).unwrap();
    let pk = key.public().clone();
    let m = BigUint::from(123_456_789u64);
    let (a, b) = (pk.encrypt(&m, rng).unwrap(), pk.encrypt(&m, rng).unwrap());
    let small = BigUint::from(40_000u32);
    let report = |name: &str, ops: f64| println!("privacy-mpc {bits}: {name}: {ops:.0} ops/s");
    report("encrypt (public key)", rate(|| pk.encrypt(&m, rng).unwrap()));
    report("encrypt (key holder, CRT)", rate(|| key.encrypt(&m, rng).unwrap()));
    let pool = RandomnessPool::new(&pk);
    pool.fill_as_key_holder(&key, 300, rng).unwrap();
    let start = Instant::now();
    let mut n = 0;
    while pool.encrypt(&m).is_ok() {
        n += 1;
    }
    report("encrypt (from pool)", f64::from(n) / start.elapsed().as_secs_f64());
    report("decrypt (CRT)", rate(|| key.decrypt(&a).unwrap()));
    report("add", rate(|| pk.add(&a, &b).unwrap()));
    report("add plaintext", rate(|| pk.add_plain(&a, &small).unwrap()));
    report("scalar mul (16-bit)", rate(|| pk.mul_scalar(&a, &small).unwrap()));
    report(
        "modpow only, N^2 modulus, N exponent",
        rate(|| a.value().modpow(pk.n(), pk.n_squared())),
    );
}

fn main() {
    let mut rng = SecureRng::seeded_for_tests_only(1);
    paillier("2048", include_str!("../tests/data/paillier-2048-a.key.hex"), &mut rng);
    paillier("3072", include_str!("../tests/data/paillier-3072-a.key.hex"), &mut rng);
    let sink = NullAuditSink;
    let (sk, pk) = elgamal::SecretKey::generate(&mut rng, &AuditContext::new(&sink, "s")).unwrap();
    let (a, b) = (pk.encrypt(1_000, &mut rng), pk.encrypt(-7, &mut rng));
    println!("elgamal: encrypt: {:.0} ops/s", rate(|| pk.encrypt(42, &mut rng)));
    println!("elgamal: add: {:.0} ops/s", rate(|| black_box(a) + black_box(b)));
    let start = Instant::now();
    let table = DiscreteLogTable::new(20).unwrap();
    println!("elgamal: 2^20 table built in {:.2} s", start.elapsed().as_secs_f64());
    for m in [3_000_000_000i64, 5] {
        let c = pk.encrypt(m, &mut rng);
        let per_second = rate(|| sk.decrypt(&c, &table, 0, 32).unwrap());
        println!("elgamal: decrypt 32-bit (m = {m}): {:.2} ms", 1000.0 / per_second);
    }
}
