//! Started by systemd (stderr is the journal stream systemd names in `JOURNAL_STREAM`),
//! the real `giftpos` binary logs to journald with each field its own journal field, and
//! writes no JSON log file; read back with journalctl. Needs a journald: the machine's, or
//! (as root, in CI) one this test starts.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use common::clean;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");
const SOCKET: &str = "/run/systemd/journal/socket";

struct Journald(Option<Child>);

impl Drop for Journald {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether a journald listens on the socket (a stale socket file is not one).
fn listening() -> bool {
    std::os::unix::net::UnixDatagram::unbound()
        .and_then(|s| s.send_to(b"", SOCKET))
        .is_ok()
}

/// The tests here take turns: one may start a journald and stop it when it ends.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The machine's journald, or one started for the test.
fn journald() -> Option<Journald> {
    if listening() {
        return Some(Journald(None));
    }
    if !is_root() {
        return None;
    }
    let _ = std::fs::remove_file(SOCKET);
    let child = Command::new("/lib/systemd/systemd-journald")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-journald (Debian's systemd package)");
    let until = Instant::now() + Duration::from_secs(10);
    while !listening() {
        assert!(Instant::now() < until, "journald does not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Journald(Some(child)))
}

#[test]
fn under_systemd_the_logs_go_to_the_journal_with_their_fields() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let _journald = journald().expect("no journald and not root: run as root (as CI does)");
    use std::os::unix::fs::MetadataExt;
    let home = tempfile::tempdir().unwrap();
    let stderr_file = home.path().join("stderr");
    let stderr = std::fs::File::create(&stderr_file).unwrap();
    let meta = std::fs::metadata(&stderr_file).unwrap();
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home.path());
    let child = cmd
        .args(["sync", "--once", "--json"])
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("GIFTPOS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{:?}",
        std::fs::read_to_string(&stderr_file)
    );

    // The sandbox's start, as the journal holds it: the message and each field apart.
    let until = Instant::now() + Duration::from_secs(10);
    let entries: Vec<Value> = loop {
        let out = Command::new("journalctl")
            .args(["-o", "json", "--no-pager", &format!("_PID={pid}")])
            .output()
            .expect("journalctl");
        let entries: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if entries
            .iter()
            .any(|e| e["MESSAGE"] == "Dintero sandbox listening")
        {
            break entries;
        }
        assert!(Instant::now() < until, "not in the journal: {entries:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let started = entries
        .iter()
        .find(|e| e["MESSAGE"] == "Dintero sandbox listening")
        .unwrap();
    assert!(
        started["GIFTPOS_ADDR"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "the address is a field of its own: {started}"
    );
    assert_eq!(started["TARGET"], "giftpos_sandbox", "{started}");
    assert_eq!(
        started["PRIORITY"], "5",
        "info is journald's notice: {started}"
    );
    assert_eq!(started["SYSLOG_IDENTIFIER"], "giftpos", "{started}");
    // The journal instead of the JSON file.
    assert!(
        !home.path().join("data/giftpos/logs").exists(),
        "no JSON log file under systemd"
    );
}

/// The journal's head is anchored in journald (whatever the app logs to), and `journal
/// verify --anchors` reads the anchors back: they agree with an untouched journal, and
/// a forged anchor for an entry already anchored is named.
#[test]
fn the_journals_head_is_anchored_in_journald_and_verified_against_it() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let _journald = journald().expect("no journald and not root: run as root (as CI does)");
    let home = tempfile::tempdir().unwrap();
    let giftpos = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        clean(&mut cmd, home.path());
        let out = cmd.args(args).arg("--json").output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        v
    };
    let v = giftpos(&[
        "sell",
        "9578000000001001",
        "--amount",
        "100",
        "--transaction-id",
        "T12345678.demo-paid-500",
    ]);
    assert_eq!(v["ok"], true, "{v}");
    let report = home.path().join("z.pdf");
    let v = giftpos(&["report", "day", "--out", report.to_str().unwrap()]);
    assert_eq!(v["ok"], true, "{v}");
    // journald has them (it may take a moment to index).
    let until = Instant::now() + Duration::from_secs(10);
    let v = loop {
        let v = giftpos(&["journal", "verify", "--anchors"]);
        if v["result"]["anchors_checked"].as_u64().unwrap_or(0) >= 1 {
            break v;
        }
        assert!(Instant::now() < until, "no anchor read back: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(v["result"]["ok"], true, "{v}");
    // The printed Z-report carries the head too.
    let text = Command::new("pdftotext")
        .arg(&report)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let head = text
        .lines()
        .map(str::trim)
        .find(|l| {
            l.len() >= 66 && l.contains(':') && l.split(':').nth(1).is_some_and(|h| h.len() == 64)
        })
        .unwrap_or_else(|| panic!("no anchor on the Z-report: {text}"))
        .to_string();
    let seq: i64 = head.split(':').next().unwrap().parse().unwrap();
    // A forged anchor for the same entry (root's, so it is read) disagrees with it.
    let journal = home.path().join("data/giftpos/training/journal.db");
    let forged = format!(
        "MESSAGE=forged\nSYSLOG_IDENTIFIER=giftpos\nGIFTPOS_JOURNAL_HEAD={seq}:{}\nGIFTPOS_JOURNAL_FILE={}\n",
        "0".repeat(64),
        journal.display()
    );
    std::os::unix::net::UnixDatagram::unbound()
        .unwrap()
        .send_to(forged.as_bytes(), SOCKET)
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let v = giftpos(&["journal", "verify", "--anchors"]);
        if v["result"]["ok"] == false {
            let problems = v["result"]["problems"].to_string();
            assert!(problems.contains("disagree"), "{v}");
            break;
        }
        assert!(
            Instant::now() < until,
            "the forged anchor was not found: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Anchors typed from the Z-report are read from a file too.
    let file = home.path().join("anchors.txt");
    std::fs::write(&file, format!("# from the Z-report\n{head}\n")).unwrap();
    let v = giftpos(&["journal", "verify", "--anchors", file.to_str().unwrap()]);
    assert!(
        v["result"]["anchor_sources"]
            .to_string()
            .contains("anchors.txt: 1 anchors"),
        "{v}"
    );
}
