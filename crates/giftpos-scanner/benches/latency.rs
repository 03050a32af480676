//! Scan latency: from the last byte written into a real pty (socat) to the scan event
//! leaving the reader's channel, over `BENCH_SCANS` (1,000) scans. Printed, not
//! asserted. Goal: p99 ≤ 5 ms.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use giftpos_scanner::{FrameConfig, Reader, ScannerEvent, SerialConfig};

fn main() {
    let n: usize = std::env::var("BENCH_SCANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("tmp");
    let (a, b) = (dir.path().join("ttyA"), dir.path().join("ttyB"));
    let mut socat = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stderr(Stdio::null())
        .spawn()
        .expect("socat");
    while !(a.exists() && b.exists()) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let reader = Reader::start(
        SerialConfig {
            port: a.display().to_string(),
            frame: FrameConfig::default(),
            ..SerialConfig::default()
        },
        vec![giftpos_core::TokenFormat::numeric16()],
    )
    .expect("reader");
    loop {
        if let Ok(ScannerEvent::Connected { .. }) = reader.events().recv() {
            break;
        }
    }
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&b)
        .expect("writer");
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let frame = format!("9578{:012}\r", i);
        let sent = Instant::now();
        w.write_all(frame.as_bytes()).expect("write");
        loop {
            match reader.events().recv_timeout(Duration::from_secs(5)) {
                Ok(ScannerEvent::Scan { .. }) => break,
                Ok(_) => continue,
                Err(e) => panic!("no scan event: {e}"),
            }
        }
        samples.push(sent.elapsed());
        std::thread::sleep(Duration::from_millis(1));
    }
    samples.sort();
    let pct = |p: usize| samples[(samples.len() * p).div_ceil(100).saturating_sub(1)];
    println!(
        "scan latency (pty → event) n={n}: p50={} µs  p99={} µs  max={} µs  (goal p99 <= 5000 µs)",
        pct(50).as_micros(),
        pct(99).as_micros(),
        samples.last().copied().unwrap_or_default().as_micros()
    );
    let _ = socat.kill();
    let _ = socat.wait();
}
