//! The Chaum–Pedersen proof of equal discrete logarithms: "`A = x·G` and `B = x·H` for one
//! `x`".
//!
//! Σ-protocol (Chaum, Pedersen, CRYPTO '92): commit `(k·G, k·H)`, challenge `c`, response
//! `s = k + c·x`; check `s·G = R₁ + c·A` and `s·H = R₂ + c·B`. Made non-interactive with a
//! transcript over the context, all four points of the statement and both commitments.
//!
//! Used for: proofs of correct ElGamal decryption (`Y = x·G` and `c₂ − M = x·c₁`) and of
//! correct threshold decryption shares.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, RngCore};

use super::transcript::{transcript, TranscriptExt};
use crate::error::{MpcError, Result};
use crate::group::{decode_point, decode_scalar, random_scalar};
use crate::wire::{ObjectType, WireReader, WireWriter};

/// The statement: `A = x·G` and `B = x·H`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DlogEquality {
    /// First base.
    pub g: RistrettoPoint,
    /// `x·G`.
    pub a: RistrettoPoint,
    /// Second base.
    pub h: RistrettoPoint,
    /// `x·H`.
    pub b: RistrettoPoint,
}

/// A Chaum–Pedersen proof `(R₁, R₂, s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChaumPedersenProof {
    r1: RistrettoPoint,
    r2: RistrettoPoint,
    response: Scalar,
}

fn challenge(
    context: &[u8],
    st: &DlogEquality,
    r1: &RistrettoPoint,
    r2: &RistrettoPoint,
) -> Scalar {
    let mut t = transcript(b"chaum-pedersen");
    t.append_message(b"context", context);
    t.append_point(b"G", &st.g);
    t.append_point(b"A", &st.a);
    t.append_point(b"H", &st.h);
    t.append_point(b"B", &st.b);
    t.append_point(b"R1", r1);
    t.append_point(b"R2", r2);
    t.challenge_scalar(b"c")
}

impl ChaumPedersenProof {
    /// Proves the statement with witness `x`.
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        statement: &DlogEquality,
        x: &Scalar,
        rng: &mut R,
    ) -> Self {
        let k = random_scalar(rng);
        let (r1, r2) = (statement.g * k, statement.h * k);
        let c = challenge(context, statement, &r1, &r2);
        Self { r1, r2, response: k + c * x }
    }

    /// Verifies the proof of `statement` in `context`.
    pub fn verify(&self, context: &[u8], statement: &DlogEquality) -> Result<()> {
        let c = challenge(context, statement, &self.r1, &self.r2);
        let s = self.response;
        let one = -Scalar::ONE;
        let first = RistrettoPoint::vartime_multiscalar_mul(
            [s, -c, one],
            [statement.g, statement.a, self.r1],
        );
        let second = RistrettoPoint::vartime_multiscalar_mul(
            [s, -c, one],
            [statement.h, statement.b, self.r2],
        );
        if first.is_identity() && second.is_identity() {
            Ok(())
        } else {
            Err(MpcError::ProofRejected("chaum-pedersen"))
        }
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::Proof)
            .field(b"chaum-pedersen")
            .field(self.r1.compress().as_bytes())
            .field(self.r2.compress().as_bytes())
            .field(self.response.as_bytes())
            .finish()
    }

    /// Decodes a proof, refusing non-canonical points and scalars.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "chaum-pedersen proof";
        let mut r = WireReader::new(bytes, ObjectType::Proof, what)?;
        if r.field(16)? != b"chaum-pedersen" {
            return Err(MpcError::Malformed { what, reason: "another proof type" });
        }
        let r1 = decode_point(r.field(32)?, what)?;
        let r2 = decode_point(r.field(32)?, what)?;
        let response = decode_scalar(r.field(32)?, what)?;
        r.finish()?;
        Ok(Self { r1, r2, response })
    }
}
