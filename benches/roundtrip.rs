//! Round trips a clerk waits for, against the sandbox over loopback HTTP: a balance check
//! (token + PIN) and a redemption (look-up, pending drawdown, capture, read-back), through
//! the same application API the app uses. Prints p50/p99/max; asserts nothing.
//!
//! `cargo bench --bench roundtrip` (or `scripts/bench`). `BENCH_N` sets the count.

use giftpos_testkit as common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use giftpos_app::Terminal;
use giftpos_app::config::{self, LoadOptions};
use giftpos_dintero::SystemClock;
use giftpos_sandbox::{Sandbox, SandboxConfig};

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let idx = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[idx.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>, total: Duration) {
    samples.sort();
    let us = |d: Duration| d.as_micros();
    println!(
        "{name:<10} n={:<5} p50={:>6} µs  p99={:>6} µs  max={:>6} µs  ({} ops/s)",
        samples.len(),
        us(percentile(&samples, 50)),
        us(percentile(&samples, 99)),
        us(*samples.last().unwrap_or(&Duration::ZERO)),
        (samples.len() as u128 * 1_000_000) / total.as_micros().max(1),
    );
}

fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let sb = Sandbox::start(
            "127.0.0.1:0".parse().unwrap(),
            SandboxConfig::default(),
            Arc::new(SystemClock),
        )
        .await
        .expect("sandbox");
        let data = std::env::temp_dir().join(format!("giftpos-bench-{}", std::process::id()));
        let mut env = sb.client_env();
        env.extend([
            ("GIFTPOS_DATA_DIR", data.display().to_string()),
            ("GIFTPOS_TERMINAL_ID", "bench".into()),
        ]);
        let opts = LoadOptions {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            privileged: true,
            ..LoadOptions::default()
        };
        let till = Terminal::open(config::load(&opts).expect("config"), Arc::new(SystemClock))
            .await
            .expect("terminal");
        // A card with room for every redemption.
        let (token, pin) = common::funded_card(&till, "bench-card", 1_000_000_000).await;
        let amount = till.parse_amount("1.00").unwrap();

        for _ in 0..50 {
            till.balance(&token, Some(&pin)).await.unwrap();
        }
        println!("giftpos round trips through the application API to the sandbox on loopback");
        let start = Instant::now();
        let mut s = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            till.balance(&token, Some(&pin)).await.unwrap();
            s.push(t.elapsed());
        }
        report("balance", s, start.elapsed());

        let start = Instant::now();
        let mut s = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            till.redeem(&token, amount, &pin).await.unwrap();
            s.push(t.elapsed());
        }
        report("redeem", s, start.elapsed());
        let _ = std::fs::remove_dir_all(&data);
        sb.stop().await;
    });
}
