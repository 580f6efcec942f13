//! The one cryptographically secure random number generator every sampler and protocol uses.
//!
//! [`SecureRng`] is ChaCha20 (RFC 8439 core, via `rand_chacha`) keyed from the operating
//! system's entropy source. Noise that protects privacy must be unpredictable to the analyst;
//! a non-cryptographic generator (or one seeded from the clock) lets an observer who sees a few
//! outputs predict, and subtract, the rest.
//!
//! A reproducible generator exists only behind the `seeded-rng-for-tests` feature, through a
//! constructor whose name says so. Production builds cannot call it.
//!
//! Trade-off: one generator per release path, not a global one, so there is no lock and no
//! shared state between threads; after `fork()` a child must build its own.

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, OsRng, RngCore, SeedableRng};

use crate::error::CoreError;

/// ChaCha20 keyed from the operating system.
///
/// Implements [`RngCore`] and [`CryptoRng`] so it can drive `curve25519-dalek`, `num-bigint`
/// and the samplers of `privacy-dp`. It deliberately has no `Clone`: two copies would draw the
/// same noise.
pub struct SecureRng {
    inner: ChaCha20Rng,
}

impl SecureRng {
    /// A generator keyed with 256 bits from the operating system's entropy source.
    pub fn from_os_entropy() -> Result<Self, CoreError> {
        let mut seed = <ChaCha20Rng as SeedableRng>::Seed::default();
        OsRng.try_fill_bytes(&mut seed).map_err(|e| CoreError::Entropy(e.to_string()))?;
        Ok(Self { inner: ChaCha20Rng::from_seed(seed) })
    }

    /// A reproducible generator for tests. **Never use it to protect data**: anyone who knows
    /// the seed can reproduce, and remove, every noise value it draws.
    #[cfg(feature = "seeded-rng-for-tests")]
    pub fn seeded_for_tests_only(seed: u64) -> Self {
        Self { inner: ChaCha20Rng::seed_from_u64(seed) }
    }

    /// A generator whose key is derived from this one, for a worker thread.
    pub fn fork(&mut self) -> Self {
        let mut seed = <ChaCha20Rng as SeedableRng>::Seed::default();
        self.inner.fill_bytes(&mut seed);
        Self { inner: ChaCha20Rng::from_seed(seed) }
    }
}

impl std::fmt::Debug for SecureRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is a secret key: never print it.
        f.write_str("SecureRng { .. }")
    }
}

impl RngCore for SecureRng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.inner.try_fill_bytes(dest)
    }
}

impl CryptoRng for SecureRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_os_seeded_generators_differ() {
        let mut a = SecureRng::from_os_entropy().unwrap();
        let mut b = SecureRng::from_os_entropy().unwrap();
        assert_ne!(
            (a.next_u64(), a.next_u64()),
            (b.next_u64(), b.next_u64()),
            "two OS-keyed generators agreed on 128 bits"
        );
        let mut forked = a.fork();
        assert_ne!(forked.next_u64(), a.next_u64());
        assert_eq!(format!("{a:?}"), "SecureRng { .. }");
    }
}
