//! Shamir's (t, n) threshold secret sharing over the Ristretto255 scalar field (Shamir 1979,
//! "How to share a secret", CACM 22(11)).
//!
//! The dealer draws a random polynomial p of degree t − 1 with p(0) = s, coefficients from
//! [`SecureRng`], and gives party i the point (i, p(i)) for i = 1..n. Any t points determine p
//! by Lagrange interpolation; any t − 1 points are consistent with every secret with equal
//! probability (perfect secrecy). Identifiers are never 0 (that point is the secret itself).
//!
//! Reconstruction uses the first t shares given and, when more are given, checks that every
//! other share lies on the same polynomial: an altered share is then reported as
//! [`MpcError::InconsistentShares`] rather than yielding a wrong secret. With exactly t shares
//! no such check is possible; use [`super::feldman`] when shares may be tampered with.
//!
//! Byte secrets are cut into 31-byte chunks (each below ℓ), shared independently at the same
//! points. Trade-off: two field elements for a 32-byte key, but one field for all of the
//! crate's sharing and commitments.

use std::collections::HashSet;

use curve25519_dalek::Scalar;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use privacy_core::SecureRng;

use super::{DealingId, ShareKind, SHARE_FORMAT_VERSION};
use crate::codec::{Reader, Writer};
use crate::error::MpcError;
use crate::group::decode_scalar;

/// Bytes of secret per field element.
const CHUNK: usize = 31;
/// The longest byte secret accepted (1 MiB): bounds what a share parser allocates.
pub const MAX_SECRET_BYTES: usize = 1 << 20;

/// The parameters of a (t, n) sharing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shamir {
    threshold: u16,
    parties: u16,
}

/// One Shamir share: a point (x, p(x)) per chunk of the secret. Zeroized on drop; `Debug`
/// shows only public metadata.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ShamirShare {
    #[zeroize(skip)]
    dealing: DealingId,
    threshold: u16,
    id: u16,
    /// `None` for a scalar secret, the byte length for a byte secret.
    secret_len: Option<u32>,
    values: Vec<Scalar>,
}

impl std::fmt::Debug for ShamirShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShamirShare")
            .field("dealing", &self.dealing)
            .field("threshold", &self.threshold)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Shamir {
    /// A (threshold, parties) scheme: 1 ≤ threshold ≤ parties ≤ 65535.
    pub fn new(threshold: usize, parties: usize) -> Result<Self, MpcError> {
        if threshold == 0 {
            return Err(MpcError::InvalidParameter("threshold must be at least 1"));
        }
        if threshold > parties {
            return Err(MpcError::InvalidParameter("threshold exceeds the party count"));
        }
        let parties = u16::try_from(parties)
            .map_err(|_| MpcError::InvalidParameter("at most 65535 parties"))?;
        // threshold <= parties <= u16::MAX, so the cast is exact.
        Ok(Self { threshold: threshold as u16, parties })
    }

    /// The threshold t.
    pub fn threshold(&self) -> usize {
        usize::from(self.threshold)
    }

    /// The number of shares n.
    pub fn parties(&self) -> usize {
        usize::from(self.parties)
    }

    /// Shares a field element; share i (1-based) goes to party i.
    pub fn share_scalar(&self, secret: &Scalar, rng: &mut SecureRng) -> Vec<ShamirShare> {
        self.share_scalar_with_polynomial(secret, rng).0
    }

    /// Shares a field element and returns the polynomial's coefficients too (for the
    /// commitments of verifiable sharing); the caller must zeroize them.
    pub(crate) fn share_scalar_with_polynomial(
        &self,
        secret: &Scalar,
        rng: &mut SecureRng,
    ) -> (Vec<ShamirShare>, Zeroizing<Vec<Scalar>>) {
        let coefficients = self.random_polynomial(*secret, rng);
        let shares = self.deal(DealingId::random(rng), None, std::slice::from_ref(&coefficients));
        (shares, coefficients)
    }

    /// Shares a byte string of 1 to [`MAX_SECRET_BYTES`] bytes.
    pub fn share_bytes(
        &self,
        secret: &[u8],
        rng: &mut SecureRng,
    ) -> Result<Vec<ShamirShare>, MpcError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
            return Err(MpcError::InvalidInput("a byte secret must hold 1 byte to 1 MiB".into()));
        }
        let polynomials: Vec<_> = secret
            .chunks(CHUNK)
            .map(|chunk| self.random_polynomial(chunk_to_scalar(chunk), rng))
            .collect();
        // secret.len() <= MAX_SECRET_BYTES < u32::MAX.
        let len = Some(secret.len() as u32);
        Ok(self.deal(DealingId::random(rng), len, &polynomials))
    }

    fn random_polynomial(&self, secret: Scalar, rng: &mut SecureRng) -> Zeroizing<Vec<Scalar>> {
        let mut coefficients = Zeroizing::new(Vec::with_capacity(self.threshold()));
        coefficients.push(secret);
        coefficients.extend((1..self.threshold()).map(|_| Scalar::random(rng)));
        coefficients
    }

    fn deal(
        &self,
        dealing: DealingId,
        secret_len: Option<u32>,
        polynomials: &[Zeroizing<Vec<Scalar>>],
    ) -> Vec<ShamirShare> {
        (1..=self.parties)
            .map(|id| {
                let x = Scalar::from(id);
                let values = polynomials.iter().map(|p| evaluate(p, &x)).collect();
                ShamirShare { dealing, threshold: self.threshold, id, secret_len, values }
            })
            .collect()
    }
}

/// p(x) by Horner's rule.
pub(crate) fn evaluate(coefficients: &[Scalar], x: &Scalar) -> Scalar {
    coefficients.iter().rev().fold(Scalar::ZERO, |acc, c| acc * x + c)
}

fn chunk_to_scalar(chunk: &[u8]) -> Scalar {
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes[..chunk.len()].copy_from_slice(chunk);
    // The top byte is zero, so the value is below 2^248 < ℓ and already reduced.
    Scalar::from_bytes_mod_order(*bytes)
}

impl ShamirShare {
    /// The share's identifier, the x-coordinate (1 to n, never 0).
    pub fn id(&self) -> usize {
        usize::from(self.id)
    }

    /// The threshold of the sharing this share belongs to.
    pub fn threshold(&self) -> usize {
        usize::from(self.threshold)
    }

    /// The dealing this share belongs to.
    pub fn dealing(&self) -> DealingId {
        self.dealing
    }

    /// The share's field elements. Hazardous: a share is a secret to everyone but its holder.
    pub fn expose_values(&self) -> &[Scalar] {
        &self.values
    }

    /// The versioned encoding: version, kind, dealing, threshold, id, [secret length],
    /// element count, elements.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(40 + 32 * self.values.len());
        let kind = match self.secret_len {
            None => ShareKind::ShamirScalar,
            Some(_) => ShareKind::ShamirBytes,
        };
        w.u8(SHARE_FORMAT_VERSION).u8(kind as u8).bytes(&self.dealing.0);
        w.u16(self.threshold).u16(self.id);
        if let Some(len) = self.secret_len {
            w.u32(len);
        }
        w.u64(self.values.len() as u64);
        for v in &self.values {
            w.bytes(v.as_bytes());
        }
        w.finish()
    }

    /// Parses [`ShamirShare::to_bytes`], refusing an identifier of 0, a threshold of 0, an
    /// element count that does not match the secret length, non-canonical elements, and any
    /// other length, kind or version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let mut r = Reader::new(bytes, "shamir share");
        r.version(SHARE_FORMAT_VERSION)?;
        let kind = ShareKind::from_byte(r.u8()?);
        let dealing = DealingId(r.array()?);
        let (threshold, id) = (r.u16()?, r.u16()?);
        if id == 0 {
            return Err(MpcError::InvalidShareId);
        }
        if threshold == 0 {
            return Err(MpcError::Malformed { what: "shamir share", reason: "threshold 0" });
        }
        let secret_len = match kind {
            Some(ShareKind::ShamirScalar) => None,
            Some(ShareKind::ShamirBytes) => Some(r.u32()?),
            _ => return Err(MpcError::Malformed { what: "shamir share", reason: "wrong kind" }),
        };
        let count = r.count(32)?;
        if count != expected_elements(secret_len)? {
            return Err(MpcError::Malformed { what: "shamir share", reason: "element count" });
        }
        let values = (0..count)
            .map(|_| decode_scalar(r.take(32)?, "shamir share"))
            .collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        Ok(Self { dealing, threshold, id, secret_len, values })
    }
}

fn expected_elements(secret_len: Option<u32>) -> Result<usize, MpcError> {
    match secret_len {
        None => Ok(1),
        Some(len) => {
            let len = len as usize;
            if len == 0 || len > MAX_SECRET_BYTES {
                return Err(MpcError::Malformed { what: "shamir share", reason: "secret length" });
            }
            Ok(len.div_ceil(CHUNK))
        }
    }
}

/// Recovers a scalar secret from at least t shares of one dealing.
pub fn recover_scalar(shares: &[ShamirShare]) -> Result<Zeroizing<Scalar>, MpcError> {
    let mut secret = recover_elements(shares, None)?;
    Ok(Zeroizing::new(secret.pop().unwrap_or(Scalar::ZERO)))
}

/// Recovers a byte secret from at least t shares of one dealing.
pub fn recover_bytes(shares: &[ShamirShare]) -> Result<Zeroizing<Vec<u8>>, MpcError> {
    let first = shares.first().ok_or(MpcError::TooFewShares { given: 0, needed: 1 })?;
    let len = first.secret_len.ok_or(MpcError::MismatchedShares("not shares of a byte secret"))?;
    let elements = recover_elements(shares, Some(len))?;
    let len = len as usize;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    for (i, element) in elements.iter().enumerate() {
        let bytes = element.as_bytes();
        let take = CHUNK.min(len - i * CHUNK);
        // An honest chunk is below 2^(8·take): anything above means the shares disagree.
        if bytes[take..].iter().any(|b| *b != 0) {
            return Err(MpcError::InconsistentShares);
        }
        out.extend_from_slice(&bytes[..take]);
    }
    Ok(out)
}

/// Checks the shares, interpolates the first t at 0 and checks the rest against them.
fn recover_elements(
    shares: &[ShamirShare],
    secret_len: Option<u32>,
) -> Result<Zeroizing<Vec<Scalar>>, MpcError> {
    check_shares(shares, secret_len)?;
    let t = shares[0].threshold();
    let (basis, extra) = shares.split_at(t);
    let xs: Vec<Scalar> = basis.iter().map(|s| Scalar::from(s.id)).collect();
    let weights = barycentric_weights(&xs);
    let at_zero = lagrange_at(&xs, &weights, &Scalar::ZERO);
    let secret = Zeroizing::new(combine(basis, &at_zero));
    for share in extra {
        let coefficients = lagrange_at(&xs, &weights, &Scalar::from(share.id));
        let expected = Zeroizing::new(combine(basis, &coefficients));
        if expected.as_slice() != share.values.as_slice() {
            return Err(MpcError::InconsistentShares);
        }
    }
    Ok(secret)
}

fn check_shares(shares: &[ShamirShare], secret_len: Option<u32>) -> Result<(), MpcError> {
    let first = shares.first().ok_or(MpcError::TooFewShares { given: 0, needed: 1 })?;
    let mut ids = HashSet::with_capacity(shares.len());
    for share in shares {
        if share.dealing != first.dealing || share.threshold != first.threshold {
            return Err(MpcError::MismatchedShares("dealing or threshold differs"));
        }
        if share.secret_len != secret_len || share.values.len() != first.values.len() {
            return Err(MpcError::MismatchedShares("secret kind or length differs"));
        }
        if share.id == 0 {
            return Err(MpcError::InvalidShareId);
        }
        if !ids.insert(share.id) {
            return Err(MpcError::DuplicateShare);
        }
    }
    if shares.len() < first.threshold() {
        return Err(MpcError::TooFewShares { given: shares.len(), needed: first.threshold() });
    }
    Ok(())
}

/// w_i = 1 / Π_{j≠i} (x_i − x_j), one field inversion for all of them.
fn barycentric_weights(xs: &[Scalar]) -> Vec<Scalar> {
    let mut denominators: Vec<Scalar> = xs
        .iter()
        .enumerate()
        .map(|(i, xi)| {
            xs.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .fold(Scalar::ONE, |acc, (_, xj)| acc * (xi - xj))
        })
        .collect();
    // Identifiers are distinct and non-zero (checked), so no denominator is zero.
    Scalar::batch_invert(&mut denominators);
    denominators
}

/// The Lagrange coefficients λ_i(x) = w_i · Π_{j≠i} (x − x_j).
fn lagrange_at(xs: &[Scalar], weights: &[Scalar], x: &Scalar) -> Vec<Scalar> {
    let differences: Vec<Scalar> = xs.iter().map(|xj| x - xj).collect();
    // Prefix and suffix products give every Π_{j≠i} in linear time without inversions.
    let mut prefix = Vec::with_capacity(xs.len());
    let mut acc = Scalar::ONE;
    for d in &differences {
        prefix.push(acc);
        acc *= d;
    }
    let mut suffix = Scalar::ONE;
    let mut out = vec![Scalar::ZERO; xs.len()];
    for i in (0..xs.len()).rev() {
        out[i] = weights[i] * prefix[i] * suffix;
        suffix *= differences[i];
    }
    out
}

/// Σ λ_i · y_i, element by element.
fn combine(shares: &[ShamirShare], coefficients: &[Scalar]) -> Vec<Scalar> {
    let width = shares[0].values.len();
    (0..width)
        .map(|k| shares.iter().zip(coefficients).map(|(s, c)| s.values[k] * c).sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> SecureRng {
        SecureRng::seeded_for_tests_only(7)
    }

    #[test]
    fn any_t_shares_recover_and_fewer_are_refused() {
        let mut rng = rng();
        let scheme = Shamir::new(3, 5).unwrap();
        let secret = Scalar::from(987_654_321u64);
        let shares = scheme.share_scalar(&secret, &mut rng);
        assert_eq!(shares.iter().map(ShamirShare::id).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        assert_eq!(*recover_scalar(&shares[2..]).unwrap(), secret);
        assert_eq!(*recover_scalar(&shares).unwrap(), secret);
        assert!(matches!(
            recover_scalar(&shares[..2]),
            Err(MpcError::TooFewShares { given: 2, needed: 3 })
        ));
    }

    #[test]
    fn bytes_round_trip_at_every_length_boundary() {
        let mut rng = rng();
        let scheme = Shamir::new(2, 3).unwrap();
        for len in [1usize, 30, 31, 32, 62, 63, 100] {
            let secret: Vec<u8> = (0..len).map(|i| (i * 37 + 255) as u8).collect();
            let shares = scheme.share_bytes(&secret, &mut rng).unwrap();
            assert_eq!(recover_bytes(&shares[1..]).unwrap().as_slice(), secret.as_slice());
        }
        assert!(matches!(scheme.share_bytes(&[], &mut rng), Err(MpcError::InvalidInput(_))));
    }

    #[test]
    fn duplicates_mixed_dealings_and_altered_shares_are_refused() {
        let mut rng = rng();
        let scheme = Shamir::new(2, 4).unwrap();
        let shares = scheme.share_scalar(&Scalar::from(5u8), &mut rng);
        let dup = vec![shares[0].clone(), shares[0].clone()];
        assert!(matches!(recover_scalar(&dup), Err(MpcError::DuplicateShare)));
        let other = scheme.share_scalar(&Scalar::from(5u8), &mut rng);
        let mixed = vec![shares[0].clone(), other[1].clone()];
        assert!(matches!(recover_scalar(&mixed), Err(MpcError::MismatchedShares(_))));
        let mut altered = shares.clone();
        altered[3].values[0] += Scalar::ONE;
        assert!(matches!(recover_scalar(&altered), Err(MpcError::InconsistentShares)));
    }

    #[test]
    fn parameters_are_checked() {
        assert!(Shamir::new(0, 3).is_err());
        assert!(Shamir::new(4, 3).is_err());
        assert!(Shamir::new(2, 70_000).is_err());
        assert!(Shamir::new(1, 1).is_ok());
    }

    #[test]
    fn encoding_round_trips_and_refuses_id_zero() {
        let mut rng = rng();
        let shares =
            Shamir::new(2, 3).unwrap().share_bytes(b"a 32-byte key for the registry!!", &mut rng);
        let shares = shares.unwrap();
        let bytes = shares[1].to_bytes();
        let parsed = ShamirShare::from_bytes(&bytes).unwrap();
        assert_eq!(parsed.to_bytes(), bytes);
        let mut zero_id = bytes.clone();
        zero_id[20] = 0;
        zero_id[21] = 0;
        assert!(matches!(ShamirShare::from_bytes(&zero_id), Err(MpcError::InvalidShareId)));
        let mut wrong_count = bytes.clone();
        wrong_count[26] = 3;
        assert!(ShamirShare::from_bytes(&wrong_count).is_err());
        assert!(format!("{parsed:?}").contains("threshold: 2"));
    }
}
