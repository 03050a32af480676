//! `giftpos doctor`: checks what a till needs, each with a fix when it fails.

use std::path::Path;
use std::sync::Arc;

use giftpos_dintero::Clock;
use serde::Serialize;

use crate::config::{Config, ConfigError, Mode};
use crate::terminal::Terminal;

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
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: CheckStatus::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn skipped(name: &'static str, why: &str) -> Check {
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
const WARN_SKEW_SECS: i64 = 30;
const MAX_SKEW_SECS: i64 = 300;

/// The journal's hash chain: edited, removed or reordered entries.
fn check_journal(cfg: &Config) -> Check {
    let path = cfg.journal_path();
    if !path.exists() {
        return Check::ok("journal", format!("{} (not created yet)", path.display()));
    }
    let fix = "Do not delete or edit the journal: keep a copy and call support (`giftpos journal verify` shows the problems).";
    match giftpos_journal::Journal::open(&path, &cfg.terminal_id).and_then(|j| j.verify()) {
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

/// Runs every check. Takes the configuration *result* so a broken configuration is
/// reported, not fatal.
pub async fn run(config: Result<Config, ConfigError>, clock: Arc<dyn Clock>) -> DoctorReport {
    let mut checks = Vec::new();
    let cfg = match config {
        Ok(c) => c,
        Err(e) => {
            checks.push(Check::fail(
                "config",
                e.to_string(),
                "Correct the file or variable named; `giftpos --help` lists the keys.",
            ));
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
            return finish(false, checks);
        }
    };
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
    checks.push(check_data_dir(&cfg));
    checks.push(check_journal(&cfg));
    checks.push(check_scanner(&cfg));
    checks.push(check_printer(&cfg));
    let training = cfg.is_training();
    let terminal = match Terminal::open(cfg, clock.clone()).await {
        Ok(t) => t,
        Err(e) => {
            checks.push(Check::fail("api_reachable", e.to_string(), e.hint()));
            for name in [
                "token",
                "checkout_token",
                "dintero_answers",
                "payments",
                "clock",
            ] {
                checks.push(Check::skipped(name, "the terminal could not start"));
            }
            return finish(training, checks);
        }
    };
    let api = terminal.info().api_base;
    match terminal.client().probe().await {
        Ok(p) => {
            checks.push(Check::ok(
                "api_reachable",
                format!("{api} answered in {} ms", p.round_trip.as_millis()),
            ));
            checks.push(match p.server_time {
                Some(server) => {
                    let skew = (clock.now() - server).num_seconds();
                    let detail = format!("{skew:+} s against Dintero's clock");
                    if skew.abs() > MAX_SKEW_SECS {
                        Check::fail(
                            "clock",
                            detail,
                            "Enable time sync (e.g. `timedatectl set-ntp true`).",
                        )
                    } else if skew.abs() > WARN_SKEW_SECS {
                        Check::warn(
                            "clock",
                            detail,
                            "Enable time sync (e.g. `timedatectl set-ntp true`).",
                        )
                    } else {
                        Check::ok("clock", detail)
                    }
                }
                None => Check::skipped("clock", "the server sent no Date header"),
            });
        }
        Err(e) => {
            checks.push(Check::fail(
                "api_reachable",
                format!("{api}: {e}"),
                "Check the network, proxy and firewall for HTTPS to the API base.",
            ));
            checks.push(Check::skipped("clock", "the API could not be reached"));
        }
    }
    let token_check = match terminal.client().ensure_token().await {
        Ok(()) => Check::ok("token", "an access token was obtained"),
        Err(e) => Check::fail(
            "token",
            e.to_string(),
            "Check the client id and secret, and that the API client is enabled for this account.",
        ),
    };
    let token_ok = token_check.status == CheckStatus::Ok;
    let checkout_check = if terminal.config().checkout_client.is_none() {
        Check::skipped(
            "checkout_token",
            "one API client for Wallets and Checkout (set checkout_client_id for a separate one)",
        )
    } else {
        match terminal.client().ensure_checkout_token().await {
            Ok(()) => Check::ok(
                "checkout_token",
                "the separate Checkout API client obtained an access token",
            ),
            Err(e) => Check::fail(
                "checkout_token",
                e.to_string(),
                "Check checkout_client_id and its secret, and that the Checkout client is enabled for this account.",
            ),
        }
    };
    let answers = if token_ok {
        check_answers(&terminal).await
    } else {
        Check::skipped("dintero_answers", "no access token")
    };
    let payments = check_payments(&terminal).await;
    // Keep the checks in a fixed order: the tokens and answers before clock.
    let clock_idx = checks
        .iter()
        .position(|c| c.name == "clock")
        .unwrap_or(checks.len());
    for (i, c) in [token_check, checkout_check, answers, payments]
        .into_iter()
        .enumerate()
    {
        checks.insert(clock_idx + i, c);
    }
    finish(training, checks)
}

/// Verifying sold cards' payments needs the Checkout API's read grant: a payment that does
/// not exist must answer 404, not 403.
async fn check_payments(terminal: &Terminal) -> Check {
    use giftpos_dintero::DinteroError as D;
    const NAME: &str = "payments";
    let mode = terminal.config().payments_verify;
    if mode == crate::payments::VerifyMode::Off {
        return Check::skipped(
            NAME,
            "[payments] verify = \"off\": payments are not verified",
        );
    }
    match terminal.client().payment("giftpos-doctor-probe").await {
        Ok(_) | Err(D::NotFound) => Check::ok(
            NAME,
            format!(
                "payments are verified ({}); the Checkout API answers GET /v1/transactions",
                mode.as_str()
            ),
        ),
        Err(e @ (D::Forbidden | D::Unauthorized)) => Check::fail(
            NAME,
            format!("the API client may not read payments: {e}"),
            "Grant the Checkout API client read:checkout (or admin:checkout), or set [payments] verify = \"warn\" until it is.",
        ),
        Err(e) => Check::warn(
            NAME,
            format!("GET /v1/transactions could not be tried: {e}"),
            "Check the network and the Checkout base URL (checkout_base).",
        ),
    }
}

/// Can Dintero's answers be read? Actively (one card list read, which changes nothing)
/// and from the journal (entries whose last attempt got an unreadable answer). Names the
/// endpoint and the field.
async fn check_answers(terminal: &Terminal) -> Check {
    const NAME: &str = "dintero_answers";
    const FIX: &str = "Dintero's answers have a shape this version cannot read: tell support the endpoint and field named here, and update giftpos. Entries are kept and checked at Dintero before anything is resent.";
    let stuck: Vec<String> = terminal
        .journal()
        .open_entries()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| {
            e.last_error
                .filter(|m| m.starts_with("Dintero's answer to"))
                .map(|m| format!("entry {}: {m}", e.id))
        })
        .collect();
    if let Some(first) = stuck.first() {
        return Check::fail(
            NAME,
            format!("{} entries got unreadable answers; {first}", stuck.len()),
            FIX,
        );
    }
    // What the terminal remembers (a look-up the clerk saw fail, in any process), until
    // a readable answer to the same operation clears it.
    let remembered = terminal.unreadable_answers().unwrap_or_default();
    if !remembered.is_empty() {
        let named: Vec<String> = remembered
            .iter()
            .map(|a| {
                format!(
                    "{}: {} (last at {})",
                    a.op,
                    a.what,
                    a.at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            })
            .collect();
        return Check::fail(
            NAME,
            format!(
                "Dintero's last answer could not be read for {}",
                named.join("; ")
            ),
            FIX,
        );
    }
    match terminal.client().list_cards(1, None).await {
        Ok(_) => Check::ok(NAME, "Wallets answers are readable (GET /cards)"),
        Err(e @ giftpos_dintero::DinteroError::Unreadable { .. }) => {
            Check::fail(NAME, e.to_string(), FIX)
        }
        Err(giftpos_dintero::DinteroError::NotFound) => Check::warn(
            NAME,
            "GET /cards answered 404 Not Found",
            "Check [dintero] api_base and account_id: a wrong base URL or account answers 404 (a missing grant answers 403).",
        ),
        Err(e) => Check::warn(
            NAME,
            format!("GET /cards could not be tried: {e}"),
            "Grant the API client read:wallets (or admin:wallets) so the doctor can check Dintero's answers.",
        ),
    }
}

fn finish(training: bool, checks: Vec<Check>) -> DoctorReport {
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
