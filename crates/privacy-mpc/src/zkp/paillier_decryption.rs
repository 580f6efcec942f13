//! A zero-knowledge proof that a Paillier ciphertext decrypts to a claimed plaintext.
//!
//! `c` decrypts to `m` exactly when `u = c · (1 + mN)⁻¹ = c · (1 − mN) mod N²` is an `N`-th
//! residue, `u = ρ^N`. The key holder recovers `ρ = u^(N⁻¹ mod φ(N)) mod N` and proves
//! knowledge of an `N`-th root of `u` with the Σ-protocol of Damgård and Jurik (PKC 2001, §5;
//! the Guillou–Quisquater pattern): commit `a = s^N mod N²` for uniform `s ∈ Z*_N`, challenge
//! `e < 2¹²⁸`, answer `z = s·ρ^e mod N`; the verifier checks `z^N ≡ a·u^e (mod N²)`.
//!
//! Soundness: from two answers to challenges `e ≠ e′` for one `a`, `(z/z′)^N = u^(e−e′)`, and
//! since `0 < |e − e′| < 2¹²⁸` is coprime to `N` (whose prime factors exceed 2¹⁰⁰⁰), an `N`-th
//! root of `u` follows: soundness error 2⁻¹²⁸. Honest-verifier zero knowledge: `z` is uniform in
//! `Z*_N` and `a = z^N / u^e`. The challenge comes from a transcript over `N`, `c`, `m` and `a`.

use num_bigint::{BigUint, RandBigInt};
use num_traits::Zero;

use privacy_core::SecureRng;

use crate::error::{MpcError, Result};
use crate::paillier::keys::coprime;
use crate::paillier::{Ciphertext, PublicKey, SecretKey};
use crate::wire::{ObjectType, WireReader, WireWriter};

use super::transcript::transcript;

/// The proof `(a, z)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaillierDecryptionProof {
    a: BigUint,
    z: BigUint,
}

fn challenge(key: &PublicKey, c: &Ciphertext, m: &BigUint, a: &BigUint) -> BigUint {
    let mut t = transcript(b"paillier-decryption");
    t.append_message(b"N", &key.n().to_bytes_be());
    t.append_message(b"c", &c.value().to_bytes_be());
    t.append_message(b"m", &m.to_bytes_be());
    t.append_message(b"a", &a.to_bytes_be());
    let mut e = [0u8; 16];
    t.challenge_bytes(b"e", &mut e);
    BigUint::from_bytes_be(&e)
}

/// `c · (1 − mN) mod N²`.
fn residue(key: &PublicKey, c: &Ciphertext, m: &BigUint) -> BigUint {
    let n2 = key.n_squared();
    let one_minus_mn = (n2 + 1u32 - (m * key.n()) % n2) % n2;
    (c.value() * one_minus_mn) % n2
}

impl PaillierDecryptionProof {
    /// Decrypts `c` and proves the result.
    pub fn prove(key: &SecretKey, c: &Ciphertext, rng: &mut SecureRng) -> Result<(BigUint, Self)> {
        let m = key.decrypt(c)?;
        let public = key.public();
        let u = residue(public, c, &m);
        let rho = key.nth_root(&u)?;
        let s = loop {
            let s = rng.gen_biguint_below(public.n());
            if !s.is_zero() && coprime(&s, public.n()) {
                break s;
            }
        };
        let a = s.modpow(public.n(), public.n_squared());
        let e = challenge(public, c, &m, &a);
        let z = (s * rho.modpow(&e, public.n())) % public.n();
        Ok((m, Self { a, z }))
    }

    /// Verifies that `c` decrypts to `m` under `key`.
    pub fn verify(&self, key: &PublicKey, c: &Ciphertext, m: &BigUint) -> Result<()> {
        let rejected = MpcError::ProofRejected("paillier decryption");
        if m >= key.n() || c.key_fingerprint() != key.fingerprint() {
            return Err(rejected);
        }
        let n2 = key.n_squared();
        if self.a.is_zero() || &self.a >= n2 || self.z.is_zero() || &self.z >= key.n() {
            return Err(rejected);
        }
        let e = challenge(key, c, m, &self.a);
        let u = residue(key, c, m);
        let lhs = self.z.modpow(key.n(), n2);
        let rhs = (&self.a * u.modpow(&e, n2)) % n2;
        if lhs == rhs {
            Ok(())
        } else {
            Err(rejected)
        }
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::Proof)
            .field(b"paillier-decryption")
            .uint(&self.a)
            .uint(&self.z)
            .finish()
    }

    /// Decodes a proof (numbers of at most 8192 bits; ranges are checked by `verify`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "paillier decryption proof";
        let mut r = WireReader::new(bytes, ObjectType::Proof, what)?;
        if r.field(32)? != b"paillier-decryption" {
            return Err(MpcError::Malformed { what, reason: "another proof type" });
        }
        let a = r.uint(1024)?;
        let z = r.uint(512)?;
        r.finish()?;
        Ok(Self { a, z })
    }
}

impl SecretKey {
    /// The `N`-th root modulo `N` of an `N`-th residue `u` modulo `N²`.
    pub(crate) fn nth_root(&self, u: &BigUint) -> Result<BigUint> {
        let n = self.public().n();
        let d =
            n.modinv(&self.phi()).ok_or(MpcError::InvalidKey("N not invertible modulo phi(N)"))?;
        Ok((u % n).modpow(&d, n))
    }
}
