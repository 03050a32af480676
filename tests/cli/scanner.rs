//! `giftpos scanner listen` as IT uses it at a till: a real pty pair (socat) stands in
//! for the reader; what the command prints is checked line by line.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::clean;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

/// `giftpos scanner listen --json` on `port`, its lines arriving on the receiver.
fn listen(home: &std::path::Path, port: &std::path::Path) -> (Child, mpsc::Receiver<String>) {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home);
    let mut child = cmd
        .args([
            "scanner",
            "listen",
            "--port",
            port.to_str().unwrap(),
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

#[test]
fn listen_prints_cards_masked_receipts_and_noise_and_survives_an_unplug() {
    let dir = tempfile::tempdir().unwrap();
    let socat = || common::pty_pair(dir.path(), "ttyA", "ttyB");
    let (mut pty, a, b) = socat();
    let (mut listen, rx) = listen(dir.path(), &a);
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from scanner listen");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let write = |bytes: &[u8]| {
        let mut f = std::fs::OpenOptions::new().write(true).open(&b).unwrap();
        f.write_all(bytes).unwrap();
    };

    assert_eq!(next()["event"], "connected");
    write(b"]C09578000000001001\rgiftpos:entry:0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f\r7038010069307\rDINCARD:12\r");
    let card = next();
    assert_eq!(card["scan"]["kind"], "card");
    assert_eq!(card["scan"]["card"], "************1001");
    assert_eq!(card["symbology"], "]C0");
    assert_eq!(
        next()["scan"]["entry_id"],
        "0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f"
    );
    assert_eq!(next()["scan"]["kind"], "not_a_gift_card");
    let near = next();
    assert_eq!(near["scan"]["kind"], "near_miss");
    assert!(near["scan"]["message"].as_str().unwrap().contains("36"));

    pty.kill().unwrap();
    pty.wait().unwrap();
    assert_eq!(next()["event"], "disconnected");
    std::thread::sleep(Duration::from_millis(200));
    let (mut pty, _, _) = socat();
    assert_eq!(next()["event"], "connected");
    write(b"9578000000001002\r");
    assert_eq!(next()["scan"]["card"], "************1002");

    listen.kill().unwrap();
    listen.wait().unwrap();
    pty.kill().unwrap();
    pty.wait().unwrap();
}

/// Readers ship ending each scan with CR, LF, CRLF, TAB or ETX; the default
/// configuration (`terminator = "auto"`) decodes every one of them as it arrives, a CRLF
/// counting once, and discards nothing.
#[test]
fn every_common_reader_ending_decodes_with_the_default_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let (mut pty, a, b) = common::pty_pair(dir.path(), "ttyA", "ttyB");
    let (mut listen, rx) = listen(dir.path(), &a);
    let next = || -> Option<Value> {
        rx.recv_timeout(Duration::from_secs(3))
            .ok()
            .map(|line| serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
    };
    assert_eq!(next().unwrap()["event"], "connected");
    let endings: [(&str, &[u8]); 6] = [
        ("1001", b"\r"),
        ("1002", b"\n"),
        ("1003", b"\r\n"),
        ("1004", b"\t"),
        ("1005", b"\x03"),
        ("1006", b"\r\n"),
    ];
    let mut f = std::fs::OpenOptions::new().write(true).open(&b).unwrap();
    for (last4, end) in endings {
        // One scan at a time, as a clerk scans: each must be decoded on its own ending.
        f.write_all(format!("957800000000{last4}").as_bytes())
            .unwrap();
        f.write_all(end).unwrap();
        f.flush().unwrap();
        let ev = next().unwrap_or_else(|| panic!("no event for the scan ending {end:?}"));
        assert_eq!(
            ev["scan"]["card"],
            format!("************{last4}"),
            "{end:?}: {ev}"
        );
    }
    // A CRLF was one ending, not an empty frame after it; nothing was held or discarded.
    std::thread::sleep(Duration::from_millis(400));
    if let Ok(line) = rx.try_recv() {
        panic!("nothing more expected, got {line}");
    }
    listen.kill().unwrap();
    listen.wait().unwrap();
    pty.kill().unwrap();
    pty.wait().unwrap();
}
