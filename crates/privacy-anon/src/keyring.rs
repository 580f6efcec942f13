//! The secret key ring behind pseudonyms, tokens and date shifts.
//!
//! One file holds one or more 256-bit keys, each with a version; the highest version is the
//! active one. Rotation appends a new version and keeps the old ones, so the key holder (and
//! only the key holder) can still compute old pseudonyms and map them to new ones
//! ([`crate::pseudonym::rotation_map`]).
//!
//! Each use gets its own subkey, derived with HKDF-SHA-256 (RFC 5869) from the version's key
//! with a distinct `info` label: pseudonyms, date offsets and tokens never share key material,
//! so learning one (e.g. a date offset revealed by a known admission date) says nothing about
//! the others.
//!
//! Handling of the secret:
//! - keys come from [`privacy_core::SecureRng`] (ChaCha20 keyed by the operating system);
//! - the file is created with mode 0600 and never overwritten (`create_new`); rotation writes
//!   a new file beside it with mode 0600 and renames it over the old one;
//! - a key file that group or others can read is refused (on Unix), as ssh does;
//! - key bytes, the file's text and derived subkeys live in `Zeroizing` buffers, wiped on drop;
//! - nothing here implements `Display`, and `Debug` prints versions and public key ids only.
//!
//! File format (text): comment lines starting with `#`, the line `medi-privacy-keyring 1`,
//! then one line `key VERSION HEX64` per version, versions strictly increasing from 1.

use std::io::Write;
use std::path::Path;

use hkdf::Hkdf;
use rand_core::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::AnonError;

// FIXME: keys live in a 0600 file only; there is no HSM or KMS backend, so anyone who can read
// the file can recompute pseudonyms. A `KeySource` trait with a KMS implementation would fix it.
const MAGIC: &str = "medi-privacy-keyring 1";
const SALT: &[u8] = b"medi-privacy/deidentify/v1";
const HEADER: &str =
    "# medi-privacy de-identification key ring. SECRET: whoever holds this file can\n\
# recompute every pseudonym and date shift made with it and decrypt its tokens.\n";

/// What a subkey is for (the HKDF `info` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// HMAC-SHA-256 pseudonyms.
    Pseudonym,
    /// Per-patient date offsets.
    DateShift,
    /// AES-SIV tokens (64 bytes).
    Token,
    /// The public key id.
    KeyId,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Pseudonym => b"pseudonym",
            Self::DateShift => b"date-shift",
            Self::Token => b"token-aes-siv",
            Self::KeyId => b"key-id",
        }
    }
}

/// A set of versioned secret keys.
pub struct KeyRing {
    keys: Vec<(u32, Zeroizing<[u8; 32]>)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<(u32, String)> =
            self.keys.iter().map(|(v, _)| (*v, self.key_id(*v))).collect();
        f.debug_struct("KeyRing").field("versions", &ids).finish()
    }
}

impl KeyRing {
    /// A ring with one fresh key, version 1.
    pub fn generate() -> Result<Self, AnonError> {
        Ok(Self { keys: vec![(1, fresh_key()?)] })
    }

    /// Creates a new key file with one fresh key (mode 0600); refuses an existing path.
    pub fn create_file(path: &Path) -> Result<Self, AnonError> {
        let ring = Self::generate()?;
        write_new(path, &ring.to_text())?;
        Ok(ring)
    }

    /// Reads a key file, refusing one that group or others may read.
    pub fn load(path: &Path) -> Result<Self, AnonError> {
        check_permissions(path)?;
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| key_error(path, &e.kind().to_string()))?,
        );
        Self::parse(&text).map_err(|reason| key_error(path, &reason))
    }

    /// Adds a fresh key as the new active version and rewrites the file (mode 0600, by
    /// rename); returns the new version.
    pub fn rotate_file(path: &Path) -> Result<u32, AnonError> {
        let mut ring = Self::load(path)?;
        let version = ring.active_version() + 1;
        ring.keys.push((version, fresh_key()?));
        let temporary = path.with_extension("rotating");
        write_new(&temporary, &ring.to_text())?;
        std::fs::rename(&temporary, path).map_err(|e| key_error(path, &e.kind().to_string()))?;
        Ok(version)
    }

    /// The highest version.
    pub fn active_version(&self) -> u32 {
        self.keys.last().map_or(0, |(v, _)| *v)
    }

    /// Every version, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.iter().map(|(v, _)| *v).collect()
    }

    /// A subkey of `version` for `purpose`, `N` bytes; `None` if the version is not in the ring.
    pub fn subkey<const N: usize>(
        &self,
        version: u32,
        purpose: Purpose,
    ) -> Option<Zeroizing<[u8; N]>> {
        let (_, key) = self.keys.iter().find(|(v, _)| *v == version)?;
        let hkdf = Hkdf::<Sha256>::new(Some(SALT), &key[..]);
        let mut out = Zeroizing::new([0u8; N]);
        // N is at most 64 here, far below HKDF-SHA-256's limit of 255 · 32 bytes.
        hkdf.expand(purpose.label(), &mut out[..]).ok()?;
        Some(out)
    }

    /// A public identifier of a key version (16 hex digits of an HKDF output): it tells keys
    /// apart in reports and audit logs and reveals nothing about the key.
    pub fn key_id(&self, version: u32) -> String {
        self.subkey::<8>(version, Purpose::KeyId).map(|k| hex::encode(&k[..])).unwrap_or_default()
    }

    fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(format!("{HEADER}{MAGIC}\n"));
        for (version, key) in &self.keys {
            let hex = Zeroizing::new(hex::encode(&key[..]));
            text.push_str(&format!("key {version} {}\n", hex.as_str()));
        }
        text
    }

    /// Parses the file format; the error never quotes the file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines =
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
        if lines.next() != Some(MAGIC) {
            return Err(format!("not a key ring (the first line must be `{MAGIC}`)"));
        }
        let mut keys: Vec<(u32, Zeroizing<[u8; 32]>)> = Vec::new();
        for (i, line) in lines.enumerate() {
            let mut parts = line.split(' ');
            let (Some("key"), Some(version), Some(hex), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("key line {} is not `key VERSION HEX`", i + 1));
            };
            let version: u32 =
                version.parse().map_err(|_| format!("key line {}: bad version", i + 1))?;
            let expected = keys.last().map_or(1, |(v, _)| v + 1);
            if version != expected {
                return Err(format!("key line {}: versions must count up from 1", i + 1));
            }
            let mut key = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex, &mut key[..])
                .map_err(|_| format!("key line {}: the key must be 64 hex digits", i + 1))?;
            keys.push((version, key));
        }
        if keys.is_empty() {
            return Err("the key ring holds no key".into());
        }
        Ok(Self { keys })
    }
}

fn fresh_key() -> Result<Zeroizing<[u8; 32]>, AnonError> {
    let mut rng = privacy_core::SecureRng::from_os_entropy()?;
    let mut key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut key[..]);
    Ok(key)
}

fn key_error(path: &Path, reason: &str) -> AnonError {
    AnonError::KeyFile { path: path.display().to_string(), reason: reason.to_owned() }
}

fn write_new(path: &Path, text: &str) -> Result<(), AnonError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            key_error(path, "exists already; a key file is never overwritten")
        }
        kind => key_error(path, &kind.to_string()),
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| key_error(path, &e.kind().to_string()))
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), AnonError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| key_error(path, &e.kind().to_string()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(key_error(path, "group or others may read it; run `chmod 600` on it"));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), AnonError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_life_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let ring = KeyRing::create_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(matches!(KeyRing::create_file(&path), Err(AnonError::KeyFile { .. })));
        let loaded = KeyRing::load(&path).unwrap();
        assert_eq!(loaded.key_id(1), ring.key_id(1));
        assert_eq!(KeyRing::rotate_file(&path).unwrap(), 2);
        let rotated = KeyRing::load(&path).unwrap();
        assert_eq!(rotated.versions(), [1, 2]);
        assert_eq!(rotated.key_id(1), ring.key_id(1));
        assert_ne!(rotated.key_id(2), ring.key_id(1));
        let debug = format!("{rotated:?}");
        let text = std::fs::read_to_string(&path).unwrap();
        let secret = text.lines().last().unwrap().split(' ').nth(2).unwrap();
        assert!(!debug.contains(secret), "Debug shows no key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = KeyRing::load(&path).unwrap_err();
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
    }

    #[test]
    fn malformed_rings_are_refused_without_quoting_them() {
        let key = "ab".repeat(32);
        for text in [
            String::new(),
            "key 1 00".into(),
            format!("{MAGIC}\n"),
            format!("{MAGIC}\nkey 2 {key}\n"),
            format!("{MAGIC}\nkey 1 {key}\nkey 1 {key}\n"),
            format!("{MAGIC}\nkey 1 {}\n", &key[..60]),
            format!("{MAGIC}\nkey 1 {key} extra\n"),
        ] {
            let err = KeyRing::parse(&text).unwrap_err();
            assert!(!err.contains(&key[..16]), "{err}");
        }
        let ring = KeyRing::parse(&format!("{MAGIC}\nkey 1 {key}\n")).unwrap();
        let a = ring.subkey::<32>(1, Purpose::Pseudonym).unwrap();
        let b = ring.subkey::<32>(1, Purpose::DateShift).unwrap();
        assert_ne!(a[..], b[..], "subkeys are separated by purpose");
        assert!(ring.subkey::<32>(2, Purpose::Pseudonym).is_none());
    }
}
