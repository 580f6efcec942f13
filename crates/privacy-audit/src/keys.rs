//! The Ed25519 key pair that signs checkpoints, and its key files.
//!
//! # Key file format
//!
//! Standard PEM files, so that the keys can be made, inspected and used with ordinary tools
//! (`openssl genpkey -algorithm ed25519` writes a secret key this crate reads):
//!
//! - the **secret key** is a PKCS#8 v1 `PRIVATE KEY` (RFC 5958 / RFC 8410), written with mode
//!   0600 on Unix and never over an existing file;
//! - the **public key** is a SubjectPublicKeyInfo `PUBLIC KEY` (RFC 8410).
//!
//! A key is named by its **fingerprint**: lower-case hex SHA-256 of the 32 raw public-key bytes.
//! The fingerprint is public and appears in checkpoints and reports; the secret never appears
//! anywhere but in its file. The secret key is zeroized when dropped (ed25519-dalek's `zeroize`
//! feature), so is the PEM text it was read from, and [`AuditSigningKey`] has no `Display` and
//! a `Debug` that shows only the fingerprint.
//!
//! Signatures are pure Ed25519 (RFC 8032); verification uses `verify_strict`, which refuses
//! small-order keys and non-canonical signatures.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use privacy_core::SecureRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::AuditError;

/// A key file larger than this is not a key file (PEM keys are a few hundred bytes).
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// The secret half: signs checkpoints.
pub struct AuditSigningKey(SigningKey);

impl std::fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigningKey").field("fingerprint", &self.fingerprint()).finish()
    }
}

impl AuditSigningKey {
    /// A fresh key from the operating system's entropy (through [`SecureRng`]).
    pub fn generate() -> Result<Self, AuditError> {
        let mut rng = SecureRng::from_os_entropy()
            .map_err(|_| AuditError::Key("cannot draw entropy for a new key"))?;
        Ok(Self(SigningKey::generate(&mut rng)))
    }

    /// Reads a PKCS#8 PEM secret key file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let text = Zeroizing::new(read_small(path.as_ref(), "secret")?);
        SigningKey::from_pkcs8_pem(&text)
            .map(Self)
            .map_err(|_| AuditError::Key("the secret key file is not an Ed25519 PKCS#8 PEM key"))
    }

    /// Writes the key as a PKCS#8 PEM file (mode 0600 on Unix), refusing to replace a file.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), AuditError> {
        let pem = self
            .0
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| AuditError::Key("cannot encode the secret key"))?;
        write_new(path.as_ref(), pem.as_bytes(), 0o600)
    }

    /// The public half.
    pub fn verifying_key(&self) -> AuditVerifyingKey {
        AuditVerifyingKey(self.0.verifying_key())
    }

    /// The public key's fingerprint.
    pub fn fingerprint(&self) -> String {
        self.verifying_key().fingerprint()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// The public half: checks checkpoint signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditVerifyingKey(VerifyingKey);

impl AuditVerifyingKey {
    /// Reads a SubjectPublicKeyInfo PEM public key file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let text = read_small(path.as_ref(), "public")?;
        Self::from_pem(&text)
    }

    /// Parses a SubjectPublicKeyInfo PEM public key.
    pub fn from_pem(text: &str) -> Result<Self, AuditError> {
        VerifyingKey::from_public_key_pem(text)
            .map(Self)
            .map_err(|_| AuditError::Key("the public key file is not an Ed25519 SPKI PEM key"))
    }

    /// The key as a SubjectPublicKeyInfo PEM text.
    pub fn to_pem(&self) -> Result<String, AuditError> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| AuditError::Key("cannot encode the public key"))
    }

    /// Writes the key as a PEM file, refusing to replace a file.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), AuditError> {
        write_new(path.as_ref(), self.to_pem()?.as_bytes(), 0o644)
    }

    /// Lower-case hex SHA-256 of the 32 raw public-key bytes.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// Whether `signature` is this key's strict Ed25519 signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0.verify_strict(message, &Signature::from_bytes(signature)).is_ok()
    }
}

fn read_small(path: &Path, which: &'static str) -> Result<String, AuditError> {
    let missing = match which {
        "secret" => "cannot read the secret key file",
        _ => "cannot read the public key file",
    };
    let file = std::fs::File::open(path).map_err(|_| AuditError::Key(missing))?;
    let meta = file.metadata().map_err(|_| AuditError::Key(missing))?;
    if !meta.is_file() || meta.len() > MAX_KEY_FILE_BYTES {
        return Err(AuditError::Key("a key file is a small regular file"));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut &file, &mut text).map_err(|_| AuditError::Key(missing))?;
    Ok(text)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AuditError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => AuditError::Key("the key file already exists"),
        _ => AuditError::Io(e),
    })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    /// A key made with `openssl genpkey -algorithm ed25519` (a test key, protecting nothing),
    /// and its public half from `openssl pkey -pubout`.
    const OPENSSL_SECRET: &str = include_str!("../tests/data/openssl-ed25519.pem");
    const OPENSSL_PUBLIC: &str = include_str!("../tests/data/openssl-ed25519.pub.pem");

    #[test]
    fn keys_round_trip_through_their_files_and_never_show_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditSigningKey::generate().unwrap();
        key.write(dir.path().join("k.pem")).unwrap();
        key.verifying_key().write(dir.path().join("k.pub.pem")).unwrap();
        let again = AuditSigningKey::read(dir.path().join("k.pem")).unwrap();
        let public = AuditVerifyingKey::read(dir.path().join("k.pub.pem")).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert_eq!(public, key.verifying_key());
        let signature = key.sign(b"message");
        assert!(public.verifies(b"message", &signature));
        assert!(!public.verifies(b"massage", &signature));
        let secret_pem = std::fs::read_to_string(dir.path().join("k.pem")).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&secret_pem[30..60]) && shown.contains(&key.fingerprint()));
        assert!(matches!(key.write(dir.path().join("k.pem")), Err(AuditError::Key(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("k.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the secret key file is private");
        }
    }

    #[test]
    fn openssl_keys_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.pem"), OPENSSL_SECRET).unwrap();
        let key = AuditSigningKey::read(dir.path().join("s.pem")).unwrap();
        assert_eq!(key.verifying_key(), AuditVerifyingKey::from_pem(OPENSSL_PUBLIC).unwrap());
    }

    #[test]
    fn missing_and_wrong_key_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            AuditVerifyingKey::read(dir.path().join("none.pem")),
            Err(AuditError::Key("cannot read the public key file"))
        ));
        std::fs::write(dir.path().join("s.pem"), OPENSSL_SECRET).unwrap();
        assert!(matches!(
            AuditVerifyingKey::read(dir.path().join("s.pem")),
            Err(AuditError::Key(_))
        ));
        std::fs::write(dir.path().join("p.pem"), OPENSSL_PUBLIC).unwrap();
        assert!(matches!(AuditSigningKey::read(dir.path().join("p.pem")), Err(AuditError::Key(_))));
    }
}
