//! Logs: a human form on stderr, and JSON lines in a daily-rotated file under the data
//! dir (`logs/giftpos.log.YYYY-MM-DD`, the last 14 kept) for IT and support. Started by
//! systemd with stderr going to the journal, logs go to journald instead, each field its
//! own journal field, `GIFTPOS_`-prefixed (`journalctl -o json SYSLOG_IDENTIFIER=giftpos`). The level
//! comes from `GIFTPOS_LOG` or `[logging] level`. Nothing logged carries a PIN, a full
//! card token or a secret: those types print redacted, and spans carry operation names
//! and statuses only.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the file writer flushing; hold it for as long as the process logs.
#[derive(Debug)]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
    /// Where the JSON log goes, if the file could be opened.
    pub dir: Option<PathBuf>,
}

/// Starts logging. `stderr_level` is for the human form (a CLI keeps it quiet); the file
/// gets `file_level`. A log folder that cannot be created leaves only stderr, with a
/// warning — logging never stops the terminal.
pub fn init(log_dir: &Path, file_level: &str, stderr_level: &str) -> LogGuard {
    let file_filter =
        EnvFilter::try_from_env("GIFTPOS_LOG").unwrap_or_else(|_| EnvFilter::new(file_level));
    if stderr_is_journal() {
        match tracing_journald::layer() {
            Ok(journal) => {
                // One identifier for the app and the command; our fields as GIFTPOS_*.
                let journal = journal
                    .with_syslog_identifier("giftpos".into())
                    .with_field_prefix(Some("GIFTPOS".into()));
                let _ = tracing_subscriber::registry()
                    .with(journal.with_filter(file_filter))
                    .try_init();
                return LogGuard {
                    _file: None,
                    dir: None,
                };
            }
            Err(e) => eprintln!("giftpos: journald not reachable ({e}); logging to a file"),
        }
    }
    let stderr_filter =
        EnvFilter::try_from_env("GIFTPOS_LOG").unwrap_or_else(|_| EnvFilter::new(stderr_level));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(stderr_filter);
    let file = giftpos_journal::durable::create_dir_all(log_dir, 0o700)
        .ok()
        .and_then(|_| {
            tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("giftpos.log")
                .max_log_files(14)
                .build(log_dir)
                .ok()
        });
    match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let json = tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_writer(writer)
                .with_filter(file_filter);
            let _ = tracing_subscriber::registry()
                .with(stderr)
                .with(json)
                .try_init();
            LogGuard {
                _file: Some(guard),
                dir: Some(log_dir.to_path_buf()),
            }
        }
        None => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            tracing::warn!(dir = %log_dir.display(), "cannot write the log folder; logging to stderr only");
            LogGuard {
                _file: None,
                dir: None,
            }
        }
    }
}

use tracing_subscriber::Layer as _;

/// Whether stderr is the journal: systemd names the stream it connected in
/// `JOURNAL_STREAM` (`<device>:<inode>`), and only that stream counts (a child whose
/// stderr was redirected elsewhere keeps its own).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some((dev, ino)) = std::env::var("JOURNAL_STREAM").ok().and_then(|v| {
        v.split_once(':')
            .map(|(d, i)| (d.to_string(), i.to_string()))
    }) else {
        return false;
    };
    match std::fs::metadata("/proc/self/fd/2") {
        Ok(m) => dev.parse() == Ok(m.dev()) && ino.parse() == Ok(m.ino()),
        Err(_) => false,
    }
}
