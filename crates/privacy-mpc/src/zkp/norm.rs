//! A proof that a committed integer vector has a bounded norm, for `privacy-fl`: a client
//! proves its model update is clipped without revealing it, and the server checks the proof
//! against the client's commitments.
//!
//! **Use.** The client commits to its (scaled, rounded) update with
//! [`CommittedVector::commit`], sends [`CommittedVector::commitments_to_bytes`] and the proof
//! ([`CommittedVector::prove`], [`BoundedNormProof::to_bytes`]); the server decodes both with
//! the strict readers [`commitments_from_bytes`] and [`BoundedNormProof::from_bytes`] and calls
//! [`BoundedNormProof::verify`] with the bound it enforces. Real-valued updates are scaled and
//! rounded to integers by the caller; bounds are in those units.
//!
//! **Statements.** Given Pedersen commitments `C_i = v_i·G + r_i·H` (`i < d`,
//! `1 ≤ d ≤ 2^20`), the prover knows openings with
//! - [`NormBound::L2`]: every `v_i ∈ [−2^(b−1), 2^(b−1))` (`b ∈ {8, 16, 32}`) and
//!   `Σ v_i² ≤ B²` over the integers (`B² < 2⁶⁴`), i.e. `‖v‖₂ ≤ B`;
//! - [`NormBound::LInf`]: every `|v_i| ≤ B` (`B < 2⁶³`), i.e. `‖v‖∞ ≤ B`.
//!
//! **Construction (L2).**
//! - Coordinates: range proofs ([`super::range`], bulletproofs) that `v_i + 2^(b−1) ∈ [0, 2^b)`
//!   on the commitments `C_i + 2^(b−1)·G`, aggregated over chunks of `2^`[`CHUNK_BITS`]
//!   coordinates (one bulletproof per chunk, all from one set of generators; the proof names
//!   its chunk size), so any dimension up to
//!   [`MAX_DIMENSION`] is covered (bulletproofs aggregates at most a few thousand values
//!   at a reasonable generator cost; FL models have 10⁵ parameters and more).
//! - Squares: for each `i` a commitment `Q_i = v_i²·G + q_i·H` and a Σ-proof of knowledge of
//!   `(v, r, t)` with `C_i = v·G + r·H` and `Q_i = v·C_i + t·H` (then `t = q_i − v·r_i`). The
//!   second equation forces the value of `Q_i` to be `v²` by binding of the commitments (the
//!   standard product argument, e.g. Bünz et al. 2018 §4, Camenisch–Michels 1999). One
//!   challenge serves all `d` Σ-proofs; the verifier checks all `2d` equations at once with a
//!   random linear combination (one multiscalar multiplication; a false equation survives it
//!   with probability at most `1/ℓ`).
//! - Bound: the sum `S = Σ Q_i` commits to `s = Σ v_i²` mod ℓ; a 64-bit range proof on
//!   `B²·G − S` shows `B² − s ∈ [0, 2⁶⁴)`.
//!
//! *Why the bound holds over the integers*: by the coordinate proofs,
//! `Σ v_i² ≤ d·2^(2b−2) ≤ 2²⁰·2⁶² < ℓ`, so `s` is the exact integer sum; if it exceeded `B²`,
//! `B² − s mod ℓ` would be at least `ℓ − 2⁸²`, far outside `[0, 2⁶⁴)`.
//!
//! **Construction (L∞).** Two chunked range proofs with `k` bits (the smallest of 8, 16, 32,
//! 64 with `2B < 2^k`): `v_i + B ∈ [0, 2^k)` on `C_i + B·G` and `B − v_i ∈ [0, 2^k)` on
//! `B·G − C_i`. Both values are below `2^k ≤ 2⁶⁴` and add up to `2B`, which rules out a
//! wrap modulo ℓ, so `−B ≤ v_i ≤ B`.
//!
//! Zero knowledge: every part is an HVZK Σ-protocol or a bulletproof; one transcript over the
//! whole statement (context, generators, bound, dimension, every `C_i` and `Q_i`) derives the
//! challenges, each range proof getting a sub-context drawn from it.
//!
//! **Sizes and costs**, for `d` coordinates: L2 proofs carry `Q_i` and the Σ-proof
//! (`A1, A2, z_v, z_r, z_t`): 192 bytes per coordinate, plus about 1.2 KB per chunk of
//! coordinates and 0.6 KB for the bound; L∞ proofs about 2.4 KB per chunk. Proving is
//! dominated by the bulletproofs (linear in `d·b`); see `benches/RESULTS-mpc-proto.md`.
//! An L2 proof for `d` above about 340,000 coordinates exceeds one transport message
//! (64 MiB) and must be sent in pieces.

use bulletproofs::BulletproofGens;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use zeroize::{Zeroize, ZeroizeOnDrop};

use privacy_core::SecureRng;

use super::range::{prove_with, RangeProof};
use super::transcript::{transcript, TranscriptExt};
use crate::commit::{Commitment, PedersenGenerators};
use crate::error::{MpcError, Result};
use crate::group::{decode_point, decode_scalar, random_scalar, scalar_from_i64};
use crate::wire::{ObjectType, WireReader, WireWriter};

/// The most coordinates a norm proof covers (keeps `Σ v_i²` below ℓ).
pub const MAX_DIMENSION: usize = 1 << 20;
/// Coordinates per aggregated range proof, as a power of two: `2^10 = 1024`. A proof names
/// its chunk size (at most this), so smaller chunks verify too.
pub const CHUNK_BITS: u32 = 10;
/// The longest bulletproof of one chunk, in bytes (64-bit values, 1024 of them:
/// `(2·16 + 9)·32`), rounded up.
const CHUNK_PROOF_MAX_BYTES: usize = 2048;
/// Kind, coordinate bits, bound, dimension, chunk bits.
const HEADER_LEN: usize = 15;

/// The public parameters of a norm statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormBound {
    /// `‖v‖₂² ≤ squared_norm`, each coordinate in `[−2^(b−1), 2^(b−1))`.
    L2 {
        /// Coordinate width `b` (8, 16 or 32).
        coordinate_bits: u32,
        /// `B²`: the largest allowed `Σ v_i²`.
        squared_norm: u64,
    },
    /// `‖v‖∞ ≤ max_abs`.
    LInf {
        /// `B`: the largest allowed `|v_i|` (below 2⁶³).
        max_abs: u64,
    },
}

impl NormBound {
    fn check(&self, d: usize) -> Result<()> {
        match *self {
            Self::L2 { coordinate_bits, .. } if ![8, 16, 32].contains(&coordinate_bits) => {
                return Err(MpcError::InvalidParameter("coordinate bits must be 8, 16 or 32"));
            }
            Self::LInf { max_abs } if max_abs >= 1 << 63 => {
                return Err(MpcError::InvalidParameter("an l-infinity bound must be below 2^63"));
            }
            _ => {}
        }
        if d == 0 || d > MAX_DIMENSION {
            return Err(MpcError::InvalidParameter("dimension outside 1..=2^20"));
        }
        Ok(())
    }

    /// The range-proof width of the L∞ proofs: the smallest of 8, 16, 32, 64 above `2B`.
    fn linf_bits(max_abs: u64) -> u32 {
        // max_abs < 2^63, so 2·max_abs fits in u64 and has at most 64 significant bits.
        let needed = 64 - (2 * max_abs).leading_zeros();
        [8, 16, 32, 64].into_iter().find(|b| *b >= needed).unwrap_or(64)
    }

    fn header(&self, d: usize, chunk_bits: u32) -> [u8; HEADER_LEN] {
        let (kind, bits, bound) = match *self {
            Self::L2 { coordinate_bits, squared_norm } => (1u8, coordinate_bits, squared_norm),
            Self::LInf { max_abs } => (2u8, 0, max_abs),
        };
        let mut out = [0u8; HEADER_LEN];
        out[0] = kind;
        // Coordinate bits are 0, 8, 16 or 32.
        out[1] = bits as u8;
        out[2..10].copy_from_slice(&bound.to_be_bytes());
        // d <= MAX_DIMENSION < 2^32.
        out[10..14].copy_from_slice(&(d as u32).to_be_bytes());
        // chunk_bits <= CHUNK_BITS.
        out[14] = chunk_bits as u8;
        out
    }
}

/// A client's committed vector: the values, their blindings and the commitments. The values
/// and blindings are zeroized on drop; `Debug` shows only the dimension.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct CommittedVector {
    values: Vec<i64>,
    blindings: Vec<Scalar>,
    #[zeroize(skip)]
    commitments: Vec<Commitment>,
}

impl std::fmt::Debug for CommittedVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CommittedVector({} coordinates)", self.values.len())
    }
}

/// `H` as a fixed-base table: provers multiply it thousands of times.
fn h_table(gens: &PedersenGenerators) -> RistrettoBasepointTable {
    RistrettoBasepointTable::create(&gens.h())
}

impl CommittedVector {
    /// Commits to `values` (1 to [`MAX_DIMENSION`] of them) with fresh blindings.
    pub fn commit(gens: &PedersenGenerators, values: &[i64], rng: &mut SecureRng) -> Result<Self> {
        let blindings: Vec<Scalar> = values.iter().map(|_| random_scalar(rng)).collect();
        Self::with_blindings(gens, values, blindings)
    }

    /// Commits to `values` with the given blindings (for vectors committed elsewhere).
    pub fn with_blindings(
        gens: &PedersenGenerators,
        values: &[i64],
        blindings: Vec<Scalar>,
    ) -> Result<Self> {
        if values.is_empty() || values.len() > MAX_DIMENSION || blindings.len() != values.len() {
            return Err(MpcError::InvalidParameter("1..=2^20 values, one blinding each"));
        }
        let h = h_table(gens);
        let commitments = values
            .iter()
            .zip(&blindings)
            .map(|(&v, r)| commit_fast(gens, &h, &scalar_from_i64(v), r))
            .collect();
        Ok(Self { values: values.to_vec(), blindings, commitments })
    }

    /// The commitments, for the verifier.
    pub fn commitments(&self) -> &[Commitment] {
        &self.commitments
    }

    /// The commitments' wire encoding ([`commitments_from_bytes`] reads it).
    pub fn commitments_to_bytes(&self) -> Vec<u8> {
        commitments_to_bytes(&self.commitments)
    }

    /// Proves `bound` for this vector, bound to `context` (a round number, the client's name).
    pub fn prove(
        &self,
        context: &[u8],
        gens: &PedersenGenerators,
        bound: &NormBound,
        rng: &mut SecureRng,
    ) -> Result<BoundedNormProof> {
        BoundedNormProof::prove(context, gens, bound, &self.values, &self.blindings, rng)
    }

    #[cfg(test)]
    fn prove_in_chunks(
        &self,
        context: &[u8],
        bound: &NormBound,
        chunk_bits: u32,
        rng: &mut SecureRng,
    ) -> Result<BoundedNormProof> {
        let gens = PedersenGenerators::standard();
        let witness = (self.values.as_slice(), self.blindings.as_slice());
        BoundedNormProof::prove_chunked(context, &gens, bound, witness, chunk_bits, rng)
    }
}

/// `v·G + r·H` with the fixed-base tables (the same point as [`PedersenGenerators::commit`]
/// for the standard `G`).
fn commit_fast(
    gens: &PedersenGenerators,
    h: &RistrettoBasepointTable,
    value: &Scalar,
    blinding: &Scalar,
) -> Commitment {
    let g_part = if gens.g() == curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT {
        RistrettoPoint::mul_base(value)
    } else {
        gens.g() * value
    };
    Commitment::from_point(g_part + h * blinding)
}

/// The wire encoding of a list of commitments.
pub fn commitments_to_bytes(commitments: &[Commitment]) -> Vec<u8> {
    let bytes: Vec<u8> = commitments.iter().flat_map(Commitment::to_bytes).collect();
    WireWriter::new(ObjectType::CommitmentVector).field(&bytes).finish()
}

/// Decodes a list of 1 to [`MAX_DIMENSION`] canonical commitments.
pub fn commitments_from_bytes(bytes: &[u8]) -> Result<Vec<Commitment>> {
    let what = "commitment vector";
    let mut r = WireReader::new(bytes, ObjectType::CommitmentVector, what)?;
    let field = r.field(32 * MAX_DIMENSION)?;
    r.finish()?;
    if field.is_empty() || field.len() % 32 != 0 {
        return Err(MpcError::Malformed { what, reason: "not a list of points" });
    }
    field.chunks(32).map(Commitment::from_bytes).collect()
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

/// The L2-specific part of a proof.
#[derive(Clone, Debug)]
struct Squares {
    /// `Q_i`, as points and as their encodings (which the transcript absorbs).
    points: Vec<RistrettoPoint>,
    encoded: Vec<u8>,
    proofs: Vec<SquareProof>,
    /// `A1_i ‖ A2_i` of every Σ-proof, encoded (absorbed by the transcript and sent).
    a_encoded: Vec<u8>,
    /// The 64-bit range proof of `B² − Σ v_i²`.
    bound: RangeProof,
}

/// The proof.
#[derive(Clone, Debug)]
pub struct BoundedNormProof {
    bound: NormBound,
    dimension: usize,
    /// Coordinates per range proof: `2^chunk_bits`.
    chunk_bits: u32,
    /// L2: the coordinates' chunks; L∞: the lower chunks then the upper chunks.
    chunks: Vec<RangeProof>,
    squares: Option<Squares>,
}

fn encode_points(points: &[RistrettoPoint]) -> Vec<u8> {
    points.iter().flat_map(|p| p.compress().to_bytes()).collect()
}

fn statement_transcript(
    context: &[u8],
    gens: &PedersenGenerators,
    header: &[u8; HEADER_LEN],
    commitments: &[u8],
    squares: &[u8],
) -> Transcript {
    let mut t = transcript(b"bounded-norm/v2");
    t.append_message(b"context", context);
    t.append_point(b"G", &gens.g());
    t.append_point(b"H", &gens.h());
    t.append_message(b"statement", header);
    t.append_message(b"C", commitments);
    t.append_message(b"Q", squares);
    t
}

/// The sub-context of range proof `index` of a family: the caller's context and the whole
/// statement are bound through a challenge of the main transcript.
fn sub_context(t: &mut Transcript, label: &'static [u8], index: usize) -> [u8; 32] {
    t.append_u64(b"range-proof", index as u64);
    let mut out = [0u8; 32];
    t.challenge_bytes(label, &mut out);
    out
}

/// How a vector is cut into range proofs: `2^bits` coordinates each.
#[derive(Clone, Copy)]
struct Chunks {
    bits: u32,
}

impl Chunks {
    fn size(self) -> usize {
        1 << self.bits
    }

    fn count(self, d: usize) -> usize {
        d.div_ceil(self.size())
    }

    /// Chunk `k` of `items`.
    fn of<T>(self, items: &[T], k: usize) -> &[T] {
        &items[k * self.size()..((k + 1) * self.size()).min(items.len())]
    }

    /// Generators for chunks of `bits`-bit values of a vector of `d` coordinates.
    fn gens(self, bits: u32, d: usize) -> BulletproofGens {
        BulletproofGens::new(bits as usize, d.min(self.size()).next_power_of_two())
    }

    /// Proves each chunk of `values` (committed with `blindings`) lies in `[0, 2^bits)`.
    #[allow(clippy::too_many_arguments)] // The transcript, the statement and the witness.
    fn prove(
        self,
        t: &mut Transcript,
        label: &'static [u8],
        gens: &PedersenGenerators,
        values: &[u64],
        blindings: &[Scalar],
        bits: u32,
        rng: &mut SecureRng,
    ) -> Result<Vec<RangeProof>> {
        let bp_gens = self.gens(bits, values.len());
        (0..self.count(values.len()))
            .map(|k| {
                let context = sub_context(t, label, k);
                let (v, r) = (self.of(values, k), self.of(blindings, k));
                prove_with(&bp_gens, &context, gens, v, r, bits, rng)
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)] // The transcript, the statement and the proofs.
    fn verify(
        self,
        t: &mut Transcript,
        label: &'static [u8],
        gens: &PedersenGenerators,
        proofs: &[RangeProof],
        commitments: &[CompressedRistretto],
        bits: u32,
        rng: &mut SecureRng,
    ) -> Result<()> {
        let bp_gens = self.gens(bits, commitments.len());
        for (k, proof) in proofs.iter().enumerate() {
            let context = sub_context(t, label, k);
            proof.verify_with(&bp_gens, &context, gens, self.of(commitments, k), bits, rng)?;
        }
        Ok(())
    }
}

/// `shift·G + C_i` (or `shift·G − C_i` when `negate`), compressed.
fn shifted(
    commitments: &[Commitment],
    gens: &PedersenGenerators,
    shift: Scalar,
    negate: bool,
) -> Vec<CompressedRistretto> {
    let offset = gens.g() * shift;
    commitments
        .iter()
        .map(|c| if negate { offset - c.as_point() } else { offset + c.as_point() }.compress())
        .collect()
}

impl BoundedNormProof {
    /// Proves the statement for `values` committed as `commit(v_i, blindings[i])` (see
    /// [`CommittedVector`] for the usual entry point).
    pub fn prove(
        context: &[u8],
        gens: &PedersenGenerators,
        bound: &NormBound,
        values: &[i64],
        blindings: &[Scalar],
        rng: &mut SecureRng,
    ) -> Result<Self> {
        Self::prove_chunked(context, gens, bound, (values, blindings), CHUNK_BITS, rng)
    }

    fn prove_chunked(
        context: &[u8],
        gens: &PedersenGenerators,
        bound: &NormBound,
        (values, blindings): (&[i64], &[Scalar]),
        chunk_bits: u32,
        rng: &mut SecureRng,
    ) -> Result<Self> {
        let d = values.len();
        bound.check(d)?;
        let chunks = Chunks { bits: chunk_bits };
        if blindings.len() != d {
            return Err(MpcError::InvalidParameter("one blinding per value"));
        }
        let h = h_table(gens);
        let commitments: Vec<Commitment> = values
            .iter()
            .zip(blindings)
            .map(|(&v, r)| commit_fast(gens, &h, &scalar_from_i64(v), r))
            .collect();
        let encoded_c: Vec<u8> = commitments.iter().flat_map(Commitment::to_bytes).collect();
        match *bound {
            NormBound::L2 { coordinate_bits, squared_norm } => {
                let half = 1i64 << (coordinate_bits - 1);
                if values.iter().any(|&v| v < -half || v >= half) {
                    return Err(MpcError::EncodingRange("coordinate outside its declared width"));
                }
                let norm: u128 =
                    values.iter().map(|&v| (i128::from(v) * i128::from(v)) as u128).sum();
                if norm > u128::from(squared_norm) {
                    return Err(MpcError::EncodingRange("squared norm above the bound"));
                }
                // norm <= B² < 2^64.
                let slack = squared_norm - norm as u64;
                let q_blindings: Vec<Scalar> = values.iter().map(|_| random_scalar(rng)).collect();
                let points: Vec<RistrettoPoint> = values
                    .iter()
                    .zip(&q_blindings)
                    // |v| < 2^31, so v² < 2^62 fits in i64.
                    .map(|(&v, q)| *commit_fast(gens, &h, &scalar_from_i64(v * v), q).as_point())
                    .collect();
                let encoded = encode_points(&points);
                let header = bound.header(d, chunk_bits);
                let mut t = statement_transcript(context, gens, &header, &encoded_c, &encoded);
                let witness = SquareWitness { values, blindings, q_blindings: &q_blindings };
                let (proofs, a_encoded) =
                    prove_squares(&mut t, gens, &h, &witness, &commitments, rng);
                // Bits of v + 2^(b−1), in [0, 2^b).
                let shifted_values: Vec<u64> = values.iter().map(|&v| (v + half) as u64).collect();
                let ranges = chunks.prove(
                    &mut t,
                    b"coordinates",
                    gens,
                    &shifted_values,
                    blindings,
                    coordinate_bits,
                    rng,
                )?;
                let q_sum: Scalar = q_blindings.iter().sum();
                let bound_context = sub_context(&mut t, b"bound", 0);
                let bound_proof =
                    RangeProof::prove(&bound_context, gens, &[slack], &[-q_sum], 64, rng)?;
                let mut q_blindings = q_blindings;
                q_blindings.iter_mut().for_each(Zeroize::zeroize);
                let squares = Squares { points, encoded, proofs, a_encoded, bound: bound_proof };
                let squares = Some(squares);
                Ok(Self { bound: *bound, dimension: d, chunk_bits, chunks: ranges, squares })
            }
            NormBound::LInf { max_abs } => {
                if values.iter().any(|v| v.unsigned_abs() > max_abs) {
                    return Err(MpcError::EncodingRange("coordinate above the l-infinity bound"));
                }
                let bits = NormBound::linf_bits(max_abs);
                let header = bound.header(d, chunk_bits);
                let mut t = statement_transcript(context, gens, &header, &encoded_c, &[]);
                // |v| <= B < 2^63: both v + B and B − v lie in [0, 2B] within u64.
                let lower: Vec<u64> =
                    values.iter().map(|&v| (i128::from(v) + i128::from(max_abs)) as u64).collect();
                let upper: Vec<u64> =
                    values.iter().map(|&v| (i128::from(max_abs) - i128::from(v)) as u64).collect();
                let negated: Vec<Scalar> = blindings.iter().map(|r| -r).collect();
                let mut ranges =
                    chunks.prove(&mut t, b"lower", gens, &lower, blindings, bits, rng)?;
                ranges.extend(chunks.prove(&mut t, b"upper", gens, &upper, &negated, bits, rng)?);
                Ok(Self { bound: *bound, dimension: d, chunk_bits, chunks: ranges, squares: None })
            }
        }
    }

    /// Verifies the statement `bound` for `commitments` in `context`. `rng` draws the weights
    /// of the batched checks.
    pub fn verify(
        &self,
        context: &[u8],
        gens: &PedersenGenerators,
        bound: &NormBound,
        commitments: &[Commitment],
        rng: &mut SecureRng,
    ) -> Result<()> {
        let d = commitments.len();
        bound.check(d)?;
        if *bound != self.bound || d != self.dimension {
            return Err(MpcError::ProofRejected("bounded norm (another statement)"));
        }
        let encoded_c: Vec<u8> = commitments.iter().flat_map(Commitment::to_bytes).collect();
        let header = bound.header(d, self.chunk_bits);
        let chunks = Chunks { bits: self.chunk_bits };
        let chunk_count = chunks.count(d);
        match (*bound, &self.squares) {
            (NormBound::L2 { coordinate_bits, squared_norm }, Some(squares))
                if self.chunks.len() == chunk_count =>
            {
                let mut t =
                    statement_transcript(context, gens, &header, &encoded_c, &squares.encoded);
                verify_squares(&mut t, gens, commitments, squares, rng)?;
                let offset = Scalar::from(1u64 << (coordinate_bits - 1));
                let shifted_c = shifted(commitments, gens, offset, false);
                chunks.verify(
                    &mut t,
                    b"coordinates",
                    gens,
                    &self.chunks,
                    &shifted_c,
                    coordinate_bits,
                    rng,
                )?;
                let sum: RistrettoPoint = squares.points.iter().sum();
                let slack = Commitment::from_point(gens.g() * Scalar::from(squared_norm) - sum);
                let bound_context = sub_context(&mut t, b"bound", 0);
                squares.bound.verify(&bound_context, gens, &[slack], 64, rng)
            }
            (NormBound::LInf { max_abs }, None) if self.chunks.len() == 2 * chunk_count => {
                let bits = NormBound::linf_bits(max_abs);
                let mut t = statement_transcript(context, gens, &header, &encoded_c, &[]);
                let offset = Scalar::from(max_abs);
                let (lower, upper) = self.chunks.split_at(chunk_count);
                let lower_c = shifted(commitments, gens, offset, false);
                chunks.verify(&mut t, b"lower", gens, lower, &lower_c, bits, rng)?;
                let upper_c = shifted(commitments, gens, offset, true);
                chunks.verify(&mut t, b"upper", gens, upper, &upper_c, bits, rng)
            }
            _ => Err(MpcError::ProofRejected("bounded norm (malformed proof)")),
        }
    }

    /// The wire encoding: name, statement header, squares, square proofs, then the range
    /// proofs (one field each) and, for L2, the bound's proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = WireWriter::new(ObjectType::Proof)
            .field(b"bounded-norm")
            .field(&self.bound.header(self.dimension, self.chunk_bits));
        match &self.squares {
            Some(squares) => {
                let mut proofs = Vec::with_capacity(160 * squares.proofs.len());
                for (p, a) in squares.proofs.iter().zip(squares.a_encoded.chunks(64)) {
                    proofs.extend_from_slice(a);
                    for z in [p.z_v, p.z_r, p.z_t] {
                        proofs.extend_from_slice(z.as_bytes());
                    }
                }
                w = w.field(&squares.encoded).field(&proofs);
                for c in &self.chunks {
                    w = w.field(&c.inner_bytes());
                }
                w = w.field(&squares.bound.inner_bytes());
            }
            None => {
                w = w.field(&[]).field(&[]);
                for c in &self.chunks {
                    w = w.field(&c.inner_bytes());
                }
            }
        }
        w.finish()
    }

    /// Decodes a proof: a valid statement header, exactly the parts that statement needs
    /// (each bounded before it is read), canonical points and scalars throughout.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "bounded-norm proof";
        let mut r = WireReader::new(bytes, ObjectType::Proof, what)?;
        if r.field(16)? != b"bounded-norm" {
            return Err(MpcError::Malformed { what, reason: "another proof type" });
        }
        let (bound, d, chunk_bits) = parse_header(r.array::<HEADER_LEN>()?)?;
        let chunk_count = Chunks { bits: chunk_bits }.count(d);
        let encoded = r.field(32 * MAX_DIMENSION)?;
        let proofs = r.field(160 * MAX_DIMENSION)?;
        let squares = match bound {
            NormBound::L2 { .. } => {
                if encoded.len() != 32 * d || proofs.len() != 160 * d {
                    return Err(MpcError::Malformed { what, reason: "square count" });
                }
                let points =
                    encoded.chunks(32).map(|p| decode_point(p, what)).collect::<Result<_>>()?;
                let a_encoded: Vec<u8> =
                    proofs.chunks(160).flat_map(|p| &p[..64]).copied().collect();
                let proofs = proofs.chunks(160).map(|p| parse_square_proof(p, what));
                let proofs = proofs.collect::<Result<Vec<_>>>()?;
                Some((points, encoded.to_vec(), proofs, a_encoded))
            }
            NormBound::LInf { .. } => {
                if !encoded.is_empty() || !proofs.is_empty() {
                    return Err(MpcError::Malformed {
                        what,
                        reason: "squares in an l-infinity proof",
                    });
                }
                None
            }
        };
        let range_count = if squares.is_some() { chunk_count } else { 2 * chunk_count };
        let chunks = (0..range_count)
            .map(|_| RangeProof::from_inner_bytes(r.field(CHUNK_PROOF_MAX_BYTES)?, what))
            .collect::<Result<Vec<_>>>()?;
        let squares = match squares {
            Some((points, encoded, proofs, a_encoded)) => {
                let bound = RangeProof::from_inner_bytes(r.field(CHUNK_PROOF_MAX_BYTES)?, what)?;
                Some(Squares { points, encoded, proofs, a_encoded, bound })
            }
            None => None,
        };
        r.finish()?;
        Ok(Self { bound, dimension: d, chunk_bits, chunks, squares })
    }

    /// The statement this proof claims.
    pub fn bound(&self) -> NormBound {
        self.bound
    }

    /// The dimension this proof covers.
    pub fn dimension(&self) -> usize {
        self.dimension
    }
}

fn parse_header(header: [u8; HEADER_LEN]) -> Result<(NormBound, usize, u32)> {
    let what = "bounded-norm proof";
    let mut value = [0u8; 8];
    value.copy_from_slice(&header[2..10]);
    let value = u64::from_be_bytes(value);
    let mut dimension = [0u8; 4];
    dimension.copy_from_slice(&header[10..14]);
    let d = u32::from_be_bytes(dimension) as usize;
    let bound = match (header[0], header[1]) {
        (1, bits) => NormBound::L2 { coordinate_bits: u32::from(bits), squared_norm: value },
        (2, 0) => NormBound::LInf { max_abs: value },
        _ => return Err(MpcError::Malformed { what, reason: "unknown statement" }),
    };
    bound.check(d)?;
    let chunk_bits = u32::from(header[14]);
    if chunk_bits > CHUNK_BITS {
        return Err(MpcError::Malformed { what, reason: "chunk size" });
    }
    Ok((bound, d, chunk_bits))
}

fn parse_square_proof(bytes: &[u8], what: &'static str) -> Result<SquareProof> {
    Ok(SquareProof {
        a1: decode_point(&bytes[..32], what)?,
        a2: decode_point(&bytes[32..64], what)?,
        z_v: decode_scalar(&bytes[64..96], what)?,
        z_r: decode_scalar(&bytes[96..128], what)?,
        z_t: decode_scalar(&bytes[128..160], what)?,
    })
}

/// The prover's secrets for the square proofs.
struct SquareWitness<'a> {
    values: &'a [i64],
    blindings: &'a [Scalar],
    q_blindings: &'a [Scalar],
}

fn prove_squares(
    t: &mut Transcript,
    gens: &PedersenGenerators,
    h: &RistrettoBasepointTable,
    witness: &SquareWitness<'_>,
    commitments: &[Commitment],
    rng: &mut SecureRng,
) -> (Vec<SquareProof>, Vec<u8>) {
    let mut nonces: Vec<[Scalar; 3]> = witness
        .values
        .iter()
        .map(|_| [random_scalar(rng), random_scalar(rng), random_scalar(rng)])
        .collect();
    let firsts: Vec<(RistrettoPoint, RistrettoPoint)> = nonces
        .iter()
        .zip(commitments)
        .map(|([kv, kr, kt], c)| {
            (*commit_fast(gens, h, kv, kr).as_point(), c.as_point() * kv + h * kt)
        })
        .collect();
    let mut encoded = Vec::with_capacity(64 * firsts.len());
    for (a1, a2) in &firsts {
        encoded.extend_from_slice(a1.compress().as_bytes());
        encoded.extend_from_slice(a2.compress().as_bytes());
    }
    t.append_message(b"A", &encoded);
    let c = t.challenge_scalar(b"square-challenge");
    let proofs = (0..witness.values.len())
        .map(|i| {
            let v = scalar_from_i64(witness.values[i]);
            let r = witness.blindings[i];
            let tt = witness.q_blindings[i] - v * r;
            let [kv, kr, kt] = nonces[i];
            SquareProof {
                a1: firsts[i].0,
                a2: firsts[i].1,
                z_v: kv + c * v,
                z_r: kr + c * r,
                z_t: kt + c * tt,
            }
        })
        .collect();
    nonces.iter_mut().for_each(|n| n.iter_mut().for_each(Zeroize::zeroize));
    (proofs, encoded)
}

/// All `2d` equations `z_v·G + z_r·H = A1 + c·C` and `z_v·C + z_t·H = A2 + c·Q` at once, with
/// random weights `ρ_i, σ_i`.
fn verify_squares(
    t: &mut Transcript,
    gens: &PedersenGenerators,
    commitments: &[Commitment],
    squares: &Squares,
    rng: &mut SecureRng,
) -> Result<()> {
    t.append_message(b"A", &squares.a_encoded);
    let c = t.challenge_scalar(b"square-challenge");
    let d = squares.proofs.len();
    let (mut g_weight, mut h_weight) = (Scalar::ZERO, Scalar::ZERO);
    let mut scalars = Vec::with_capacity(4 * d + 2);
    let mut points = Vec::with_capacity(4 * d + 2);
    for ((p, cc), q) in squares.proofs.iter().zip(commitments).zip(&squares.points) {
        let (rho, sigma) = (random_scalar(rng), random_scalar(rng));
        g_weight += rho * p.z_v;
        h_weight += rho * p.z_r + sigma * p.z_t;
        scalars.extend([sigma * p.z_v - rho * c, -rho, -sigma, -sigma * c]);
        points.extend([*cc.as_point(), p.a1, p.a2, *q]);
    }
    scalars.extend([g_weight, h_weight]);
    points.extend([gens.g(), gens.h()]);
    if RistrettoPoint::vartime_multiscalar_mul(scalars, points).is_identity() {
        Ok(())
    } else {
        Err(MpcError::ProofRejected("bounded norm (square)"))
    }
}

#[cfg(test)]
mod tests;
