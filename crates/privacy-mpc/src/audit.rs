//! How this crate reports key generation and decryption to a [`privacy_core::AuditSink`].
//!
//! Events carry the algorithm, the key size and the public key's fingerprint (a hash of its
//! public encoding), never a key, a plaintext or randomness. Decryption is reported per call of
//! the `*_audited` entry points, which take a batch, so a durable log is written once per batch
//! rather than once per ciphertext.

use privacy_core::{AuditEvent, AuditEventKind, AuditSink};

use crate::error::Result;

/// Who acts and where their actions are recorded.
#[derive(Clone, Copy)]
pub struct AuditContext<'a> {
    /// The sink events go to.
    pub sink: &'a dyn AuditSink,
    /// Who acts (a user, a site name).
    pub principal: &'a str,
}

impl std::fmt::Debug for AuditContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditContext").field("principal", &self.principal).finish_non_exhaustive()
    }
}

impl<'a> AuditContext<'a> {
    /// A context recording to `sink` as `principal`.
    pub fn new(sink: &'a dyn AuditSink, principal: &'a str) -> Self {
        Self { sink, principal }
    }

    /// Records the generation of a key: algorithm, size in bits, public fingerprint.
    pub fn key_generated(&self, algorithm: &str, bits: u64, fingerprint: &str) -> Result<()> {
        let event = AuditEvent::new(AuditEventKind::KeyGeneration, self.principal)
            .with_detail("algorithm", algorithm)
            .with_detail("bits", bits)
            .with_detail("public_fingerprint", fingerprint);
        self.sink.record(&event)?;
        Ok(())
    }

    /// Records that `count` ciphertexts under the key `fingerprint` were decrypted.
    pub fn decrypted(&self, algorithm: &str, fingerprint: &str, count: usize) -> Result<()> {
        let event = AuditEvent::new(AuditEventKind::Decryption, self.principal)
            .with_detail("algorithm", algorithm)
            .with_detail("public_fingerprint", fingerprint)
            .with_detail("ciphertexts", count as u64);
        self.sink.record(&event)?;
        Ok(())
    }
}
