//! Walking the log: [`verify_with`] checks a whole log and its checkpoints and reports every
//! problem it finds (up to a limit), [`verify`] is the short form that returns the first, and the
//! incremental walk lets the writer catch up with entries other processes appended.
//!
//! Each line is checked on its own first (form, version, hash), then against its predecessor
//! (sequence number, then `prev`). After a problem the walk resynchronizes on the line it found
//! (an edited line still names the hash the next one links to), so one edit is reported once
//! and a second, unrelated edit further on is reported too. A sequence number that jumps ahead
//! is classified at the end of the walk: if a skipped number appears later the entries were
//! reordered, otherwise removed. Every line is a leaf of the Merkle tree whether or not it is
//! intact, and the tree's root is captured at every size a checkpoint states; the checkpoints are
//! then checked against the log. The walk streams the file, holding one line and `O(log n)`
//! hashes at a time.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::checkpoint::{default_checkpoint_path, read_checkpoints, CheckpointFault};
use rayon::prelude::*;

use crate::entry::{parse_line, peek_seq, LineFault, Parsed, GENESIS_PREV};
use crate::error::AuditError;
use crate::keys::AuditVerifyingKey;
use crate::lock::FileLock;
use crate::merkle::{leaf_hash, Frontier, Hash};

/// A problem found in a log or its checkpoints, located by 1-based line numbers.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainProblem {
    /// The line is a well-formed entry whose hash does not match its content: a value in it was
    /// changed.
    #[error("line {line} (entry {seq}) was edited: its hash does not match its content")]
    Edited {
        /// The sequence number the line claims.
        seq: u64,
        /// The line.
        line: u64,
    },
    /// The line is a valid entry, but its sequence number skips ahead and the missing numbers
    /// appear nowhere later in the file: entries were removed before it.
    #[error(
        "entries are missing before line {line}: expected entry {expected_seq}, found {found_seq}"
    )]
    Removed {
        /// The sequence number that should have come next.
        expected_seq: u64,
        /// The sequence number found instead.
        found_seq: u64,
        /// The line.
        line: u64,
    },
    /// The line is a valid entry out of place: its sequence number goes backwards (a moved or
    /// duplicated entry), or skips ahead to one whose missing predecessor appears later.
    #[error("line {line} is out of order: expected entry {expected_seq}, found {found_seq}")]
    Reordered {
        /// The sequence number that should have come next.
        expected_seq: u64,
        /// The sequence number found instead.
        found_seq: u64,
        /// The line.
        line: u64,
    },
    /// The line is a valid entry with the expected sequence number, but its `prev` is not the
    /// hash of the line before it: the entry before was replaced by one with a recomputed hash.
    #[error("line {line} (entry {seq}) does not link to the entry before it")]
    BrokenLink {
        /// The sequence number of the line.
        seq: u64,
        /// The line.
        line: u64,
    },
    /// The last line has no trailing newline: a write was interrupted (or the file truncated).
    /// The incomplete line is neither used nor removed.
    #[error("the last line ({line}) is incomplete")]
    TornTail {
        /// The line.
        line: u64,
    },
    /// The line is not an entry: invalid JSON, a missing or mistyped field, or a value written
    /// in other than the required form.
    #[error("line {line} is malformed: {reason}")]
    Malformed {
        /// The line.
        line: u64,
        /// What is wrong, without any of the line's content.
        reason: String,
    },
    /// The line declares a format version this build does not know.
    #[error("line {line} has format version {version}, which this build does not know")]
    UnknownVersion {
        /// The line.
        line: u64,
        /// The version it declares.
        version: u64,
    },
    /// The log holds fewer entries than a checkpoint states: entries were removed from its end.
    #[error(
        "the log was truncated: it holds {entries} entries, but a checkpoint states {signed_size}"
    )]
    Truncated {
        /// The size the latest checkpoint states.
        signed_size: u64,
        /// The entries (complete lines) the log holds.
        entries: u64,
    },
    /// A checkpoint's root or last hash differs from the log's at that size: entries up to that
    /// size were changed, or the checkpoint was.
    #[error(
        "checkpoint line {checkpoint_line} (size {size}) does not match the log's first {size} \
         entries"
    )]
    CheckpointMismatch {
        /// The line of the checkpoint file.
        checkpoint_line: u64,
        /// The size it states.
        size: u64,
    },
    /// A checkpoint's signature does not verify with the given public key.
    #[error("checkpoint line {checkpoint_line} (size {size}) has a bad signature")]
    BadSignature {
        /// The line of the checkpoint file.
        checkpoint_line: u64,
        /// The size it states.
        size: u64,
    },
    /// A checkpoint was signed by a key other than the given one.
    #[error("checkpoint line {checkpoint_line} (size {size}) was signed by another key ({key})")]
    WrongKey {
        /// The line of the checkpoint file.
        checkpoint_line: u64,
        /// The size it states.
        size: u64,
        /// The fingerprint it names.
        key: String,
    },
    /// A checkpoint line is not a checkpoint (or is incomplete, or of an unknown version).
    #[error("checkpoint line {checkpoint_line} is malformed: {reason}")]
    CheckpointMalformed {
        /// The line of the checkpoint file.
        checkpoint_line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A public key was given but no checkpoint signed with it covers any entry: the checkpoint
    /// file is missing, empty, or holds only checkpoints of other keys.
    #[error("no checkpoint signed with the given key covers the log's {entries} entries")]
    Unsigned {
        /// The entries of the log.
        entries: u64,
    },
}

/// The result of verifying an intact log with [`verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[must_use]
pub struct VerifyReport {
    /// How many entries the log holds (the sequence number of the last one).
    pub entries: u64,
    /// The hash of the last entry, [`GENESIS_PREV`] for an empty log.
    pub last_hash: String,
}

/// What [`verify_with`] checks besides the chain.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The key checkpoints must be signed with; without it signatures are not checked (roots
    /// and sizes still are).
    pub public_key: Option<AuditVerifyingKey>,
    /// The checkpoint file; `None` for the log's default one ([`default_checkpoint_path`]).
    pub checkpoints: Option<PathBuf>,
    /// Stop reporting after this many problems (at least 1).
    pub max_problems: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self { public_key: None, checkpoints: None, max_problems: 100 }
    }
}

/// Whether checkpoint signatures were checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureCheck {
    /// Every checkpoint's signature was checked with the given key and holds.
    Verified,
    /// No public key was given.
    NotChecked,
    /// A public key was given and some signature does not hold (see the problems).
    Failed,
}

/// What the checkpoint file says, as far as the verifier could tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointSummary {
    /// The checkpoint file read.
    pub file: String,
    /// Whether it exists.
    pub found: bool,
    /// Well-formed checkpoints in it.
    pub count: u64,
    /// The largest size a well-formed checkpoint states.
    pub latest_size: Option<u64>,
    /// When that checkpoint was signed.
    pub latest_time: Option<String>,
    /// Whether signatures were checked.
    pub signatures: SignatureCheck,
    /// The fingerprint of the key they were checked with.
    pub key: Option<String>,
    /// Entries after the latest checkpoint (not yet covered by one).
    pub unsigned_entries: u64,
}

/// The full result of [`verify_with`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[must_use]
pub struct Verification {
    /// Complete lines in the log (for an intact log, its number of entries).
    pub entries: u64,
    /// The hash of the last entry read ([`GENESIS_PREV`] for an empty log).
    pub last_hash: String,
    /// The Merkle tree head over all complete lines, hex.
    pub root: String,
    /// What the checkpoints say.
    pub checkpoints: CheckpointSummary,
    /// Every problem found, in file order (log lines first, then checkpoints), up to the limit.
    pub problems: Vec<ChainProblem>,
}

impl Verification {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The longest line (entry) a log may hold, newline included: far above any real entry, and
/// a bound on the memory that reading a hostile file can take.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Verifies the log at `path` and its default checkpoint file (sizes and roots; signatures are
/// not checked without a key).
///
/// Returns the report of an intact log, or [`AuditError::Chain`] with the first problem.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
    let options = VerifyOptions { max_problems: 1, ..VerifyOptions::default() };
    let verification = verify_with(path, &options)?;
    match verification.problems.into_iter().next() {
        Some(problem) => Err(problem.into()),
        None => {
            Ok(VerifyReport { entries: verification.entries, last_hash: verification.last_hash })
        }
    }
}

/// Verifies the log at `path` and its checkpoints, reporting every problem found.
///
/// Errors only when the files cannot be read (missing, not a regular file, I/O); everything
/// wrong with their content is a problem in the returned [`Verification`]. Takes a shared lock
/// on the log, so it never sees an append half-written.
pub fn verify_with(
    path: impl AsRef<Path>,
    options: &VerifyOptions,
) -> Result<Verification, AuditError> {
    let path = path.as_ref();
    let file = File::open(path)?;
    crate::log::require_regular_file(&file)?;
    let _lock = FileLock::shared(&file)?;
    let checkpoint_path =
        options.checkpoints.clone().unwrap_or_else(|| default_checkpoint_path(path));
    let checkpoint_lines = read_checkpoints(&checkpoint_path)?;
    let lines = checkpoint_lines.as_deref().unwrap_or_default();
    let wanted = lines.iter().filter_map(|l| l.parsed.as_ref().ok()).map(|c| c.size).collect();
    let mut walker = Walker::new(Head::genesis(), Frontier::new(), options.max_problems.max(1));
    walker.wanted = wanted;
    walker.run(BufReader::with_capacity(1 << 20, &file))?;
    Ok(walker.finish(&checkpoint_path, checkpoint_lines.is_some(), lines, options))
}

/// Verifies the log at `path` against `checkpoints` (default: beside it) in one pass that also
/// returns every Merkle leaf and the byte offset of its line, for serving proofs.
pub(crate) fn verify_collecting(
    path: &Path,
    checkpoints: Option<PathBuf>,
) -> Result<(Verification, Vec<Hash>, Vec<u64>), AuditError> {
    let file = File::open(path)?;
    crate::log::require_regular_file(&file)?;
    let _lock = FileLock::shared(&file)?;
    let checkpoint_path = checkpoints.unwrap_or_else(|| default_checkpoint_path(path));
    let checkpoint_lines = read_checkpoints(&checkpoint_path)?;
    let lines = checkpoint_lines.as_deref().unwrap_or_default();
    let mut walker = Walker::new(Head::genesis(), Frontier::new(), 1);
    walker.wanted = lines.iter().filter_map(|l| l.parsed.as_ref().ok()).map(|c| c.size).collect();
    walker.leaves = Some((Vec::new(), Vec::new()));
    walker.run(BufReader::with_capacity(1 << 20, &file))?;
    let (leaves, offsets) = walker.leaves.take().unwrap_or_default();
    let options = VerifyOptions { max_problems: 1, ..VerifyOptions::default() };
    let verification = walker.finish(&checkpoint_path, checkpoint_lines.is_some(), lines, &options);
    Ok((verification, leaves, offsets))
}

/// Verifies `log` (bytes of a log file) against `checkpoints` (bytes of a checkpoint file, if
/// any) without touching the file system: the entry point for fuzzing and for checking logs
/// received over the network.
pub fn verify_bytes(
    log: &[u8],
    checkpoints: Option<&[u8]>,
    options: &VerifyOptions,
) -> Result<Verification, AuditError> {
    let lines = match checkpoints {
        Some(bytes) => Some(crate::checkpoint::parse_checkpoint_bytes(bytes)?),
        None => None,
    };
    let list = lines.as_deref().unwrap_or_default();
    let mut walker = Walker::new(Head::genesis(), Frontier::new(), options.max_problems.max(1));
    walker.wanted = list.iter().filter_map(|l| l.parsed.as_ref().ok()).map(|c| c.size).collect();
    walker.run(log)?;
    Ok(walker.finish(Path::new("(bytes)"), lines.is_some(), list, options))
}

/// The last entry of a verified prefix of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// Its sequence number, which is also the number of lines before the next entry.
    pub(crate) seq: u64,
    /// Its hash.
    pub(crate) hash: Hash,
}

impl Head {
    pub(crate) fn genesis() -> Self {
        Self { seq: 0, hash: [0; 32] }
    }
}

/// Where a strict walk ended.
#[derive(Debug)]
pub(crate) struct Walked {
    pub(crate) head: Head,
    pub(crate) frontier: Frontier,
    /// Bytes read, all of them in complete, verified lines.
    pub(crate) bytes: u64,
}

/// Verifies every line from `reader` as the continuation of the chain ending at `head`, whose
/// Merkle frontier is `frontier`; fails with the first problem.
pub(crate) fn walk(
    reader: impl BufRead,
    head: Head,
    frontier: Frontier,
) -> Result<Walked, AuditError> {
    let mut walker = Walker::new(head, frontier, 1);
    walker.run(reader)?;
    let Walker { problems, pending, head, frontier, bytes, .. } = walker;
    if let Some(problem) = resolve(problems, pending).into_iter().next() {
        return Err(problem.into());
    }
    let hash = head.hash.unwrap_or_default();
    Ok(Walked { head: Head { seq: head.seq, hash }, frontier, bytes })
}

/// A forward jump of sequence numbers whose kind (removal or reordering) is known only once the
/// rest of the file has been read.
#[derive(Debug)]
struct Jump {
    /// Index in `problems` of its placeholder.
    slot: usize,
    expected_seq: u64,
    found_seq: u64,
    line: u64,
    /// Whether a skipped number was seen later.
    seen_later: bool,
}

/// The walk's state. `head.hash` is `None` right after a line whose hash could not be read.
struct Walker {
    head: WalkHead,
    frontier: Frontier,
    line: u64,
    bytes: u64,
    problems: Vec<ChainProblem>,
    pending: Vec<Jump>,
    max_problems: usize,
    /// Sizes at which to capture the root and last hash (the checkpoints' sizes).
    wanted: std::collections::BTreeSet<u64>,
    captured: BTreeMap<u64, (Hash, Option<Hash>)>,
    /// When proofs are to be served: every leaf and the byte offset of its line.
    leaves: Option<(Vec<Hash>, Vec<u64>)>,
}

#[derive(Clone, Copy, Debug)]
struct WalkHead {
    seq: u64,
    hash: Option<Hash>,
}

impl Walker {
    fn new(head: Head, frontier: Frontier, max_problems: usize) -> Self {
        Self {
            line: frontier.size(),
            head: WalkHead { seq: head.seq, hash: Some(head.hash) },
            frontier,
            bytes: 0,
            problems: Vec::new(),
            pending: Vec::new(),
            max_problems,
            wanted: Default::default(),
            captured: BTreeMap::new(),
            leaves: None,
        }
    }

    fn full(&self) -> bool {
        self.problems.len() >= self.max_problems
    }

    /// Walks every line of `reader`.
    ///
    /// Two stages: lines are read sequentially into blocks of up to [`BLOCK_LINES`] lines;
    /// each block's lines are parsed and hashed (entry hash and Merkle leaf, the costly part)
    /// in parallel with rayon; then the block's results are checked against each other in
    /// order (sequence numbers, links, the Merkle frontier), which is cheap. Memory stays one
    /// block (a few MB), whatever the log's length.
    fn run(&mut self, mut reader: impl BufRead) -> Result<(), AuditError> {
        if self.wanted.contains(&0) {
            self.captured.insert(0, (crate::merkle::empty_root(), Some([0; 32])));
        }
        let mut block = Block::default();
        loop {
            let end = block.fill(&mut reader)?;
            let checked = block.check();
            for (index, (parsed, leaf)) in checked.into_iter().enumerate() {
                let (start, stop) = block.lines[index];
                let content = &block.buf[start..stop];
                let line = self.line + 1;
                self.line = line;
                if let Some((leaves, offsets)) = &mut self.leaves {
                    leaves.push(leaf);
                    offsets.push(self.bytes);
                }
                self.bytes += (stop - start) as u64 + 1;
                self.check_line(content, parsed, line);
                self.frontier.push(leaf);
                if self.wanted.contains(&line) {
                    self.captured.insert(line, (self.frontier.root(), self.head.hash));
                }
                if self.full() {
                    for &(start, stop) in &block.lines[index + 1..] {
                        self.note_seen_later(&block.buf[start..stop], u64::MAX);
                    }
                    if let BlockEnd::TooLong | BlockEnd::Torn = end {
                        return Ok(());
                    }
                    return self.classify_rest(reader);
                }
            }
            let line = self.line + 1;
            match end {
                BlockEnd::More => {}
                BlockEnd::Eof => return Ok(()),
                BlockEnd::Torn => {
                    self.problems.push(ChainProblem::TornTail { line });
                    return Ok(());
                }
                BlockEnd::TooLong => {
                    let reason = format!("line longer than {MAX_LINE_BYTES} bytes");
                    self.problems.push(ChainProblem::Malformed { line, reason });
                    return self.classify_rest(reader);
                }
            }
        }
    }

    /// Checks one complete line and moves the head.
    fn check_line(&mut self, content: &[u8], parsed: Result<Parsed, LineFault>, line: u64) {
        let expected_seq = self.head.seq.saturating_add(1);
        self.note_seen_later(content, expected_seq);
        let entry = match parsed {
            Ok(entry) => entry,
            Err(LineFault::HashMismatch { seq, claimed }) => {
                self.problems.push(ChainProblem::Edited { seq, line });
                if seq >= expected_seq {
                    self.head = WalkHead { seq, hash: Some(claimed) };
                }
                return;
            }
            Err(fault) => {
                self.problems.push(located(fault, line));
                self.head = WalkHead { seq: expected_seq, hash: None };
                return;
            }
        };
        let found_seq = entry.seq;
        if found_seq == expected_seq {
            if self.head.hash.is_some_and(|h| h != entry.prev) {
                self.problems.push(ChainProblem::BrokenLink { seq: found_seq, line });
            }
        } else if found_seq > expected_seq {
            let slot = self.problems.len();
            // A placeholder, replaced once the rest of the file tells removal from reordering.
            self.problems.push(ChainProblem::Removed { expected_seq, found_seq, line });
            self.pending.push(Jump { slot, expected_seq, found_seq, line, seen_later: false });
        } else {
            self.problems.push(ChainProblem::Reordered { expected_seq, found_seq, line });
            return;
        }
        self.head = WalkHead { seq: found_seq, hash: Some(entry.hash) };
    }

    /// Marks the pending jumps whose skipped numbers include this line's.
    fn note_seen_later(&mut self, content: &[u8], expected_seq: u64) {
        if self.pending.iter().all(|j| j.seen_later) {
            return;
        }
        // A cheap look at the number only: the line is fully checked afterwards.
        let Some(seq) = peek_seq(content) else { return };
        if seq >= expected_seq && self.pending.iter().all(|j| seq >= j.found_seq) {
            return;
        }
        for jump in &mut self.pending {
            if (jump.expected_seq..jump.found_seq).contains(&seq) {
                jump.seen_later = true;
            }
        }
    }

    /// After the problem limit: reads the remaining lines only to classify pending jumps.
    fn classify_rest(&mut self, mut reader: impl BufRead) -> Result<(), AuditError> {
        let mut buf = Vec::new();
        while self.pending.iter().any(|j| !j.seen_later) {
            buf.clear();
            let read =
                Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
            if read == 0 {
                break;
            }
            self.note_seen_later(buf.strip_suffix(b"\n").unwrap_or(&buf), u64::MAX);
        }
        Ok(())
    }

    fn finish(
        self,
        checkpoint_path: &Path,
        found: bool,
        checkpoint_lines: &[crate::checkpoint::CheckpointLine],
        options: &VerifyOptions,
    ) -> Verification {
        let mut problems = resolve(self.problems, self.pending);
        let (summary, checkpoint_problems) = check_checkpoints(
            checkpoint_lines,
            &self.captured,
            self.line,
            options.public_key.as_ref(),
        );
        problems.extend(checkpoint_problems);
        problems.truncate(options.max_problems.max(1));
        Verification {
            entries: self.line,
            last_hash: hex::encode(self.head.hash.unwrap_or_default()),
            root: hex::encode(self.frontier.root()),
            checkpoints: CheckpointSummary {
                file: checkpoint_path.display().to_string(),
                found,
                ..summary
            },
            problems,
        }
    }
}

/// Lines per block of the walk: enough to keep both cores busy, few enough (a few MB) to stay
/// in cache.
const BLOCK_LINES: usize = 8192;
/// Below this many lines a block is checked on the calling thread: spreading a handful of
/// lines over a pool costs more than it saves (the writer's catch-up reads one or two).
const PARALLEL_FROM: usize = 256;

/// How a block of lines ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockEnd {
    /// The block is full; more lines may follow.
    More,
    /// The reader is exhausted after a complete line (or was empty).
    Eof,
    /// The reader ended inside a line: a torn tail.
    Torn,
    /// A line longer than [`MAX_LINE_BYTES`] follows the block's lines.
    TooLong,
}

/// Complete lines read from the log, without their newlines.
#[derive(Debug, Default)]
struct Block {
    buf: Vec<u8>,
    /// `(start, end)` of each line's content in `buf`.
    lines: Vec<(usize, usize)>,
}

impl Block {
    /// Reads up to [`BLOCK_LINES`] complete lines, each bounded by [`MAX_LINE_BYTES`].
    fn fill(&mut self, reader: &mut impl BufRead) -> Result<BlockEnd, AuditError> {
        self.buf.clear();
        self.lines.clear();
        while self.lines.len() < BLOCK_LINES {
            let start = self.buf.len();
            // Bounded, so that a huge or endless file without newlines cannot exhaust memory.
            let read = Read::take(&mut *reader, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buf)?;
            if read == 0 {
                return Ok(BlockEnd::Eof);
            }
            if read > MAX_LINE_BYTES {
                self.buf.truncate(start);
                return Ok(BlockEnd::TooLong);
            }
            if self.buf.last() != Some(&b'\n') {
                self.buf.truncate(start);
                return Ok(BlockEnd::Torn);
            }
            self.lines.push((start, self.buf.len() - 1));
        }
        Ok(BlockEnd::More)
    }

    /// Parses and hashes every line: its entry (form, version, hash) and its Merkle leaf.
    fn check(&self) -> Vec<(Result<Parsed, LineFault>, Hash)> {
        let one = |&(start, stop): &(usize, usize)| {
            let content = &self.buf[start..stop];
            (parse_line(content), leaf_hash(content))
        };
        if self.lines.len() < PARALLEL_FROM {
            self.lines.iter().map(one).collect()
        } else {
            self.lines.par_iter().map(one).collect()
        }
    }
}

/// Replaces each jump's placeholder with its final kind.
fn resolve(mut problems: Vec<ChainProblem>, pending: Vec<Jump>) -> Vec<ChainProblem> {
    for jump in pending {
        let Jump { expected_seq, found_seq, line, .. } = jump;
        problems[jump.slot] = if jump.seen_later {
            ChainProblem::Reordered { expected_seq, found_seq, line }
        } else {
            ChainProblem::Removed { expected_seq, found_seq, line }
        };
    }
    problems
}

/// Checks every checkpoint line against the roots captured during the walk.
fn check_checkpoints(
    lines: &[crate::checkpoint::CheckpointLine],
    captured: &BTreeMap<u64, (Hash, Option<Hash>)>,
    entries: u64,
    key: Option<&AuditVerifyingKey>,
) -> (CheckpointSummary, Vec<ChainProblem>) {
    let mut problems = Vec::new();
    let mut latest: Option<&crate::checkpoint::Checkpoint> = None;
    let mut signed_size: Option<u64> = None;
    let mut count = 0;
    let mut bad_signature = false;
    for line in lines {
        let checkpoint_line = line.line;
        let checkpoint = match &line.parsed {
            Ok(c) => c,
            Err(fault) => {
                let reason = match fault {
                    CheckpointFault::Malformed(reason) => (*reason).to_owned(),
                    CheckpointFault::UnknownVersion(v) => format!("unknown format version {v}"),
                };
                problems.push(ChainProblem::CheckpointMalformed { checkpoint_line, reason });
                continue;
            }
        };
        count += 1;
        let size = checkpoint.size;
        if let Some(key) = key {
            if checkpoint.key != key.fingerprint() {
                bad_signature = true;
                let key = checkpoint.key.clone();
                problems.push(ChainProblem::WrongKey { checkpoint_line, size, key });
                continue;
            }
            if !checkpoint.is_signed_by(key) {
                bad_signature = true;
                problems.push(ChainProblem::BadSignature { checkpoint_line, size });
                continue;
            }
            signed_size = signed_size.max(Some(size));
        }
        if latest.is_none_or(|l| size >= l.size) {
            latest = Some(checkpoint);
        }
        if let Some((root, last)) = captured.get(&size) {
            let last_ok = last.is_some_and(|h| h == checkpoint.last_hash_bytes());
            if *root != checkpoint.root_bytes() || !last_ok {
                problems.push(ChainProblem::CheckpointMismatch { checkpoint_line, size });
            }
        }
    }
    let covered = if key.is_some() { signed_size } else { latest.map(|c| c.size) };
    if let Some(signed) = covered.filter(|&s| s > entries) {
        problems.push(ChainProblem::Truncated { signed_size: signed, entries });
    }
    if key.is_some() && entries > 0 && signed_size.is_none_or(|s| s == 0) {
        problems.push(ChainProblem::Unsigned { entries });
    }
    let signatures = match (key, bad_signature) {
        (None, _) => SignatureCheck::NotChecked,
        (Some(_), true) => SignatureCheck::Failed,
        (Some(_), false) => SignatureCheck::Verified,
    };
    let summary = CheckpointSummary {
        file: String::new(),
        found: false,
        count,
        latest_size: latest.map(|c| c.size),
        latest_time: latest.map(|c| c.time.clone()),
        signatures,
        key: key.map(AuditVerifyingKey::fingerprint),
        unsigned_entries: entries.saturating_sub(covered.unwrap_or(0)),
    };
    (summary, problems)
}

fn located(fault: LineFault, line: u64) -> ChainProblem {
    match fault {
        LineFault::HashMismatch { seq, .. } => ChainProblem::Edited { seq, line },
        LineFault::Malformed(reason) => ChainProblem::Malformed { line, reason: reason.into() },
        LineFault::InvalidJson(detail) => {
            ChainProblem::Malformed { line, reason: format!("invalid JSON: {detail}") }
        }
        LineFault::UnknownVersion(version) => ChainProblem::UnknownVersion { line, version },
    }
}

/// [`GENESIS_PREV`] as bytes is all zeros; kept in one place for the docs above.
const _: () = assert!(GENESIS_PREV.len() == 64);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

    use serde_json::json;

    use super::*;
    use crate::entry::{new_entry, write_canonical};

    /// Lines of a valid chain of `n` entries; entry `forge` gets another principal and a
    /// recomputed hash.
    fn chain(n: u64, forge: Option<u64>) -> Vec<String> {
        let mut prev = [0u8; 32];
        let mut lines = Vec::new();
        for seq in 1..=n {
            let who = if forge == Some(seq) { "mallory" } else { "ana" };
            let mut event = String::new();
            write_canonical(&json!({"kind": "release", "principal": who}), &mut event);
            let entry = new_entry(seq, "2025-01-01T00:00:00Z", &prev, &event);
            lines.push(entry.line);
            prev = entry.hash;
        }
        lines
    }

    fn problems(lines: &[String]) -> Vec<ChainProblem> {
        let text: String = lines.concat();
        verify_bytes(text.as_bytes(), None, &VerifyOptions::default()).unwrap().problems
    }

    #[test]
    fn a_valid_chain_walks_to_its_end() {
        let text = chain(3, None).concat();
        let walked = walk(text.as_bytes(), Head::genesis(), Frontier::new()).unwrap();
        assert_eq!(walked.head.seq, 3);
        assert_eq!(walked.bytes, text.len() as u64);
        assert_eq!(walked.frontier.size(), 3);
    }

    #[test]
    fn a_replaced_entry_with_a_recomputed_hash_breaks_the_next_link() {
        let mut lines = chain(4, None);
        lines[1] = chain(4, Some(2))[1].clone();
        assert_eq!(problems(&lines), [ChainProblem::BrokenLink { seq: 3, line: 3 }]);
    }

    #[test]
    fn two_separate_edits_are_both_reported() {
        let mut lines = chain(8, None);
        lines[1] = lines[1].replace("ana", "eve");
        lines[5] = lines[5].replace("ana", "bob");
        assert_eq!(
            problems(&lines),
            [ChainProblem::Edited { seq: 2, line: 2 }, ChainProblem::Edited { seq: 6, line: 6 }]
        );
    }

    #[test]
    fn removal_and_swap_are_told_apart() {
        let mut removed = chain(6, None);
        removed.remove(2);
        assert_eq!(
            problems(&removed),
            [ChainProblem::Removed { expected_seq: 3, found_seq: 4, line: 3 }]
        );
        let mut swapped = chain(6, None);
        swapped.swap(2, 3);
        assert_eq!(
            problems(&swapped),
            [
                ChainProblem::Reordered { expected_seq: 3, found_seq: 4, line: 3 },
                ChainProblem::Reordered { expected_seq: 5, found_seq: 3, line: 4 },
            ]
        );
    }

    #[test]
    fn a_malformed_line_is_reported_once() {
        let mut lines = chain(4, None);
        lines[1] = "garbage\n".into();
        let found = problems(&lines);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(matches!(found[0], ChainProblem::Malformed { line: 2, .. }));
    }

    #[test]
    fn problems_serialize_with_a_tag() {
        let problem = ChainProblem::Removed { expected_seq: 2, found_seq: 3, line: 2 };
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(
            json,
            json!({"problem": "removed", "expected_seq": 2, "found_seq": 3, "line": 2})
        );
    }
}
