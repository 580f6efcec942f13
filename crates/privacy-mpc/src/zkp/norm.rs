//! A proof that a committed integer vector has a bounded Euclidean norm, for `privacy-fl`
//! (a client proves its update is clipped without revealing it).
//!
//! **Statement.** Given Pedersen commitments `C_i = v_i·G + r_i·H` (`i < d`), a coordinate width
//! `b ∈ {8, 16, 32}` and a bound `B² < 2⁶⁴`, the prover knows openings with
//! (1) every `v_i ∈ [−2^(b−1), 2^(b−1))` as an integer, and
//! (2) `Σ v_i² ≤ B²` over the integers.
//! Real-valued updates are scaled and rounded to integers by the caller, and `B²` is the
//! squared clipping bound in those units.
//!
//! **Construction.**
//! - (1): an aggregated range proof ([`super::range`]) that `v_i + 2^(b−1) ∈ [0, 2^b)` on the
//!   commitments `C_i + 2^(b−1)·G`.
//! - Squares: for each `i` a commitment `Q_i = v_i²·G + q_i·H` and a Σ-proof that the value in
//!   `Q_i` is the square of the value in `C_i`: knowledge of `(v, r, t)` with `C_i = v·G + r·H`
//!   and `Q_i = v·C_i + t·H` (then `t = q_i − v·r_i`). The second equation forces the value of
//!   `Q_i` to be `v²` by binding of the commitments (the standard product argument, e.g. Bünz et
//!   al. 2018 §4 and Camenisch–Michels 1999).
//! - (2): the homomorphic sum `S = Σ Q_i` commits to `s = Σ v_i²` mod ℓ; a 64-bit range proof on
//!   `B²·G − S` shows `B² − s ∈ [0, 2⁶⁴)`.
//!
//! **Why (2) holds over the integers**: by (1), `Σ v_i² < d·2^(2b−2) ≤ 2²⁰·2⁶² < ℓ` (at most
//! 2²⁰ coordinates), so `s` is the exact integer sum; if it exceeded `B²`, then `B² − s mod ℓ`
//! would be at least `ℓ − 2⁸²`, far outside `[0, 2⁶⁴)`. Zero knowledge: every part is an
//! HVZK Σ-protocol or a bulletproof, compiled with one transcript over the whole statement.
//!
//! Size: `d` square commitments and Σ-proofs (`160·d` bytes) plus two logarithmic range proofs.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;

use privacy_core::SecureRng;

use super::range::RangeProof;
use super::transcript::{transcript, TranscriptExt};
use crate::commit::{Commitment, PedersenGenerators};
use crate::error::{MpcError, Result};
use crate::group::{random_scalar, scalar_from_i64};

/// The most coordinates a norm proof covers (keeps `Σ v_i²` below ℓ).
pub const MAX_DIMENSION: usize = 1 << 20;

/// The public parameters of a norm statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormBound {
    /// Coordinate width `b` (8, 16 or 32): `v_i ∈ [−2^(b−1), 2^(b−1))`.
    pub coordinate_bits: u32,
    /// `B²`: the largest allowed `Σ v_i²`.
    pub squared_norm: u64,
}

/// Σ-proof that `Q` commits to the square of the value in `C`.
#[derive(Clone, Copy, Debug)]
struct SquareProof {
    a1: RistrettoPoint,
    a2: RistrettoPoint,
    z_v: Scalar,
    z_r: Scalar,
    z_t: Scalar,
}

/// The proof.
#[derive(Clone, Debug)]
pub struct BoundedNormProof {
    coordinates: RangeProof,
    squares: Vec<Commitment>,
    square_proofs: Vec<SquareProof>,
    bound: RangeProof,
}

fn offset(bound: &NormBound) -> Scalar {
    Scalar::from(1u64 << (bound.coordinate_bits - 1))
}

fn statement_transcript(
    context: &[u8],
    gens: &PedersenGenerators,
    bound: &NormBound,
    commitments: &[Commitment],
    squares: &[Commitment],
) -> Transcript {
    let mut t = transcript(b"bounded-norm");
    t.append_message(b"context", context);
    t.append_point(b"G", &gens.g());
    t.append_point(b"H", &gens.h());
    t.append_u64(b"b", u64::from(bound.coordinate_bits));
    t.append_u64(b"B2", bound.squared_norm);
    t.append_u64(b"d", commitments.len() as u64);
    commitments.iter().for_each(|c| t.append_point(b"C", c.as_point()));
    squares.iter().for_each(|q| t.append_point(b"Q", q.as_point()));
    t
}

/// The sub-contexts of the two range proofs: the caller's context and the whole statement's
/// transcript state are bound through a challenge of the main transcript.
fn sub_context(t: &mut Transcript, label: &'static [u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    t.challenge_bytes(label, &mut out);
    out
}

fn check(bound: &NormBound, d: usize) -> Result<()> {
    if ![8, 16, 32].contains(&bound.coordinate_bits) {
        return Err(MpcError::InvalidParameter("coordinate bits must be 8, 16 or 32"));
    }
    if d == 0 || d > MAX_DIMENSION {
        return Err(MpcError::InvalidParameter("dimension outside 1..=2^20"));
    }
    Ok(())
}

impl BoundedNormProof {
    /// Proves the statement for `values` committed as `commit(v_i, blindings[i])`.
    pub fn prove(
        context: &[u8],
        gens: &PedersenGenerators,
        bound: &NormBound,
        values: &[i64],
        blindings: &[Scalar],
        rng: &mut SecureRng,
    ) -> Result<Self> {
        check(bound, values.len())?;
        if blindings.len() != values.len() {
            return Err(MpcError::InvalidParameter("one blinding per value"));
        }
        let half = 1i64 << (bound.coordinate_bits - 1);
        if values.iter().any(|&v| v < -half || v >= half) {
            return Err(MpcError::EncodingRange("coordinate outside its declared width"));
        }
        let norm: u128 = values.iter().map(|&v| (i128::from(v) * i128::from(v)) as u128).sum();
        if norm > u128::from(bound.squared_norm) {
            return Err(MpcError::EncodingRange("squared norm above the bound"));
        }
        let commitments: Vec<Commitment> = values
            .iter()
            .zip(blindings)
            .map(|(&v, r)| gens.commit(&scalar_from_i64(v), r))
            .collect();
        let q_blindings: Vec<Scalar> = values.iter().map(|_| random_scalar(rng)).collect();
        let squares: Vec<Commitment> = values
            .iter()
            .zip(&q_blindings)
            .map(|(&v, q)| gens.commit(&scalar_from_i64(v * v), q))
            .collect();
        let mut t = statement_transcript(context, gens, bound, &commitments, &squares);
        let square_proofs =
            prove_squares(&mut t, gens, values, blindings, &q_blindings, &commitments, rng);

        let shifted: Vec<u64> = values.iter().map(|&v| (v + half) as u64).collect();
        let coordinates = RangeProof::prove(
            &sub_context(&mut t, b"coordinates"),
            gens,
            &shifted,
            blindings,
            bound.coordinate_bits,
            rng,
        )?;
        // norm ≤ B² < 2^64, so the difference fits.
        let slack = bound.squared_norm - norm as u64;
        let q_sum: Scalar = q_blindings.iter().sum();
        let bound_proof =
            RangeProof::prove(&sub_context(&mut t, b"bound"), gens, &[slack], &[-q_sum], 64, rng)?;
        Ok(Self { coordinates, squares, square_proofs, bound: bound_proof })
    }

    /// Verifies the statement for `commitments`.
    pub fn verify(
        &self,
        context: &[u8],
        gens: &PedersenGenerators,
        bound: &NormBound,
        commitments: &[Commitment],
        rng: &mut SecureRng,
    ) -> Result<()> {
        check(bound, commitments.len())?;
        if self.squares.len() != commitments.len() || self.square_proofs.len() != commitments.len()
        {
            return Err(MpcError::ProofRejected("bounded norm"));
        }
        let mut t = statement_transcript(context, gens, bound, commitments, &self.squares);
        verify_squares(&mut t, gens, commitments, &self.squares, &self.square_proofs)?;
        let shift = gens.g() * offset(bound);
        let shifted: Vec<Commitment> =
            commitments.iter().map(|c| Commitment::from_point(c.as_point() + shift)).collect();
        self.coordinates.verify(
            &sub_context(&mut t, b"coordinates"),
            gens,
            &shifted,
            bound.coordinate_bits,
            rng,
        )?;
        let sum: Commitment = self.squares.iter().copied().sum();
        let slack = Commitment::from_point(gens.g() * Scalar::from(bound.squared_norm)) - sum;
        self.bound.verify(&sub_context(&mut t, b"bound"), gens, &[slack], 64, rng)
    }
}

fn prove_squares(
    t: &mut Transcript,
    gens: &PedersenGenerators,
    values: &[i64],
    blindings: &[Scalar],
    q_blindings: &[Scalar],
    commitments: &[Commitment],
    rng: &mut SecureRng,
) -> Vec<SquareProof> {
    let nonces: Vec<[Scalar; 3]> = values
        .iter()
        .map(|_| [random_scalar(rng), random_scalar(rng), random_scalar(rng)])
        .collect();
    let firsts: Vec<(RistrettoPoint, RistrettoPoint)> = nonces
        .iter()
        .zip(commitments)
        .map(|([kv, kr, kt], c)| {
            (gens.commit(kv, kr).as_point().to_owned(), c.as_point() * kv + gens.h() * kt)
        })
        .collect();
    for (a1, a2) in &firsts {
        t.append_point(b"A1", a1);
        t.append_point(b"A2", a2);
    }
    let c = t.challenge_scalar(b"square-challenge");
    (0..values.len())
        .map(|i| {
            let v = scalar_from_i64(values[i]);
            let tt = q_blindings[i] - v * blindings[i];
            let [kv, kr, kt] = nonces[i];
            SquareProof {
                a1: firsts[i].0,
                a2: firsts[i].1,
                z_v: kv + c * v,
                z_r: kr + c * blindings[i],
                z_t: kt + c * tt,
            }
        })
        .collect()
}

fn verify_squares(
    t: &mut Transcript,
    gens: &PedersenGenerators,
    commitments: &[Commitment],
    squares: &[Commitment],
    proofs: &[SquareProof],
) -> Result<()> {
    for p in proofs {
        t.append_point(b"A1", &p.a1);
        t.append_point(b"A2", &p.a2);
    }
    let c = t.challenge_scalar(b"square-challenge");
    let minus_one = -Scalar::ONE;
    for ((p, cc), q) in proofs.iter().zip(commitments).zip(squares) {
        // z_v·G + z_r·H = A1 + c·C   and   z_v·C + z_t·H = A2 + c·Q.
        let first = RistrettoPoint::vartime_multiscalar_mul(
            [p.z_v, p.z_r, minus_one, -c],
            [gens.g(), gens.h(), p.a1, *cc.as_point()],
        );
        let second = RistrettoPoint::vartime_multiscalar_mul(
            [p.z_v, p.z_t, minus_one, -c],
            [*cc.as_point(), gens.h(), p.a2, *q.as_point()],
        );
        if !first.is_identity() || !second.is_identity() {
            return Err(MpcError::ProofRejected("bounded norm (square)"));
        }
    }
    Ok(())
}
