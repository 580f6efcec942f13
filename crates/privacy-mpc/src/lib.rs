//! Secure computation between institutions that will not share rows.
//!
//! This crate provides the cryptographic building blocks hospitals need to compute together
//! without pooling patient data:
//!
//! - [`commit`]: Pedersen commitments over Ristretto255 (perfectly hiding, computationally
//!   binding, additively homomorphic), with a second generator derived by hash-to-group.
//! - [`group`]: the Ristretto255 group and its strict decoders (canonical encodings only, no
//!   identity where a public element is expected).
//! - [`paillier`]: Paillier encryption with CRT, a precomputed randomness pool, signed integer,
//!   fixed-point and packed encodings, and a square-free modulus proof.
//! - [`elgamal`]: exponential ElGamal on Ristretto255, discrete-log decryption over a declared
//!   range with a fixed number of steps, threshold key generation and decryption.
//! - [`zkp`]: Schnorr, Chaum–Pedersen, correct-decryption proofs for ElGamal and Paillier,
//!   range proofs (bulletproofs) and a bounded-norm proof, with strong Fiat–Shamir.
//! - [`wire`]: the versioned, length-prefixed byte format of keys, ciphertexts and proofs.
//! - [`audit`]: key generation and decryption reported to a `privacy_core::AuditSink`.
//!
//! Main design decision: every primitive refuses, with a typed [`MpcError`], any input it cannot
//! prove well formed — non-canonical points and scalars, ciphertexts out of range, proofs over
//! another statement — rather than computing on it. Randomness comes only from
//! [`privacy_core::SecureRng`] (any `RngCore + CryptoRng` is accepted, and the crate's own
//! entry points take `SecureRng`). Trade-off: the arithmetic is pure Rust (num-bigint,
//! curve25519-dalek), so it builds everywhere without GMP or OpenSSL, at a measured speed cost
//! for Paillier (see `benches/`).

pub mod audit;
pub mod commit;
pub mod elgamal;
pub mod error;
pub mod group;
pub mod paillier;
pub mod wire;
pub mod zkp;

pub use commit::{Commitment, Opening, PedersenGenerators};
pub use error::MpcError;
