//! Cold start and idle memory of the terminal app against a bare Tauri window, measured
//! in the same run on the same display. Prints its figures; asserts nothing.
//!
//! - Cold start: from spawning the process to the first interactive screen (the page
//!   calls `ui_ready`), median of `BENCH_STARTS` runs (default 5), each with a fresh
//!   data dir (training mode: the embedded sandbox starts too).
//! - Idle memory: PSS summed over the process and its children (the WebKit web and
//!   network processes), `BENCH_IDLE_SECS` (default 3) after the screen is ready, median
//!   of `BENCH_MEMORY_RUNS` (default 3). Against the bare window as Tauri makes it, and
//!   against the bare window drawing with the CPU as the app does by default (the app's
//!   own share).
//!
//! Goals: ≤ 1 s cold start; ≤ 1.15× the bare window's memory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

const APP: &str = env!("CARGO_BIN_EXE_giftpos-terminal");
/// The bare window example, built by `scripts/bench` into the same profile's folder.
fn bare() -> String {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bare = profile_dir.join("examples/bare-window");
    assert!(
        bare.exists(),
        "{} is missing: cargo build --release -p giftpos-terminal --example bare-window",
        bare.display()
    );
    bare.display().to_string()
}

/// Appended to the bare window's path: run it drawing with the CPU, as the app does.
const SOFTWARE: &str = "#software";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A private X display for the whole run.
struct Display(Child, String);

impl Display {
    fn start() -> Display {
        for n in 90..140 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let name = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([
                    name.as_str(),
                    "-screen",
                    "0",
                    "1280x1024x24",
                    "-nolisten",
                    "tcp",
                ])
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb (scripts/setup installs it)");
            let until = Instant::now() + Duration::from_secs(10);
            while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            return Display(child, name);
        }
        panic!("no free X display number");
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &str, display: &Display, home: &Path, exit_when_ready: bool) -> Child {
    let (bin, software) = match bin.strip_suffix(SOFTWARE) {
        Some(b) => (b, true),
        None => (bin, false),
    };
    let mut cmd = Command::new(bin);
    if software {
        cmd.env("BARE_SOFTWARE_DRAWING", "1");
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("GIFTPOS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("DISPLAY", &display.1)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("GIFTPOS_SYSTEM_CONFIG", home.join("none.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if exit_when_ready {
        cmd.env("GIFTPOS_EXIT_WHEN_READY", "1");
    }
    cmd.spawn().expect("start the app")
}

/// Waits for the "ui ready" line; returns the time from `t0`.
fn wait_ready(child: &mut Child, t0: Instant) -> Duration {
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("ui ready") => return t0.elapsed(),
            Some(_) => {}
            None => panic!("the process ended before its UI was ready"),
        }
    }
}

fn cold_start(bin: &str, display: &Display) -> Duration {
    let home = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let mut child = spawn(bin, display, home.path(), true);
    let d = wait_ready(&mut child, t0);
    let _ = child.wait();
    d
}

fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// PSS of the process tree after idling, in KiB, and how many processes.
fn idle_memory(bin: &str, display: &Display, idle: Duration) -> (u64, usize) {
    let home = tempfile::tempdir().unwrap();
    let mut child = spawn(bin, display, home.path(), false);
    wait_ready(&mut child, Instant::now());
    std::thread::sleep(idle);
    let mut pids = vec![child.id()];
    pids.extend(common::descendants(child.id()));
    let total = pids.iter().map(|&p| pss_kib(p)).sum();
    let _ = child.kill();
    let _ = child.wait();
    (total, pids.len())
}

fn samples_len() -> u64 {
    env_num("BENCH_MEMORY_RUNS", 3).max(1)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs = env_num("BENCH_STARTS", 5).max(1) as usize;
    let idle = Duration::from_secs(env_num("BENCH_IDLE_SECS", 3));
    let bare = bare();
    let bare = bare.as_str();
    let display = Display::start();
    // One unmeasured start of each warms the page cache, as a till that has run before.
    cold_start(bare, &display);
    cold_start(APP, &display);
    let bare_runs: Vec<Duration> = (0..runs).map(|_| cold_start(bare, &display)).collect();
    let app_runs: Vec<Duration> = (0..runs).map(|_| cold_start(APP, &display)).collect();
    let (mb, ma) = (median(bare_runs), median(app_runs));
    println!(
        "cold start to the first interactive screen (median of {runs}): app {} ms, bare window {} ms (goal: app ≤ 1000 ms)",
        ma.as_millis(),
        mb.as_millis()
    );
    // Median of three of each, taken in turns.
    let bare_sw = format!("{bare}{SOFTWARE}");
    let mut samples: [Vec<(u64, usize)>; 3] = Default::default();
    for _ in 0..env_num("BENCH_MEMORY_RUNS", 3).max(1) {
        for (i, bin) in [bare, bare_sw.as_str(), APP].into_iter().enumerate() {
            samples[i].push(idle_memory(bin, &display, idle));
        }
    }
    let [bare_m, bare_sw_m, app_m] = samples.map(|mut v| {
        v.sort();
        v[v.len() / 2]
    });
    let ratio = |a: u64, b: u64| {
        let permille = a * 1000 / b.max(1);
        format!("{}.{:03}×", permille / 1000, permille % 1000)
    };
    println!(
        "idle memory (PSS of all processes, {} s after ready, median of {}): app {} MiB in {} processes (drawing with the CPU, its default), bare Tauri window {} MiB in {}: {} (goal ≤ 1.15×)",
        idle.as_secs(),
        samples_len(),
        app_m.0 / 1024,
        app_m.1,
        bare_m.0 / 1024,
        bare_m.1,
        ratio(app_m.0, bare_m.0),
    );
    println!(
        "idle memory, the app's own share: against the bare window drawing with the CPU too, {} MiB: {}",
        bare_sw_m.0 / 1024,
        ratio(app_m.0, bare_sw_m.0),
    );
}
