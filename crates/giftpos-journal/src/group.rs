//! Group commit. A commit that must be durable is written without a sync of its own
//! (`synchronous=NORMAL`) and then waits for an fsync of the write-ahead log that
//! started after it: one such fsync makes every commit written before it durable (the
//! log is one sequential file), so the commits of 64 answers arriving together cost one
//! fsync, not 64 — and a single commit still costs exactly one. Nothing returns before
//! its own commit is on the disk: the write-ahead rule holds for every entry.
//!
//! A failed fsync is final for this journal: Linux reports a write-back error once (the
//! pages it could not write are dropped, not retried), so a later fsync that succeeds
//! proves nothing about earlier commits. After one, every durable write fails, naming the
//! first error, until the journal is opened again (and SQLite recovers the log).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Debug)]
pub(crate) struct GroupSync {
    wal: PathBuf,
    dir: PathBuf,
    /// Commits written so far (numbered from 1).
    written: AtomicU64,
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Every commit up to this number is durable.
    synced: u64,
    /// An fsync is under way (the others wait for it, then maybe start the next).
    running: bool,
    /// The log file last synced: a new one (made after the last connection closed) needs
    /// its folder synced too, or its name could be lost.
    wal_ino: Option<u64>,
    /// The first sync that failed: nothing is durable after it.
    failed: Option<String>,
}

impl GroupSync {
    pub(crate) fn new(journal: &Path) -> GroupSync {
        // SQLite names the log after the file a link points to.
        let journal = std::fs::canonicalize(journal).unwrap_or_else(|_| journal.to_path_buf());
        let journal = journal.as_path();
        let mut wal = journal.as_os_str().to_owned();
        wal.push("-wal");
        GroupSync {
            wal: PathBuf::from(wal),
            dir: journal
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
            written: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            done: Condvar::new(),
        }
    }

    /// A commit was written (call after it returns): its number, for [`GroupSync::wait`].
    pub(crate) fn written(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// At open: syncs the log (when SQLite has made it) and its folder, so the first
    /// durable write does not pay for the folder.
    pub(crate) fn prime(&self) -> std::io::Result<()> {
        if !self.wal.exists() {
            return Ok(());
        }
        let ino = self.sync(None)?;
        self.state().wal_ino = Some(ino);
        Ok(())
    }

    /// Commits written so far: waiting for this number makes all of them durable.
    pub(crate) fn current(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once commit `n` is durable: after an fsync of the log that started after
    /// it was written — this thread's, or one another thread started.
    pub(crate) fn wait(&self, n: u64) -> std::io::Result<()> {
        let mut s = self.state();
        loop {
            if let Some(e) = &s.failed {
                return Err(std::io::Error::other(format!(
                    "an earlier sync of the journal failed ({e}); nothing more is durable until it is opened again"
                )));
            }
            if s.synced >= n {
                return Ok(());
            }
            if !s.running {
                s.running = true;
                // Every commit numbered up to here was written before this fsync starts.
                let target = self.written.load(Ordering::SeqCst);
                let known = s.wal_ino;
                drop(s);
                let r = self.sync(known);
                s = self.state();
                s.running = false;
                self.done.notify_all();
                match r {
                    Ok(ino) => {
                        s.synced = s.synced.max(target);
                        s.wal_ino = Some(ino);
                    }
                    Err(e) => {
                        s.failed = Some(e.to_string());
                        return Err(e);
                    }
                }
            } else {
                s = self.done.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        }
    }

    /// Marks the journal as not durable from now on (a setting that could not be put
    /// back, say): every durable write fails, naming `why`.
    pub(crate) fn fail(&self, why: String) {
        let mut s = self.state();
        s.failed.get_or_insert(why);
    }

    /// `Err` once a sync failed (see [`GroupSync::fail`]).
    pub(crate) fn check(&self) -> std::io::Result<()> {
        match &self.state().failed {
            Some(e) => Err(std::io::Error::other(format!(
                "an earlier sync of the journal failed ({e}); nothing more is durable until it is opened again"
            ))),
            None => Ok(()),
        }
    }

    fn sync(&self, known: Option<u64>) -> std::io::Result<u64> {
        let f = std::fs::File::open(&self.wal)?;
        f.sync_data()?;
        let ino = f.metadata()?.ino();
        if known != Some(ino) {
            crate::durable::sync_dir(&self.dir)?;
        }
        Ok(ino)
    }
}

#[cfg(test)]
mod tests {
    use super::GroupSync;

    #[test]
    fn a_failed_sync_is_final() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("journal.db");
        std::fs::write(&db, b"").unwrap();
        let g = GroupSync::new(&db);
        // No log to sync: the sync fails…
        let n = g.written();
        assert!(g.wait(n).is_err());
        // …and a later one that could succeed does not make up for it.
        std::fs::write(dir.path().join("journal.db-wal"), b"frames").unwrap();
        let n = g.written();
        let e = g.wait(n).unwrap_err().to_string();
        assert!(e.contains("an earlier sync of the journal failed"), "{e}");
    }

    #[test]
    fn commits_from_many_threads_all_become_durable() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("journal.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::write(dir.path().join("journal.db-wal"), b"frames").unwrap();
        let g = GroupSync::new(&db);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    for _ in 0..20 {
                        let n = g.written();
                        g.wait(n).unwrap();
                    }
                });
            }
        });
        assert_eq!(g.state().synced, 16 * 20);
    }
}
