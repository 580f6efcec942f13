//! An operations-per-second probe of the issue-7 targets outside Paillier, single-threaded,
//! that builds without the benches package (and so without polars): exponential ElGamal
//! (encryption, addition, 32-bit decryption, the baby-step table, batch decryption), Shamir
//! 7-of-10 on a 32-byte secret, and one ECDH-PSI pass each way over 10,000 identifiers — the
//! operations of `benches/benches/{elgamal,mpc}.rs`. Each figure is the best of three rounds
//! of about a second (rounds interleaved across operations), so a burst of load from other
//! processes lowers a figure less.
//!
//! Run: `taskset -c 1 cargo run --release -p privacy-mpc --example speed_proto`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // A measurement script.

use std::hint::black_box;
use std::time::Instant;

use privacy_core::{NullAuditSink, SecureRng};
use privacy_mpc::audit::AuditContext;
use privacy_mpc::elgamal::{Ciphertext, DiscreteLogTable, SecretKey};
use privacy_mpc::psi::{normalise_identifier, PsiKey};
use privacy_mpc::sharing::shamir::recover_bytes;
use privacy_mpc::sharing::Shamir;

/// Calls per second of `f` over about `seconds`.
fn rate<T>(seconds: f64, mut f: impl FnMut() -> T) -> f64 {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        black_box(f());
        count += 1;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let mut rng = SecureRng::seeded_for_tests_only(1);
    let sink = NullAuditSink;
    let audit = AuditContext::new(&sink, "speed");
    let (sk, pk) = SecretKey::generate(&mut rng, &audit).unwrap();
    let start = Instant::now();
    let table = DiscreteLogTable::new(20).unwrap();
    println!("elgamal: 2^20 baby-step table built in {:.2} s", start.elapsed().as_secs_f64());
    let small_table = DiscreteLogTable::new(16).unwrap();
    let (a, b) = (pk.encrypt(1000, &mut rng), pk.encrypt(-7, &mut rng));
    let big = pk.encrypt(3_000_000_000, &mut rng);
    let five = pk.encrypt(5, &mut rng);
    let m = privacy_mpc::group::scalar_from_i64(42);
    let cts: Vec<Ciphertext> = (0..1000).map(|v| pk.encrypt(v * 37 - 18_000, &mut rng)).collect();
    let scheme = Shamir::new(7, 10).unwrap();
    let secret = [0x5au8; 32];
    let shares = scheme.share_bytes(&secret, &mut rng).unwrap();
    let ids: Vec<String> = (0..10_000)
        .map(|i| normalise_identifier(&format!("MRN-{:08}", i * 7919)).unwrap())
        .collect();
    let (ka, kb) = (PsiKey::random(&mut rng), PsiKey::random(&mut rng));
    let blinded = ka.blind(&ids);

    let mut best = vec![0f64; 11];
    for _ in 0..3 {
        let mut ops: Vec<f64> = Vec::new();
        ops.push(rate(1.0, || pk.encrypt(black_box(42), &mut rng)));
        ops.push(rate(1.0, || pk.encrypt_scalar(black_box(&m), &mut rng)));
        ops.push(rate(0.5, || black_box(a) + black_box(b)));
        ops.push(rate(1.0, || sk.decrypt(black_box(&big), &table, 0, 32).unwrap()));
        ops.push(rate(1.0, || sk.decrypt(black_box(&five), &table, 0, 32).unwrap()));
        ops.push(
            1000.0
                * rate(1.0, || {
                    sk.decrypt_batch_audited(&cts, &small_table, (-(1 << 15), 16), &audit).unwrap()
                }),
        );
        ops.push(
            1000.0
                * rate(1.0, || {
                    cts.iter()
                        .map(|c| sk.decrypt(c, &small_table, -(1 << 15), 16).unwrap())
                        .collect::<Vec<_>>()
                }),
        );
        ops.push(rate(1.0, || scheme.share_bytes(black_box(&secret), &mut rng).unwrap()));
        ops.push(rate(1.0, || recover_bytes(black_box(&shares[3..])).unwrap()));
        ops.push(10_000.0 * rate(2.0, || ka.blind(black_box(&ids))));
        ops.push(10_000.0 * rate(2.0, || kb.reblind(black_box(&blinded)).unwrap()));
        for (b, o) in best.iter_mut().zip(ops) {
            *b = b.max(o);
        }
    }
    let names = [
        "elgamal encrypt (ops/s)",
        "elgamal encrypt, full-width m·G (ops/s)",
        "elgamal ciphertext addition (ops/s)",
        "elgamal 32-bit decrypt, m = 3e9 (ops/s)",
        "elgamal 32-bit decrypt, m = 5 (ops/s)",
        "elgamal batch decrypt 1000 x 16-bit (ciphertexts/s)",
        "elgamal one-by-one decrypt 1000 x 16-bit (ciphertexts/s)",
        "shamir 7-of-10 share 32 bytes (ops/s)",
        "shamir 7-of-10 recover 32 bytes (ops/s)",
        "ecdh-psi first pass, 10,000 ids (elements/s)",
        "ecdh-psi second pass, 10,000 ids (elements/s)",
    ];
    for (name, value) in names.iter().zip(best) {
        let per_op = 1e6 / value;
        println!("{name}: {value:.0} ({per_op:.2} µs each)");
    }
}
