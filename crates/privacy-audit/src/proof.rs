//! Proof bundles for auditors: one entry's inclusion in a signed tree, and one signed tree's
//! consistency with a later one, each checkable without the log.
//!
//! The log's operator builds a [`LogTree`] (one pass over an intact log) and answers
//! [`LogTree::inclusion`] and [`LogTree::consistency`] requests in `O(log² n)` hashes each. A
//! bundle carries everything the auditor needs: the entry line itself (for inclusion), the
//! Merkle path, and the signed checkpoints whose roots the path leads to. [`check_inclusion`] and
//! [`check_consistency`] verify a bundle with the log's public key alone. An auditor who keeps
//! the checkpoints of earlier audits and checks a consistency proof from each to the newest has
//! verified that nothing recorded then was changed or removed since, without reading the log.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{default_checkpoint_path, read_checkpoints, Checkpoint};
use crate::entry::{parse_hash, peek_seq};
use crate::error::AuditError;
use crate::keys::AuditVerifyingKey;
use crate::merkle::ProofError;
use crate::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash, MerkleTree};
use crate::verify::MAX_LINE_BYTES;

/// A tree head: a size and its root, signed when a checkpoint of that size exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// The number of entries.
    pub size: u64,
    /// The Merkle root, hex.
    pub root: String,
    /// The signed checkpoint stating this size and root, if there is one.
    pub checkpoint: Option<Checkpoint>,
}

/// Proof that one entry is in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionBundle {
    /// The entry's sequence number (its leaf index is `seq - 1`).
    pub seq: u64,
    /// The entry's line, without its newline.
    pub entry: String,
    /// The Merkle audit path, leaf side first, hex.
    pub path: Vec<String>,
    /// The tree the path leads to.
    pub tree: TreeHead,
}

/// Proof that a later tree extends an earlier one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyBundle {
    /// The earlier tree.
    pub old: TreeHead,
    /// The later tree.
    pub new: TreeHead,
    /// The consistency proof, hex.
    pub proof: Vec<String>,
}

/// What a successful check established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ProofCheck {
    /// Whether every root involved carries a valid signature of the given key. Without it the
    /// proof shows consistency with the stated roots only.
    pub signed: bool,
}

/// The Merkle tree of an intact log, with the byte offset of every line.
#[derive(Debug)]
pub struct LogTree {
    tree: MerkleTree,
    offsets: Vec<u64>,
    file: File,
    checkpoints: Vec<Checkpoint>,
}

impl LogTree {
    /// Verifies the log (chain, Merkle roots, checkpoints) and builds its tree in the same pass;
    /// reads the default checkpoint file for signed roots.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        Self::open_with(path, None)
    }

    /// [`LogTree::open`] with the checkpoints read from `checkpoints` (a copy kept elsewhere)
    /// instead of the file beside the log.
    ///
    /// One pass: the verifier's walk (parallel hashing) checks the log and keeps every leaf and
    /// line offset, so serving proofs costs one verification of the log, then `O(log n)` per
    /// proof; the tree holds 32 bytes per entry (32 MB per million) plus its stored levels.
    pub fn open_with(
        path: impl AsRef<Path>,
        checkpoints: Option<&Path>,
    ) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let checkpoint_path =
            checkpoints.map_or_else(|| default_checkpoint_path(path), Path::to_owned);
        let (verification, leaves, offsets) =
            crate::verify::verify_collecting(path, Some(checkpoint_path.clone()))?;
        if let Some(problem) = verification.problems.into_iter().next() {
            return Err(problem.into());
        }
        let file = File::open(path)?;
        crate::log::require_regular_file(&file)?;
        let lines = read_checkpoints(&checkpoint_path)?.unwrap_or_default();
        let checkpoints = lines.into_iter().filter_map(|l| l.parsed.ok()).collect();
        let tree = MerkleTree::from_leaves(leaves);
        Ok(Self { tree, offsets, file, checkpoints })
    }

    /// The number of entries in the tree.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The tree head at `size`, with the checkpoint of that size if one matches its root.
    pub fn head(&self, size: u64) -> Result<TreeHead, AuditError> {
        let root = hex::encode(self.tree.root_at(size)?);
        let checkpoint =
            self.checkpoints.iter().rev().find(|c| c.size == size && c.root == root).cloned();
        Ok(TreeHead { size, root, checkpoint })
    }

    /// The smallest checkpointed size at or above `at_least` whose root matches the log, if any.
    pub fn checkpointed_size(&self, at_least: u64) -> Option<u64> {
        let matches = |c: &&Checkpoint| {
            c.size >= at_least
                && c.size <= self.size()
                && self.tree.root_at(c.size).is_ok_and(|r| hex::encode(r) == c.root)
        };
        self.checkpoints.iter().filter(matches).map(|c| c.size).min()
    }

    /// The inclusion proof of entry `seq` in the tree of `size` entries.
    pub fn inclusion(&self, seq: u64, size: u64) -> Result<InclusionBundle, AuditError> {
        let index = seq.checked_sub(1).ok_or(ProofError::IndexOutOfRange { index: 0, size })?;
        let path = self.tree.inclusion_proof(index, size)?;
        Ok(InclusionBundle {
            seq,
            entry: self.line(index)?,
            path: path.iter().map(hex::encode).collect(),
            tree: self.head(size)?,
        })
    }

    /// The consistency proof from the tree of `old` entries to that of `new` entries.
    pub fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyBundle, AuditError> {
        let proof = self.tree.consistency_proof(old, new)?;
        Ok(ConsistencyBundle {
            old: self.head(old)?,
            new: self.head(new)?,
            proof: proof.iter().map(hex::encode).collect(),
        })
    }

    /// The tree itself, for callers that answer many proofs.
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    fn line(&self, index: u64) -> Result<String, AuditError> {
        let offset = usize::try_from(index).ok().and_then(|i| self.offsets.get(i));
        let offset = *offset.ok_or(ProofError::IndexOutOfRange { index, size: self.size() })?;
        let mut file = &self.file;
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::new();
        Read::take(BufReader::new(file), MAX_LINE_BYTES as u64).read_until(b'\n', &mut buf)?;
        let text =
            String::from_utf8(buf).map_err(|_| AuditError::Compliance("not UTF-8".into()))?;
        Ok(text.trim_end_matches('\n').to_owned())
    }
}

fn hashes(list: &[String]) -> Result<Vec<Hash>, AuditError> {
    list.iter().map(|h| parse_hash(h).ok_or(AuditError::Proof(ProofError::WrongLength))).collect()
}

/// Checks a tree head's checkpoint against its size, root and `key`; `Ok(false)` when there is
/// no key or no checkpoint to check.
fn head_signed(head: &TreeHead, key: Option<&AuditVerifyingKey>) -> Result<bool, AuditError> {
    let (Some(key), Some(checkpoint)) = (key, &head.checkpoint) else { return Ok(false) };
    if checkpoint.size != head.size || checkpoint.root != head.root {
        return Err(ProofError::RootMismatch.into());
    }
    if !checkpoint.is_signed_by(key) {
        return Err(AuditError::Key("the checkpoint is not signed by the given key"));
    }
    Ok(true)
}

/// Verifies an inclusion bundle: the entry's line hashes to a leaf that the path leads to the
/// stated root, and (with `key`) that root is signed.
pub fn check_inclusion(
    bundle: &InclusionBundle,
    key: Option<&AuditVerifyingKey>,
) -> Result<ProofCheck, AuditError> {
    if peek_seq(bundle.entry.as_bytes()) != Some(bundle.seq) {
        return Err(AuditError::Compliance("the entry's seq differs from the bundle's".into()));
    }
    let root = parse_hash(&bundle.tree.root).ok_or(ProofError::RootMismatch)?;
    let leaf = leaf_hash(bundle.entry.as_bytes());
    let index = bundle.seq.checked_sub(1).ok_or(ProofError::WrongLength)?;
    verify_inclusion(&leaf, index, bundle.tree.size, &hashes(&bundle.path)?, &root)?;
    Ok(ProofCheck { signed: head_signed(&bundle.tree, key)? && key.is_some() })
}

/// Verifies a consistency bundle, and (with `key`) both roots' signatures.
pub fn check_consistency(
    bundle: &ConsistencyBundle,
    key: Option<&AuditVerifyingKey>,
) -> Result<ProofCheck, AuditError> {
    let old_root = parse_hash(&bundle.old.root).ok_or(ProofError::RootMismatch)?;
    let new_root = parse_hash(&bundle.new.root).ok_or(ProofError::RootMismatch)?;
    let proof = hashes(&bundle.proof)?;
    verify_consistency(bundle.old.size, bundle.new.size, &proof, &old_root, &new_root)?;
    let signed = head_signed(&bundle.old, key)? & head_signed(&bundle.new, key)?;
    Ok(ProofCheck { signed })
}

/// A proof bundle of either kind, as `audit prove` and `audit prove-consistency` print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofBundle {
    /// One entry's inclusion.
    Inclusion(InclusionBundle),
    /// Two tree heads' consistency.
    Consistency(ConsistencyBundle),
}

/// The longest proof bundle read, in bytes: a real one is a few kilobytes (an entry and at most
/// 64 hashes per path), so anything far larger is refused before it is parsed.
pub const MAX_BUNDLE_BYTES: usize = 4 << 20;

impl ProofBundle {
    /// Parses a bundle from JSON: one with an `entry` member is an inclusion proof, any other a
    /// consistency proof. Unknown members are ignored, as the bundle's checks cover everything
    /// they rely on.
    pub fn from_json(text: &str) -> Result<Self, AuditError> {
        if text.len() > MAX_BUNDLE_BYTES {
            return Err(AuditError::Compliance("the proof bundle is too large".into()));
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| AuditError::Compliance(format!("the proof is not JSON: {e}")))?;
        let not_a_bundle = |e: serde_json::Error| {
            AuditError::Compliance(format!("the proof is not a proof bundle: {e}"))
        };
        if value.get("entry").is_some() {
            serde_json::from_value(value).map(Self::Inclusion).map_err(not_a_bundle)
        } else {
            serde_json::from_value(value).map(Self::Consistency).map_err(not_a_bundle)
        }
    }

    /// Checks the bundle, and with `key` the signatures of its tree heads.
    pub fn check(&self, key: Option<&AuditVerifyingKey>) -> Result<ProofCheck, AuditError> {
        match self {
            Self::Inclusion(bundle) => check_inclusion(bundle, key),
            Self::Consistency(bundle) => check_consistency(bundle, key),
        }
    }

    /// What the bundle claims, in words.
    pub fn claim(&self) -> String {
        match self {
            Self::Inclusion(b) => {
                format!("entry {} is in the log of {} entries", b.seq, b.tree.size)
            }
            Self::Consistency(b) => format!(
                "the log of {} entries extends the log of {} entries",
                b.new.size, b.old.size
            ),
        }
    }
}
