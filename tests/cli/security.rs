//! A till among people (docs/threat-model.md): what another local user, a clerk's own
//! configuration and a name without a PIN can no longer do. The CLI runs as a real
//! second local user (made with `useradd` when the test runs as root, as CI does); the
//! rest runs the real binary or `Terminal` in training mode.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use common::{clean, run_input};
use giftpos_app::approval::ManagerAction;
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::{Activation, ErrorCode, Terminal};
use giftpos_core::Pin;
use giftpos_dintero::ManualClock;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");
const OTHER: &str = "giftpos-other";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A second local user (uid, gid): made when missing. Only root can make one: a test
/// that needs it fails elsewhere, saying so (CI runs as root).
fn other_user() -> (u32, u32) {
    assert!(
        is_root(),
        "this test needs root to make a second local user (CI runs as root)"
    );
    let id = |flag: &str| {
        Command::new("id")
            .args([flag, OTHER])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u32>()
                    .ok()
            })
    };
    if id("-u").is_none() {
        let made = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                OTHER,
            ])
            .status()
            .unwrap();
        assert!(
            made.success() || id("-u").is_some(),
            "useradd {OTHER} failed"
        );
    }
    (id("-u").unwrap(), id("-g").unwrap())
}

/// A folder everyone may enter (the test's own folders are private).
fn open_dir(parent: &Path, name: &str) -> PathBuf {
    let d = parent.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// The binary where another user can run it (the target folder is under root's home).
fn binary_for_others(dir: &Path) -> PathBuf {
    let b = dir.join("giftpos");
    std::fs::copy(BIN, &b).unwrap();
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).unwrap();
    b
}

/// `giftpos ARGS --json` as `uid:gid` with `home` as its home, `stdin` on its input.
fn as_user(bin: &Path, who: (u32, u32), home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={}", who.0))
        .arg(format!("--regid={}", who.1))
        .arg("--clear-groups")
        .arg(bin);
    clean(&mut cmd, home);
    cmd.args(args).arg("--json");
    run_input(&mut cmd, stdin)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_clerks_own_configuration_cannot_switch_the_payment_check_off() {
    let who = other_user();
    let dir = tempfile::tempdir().unwrap();
    let root = open_dir(dir.path(), "t");
    let bin = binary_for_others(&root);
    let home = open_dir(&root, "home");
    std::os::unix::fs::chown(&home, Some(who.0), Some(who.1)).unwrap();
    let cfg = home.join("mine.toml");
    std::fs::write(&cfg, "[payments]\nverify = \"off\"\n").unwrap();
    let sell = [
        "sell",
        "9578000000001006",
        "--amount",
        "100",
        "--transaction-id",
        "MADE-UP-4711",
    ];
    // --config: a config error naming the file and the key; nothing sold.
    let mut args = vec!["--config", cfg.to_str().unwrap()];
    args.extend(sell);
    let out = as_user(&bin, who, &home, &args, "");
    let v = json(&out);
    assert_eq!(v["error"]["code"], "config", "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("payments.verify") && msg.contains("mine.toml"),
        "{msg}"
    );
    // The user's own file, and the environment, the same.
    let user_file = home.join("config").join("giftpos");
    std::fs::create_dir_all(&user_file).unwrap();
    std::fs::write(
        user_file.join("config.toml"),
        "[payments]\nverify = \"off\"\n",
    )
    .unwrap();
    let v = json(&as_user(&bin, who, &home, &sell, ""));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("payments.verify"),
        "{v}"
    );
    std::fs::remove_file(user_file.join("config.toml")).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={}", who.0))
        .arg(format!("--regid={}", who.1))
        .arg("--clear-groups")
        .arg(&bin);
    clean(&mut cmd, &home);
    cmd.env("GIFTPOS_PAYMENTS_VERIFY", "off")
        .args(sell)
        .arg("--json");
    let v = json(&run_input(&mut cmd, ""));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GIFTPOS_PAYMENTS_VERIFY"),
        "{v}"
    );
    // And with nothing loosened, a made-up payment reference still sells no card.
    let out = as_user(&bin, who, &home, &sell, "");
    let v = json(&out);
    assert_eq!(v["error"]["code"], "payment_unverified", "{v}");
    // What the clerk's process made is private: another user reads none of it.
    let data = home.join("data").join("giftpos");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("training").join("journal.db")), 0o600);
}

#[test]
fn after_any_command_the_data_dir_is_private_and_other_users_read_nothing() {
    let who = other_user();
    let dir = tempfile::tempdir().unwrap();
    let root = open_dir(dir.path(), "t");
    let home = open_dir(&root, "home");
    let data = open_dir(&root, "data");
    // A looser folder and journal, as an older version (or a hand) left them.
    let training = open_dir(&data, "training");
    let env = [("GIFTPOS_DATA_DIR", data.display().to_string())];
    let giftpos = |args: &[&str], stdin: &str| {
        let mut cmd = Command::new(BIN);
        clean(&mut cmd, &home);
        cmd.envs(env.iter().cloned()).args(args).arg("--json");
        run_input(&mut cmd, stdin)
    };
    let out = giftpos(&["info"], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    std::fs::set_permissions(
        training.join("journal.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A sale (receipts, logs, the sandbox's state, the clerk list all written).
    let out = giftpos(
        &[
            "sell",
            "9578000000001001",
            "--amount",
            "500",
            "--transaction-id",
            "T12345678.demo-paid-500",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let id = json(&out)["result"]["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let receipt = root.join("receipt.pdf");
    let out = giftpos(&["receipt", &id, "--out", receipt.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&data), 0o700, "the data dir");
    assert_eq!(mode(&training.join("journal.db")), 0o600, "journal.db");
    assert_eq!(mode(&receipt), 0o600, "a receipt written with --out");
    // Walk it all: no file another user can read, no folder they can enter.
    let mut stack = vec![data.clone()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        assert_eq!(mode(&d) & 0o077, 0, "{} is open to others", d.display());
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                files += 1;
                assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
            }
        }
    }
    assert!(files >= 3, "journal, clerks, sandbox state");
    // And as that other user, for real.
    let read = Command::new("setpriv")
        .arg(format!("--reuid={}", who.0))
        .arg(format!("--regid={}", who.1))
        .arg("--clear-groups")
        .args(["cat"])
        .arg(training.join("journal.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!read.status.success(), "another user read the journal");
    assert!(
        String::from_utf8_lossy(&read.stderr).contains("Permission denied"),
        "{read:?}"
    );
}

#[test]
fn a_void_or_return_without_the_managers_pin_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let data = dir.path().join("data");
    let giftpos = |args: &[&str], stdin: &str| {
        let mut cmd = Command::new(BIN);
        clean(&mut cmd, &home);
        cmd.env("GIFTPOS_DATA_DIR", &data).args(args).arg("--json");
        let out = run_input(&mut cmd, stdin);
        (out.status.code(), json(&out))
    };
    let (code, v) = giftpos(
        &[
            "sell",
            "9578000000001002",
            "--amount",
            "200",
            "--transaction-id",
            "T12345678.demo-paid-1000",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{v}");
    let id = v["result"]["operation_id"].as_str().unwrap().to_string();
    let entries = || {
        giftpos(&["journal", "list"], "").1["result"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = entries();
    for (stdin, who) in [("", "9"), ("1234\n", "9"), ("1111\n", "1")] {
        let (code, v) = giftpos(&["void", &id, "--approved-by", who], stdin);
        assert_ne!(code, Some(0), "{v}");
        let c = v["error"]["code"].as_str().unwrap();
        assert!(
            ["manager_required", "sign_in_failed"].contains(&c),
            "{who} {stdin:?}: {v}"
        );
        let (_, v) = giftpos(
            &[
                "journal",
                "resolve",
                &id,
                "--approved-by",
                who,
                "--note",
                "x",
            ],
            stdin,
        );
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    assert_eq!(entries(), before, "nothing was recorded");
    // With the manager's PIN it is done, and the manager is on the entry.
    let (code, v) = giftpos(&["void", &id, "--approved-by", "9"], "9999\n");
    assert_eq!(code, Some(0), "{v}");
    assert!(entries() > before);
    // A clerk cannot make themselves a manager either.
    let (code, v) = giftpos(
        &[
            "clerk",
            "add",
            "77",
            "--name",
            "Me",
            "--role",
            "manager",
            "--approved-by",
            "1",
        ],
        "1111\n4242\n",
    );
    assert_ne!(code, Some(0), "{v}");
    assert_eq!(v["error"]["code"], "manager_required", "{v}");
}

async fn training(dir: &Path, clock: Arc<ManualClock>, idle_secs: u64) -> Terminal {
    let opts = LoadOptions {
        env: [
            ("GIFTPOS_DATA_DIR".to_string(), dir.display().to_string()),
            (
                "GIFTPOS_IDLE_SIGN_OUT_SECS".to_string(),
                idle_secs.to_string(),
            ),
        ]
        .into_iter()
        .collect(),
        privileged: true,
        ..LoadOptions::default()
    };
    Terminal::open(config::load(&opts).unwrap(), clock)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idle_clerk_is_signed_out_by_the_terminal_not_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new("2026-12-06T10:00:00Z".parse().unwrap()));
    let t = training(dir.path(), clock.clone(), 300).await;
    t.sign_in("1", &Pin::parse("1111").unwrap()).unwrap();
    clock.advance(std::time::Duration::from_secs(200));
    // Activity (an operation, or input the page reports) starts the time again.
    t.clerk_action().unwrap();
    clock.advance(std::time::Duration::from_secs(299));
    assert!(
        t.signed_in().is_ok(),
        "reading is not activity, and 299 s < 300 s"
    );
    clock.advance(std::time::Duration::from_secs(1));
    let e = t.signed_in().unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSignedIn);
    assert!(e.message.contains("300 s"), "{e}");
    // The next command from the page is refused: the clerk must sign in again.
    assert_eq!(t.clerk_action().unwrap_err().code, ErrorCode::NotSignedIn);
    t.sign_in("1", &Pin::parse("1111").unwrap()).unwrap();
    assert!(t.clerk_action().is_ok());
}

#[tokio::test]
async fn a_payment_backs_cards_once_across_archives_and_not_when_old() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let t = training(dir.path(), clock.clone(), 0).await;
    let sale = |token: &str, amount: &str, payment: &str| Activation {
        token: t.parse_token(token).unwrap(),
        amount: t.parse_amount(amount).unwrap(),
        transaction_id: payment.into(),
        customer_id: None,
        expires_at: None,
    };
    let r = t
        .activate(sale("9578000000001001", "500", "T12345678.demo-paid-500"))
        .await
        .unwrap();
    assert!(!r.queued);
    // The sale leaves the live journal for an archive ...
    clock.advance(std::time::Duration::from_secs(2 * 3600));
    let tomorrow = (chrono::Local::now() + chrono::Duration::days(2)).date_naive();
    let a = t.archive_journal(tomorrow).unwrap();
    assert!(a.is_some_and(|a| a.entries >= 1));
    // ... and the payment still counts as used.
    let e = t
        .activate(sale("9578000000001002", "100", "T12345678.demo-paid-500"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PaymentUnverified, "{e}");
    assert!(e.message.contains("already on cards"), "{e}");
    // A payment older than [payments] max_age_hours (24) backs no new card ...
    clock.advance(std::time::Duration::from_secs(23 * 3600));
    let e = t
        .activate(sale("9578000000001003", "100", "T12345678.demo-paid-1000"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PaymentUnverified, "{e}");
    assert!(e.message.contains("h ago"), "{e}");
    // ... but a manager may still let it through, by name and PIN, with a reason.
    let m = t
        .approve(
            "9",
            &Pin::parse("9999").unwrap(),
            ManagerAction::PaymentOverride,
        )
        .unwrap();
    let r = t
        .activate_with_override(
            sale("9578000000001003", "100", "T12345678.demo-paid-1000"),
            &m,
            "customer's receipt from yesterday",
        )
        .await
        .unwrap();
    assert!(!r.queued);
}
