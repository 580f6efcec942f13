//! [`AuditLog`]: the appending side of the log, with group commit and signed checkpoints, and
//! its [`AuditSink`] impl.
//!
//! A handle remembers the end of the prefix it has verified: sequence number, chain hash, Merkle
//! frontier and file length. Appends are **group-committed**: each caller queues its events;
//! if no group is being written, it becomes the writer and writes every queued event (its own
//! and those of everyone waiting) in one `write` and one `fdatasync`, then hands each caller its
//! receipts and wakes them; callers that queued meanwhile wait on a condition variable and form
//! the next group. So one thread appending alone pays one sync per call (one write, one sync, no
//! re-reading of the file), and many threads appending at once share syncs, with no timer and
//! no added latency. Under the I/O lock the writer takes the file's
//! exclusive advisory lock and first verifies whatever other processes appended, so several
//! processes can share one log.
//!
//! When a signing key is configured, a checkpoint is signed and appended to the checkpoint file
//! every `checkpoint_every` entries or `checkpoint_interval` of time (whichever comes first,
//! checked at each append), and on [`AuditLog::close`] (or drop). The trade-off of checkpointing
//! at appends rather than on a timer thread: an idle log is not re-signed, which is harmless,
//! since nothing changed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use privacy_core::{AuditEvent, AuditEventKind, AuditSink, CoreError};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::checkpoint::{
    append_checkpoint, default_checkpoint_path, is_single_line_text, latest_checkpoint, Checkpoint,
};
use crate::entry::{new_entry, write_canonical};
use crate::error::AuditError;
use crate::keys::AuditSigningKey;
use crate::lock::FileLock;
use crate::merkle::Frontier;
use crate::verify::{walk, ChainProblem, Head, MAX_LINE_BYTES};

/// Where an appended event landed in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AppendReceipt {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's hash, which the next entry's `prev` will repeat.
    pub hash: String,
}

/// How an [`AuditLog`] signs checkpoints. Without a signing key no checkpoint is written.
#[derive(Clone, Debug)]
pub struct AuditLogOptions {
    signing_key: Option<Arc<AuditSigningKey>>,
    checkpoint_every: u64,
    checkpoint_interval: Option<Duration>,
    checkpoint_path: Option<PathBuf>,
    origin: String,
}

impl Default for AuditLogOptions {
    fn default() -> Self {
        Self {
            signing_key: None,
            checkpoint_every: 1000,
            checkpoint_interval: Some(Duration::from_secs(300)),
            checkpoint_path: None,
            origin: "medi-privacy/audit".to_owned(),
        }
    }
}

impl AuditLogOptions {
    /// Signs checkpoints with `key`.
    pub fn signing_key(mut self, key: AuditSigningKey) -> Self {
        self.signing_key = Some(Arc::new(key));
        self
    }

    /// A checkpoint at least every `entries` entries (default 1000).
    pub fn checkpoint_every(mut self, entries: u64) -> Result<Self, AuditError> {
        if entries == 0 {
            return Err(AuditError::InvalidOption("the checkpoint interval must be > 0 entries"));
        }
        self.checkpoint_every = entries;
        Ok(self)
    }

    /// A checkpoint at the first append after `interval` has passed since the last one
    /// (default five minutes); `None` for entry counts only.
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Where checkpoints go (default: the log's path with `.checkpoints` appended).
    pub fn checkpoint_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint_path = Some(path.into());
        self
    }

    /// The log's name in its checkpoints (default `medi-privacy/audit`).
    pub fn origin(mut self, origin: impl Into<String>) -> Result<Self, AuditError> {
        let origin = origin.into();
        if !is_single_line_text(&origin) {
            return Err(AuditError::InvalidOption(
                "the origin must be 1 to 256 bytes without control characters",
            ));
        }
        self.origin = origin;
        Ok(self)
    }
}

/// An append-only, hash-chained, Merkle-tree JSON-lines audit log in one file.
///
/// Safe to share between threads (appends are group-committed) and between processes (appends
/// are serialized by an advisory file lock, and each writer first verifies what the others
/// appended).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    checkpoint_path: PathBuf,
    options: AuditLogOptions,
    queue: Mutex<Queue>,
    /// Signalled when a group commit ends.
    committed: Condvar,
    io: Mutex<State>,
}

/// Events waiting for a group commit, and the results of those already written.
#[derive(Debug, Default)]
struct Queue {
    next_ticket: u64,
    /// Whether a caller is writing a group commit now.
    writing: bool,
    pending: Vec<(u64, Vec<Prepared>)>,
    done: HashMap<u64, Result<Vec<AppendReceipt>, AuditError>>,
}

/// The caller writing a group commit. Dropping it ends the group: it publishes results (on a
/// panic while writing, an error for every ticket of the group, so no caller waits forever),
/// clears the writing flag and wakes every waiter.
struct Leader<'a> {
    log: &'a AuditLog,
    tickets: Vec<u64>,
}

impl Leader<'_> {
    fn publish(&mut self, results: Vec<(u64, Result<Vec<AppendReceipt>, AuditError>)>) {
        let mut queue = self.log.queue();
        self.tickets.clear();
        queue.done.extend(results);
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut queue = self.log.queue();
        for ticket in self.tickets.drain(..) {
            let error = std::io::Error::other("the thread writing this group commit panicked");
            queue.done.insert(ticket, Err(AuditError::Io(error)));
        }
        queue.writing = false;
        drop(queue);
        self.log.committed.notify_all();
    }
}

/// An event checked and serialized, ready to be chained.
#[derive(Debug)]
struct Prepared {
    json: String,
    kind: Value,
    principal: String,
    dataset: Option<String>,
    mechanism: Option<String>,
    reason_code: Option<String>,
    guarantee: Option<privacy_core::GuaranteeRecord>,
}

/// What one handle knows of the file: the end of the prefix it has verified.
#[derive(Debug)]
struct State {
    file: File,
    tip: Tip,
    marks: Marks,
    closed: bool,
}

/// The end of the verified prefix.
#[derive(Clone, Debug)]
struct Tip {
    head: Head,
    frontier: Frontier,
    len: u64,
}

/// The size of the latest checkpoint known, and when this handle last signed (or opened).
#[derive(Debug)]
struct Marks {
    checkpointed: u64,
    since: Instant,
}

impl AuditLog {
    /// Opens the log at `path` for appending, creating an empty one if there is none, without
    /// signing checkpoints.
    ///
    /// An existing file is verified from its first line under a shared lock. A broken chain,
    /// or a last line without its newline, is refused with [`AuditError::Chain`]: a damaged log
    /// is evidence, so it is never repaired or trimmed here (see [`AuditLog::recover`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        Self::open_with(path, AuditLogOptions::default())
    }

    /// Opens the log at `path` with `options`.
    // FIXME: opening verifies the whole log, so every command pays one verification of it
    // (about 1.9 s of CPU per million entries, see benches/RESULTS-audit.md); a tip (size, last
    // hash, Merkle frontier) persisted with each checkpoint and checked against the signed
    // checkpoint would let a writer resume from there and verify only the lines after it.
    pub fn open_with(path: impl AsRef<Path>, options: AuditLogOptions) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
        require_regular_file(&file)?;
        let walked = {
            let _lock = FileLock::shared(&file)?;
            walk(BufReader::with_capacity(1 << 20, &file), Head::genesis(), Frontier::new())?
        };
        if walked.bytes == 0 {
            sync_parent_dir(path)?;
        }
        let checkpoint_path =
            options.checkpoint_path.clone().unwrap_or_else(|| default_checkpoint_path(path));
        let checkpointed = if options.signing_key.is_some() {
            latest_checkpoint(&checkpoint_path)?.map_or(0, |c| c.size)
        } else {
            0
        };
        let tip = Tip { head: walked.head, frontier: walked.frontier, len: walked.bytes };
        let marks = Marks { checkpointed, since: Instant::now() };
        let state = State { file, tip, marks, closed: false };
        Ok(Self {
            path: path.to_owned(),
            checkpoint_path,
            options,
            queue: Mutex::new(Queue::default()),
            committed: Condvar::new(),
            io: Mutex::new(state),
        })
    }

    /// The file this log appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file its checkpoints go to.
    pub fn checkpoint_path(&self) -> &Path {
        &self.checkpoint_path
    }

    /// Appends `event` as the next entry and returns once it is on disk (`fsync`).
    ///
    /// Only the event's own fields are written, besides the chain fields, and only after the
    /// [`crate::safeguard`] rules pass.
    pub fn append(&self, event: &AuditEvent) -> Result<AppendReceipt, AuditError> {
        let receipts = self.submit(vec![prepare(event)?])?;
        receipts.into_iter().next().ok_or(AuditError::SequenceExhausted)
    }

    /// Appends `events` as consecutive entries with one write and one sync: all or none.
    pub fn append_batch(&self, events: &[AuditEvent]) -> Result<Vec<AppendReceipt>, AuditError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = events.iter().map(prepare).collect::<Result<Vec<_>, _>>()?;
        self.submit(prepared)
    }

    /// Queues `events`, then either finds them written by another caller's group commit or
    /// writes everything queued itself.
    ///
    /// The queue lock (never held during I/O) decides: if no group commit is under way, this
    /// caller becomes the writer, takes everything queued, writes and syncs it under the I/O
    /// lock, publishes the others' results and wakes them; otherwise it waits on the condition
    /// variable until its result is published or the writer is done (then it may lead the next
    /// group). So a caller whose events were written returns as soon as their sync completes,
    /// without waiting for the next group's sync, and everyone who queued during one sync shares
    /// the next.
    fn submit(&self, events: Vec<Prepared>) -> Result<Vec<AppendReceipt>, AuditError> {
        let mut queue = self.queue();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.pending.push((ticket, events));
        loop {
            if let Some(result) = queue.done.remove(&ticket) {
                return result;
            }
            if queue.writing {
                queue = self.committed.wait(queue).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            queue.writing = true;
            let batch = std::mem::take(&mut queue.pending);
            drop(queue);
            let mut leader = Leader { log: self, tickets: batch.iter().map(|(t, _)| *t).collect() };
            let (mine, others) = {
                let mut state = self.state();
                self.commit(&mut state, batch, ticket)
            };
            leader.publish(others);
            return mine;
        }
    }

    /// Writes one group of submissions; returns the result for `ticket` and for the others.
    #[allow(clippy::type_complexity, reason = "a private pair of results, used once")]
    fn commit(
        &self,
        state: &mut State,
        batch: Vec<(u64, Vec<Prepared>)>,
        ticket: u64,
    ) -> (Result<Vec<AppendReceipt>, AuditError>, Vec<(u64, Result<Vec<AppendReceipt>, AuditError>)>)
    {
        let written = self.write_group(state, &batch);
        let mut mine = Err(AuditError::SequenceExhausted);
        let mut others = Vec::with_capacity(batch.len());
        match written {
            Ok(mut receipts) => {
                for (t, events) in batch.iter().rev() {
                    let theirs = receipts.split_off(receipts.len() - events.len());
                    if *t == ticket {
                        mine = Ok(theirs);
                    } else {
                        others.push((*t, Ok(theirs)));
                    }
                }
                batch.iter().flat_map(|(_, e)| e).for_each(trace_event);
            }
            Err(error) => {
                for (t, _) in &batch {
                    if *t == ticket {
                        mine = Err(error.replicate());
                    } else {
                        others.push((*t, Err(error.replicate())));
                    }
                }
            }
        }
        (mine, others)
    }

    /// Chains, writes and syncs every event of `batch`, then signs a checkpoint if one is due.
    fn write_group(
        &self,
        state: &mut State,
        batch: &[(u64, Vec<Prepared>)],
    ) -> Result<Vec<AppendReceipt>, AuditError> {
        let State { file, tip, marks, .. } = state;
        let file: &File = file;
        let _lock = FileLock::exclusive(file)?;
        catch_up(file, tip)?;
        let time = now()?;
        let mut bytes = String::new();
        let mut receipts = Vec::new();
        let (mut next_head, mut next_frontier) = (tip.head.clone(), tip.frontier.clone());
        for event in batch.iter().flat_map(|(_, events)| events) {
            let seq = next_head.seq.checked_add(1).ok_or(AuditError::SequenceExhausted)?;
            let entry = new_entry(seq, &time, &next_head.hash, &event.json);
            if entry.line.len() > MAX_LINE_BYTES {
                return Err(AuditError::EntryTooLarge(entry.line.len()));
            }
            next_frontier.push(crate::merkle::leaf_hash(entry.line.trim_end().as_bytes()));
            receipts.push(AppendReceipt { seq, hash: hex::encode(entry.hash) });
            bytes.push_str(&entry.line);
            next_head = Head { seq, hash: entry.hash };
        }
        write_durably(file, bytes.as_bytes(), tip.len)?;
        *tip = Tip { head: next_head, frontier: next_frontier, len: tip.len + bytes.len() as u64 };
        self.checkpoint_if_due(tip, marks, &time);
        Ok(receipts)
    }

    /// Signs a checkpoint when enough entries or time have passed; a failure is logged and
    /// retried at the next append (the entries themselves are already durable).
    fn checkpoint_if_due(&self, tip: &Tip, marks: &mut Marks, time: &str) {
        let Some(key) = &self.options.signing_key else { return };
        let unsigned = tip.head.seq.saturating_sub(marks.checkpointed);
        let entries_due = unsigned >= self.options.checkpoint_every;
        let time_due = unsigned > 0
            && self.options.checkpoint_interval.is_some_and(|i| marks.since.elapsed() >= i);
        if !(entries_due || time_due) {
            return;
        }
        if let Err(error) = self.sign_checkpoint(key, tip, marks, time.to_owned()) {
            tracing::error!(%error, size = tip.head.seq, "could not write an audit checkpoint");
        }
    }

    fn sign_checkpoint(
        &self,
        key: &AuditSigningKey,
        tip: &Tip,
        marks: &mut Marks,
        time: String,
    ) -> Result<Checkpoint, AuditError> {
        let (origin, size) = (&self.options.origin, tip.head.seq);
        let root = tip.frontier.root();
        let checkpoint = Checkpoint::sign(key, origin, size, &root, &tip.head.hash, time);
        append_checkpoint(&self.checkpoint_path, &checkpoint)?;
        *marks = Marks { checkpointed: size, since: Instant::now() };
        tracing::info!(
            size = checkpoint.size,
            root = %checkpoint.root,
            key = %checkpoint.key,
            "audit checkpoint signed"
        );
        Ok(checkpoint)
    }

    /// Signs a checkpoint of the log as it is now (after catching up with other writers), even
    /// if one of the same size exists. Fails without a signing key.
    pub fn checkpoint_now(&self) -> Result<Checkpoint, AuditError> {
        let key = self.options.signing_key.clone().ok_or(AuditError::Key("no signing key"))?;
        let mut state = self.state();
        let State { file, tip, marks, .. } = &mut *state;
        let file: &File = file;
        let _lock = FileLock::exclusive(file)?;
        catch_up(file, tip)?;
        self.sign_checkpoint(&key, tip, marks, now()?)
    }

    /// Closes the log, signing a final checkpoint if a key is configured and entries were
    /// added since the last one. Returns that checkpoint.
    pub fn close(self) -> Result<Option<Checkpoint>, AuditError> {
        self.close_inner()
    }

    fn close_inner(&self) -> Result<Option<Checkpoint>, AuditError> {
        let mut state = self.state();
        if state.closed {
            return Ok(None);
        }
        state.closed = true;
        let Some(key) = self.options.signing_key.clone() else { return Ok(None) };
        let State { file, tip, marks, .. } = &mut *state;
        let file: &File = file;
        let _lock = FileLock::exclusive(file)?;
        catch_up(file, tip)?;
        if tip.head.seq <= marks.checkpointed {
            return Ok(None);
        }
        self.sign_checkpoint(&key, tip, marks, now()?).map(Some)
    }

    /// After a crash left a torn last line: moves those bytes, unchanged, to a new file beside
    /// the log (`<log>.torn-<offset>`), cuts the log back to its last complete entry, and
    /// appends a [`AuditEventKind::LogMaintenance`] entry recording the length and SHA-256 of
    /// what was moved. Refuses any other damage. Returns the file the bytes went to, or `None`
    /// when the log had no torn line.
    ///
    /// Nothing is ever dropped: the torn bytes are an entry whose write was never confirmed
    /// (its operation was not reported done), kept as evidence.
    pub fn recover(
        path: impl AsRef<Path>,
        principal: &str,
        options: AuditLogOptions,
    ) -> Result<Option<PathBuf>, AuditError> {
        let path = path.as_ref();
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        require_regular_file(&file)?;
        let saved = {
            let _lock = FileLock::exclusive(&file)?;
            let walked = walk(BufReader::new(&file), Head::genesis(), Frontier::new());
            match walked {
                Ok(_) => return Ok(None),
                Err(AuditError::Chain(ChainProblem::TornTail { .. })) => {
                    set_aside_tail(&file, path)?
                }
                Err(other) => return Err(other),
            }
        };
        let (target, bytes, digest) = saved;
        let log = Self::open_with(path, options)?;
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let event = AuditEvent::new(AuditEventKind::LogMaintenance, principal)
            .with_detail("action", "torn_tail_set_aside")
            .with_detail("torn_bytes", bytes)
            .with_detail("torn_sha256", digest)
            .with_detail("moved_to", name.unwrap_or_default());
        log.append(&event)?;
        log.close()?;
        Ok(Some(target))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the guard was held leaves `State` describing the last entry written
        // and synced (it is updated only after the sync), or a prefix of the file that
        // `catch_up` extends; either way it is safe to keep using.
        self.io.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // The queue is only pushed to and drained; a panic cannot leave it half-changed.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Err(error) = self.close_inner() {
            tracing::error!(%error, "could not sign the closing audit checkpoint");
        }
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: &AuditEvent) -> Result<(), CoreError> {
        self.append(event).map(|_receipt| ()).map_err(CoreError::from)
    }
}

/// Checks the event against the safeguards and serializes it canonically.
fn prepare(event: &AuditEvent) -> Result<Prepared, AuditError> {
    crate::safeguard::check_event(event)?;
    let value = serde_json::to_value(event)?;
    let mut json = String::new();
    write_canonical(&value, &mut json);
    // The chain fields add well under 300 bytes.
    if json.len() + 300 > MAX_LINE_BYTES {
        return Err(AuditError::EntryTooLarge(json.len() + 300));
    }
    let detail = |key: &str| event.details.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(Prepared {
        kind: value.get("kind").cloned().unwrap_or(Value::Null),
        json,
        principal: event.principal.clone(),
        dataset: event.dataset.clone(),
        mechanism: detail("mechanism"),
        reason_code: detail("reason_code"),
        guarantee: event.guarantee.clone(),
    })
}

/// Emits the recorded event as a `tracing` event with structured fields: metadata only (kind,
/// principal, dataset, mechanism, guarantee, refusal code), never released values or details.
fn trace_event(event: &Prepared) {
    let guarantee = event.guarantee.as_ref();
    tracing::info!(
        target: "medi_privacy::audit",
        kind = event.kind.as_str().unwrap_or("unknown"),
        principal = %event.principal,
        dataset = event.dataset.as_deref(),
        mechanism = event.mechanism.as_deref(),
        reason_code = event.reason_code.as_deref(),
        guarantee = guarantee.map(|g| g.kind.as_str()),
        epsilon = guarantee.and_then(|g| g.epsilon.as_deref()),
        delta = guarantee.and_then(|g| g.delta.as_deref()),
        rho = guarantee.and_then(|g| g.rho.as_deref()),
        "audit event recorded"
    );
}

fn now() -> Result<String, AuditError> {
    OffsetDateTime::now_utc().format(&Rfc3339).map_err(|_| AuditError::Clock)
}

/// Refuses devices, pipes and directories: a log is a regular file, and reading `/dev/zero` as
/// one would never end.
pub(crate) fn require_regular_file(file: &File) -> Result<(), AuditError> {
    if file.metadata()?.is_file() {
        Ok(())
    } else {
        Err(AuditError::NotARegularFile)
    }
}

/// Verifies and adopts whatever other writers appended after the prefix this handle knows.
/// Runs under the exclusive lock, so the file cannot grow meanwhile.
fn catch_up(file: &File, tip: &mut Tip) -> Result<(), AuditError> {
    let found = file.metadata()?.len();
    if found == tip.len {
        return Ok(());
    }
    if found < tip.len {
        return Err(AuditError::Shrunk { expected: tip.len, found });
    }
    let mut reader = file;
    reader.seek(SeekFrom::Start(tip.len))?;
    let walked = walk(BufReader::new(reader), tip.head.clone(), tip.frontier.clone())?;
    tracing::debug!(
        from_seq = tip.head.seq,
        to_seq = walked.head.seq,
        "audit log caught up with entries appended by another writer"
    );
    *tip = Tip { head: walked.head, frontier: walked.frontier, len: tip.len + walked.bytes };
    Ok(())
}

/// Writes whole lines and syncs them. On failure, cuts the file back to `len` so the log
/// still ends with a complete entry; the caller is told the events were not recorded.
fn write_durably(mut file: &File, lines: &[u8], len: u64) -> Result<(), AuditError> {
    let Err(err) = file.write_all(lines).and_then(|()| file.sync_data()) else {
        return Ok(());
    };
    if let Err(cleanup) = file.set_len(len).and_then(|()| file.sync_data()) {
        // The next open or append will report the torn tail and refuse to go on.
        tracing::error!(error = %cleanup, "could not remove a partly written audit entry");
    }
    Err(err.into())
}

/// Copies the bytes after the last newline to a new file, syncs it, then cuts them from the
/// log. Returns the new file, how many bytes it holds and their SHA-256.
fn set_aside_tail(mut file: &File, path: &Path) -> Result<(PathBuf, u64, String), AuditError> {
    let total = file.metadata()?.len();
    let mut content = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut content)?;
    let keep = content.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let torn = &content[keep..];
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".torn-{keep}"));
    let target = PathBuf::from(name);
    let mut out = OpenOptions::new().write(true).create_new(true).open(&target)?;
    out.write_all(torn)?;
    out.sync_all()?;
    sync_parent_dir(&target)?;
    file.set_len(keep as u64)?;
    file.sync_all()?;
    tracing::warn!(torn_bytes = total - keep as u64, "torn audit tail moved aside");
    Ok((target, torn.len() as u64, hex::encode(Sha256::digest(torn))))
}

/// Syncs the directory holding a new file, so the file itself survives a crash, not only its
/// contents.
pub(crate) fn sync_parent_dir(path: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        File::open(parent.unwrap_or(Path::new(".")))?.sync_all()?;
    }
    #[cfg(not(unix))]
    {
        // FIXME: directories cannot be opened as files here, so the creation of a new log is
        // not synced; sync it through the platform's own API.
        let _ = path;
    }
    Ok(())
}
