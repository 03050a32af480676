//! A printed card batch: seconds and peak memory for `BENCH_BATCH` (10,000) cards against
//! a tenth of that, in the same run. The sandbox runs as its own process (`giftpos
//! sandbox`), so the peak is the batch writer's alone. Printed, not asserted. Goal:
//! 10,000 cards in ≤ 10 s, memory flat in N.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use giftpos_app::Terminal;
use giftpos_app::batch::{BatchOptions, parse_format};
use giftpos_app::config::{self, LoadOptions};
use giftpos_dintero::SystemClock;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut sandbox = Command::new(env!("CARGO_BIN_EXE_giftpos"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--no-demo", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sandbox");
    let mut line = String::new();
    BufReader::new(sandbox.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("sandbox address");
    let v: serde_json::Value = serde_json::from_str(&line).expect("json");
    let dir = tempfile::tempdir().expect("tmp");
    let mut env: std::collections::HashMap<String, String> = v["env"]
        .as_object()
        .expect("env")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    env.insert(
        "GIFTPOS_DATA_DIR".into(),
        dir.path().join("data").display().to_string(),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let cfg = config::load(&LoadOptions {
            env,
            privileged: true,
            ..LoadOptions::default()
        })
        .expect("config");
        let t = Terminal::open(cfg, Arc::new(SystemClock)).await.expect("terminal");
        for (label, count) in [("small", n / 10), ("full", n)] {
            let before = peak_rss_kib();
            let start = Instant::now();
            let s = t
                .create_card_batch(
                    &BatchOptions {
                        count,
                        token_format: parse_format("digits:16").expect("format"),
                        pin_format: parse_format("digits:4").expect("format"),
                        id_prefix: format!("bench-{label}"),
                        chunk: 500,
                    },
                    &dir.path().join(label),
                )
                .await
                .expect("batch");
            println!(
                "batch      {count} cards: {} ms, {} sheet files, peak RSS {} MiB (was {} MiB before)",
                start.elapsed().as_millis(),
                s.sheets.len(),
                peak_rss_kib() / 1024,
                before / 1024
            );
        }
    });
    let _ = sandbox.kill();
    let _ = sandbox.wait();
}
