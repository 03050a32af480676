//! `giftpos scanner listen` as IT uses it at a till: a real pty pair (socat) stands in
//! for the reader; what the command prints is checked line by line.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::clean;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

#[test]
fn listen_prints_cards_masked_receipts_and_noise_and_survives_an_unplug() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("ttyA"), dir.path().join("ttyB"));
    let socat = || {
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (scripts/setup installs it)");
        let until = Instant::now() + Duration::from_secs(10);
        while !(a.exists() && b.exists()) {
            assert!(Instant::now() < until);
            std::thread::sleep(Duration::from_millis(10));
        }
        child
    };
    let mut pty = socat();
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, dir.path());
    let mut listen = cmd
        .args(["scanner", "listen", "--port", a.to_str().unwrap(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = listen.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
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
    let mut pty = socat();
    assert_eq!(next()["event"], "connected");
    write(b"9578000000001002\r");
    assert_eq!(next()["scan"]["card"], "************1002");

    listen.kill().unwrap();
    listen.wait().unwrap();
    pty.kill().unwrap();
    pty.wait().unwrap();
}
