//! The versioned, length-prefixed byte format of every key, ciphertext and proof of this crate.
//!
//! ```text
//! object  = magic "MPV" (3 bytes) ‖ version (1 byte, = 1) ‖ type tag (1 byte) ‖ field*
//! field   = length (u32, big-endian) ‖ bytes
//! ```
//!
//! Nothing may follow the last field. Each reader names the fields it expects, with a maximum
//! length for each, so a hostile length prefix cannot make a reader allocate or scan more than
//! the limit. Integers are unsigned big-endian with no leading zero byte (one encoding per
//! value, so equal values have equal bytes and a fingerprint is well defined).
//!
//! Trade-off: a hand-written framing rather than a serde format. It is a few dozen lines, has
//! exactly one encoding per object (serde formats accept several), and every range check sits
//! next to the field it guards, in the type's own `from_bytes`.

use num_bigint::BigUint;

use crate::error::{MpcError, Result};

/// The magic bytes that start every object.
pub const MAGIC: &[u8; 3] = b"MPV";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;

/// The object type tags. A tag is never reused for another type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum ObjectType {
    /// A Paillier public key.
    PaillierPublicKey = 1,
    /// A Paillier secret key.
    PaillierSecretKey = 2,
    /// A Paillier ciphertext.
    PaillierCiphertext = 3,
    /// A proof that a Paillier modulus is square-free.
    PaillierModulusProof = 4,
    /// An exponential-ElGamal public key.
    ElGamalPublicKey = 5,
    /// An exponential-ElGamal ciphertext.
    ElGamalCiphertext = 6,
    /// An exponential-ElGamal secret key (or one site's share of a threshold key).
    ElGamalSecretKey = 7,
    /// A zero-knowledge proof.
    Proof = 8,
    /// A Paillier plaintext-encoding declaration (integer, fixed-point or packed).
    PaillierEncoding = 9,
    /// A Paillier ciphertext with the encoding of its plaintext (integer, or fixed-point with
    /// its fractional bits): the files of `medi-privacy paillier`.
    PaillierEncodedCiphertext = 10,
    /// One site's broadcast in threshold ElGamal key generation (Feldman commitments and a
    /// proof of knowledge). Tags from 16 on belong to the protocol formats of `privacy-mpc`.
    ThresholdDealerMessage = 16,
    /// One site's decryption share of an ElGamal ciphertext, with its proof.
    ThresholdDecryptionShare = 17,
    /// One site's share of a threshold ElGamal key (secret) with the public side.
    ThresholdKeyShare = 18,
    /// The public side of a threshold ElGamal key: parameters, session, joint key and every
    /// site's verification key.
    ThresholdPublicKey = 19,
    /// A list of Pedersen commitments (a committed vector, e.g. a model update).
    CommitmentVector = 20,
}

/// Writes one object.
#[derive(Debug)]
pub struct WireWriter {
    bytes: Vec<u8>,
}

impl WireWriter {
    /// Starts an object of type `kind`.
    pub fn new(kind: ObjectType) -> Self {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(MAGIC);
        bytes.push(VERSION);
        bytes.push(kind as u8);
        Self { bytes }
    }

    /// Appends a field. Fields are at most 4 GiB; ours are all far below.
    pub fn field(mut self, data: &[u8]) -> Self {
        // A field longer than u32::MAX cannot be built from this crate's objects (the largest
        // is a few hundred kilobytes), so the saturation never triggers.
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(data);
        self
    }

    /// Appends an unsigned integer in minimal big-endian form (zero is the empty field).
    pub fn uint(self, value: &BigUint) -> Self {
        let data = if value.bits() == 0 { Vec::new() } else { value.to_bytes_be() };
        self.field(&data)
    }

    /// Appends a `u64` as an 8-byte field.
    pub fn u64(self, value: u64) -> Self {
        self.field(&value.to_be_bytes())
    }

    /// The finished object.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads one object, field by field.
#[derive(Debug)]
pub struct WireReader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> WireReader<'a> {
    /// Checks the magic, version and type tag of `bytes`; `what` names the object in errors.
    pub fn new(bytes: &'a [u8], kind: ObjectType, what: &'static str) -> Result<Self> {
        let header = bytes.get(..5).ok_or(MpcError::Malformed { what, reason: "truncated" })?;
        if &header[..3] != MAGIC {
            return Err(MpcError::Malformed { what, reason: "bad magic bytes" });
        }
        if header[3] != VERSION {
            return Err(MpcError::UnsupportedVersion { what, found: header[3] });
        }
        if header[4] != kind as u8 {
            return Err(MpcError::WrongObjectType { expected: what, found: header[4] });
        }
        Ok(Self { rest: &bytes[5..], what })
    }

    /// The next field, refused when longer than `max_len`.
    pub fn field(&mut self, max_len: usize) -> Result<&'a [u8]> {
        let what = self.what;
        let (len, rest) = self
            .rest
            .split_first_chunk::<4>()
            .ok_or(MpcError::Malformed { what, reason: "truncated length prefix" })?;
        let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
        if len > max_len {
            return Err(MpcError::Malformed { what, reason: "field longer than its limit" });
        }
        if len > rest.len() {
            return Err(MpcError::Malformed { what, reason: "field runs past the end" });
        }
        let (field, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(field)
    }

    /// The next field as an unsigned integer of at most `max_bytes` bytes, refusing leading
    /// zero bytes (a second encoding of the same value).
    pub fn uint(&mut self, max_bytes: usize) -> Result<BigUint> {
        let field = self.field(max_bytes)?;
        if field.first() == Some(&0) {
            return Err(MpcError::Malformed {
                what: self.what,
                reason: "integer has a leading zero",
            });
        }
        Ok(BigUint::from_bytes_be(field))
    }

    /// The next field as a `u64` (exactly 8 bytes).
    pub fn u64(&mut self) -> Result<u64> {
        let field = self.field(8)?;
        let array: [u8; 8] = field.try_into().map_err(|_| MpcError::Malformed {
            what: self.what,
            reason: "integer is not 8 bytes",
        })?;
        Ok(u64::from_be_bytes(array))
    }

    /// The next field, which must be exactly `N` bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let field = self.field(N)?;
        field
            .try_into()
            .map_err(|_| MpcError::Malformed { what: self.what, reason: "wrong length" })
    }

    /// Ends the object: refuses trailing bytes.
    pub fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(MpcError::Malformed { what: self.what, reason: "trailing bytes" })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let bytes = WireWriter::new(ObjectType::Proof)
            .uint(&BigUint::from(258u32))
            .uint(&BigUint::from(0u32))
            .u64(7)
            .finish();
        let mut r = WireReader::new(&bytes, ObjectType::Proof, "test").unwrap();
        assert_eq!(r.uint(4).unwrap(), BigUint::from(258u32));
        assert_eq!(r.uint(4).unwrap(), BigUint::from(0u32));
        assert_eq!(r.u64().unwrap(), 7);
        r.finish().unwrap();

        let read_all = |b: &[u8]| -> Result<()> {
            let mut r = WireReader::new(b, ObjectType::Proof, "test")?;
            r.uint(4)?;
            r.uint(4)?;
            r.u64()?;
            r.finish()
        };
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            read_all(&long),
            Err(MpcError::Malformed { reason: "trailing bytes", .. })
        ));
        assert!(matches!(read_all(&bytes[..bytes.len() - 1]), Err(MpcError::Malformed { .. })));
        let mut version = bytes.clone();
        version[3] = 2;
        assert!(matches!(read_all(&version), Err(MpcError::UnsupportedVersion { found: 2, .. })));
        let mut kind = bytes.clone();
        kind[4] = 1;
        assert!(matches!(read_all(&kind), Err(MpcError::WrongObjectType { found: 1, .. })));
        // A two-byte integer where one byte is the limit.
        let mut r = WireReader::new(&bytes, ObjectType::Proof, "test").unwrap();
        assert!(matches!(r.uint(1), Err(MpcError::Malformed { .. })));
        let padded = WireWriter::new(ObjectType::Proof).field(&[0, 1]).finish();
        let mut r = WireReader::new(&padded, ObjectType::Proof, "test").unwrap();
        assert!(matches!(r.uint(4), Err(MpcError::Malformed { .. })));
    }
}
