//! Privacy-preserving record linkage with Bloom-filter encodings, as hospitals use it to find
//! the same patient in two registries without exchanging names.
//!
//! The data owners agree on a [`schema::LinkageSchema`] (clkhash's version 3 format) and a
//! secret; each encodes its records locally ([`encode::Encoder`]) and sends only the encodings
//! to a linkage unit, which links them by Dice similarity ([`matching::link`]) without the
//! secret. References: Schnell, Bachteler, Reiher 2009, "Privacy-preserving record linkage
//! using Bloom filters", BMC Medical Informatics and Decision Making 9:41; Schnell, Bachteler,
//! Reiher 2011, "A novel error-tolerant anonymous linking code" (the record-level CLK).
//!
//! Threat model, plainly: the linkage unit is honest-but-curious and does not hold the secret;
//! encodings resist the published frequency and pattern-mining attacks only as far as the
//! hardening in [`encode`] goes. They are pseudonymous personal data and must be protected as
//! such. Trade-off: error-tolerant matching (typos, transposed names) that exact-match PSI
//! cannot give, at the price of a heuristic rather than cryptographic privacy guarantee.

pub mod bits;
pub mod encode;
pub mod matching;
pub mod schema;

pub use bits::{dice, BitVector};
pub use encode::{Encoder, Encoding, EncodingFile};
pub use matching::{link, LshBlocking, Match};
pub use schema::LinkageSchema;
