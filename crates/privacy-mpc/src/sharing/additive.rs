//! Additive secret sharing over a [`Ring`]: a secret s becomes n shares that add up to s.
//!
//! The first n − 1 shares are uniform and the last is s minus their sum, so any n − 1 shares
//! are jointly uniform and independent of s: perfect secrecy against up to n − 1 colluding
//! holders. All n shares are needed; a reconstruction with a missing, duplicated or foreign
//! share is refused. Trade-off: no threshold and no robustness (one lost share loses the
//! secret), in exchange for the cheapest possible sharing, which the protocols of
//! [`crate::protocol`] build on.

use zeroize::{Zeroize, ZeroizeOnDrop};

use privacy_core::SecureRng;

use super::{DealingId, ShareKind, SHARE_FORMAT_VERSION};
use crate::codec::{Reader, Writer};
use crate::error::MpcError;
use crate::ring::Ring;

/// The most parties an additive sharing supports.
pub const MAX_ADDITIVE_PARTIES: usize = u16::MAX as usize;

/// One additive share. Zeroized on drop; `Debug` shows only public metadata.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AdditiveShare<R: Ring> {
    #[zeroize(skip)]
    dealing: DealingId,
    index: u16,
    parties: u16,
    value: R,
}

impl<R: Ring> std::fmt::Debug for AdditiveShare<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdditiveShare")
            .field("ring", &R::NAME)
            .field("dealing", &self.dealing)
            .field("index", &self.index)
            .field("parties", &self.parties)
            .finish_non_exhaustive()
    }
}

impl<R: Ring> AdditiveShare<R> {
    /// This share's position, 0 to n − 1.
    pub fn index(&self) -> usize {
        usize::from(self.index)
    }

    /// How many shares the secret was split into.
    pub fn parties(&self) -> usize {
        usize::from(self.parties)
    }

    /// The share's ring element. Hazardous: a share is a secret to everyone but its holder.
    pub fn expose_value(&self) -> R {
        self.value
    }

    /// The versioned encoding: version, kind, dealing, index, parties, value.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(24 + R::ENCODED_LEN);
        let kind = if R::TAG == 1 { ShareKind::AdditiveZ64 } else { ShareKind::AdditiveScalar };
        w.u8(SHARE_FORMAT_VERSION).u8(kind as u8).bytes(&self.dealing.0);
        w.u16(self.index).u16(self.parties);
        self.value.encode(w.buffer());
        w.finish()
    }

    /// Parses [`AdditiveShare::to_bytes`], refusing any other length, kind, version, an index
    /// outside 0..n, and a non-canonical value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        let mut r = Reader::new(bytes, "additive share");
        r.version(SHARE_FORMAT_VERSION)?;
        let kind = if R::TAG == 1 { ShareKind::AdditiveZ64 } else { ShareKind::AdditiveScalar };
        r.expect(kind as u8, "wrong share kind")?;
        let dealing = DealingId(r.array()?);
        let (index, parties) = (r.u16()?, r.u16()?);
        if parties < 2 || index >= parties {
            return Err(MpcError::InvalidShareId);
        }
        let value = R::decode(r.take(R::ENCODED_LEN)?)?;
        r.finish()?;
        Ok(Self { dealing, index, parties, value })
    }
}

/// Splits `secret` into `parties` additive shares (at least 2).
pub fn share_additive<R: Ring>(
    secret: R,
    parties: usize,
    rng: &mut SecureRng,
) -> Result<Vec<AdditiveShare<R>>, MpcError> {
    if !(2..=MAX_ADDITIVE_PARTIES).contains(&parties) {
        return Err(MpcError::InvalidParameter("additive sharing needs 2 to 65535 parties"));
    }
    let dealing = DealingId::random(rng);
    let mut values = split_additive(secret, parties, rng);
    let parties_u16 = parties as u16; // Checked above: parties <= u16::MAX.
    let shares = values
        .iter()
        .enumerate()
        .map(|(i, value)| AdditiveShare {
            dealing,
            index: i as u16, // i < parties <= u16::MAX.
            parties: parties_u16,
            value: *value,
        })
        .collect();
    values.zeroize();
    Ok(shares)
}

/// The bare ring elements of an additive sharing of `secret` into `parties` parts, for the
/// protocols (which track indices through the transport).
pub(crate) fn split_additive<R: Ring>(secret: R, parties: usize, rng: &mut SecureRng) -> Vec<R> {
    let mut values: Vec<R> = (1..parties).map(|_| R::random(rng)).collect();
    let mut last = secret;
    for v in &values {
        last = last - *v;
    }
    values.push(last);
    values
}

/// Adds all n shares back together; refuses a missing, duplicated or foreign share.
pub fn reconstruct_additive<R: Ring>(shares: &[AdditiveShare<R>]) -> Result<R, MpcError> {
    let first = shares.first().ok_or(MpcError::TooFewShares { given: 0, needed: 2 })?;
    let parties = first.parties();
    let mut seen = vec![false; parties];
    let mut sum = R::ZERO;
    for share in shares {
        if share.dealing != first.dealing || share.parties != first.parties {
            return Err(MpcError::MismatchedShares("dealing or party count differs"));
        }
        let slot = seen.get_mut(share.index()).ok_or(MpcError::InvalidShareId)?;
        if std::mem::replace(slot, true) {
            return Err(MpcError::DuplicateShare);
        }
        sum = sum + share.value;
    }
    if shares.len() < parties {
        sum.zeroize();
        return Err(MpcError::TooFewShares { given: shares.len(), needed: parties });
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::Scalar;

    use super::*;
    use crate::ring::Z64;

    #[test]
    fn round_trip_and_refusals() {
        let mut rng = SecureRng::seeded_for_tests_only(1);
        let shares = share_additive(Z64(123_456), 5, &mut rng).unwrap();
        assert_eq!(reconstruct_additive(&shares).unwrap(), Z64(123_456));
        assert!(matches!(
            reconstruct_additive(&shares[..4]),
            Err(MpcError::TooFewShares { given: 4, needed: 5 })
        ));
        let mut dup = shares.clone();
        dup[4] = dup[3].clone();
        assert!(matches!(reconstruct_additive(&dup), Err(MpcError::DuplicateShare)));
        let other = share_additive(Z64(1), 5, &mut rng).unwrap();
        let mut mixed = shares.clone();
        mixed[0] = other[0].clone();
        assert!(matches!(reconstruct_additive(&mixed), Err(MpcError::MismatchedShares(_))));
        assert!(format!("{:?}", shares[0]).contains("index: 0"));
        assert!(!format!("{:?}", shares[0]).contains("value"));
    }

    #[test]
    fn encoding_round_trips_and_refuses_bad_input() {
        let mut rng = SecureRng::seeded_for_tests_only(2);
        let shares = share_additive(Scalar::from(9u8), 3, &mut rng).unwrap();
        let bytes = shares[2].to_bytes();
        assert_eq!(AdditiveShare::<Scalar>::from_bytes(&bytes).unwrap(), shares[2]);
        assert!(AdditiveShare::<Z64>::from_bytes(&bytes).is_err(), "wrong ring accepted");
        let mut bad_index = bytes.clone();
        bad_index[18] = 3; // index = parties
        assert!(matches!(
            AdditiveShare::<Scalar>::from_bytes(&bad_index),
            Err(MpcError::InvalidShareId)
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert!(AdditiveShare::<Scalar>::from_bytes(&long).is_err());
        assert!(matches!(share_additive(Z64(1), 1, &mut rng), Err(MpcError::InvalidParameter(_))));
    }
}
