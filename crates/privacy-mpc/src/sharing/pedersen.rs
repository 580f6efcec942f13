//! Pedersen's verifiable secret sharing on Ristretto255 (Pedersen 1991, "Non-interactive and
//! information-theoretic secure verifiable secret sharing", CRYPTO).
//!
//! The dealer shares the secret s with a polynomial f (f(0) = s) and a random blinding value
//! with a second polynomial g of the same degree, and publishes C_k = a_k·G + b_k·H for the
//! coefficients a_k of f and b_k of g, with the commitment generators of [`crate::commit`]
//! (nobody knows log_G H). Party i receives (f(i), g(i)) and checks
//! f(i)·G + g(i)·H = Σ_k i^k · C_k.
//!
//! Guarantee: unlike Feldman's scheme ([`super::feldman`]), the commitments are perfectly
//! hiding, so they reveal nothing about s even to an unbounded adversary, and even when s has
//! low entropy (a count, a date); binding rests on the discrete logarithm in Ristretto255. A
//! dealer that gives any party a share off its committed polynomials is caught by that party.
//! Trade-off: twice the share size and one more multiscalar multiplication per check.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use curve25519_dalek::Scalar;
use zeroize::{Zeroize, ZeroizeOnDrop};

use privacy_core::SecureRng;

use super::shamir::{Shamir, ShamirShare};
use crate::codec::{Reader, Writer};
use crate::commit::{Commitment, PedersenGenerators};
use crate::error::MpcError;
use crate::group::decode_public_point;

const COMMITMENTS_VERSION: u8 = 1;

/// One party's share: a point of the secret's polynomial and of the blinding polynomial.
/// Zeroized on drop; `Debug` shows only public metadata.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PedersenShare {
    value: ShamirShare,
    blinding: ShamirShare,
}

impl std::fmt::Debug for PedersenShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PedersenShare").field("value", &self.value).finish_non_exhaustive()
    }
}

impl PedersenShare {
    /// The Shamir share of the secret (feed t of these to
    /// [`super::shamir::recover_scalar`]).
    pub fn value(&self) -> &ShamirShare {
        &self.value
    }
}

/// The dealer's public commitments C_k = a_k·G + b_k·H.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PedersenCommitments {
    commitments: Vec<Commitment>,
}

impl Shamir {
    /// Shares `secret` and commits to both polynomials (Pedersen VSS). Every party should run
    /// [`PedersenCommitments::verify`] on its share before using it.
    pub fn share_scalar_pedersen(
        &self,
        secret: &Scalar,
        rng: &mut SecureRng,
    ) -> (Vec<PedersenShare>, PedersenCommitments) {
        let blinding_secret = Scalar::random(rng);
        let (values, f) = self.share_scalar_with_polynomial(secret, rng);
        let (blindings, g) = self.share_scalar_with_polynomial(&blinding_secret, rng);
        let generators = PedersenGenerators::standard();
        let commitments = f.iter().zip(g.iter()).map(|(a, b)| generators.commit(a, b)).collect();
        let shares = values
            .into_iter()
            .zip(blindings)
            .map(|(value, blinding)| PedersenShare { value, blinding })
            .collect();
        (shares, PedersenCommitments { commitments })
    }
}

impl PedersenCommitments {
    /// The threshold these commitments fix.
    pub fn threshold(&self) -> usize {
        self.commitments.len()
    }

    /// Checks one share: f(i)·G + g(i)·H = Σ i^k · C_k (variable time: all of it is public to
    /// the verifier except the share, whose verdict is public anyway).
    pub fn verify(&self, share: &PedersenShare) -> Result<(), MpcError> {
        let ([value], [blinding]) = (share.value.expose_values(), share.blinding.expose_values())
        else {
            return Err(MpcError::MismatchedShares("pedersen verifies scalar shares"));
        };
        if share.value.id() != share.blinding.id() || share.value.threshold() != self.threshold() {
            return Err(MpcError::MismatchedShares("identifier or threshold differs"));
        }
        let x = Scalar::from(share.value.id() as u64);
        let mut powers = Vec::with_capacity(self.commitments.len());
        let mut power = Scalar::ONE;
        for _ in &self.commitments {
            powers.push(power);
            power *= x;
        }
        let points = self.commitments.iter().map(Commitment::as_point);
        let expected = RistrettoPoint::vartime_multiscalar_mul(&powers, points);
        let actual = PedersenGenerators::standard().commit(value, blinding);
        if *actual.as_point() == expected {
            Ok(())
        } else {
            Err(MpcError::ShareVerificationFailed)
        }
    }

    /// Version, count, then each commitment compressed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(9 + 32 * self.commitments.len());
        w.u8(COMMITMENTS_VERSION).u64(self.commitments.len() as u64);
        for c in &self.commitments {
            w.bytes(&c.to_bytes());
        }
        w.finish()
    }

    /// Parses [`PedersenCommitments::to_bytes`], refusing non-canonical points, the identity
    /// (an honest dealer produces it with negligible probability), an empty list and more than
    /// 65535 commitments.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let mut r = Reader::new(bytes, "pedersen commitments");
        r.version(COMMITMENTS_VERSION)?;
        let count = r.count(32)?;
        if count == 0 || count > usize::from(u16::MAX) {
            return Err(MpcError::Malformed { what: "pedersen commitments", reason: "count" });
        }
        let commitments = (0..count)
            .map(|_| {
                decode_public_point(r.take(32)?, "pedersen commitments").map(Commitment::from_point)
            })
            .collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        Ok(Self { commitments })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharing::shamir::recover_scalar;

    #[test]
    fn honest_shares_verify_and_recover_and_forged_ones_do_not() {
        let mut rng = SecureRng::seeded_for_tests_only(41);
        let scheme = Shamir::new(3, 5).unwrap();
        // A low-entropy secret: Pedersen's commitments hide it all the same.
        let secret = Scalar::from(42u8);
        let (shares, commitments) = scheme.share_scalar_pedersen(&secret, &mut rng);
        for share in &shares {
            commitments.verify(share).unwrap();
        }
        let values: Vec<ShamirShare> = shares[..3].iter().map(|s| s.value().clone()).collect();
        assert_eq!(*recover_scalar(&values).unwrap(), secret);
        let parsed = PedersenCommitments::from_bytes(&commitments.to_bytes()).unwrap();
        assert_eq!(parsed, commitments);
        let (other, _) = scheme.share_scalar_pedersen(&secret, &mut rng);
        assert!(matches!(commitments.verify(&other[0]), Err(MpcError::ShareVerificationFailed)));
        let mut swapped = shares[0].clone();
        swapped.blinding = shares[1].blinding.clone();
        assert!(matches!(commitments.verify(&swapped), Err(MpcError::MismatchedShares(_))));
        let mut identity = vec![COMMITMENTS_VERSION];
        identity.extend_from_slice(&1u64.to_le_bytes());
        identity.extend_from_slice(&[0u8; 32]);
        assert!(matches!(
            PedersenCommitments::from_bytes(&identity),
            Err(MpcError::OutOfRange { .. })
        ));
    }
}
