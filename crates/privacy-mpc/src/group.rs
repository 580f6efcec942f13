//! The prime-order group every curve-based primitive of this crate works in: Ristretto255.
//!
//! Ristretto255 (de Valence, Grigg, Hamburg, Lovecruft, Tankersley, Valence; RFC 9496) gives a
//! group of prime order ℓ = 2²⁵² + 27742317777372353535851937790883648493 on top of
//! Curve25519, so there is no cofactor and no small-order point other than the identity.
//! Decoding is where the safety is won: [`decode_point`] accepts only canonical encodings of
//! valid group elements, [`decode_scalar`] only canonical scalars (< ℓ), and
//! [`decode_public_point`] additionally refuses the identity, the one element of small order.
//!
//! [`hash_to_group`] derives generators nobody knows a discrete logarithm of (nothing up my
//! sleeve): the label is hashed with SHA-512 and mapped with Ristretto's hash-to-group
//! (the RFC 9496 one-way map applied twice and added), so the output is uniform and its
//! logarithm with respect to any other generator is unknown to everyone.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha512;

use crate::error::{MpcError, Result};

/// The length of an encoded point or scalar.
pub const ELEMENT_LEN: usize = 32;

/// A generator with an unknown discrete logarithm, derived from `label` by hash-to-group.
///
/// Distinct labels give independent generators. Labels of this crate start with
/// `medi-privacy/` and carry a version, so a change of derivation is a change of label.
pub fn hash_to_group(label: &[u8]) -> RistrettoPoint {
    RistrettoPoint::hash_from_bytes::<Sha512>(label)
}

/// A uniformly random scalar from `rng` (512 random bits reduced modulo ℓ, bias < 2⁻²⁵⁰).
pub fn random_scalar<R: RngCore + CryptoRng>(rng: &mut R) -> Scalar {
    Scalar::random(rng)
}

/// Decodes a point, refusing wrong lengths and non-canonical or invalid encodings.
pub fn decode_point(bytes: &[u8], what: &'static str) -> Result<RistrettoPoint> {
    let array: [u8; ELEMENT_LEN] =
        bytes.try_into().map_err(|_| MpcError::Malformed { what, reason: "not 32 bytes" })?;
    CompressedRistretto(array).decompress().ok_or(MpcError::NonCanonical { what })
}

/// Decodes a point that must not be the identity (a public key, a generator, a PSI element):
/// the identity is the only small-order element of Ristretto255, and accepting it would let a
/// peer force a known result.
pub fn decode_public_point(bytes: &[u8], what: &'static str) -> Result<RistrettoPoint> {
    let point = decode_point(bytes, what)?;
    if point.is_identity() {
        return Err(MpcError::OutOfRange { what, reason: "the identity element" });
    }
    Ok(point)
}

/// Decodes a scalar, refusing wrong lengths and values ≥ ℓ (non-canonical encodings).
pub fn decode_scalar(bytes: &[u8], what: &'static str) -> Result<Scalar> {
    let array: [u8; ELEMENT_LEN] =
        bytes.try_into().map_err(|_| MpcError::Malformed { what, reason: "not 32 bytes" })?;
    Option::from(Scalar::from_canonical_bytes(array)).ok_or(MpcError::NonCanonical { what })
}

/// The scalar of a signed integer (negative values map to ℓ − |v|).
pub fn scalar_from_i64(value: i64) -> Scalar {
    let magnitude = Scalar::from(value.unsigned_abs());
    if value < 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;

    #[test]
    fn decoding_refuses_bad_encodings() {
        let good = RISTRETTO_BASEPOINT_POINT.compress().to_bytes();
        assert_eq!(decode_point(&good, "p").unwrap(), RISTRETTO_BASEPOINT_POINT);
        assert!(matches!(decode_point(&good[..31], "p"), Err(MpcError::Malformed { .. })));
        // All-ones is not a canonical field element.
        assert!(matches!(decode_point(&[0xff; 32], "p"), Err(MpcError::NonCanonical { .. })));
        assert!(matches!(decode_public_point(&[0; 32], "p"), Err(MpcError::OutOfRange { .. })));
        assert!(matches!(decode_scalar(&[0xff; 32], "s"), Err(MpcError::NonCanonical { .. })));
        assert_eq!(decode_scalar(&Scalar::ONE.to_bytes(), "s").unwrap(), Scalar::ONE);
        assert_eq!(scalar_from_i64(-3) + Scalar::from(3u64), Scalar::ZERO);
    }

    #[test]
    fn labels_give_distinct_generators() {
        let a = hash_to_group(b"medi-privacy/test/a");
        assert_eq!(a, hash_to_group(b"medi-privacy/test/a"));
        assert_ne!(a, hash_to_group(b"medi-privacy/test/b"));
        assert_ne!(a, RISTRETTO_BASEPOINT_POINT);
    }
}
