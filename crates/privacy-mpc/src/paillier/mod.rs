//! Paillier's additively homomorphic encryption (num-bigint), with the encodings, precomputation
//! and checks that make it safe to use between institutions.
//!
//! - [`keys`]: 2048/3072-bit key generation (equal-length primes far apart, optional safe
//!   primes), the structural checks of a received modulus, CRT constants, zeroized secret keys.
//! - [`cipher`]: `g = N + 1` encryption, CRT decryption, key-holder CRT encryption, addition,
//!   plaintext addition, scalar multiplication, re-randomization, range-checked ciphertexts.
//! - [`pool`]: precomputed `r^N` values, filled offline or by a background thread.
//! - [`encoding`]: signed integers, signed fixed-point and packed vectors, with overflow refused
//!   on decoding.
//! - [`modulus_proof`]: a proof that a modulus is square-free.
//!
//! Guarantee: IND-CPA security under the decisional composite residuosity assumption (Paillier,
//! EUROCRYPT 1999, Theorem 15). Not IND-CCA: ciphertexts are malleable by design. Threat model
//! of the checks: a peer may send any bytes as a key, ciphertext or proof.
//!
//! Trade-off: num-bigint is portable pure Rust but slower than GMP for the exponentiations;
//! `benches/benches/paillier.rs` measures by how much against python-paillier with gmpy2.

pub mod cipher;
pub mod encoding;
pub mod keys;
pub mod modulus_proof;
pub mod pool;
pub mod primes;

pub use cipher::{Ciphertext, EncodedCiphertext};
pub use encoding::{FixedPointEncoding, IntegerEncoding, Packing};
pub use keys::{check_modulus, KeyGenOptions, ModulusSize, PublicKey, SecretKey};
pub use modulus_proof::{ModulusProof, SQUARE_FREE_ROUNDS};
pub use pool::{RandomnessPool, RefillHandle};

#[cfg(test)]
pub(crate) mod tests;
