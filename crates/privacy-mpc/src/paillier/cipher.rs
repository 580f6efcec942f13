//! Paillier encryption, decryption and the homomorphic operations.
//!
//! With `g = N + 1`, `Enc(m; r) = (1 + mN) · r^N mod N²` (Paillier, EUROCRYPT '99; the choice of
//! `g` as in Damgård–Jurik 2001). Semantic security rests on the decisional composite
//! residuosity assumption: `r^N` for uniform `r ∈ Z*_N` is indistinguishable from uniform in
//! `Z*_{N²}`.
//!
//! Costs, and where each is won:
//! - `r^N mod N²` is the whole cost of public-key encryption. It is a Montgomery exponentiation
//!   (num-bigint's `modpow` works in Montgomery form with a 4-bit window for odd moduli, and `N²`
//!   is odd). A [`super::RandomnessPool`] computes these ahead of time, offline or in a
//!   background thread, so encryption proper is one multiplication modulo `N²`.
//! - The key holder samples the same distribution through the CRT: an `N`-th residue modulo `N²`
//!   is a pair of elements of the order-`(p−1)` and order-`(q−1)` subgroups modulo `p²` and
//!   `q²`, and `z^p mod p²` for uniform `z ∈ Z*_{p²}` is uniform in the former. Two
//!   half-length exponents modulo half-length moduli replace one full exponentiation: ~4× less.
//! - Decryption is by the CRT with the constants precomputed in [`super::SecretKey`]:
//!   `m_p = L_p(c^(p−1) mod p²) · h_p mod p`, likewise for `q`, recombined with `q⁻¹ mod p`.
//!
//! FIXME: public-key encryption, CRT decryption and scalar multiplication run at about 0.4× of
//! python-paillier with GMP (gmpy2), all from num-bigint's modular multiplication (schoolbook
//! division for each reduction, generic Montgomery with a 4-bit window); see
//! `benches/RESULTS-mpc-crypto.md`. A fixed-width Montgomery multiplication with a precomputed
//! modulus context (crypto-bigint's `BoxedMontyForm`) or GMP behind a cargo feature would close
//! it; the pool already takes encryption off the hot path.
//!
//! Every ciphertext carries its key's fingerprint, so operands from different keys are refused
//! ([`MpcError::KeyMismatch`]) rather than combined into garbage.

use num_bigint::{BigInt, BigUint, RandBigInt, Sign};
use num_traits::{One, Zero};
use rand_core::{CryptoRng, RngCore};

use super::keys::{coprime, PublicKey, SecretKey};
use crate::audit::AuditContext;
use crate::error::{MpcError, Result};
use crate::wire::{ObjectType, WireReader, WireWriter};

/// A Paillier ciphertext: an element of `Z*_{N²}` and the fingerprint of its key.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext {
    c: BigUint,
    key: [u8; 16],
}

impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PaillierCiphertext(key {}, {} bits)", hex::encode(self.key), self.c.bits())
    }
}

impl Ciphertext {
    /// The ciphertext value `c ∈ Z*_{N²}`.
    pub fn value(&self) -> &BigUint {
        &self.c
    }

    /// The fingerprint of the key it was made under.
    pub fn key_fingerprint(&self) -> [u8; 16] {
        self.key
    }

    /// The wire encoding: the key fingerprint and `c`.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireWriter::new(ObjectType::PaillierCiphertext).field(&self.key).uint(&self.c).finish()
    }

    /// Decodes a ciphertext under `key`, refusing another key's fingerprint, `c = 0`,
    /// `c ≥ N²` and `gcd(c, N) ≠ 1` (such a `c` is no encryption, and would reveal a factor).
    pub fn from_bytes(bytes: &[u8], key: &PublicKey) -> Result<Self> {
        let what = "paillier ciphertext";
        let mut reader = WireReader::new(bytes, ObjectType::PaillierCiphertext, what)?;
        let fingerprint: [u8; 16] = reader.array()?;
        let max = usize::try_from(key.n_squared().bits().div_ceil(8)).unwrap_or(usize::MAX);
        let c = reader.uint(max)?;
        reader.finish()?;
        if fingerprint != key.fingerprint() {
            return Err(MpcError::KeyMismatch);
        }
        key.check_ciphertext_value(&c)?;
        Ok(Self { c, key: fingerprint })
    }
}

impl PublicKey {
    /// Checks `0 < c < N²` and `gcd(c, N) = 1`.
    pub fn check_ciphertext_value(&self, c: &BigUint) -> Result<()> {
        let what = "paillier ciphertext";
        if c.is_zero() || c >= self.n_squared() {
            return Err(MpcError::OutOfRange { what, reason: "not in (0, N^2)" });
        }
        if !coprime(c, self.n()) {
            return Err(MpcError::OutOfRange { what, reason: "shares a factor with N" });
        }
        Ok(())
    }

    /// Wraps a checked value as a ciphertext of this key.
    pub fn ciphertext_from_value(&self, c: BigUint) -> Result<Ciphertext> {
        self.check_ciphertext_value(&c)?;
        Ok(self.wrap(c))
    }

    pub(super) fn wrap(&self, c: BigUint) -> Ciphertext {
        Ciphertext { c, key: self.fingerprint() }
    }

    fn check_key(&self, c: &Ciphertext) -> Result<()> {
        if c.key == self.fingerprint() {
            Ok(())
        } else {
            Err(MpcError::KeyMismatch)
        }
    }

    fn check_plaintext(&self, m: &BigUint) -> Result<()> {
        if m < self.n() {
            Ok(())
        } else {
            Err(MpcError::EncodingRange("plaintext not below N"))
        }
    }

    /// A uniform `r ∈ Z*_N`.
    pub(super) fn random_unit<R: RngCore + CryptoRng>(&self, rng: &mut R) -> BigUint {
        loop {
            let r = rng.gen_biguint_below(self.n());
            // r = 0 or a multiple of p or q happens with probability < 2^-1000; redraw anyway.
            if !r.is_zero() && coprime(&r, self.n()) {
                return r;
            }
        }
    }

    /// `r^N mod N²` for a fresh uniform `r`: the randomness of one encryption.
    pub fn random_nth_power<R: RngCore + CryptoRng>(&self, rng: &mut R) -> BigUint {
        self.random_unit(rng).modpow(self.n(), self.n_squared())
    }

    /// `(1 + mN) · x mod N²`, computed as `x + N·((m·x) mod N)`, which needs no product
    /// modulo `N²` beyond one reduction.
    pub(super) fn mul_message_term(&self, m: &BigUint, x: &BigUint) -> BigUint {
        let t = (m * x) % self.n();
        (x + self.n() * t) % self.n_squared()
    }

    /// Encrypts a plaintext `m ∈ [0, N)` (raw; see [`super::encoding`] for integers and reals).
    pub fn encrypt<R: RngCore + CryptoRng>(&self, m: &BigUint, rng: &mut R) -> Result<Ciphertext> {
        self.check_plaintext(m)?;
        Ok(self.wrap(self.mul_message_term(m, &self.random_nth_power(rng))))
    }

    /// Encrypts with a precomputed `r^N` (e.g. from a [`super::RandomnessPool`]). Each `r^N`
    /// must be used once: reusing one links the two ciphertexts.
    pub fn encrypt_with_nth_power(&self, m: &BigUint, r_to_n: BigUint) -> Result<Ciphertext> {
        self.check_plaintext(m)?;
        Ok(self.wrap(self.mul_message_term(m, &r_to_n)))
    }

    /// `Enc(a + b)`: the product of the ciphertexts.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.check_key(a)?;
        self.check_key(b)?;
        Ok(self.wrap((&a.c * &b.c) % self.n_squared()))
    }

    /// `Enc(a − b)`: `a · b⁻¹ mod N²`.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.check_key(a)?;
        let inverse = self.invert(b)?;
        Ok(self.wrap((&a.c * inverse) % self.n_squared()))
    }

    fn invert(&self, c: &Ciphertext) -> Result<BigUint> {
        self.check_key(c)?;
        c.c.modinv(self.n_squared()).ok_or(MpcError::OutOfRange {
            what: "paillier ciphertext",
            reason: "not invertible modulo N^2",
        })
    }

    /// `Enc(a + m)` for a plaintext `m ∈ [0, N)`: one multiplication by `1 + mN`.
    pub fn add_plain(&self, a: &Ciphertext, m: &BigUint) -> Result<Ciphertext> {
        self.check_key(a)?;
        self.check_plaintext(m)?;
        Ok(self.wrap(self.mul_message_term(m, &a.c)))
    }

    /// `Enc(k · a)` for `k ∈ [0, N)`: `a^k mod N²`. The result is not re-randomized: whoever
    /// knows `a` and `k` can recompute it; call [`PublicKey::rerandomize`] before sending it on.
    pub fn mul_scalar(&self, a: &Ciphertext, k: &BigUint) -> Result<Ciphertext> {
        self.check_key(a)?;
        self.check_plaintext(k)?;
        Ok(self.wrap(self.pow_mod_n2(&a.c, k)))
    }

    /// `x^k mod N²`. Montgomery exponentiation pays a fixed setup (conversion, a 16-entry
    /// window table) that dominates for short exponents, so exponents of up to 64 bits use
    /// plain left-to-right square-and-multiply instead.
    fn pow_mod_n2(&self, x: &BigUint, k: &BigUint) -> BigUint {
        if k.bits() > 64 {
            return x.modpow(k, self.n_squared());
        }
        let mut acc = BigUint::one();
        for bit in (0..k.bits()).rev() {
            acc = (&acc * &acc) % self.n_squared();
            if k.bit(bit) {
                acc = (acc * x) % self.n_squared();
            }
        }
        acc
    }

    /// `Enc(k · a)` for a signed `k` with `|k| < N`: a negative `k` inverts `a` first, so the
    /// exponent stays as short as `|k|`.
    pub fn mul_scalar_signed(&self, a: &Ciphertext, k: &BigInt) -> Result<Ciphertext> {
        let magnitude = k.magnitude();
        if k.sign() == Sign::Minus {
            self.check_plaintext(magnitude)?;
            let inverse = self.invert(a)?;
            Ok(self.wrap(self.pow_mod_n2(&inverse, magnitude)))
        } else {
            self.mul_scalar(a, magnitude)
        }
    }

    /// A fresh encryption of the same plaintext: `a · r^N`.
    pub fn rerandomize<R: RngCore + CryptoRng>(
        &self,
        a: &Ciphertext,
        rng: &mut R,
    ) -> Result<Ciphertext> {
        self.rerandomize_with_nth_power(a, self.random_nth_power(rng))
    }

    /// Re-randomization with a precomputed `r^N`, used once.
    pub fn rerandomize_with_nth_power(
        &self,
        a: &Ciphertext,
        r_to_n: BigUint,
    ) -> Result<Ciphertext> {
        self.check_key(a)?;
        Ok(self.wrap((&a.c * r_to_n) % self.n_squared()))
    }

    /// The sum of many ciphertexts (at least one).
    pub fn sum<'a, I>(&self, items: I) -> Result<Ciphertext>
    where
        I: IntoIterator<Item = &'a Ciphertext>,
    {
        let mut acc = BigUint::one();
        let mut any = false;
        for c in items {
            self.check_key(c)?;
            acc = (acc * &c.c) % self.n_squared();
            any = true;
        }
        if !any {
            return Err(MpcError::InvalidParameter("the sum of no ciphertexts"));
        }
        Ok(self.wrap(acc))
    }
}

impl SecretKey {
    /// `r^N mod N²` with the distribution of [`PublicKey::random_nth_power`], via the CRT
    /// (`z_p^p mod p²`, `z_q^q mod q²`; see the module docs): about four times faster.
    pub fn random_nth_power<R: RngCore + CryptoRng>(&self, rng: &mut R) -> BigUint {
        let x_p = random_subgroup_element(&self.p, &self.p_squared, rng);
        let x_q = random_subgroup_element(&self.q, &self.q_squared, rng);
        self.crt_squared(&x_p, &x_q)
    }

    /// Key-holder encryption: the same ciphertext distribution as [`PublicKey::encrypt`], with
    /// the randomness computed through the CRT.
    pub fn encrypt<R: RngCore + CryptoRng>(&self, m: &BigUint, rng: &mut R) -> Result<Ciphertext> {
        let r_to_n = self.random_nth_power(rng);
        self.public().encrypt_with_nth_power(m, r_to_n)
    }

    /// Decrypts to the plaintext in `[0, N)`. Refuses a ciphertext of another key.
    pub fn decrypt(&self, c: &Ciphertext) -> Result<BigUint> {
        self.public().check_key(c)?;
        let m_p =
            self.decrypt_mod_prime(&c.c, &self.p, &self.p_squared, &self.p_minus_1, &self.h_p);
        let m_q =
            self.decrypt_mod_prime(&c.c, &self.q, &self.q_squared, &self.q_minus_1, &self.h_q);
        // m = m_q + q · ((m_p − m_q) · q⁻¹ mod p).
        let diff = (&m_p + &self.p - (&m_q % &self.p)) % &self.p;
        Ok(m_q + &self.q * ((diff * &self.q_inv_p) % &self.p))
    }

    fn decrypt_mod_prime(
        &self,
        c: &BigUint,
        p: &BigUint,
        p_squared: &BigUint,
        p_minus_1: &BigUint,
        h_p: &BigUint,
    ) -> BigUint {
        let x = (c % p_squared).modpow(p_minus_1, p_squared);
        // x ≡ 1 (mod p) for every c ∈ Z*_{N²}, so L_p(x) = (x − 1)/p is exact.
        let l = (x + p_squared - 1u32) % p_squared / p;
        (l * h_p) % p
    }

    /// Decrypts a batch and records one `Decryption` event for it (before returning any
    /// plaintext, so an unrecordable decryption releases nothing).
    pub fn decrypt_audited(
        &self,
        ciphertexts: &[Ciphertext],
        audit: &AuditContext<'_>,
    ) -> Result<Vec<BigUint>> {
        let plaintexts = ciphertexts.iter().map(|c| self.decrypt(c)).collect::<Result<Vec<_>>>()?;
        audit.decrypted("paillier", &self.public().fingerprint_hex(), ciphertexts.len())?;
        Ok(plaintexts)
    }
}

/// `z^p mod p²` for uniform `z ∈ Z*_{p²}`: uniform in the subgroup of order `p − 1`.
fn random_subgroup_element<R: RngCore + CryptoRng>(
    p: &BigUint,
    p_squared: &BigUint,
    rng: &mut R,
) -> BigUint {
    loop {
        let z = rng.gen_biguint_below(p_squared);
        if !(&z % p).is_zero() {
            return z.modpow(p, p_squared);
        }
    }
}

/// A ciphertext together with how its plaintext is encoded: a signed integer
/// ([`IntegerEncoding`](super::IntegerEncoding)) or a signed fixed-point number with
/// `frac_bits` fractional bits ([`FixedPointEncoding`](super::FixedPointEncoding)). Files carry
/// it so that a sum of differently encoded values, or a decryption under the wrong scale, is
/// refused instead of decoded into a wrong number.
///
/// Wire format (object type [`ObjectType::PaillierEncodedCiphertext`]): an 8-byte field, 0 for
/// an integer or `1 + frac_bits` for fixed point, then the ciphertext's own encoding as a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCiphertext {
    /// `None` for an integer, `Some(bits)` for fixed point with `bits` fractional bits.
    pub frac_bits: Option<u32>,
    /// The ciphertext.
    pub ciphertext: Ciphertext,
}

/// The most fractional bits a fixed-point encoding may declare (as `FixedPointEncoding`).
const MAX_FRAC_BITS: u64 = 1022;

impl EncodedCiphertext {
    /// The versioned encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let tag = self.frac_bits.map_or(0, |b| 1 + u64::from(b));
        WireWriter::new(ObjectType::PaillierEncodedCiphertext)
            .u64(tag)
            .field(&self.ciphertext.to_bytes())
            .finish()
    }

    /// Decodes an encoded ciphertext under `key`: the ciphertext is checked as by
    /// [`Ciphertext::from_bytes`], and an encoding tag beyond the fixed-point range is refused.
    pub fn from_bytes(bytes: &[u8], key: &PublicKey) -> Result<Self> {
        let what = "paillier encoded ciphertext";
        let mut reader = WireReader::new(bytes, ObjectType::PaillierEncodedCiphertext, what)?;
        let tag = reader.u64()?;
        let frac_bits = match tag {
            0 => None,
            t if t - 1 <= MAX_FRAC_BITS => Some((t - 1) as u32),
            _ => return Err(MpcError::Malformed { what, reason: "unknown plaintext encoding" }),
        };
        // The inner object: header, fingerprint field, and a value below N² (length-prefixed).
        let max = usize::try_from(key.n_squared().bits().div_ceil(8)).unwrap_or(usize::MAX) + 64;
        let inner = reader.field(max)?;
        reader.finish()?;
        let ciphertext = Ciphertext::from_bytes(inner, key)?;
        Ok(Self { frac_bits, ciphertext })
    }
}
