//! `giftpos doctor`: checks what a till needs, each with a fix when it fails.

use std::path::Path;

use serde::Serialize;

use crate::config::{Config, ConfigError, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
    Skipped,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: CheckStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: CheckStatus::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub(crate) fn warn(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name,
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn fail(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name,
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn skipped(name: &'static str, why: &str) -> Check {
        Check {
            name,
            status: CheckStatus::Skipped,
            detail: why.into(),
            fix: None,
        }
    }
}

/// Every check, in order.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub training: bool,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// Free space below which the data dir fails the check, and below which it warns.
const MIN_FREE: u64 = 16 << 20;
const WARN_FREE: u64 = 256 << 20;
/// Clock skew against Dintero that warns, and that fails.
pub(crate) const WARN_SKEW_SECS: i64 = 30;
pub(crate) const MAX_SKEW_SECS: i64 = 300;

/// The journal's hash chain: edited, removed or reordered entries.
pub(crate) fn check_journal(cfg: &Config) -> Check {
    let path = cfg.journal_path();
    if !path.exists() {
        return Check::ok("journal", format!("{} (not created yet)", path.display()));
    }
    journal_verified(
        &path,
        giftpos_journal::Journal::open(&path, &cfg.terminal_id).and_then(|j| j.verify()),
    )
}

/// The journal check from a verification (of the open journal, or of the file).
pub(crate) fn journal_verified(
    path: &Path,
    verified: Result<giftpos_journal::VerifyReport, giftpos_journal::JournalError>,
) -> Check {
    let fix = "Do not delete or edit the journal: keep a copy and call support (`giftpos journal verify` shows the problems).";
    match verified {
        Ok(r) if r.ok => Check::ok(
            "journal",
            format!(
                "{}: {} entries, hash chain intact",
                path.display(),
                r.entries
            ),
        ),
        Ok(r) => Check::fail(
            "journal",
            format!(
                "{}: {} problem(s): {}",
                path.display(),
                r.problems.len(),
                r.problems
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            fix,
        ),
        Err(e) => Check::fail("journal", format!("{}: {e}", path.display()), fix),
    }
}

/// The report when the configuration cannot be read: that, and every other check
/// skipped.
pub(crate) fn config_failed(e: &ConfigError) -> DoctorReport {
    let mut checks = vec![Check::fail(
        "config",
        e.to_string(),
        "Correct the file or variable named; `giftpos --help` lists the keys.",
    )];
    for name in [
        "credentials",
        "data_dir",
        "journal",
        "scanner",
        "printer",
        "api_reachable",
        "token",
        "checkout_token",
        "dintero_answers",
        "payments",
        "clock",
    ] {
        checks.push(Check::skipped(name, "the configuration could not be read"));
    }
    finish(false, checks)
}

/// The checks that need no Dintero: the configuration, the credentials, the data dir,
/// the journal (`journal`: from the open journal, or from the file when the terminal
/// could not open), the scanner and the printer.
pub(crate) fn local_checks(cfg: &Config, journal: Check) -> Vec<Check> {
    let mut checks = Vec::new();
    let files = if cfg.files.is_empty() {
        "no config file; defaults and environment".to_string()
    } else {
        cfg.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let retired: Vec<&str> = ["update.install_command", "update.stage_dir"]
        .into_iter()
        .filter(|k| cfg.origins.contains_key(*k))
        .collect();
    checks.push(if retired.is_empty() {
        Check::ok(
            "config",
            format!("terminal {} ({}): {files}", cfg.terminal_id, cfg.store_name),
        )
    } else {
        Check::warn(
            "config",
            format!(
                "terminal {} ({}): {files}; {} retired and ignored",
                cfg.terminal_id,
                cfg.store_name,
                retired.join(", ")
            ),
            "Remove them: root's giftpos-update.timer installs updates from [update] endpoint.",
        )
    });
    checks.push(match &cfg.mode {
        Mode::Live {
            account_id,
            client_id,
            secret_source,
            ..
        } => Check::ok(
            "credentials",
            format!(
                "client {client_id} for account {account_id} ({}), secret from {secret_source}",
                if account_id.is_test() { "test" } else { "production" }
            ),
        ),
        Mode::Training => Check::warn(
            "credentials",
            "none configured: TRAINING mode on the embedded sandbox",
            "Set GIFTPOS_API_BASE, GIFTPOS_ACCOUNT_ID, GIFTPOS_CLIENT_ID and GIFTPOS_CLIENT_SECRET_FILE (or the [dintero] keys) to go live.",
        ),
    });
    checks.push(check_data_dir(cfg));
    checks.push(journal);
    checks.push(check_scanner(cfg));
    checks.push(check_printer(cfg));
    checks
}

pub(crate) fn finish(training: bool, checks: Vec<Check>) -> DoctorReport {
    let ok = !checks.iter().any(|c| c.status == CheckStatus::Fail);
    DoctorReport {
        training,
        ok,
        checks,
    }
}

fn check_scanner(cfg: &Config) -> Check {
    if !cfg.scanner_configured {
        return Check::ok(
            "scanner",
            "no serial reader configured (keyboard-wedge readers and typing work without one)",
        );
    }
    let port = &cfg.scanner.port;
    if Path::new(port).exists() {
        Check::ok("scanner", format!("{port} is present"))
    } else {
        Check::fail(
            "scanner",
            format!("{port} does not exist"),
            "Plug the reader in (USB serial/CDC mode) or fix [scanner] port; `giftpos scanner list` shows the ports.",
        )
    }
}

fn check_printer(cfg: &Config) -> Check {
    let Some(name) = &cfg.printer else {
        return Check::ok(
            "printer",
            format!(
                "no printer configured: receipts are saved to {}",
                cfg.receipts_dir.display()
            ),
        );
    };
    match std::process::Command::new("lpstat")
        .args(["-p", name])
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("disabled") {
                Check::fail(
                    "printer",
                    format!("{name} is disabled"),
                    format!("Enable it: `cupsenable {name}`, and check paper and cover."),
                )
            } else {
                Check::ok("printer", text.lines().next().unwrap_or(name).to_string())
            }
        }
        Ok(out) => Check::fail(
            "printer",
            format!("{name}: {}", String::from_utf8_lossy(&out.stderr).trim()),
            "Add the queue in CUPS (`lpadmin`) or fix [printer] name; `lpstat -p` lists the queues.",
        ),
        Err(e) => Check::fail(
            "printer",
            format!("lpstat cannot run: {e}"),
            "Install CUPS' client (`cups-client`) and start CUPS.",
        ),
    }
}

/// The terminal's folders and files that other local users could read, if any.
fn loose_files(cfg: &Config) -> Option<String> {
    let loose = crate::private::Private::of(cfg).loose();
    (!loose.is_empty()).then(|| {
        loose
            .iter()
            .map(|(p, m)| format!("{} ({m:o})", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn check_data_dir(cfg: &Config) -> Check {
    let dir = &cfg.data_dir;
    let fix = format!(
        "Create {} writable by the terminal's user, or set GIFTPOS_DATA_DIR.",
        dir.display()
    );
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Check::fail("data_dir", format!("{}: {e}", dir.display()), fix);
    }
    let probe = dir.join(".doctor-probe");
    let written = std::fs::File::create(&probe).and_then(|f| {
        use std::io::Write;
        let mut f = f;
        f.write_all(b"probe")?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    if let Err(e) = written {
        return Check::fail(
            "data_dir",
            format!("{} is not writable: {e}", dir.display()),
            fix,
        );
    }
    match nix::sys::statvfs::statvfs(dir) {
        Ok(s) => {
            let free = s.blocks_available().saturating_mul(s.fragment_size());
            let detail = format!("{} writable, {} MiB free", dir.display(), free >> 20);
            if free < MIN_FREE {
                Check::fail(
                    "data_dir",
                    detail,
                    "Free disk space: operations are refused when the disk is full.",
                )
            } else if free < WARN_FREE {
                Check::warn("data_dir", detail, "Free disk space soon.")
            } else if let Some(loose) = loose_files(cfg) {
                Check::warn(
                    "data_dir",
                    format!("{detail}; readable by other local users: {loose}"),
                    "chmod 700 the folders and 600 the files named (the terminal tightens what its user owns when it starts; chown the rest to that user).",
                )
            } else {
                Check::ok("data_dir", format!("{detail}, private (0700/0600)"))
            }
        }
        Err(e) => Check::warn(
            "data_dir",
            format!("{} writable; free space unknown ({e})", dir.display()),
            "Check the file system.",
        ),
    }
}
