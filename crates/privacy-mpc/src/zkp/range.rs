//! Range proofs on Pedersen commitments: "each committed value lies in `[0, 2^n)`", by the
//! `bulletproofs` crate (Bünz, Bootle, Boneh, Poelstra, Wuille, Maxwell, IEEE S&P 2018), reused
//! rather than reimplemented.
//!
//! The commitments are this crate's ([`crate::commit`]): `bulletproofs` is given the same
//! generators `G` and `H`. Several values are proved in one aggregated proof (size logarithmic
//! in the number of values); the count is padded to a power of two with commitments to 0 under
//! blinding 0 (the identity), which the verifier adds itself. Our transcript absorbs the
//! context, the generators, `n` and the count before `bulletproofs` absorbs the commitments,
//! so a proof made for one statement or context does not verify for another.
//!
//! Bit widths: 8, 16, 32 or 64, as `bulletproofs` supports.

use bulletproofs::{BulletproofGens, RangeProof as BpRangeProof};
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

use privacy_core::SecureRng;

use super::transcript::{transcript, TranscriptExt};
use crate::commit::{Commitment, PedersenGenerators};
use crate::error::{MpcError, Result};
use crate::wire::{ObjectType, WireReader, WireWriter};

/// The most values one aggregated proof covers.
pub const MAX_VALUES: usize = 1 << 16;

/// An aggregated range proof.
#[derive(Clone, Debug)]
pub struct RangeProof {
    inner: BpRangeProof,
}

fn range_transcript(
    context: &[u8],
    gens: &PedersenGenerators,
    bits: u32,
    count: usize,
) -> Transcript {
    let mut t = transcript(b"range");
    t.append_message(b"context", context);
    t.append_point(b"G", &gens.g());
    t.append_point(b"H", &gens.h());
    t.append_u64(b"bits", u64::from(bits));
    t.append_u64(b"count", count as u64);
    t
}

pub(crate) fn check_shape(bits: u32, count: usize) -> Result<usize> {
    if ![8, 16, 32, 64].contains(&bits) {
        return Err(MpcError::InvalidParameter("range proofs take 8, 16, 32 or 64 bits"));
    }
    if count == 0 || count > MAX_VALUES {
        return Err(MpcError::InvalidParameter("range proofs take 1..=65536 values"));
    }
    Ok(count.next_power_of_two())
}

impl RangeProof {
    /// Proves that each `values[i]` (committed with `blindings[i]`) is below `2^bits`.
    pub fn prove(
        context: &[u8],
        gens: &PedersenGenerators,
        values: &[u64],
        blindings: &[Scalar],
        bits: u32,
        rng: &mut SecureRng,
    ) -> Result<Self> {
        let padded = check_shape(bits, values.len())?;
        let bp_gens = BulletproofGens::new(bits as usize, padded);
        prove_with(&bp_gens, context, gens, values, blindings, bits, rng)
    }

    /// Verifies that each commitment holds a value below `2^bits`.
    pub fn verify(
        &self,
        context: &[u8],
        gens: &PedersenGenerators,
        commitments: &[Commitment],
        bits: u32,
        rng: &mut SecureRng,
    ) -> Result<()> {
        let padded = check_shape(bits, commitments.len())?;
        let compressed: Vec<CompressedRistretto> =
            commitments.iter().map(|c| c.as_point().compress()).collect();
        let bp_gens = BulletproofGens::new(bits as usize, padded);
        self.verify_with(&bp_gens, context, gens, &compressed, bits, rng)
    }

    /// [`RangeProof::verify`] with generators built once by the caller (for many proofs of one
    /// shape) and commitments already compressed.
    pub(crate) fn verify_with(
        &self,
        bp_gens: &BulletproofGens,
        context: &[u8],
        gens: &PedersenGenerators,
        commitments: &[CompressedRistretto],
        bits: u32,
        rng: &mut SecureRng,
    ) -> Result<()> {
        let padded = check_shape(bits, commitments.len())?;
        let mut compressed = commitments.to_vec();
        compressed.resize(padded, CompressedRistretto::default());
        let mut t = range_transcript(context, gens, bits, padded);
        self.inner
            .verify_multiple_with_rng(
                bp_gens,
                &gens.to_bulletproofs(),
                &mut t,
                &compressed,
                bits as usize,
                rng,
            )
            .map_err(|_| MpcError::ProofRejected("range"))
    }

    /// The bulletproof alone (for proofs that embed several, such as the norm proof).
    pub(crate) fn inner_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    /// Parses [`RangeProof::inner_bytes`].
    pub(crate) fn from_inner_bytes(bytes: &[u8], what: &'static str) -> Result<Self> {
        let inner = BpRangeProof::from_bytes(bytes).map_err(|_| MpcError::NonCanonical { what })?;
        Ok(Self { inner })
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::Proof).field(b"range").field(&self.inner.to_bytes()).finish()
    }
}

/// Proves with generators built once by the caller; `values.len()` up to their party
/// capacity.
pub(crate) fn prove_with(
    bp_gens: &BulletproofGens,
    context: &[u8],
    gens: &PedersenGenerators,
    values: &[u64],
    blindings: &[Scalar],
    bits: u32,
    rng: &mut SecureRng,
) -> Result<RangeProof> {
    let padded = check_shape(bits, values.len())?;
    if blindings.len() != values.len() {
        return Err(MpcError::InvalidParameter("one blinding per value"));
    }
    if bits < 64 && values.iter().any(|v| v >> bits != 0) {
        return Err(MpcError::EncodingRange("value outside the proved range"));
    }
    let mut values = values.to_vec();
    let mut blindings = blindings.to_vec();
    values.resize(padded, 0);
    blindings.resize(padded, Scalar::ZERO);
    let mut t = range_transcript(context, gens, bits, padded);
    let (inner, _) = BpRangeProof::prove_multiple_with_rng(
        bp_gens,
        &gens.to_bulletproofs(),
        &mut t,
        &values,
        &blindings,
        bits as usize,
        rng,
    )
    .map_err(|_| MpcError::InvalidParameter("bulletproofs refused the statement"))?;
    blindings.iter_mut().for_each(zeroize::Zeroize::zeroize);
    Ok(RangeProof { inner })
}

impl RangeProof {
    /// Decodes a proof (at most 64 KiB; point and scalar encodings are checked by
    /// `bulletproofs`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "range proof";
        let mut r = WireReader::new(bytes, ObjectType::Proof, what)?;
        if r.field(16)? != b"range" {
            return Err(MpcError::Malformed { what, reason: "another proof type" });
        }
        let inner = BpRangeProof::from_bytes(r.field(1 << 16)?)
            .map_err(|_| MpcError::NonCanonical { what })?;
        r.finish()?;
        Ok(Self { inner })
    }
}
