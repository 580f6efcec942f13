//! Secure computation between institutions that will not share rows.
//!
//! **Status: not yet implemented.** This crate will hold Paillier encryption (num-bigint),
//! exponential ElGamal on Ristretto255 (curve25519-dalek), secret sharing and MPC protocols,
//! private set intersection, commitments and zero-knowledge proofs. It exposes nothing yet, so
//! that nothing can be mistaken for a working protocol.
