//! Secure computation between institutions that will not share rows.
//!
//! Hospitals that may not pool patient records can still compute together. This crate holds
//! the building blocks, each with its threat model stated where it is defined:
//!
//! - [`sharing`]: additive sharing (modulo 2^64 and over the Ristretto255 scalar field),
//!   Shamir's threshold sharing and Feldman's verifiable sharing;
//! - [`transport`]: the [`transport::Transport`] trait, an in-process network for tests and a
//!   mutually authenticated TLS mesh (rustls) for real processes;
//! - [`protocol`]: secure sum, mean and variance, Beaver-triple multiplication and secure
//!   comparison by bit decomposition, run by n parties over a transport;
//! - [`psi`]: two-party private set intersection (ECDH over Ristretto255), with a
//!   cardinality-only mode;
//! - [`pprl`]: privacy-preserving record linkage with keyed Bloom-filter encodings, schemas
//!   compatible with clkhash's, and Dice-similarity matching with blocking.
//!
//! Main design decision: everything is synchronous and typed. A protocol is a function of a
//! transport, its inputs and a [`privacy_core::SecureRng`]; every message is parsed by a strict
//! reader that refuses malformed, non-canonical and identity inputs with an [`MpcError`], and
//! every run is reported to a [`privacy_core::AuditSink`] without inputs or shares. The
//! trade-off is one thread per connection instead of an async runtime: simple to reason about,
//! and ample for the tens of parties a research network has.

mod codec;
pub mod error;
pub mod pprl;
pub mod protocol;
pub mod psi;
pub mod ring;
pub mod sharing;
pub mod transport;

pub use error::MpcError;
pub use ring::{Ring, Z64};

#[doc(hidden)]
pub mod fuzzing;
