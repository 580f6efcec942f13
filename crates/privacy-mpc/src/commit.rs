//! Pedersen commitments over Ristretto255: commit to a value now, reveal it later, and let
//! anyone check that the revealed value is the committed one.
//!
//! A commitment to a scalar `v` with blinding `r` is `C = v·G + r·H`, where `G` is the
//! Ristretto base point and `H = hash_to_group("medi-privacy/v1/pedersen/H")` (see
//! [`crate::group::hash_to_group`]): nobody, including us, knows `log_G H`.
//!
//! Guarantees (Pedersen, CRYPTO '91, "Non-interactive and information-theoretic secure
//! verifiable secret sharing"):
//! - **Hiding, perfectly**: with `r` uniform, `C` is uniform in the group whatever `v` is, so a
//!   commitment reveals nothing about `v`, even to an unbounded adversary.
//! - **Binding, computationally**: opening `C` to two different values yields `log_G H`, which
//!   is as hard as the discrete logarithm problem in Ristretto255 (≈ 2¹²⁶ group operations).
//! - **Additively homomorphic**: `C(v₁, r₁) + C(v₂, r₂) = C(v₁ + v₂, r₁ + r₂)`, which Pedersen
//!   verifiable secret sharing and the committed-sum proofs of [`crate::zkp`] rely on.
//!
//! The generators are those of the `bulletproofs` range proofs ([`PedersenGenerators::
//! to_bulletproofs`]), so a commitment made here can be range-proved there without conversion.
//!
//! Trade-off: `H` comes from a fixed public label rather than a per-session setup. A fixed `H`
//! needs no trusted party and is reproducible from this documentation alone; the price is that
//! all deployments share it, which is harmless because its logarithm is unknown to everyone.

use std::ops::{Add, Mul, Neg, Sub};

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{MpcError, Result};
use crate::group::{decode_point, hash_to_group, random_scalar};

/// The label `H` is derived from. Changing it changes every commitment: it carries a version.
pub const PEDERSEN_H_LABEL: &[u8] = b"medi-privacy/v1/pedersen/H";

/// The two generators of Pedersen commitments: `G` for the value, `H` for the blinding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PedersenGenerators {
    g: RistrettoPoint,
    h: RistrettoPoint,
}

impl Default for PedersenGenerators {
    fn default() -> Self {
        Self::standard()
    }
}

impl PedersenGenerators {
    /// The standard generators: `G` the Ristretto base point, `H` hashed from
    /// [`PEDERSEN_H_LABEL`].
    pub fn standard() -> Self {
        Self { g: RISTRETTO_BASEPOINT_POINT, h: hash_to_group(PEDERSEN_H_LABEL) }
    }

    /// Generators for a separate context (e.g. one protocol instance), `H` hashed from
    /// `label`. `G` stays the base point, so values remain comparable across contexts.
    pub fn with_label(label: &[u8]) -> Self {
        Self { g: RISTRETTO_BASEPOINT_POINT, h: hash_to_group(label) }
    }

    /// The value generator `G`.
    pub fn g(&self) -> RistrettoPoint {
        self.g
    }

    /// The blinding generator `H`.
    pub fn h(&self) -> RistrettoPoint {
        self.h
    }

    /// `value·G + blinding·H`.
    pub fn commit(&self, value: &Scalar, blinding: &Scalar) -> Commitment {
        Commitment(RistrettoPoint::multiscalar_mul([value, blinding], [self.g, self.h]))
    }

    /// A commitment to `value` with a fresh uniform blinding, and its opening.
    pub fn commit_random<R: RngCore + CryptoRng>(
        &self,
        value: Scalar,
        rng: &mut R,
    ) -> (Commitment, Opening) {
        let opening = Opening { value, blinding: random_scalar(rng) };
        (self.commit(&opening.value, &opening.blinding), opening)
    }

    /// Checks that `opening` opens `commitment` (a constant-time comparison of the points).
    pub fn verify_opening(&self, commitment: &Commitment, opening: &Opening) -> Result<()> {
        let expected = self.commit(&opening.value, &opening.blinding);
        if bool::from(expected.0.compress().ct_eq(&commitment.0.compress())) {
            Ok(())
        } else {
            Err(MpcError::ProofRejected("pedersen opening"))
        }
    }

    /// The same generators in the form the `bulletproofs` crate takes (`B` = G, `B_blinding`
    /// = H), so its range proofs apply to commitments made here.
    pub fn to_bulletproofs(&self) -> bulletproofs::PedersenGens {
        bulletproofs::PedersenGens { B: self.g, B_blinding: self.h }
    }
}

/// A Pedersen commitment `v·G + r·H`: a public group element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commitment(RistrettoPoint);

impl Commitment {
    /// Wraps a point that is known to be a commitment (e.g. a sum of commitments).
    pub fn from_point(point: RistrettoPoint) -> Self {
        Self(point)
    }

    /// The point.
    pub fn as_point(&self) -> &RistrettoPoint {
        &self.0
    }

    /// The 32-byte canonical encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.compress().to_bytes()
    }

    /// Decodes 32 bytes, refusing non-canonical or invalid encodings. The identity is
    /// accepted: it is a valid commitment (to 0 with blinding 0).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        decode_point(bytes, "pedersen commitment").map(Self)
    }
}

impl Add for Commitment {
    type Output = Commitment;
    fn add(self, other: Commitment) -> Commitment {
        Commitment(self.0 + other.0)
    }
}

impl Sub for Commitment {
    type Output = Commitment;
    fn sub(self, other: Commitment) -> Commitment {
        Commitment(self.0 - other.0)
    }
}

impl Neg for Commitment {
    type Output = Commitment;
    fn neg(self) -> Commitment {
        Commitment(-self.0)
    }
}

impl Mul<&Scalar> for Commitment {
    type Output = Commitment;
    fn mul(self, k: &Scalar) -> Commitment {
        Commitment(self.0 * k)
    }
}

impl std::iter::Sum for Commitment {
    fn sum<I: Iterator<Item = Commitment>>(iter: I) -> Commitment {
        Commitment(iter.map(|c| c.0).sum())
    }
}

/// The secret that opens a commitment: the value and the blinding. Zeroized on drop; its
/// `Debug` shows neither.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    /// The committed value.
    pub value: Scalar,
    /// The blinding.
    pub blinding: Scalar,
}

impl Opening {
    /// The opening of the sum of two commitments.
    pub fn add(&self, other: &Opening) -> Opening {
        Opening { value: self.value + other.value, blinding: self.blinding + other.blinding }
    }
}

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opening { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use privacy_core::SecureRng;

    #[test]
    fn opens_and_refuses_other_values() {
        let mut rng = SecureRng::seeded_for_tests_only(1);
        let gens = PedersenGenerators::standard();
        let (c, opening) = gens.commit_random(Scalar::from(42u64), &mut rng);
        gens.verify_opening(&c, &opening).unwrap();
        let wrong = Opening { value: Scalar::from(43u64), blinding: opening.blinding };
        assert!(matches!(gens.verify_opening(&c, &wrong), Err(MpcError::ProofRejected(_))));
        assert_eq!(format!("{opening:?}"), "Opening { .. }");
    }

    #[test]
    fn is_additively_homomorphic_and_round_trips() {
        let mut rng = SecureRng::seeded_for_tests_only(2);
        let gens = PedersenGenerators::standard();
        let (c1, o1) = gens.commit_random(Scalar::from(5u64), &mut rng);
        let (c2, o2) = gens.commit_random(Scalar::from(7u64), &mut rng);
        gens.verify_opening(&(c1 + c2), &o1.add(&o2)).unwrap();
        assert_eq!(Commitment::from_bytes(&c1.to_bytes()).unwrap(), c1);
        assert_eq!([c1, c2].into_iter().sum::<Commitment>(), c1 + c2);
        assert_eq!(c1 * &Scalar::from(2u64), c1 + c1);
    }

    #[test]
    fn h_is_the_documented_hash_and_not_g() {
        let gens = PedersenGenerators::standard();
        assert_eq!(gens.h(), hash_to_group(b"medi-privacy/v1/pedersen/H"));
        assert_ne!(gens.h(), gens.g());
        assert_ne!(PedersenGenerators::with_label(b"other").h(), gens.h());
        assert_eq!(gens.to_bulletproofs().B_blinding, gens.h());
    }
}
