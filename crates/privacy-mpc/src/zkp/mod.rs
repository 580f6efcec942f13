//! Zero-knowledge proofs on merlin transcripts with strong Fiat–Shamir.
//!
//! - [`schnorr`]: knowledge of a discrete logarithm.
//! - [`chaum_pedersen`]: equality of two discrete logarithms (correct ElGamal decryption and
//!   threshold decryption shares use it).
//! - [`paillier_decryption`]: a Paillier ciphertext decrypts to a claimed plaintext.
//! - [`range`]: committed values lie in `[0, 2^n)` (the `bulletproofs` crate).
//! - [`norm`]: a committed integer vector has a bounded Euclidean (or maximum) norm, for
//!   vectors of up to 2^20 coordinates.
//!
//! Every challenge comes from a transcript that absorbed the protocol name, the caller's
//! context, the public parameters and the whole statement first ([`transcript`]), and every
//! proof type has a test that a proof made for one statement fails for another.
//!
//! Trade-off: Σ-protocols compiled with Fiat–Shamir are proofs in the random-oracle model, not
//! in the standard model; they are short and fast and need no trusted setup.

pub mod chaum_pedersen;
pub mod norm;
pub mod paillier_decryption;
pub mod range;
pub mod schnorr;
pub mod transcript;

pub use chaum_pedersen::{ChaumPedersenProof, DlogEquality};
pub use norm::{BoundedNormProof, CommittedVector, NormBound};
pub use paillier_decryption::PaillierDecryptionProof;
pub use range::RangeProof;
pub use schnorr::SchnorrProof;

#[cfg(test)]
mod tests;
