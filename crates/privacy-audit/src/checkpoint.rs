//! Signed checkpoints: a statement, signed with the log's Ed25519 key, of how many entries the
//! log held, the Merkle root over them and the hash of the last one.
//!
//! Checkpoints are appended, one JSON line each, to a file beside the log (by default the log's
//! path with `.checkpoints` added). A verifier holding the public key checks every checkpoint's
//! signature, that its root and last hash match the log at that size, and that the log is not
//! shorter than the latest checkpoint states: so the removal of entries from the end, which no
//! hash chain can show, is reported. Keeping a copy of the latest checkpoint somewhere the log's
//! writers cannot reach (mailed to the privacy officer, another host) extends that to a writer
//! who also rewrites the checkpoint file.
//!
//! # Format (version 1)
//!
//! `{"v":1,"origin":…,"size":…,"root":…,"last_hash":…,"time":…,"key":…,"signature":…}` where
//! `root` and `last_hash` are lower-case hex, `key` is the signing key's fingerprint and
//! `signature` is the hex Ed25519 signature of this exact text (UTF-8, each line ending `\n`):
//!
//! ```text
//! medi-privacy-audit-checkpoint-v1
//! origin <origin>
//! size <size, decimal>
//! root <root, hex>
//! last_hash <last_hash, hex>
//! time <time, RFC 3339>
//! ```
//!
//! The origin names the log (it is configurable), so a checkpoint of one log cannot be passed
//! off as one of another log signed with the same key.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::entry::parse_hash;
use crate::error::AuditError;
use crate::keys::{AuditSigningKey, AuditVerifyingKey};
use crate::merkle::Hash;

/// The longest checkpoint line read: far above a real one.
const MAX_CHECKPOINT_LINE: u64 = 4096;

/// The longest origin accepted.
pub const MAX_ORIGIN_BYTES: usize = 256;

/// A signed statement of the log's size and roots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The format version, 1.
    pub v: u64,
    /// The name of the log.
    pub origin: String,
    /// How many entries the log held.
    pub size: u64,
    /// The Merkle tree head over those entries, hex.
    pub root: String,
    /// The chain hash of entry `size` (64 zeros when `size` is 0), hex.
    pub last_hash: String,
    /// When it was signed, RFC 3339 (informative).
    pub time: String,
    /// The fingerprint of the signing key.
    pub key: String,
    /// The Ed25519 signature of [`Checkpoint::message`], hex.
    pub signature: String,
}

/// What is wrong with one checkpoint taken alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CheckpointFault {
    /// Not a checkpoint line.
    Malformed(&'static str),
    /// A version this build does not know.
    UnknownVersion(u64),
}

impl Checkpoint {
    /// Signs a checkpoint of a log of `size` entries.
    pub(crate) fn sign(
        key: &AuditSigningKey,
        origin: &str,
        size: u64,
        root: &Hash,
        last_hash: &Hash,
        time: String,
    ) -> Self {
        let mut checkpoint = Self {
            v: 1,
            origin: origin.to_owned(),
            size,
            root: hex::encode(root),
            last_hash: hex::encode(last_hash),
            time,
            key: key.fingerprint(),
            signature: String::new(),
        };
        checkpoint.signature = hex::encode(key.sign(checkpoint.message().as_bytes()));
        checkpoint
    }

    /// The exact text that is signed.
    pub fn message(&self) -> String {
        format!(
            "medi-privacy-audit-checkpoint-v1\norigin {}\nsize {}\nroot {}\nlast_hash {}\ntime {}\n",
            self.origin, self.size, self.root, self.last_hash, self.time
        )
    }

    /// Whether `key` signed this checkpoint (its fingerprint matches and the signature holds).
    pub fn is_signed_by(&self, key: &AuditVerifyingKey) -> bool {
        let mut signature = [0u8; 64];
        self.key == key.fingerprint()
            && hex::decode_to_slice(&self.signature, &mut signature).is_ok()
            && key.verifies(self.message().as_bytes(), &signature)
    }

    /// The root as bytes (checked at parse time).
    pub(crate) fn root_bytes(&self) -> Hash {
        parse_hash(&self.root).unwrap_or_default()
    }

    /// The last hash as bytes (checked at parse time).
    pub(crate) fn last_hash_bytes(&self) -> Hash {
        parse_hash(&self.last_hash).unwrap_or_default()
    }

    /// The checkpoint as one JSON line, newline included.
    pub(crate) fn to_line(&self) -> Result<String, AuditError> {
        Ok(serde_json::to_string(self)? + "\n")
    }

    /// Parses and checks the form of one checkpoint line (without its newline).
    pub(crate) fn parse(line: &[u8]) -> Result<Self, CheckpointFault> {
        #[derive(Deserialize)]
        struct Version {
            v: u64,
        }
        let version: Version = serde_json::from_slice(line)
            .map_err(|_| CheckpointFault::Malformed("not a JSON object with a version"))?;
        if version.v != 1 {
            return Err(CheckpointFault::UnknownVersion(version.v));
        }
        let checkpoint: Self = serde_json::from_slice(line)
            .map_err(|_| CheckpointFault::Malformed("missing, mistyped or unknown fields"))?;
        let hex_ok = |h: &str| parse_hash(h).is_some();
        if !hex_ok(&checkpoint.root) || !hex_ok(&checkpoint.last_hash) || !hex_ok(&checkpoint.key) {
            return Err(CheckpointFault::Malformed("a hash is not lower-case hex SHA-256"));
        }
        let sig_ok = checkpoint.signature.len() == 128
            && checkpoint.signature.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !sig_ok {
            return Err(CheckpointFault::Malformed("the signature is not 64 bytes of hex"));
        }
        if !is_single_line_text(&checkpoint.origin) || !is_single_line_text(&checkpoint.time) {
            return Err(CheckpointFault::Malformed("origin or time holds control characters"));
        }
        Ok(checkpoint)
    }
}

/// Whether `text` can stand on one line of the signed message.
pub(crate) fn is_single_line_text(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_ORIGIN_BYTES && !text.chars().any(char::is_control)
}

/// The default checkpoint file of a log: its path with `.checkpoints` appended.
pub fn default_checkpoint_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".checkpoints");
    PathBuf::from(name)
}

/// One line of a checkpoint file, read.
#[derive(Clone, Debug)]
pub(crate) struct CheckpointLine {
    /// The 1-based line number.
    pub(crate) line: u64,
    /// The checkpoint, or what is wrong with the line.
    pub(crate) parsed: Result<Checkpoint, CheckpointFault>,
}

/// Every line of a checkpoint file; `None` when there is no file. A last line without its
/// newline is returned as malformed ("incomplete"), never dropped.
pub(crate) fn read_checkpoints(path: &Path) -> Result<Option<Vec<CheckpointLine>>, AuditError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    crate::log::require_regular_file(&file)?;
    read_lines(BufReader::new(file)).map(Some)
}

/// Every line of a checkpoint file held in memory.
pub(crate) fn parse_checkpoint_bytes(bytes: &[u8]) -> Result<Vec<CheckpointLine>, AuditError> {
    read_lines(bytes)
}

fn read_lines(mut reader: impl BufRead) -> Result<Vec<CheckpointLine>, AuditError> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for line in 1u64.. {
        buf.clear();
        let read = Read::take(&mut reader, MAX_CHECKPOINT_LINE + 1).read_until(b'\n', &mut buf)?;
        if read == 0 {
            break;
        }
        let parsed = if read as u64 > MAX_CHECKPOINT_LINE {
            // Skip the rest of an over-long line so the next one is read from its start.
            skip_line(&mut reader)?;
            Err(CheckpointFault::Malformed("line too long"))
        } else {
            match buf.strip_suffix(b"\n") {
                Some(content) => Checkpoint::parse(content),
                None => Err(CheckpointFault::Malformed("incomplete last line")),
            }
        };
        out.push(CheckpointLine { line, parsed });
    }
    Ok(out)
}

/// Reads up to and including the next newline without keeping more than a buffer's worth.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

/// The last well-formed checkpoint in the file, if any.
pub(crate) fn latest_checkpoint(path: &Path) -> Result<Option<Checkpoint>, AuditError> {
    let lines = read_checkpoints(path)?.unwrap_or_default();
    Ok(lines.into_iter().filter_map(|l| l.parsed.ok()).max_by_key(|c| c.size))
}

/// Appends one checkpoint and syncs it (and the directory, when the file is new).
pub(crate) fn append_checkpoint(path: &Path, checkpoint: &Checkpoint) -> Result<(), AuditError> {
    let existed = path.exists();
    let mut file = OpenOptions::new().append(true).create(true).open(path)?;
    crate::log::require_regular_file(&file)?;
    file.write_all(checkpoint.to_line()?.as_bytes())?;
    file.sync_data()?;
    if !existed {
        crate::log::sync_parent_dir(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use super::*;

    fn signed(key: &AuditSigningKey, size: u64) -> Checkpoint {
        Checkpoint::sign(
            key,
            "hospital/audit",
            size,
            &[7; 32],
            &[9; 32],
            "2026-01-01T00:00:00Z".into(),
        )
    }

    #[test]
    fn a_checkpoint_verifies_with_its_key_only_and_survives_its_line() {
        let key = AuditSigningKey::generate().unwrap();
        let other = AuditSigningKey::generate().unwrap();
        let checkpoint = signed(&key, 12);
        assert!(checkpoint.is_signed_by(&key.verifying_key()));
        assert!(!checkpoint.is_signed_by(&other.verifying_key()));
        let line = checkpoint.to_line().unwrap();
        let back = Checkpoint::parse(line.trim_end().as_bytes()).unwrap();
        assert_eq!(back, checkpoint);
        let mut forged = back;
        forged.size = 13;
        assert!(!forged.is_signed_by(&key.verifying_key()));
    }

    #[test]
    fn bad_lines_are_typed() {
        assert_eq!(Checkpoint::parse(br#"{"v":9}"#), Err(CheckpointFault::UnknownVersion(9)));
        assert!(matches!(Checkpoint::parse(b"{"), Err(CheckpointFault::Malformed(_))));
        assert!(matches!(Checkpoint::parse(br#"{"v":1}"#), Err(CheckpointFault::Malformed(_))));
        let key = AuditSigningKey::generate().unwrap();
        let mut bad = signed(&key, 1);
        bad.origin = "a\nsize 99".into();
        let line = bad.to_line().unwrap();
        assert!(matches!(
            Checkpoint::parse(line.trim_end().as_bytes()),
            Err(CheckpointFault::Malformed(_))
        ));
    }

    #[test]
    fn a_torn_last_checkpoint_is_reported_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.checkpoints");
        let key = AuditSigningKey::generate().unwrap();
        append_checkpoint(&path, &signed(&key, 1)).unwrap();
        let torn = signed(&key, 2).to_line().unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&torn.as_bytes()[..40]).unwrap();
        let lines = read_checkpoints(&path).unwrap().unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].parsed.is_ok());
        assert_eq!(lines[1].parsed, Err(CheckpointFault::Malformed("incomplete last line")));
        assert_eq!(latest_checkpoint(&path).unwrap().unwrap().size, 1);
        assert!(read_checkpoints(&dir.path().join("none")).unwrap().is_none());
    }
}
