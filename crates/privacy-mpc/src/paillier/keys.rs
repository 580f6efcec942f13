//! Paillier keys: generation, structural checks, precomputed CRT constants, wire format.
//!
//! A key pair is two primes `p`, `q` of exactly half the modulus length each (top two bits set,
//! so `N = pq` has exactly the requested length), with `|p − q| ≥ 2^(bits/2 − 100)` as FIPS
//! 186-5 §A.1.3 requires of RSA primes, so Fermat factoring cannot find them. The generator is
//! `g = N + 1`, whose powers are `1 + mN mod N²` without an exponentiation.
//!
//! A received public key is **checked** when decoded: length 2048 to 4096 bits, odd, no prime
//! factor below 2¹⁶, not a perfect square. That it is square-free is **proved** by its holder
//! with a [`super::ModulusProof`]. Both matter: the 2023 key-extraction attacks on threshold
//! ECDSA wallets (Makriyannis, Yomtov, Galansky, "Practical Key-Extraction Attacks in Leading
//! MPC Wallets", ACM CCS 2023; and the "BitForge" disclosures) used Paillier moduli with small
//! or repeated factors that implementations accepted without proof.
//!
//! The secret key holds the CRT constants of decryption and key-holder encryption, computed
//! once. It is zeroized on drop (see [`SecretKey`] for what that covers) and never printed.
//!
//! Trade-off: keys are fixed at 2048 or 3072 bits on generation (112 and 128-bit security,
//! NIST SP 800-57) rather than any length, so every deployment sits at a known level.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};
use sha2::{Digest, Sha256};

use privacy_core::SecureRng;

use super::primes::MR_ROUNDS;
use super::primes::{is_probable_prime, random_prime, random_safe_prime, smallest_small_factor};
use crate::audit::AuditContext;
use crate::error::{MpcError, Result};
use crate::wire::{ObjectType, WireReader, WireWriter};

/// The smallest and largest modulus this crate accepts from others, in bits.
pub const MODULUS_BITS_RANGE: (u64, u64) = (2048, 4096);

/// The modulus sizes [`SecretKey::generate`] offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModulusSize {
    /// 2048 bits: 112-bit security, acceptable to 2030 (NIST SP 800-57 part 1).
    Bits2048,
    /// 3072 bits: 128-bit security.
    Bits3072,
}

impl ModulusSize {
    /// The length in bits.
    pub fn bits(self) -> u64 {
        match self {
            Self::Bits2048 => 2048,
            Self::Bits3072 => 3072,
        }
    }
}

/// How to generate a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyGenOptions {
    /// The modulus length.
    pub size: ModulusSize,
    /// Use safe primes (`p = 2p′ + 1`). Paillier's security does not need them; protocols that
    /// prove statements about the key (e.g. Paillier–Blum modulus proofs) sometimes do. Much
    /// slower: minutes for 3072 bits.
    pub safe_primes: bool,
}

/// A Paillier public key: the modulus `N` and what is derived from it.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    n: BigUint,
    n_squared: BigUint,
    fingerprint: [u8; 16],
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PaillierPublicKey({} bits, {})", self.bits(), self.fingerprint_hex())
    }
}

impl PublicKey {
    fn from_modulus_unchecked(n: BigUint) -> Self {
        let n_squared = &n * &n;
        let encoded = WireWriter::new(ObjectType::PaillierPublicKey).uint(&n).finish();
        let digest = Sha256::digest(&encoded);
        let mut fingerprint = [0u8; 16];
        fingerprint.copy_from_slice(&digest[..16]);
        Self { n, n_squared, fingerprint }
    }

    /// A public key from a received modulus, after the structural checks of
    /// [`check_modulus`]. Square-freeness needs the holder's [`super::ModulusProof`].
    pub fn from_modulus(n: BigUint) -> Result<Self> {
        check_modulus(&n)?;
        Ok(Self::from_modulus_unchecked(n))
    }

    /// The modulus `N`.
    pub fn n(&self) -> &BigUint {
        &self.n
    }

    /// `N²`, the ciphertext modulus.
    pub fn n_squared(&self) -> &BigUint {
        &self.n_squared
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> u64 {
        self.n.bits()
    }

    /// The first 16 bytes of SHA-256 over the key's wire encoding: names the key in ciphertexts,
    /// files and audit events.
    pub fn fingerprint(&self) -> [u8; 16] {
        self.fingerprint
    }

    /// The fingerprint as `paillier:` followed by 32 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        format!("paillier:{}", hex::encode(self.fingerprint))
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::PaillierPublicKey).uint(&self.n).finish()
    }

    /// Decodes a public key and applies [`check_modulus`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader =
            WireReader::new(bytes, ObjectType::PaillierPublicKey, "paillier public key")?;
        let n = reader.uint(max_modulus_bytes())?;
        reader.finish()?;
        Self::from_modulus(n)
    }
}

fn max_modulus_bytes() -> usize {
    // 4096 bits.
    (MODULUS_BITS_RANGE.1 / 8) as usize
}

/// The checks a received modulus must pass: length in [`MODULUS_BITS_RANGE`], odd, no prime
/// factor below 2¹⁶, not a perfect square. Cheap (about a millisecond); it does not show that
/// `N` is square-free, which [`super::ModulusProof`] does.
pub fn check_modulus(n: &BigUint) -> Result<()> {
    let bits = n.bits();
    if bits < MODULUS_BITS_RANGE.0 || bits > MODULUS_BITS_RANGE.1 {
        return Err(MpcError::InvalidKey("modulus length outside 2048..=4096 bits"));
    }
    if smallest_small_factor(n).is_some() {
        return Err(MpcError::InvalidKey("modulus has a prime factor below 2^16"));
    }
    let root = n.sqrt();
    if &root * &root == *n {
        return Err(MpcError::InvalidKey("modulus is a perfect square"));
    }
    Ok(())
}

/// A Paillier secret key with its precomputed CRT constants.
///
/// Zeroization: on drop every limb of `p`, `q` and each derived constant is overwritten in place
/// before its buffer is freed. Temporaries inside num-bigint's arithmetic (products, remainders
/// during decryption) are freed without being overwritten: `FIXME: num-bigint has no zeroizing
/// allocator; a fixed-size integer type (crypto-bigint) with Zeroize would close this.`
pub struct SecretKey {
    public: PublicKey,
    pub(super) p: BigUint,
    pub(super) q: BigUint,
    pub(super) p_squared: BigUint,
    pub(super) q_squared: BigUint,
    pub(super) p_minus_1: BigUint,
    pub(super) q_minus_1: BigUint,
    /// `L_p(g^(p−1) mod p²)⁻¹ mod p`.
    pub(super) h_p: BigUint,
    /// `L_q(g^(q−1) mod q²)⁻¹ mod q`.
    pub(super) h_q: BigUint,
    /// `q⁻¹ mod p`, for recombining `m mod p` and `m mod q`.
    pub(super) q_inv_p: BigUint,
    /// `(q²)⁻¹ mod p²`, for recombining residues modulo `p²` and `q²`.
    pub(super) q2_inv_p2: BigUint,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PaillierSecretKey({} bits, {}, ..)",
            self.public.bits(),
            self.public.fingerprint_hex()
        )
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        for x in [
            &mut self.p,
            &mut self.q,
            &mut self.p_squared,
            &mut self.q_squared,
            &mut self.p_minus_1,
            &mut self.q_minus_1,
            &mut self.h_p,
            &mut self.h_q,
            &mut self.q_inv_p,
            &mut self.q2_inv_p2,
        ] {
            wipe(x);
        }
    }
}

/// Overwrites every bit of `x` in place, lowest first, so that no limb is freed or moved while
/// still holding secret bits.
pub(crate) fn wipe(x: &mut BigUint) {
    for bit in 0..x.bits() {
        x.set_bit(bit, false);
    }
}

impl SecretKey {
    /// Generates a key pair and records a `KeyGeneration` event (algorithm, size, public
    /// fingerprint) before returning it: a key whose generation could not be recorded is
    /// not handed out.
    pub fn generate(
        options: KeyGenOptions,
        rng: &mut SecureRng,
        audit: &AuditContext<'_>,
    ) -> Result<Self> {
        let key = Self::generate_with_bits(options.size.bits(), options.safe_primes, rng)?;
        let algorithm = if options.safe_primes { "paillier-safe-primes" } else { "paillier" };
        audit.key_generated(algorithm, key.public.bits(), &key.public.fingerprint_hex())?;
        tracing::info!(
            bits = key.public.bits(),
            safe_primes = options.safe_primes,
            "paillier key generated"
        );
        Ok(key)
    }

    /// Generation for any even length ≥ 256 bits: the public entry point fixes 2048 or 3072;
    /// tests use this with smaller sizes where the size does not matter.
    pub(crate) fn generate_with_bits(bits: u64, safe: bool, rng: &mut SecureRng) -> Result<Self> {
        if bits < 256 || !bits.is_multiple_of(2) {
            return Err(MpcError::InvalidParameter("modulus length must be even and at least 256"));
        }
        let half = bits / 2;
        loop {
            let prime = |rng: &mut SecureRng| {
                if safe {
                    random_safe_prime(half, rng)
                } else {
                    random_prime(half, rng)
                }
            };
            let p = prime(rng);
            let q = prime(rng);
            if far_apart(&p, &q, half) {
                return Self::from_primes_unchecked(p, q);
            }
        }
    }

    /// A secret key from its primes, after checking them: both prime (40 Miller–Rabin rounds),
    /// of equal length, far apart, product of at least 2048 bits.
    pub fn from_primes(p: BigUint, q: BigUint, rng: &mut SecureRng) -> Result<Self> {
        let half = p.bits();
        if q.bits() != half {
            return Err(MpcError::InvalidKey("primes of different lengths"));
        }
        if !far_apart(&p, &q, half) {
            return Err(MpcError::InvalidKey("primes too close together"));
        }
        if !is_probable_prime(&p, MR_ROUNDS, rng) || !is_probable_prime(&q, MR_ROUNDS, rng) {
            return Err(MpcError::InvalidKey("a factor is not prime"));
        }
        let key = Self::from_primes_unchecked(p, q)?;
        check_modulus(key.public.n())?;
        Ok(key)
    }

    fn from_primes_unchecked(p: BigUint, q: BigUint) -> Result<Self> {
        let public = PublicKey::from_modulus_unchecked(&p * &q);
        let p_squared = &p * &p;
        let q_squared = &q * &q;
        let p_minus_1 = &p - 1u32;
        let q_minus_1 = &q - 1u32;
        let h_p = h_constant(&public, &p, &p_squared, &p_minus_1)?;
        let h_q = h_constant(&public, &q, &q_squared, &q_minus_1)?;
        let q_inv_p = q.modinv(&p).ok_or(MpcError::InvalidKey("factors are not coprime"))?;
        let q2_inv_p2 =
            q_squared.modinv(&p_squared).ok_or(MpcError::InvalidKey("factors are not coprime"))?;
        Ok(Self {
            public,
            p,
            q,
            p_squared,
            q_squared,
            p_minus_1,
            q_minus_1,
            h_p,
            h_q,
            q_inv_p,
            q2_inv_p2,
        })
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The wire encoding (the two primes). Handle it as the secret it is.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::PaillierSecretKey).uint(&self.p).uint(&self.q).finish()
    }

    /// Decodes a secret key and checks it as [`SecretKey::from_primes`] does.
    pub fn from_bytes(bytes: &[u8], rng: &mut SecureRng) -> Result<Self> {
        let what = "paillier secret key";
        let mut reader = WireReader::new(bytes, ObjectType::PaillierSecretKey, what)?;
        let mut p = reader.uint(max_modulus_bytes() / 2)?;
        let mut q = reader.uint(max_modulus_bytes() / 2)?;
        let result = reader.finish().and_then(|()| Self::from_primes(p.clone(), q.clone(), rng));
        wipe(&mut p);
        wipe(&mut q);
        result
    }

    /// `φ(N) = (p − 1)(q − 1)`, for proofs that need an `N`-th root.
    pub(crate) fn phi(&self) -> BigUint {
        &self.p_minus_1 * &self.q_minus_1
    }

    /// Recombines residues modulo `p²` and `q²` into the residue modulo `N²`.
    pub(super) fn crt_squared(&self, x_p: &BigUint, x_q: &BigUint) -> BigUint {
        let diff = (x_p + &self.p_squared - (x_q % &self.p_squared)) % &self.p_squared;
        let k = (diff * &self.q2_inv_p2) % &self.p_squared;
        x_q + &self.q_squared * k
    }
}

/// `L_p(g^(p−1) mod p²)⁻¹ mod p` with `g = N + 1` and `L_p(x) = (x − 1)/p`.
fn h_constant(
    public: &PublicKey,
    p: &BigUint,
    p_squared: &BigUint,
    p_minus_1: &BigUint,
) -> Result<BigUint> {
    let g = (public.n() + 1u32) % p_squared;
    let l = (g.modpow(p_minus_1, p_squared) - 1u32) / p;
    l.modinv(p).ok_or(MpcError::InvalidKey("degenerate factor"))
}

/// `|p − q| ≥ 2^(half − 100)`, and `p ≠ q`.
fn far_apart(p: &BigUint, q: &BigUint, half: u64) -> bool {
    let diff = if p > q { p - q } else { q - p };
    let bound = BigUint::one() << half.saturating_sub(100);
    diff >= bound && !diff.is_zero()
}

/// `gcd(x, n) = 1`.
pub(crate) fn coprime(x: &BigUint, n: &BigUint) -> bool {
    x.gcd(n).is_one()
}
