//! Secure computation between institutions that will not share rows.
//!
//! Hospitals that may not pool patient records can still compute together. This crate holds
//! the building blocks, each with its guarantee or threat model stated where it is defined:
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
//! - [`sharing`]: additive sharing (modulo 2^64 and over the Ristretto255 scalar field),
//!   Shamir's threshold sharing, Feldman's and Pedersen's verifiable sharing.
//! - [`transport`]: the [`transport::Transport`] trait, an in-process network for tests and a
//!   mutually authenticated TLS mesh (rustls) for real processes.
//! - [`protocol`]: secure sum, mean and variance, Beaver-triple multiplication and secure
//!   comparison by bit decomposition, run by n parties over a transport.
//! - [`psi`]: two-party private set intersection (ECDH over Ristretto255), with a
//!   cardinality-only mode.
//! - [`pprl`]: privacy-preserving record linkage with keyed Bloom-filter encodings, schemas
//!   compatible with clkhash's, and Dice-similarity matching with blocking.
//!
//! Main design decision: every primitive refuses, with a typed [`MpcError`], any input it cannot
//! prove well formed — non-canonical points and scalars, ciphertexts out of range, proofs over
//! another statement, malformed protocol messages — rather than computing on it. Randomness
//! comes only from [`privacy_core::SecureRng`]. Protocols are synchronous functions of a
//! transport, their inputs and a `SecureRng`, and every run is reported to a
//! [`privacy_core::AuditSink`] without inputs or shares. Trade-offs: the arithmetic is pure
//! Rust (num-bigint, curve25519-dalek), so it builds everywhere without GMP or OpenSSL, at a
//! measured speed cost for Paillier (see `benches/`); and each connection has its own thread
//! instead of an async runtime, ample for the tens of parties a research network has.

pub mod audit;
mod codec;
pub mod commit;
pub mod elgamal;
pub mod error;
pub mod group;
pub mod paillier;
pub mod pprl;
pub mod protocol;
pub mod psi;
pub mod ring;
pub mod sharing;
pub mod transport;
pub mod wire;
pub mod zkp;

pub use commit::{Commitment, Opening, PedersenGenerators};
pub use error::MpcError;
pub use ring::{Ring, Z64};

#[doc(hidden)]
pub mod fuzzing;
