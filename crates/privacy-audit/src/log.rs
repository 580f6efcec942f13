//! [`AuditLog`]: the appending side of the hash-chained log, and its [`AuditSink`] impl.
//!
//! A handle remembers the last entry it verified (sequence number, hash, file length). Each
//! append takes the file's exclusive lock, verifies whatever other writers appended since, then
//! writes and syncs one line before releasing the lock. The trade-off is one `fsync` per event,
//! paid while other writers wait: the price of never returning a release whose audit entry could
//! still be lost.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use privacy_core::{AuditEvent, AuditSink, CoreError};
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::entry::Body;
use crate::error::AuditError;
use crate::lock::FileLock;
use crate::verify::{walk, Head};

/// Where an appended event landed in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AppendReceipt {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's hash, which the next entry's `prev` will repeat.
    pub hash: String,
}

/// An append-only, hash-chained JSON-lines audit log in one file.
///
/// Safe to share between threads (appends are serialized by a mutex) and between processes
/// (appends are serialized by an advisory file lock, and each writer first verifies what the
/// others appended).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    state: Mutex<State>,
}

/// What one handle knows of the file: the end of the prefix it has verified.
#[derive(Debug)]
struct State {
    file: File,
    head: Head,
    len: u64,
}

impl AuditLog {
    /// Opens the log at `path` for appending, creating an empty one if there is none.
    ///
    /// An existing file is verified from its first line under a shared lock. A broken chain,
    /// or a last line without its newline, is refused with [`AuditError::Chain`]: a damaged log
    /// is evidence, so it is never repaired or trimmed here.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
        require_regular_file(&file)?;
        let walked = {
            let _lock = FileLock::shared(&file)?;
            walk(BufReader::new(&file), Head::genesis())?
        };
        if walked.bytes == 0 {
            sync_parent_dir(path)?;
        }
        let state = State { file, head: walked.head, len: walked.bytes };
        Ok(Self { path: path.to_owned(), state: Mutex::new(state) })
    }

    /// The file this log appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` as the next entry and returns once it is on disk (`sync_data`).
    ///
    /// Only the event's own fields are written, besides the chain fields: never a data value.
    pub fn append(&self, event: &AuditEvent) -> Result<AppendReceipt, AuditError> {
        let event_json = serde_json::to_value(event)?;
        let mut guard = self.lock();
        let State { file, head, len } = &mut *guard;
        let file: &File = file;
        let lock = FileLock::exclusive(file)?;
        catch_up(file, head, len)?;
        // Taken under the lock, so times follow the chain's order as far as the clock allows.
        let time = OffsetDateTime::now_utc().format(&Rfc3339)?;
        let seq = head.seq.checked_add(1).ok_or(AuditError::SequenceExhausted)?;
        let body = Body::new(seq, time, head.hash.clone(), &event_json);
        let hash = body.hash();
        let line = body.line(&hash);
        if line.len() > crate::verify::MAX_LINE_BYTES {
            return Err(AuditError::EntryTooLarge(line.len()));
        }
        write_durably(file, line.as_bytes(), *len)?;
        *head = Head { seq, hash: hash.clone() };
        *len += line.len() as u64;
        drop(lock);
        log_event(&event_json, event, seq);
        Ok(AppendReceipt { seq, hash })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the guard was held leaves `State` describing the last entry written
        // and synced (it is updated only after the sync), or a prefix of the file that
        // `catch_up` extends; either way it is safe to keep using.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: &AuditEvent) -> Result<(), CoreError> {
        self.append(event).map(|_receipt| ()).map_err(CoreError::from)
    }
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
fn catch_up(file: &File, head: &mut Head, len: &mut u64) -> Result<(), AuditError> {
    let found = file.metadata()?.len();
    if found == *len {
        return Ok(());
    }
    if found < *len {
        return Err(AuditError::Shrunk { expected: *len, found });
    }
    let mut reader = file;
    reader.seek(SeekFrom::Start(*len))?;
    let walked = walk(BufReader::new(reader), head.clone())?;
    tracing::debug!(
        from_seq = head.seq,
        to_seq = walked.head.seq,
        "audit log caught up with entries appended by another writer"
    );
    *head = walked.head;
    *len += walked.bytes;
    Ok(())
}

/// Writes one whole line and syncs it. On failure, cuts the file back to `len` so the log
/// still ends with a complete entry; the caller is told the event was not recorded.
fn write_durably(mut file: &File, line: &[u8], len: u64) -> Result<(), AuditError> {
    let Err(err) = file.write_all(line).and_then(|()| file.sync_data()) else {
        return Ok(());
    };
    if let Err(cleanup) = file.set_len(len).and_then(|()| file.sync_data()) {
        // The next open or append will report the torn tail and refuse to go on.
        tracing::error!(error = %cleanup, "could not remove a partly written audit entry");
    }
    Err(err.into())
}

/// Syncs the directory holding a new log, so the file itself survives a crash, not only its
/// contents.
fn sync_parent_dir(path: &Path) -> Result<(), AuditError> {
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

fn log_event(event_json: &Value, event: &AuditEvent, seq: u64) {
    let kind = event_json.get("kind").and_then(Value::as_str).unwrap_or("unknown");
    tracing::info!(
        kind,
        principal = %event.principal,
        dataset = event.dataset.as_deref(),
        seq,
        "audit event recorded"
    );
}
