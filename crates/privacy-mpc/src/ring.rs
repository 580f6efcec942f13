//! The two rings secret shares live in: integers modulo 2^64 and the Ristretto255 scalar field.
//!
//! Additive sharing and the protocols built on it ([`crate::protocol`]) are generic over
//! [`Ring`]. [`Z64`] is the fast choice for counts and bounded integers (a sum wraps modulo
//! 2^64, so callers must bound the total; secure comparison needs this ring's bit structure).
//! [`Scalar`] (the prime field of order ℓ ≈ 2^252) leaves ample headroom for sums of squares
//! and products, at the price of 32-byte shares and slower arithmetic.
//!
//! Signed values are embedded in the usual way: −v is the additive inverse of v. A ring element
//! is read back as a signed integer only when it lies in the ring's symmetric range; anything
//! else is reported as out of range rather than silently wrapped.

use std::ops::{Add, Mul, Neg, Sub};

use curve25519_dalek::Scalar;
use rand_core::RngCore;
use zeroize::Zeroize;

use crate::error::MpcError;

/// A commutative ring whose elements can be secret-shared additively.
pub trait Ring:
    Copy
    + Eq
    + Add<Output = Self>
    + Sub<Output = Self>
    + Neg<Output = Self>
    + Mul<Output = Self>
    + Zeroize
    + Send
    + Sync
    + 'static
{
    /// The additive identity.
    const ZERO: Self;
    /// The multiplicative identity.
    const ONE: Self;
    /// Bytes of one encoded element.
    const ENCODED_LEN: usize;
    /// A short name for messages and audit records.
    const NAME: &'static str;
    /// The byte naming this ring in share encodings.
    const TAG: u8;

    /// A uniformly random element.
    fn random<R: RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self;
    /// Embeds a signed integer (−v is the additive inverse of v). For [`Z64`] the value is
    /// reduced modulo 2^64; callers check ranges first.
    fn from_i128(value: i128) -> Self;
    /// The signed integer this element stands for, if it lies in the ring's symmetric range.
    fn to_i128(self) -> Option<i128>;
    /// Appends the canonical encoding.
    fn encode(&self, out: &mut Vec<u8>);
    /// Parses a canonical encoding of exactly [`Ring::ENCODED_LEN`] bytes.
    fn decode(bytes: &[u8]) -> Result<Self, MpcError>;
}

/// An integer modulo 2^64.
#[derive(Clone, Copy, PartialEq, Eq, Default, Zeroize)]
pub struct Z64(pub u64);

impl std::fmt::Debug for Z64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ring elements are shares more often than not: never print them.
        f.write_str("Z64(..)")
    }
}

impl Add for Z64 {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self(self.0.wrapping_add(rhs.0))
    }
}

impl Sub for Z64 {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0.wrapping_sub(rhs.0))
    }
}

impl Neg for Z64 {
    type Output = Self;
    fn neg(self) -> Self {
        Self(self.0.wrapping_neg())
    }
}

impl Mul for Z64 {
    type Output = Self;
    fn mul(self, rhs: Self) -> Self {
        Self(self.0.wrapping_mul(rhs.0))
    }
}

impl Ring for Z64 {
    const ZERO: Self = Self(0);
    const ONE: Self = Self(1);
    const ENCODED_LEN: usize = 8;
    const NAME: &'static str = "z2^64";
    const TAG: u8 = 1;

    fn random<R: RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Self(rng.next_u64())
    }

    fn from_i128(value: i128) -> Self {
        // Truncation to the low 64 bits is reduction modulo 2^64, by definition of the ring.
        Self(value as u64)
    }

    fn to_i128(self) -> Option<i128> {
        Some(i128::from(self.0 as i64))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<Self, MpcError> {
        let array: [u8; 8] = bytes
            .try_into()
            .map_err(|_| MpcError::Malformed { what: "z2^64 element", reason: "length" })?;
        Ok(Self(u64::from_le_bytes(array)))
    }
}

/// The largest magnitude a [`Scalar`] reads back as a signed integer: 2^126, far below ℓ/2, so
/// a wrapped (negative) value is never mistaken for a large positive one.
const SCALAR_SIGNED_LIMIT: u128 = 1 << 126;

impl Ring for Scalar {
    const ZERO: Self = Scalar::ZERO;
    const ONE: Self = Scalar::ONE;
    const ENCODED_LEN: usize = 32;
    const NAME: &'static str = "ristretto255-scalar";
    const TAG: u8 = 2;

    fn random<R: RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Scalar::random(rng)
    }

    fn from_i128(value: i128) -> Self {
        let magnitude = Scalar::from(value.unsigned_abs());
        if value < 0 {
            -magnitude
        } else {
            magnitude
        }
    }

    fn to_i128(self) -> Option<i128> {
        let positive = scalar_to_small(&self);
        if let Some(v) = positive.filter(|v| *v <= SCALAR_SIGNED_LIMIT) {
            return i128::try_from(v).ok();
        }
        let negative = scalar_to_small(&-self)?;
        (negative <= SCALAR_SIGNED_LIMIT).then(|| -(negative as i128))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<Self, MpcError> {
        crate::group::decode_scalar(bytes, "scalar")
    }
}

/// The scalar as a `u128` when its top 16 bytes are zero.
fn scalar_to_small(s: &Scalar) -> Option<u128> {
    let bytes = s.as_bytes();
    if bytes[16..].iter().any(|b| *b != 0) {
        return None;
    }
    let mut low = [0u8; 16];
    low.copy_from_slice(&bytes[..16]);
    Some(u128::from_le_bytes(low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_round_trips() {
        for v in [0i128, 1, -1, 42, -42, i128::from(i64::MAX), i128::from(i64::MIN), 1 << 100] {
            assert_eq!(Scalar::from_i128(v).to_i128(), Some(v));
        }
        for v in [0i128, 5, -5, i128::from(i64::MIN)] {
            assert_eq!(Z64::from_i128(v).to_i128(), Some(v));
        }
        let huge = Scalar::from(3u8) * Scalar::from(1u128 << 127) * Scalar::from(1u128 << 127);
        assert_eq!(huge.to_i128(), None);
    }

    #[test]
    fn unreduced_scalars_are_refused() {
        let mut bytes = [0xffu8; 32];
        bytes[31] = 0x7f;
        assert!(matches!(Scalar::decode(&bytes), Err(MpcError::NonCanonical { .. })));
        assert!(matches!(Scalar::decode(&[0u8; 31]), Err(MpcError::Malformed { .. })));
        assert!(matches!(Z64::decode(&[0u8; 9]), Err(MpcError::Malformed { .. })));
    }
}
