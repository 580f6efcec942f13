//! A non-interactive proof that a Paillier modulus is square-free.
//!
//! Statement: `N` has no repeated prime factor. Together with the checks of
//! [`super::check_modulus`] (no prime factor below α = 2¹⁶), this rules out the malformed moduli
//! used in the 2023 key-extraction attacks on threshold-signature wallets, where a party
//! registered a Paillier key with small or repeated factors and learnt the others' secrets
//! from their encrypted replies (Makriyannis, Yomtov, Galansky, CCS 2023).
//!
//! Protocol (Gennaro, Micciancio, Rabin, CCS 1998; made non-interactive and analysed as
//! "Π^sf" by Goldberg, Reyzin, Sagga, Baldimtsi, "Efficient noninteractive certification of RSA
//! moduli and beyond", ASIACRYPT 2019): derive `m` elements `ρ_i ∈ Z*_N` from a merlin transcript
//! that absorbs `N`; the prover, knowing `φ(N)`, answers `σ_i = ρ_i^(N⁻¹ mod φ(N)) mod N`;
//! the verifier checks `σ_i^N ≡ ρ_i (mod N)`.
//!
//! Why it is sound: if `p² | N` then `p | gcd(N, φ(N))`, the map `x ↦ x^N` on `Z*_N` is at least
//! `p`-to-one, and at most a `1/p < 1/α` fraction of the `ρ_i` have an `N`-th root. With
//! [`SQUARE_FREE_ROUNDS`] = 8 rounds and α = 2¹⁶ a cheating prover succeeds with probability
//! at most `α⁻⁸ = 2⁻¹²⁸` per `ρ` derivation (in the random-oracle model, times the number of
//! hash queries). Zero knowledge: the `σ_i` are `N`-th roots of random oracle outputs, which a
//! simulator programming the oracle produces by choosing `σ_i` and setting `ρ_i = σ_i^N`.
//!
//! What it does not prove: that `N` has exactly two prime factors, or that they are of equal
//! length. A product of three large primes passes; Paillier stays secure for its holder with
//! such an `N`, and the attacks above need a small or repeated factor, which is refused.

use merlin::Transcript;
use num_bigint::BigUint;
use num_traits::Zero;

use super::keys::{coprime, PublicKey, SecretKey};
use crate::error::{MpcError, Result};
use crate::wire::{ObjectType, WireReader, WireWriter};

/// Rounds of the square-freeness proof: `(2¹⁶)⁻⁸ = 2⁻¹²⁸`.
pub const SQUARE_FREE_ROUNDS: usize = 8;

const LABEL: &[u8] = b"medi-privacy/v1/paillier/square-free";

/// The proof: one `N`-th root per challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModulusProof {
    roots: Vec<BigUint>,
}

/// The `ρ_i`, from a transcript over `N`; `None` if one shares a factor with `N` (which for an
/// honestly generated `N` happens with probability below 2⁻¹⁰⁰⁰).
fn challenges(n: &BigUint) -> Option<Vec<BigUint>> {
    let mut transcript = Transcript::new(LABEL);
    transcript.append_message(b"N", &n.to_bytes_be());
    transcript.append_u64(b"rounds", SQUARE_FREE_ROUNDS as u64);
    // 128 extra bits make the reduction modulo N statistically uniform.
    let len = usize::try_from(n.bits().div_ceil(8)).unwrap_or(0) + 16;
    (0..SQUARE_FREE_ROUNDS)
        .map(|_| {
            let mut buffer = vec![0u8; len];
            transcript.challenge_bytes(b"rho", &mut buffer);
            let rho = BigUint::from_bytes_be(&buffer) % n;
            (!rho.is_zero() && coprime(&rho, n)).then_some(rho)
        })
        .collect()
}

impl ModulusProof {
    /// Proves that the key's modulus is square-free.
    pub fn prove(secret: &SecretKey) -> Result<Self> {
        let n = secret.public().n();
        let rhos =
            challenges(n).ok_or(MpcError::InvalidKey("a challenge shares a factor with N"))?;
        let exponent = n
            .modinv(&secret.phi())
            .ok_or(MpcError::InvalidKey("N is not invertible modulo phi(N)"))?;
        let roots = rhos.iter().map(|rho| rho.modpow(&exponent, n)).collect();
        Ok(Self { roots })
    }

    /// Verifies the proof for `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<()> {
        let n = key.n();
        let rejected = MpcError::ProofRejected("paillier square-free modulus");
        let rhos = challenges(n).ok_or(MpcError::ProofRejected("paillier square-free modulus"))?;
        if self.roots.len() != rhos.len() {
            return Err(rejected);
        }
        for (sigma, rho) in self.roots.iter().zip(&rhos) {
            if sigma.is_zero() || sigma >= n || sigma.modpow(n, n) != *rho {
                return Err(rejected);
            }
        }
        Ok(())
    }

    /// The wire encoding: the number of roots, then the roots.
    pub fn to_bytes(&self) -> Vec<u8> {
        let writer = WireWriter::new(ObjectType::PaillierModulusProof).u64(self.roots.len() as u64);
        self.roots.iter().fold(writer, |w, root| w.uint(root)).finish()
    }

    /// Decodes a proof: exactly [`SQUARE_FREE_ROUNDS`] roots of at most 4096 bits each.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "paillier modulus proof";
        let mut reader = WireReader::new(bytes, ObjectType::PaillierModulusProof, what)?;
        if reader.u64()? != SQUARE_FREE_ROUNDS as u64 {
            return Err(MpcError::Malformed { what, reason: "wrong number of rounds" });
        }
        let roots = (0..SQUARE_FREE_ROUNDS).map(|_| reader.uint(512)).collect::<Result<_>>()?;
        reader.finish()?;
        Ok(Self { roots })
    }
}
