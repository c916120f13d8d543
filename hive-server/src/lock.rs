//! One `hive serve` per embedded file.
//!
//! On the embedded default the event feed lives in the serving process's
//! memory (on Redis it is shared), so a second server on the same file
//! would run and accept tasks whose events the first one's `/ws/events`
//! never shows. Rather than let two such servers drift apart silently, the
//! first one holds an exclusive lock on `<db>.lock` for as long as it
//! serves, and a second one is refused with a message naming the file and
//! the holder. The lock is the kernel's (`flock`), so a killed server
//! leaves nothing behind that blocks the next one. With Redis the feed
//! crosses processes and no lock is taken. Other programs opening the file
//! (the Python package, a Rust program) are not refused: they do not
//! serve the feed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held while this process serves the embedded file; dropping it lets the
/// next server in.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
    path: PathBuf,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another server holds it.
    #[error(
        "another `hive serve`{holder} already serves {}: two servers on one embedded file \
         would not see each other's events. Stop it, give this one another --db, or share \
         a hive between servers through Redis (--redis)",
        db.display()
    )]
    Held {
        /// The embedded file.
        db: PathBuf,
        /// ` (pid N)` when the holder wrote its pid.
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl ServeLock {
    /// The lock file of `db`: `<db>.lock` beside it.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock of `db` for this process, writing its pid in the
    /// file for the message a second server gets.
    ///
    /// # Errors
    /// [`LockError::Held`] when another process holds it;
    /// [`LockError::Io`] when the file cannot be opened.
    pub fn acquire(db: &Path) -> Result<ServeLock, LockError> {
        let path = Self::path_for(db);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let holder = if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                };
                return Err(LockError::Held {
                    db: db.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(ServeLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("hive.db");
        let first = ServeLock::acquire(&db).expect("first");
        assert_eq!(first.path(), dir.path().join("hive.db.lock"));
        let err = ServeLock::acquire(&db).expect_err("second");
        let message = err.to_string();
        assert!(
            matches!(err, LockError::Held { .. })
                && message.contains(&format!("(pid {})", std::process::id()))
                && message.contains("hive.db")
                && message.contains("--redis"),
            "{message}"
        );
        drop(first);
        let again = ServeLock::acquire(&db).expect("free again");
        drop(again);
    }

    #[test]
    fn a_lock_file_that_cannot_be_made_is_named() {
        let err = ServeLock::acquire(Path::new("/nonexistent-dir/hive.db")).expect_err("no dir");
        assert!(
            matches!(err, LockError::Io { .. })
                && err.to_string().contains("/nonexistent-dir/hive.db.lock"),
            "{err}"
        );
    }
}
