//! The till's files are its own: card tokens of unconfirmed entries, the journal's key,
//! clerks' PIN hashes, receipts and logs are readable by no other local user. The
//! process starts with umask 077 (every file it makes is 0600, every folder 0700), and
//! at open the folders it keeps data in, and the files it knows, are tightened when an
//! older version (or a hand) left them looser. The doctor names what is still looser.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `umask 077` for this process: called first thing by the CLI and the app.
pub fn restrict_umask() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
}

/// The files beside a SQLite database that hold its data too.
fn with_sqlite_companions(db: &Path) -> Vec<PathBuf> {
    let mut v = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        v.push(PathBuf::from(p));
    }
    v
}

/// What the terminal keeps: folders (the first `made` of them made 0700 when missing;
/// the rest, such as logs and receipts, are made by whoever writes there first) and
/// files.
#[derive(Debug, Clone, Default)]
pub struct Private {
    pub dirs: Vec<PathBuf>,
    pub made: usize,
    pub files: Vec<PathBuf>,
}

impl Private {
    /// The data dir, the journal's folder, receipts, logs; the journal and the clerk
    /// list with their SQLite companions; the training sandbox's state.
    pub fn of(cfg: &crate::config::Config) -> Private {
        let journal = cfg.journal_path();
        let mut dirs = vec![cfg.data_dir.clone()];
        if let Some(d) = journal.parent() {
            dirs.push(d.to_path_buf());
        }
        dirs.push(cfg.receipts_dir.clone());
        dirs.push(cfg.log_dir.clone());
        let mut files = with_sqlite_companions(&journal);
        files.extend(with_sqlite_companions(&journal.with_file_name("clerks.db")));
        if cfg.is_training() {
            let t = cfg.data_dir.join("training");
            for f in ["sandbox.json", "sandbox.lock", "sandbox.addr"] {
                files.push(t.join(f));
            }
        }
        Private {
            made: dirs.len().min(2),
            dirs,
            files,
        }
    }

    /// Makes the folders (0700) and tightens what exists: folders to 0700, files to
    /// 0600, never through a link and only what this user owns (the rest is named by
    /// the doctor).
    pub fn secure(&self) -> std::io::Result<()> {
        for (i, d) in self.dirs.iter().enumerate() {
            if i < self.made && !d.exists() {
                // Made durably: a power cut must not take the data dir with the journal.
                giftpos_journal::durable::create_dir_all(d, 0o700)?;
            }
            tighten(d, 0o700);
        }
        for f in &self.files {
            tighten(f, 0o600);
        }
        // What sits directly in the data dir (archives, exports made there, old files).
        if let Some(data) = self.dirs.first()
            && let Ok(entries) = std::fs::read_dir(data)
        {
            for e in entries.flatten() {
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                tighten(&e.path(), if is_dir { 0o700 } else { 0o600 });
            }
        }
        Ok(())
    }

    /// Every folder or file of these that another local user could read or write:
    /// `(path, mode)`.
    pub fn loose(&self) -> Vec<(PathBuf, u32)> {
        let mut v = Vec::new();
        for p in self.dirs.iter().chain(self.files.iter()) {
            if let Ok(m) = std::fs::symlink_metadata(p)
                && !m.file_type().is_symlink()
                && m.mode() & 0o077 != 0
            {
                v.push((p.clone(), m.mode() & 0o7777));
            }
        }
        v
    }
}

/// Removes group and other bits from `path` (down to `mode`), when it is ours and not a
/// link.
fn tighten(path: &Path, mode: u32) {
    let Ok(m) = std::fs::symlink_metadata(path) else {
        return;
    };
    if m.file_type().is_symlink() || m.uid() != nix::unistd::geteuid().as_raw() {
        return;
    }
    let current = m.mode() & 0o7777;
    if current & 0o077 != 0 {
        let tightened = current & !0o077 & 0o7777 | (mode & 0o700);
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(tightened)) {
            tracing::warn!(path = %path.display(), "cannot make it private: {e}");
        } else {
            tracing::info!(path = %path.display(), from = format!("{current:o}"), to = format!("{tightened:o}"), "made private");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_exists_is_tightened_and_what_is_missing_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = data.join("journal.db");
        std::fs::write(&db, "x").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let stray = data.join("old-export.csv");
        std::fs::write(&stray, "x").unwrap();
        std::fs::set_permissions(&stray, std::fs::Permissions::from_mode(0o664)).unwrap();
        let p = Private {
            dirs: vec![data.clone(), data.join("receipts"), data.join("logs")],
            made: 2,
            files: with_sqlite_companions(&db),
        };
        assert_eq!(p.loose().len(), 2);
        p.secure().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&stray), 0o600);
        assert_eq!(mode(&data.join("receipts")), 0o700);
        assert!(
            !data.join("logs").exists(),
            "made by whoever writes there first"
        );
        assert!(p.loose().is_empty());
    }
}
