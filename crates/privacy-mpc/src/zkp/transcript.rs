//! Merlin transcripts with strong Fiat–Shamir: every proof's challenge is derived from a
//! transcript that has absorbed the protocol name, the public parameters (generators, keys,
//! moduli) and the whole statement before the prover's first message.
//!
//! Weak Fiat–Shamir — hashing only the prover's commitment, or leaving out the statement —
//! lets a prover pick the statement after the challenge and forge proofs; it broke several
//! deployed libraries (Dao, Miller, Wright, Grubbs, "Weak Fiat–Shamir Attacks on Modern Proof
//! Systems", IEEE S&P 2023). Every prover and verifier here therefore starts from
//! [`transcript`], and appends parameters and statement through the helpers below, in the
//! same order on both sides.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

/// A transcript for `protocol`, under this crate's domain separator.
pub fn transcript(protocol: &'static [u8]) -> Transcript {
    let mut t = Transcript::new(b"medi-privacy/v1/zkp");
    t.append_message(b"protocol", protocol);
    t
}

/// Transcript operations on Ristretto elements.
pub trait TranscriptExt {
    /// Appends a point by its canonical encoding.
    fn append_point(&mut self, label: &'static [u8], point: &RistrettoPoint);
    /// Appends a scalar by its canonical encoding.
    fn append_scalar(&mut self, label: &'static [u8], scalar: &Scalar);
    /// A challenge scalar: 512 bits reduced modulo ℓ (bias < 2⁻²⁵⁰).
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptExt for Transcript {
    fn append_point(&mut self, label: &'static [u8], point: &RistrettoPoint) {
        self.append_message(label, point.compress().as_bytes());
    }

    fn append_scalar(&mut self, label: &'static [u8], scalar: &Scalar) {
        self.append_message(label, scalar.as_bytes());
    }

    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar {
        let mut wide = [0u8; 64];
        self.challenge_bytes(label, &mut wide);
        Scalar::from_bytes_mod_order_wide(&wide)
    }
}
