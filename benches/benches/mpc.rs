//! Secret sharing, ECDH-PSI and Bloom-filter encoding of `privacy-mpc`, one core.
//!
//! - `shamir_7_of_10_32_bytes`: sharing a 32-byte secret into 10 shares with threshold 7, and
//!   recovering it from 7 shares (target: each under 100 µs).
//! - `ecdh_psi_pass`: one pass of ECDH-PSI over 10,000 identifiers: the first pass (hash to
//!   the group, exponentiation, batched compression) and the second (decompression with
//!   canonicity checks, exponentiation, batched compression). Criterion reports elements per
//!   second (target: at least 15,000 per pass).
//! - `pprl_encode_febrl`: encoding the 1,000 FEBRL records with the bundled linkage schema, and
//!   linking 500 against 500 with blocking.
//! - `bounded_norm_proof`: proving and verifying that 1,024 committed 16-bit coordinates have
//!   a bounded Euclidean norm (one chunk), and the L∞ variant.
//!
//! Run: `taskset -c 1 cargo bench -p medi-privacy-benches --bench mpc` (one core, as in
//! `benches/RESULTS-mpc-proto.md`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use privacy_core::SecureRng;
use privacy_mpc::pprl::{link, Encoder, LshBlocking};
use privacy_mpc::psi::{normalise_identifier, PsiKey};
use privacy_mpc::sharing::shamir::recover_bytes;
use privacy_mpc::sharing::Shamir;
use privacy_mpc::zkp::{CommittedVector, NormBound};
use privacy_mpc::PedersenGenerators;

fn shamir(c: &mut Criterion) {
    let mut group = c.benchmark_group("shamir_7_of_10_32_bytes");
    let mut rng = SecureRng::seeded_for_tests_only(1);
    let scheme = Shamir::new(7, 10).expect("valid parameters");
    let secret = [0x5au8; 32];
    group.bench_function("share", |b| {
        b.iter(|| black_box(scheme.share_bytes(black_box(&secret), &mut rng).expect("share")))
    });
    let shares = scheme.share_bytes(&secret, &mut rng).expect("share");
    group.bench_function("recover", |b| {
        b.iter(|| black_box(recover_bytes(black_box(&shares[3..])).expect("recover")))
    });
    group.finish();
}

fn psi(c: &mut Criterion) {
    const N: usize = 10_000;
    let mut group = c.benchmark_group("ecdh_psi_pass");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    let mut rng = SecureRng::seeded_for_tests_only(2);
    let ids: Vec<String> = (0..N)
        .map(|i| normalise_identifier(&format!("MRN-{:08}", i * 7919)).expect("non-empty"))
        .collect();
    let (a, b) = (PsiKey::random(&mut rng), PsiKey::random(&mut rng));
    group.bench_function("first_pass_hash_exponentiate", |bench| {
        bench.iter(|| black_box(a.blind(black_box(&ids))))
    });
    let blinded = a.blind(&ids);
    group.bench_function("second_pass_decode_exponentiate", |bench| {
        bench.iter(|| black_box(b.reblind(black_box(&blinded)).expect("valid points")))
    });
    group.finish();
}

fn febrl_records() -> (String, Vec<Vec<String>>) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/febrl1/");
    let schema = std::fs::read_to_string(format!("{root}linkage-schema.json")).expect("schema");
    let data = std::fs::read_to_string(format!("{root}dataset1.csv")).expect("data");
    let records =
        data.lines().skip(1).map(|l| l.split(',').map(|f| f.trim().to_owned()).collect()).collect();
    (schema, records)
}

fn pprl(c: &mut Criterion) {
    let (schema, records) = febrl_records();
    let encoder = Encoder::new(&schema, b"benchmark secret, 16+ bytes").expect("encoder");
    let mut group = c.benchmark_group("pprl_febrl");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.sample_size(10);
    group.bench_function("encode_1000_records", |b| {
        b.iter(|| black_box(encoder.encode_all(black_box(&records)).expect("encode")))
    });
    let (originals, duplicates): (Vec<_>, Vec<_>) =
        records.iter().cloned().partition(|r| r[0].ends_with("-org"));
    let a = encoder.encode_all(&originals).expect("encode");
    let b = encoder.encode_all(&duplicates).expect("encode");
    group.throughput(Throughput::Elements((a.encodings.len() * b.encodings.len()) as u64));
    group.bench_function("link_500x500_all_pairs", |bench| {
        bench.iter(|| black_box(link(&a, &b, 0.75, None).expect("link")))
    });
    group.bench_function("link_500x500_lsh_blocking", |bench| {
        bench.iter(|| black_box(link(&a, &b, 0.75, Some(LshBlocking::default())).expect("link")))
    });
    group.finish();
}

fn norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("bounded_norm_proof");
    group.sample_size(10);
    let mut rng = SecureRng::seeded_for_tests_only(3);
    let gens = PedersenGenerators::standard();
    let values: Vec<i64> = (0..1024).map(|i| (i * 7919) % 2001 - 1000).collect();
    let squared_norm: u64 = values.iter().map(|v| (v * v) as u64).sum();
    let vector = CommittedVector::commit(&gens, &values, &mut rng).expect("commit");
    group.throughput(Throughput::Elements(values.len() as u64));
    for (name, bound) in [
        ("l2_16bit", NormBound::L2 { coordinate_bits: 16, squared_norm }),
        ("linf", NormBound::LInf { max_abs: 1000 }),
    ] {
        group.bench_function(format!("prove_1024_{name}"), |b| {
            b.iter(|| black_box(vector.prove(b"bench", &gens, &bound, &mut rng).expect("prove")))
        });
        let proof = vector.prove(b"bench", &gens, &bound, &mut rng).expect("prove");
        group.bench_function(format!("verify_1024_{name}"), |b| {
            b.iter(|| {
                proof.verify(b"bench", &gens, &bound, vector.commitments(), &mut rng).expect("ok")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, shamir, psi, pprl, norm);
criterion_main!(benches);
