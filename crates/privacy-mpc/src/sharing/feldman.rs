//! Feldman's verifiable secret sharing on Ristretto255 (Feldman 1987, "A practical scheme for
//! non-interactive verifiable secret sharing", FOCS).
//!
//! The dealer shares a scalar with Shamir's scheme and publishes C_k = a_k·B for every
//! coefficient a_k of its polynomial (B the Ristretto basepoint). Party i checks its share y_i
//! against them: y_i·B = Σ_k x_i^k · C_k. A dealer that hands out shares off one polynomial of
//! degree t − 1 is caught by every party it cheats.
//!
//! Guarantee and its limit: the shares stay perfectly hiding, but C_0 = s·B reveals s·B, so the
//! secret is only computationally hidden (discrete logarithm) and only when it has high
//! entropy: a low-entropy secret (a count, a date) can be found by trying every candidate.
//! For such secrets use Pedersen's variant, which hides the secret perfectly.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use curve25519_dalek::Scalar;

use privacy_core::SecureRng;

use super::shamir::{Shamir, ShamirShare};
use crate::codec::{Reader, Writer};
use crate::error::MpcError;
use crate::group::{decode_point, decode_public_point};

const COMMITMENTS_VERSION: u8 = 1;

/// The dealer's public commitments to its polynomial's coefficients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeldmanCommitments {
    points: Vec<RistrettoPoint>,
}

impl Shamir {
    /// Shares `secret` and commits to the polynomial (Feldman). Every party should run
    /// [`FeldmanCommitments::verify`] on its share before using it.
    pub fn share_scalar_feldman(
        &self,
        secret: &Scalar,
        rng: &mut SecureRng,
    ) -> (Vec<ShamirShare>, FeldmanCommitments) {
        let (shares, coefficients) = self.share_scalar_with_polynomial(secret, rng);
        let points = coefficients.iter().map(|a| a * RISTRETTO_BASEPOINT_TABLE).collect();
        (shares, FeldmanCommitments { points })
    }
}

impl FeldmanCommitments {
    /// The threshold these commitments fix (the number of coefficients).
    pub fn threshold(&self) -> usize {
        self.points.len()
    }

    /// The commitment to the secret, s·B.
    pub fn secret_commitment(&self) -> RistrettoPoint {
        self.points[0]
    }

    /// Checks one share: y·B = Σ x^k · C_k. Runs in variable time: every input is public to
    /// the verifier except the share, whose check result is public anyway.
    pub fn verify(&self, share: &ShamirShare) -> Result<(), MpcError> {
        let [value] = share.expose_values() else {
            return Err(MpcError::MismatchedShares("feldman verifies scalar shares"));
        };
        if share.threshold() != self.threshold() {
            return Err(MpcError::MismatchedShares("threshold differs from the commitments"));
        }
        let x = Scalar::from(share.id() as u64);
        let mut powers = Vec::with_capacity(self.points.len());
        let mut power = Scalar::ONE;
        for _ in &self.points {
            powers.push(power);
            power *= x;
        }
        let expected = RistrettoPoint::vartime_multiscalar_mul(&powers, &self.points);
        if expected == value * RISTRETTO_BASEPOINT_TABLE {
            Ok(())
        } else {
            Err(MpcError::ShareVerificationFailed)
        }
    }

    /// Version, count, then each point compressed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(9 + 32 * self.points.len());
        w.u8(COMMITMENTS_VERSION).u64(self.points.len() as u64);
        for p in &self.points {
            w.bytes(p.compress().as_bytes());
        }
        w.finish()
    }

    /// Parses [`FeldmanCommitments::to_bytes`]. Refuses non-canonical encodings, an empty list,
    /// more than 65535 commitments, and the identity as any coefficient's commitment except the
    /// secret's: `C_0 = s·B` is the identity exactly when the secret is 0, a legitimate secret,
    /// while an honest dealer's random coefficients `a_k` (k ≥ 1) are 0 only with probability
    /// 2⁻²⁵², and an identity top coefficient would silently lower the threshold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        const WHAT: &str = "feldman commitments";
        let mut r = Reader::new(bytes, WHAT);
        r.version(COMMITMENTS_VERSION)?;
        let count = r.count(32)?;
        if count == 0 || count > usize::from(u16::MAX) {
            return Err(MpcError::Malformed { what: WHAT, reason: "count" });
        }
        let mut points = Vec::with_capacity(count);
        points.push(decode_point(r.take(32)?, WHAT)?);
        for _ in 1..count {
            points.push(decode_public_point(r.take(32)?, WHAT)?);
        }
        r.finish()?;
        Ok(Self { points })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharing::shamir::recover_scalar;

    #[test]
    fn honest_shares_verify_and_altered_ones_do_not() {
        let mut rng = SecureRng::seeded_for_tests_only(11);
        let scheme = Shamir::new(3, 5).unwrap();
        let secret = Scalar::random(&mut rng);
        let (shares, commitments) = scheme.share_scalar_feldman(&secret, &mut rng);
        for share in &shares {
            commitments.verify(share).unwrap();
        }
        assert_eq!(commitments.secret_commitment(), &secret * RISTRETTO_BASEPOINT_TABLE);
        assert_eq!(*recover_scalar(&shares[1..4]).unwrap(), secret);
        let (other_shares, _) = scheme.share_scalar_feldman(&secret, &mut rng);
        assert!(matches!(
            commitments.verify(&other_shares[0]),
            Err(MpcError::ShareVerificationFailed)
        ));
        let parsed = FeldmanCommitments::from_bytes(&commitments.to_bytes()).unwrap();
        assert_eq!(parsed, commitments);
    }

    #[test]
    fn a_secret_of_zero_round_trips_and_verifies() {
        let mut rng = SecureRng::seeded_for_tests_only(12);
        for threshold in [1, 3] {
            let scheme = Shamir::new(threshold, 4).unwrap();
            let (shares, commitments) = scheme.share_scalar_feldman(&Scalar::ZERO, &mut rng);
            let parsed = FeldmanCommitments::from_bytes(&commitments.to_bytes()).unwrap();
            assert_eq!(parsed.secret_commitment(), RistrettoPoint::default());
            for share in &shares {
                parsed.verify(share).unwrap();
            }
            assert_eq!(*recover_scalar(&shares[..threshold]).unwrap(), Scalar::ZERO);
        }
    }

    #[test]
    fn identity_and_non_canonical_points_are_refused() {
        let base = RISTRETTO_BASEPOINT_TABLE.basepoint().compress().to_bytes();
        let mut bytes = vec![COMMITMENTS_VERSION];
        bytes.extend_from_slice(&2u64.to_le_bytes());
        bytes.extend_from_slice(&base);
        bytes.extend_from_slice(&[0u8; 32]);
        // The identity as the top coefficient would lower the threshold.
        assert!(matches!(FeldmanCommitments::from_bytes(&bytes), Err(MpcError::OutOfRange { .. })));
        bytes[1] = 1;
        bytes.truncate(9 + 32);
        assert_eq!(FeldmanCommitments::from_bytes(&bytes).unwrap().threshold(), 1);
        // The field element p − 1 + 2: not reduced, so not a canonical encoding.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xed;
        non_canonical[31] = 0x7f;
        bytes.truncate(9);
        bytes.extend_from_slice(&non_canonical);
        assert!(matches!(
            FeldmanCommitments::from_bytes(&bytes),
            Err(MpcError::NonCanonical { .. })
        ));
    }
}
