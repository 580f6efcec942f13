//! The Merkle tree over the log's entries, as Certificate Transparency defines it (RFC 6962 §2.1,
//! restated in RFC 9162 §2.1), with inclusion and consistency proofs and their verifiers.
//!
//! Leaf *i* of the tree is entry *i + 1* of the log: the leaf input is the entry's line without
//! its newline, so an auditor who holds one line needs nothing but SHA-256 to check it. Hashes:
//!
//! - the empty tree: `SHA-256()`;
//! - a leaf: `SHA-256(0x00 ‖ line)`;
//! - a node: `SHA-256(0x01 ‖ left ‖ right)`, where a tree of `n > 1` leaves splits after the
//!   largest power of two smaller than `n`.
//!
//! The distinct prefixes keep a leaf from ever being taken for a node (second-preimage
//! resistance of the tree, RFC 6962 §2.1). Because the tree is the standard one, any RFC 9162
//! verifier checks our proofs, and our verifiers are tested on the published CT test vectors.
//!
//! Two structures: [`Frontier`] keeps only the roots of the perfect subtrees covering the leaves
//! so far (`O(log n)` memory), enough for a writer or a streaming verifier to know the root at any
//! size it passes; [`MerkleTree`] keeps every leaf hash plus the stored levels, so that a proof
//! costs `O(log² n)` hashes rather than a pass over the log. The trade-off: the prover spends
//! about 36 bytes of memory per entry (the lowest three internal levels are recomputed on
//! demand instead of stored).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// The root of the empty tree, `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 ‖ data)`: the hash of one leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly smaller than `n` (for `n ≥ 2`): where RFC 6962 splits.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The roots of the perfect subtrees that cover the first `size` leaves, largest first: all a
/// writer needs to extend the tree and to state its root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One root per set bit of `size`, from the highest bit down.
    stack: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves it covers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the leaf whose hash is `leaf` (from [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            // A set low bit means a perfect subtree of the same height is waiting on the stack.
            let Some(left) = self.stack.pop() else { break };
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.stack.push(hash);
        self.size += 1;
    }

    /// The tree head over the leaves so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(last) = iter.next() else { return empty_root() };
        iter.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// Levels up to this one (exclusive) are recomputed from the leaves when needed, not stored.
const FIRST_STORED_LEVEL: u32 = 4;

/// Every leaf hash of a log plus most of the levels above them, for answering proofs fast.
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    leaves: Vec<Hash>,
    /// `levels[j][i]` is the root of the perfect subtree of height `FIRST_STORED_LEVEL + j`
    /// starting at leaf `i << (FIRST_STORED_LEVEL + j)`.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree over these leaf hashes.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends one leaf hash, completing whatever stored subtrees it closes.
    pub fn push(&mut self, leaf: Hash) {
        self.leaves.push(leaf);
        let n = self.leaves.len() as u64;
        let mut height = FIRST_STORED_LEVEL;
        while height < 64 && n.is_multiple_of(1u64 << height) {
            let index = (n >> height) - 1;
            let hash = node_hash(
                &self.perfect(height - 1, 2 * index),
                &self.perfect(height - 1, 2 * index + 1),
            );
            let slot = (height - FIRST_STORED_LEVEL) as usize;
            if self.levels.len() <= slot {
                self.levels.push(Vec::new());
            }
            self.levels[slot].push(hash);
            height += 1;
        }
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// The hash of leaf `index`, if there is one.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        usize::try_from(index).ok().and_then(|i| self.leaves.get(i)).copied()
    }

    /// The root of the perfect subtree of `height` starting at leaf `index << height`; it must
    /// lie within the tree.
    fn perfect(&self, height: u32, index: u64) -> Hash {
        if height == 0 {
            return self.leaves[index as usize];
        }
        if height >= FIRST_STORED_LEVEL {
            return self.levels[(height - FIRST_STORED_LEVEL) as usize][index as usize];
        }
        node_hash(&self.perfect(height - 1, 2 * index), &self.perfect(height - 1, 2 * index + 1))
    }

    /// `MTH(D[start : start + len])` for a range the RFC's recursion produces: `start` is a
    /// multiple of the largest power of two not above `len`.
    fn range(&self, start: u64, len: u64) -> Hash {
        if len == 0 {
            return empty_root();
        }
        if len.is_power_of_two() {
            return self.perfect(len.trailing_zeros(), start >> len.trailing_zeros());
        }
        let k = split_point(len);
        node_hash(&self.range(start, k), &self.range(start + k, len - k))
    }

    /// The root of the tree over the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.size() {
            return Err(ProofError::BeyondTree { requested: size, size: self.size() });
        }
        Ok(self.range(0, size))
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves
    /// (RFC 9162 §2.1.3.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.size() {
            return Err(ProofError::BeyondTree { requested: size, size: self.size() });
        }
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut path = Vec::new();
        self.path(index, 0, size, &mut path);
        Ok(path)
    }

    /// `PATH(m, D[start : start + len])`, appended leaf-side first.
    fn path(&self, m: u64, start: u64, len: u64, out: &mut Vec<Hash>) {
        if len <= 1 {
            return;
        }
        let k = split_point(len);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.range(start + k, len - k));
        } else {
            self.path(m - k, start + k, len - k, out);
            out.push(self.range(start, k));
        }
    }

    /// The consistency proof between the trees of the first `old` and the first `new` leaves
    /// (RFC 9162 §2.1.4.1).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if new > self.size() {
            return Err(ProofError::BeyondTree { requested: new, size: self.size() });
        }
        if old > new {
            return Err(ProofError::Shrinking { old, new });
        }
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut proof);
        }
        Ok(proof)
    }

    /// `SUBPROOF(m, D[start : start + len], whole)`.
    fn subproof(&self, m: u64, start: u64, len: u64, whole: bool, out: &mut Vec<Hash>) {
        if m == len {
            if !whole {
                out.push(self.range(start, len));
            }
            return;
        }
        let k = split_point(len);
        if m <= k {
            self.subproof(m, start, k, whole, out);
            out.push(self.range(start + k, len - k));
        } else {
            self.subproof(m - k, start + k, len - k, false, out);
            out.push(self.range(start, k));
        }
    }
}

/// Why a proof could not be made or does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProofError {
    /// The proof asks about a tree larger than the log.
    #[error("the log has {size} entries, fewer than the {requested} asked for")]
    BeyondTree {
        /// The size asked for.
        requested: u64,
        /// The size of the log.
        size: u64,
    },
    /// The leaf is not in the tree of that size.
    #[error("leaf {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The zero-based leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("no consistency proof from size {old} down to size {new}")]
    Shrinking {
        /// The older (claimed smaller) size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the sizes it claims.
    #[error("the proof has the wrong length for its sizes")]
    WrongLength,
    /// The proof's hashes do not lead to the stated root.
    #[error("the proof does not lead to the stated root")]
    RootMismatch,
}

/// Checks that `leaf` (a [`leaf_hash`]) is leaf `index` of the tree of `size` leaves whose root
/// is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::Shrinking { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        // Any tree extends the empty one; equal sizes need equal roots.
        return if old == 0 || old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((first, rest)) = path.split_first() else { return Err(ProofError::WrongLength) };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use proptest::prelude::*;

    use super::*;

    /// The Certificate Transparency reference leaves (RFC 6962 test data, as published with the
    /// CT and transparency-dev implementations), and the root for every size 0..=8.
    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn ct_tree() -> MerkleTree {
        MerkleTree::from_leaves(CT_LEAVES.iter().map(|l| leaf_hash(&hex::decode(l).unwrap())))
    }

    fn hashes(list: &[&str]) -> Vec<Hash> {
        list.iter().map(|h| hex::decode(h).unwrap().try_into().unwrap()).collect()
    }

    fn root(size: usize) -> Hash {
        hashes(&[CT_ROOTS[size]])[0]
    }

    #[test]
    fn roots_match_the_ct_vectors_for_every_size() {
        let tree = ct_tree();
        let mut frontier = Frontier::new();
        assert_eq!(hex::encode(frontier.root()), CT_ROOTS[0]);
        for size in 0..=8u64 {
            assert_eq!(hex::encode(tree.root_at(size).unwrap()), CT_ROOTS[size as usize]);
            if size > 0 {
                frontier.push(tree.leaf(size - 1).unwrap());
                assert_eq!(hex::encode(frontier.root()), CT_ROOTS[size as usize]);
            }
        }
    }

    #[test]
    fn proofs_match_the_ct_vectors() {
        let tree = ct_tree();
        let inclusion_0 = hashes(&[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]);
        let inclusion_5 = hashes(&[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]);
        assert_eq!(tree.inclusion_proof(0, 8).unwrap(), inclusion_0);
        assert_eq!(tree.inclusion_proof(5, 8).unwrap(), inclusion_5);
        verify_inclusion(&tree.leaf(5).unwrap(), 5, 8, &inclusion_5, &root(8)).unwrap();
        // Consistency from size 1 is the inclusion path of leaf 0; from 2 it drops the first.
        assert_eq!(tree.consistency_proof(1, 8).unwrap(), inclusion_0);
        assert_eq!(tree.consistency_proof(2, 8).unwrap(), inclusion_0[1..].to_vec());
        let six = hashes(&[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]);
        assert_eq!(tree.consistency_proof(6, 8).unwrap(), six);
        verify_consistency(6, 8, &six, &root(6), &root(8)).unwrap();
    }

    #[test]
    fn every_proof_of_every_small_tree_verifies_and_a_wrong_root_does_not() {
        let tree = MerkleTree::from_leaves((0..70u8).map(|i| leaf_hash(&[i, i ^ 0x5a])));
        for size in 1..=70 {
            let root = tree.root_at(size).unwrap();
            for index in 0..size {
                let path = tree.inclusion_proof(index, size).unwrap();
                let leaf = tree.leaf(index).unwrap();
                verify_inclusion(&leaf, index, size, &path, &root).unwrap();
                let wrong = tree.leaf((index + 1) % 70).unwrap();
                assert!(verify_inclusion(&wrong, index, size, &path, &root).is_err());
            }
            for old in 0..=size {
                let proof = tree.consistency_proof(old, size).unwrap();
                let old_root = tree.root_at(old).unwrap();
                verify_consistency(old, size, &proof, &old_root, &root).unwrap();
                if old > 0 && old < size {
                    let other = tree.root_at(old - 1).unwrap();
                    assert!(verify_consistency(old, size, &proof, &other, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn requests_outside_the_tree_are_typed_errors() {
        let tree = ct_tree();
        assert_eq!(tree.root_at(9), Err(ProofError::BeyondTree { requested: 9, size: 8 }));
        assert_eq!(
            tree.inclusion_proof(8, 8),
            Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(tree.consistency_proof(5, 4), Err(ProofError::Shrinking { old: 5, new: 4 }));
        let path = tree.inclusion_proof(3, 8).unwrap();
        let leaf = tree.leaf(3).unwrap();
        assert_eq!(
            verify_inclusion(&leaf, 3, 8, &path[..2], &root(8)),
            Err(ProofError::WrongLength)
        );
    }

    proptest! {
        #[test]
        fn stored_levels_agree_with_the_frontier(n in 1u64..600, pick in any::<u64>()) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
            let tree = MerkleTree::from_leaves(leaves.iter().copied());
            let size = 1 + pick % n;
            let mut frontier = Frontier::new();
            leaves[..size as usize].iter().for_each(|l| frontier.push(*l));
            prop_assert_eq!(tree.root_at(size).unwrap(), frontier.root());
            let index = pick % size;
            let path = tree.inclusion_proof(index, size).unwrap();
            prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &path,
                &frontier.root()).is_ok());
        }
    }
}
