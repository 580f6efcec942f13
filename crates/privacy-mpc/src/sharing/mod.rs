//! Secret sharing: additive (modulo 2^64 and over the Ristretto255 scalar field), Shamir's
//! (t, n) threshold sharing over the scalar field, and Feldman's and Pedersen's verifiable
//! variants.
//!
//! A secret split into shares is information-theoretically hidden from any set of shares too
//! small to reconstruct it: all n shares for additive sharing, t for Shamir's (Shamir 1979).
//! Every share carries a random dealing identifier, its threshold and its own identifier, so a
//! reconstruction from shares of different dealings, from duplicates, or from too few shares
//! is refused with a typed error instead of returning a wrong secret.
//!
//! Shares and recovered secrets are zeroized when dropped and never printed: their `Debug`
//! shows only public metadata. All randomness comes from [`privacy_core::SecureRng`].
//!
//! Trade-off: Shamir's scheme works over the scalar field of order ℓ ≈ 2^252 so that the same
//! shares feed Feldman and Pedersen commitments on Ristretto255. A byte secret is therefore
//! cut into 31-byte chunks, each shared with its own polynomial at the same points; a 32-byte
//! key takes two field elements per share.

pub mod additive;
pub mod feldman;
pub mod pedersen;
pub mod shamir;

use rand_core::RngCore;

use privacy_core::SecureRng;

pub use additive::{reconstruct_additive, share_additive, AdditiveShare};
pub use feldman::FeldmanCommitments;
pub use pedersen::{PedersenCommitments, PedersenShare};
pub use shamir::{Shamir, ShamirShare};

/// A random tag naming one dealing, so shares of different dealings are never combined.
/// It is public: it says nothing about the secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DealingId(pub [u8; 16]);

impl DealingId {
    /// A fresh random identifier.
    pub fn random(rng: &mut SecureRng) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self(id)
    }
}

impl std::fmt::Debug for DealingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DealingId({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// The version byte of every share encoding.
pub(crate) const SHARE_FORMAT_VERSION: u8 = 1;

/// Share kinds in the encoding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum ShareKind {
    AdditiveZ64 = 1,
    AdditiveScalar = 2,
    ShamirScalar = 3,
    ShamirBytes = 4,
}

impl ShareKind {
    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::AdditiveZ64),
            2 => Some(Self::AdditiveScalar),
            3 => Some(Self::ShamirScalar),
            4 => Some(Self::ShamirBytes),
            _ => None,
        }
    }
}
