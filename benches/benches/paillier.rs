//! Paillier (2048 and 3072 bits) on one core: public-key and key-holder encryption, encryption
//! from the precomputed pool, CRT decryption, addition, plaintext addition, small scalar
//! multiplication and re-randomization. With `--features paillier-peer`, libpaillier 0.6 on its
//! num-bigint backend (crates.io) runs the same operations on the same keys in the same run.
//! python-paillier with gmpy2 runs beside it through `benches/python_paillier.sh` (same
//! operations, same key sizes).
//!
//! Run: `cargo bench -p medi-privacy-benches --features paillier-peer --bench paillier`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use num_bigint::BigUint;
use privacy_core::SecureRng;
use privacy_mpc::paillier::{RandomnessPool, SecretKey};

const KEYS: [(&str, &str); 2] = [
    ("2048", include_str!("../../crates/privacy-mpc/tests/data/paillier-2048-a.key.hex")),
    ("3072", include_str!("../../crates/privacy-mpc/tests/data/paillier-3072-a.key.hex")),
];

fn load(hex_text: &str, rng: &mut SecureRng) -> SecretKey {
    let bytes = hex::decode(hex_text.trim()).expect("hex");
    SecretKey::from_bytes(&bytes, rng).expect("test key")
}

fn paillier(c: &mut Criterion) {
    let mut rng = SecureRng::seeded_for_tests_only(1);
    for (bits, hex_text) in KEYS {
        let key = load(hex_text, &mut rng);
        let pk = key.public().clone();
        let m = BigUint::from(123_456_789u64);
        let a = pk.encrypt(&m, &mut rng).expect("encrypt");
        let b = pk.encrypt(&m, &mut rng).expect("encrypt");
        let mut group = c.benchmark_group(format!("paillier-{bits}"));
        group.sample_size(10).measurement_time(Duration::from_secs(3));
        group.bench_function("encrypt (public key)", |bench| {
            bench.iter(|| pk.encrypt(black_box(&m), &mut rng).expect("encrypt"))
        });
        group.bench_function("encrypt (key holder, CRT)", |bench| {
            bench.iter(|| key.encrypt(black_box(&m), &mut rng).expect("encrypt"))
        });
        group.bench_function("r^N precompute (public key)", |bench| {
            bench.iter(|| pk.random_nth_power(&mut rng))
        });
        let pool = RandomnessPool::new(&pk);
        group.bench_function("encrypt (from pool)", |bench| {
            bench.iter_batched(
                || {
                    if pool.is_empty() {
                        pool.fill_as_key_holder(&key, 64, &mut rng).expect("fill");
                    }
                },
                |()| pool.encrypt(black_box(&m)).expect("pool"),
                // Setup runs before each encryption: a batched setup would run many times
                // before the encryptions and could not keep the pool from running dry.
                BatchSize::PerIteration,
            )
        });
        group.bench_function("decrypt (CRT)", |bench| bench.iter(|| key.decrypt(black_box(&a))));
        group.bench_function("add", |bench| bench.iter(|| pk.add(black_box(&a), &b)));
        group.bench_function("add plaintext", |bench| {
            bench.iter(|| pk.add_plain(black_box(&a), &m))
        });
        let small = BigUint::from(40_000u32);
        group.bench_function("scalar mul (16-bit)", |bench| {
            bench.iter(|| pk.mul_scalar(black_box(&a), &small))
        });
        group.bench_function("re-randomize", |bench| {
            bench.iter(|| pk.rerandomize(black_box(&a), &mut rng))
        });
        group.bench_function("modpow only, 4096-bit modulus, 2048-bit exponent", |bench| {
            bench.iter(|| a.value().modpow(pk.n(), pk.n_squared()))
        });
        group.finish();
        #[cfg(feature = "paillier-peer")]
        peer::libpaillier(c, bits, hex_text);
    }
}

/// libpaillier 0.6 (num-bigint backend through unknown_order), on the same primes.
#[cfg(feature = "paillier-peer")]
mod peer {
    use super::*;
    use libpaillier::unknown_order::BigNumber;
    use libpaillier::{DecryptionKey, EncryptionKey};
    use privacy_mpc::wire::{ObjectType, WireReader};

    /// The two primes of a key file, read with the project's own wire reader.
    fn primes(hex_text: &str) -> (BigNumber, BigNumber) {
        let bytes = hex::decode(hex_text.trim()).expect("hex");
        let mut reader =
            WireReader::new(&bytes, ObjectType::PaillierSecretKey, "key").expect("key");
        let mut prime = || BigNumber::from_slice(reader.uint(512).expect("prime").to_bytes_be());
        (prime(), prime())
    }

    pub(super) fn libpaillier(c: &mut Criterion, bits: &str, hex_text: &str) {
        let (p, q) = primes(hex_text);
        let dk = DecryptionKey::with_primes_unchecked(&p, &q).expect("key");
        let ek = EncryptionKey::from(&dk);
        let m = 123_456_789u64.to_be_bytes();
        let (a, _) = ek.encrypt(m, None).expect("encrypt");
        let (b, _) = ek.encrypt(m, None).expect("encrypt");
        assert_eq!(dk.decrypt(&a).expect("decrypt"), BigNumber::from_slice(m).to_bytes());
        let mut group = c.benchmark_group(format!("libpaillier-{bits}"));
        group.sample_size(10).measurement_time(Duration::from_secs(3));
        group.bench_function("encrypt (public key)", |bench| {
            bench.iter(|| ek.encrypt(black_box(m), None).expect("encrypt"))
        });
        group.bench_function("decrypt", |bench| bench.iter(|| dk.decrypt(black_box(&a))));
        group.bench_function("add", |bench| bench.iter(|| ek.add(black_box(&a), &b)));
        let small = BigNumber::from(40_000u64);
        group.bench_function("scalar mul (16-bit)", |bench| {
            bench.iter(|| ek.mul(black_box(&a), &small))
        });
        group.finish();
    }
}

criterion_group!(benches, paillier);
criterion_main!(benches);
