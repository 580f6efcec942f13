//! Advisory whole-file locks held for a scope.
//!
//! Appends take the exclusive lock, readers the shared one, so no reader sees a half-written
//! line and no two writers interleave. The locks are advisory (`flock` on Unix, `LockFileEx` on
//! Windows, through `std::fs::File::lock`): they order every process that goes through this
//! crate, and nothing else. They belong to the open file, so two [`crate::AuditLog`] handles in
//! one process exclude each other just as two processes do.

use std::fs::File;
use std::io;

/// A lock on a file, released on drop.
#[derive(Debug)]
pub(crate) struct FileLock<'a>(&'a File);

impl<'a> FileLock<'a> {
    /// Waits for, then holds, the exclusive lock.
    pub(crate) fn exclusive(file: &'a File) -> io::Result<Self> {
        file.lock()?;
        Ok(Self(file))
    }

    /// Waits for, then holds, a shared lock.
    pub(crate) fn shared(file: &'a File) -> io::Result<Self> {
        file.lock_shared()?;
        Ok(Self(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // An unlock that fails leaves the lock to be released when the file is closed, which is
        // the most that can be done here.
        if let Err(err) = self.0.unlock() {
            tracing::warn!(error = %err, "could not release the audit log's file lock");
        }
    }
}
