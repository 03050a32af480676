//! The journal at scale: journals of 10,000, 100,000 and 1,000,000 entries (years of a
//! till's sales, a valid hash chain; `BENCH_JOURNAL_SIZES` to change), and what the
//! clerk and IT wait for as it grows: opening the terminal, the status bar, today's
//! History, one card's entries, the Z-report, the planner's pick, `journal verify` and
//! `journal export`. Each figure is the median of `BENCH_N` (5) runs, with its ratio to
//! the smallest journal. Goal: ≤ 1.5× from 10k to 1M for open, status, History,
//! Z-report and planning. Printed, never asserted.
//!
//! `cargo bench --bench journal` (or `scripts/bench`).

use giftpos_testkit::scale;

use std::sync::Arc;
use std::time::{Duration, Instant};

use giftpos_app::Terminal;
use giftpos_app::config::{self, LoadOptions};
use giftpos_dintero::SystemClock;

fn sizes() -> Vec<usize> {
    std::env::var("BENCH_JOURNAL_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

const OPS: [&str; 8] = [
    "open the terminal",
    "status bar",
    "today's History",
    "one card's entries",
    "Z-report (today)",
    "planner's pick",
    "journal verify",
    "journal export (JSON)",
];

fn main() {
    let runs: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut table: Vec<(usize, Vec<Duration>)> = Vec::new();
    for n in sizes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = LoadOptions {
            env: [
                (
                    "GIFTPOS_DATA_DIR".to_string(),
                    dir.path().display().to_string(),
                ),
                ("GIFTPOS_TERMINAL_ID".to_string(), "till-bench".to_string()),
            ]
            .into_iter()
            .collect(),
            privileged: true,
            ..LoadOptions::default()
        };
        let cfg = config::load(&opts).expect("config");
        let path = cfg.journal_path();
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        let t0 = Instant::now();
        let synth = scale::synthesize(&path, &cfg.terminal_id, n, chrono::Utc::now());
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "journal of {n} entries: synthesized in {} ms, {} KiB",
            t0.elapsed().as_millis(),
            size / 1024
        );
        let mut figures = Vec::new();
        figures.push(time(runs, || {
            rt.block_on(Terminal::open(cfg.clone(), Arc::new(SystemClock)))
                .expect("open")
        }));
        let t = rt
            .block_on(Terminal::open(cfg.clone(), Arc::new(SystemClock)))
            .expect("open");
        figures.push(time(runs, || t.sync_status().expect("status")));
        figures.push(time(runs, || t.history(None).expect("history")));
        figures.push(time(runs, || {
            t.journal().by_card(&synth.card_key).expect("card")
        }));
        let today = chrono::Local::now().date_naive();
        figures.push(time(runs, || t.day_report(today).expect("report")));
        figures.push(time(runs, || {
            let open = t.journal().open_entries().expect("open entries");
            let items: Vec<giftpos_journal::PlanItem> = open.iter().map(Into::into).collect();
            giftpos_journal::plan(
                &items,
                &std::collections::HashSet::new(),
                chrono::Utc::now(),
                8,
            )
        }));
        figures.push(time(runs.min(3), || t.verify_journal().expect("verify")));
        figures.push(time(runs.min(3), || {
            let mut sink = std::io::sink();
            t.export_journal(&mut sink, "json").expect("export")
        }));
        table.push((n, figures));
    }
    let base = &table[0].1.clone();
    println!();
    print!("{:<24}", "");
    for (n, _) in &table {
        print!("{:>14}", format!("{n} entries"));
    }
    println!("{:>12}", "ratio");
    // Integer arithmetic only (money's rule holds for figures too): hundredths.
    let ms = |d: Duration| {
        let us = d.as_micros();
        format!("{}.{:02} ms", us / 1000, (us % 1000) / 10)
    };
    for (i, op) in OPS.iter().enumerate() {
        print!("{op:<24}");
        for (_, f) in &table {
            print!("{:>14}", ms(f[i]));
        }
        let last = table.last().map(|(_, f)| f[i]).unwrap_or_default();
        let r = last.as_micros() * 100 / base[i].as_micros().max(1);
        println!("{:>11}", format!("{}.{:02}×", r / 100, r % 100));
    }
}
