//! One proof at model size: commits to `d` 8-bit coordinates (default 100,000, more than the
//! 65,536 values one bulletproof aggregates), proves an L2 bound, encodes, decodes and verifies
//! it, and prints the time of each step and the proof's size. A single run, not a criterion
//! benchmark: one proof of this size takes minutes.
//!
//! Run: `taskset -c 1 cargo run --release -p privacy-mpc --example norm_proof -- 100000`.

#![allow(clippy::unwrap_used)] // An example: any failure is shown at once.
#![allow(clippy::print_stdout)] // It reports its timings.

use std::time::Instant;

use privacy_core::SecureRng;
use privacy_mpc::zkp::{BoundedNormProof, CommittedVector, NormBound};
use privacy_mpc::PedersenGenerators;

fn main() {
    let d: usize = std::env::args().nth(1).map_or(100_000, |a| a.parse().unwrap());
    let mut rng = SecureRng::from_os_entropy().unwrap();
    let gens = PedersenGenerators::standard();
    let values: Vec<i64> = (0..d as i64).map(|i| (i * 7919) % 255 - 127).collect();
    let squared_norm: u64 = values.iter().map(|v| (v * v) as u64).sum();
    let bound = NormBound::L2 { coordinate_bits: 8, squared_norm };
    let start = Instant::now();
    let vector = CommittedVector::commit(&gens, &values, &mut rng).unwrap();
    let committed = start.elapsed();
    let proof = vector.prove(b"fl-round", &gens, &bound, &mut rng).unwrap();
    let proved = start.elapsed() - committed;
    let bytes = proof.to_bytes();
    let decode_start = Instant::now();
    let back = BoundedNormProof::from_bytes(&bytes).unwrap();
    let decoded = decode_start.elapsed();
    let verify_start = Instant::now();
    back.verify(b"fl-round", &gens, &bound, vector.commitments(), &mut rng).unwrap();
    let verified = verify_start.elapsed();
    println!(
        "d = {d}: commit {:.2} s, prove {:.2} s, decode {:.2} s, verify {:.2} s, proof {} bytes ({:.1} per coordinate)",
        committed.as_secs_f64(),
        proved.as_secs_f64(),
        decoded.as_secs_f64(),
        verified.as_secs_f64(),
        bytes.len(),
        bytes.len() as f64 / d as f64
    );
}
