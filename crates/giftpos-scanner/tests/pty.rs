//! The reader against a real kernel pty pair made by socat: the reader opens one end,
//! the test writes scanner bytes into the other.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use giftpos_core::TokenFormat;
use giftpos_scanner::{
    DiscardReason, FrameConfig, RECEIPT_PREFIX, Reader, Scan, ScannerEvent, SerialConfig,
    Terminator,
};

struct PtyPair {
    child: Child,
    reader_end: PathBuf,
    writer_end: PathBuf,
}

impl PtyPair {
    fn start(dir: &Path) -> PtyPair {
        let reader_end = dir.join("ttyA");
        let writer_end = dir.join("ttyB");
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", reader_end.display()))
            .arg(format!("pty,raw,echo=0,link={}", writer_end.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat is needed for the scanner tests (scripts/setup installs it)");
        let until = Instant::now() + Duration::from_secs(10);
        while !(reader_end.exists() && writer_end.exists()) {
            assert!(Instant::now() < until, "socat made no pty pair");
            std::thread::sleep(Duration::from_millis(10));
        }
        PtyPair {
            child,
            reader_end,
            writer_end,
        }
    }

    fn write(&self, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.writer_end)
            .unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The till's cards: 16 digits.
fn formats() -> Vec<TokenFormat> {
    vec![TokenFormat::numeric16()]
}

fn reader(port: &Path, frame: FrameConfig) -> Reader {
    let r = Reader::start(
        SerialConfig {
            port: port.display().to_string(),
            frame,
            ..SerialConfig::default()
        },
        formats(),
    )
    .unwrap();
    wait_for(&r, |e| matches!(e, ScannerEvent::Connected { .. }));
    r
}

fn wait_for(r: &Reader, want: impl Fn(&ScannerEvent) -> bool) -> ScannerEvent {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let ev = r
            .events()
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no expected event within 10 s"));
        if want(&ev) {
            return ev;
        }
    }
}

/// The next scan, as the reader classified it: a card's whole number (this test is
/// the only place that exposes it), a receipt's payload, or what else it was.
fn next_scan(r: &Reader) -> String {
    match wait_for(r, |e| matches!(e, ScannerEvent::Scan { .. })) {
        ScannerEvent::Scan { scan, .. } => said(&scan),
        _ => unreachable!(),
    }
}

fn said(scan: &Scan) -> String {
    match scan {
        Scan::Card(token) => token.expose().to_string(),
        Scan::Receipt { entry_id } => format!("{RECEIPT_PREFIX}{entry_id}"),
        Scan::NearMiss(e) => format!("near miss: {e}"),
        Scan::NotAGiftCard => "not a gift card".into(),
    }
}

fn cfg(term: Terminator) -> FrameConfig {
    FrameConfig {
        terminator: term,
        inter_byte_timeout: Duration::from_millis(150),
        ..FrameConfig::default()
    }
}

#[test]
fn one_frame_split_over_many_reads() {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path());
    let r = reader(&pty.reader_end, cfg(Terminator::Cr));
    for b in b"9578000000001001\r" {
        pty.write(&[*b]);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(next_scan(&r), "9578000000001001");
}

#[test]
fn many_frames_in_one_read_with_noise_between() {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path());
    let r = reader(&pty.reader_end, cfg(Terminator::Cr));
    pty.write(b"9578000000001001\r\x00\x1b\x07\r9578000000001002\r  \r9578000000001003\r");
    assert_eq!(next_scan(&r), "9578000000001001");
    assert_eq!(next_scan(&r), "9578000000001002");
    assert_eq!(next_scan(&r), "9578000000001003");
}

#[test]
fn frames_arrive_classified_never_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path());
    let r = reader(&pty.reader_end, cfg(Terminator::Cr));
    pty.write(b"95780000000010\rhello\rgiftpos:entry:e-1\r9578000000001001\r");
    let mut scans = Vec::new();
    while scans.len() < 4 {
        if let ScannerEvent::Scan { scan, .. } =
            wait_for(&r, |e| matches!(e, ScannerEvent::Scan { .. }))
        {
            scans.push(scan);
        }
    }
    // Almost a card: said so, without the number.
    let Scan::NearMiss(e) = &scans[0] else {
        panic!("{:?}", scans[0]);
    };
    assert!(!e.to_string().contains("95780000000010"), "{e}");
    assert_eq!(scans[1], Scan::NotAGiftCard);
    assert_eq!(
        scans[2],
        Scan::Receipt {
            entry_id: "e-1".into()
        }
    );
    assert!(matches!(&scans[3], Scan::Card(t) if t.expose() == "9578000000001001"));
    // What the app shows of a card is masked.
    let shown = serde_json::to_string(&scans[3].view()).unwrap();
    assert!(!shown.contains("9578000000001001"), "{shown}");
}

#[test]
fn each_terminator_and_aim_identifiers() {
    for (term, end) in [
        (Terminator::Cr, &b"\r"[..]),
        (Terminator::Lf, b"\n"),
        (Terminator::Crlf, b"\r\n"),
        (Terminator::Tab, b"\t"),
        (Terminator::Etx, b"\x03"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let pty = PtyPair::start(dir.path());
        let r = reader(&pty.reader_end, cfg(term));
        let mut bytes = b"]C09578000000001001".to_vec();
        bytes.extend_from_slice(end);
        bytes.extend_from_slice(b"]Q1giftpos:entry:abc");
        bytes.extend_from_slice(end);
        pty.write(&bytes);
        match wait_for(&r, |e| matches!(e, ScannerEvent::Scan { .. })) {
            ScannerEvent::Scan {
                scan, symbology, ..
            } => {
                assert_eq!(said(&scan), "9578000000001001", "{term:?}");
                assert_eq!(symbology.as_deref(), Some("]C0"));
            }
            _ => unreachable!(),
        }
        assert_eq!(next_scan(&r), "giftpos:entry:abc", "{term:?}");
    }
}

#[test]
fn over_long_garbage_then_a_good_scan() {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path());
    let r = reader(
        &pty.reader_end,
        FrameConfig {
            max_len: 64,
            ..cfg(Terminator::Cr)
        },
    );
    let mut bytes = vec![b'#'; 5000];
    bytes.extend_from_slice(b"\r9578000000001004\r");
    pty.write(&bytes);
    let ev = wait_for(&r, |e| matches!(e, ScannerEvent::Discarded { .. }));
    assert!(matches!(
        ev,
        ScannerEvent::Discarded {
            reason: DiscardReason::TooLong,
            ..
        }
    ));
    assert_eq!(next_scan(&r), "9578000000001004");
}

#[test]
fn a_partial_frame_then_silence_is_discarded_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path());
    let r = reader(&pty.reader_end, cfg(Terminator::Cr));
    pty.write(b"95780000");
    let ev = wait_for(&r, |e| !matches!(e, ScannerEvent::Connected { .. }));
    assert_eq!(
        ev,
        ScannerEvent::Discarded {
            reason: DiscardReason::PartialTimeout,
            bytes: 8
        }
    );
    pty.write(b"9578000000001005\r");
    assert_eq!(next_scan(&r), "9578000000001005");
}

#[test]
fn the_port_removed_mid_stream_and_recreated_reconnects_without_losing_frames() {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path());
    let r = reader(&pty.reader_end, cfg(Terminator::Cr));
    pty.write(b"9578000000001006\r9578");
    assert_eq!(next_scan(&r), "9578000000001006");
    // Unplugged mid-scan.
    pty.stop();
    wait_for(&r, |e| matches!(e, ScannerEvent::Disconnected { .. }));
    assert!(!r.state().connected);
    // Plugged back in (a new pty behind the same path).
    std::thread::sleep(Duration::from_millis(300));
    let pty = PtyPair::start(dir.path());
    wait_for(&r, |e| matches!(e, ScannerEvent::Connected { .. }));
    assert!(r.state().connected);
    for i in 0..20 {
        pty.write(format!("95780000000020{i:02}\r").as_bytes());
    }
    for i in 0..20 {
        assert_eq!(next_scan(&r), format!("95780000000020{i:02}"));
    }
}

#[test]
fn a_missing_port_is_reported_and_bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = Reader::start(
        SerialConfig {
            port: dir.path().join("nothing").display().to_string(),
            ..SerialConfig::default()
        },
        formats(),
    )
    .unwrap();
    let ev = wait_for(&r, |_| true);
    assert!(matches!(ev, ScannerEvent::Disconnected { .. }), "{ev:?}");
    let e = Reader::start(
        SerialConfig {
            data_bits: 9,
            ..SerialConfig::default()
        },
        formats(),
    )
    .unwrap_err();
    assert_eq!(e.key, "data_bits");
}
