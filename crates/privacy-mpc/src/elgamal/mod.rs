//! Exponential ElGamal on Ristretto255: additively homomorphic encryption of bounded integers,
//! with threshold key generation and decryption among n sites.
//!
//! `Enc(m; r) = (r·G, m·G + r·Y)` for the public key `Y = x·G`. Adding ciphertexts
//! componentwise adds plaintexts. Decryption computes `M = c₂ − x·c₁ = m·G` and then `m` by a
//! discrete-logarithm search over a declared range ([`DiscreteLogTable`]), so plaintexts must be
//! bounded integers (counts, sums of bounded values), and a sum that leaves the declared range
//! is reported as [`MpcError::DiscreteLogOutOfRange`], never as a wrong value.
//!
//! Guarantee: IND-CPA under the decisional Diffie–Hellman assumption in Ristretto255
//! (ElGamal, IEEE Trans. IT 1985; exponential variant: Cramer, Gennaro, Schoenmakers,
//! EUROCRYPT '97). Not IND-CCA: ciphertexts are malleable by design.
//!
//! Speed: the public key keeps a precomputed fixed-base table of `Y`, so an encryption is two
//! fixed-base multiplications (`r·G`, `r·Y`) and a short constant-time one for the 64-bit
//! plaintext (`m·G`, [`small_base`]); additions are two point additions. Batch decryption
//! ([`SecretKey::decrypt_batch_audited`]) walks the discrete-log searches of all ciphertexts
//! together (see [`DiscreteLogTable::solve_batch`]) and records one audit event.
//!
//! Constant time: encryption and the `x·c₁` of decryption are constant-time (dalek); the
//! discrete-log search runs a fixed number of steps but not in constant time (see
//! [`dlog`]).

pub mod distributed;
pub mod dlog;
mod small_base;
pub mod threshold;

use std::ops::{Add, Sub};

use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use privacy_core::SecureRng;

pub use dlog::DiscreteLogTable;

use crate::audit::AuditContext;
use crate::error::{MpcError, Result};
use crate::group::{
    decode_point, decode_public_point, decode_scalar, random_scalar, scalar_from_i64,
};
use crate::wire::{ObjectType, WireReader, WireWriter};
use crate::zkp::chaum_pedersen::{ChaumPedersenProof, DlogEquality};

/// An ElGamal public key `Y`, with a fixed-base table for fast encryption.
#[derive(Clone)]
pub struct PublicKey {
    point: RistrettoPoint,
    table: Box<RistrettoBasepointTable>,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.point == other.point
    }
}

impl Eq for PublicKey {}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ElGamalPublicKey({})", self.fingerprint_hex())
    }
}

impl PublicKey {
    /// Wraps a point as a public key; refuses the identity (which would encrypt in the clear).
    pub fn from_point(point: RistrettoPoint) -> Result<Self> {
        use curve25519_dalek::traits::IsIdentity;
        if point.is_identity() {
            return Err(MpcError::InvalidKey("the identity is not a public key"));
        }
        Ok(Self { point, table: Box::new(RistrettoBasepointTable::create(&point)) })
    }

    /// The point `Y`.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// `elgamal:` and the first 16 bytes of SHA-256 over the encoding, in hex.
    pub fn fingerprint_hex(&self) -> String {
        let digest = Sha256::digest(self.to_bytes());
        format!("elgamal:{}", hex::encode(&digest[..16]))
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::ElGamalPublicKey)
            .field(self.point.compress().as_bytes())
            .finish()
    }

    /// Decodes a public key: canonical, valid, not the identity.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "elgamal public key";
        let mut r = WireReader::new(bytes, ObjectType::ElGamalPublicKey, what)?;
        let point = decode_public_point(r.field(32)?, what)?;
        r.finish()?;
        Self::from_point(point)
    }

    /// Encrypts a signed integer.
    pub fn encrypt<R: RngCore + CryptoRng>(&self, m: i64, rng: &mut R) -> Ciphertext {
        let r = random_scalar(rng);
        Ciphertext {
            c1: RistrettoPoint::mul_base(&r),
            c2: small_base::mul_base_i64(m) + &*self.table * &r,
        }
    }

    /// Encrypts `m·G` for a scalar `m` (callers decrypting by search keep `m` small).
    pub fn encrypt_scalar<R: RngCore + CryptoRng>(&self, m: &Scalar, rng: &mut R) -> Ciphertext {
        let r = random_scalar(rng);
        Ciphertext {
            c1: RistrettoPoint::mul_base(&r),
            c2: RistrettoPoint::mul_base(m) + &*self.table * &r,
        }
    }

    /// A fresh encryption of the same plaintext: adds an encryption of 0.
    pub fn rerandomize<R: RngCore + CryptoRng>(&self, c: &Ciphertext, rng: &mut R) -> Ciphertext {
        *c + self.encrypt_scalar(&Scalar::ZERO, rng)
    }

    /// Verifies a proof that `c` decrypts to `m` under this key.
    pub fn verify_decryption(
        &self,
        c: &Ciphertext,
        m: i64,
        proof: &ChaumPedersenProof,
    ) -> Result<()> {
        proof.verify(DECRYPTION_CONTEXT, &decryption_statement(&self.point, c, m))
    }
}

const DECRYPTION_CONTEXT: &[u8] = b"elgamal-decryption";

/// `Y = x·G` and `c₂ − m·G = x·c₁`.
fn decryption_statement(y: &RistrettoPoint, c: &Ciphertext, m: i64) -> DlogEquality {
    DlogEquality {
        g: curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT,
        a: *y,
        h: c.c1,
        b: c.c2 - RistrettoPoint::mul_base(&scalar_from_i64(m)),
    }
}

/// An ElGamal secret key `x` (or one site's share of a threshold key). Zeroized on drop, never
/// printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    x: Scalar,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ElGamalSecretKey { .. }")
    }
}

impl SecretKey {
    /// Generates a key and records a `KeyGeneration` event.
    pub fn generate(rng: &mut SecureRng, audit: &AuditContext<'_>) -> Result<(Self, PublicKey)> {
        let secret = Self { x: random_scalar(rng) };
        let public = secret.public_key()?;
        audit.key_generated("elgamal-ristretto255", 255, &public.fingerprint_hex())?;
        Ok((secret, public))
    }

    pub(crate) fn from_scalar(x: Scalar) -> Self {
        Self { x }
    }

    pub(crate) fn scalar(&self) -> &Scalar {
        &self.x
    }

    /// The public key `x·G`.
    pub fn public_key(&self) -> Result<PublicKey> {
        PublicKey::from_point(RistrettoPoint::mul_base(&self.x))
    }

    /// `m·G` of a ciphertext: `c₂ − x·c₁`.
    pub fn decrypt_point(&self, c: &Ciphertext) -> RistrettoPoint {
        c.c2 - c.c1 * self.x
    }

    /// The plaintext in `[lo, lo + 2^bits)`, searched in `table`.
    pub fn decrypt(
        &self,
        c: &Ciphertext,
        table: &DiscreteLogTable,
        lo: i64,
        bits: u32,
    ) -> Result<i64> {
        table.solve(&self.decrypt_point(c), lo, bits)
    }

    /// Decrypts a batch over one range `[lo, lo + 2^bits)` and table, recording one
    /// `Decryption` event first (a sink that refuses it stops the call before anything is
    /// decrypted). The searches of all ciphertexts are walked together
    /// ([`DiscreteLogTable::solve_batch`]). Refuses the whole batch with
    /// [`MpcError::DiscreteLogOutOfRange`] if any plaintext lies outside the range.
    pub fn decrypt_batch_audited(
        &self,
        ciphertexts: &[Ciphertext],
        table: &DiscreteLogTable,
        range: (i64, u32),
        audit: &AuditContext<'_>,
    ) -> Result<Vec<i64>> {
        audit.decrypted(
            "elgamal-ristretto255",
            &self.public_key()?.fingerprint_hex(),
            ciphertexts.len(),
        )?;
        let points: Vec<RistrettoPoint> =
            ciphertexts.iter().map(|c| self.decrypt_point(c)).collect();
        table.solve_batch(&points, range.0, range.1)?.into_iter().collect()
    }

    /// A proof that `c` decrypts to `m` (Chaum–Pedersen on `Y = x·G`, `c₂ − m·G = x·c₁`).
    pub fn prove_decryption(
        &self,
        c: &Ciphertext,
        m: i64,
        rng: &mut SecureRng,
    ) -> ChaumPedersenProof {
        let statement = decryption_statement(&RistrettoPoint::mul_base(&self.x), c, m);
        ChaumPedersenProof::prove(DECRYPTION_CONTEXT, &statement, &self.x, rng)
    }

    /// The wire encoding. Handle it as the secret it is.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::ElGamalSecretKey).field(self.x.as_bytes()).finish()
    }

    /// Decodes a secret key: a canonical, non-zero scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "elgamal secret key";
        let mut r = WireReader::new(bytes, ObjectType::ElGamalSecretKey, what)?;
        let x = decode_scalar(r.field(32)?, what)?;
        r.finish()?;
        if x == Scalar::ZERO {
            return Err(MpcError::InvalidKey("zero secret key"));
        }
        Ok(Self { x })
    }
}

/// An ElGamal ciphertext `(c₁, c₂)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    c1: RistrettoPoint,
    c2: RistrettoPoint,
}

impl Ciphertext {
    /// `(c₁, c₂)`.
    pub fn points(&self) -> (RistrettoPoint, RistrettoPoint) {
        (self.c1, self.c2)
    }

    /// An encryption of `k·m` from one of `m` (not re-randomized).
    pub fn mul_scalar(&self, k: i64) -> Ciphertext {
        let k = scalar_from_i64(k);
        Ciphertext { c1: self.c1 * k, c2: self.c2 * k }
    }

    /// The wire encoding (two 32-byte points).
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::ElGamalCiphertext)
            .field(self.c1.compress().as_bytes())
            .field(self.c2.compress().as_bytes())
            .finish()
    }

    /// Decodes a ciphertext, refusing non-canonical encodings. The identity is valid in either
    /// component (`r = 0` happens with probability 2⁻²⁵², and sums can cancel).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "elgamal ciphertext";
        let mut r = WireReader::new(bytes, ObjectType::ElGamalCiphertext, what)?;
        let c1 = decode_point(r.field(32)?, what)?;
        let c2 = decode_point(r.field(32)?, what)?;
        r.finish()?;
        Ok(Self { c1, c2 })
    }
}

impl Add for Ciphertext {
    type Output = Ciphertext;
    fn add(self, other: Ciphertext) -> Ciphertext {
        Ciphertext { c1: self.c1 + other.c1, c2: self.c2 + other.c2 }
    }
}

impl Sub for Ciphertext {
    type Output = Ciphertext;
    fn sub(self, other: Ciphertext) -> Ciphertext {
        Ciphertext { c1: self.c1 - other.c1, c2: self.c2 - other.c2 }
    }
}

impl std::iter::Sum for Ciphertext {
    fn sum<I: Iterator<Item = Ciphertext>>(iter: I) -> Ciphertext {
        let zero = Ciphertext { c1: RistrettoPoint::default(), c2: RistrettoPoint::default() };
        iter.fold(zero, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests;
