//! Started by systemd (stderr is the journal stream systemd names in `JOURNAL_STREAM`),
//! the real `giftpos` binary logs to journald with each field its own journal field, and
//! writes no JSON log file; read back with journalctl. Needs a journald: the machine's, or
//! (as root, in CI) one this test starts.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
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
    let Some(_journald) = journald() else {
        eprintln!("no journald here and not root: run as root (as CI does) to test journald");
        return;
    };
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
