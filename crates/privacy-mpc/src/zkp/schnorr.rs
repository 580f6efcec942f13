//! Schnorr's proof of knowledge of a discrete logarithm: "I know `x` with `Y = x·B`".
//!
//! Σ-protocol (Schnorr, J. Cryptology 1991): commit `R = k·B`, challenge `c`, response
//! `s = k + c·x`; the verifier checks `s·B = R + c·Y`. Special soundness (two accepting
//! transcripts with one `R` give `x`) and honest-verifier zero knowledge make it, with the
//! challenge from a transcript over `(B, Y, R)` and the caller's context, a non-interactive
//! zero-knowledge proof of knowledge in the random-oracle model (Pointcheval–Stern 1996).
//!
//! Used for: proving possession of an ElGamal key share (stops rogue-key attacks in threshold
//! key generation, where a site would publish `Y_i = x·G − ΣY_j` to own the joint key).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use super::transcript::{transcript, TranscriptExt};
use crate::error::{MpcError, Result};
use crate::group::{decode_point, decode_scalar, random_scalar};
use crate::wire::{ObjectType, WireReader, WireWriter};

/// A Schnorr proof `(R, s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchnorrProof {
    commitment: RistrettoPoint,
    response: Scalar,
}

fn challenge(
    context: &[u8],
    base: &RistrettoPoint,
    public: &RistrettoPoint,
    r: &RistrettoPoint,
) -> Scalar {
    let mut t: Transcript = transcript(b"schnorr");
    t.append_message(b"context", context);
    t.append_point(b"B", base);
    t.append_point(b"Y", public);
    t.append_point(b"R", r);
    t.challenge_scalar(b"c")
}

impl SchnorrProof {
    /// Proves knowledge of `secret` with `public = secret·base`, bound to `context` (e.g. a
    /// session identifier and the prover's name).
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        base: &RistrettoPoint,
        secret: &Scalar,
        rng: &mut R,
    ) -> Self {
        let public = base * secret;
        let k = random_scalar(rng);
        let commitment = base * k;
        let c = challenge(context, base, &public, &commitment);
        Self { commitment, response: k + c * secret }
    }

    /// Verifies the proof for `public = x·base` in `context`.
    pub fn verify(
        &self,
        context: &[u8],
        base: &RistrettoPoint,
        public: &RistrettoPoint,
    ) -> Result<()> {
        let c = challenge(context, base, public, &self.commitment);
        let check = RistrettoPoint::vartime_multiscalar_mul(
            [self.response, -c, -Scalar::ONE],
            [*base, *public, self.commitment],
        );
        if check == RistrettoPoint::default() {
            Ok(())
        } else {
            Err(MpcError::ProofRejected("schnorr"))
        }
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::Proof)
            .field(b"schnorr")
            .field(self.commitment.compress().as_bytes())
            .field(self.response.as_bytes())
            .finish()
    }

    /// Decodes a proof, refusing non-canonical points and scalars.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "schnorr proof";
        let mut r = WireReader::new(bytes, ObjectType::Proof, what)?;
        if r.field(16)? != b"schnorr" {
            return Err(MpcError::Malformed { what, reason: "another proof type" });
        }
        let commitment = decode_point(r.field(32)?, what)?;
        let response = decode_scalar(r.field(32)?, what)?;
        r.finish()?;
        Ok(Self { commitment, response })
    }
}
