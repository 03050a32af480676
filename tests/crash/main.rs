//! Crash test: the real `giftpos` binary runs a mixed workload (sell, top up, redeem,
//! reserve then complete in part or cancel, Checkout payments the test pays on the payer
//! page) against the sandbox and is killed with SIGKILL at random points (within a window
//! scaled to how long a command takes on this machine at the time) — at least 200 times (`CRASH_KILLS` for more, `CRASH_SEED` to replay a run) —
//! then restarted and synced each time. At the end every journal entry is applied
//! exactly once, nothing is applied that the journal does not hold, and every card's
//! balance is what the journal implies.

use giftpos_testkit as common;
mod powercut;

// The power-cut test's mounts are served by a copy of this binary.
giftpos_lazyfs::serve_here!();

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_everything_is_applied_exactly_once() {
    let kills: usize = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261121);
    println!("crash test: {kills} kills, CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb, dir.path()).await;
    let cards = stock(&t, "crash", 24).await;
    let mut pay_stock = stock(&t, "crashpay", 16).await;
    let base = baseline(&sb);

    let mut env = env_for(&sb, dir.path());
    // Checkout payments with a profile that only authorizes: the terminal captures.
    env.push((
        "GIFTPOS_PAYMENT_PROFILE".into(),
        "P00000000.giftcards-manual-capture".into(),
    ));

    let run = |args: Vec<String>| {
        let mut cmd = Command::new(BIN);
        clean(&mut cmd, dir.path());
        cmd.args(&args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let json_of = |child: std::process::Child| {
        let out = child.wait_with_output().unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).ok()
    };

    // The kill window is relative to how long a command takes on this machine now (a
    // loaded machine is slower; a fixed window once left too little work done).
    let mut took = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let c = run(vec![
            "balance".into(),
            cards[0].0.clone(),
            "--pin".into(),
            cards[0].1.clone(),
        ]);
        c.wait_with_output().unwrap();
        took.push(started.elapsed());
    }
    took.sort();
    let typical = took[2].max(Duration::from_millis(5));
    println!(
        "crash test: a command takes {} ms here",
        typical.as_millis()
    );

    let (mut killed, mut finished, mut iterations) = (0usize, 0usize, 0usize);
    // Reservations made and not yet settled, and payer pages not yet paid.
    let mut reservations: Vec<String> = Vec::new();
    let mut payments: Vec<String> = Vec::new();
    while killed < kills {
        iterations += 1;
        let (token, pin) = &cards[rng.random_range(0..cards.len())];
        let amount = rng.random_range(2..40);
        let mut reserving = false;
        let mut paying = false;
        let args: Vec<String> = match rng.random_range(0..14) {
            0..=2 => vec![
                "activate".into(),
                token.clone(),
                "--amount".into(),
                "500".into(),
                "--transaction-id".into(),
                format!("T12345678.c{iterations}"),
            ],
            3 => vec![
                "topup".into(),
                token.clone(),
                "--amount".into(),
                amount.to_string(),
                "--transaction-id".into(),
                format!("T12345678.t{iterations}"),
            ],
            4..=5 => vec![
                "redeem".into(),
                token.clone(),
                "--amount".into(),
                amount.to_string(),
                "--pin".into(),
                pin.clone(),
            ],
            6..=7 => {
                reserving = true;
                vec![
                    "reserve".into(),
                    token.clone(),
                    "--amount".into(),
                    amount.to_string(),
                    "--pin".into(),
                    pin.clone(),
                    "--json".into(),
                ]
            }
            // A partial completion (the rest must be released), or a cancel.
            8..=9 if !reservations.is_empty() => {
                let id = reservations.swap_remove(rng.random_range(0..reservations.len()));
                if rng.random_range(0..3) == 0 {
                    vec!["cancel".into(), id]
                } else {
                    vec!["complete".into(), id, "--amount".into(), "1".into()]
                }
            }
            // Each card of its own stock is sold through Checkout once (two sales of
            // one card are a real conflict for a manager, not what this tests).
            10 if !pay_stock.is_empty() => {
                paying = true;
                vec![
                    "sell".into(),
                    pay_stock.pop().unwrap().0,
                    "--amount".into(),
                    "250".into(),
                    "--pay".into(),
                    "dintero".into(),
                    "--json".into(),
                ]
            }
            11 if !payments.is_empty() => {
                // The customer pays on the page the till showed.
                let url = payments.swap_remove(rng.random_range(0..payments.len()));
                press(&url, "pay");
                vec!["sync".into(), "--once".into()]
            }
            _ => vec!["sync".into(), "--once".into()],
        };
        let mut child = run(args);
        // Kill anywhere from before it starts to well past a typical run.
        let delay = typical.mul_f64(rng.random_range(0.0..3.0));
        tokio::time::sleep(delay).await;
        match child.try_wait().unwrap() {
            Some(_) => {
                finished += 1;
                if let Some(v) = json_of(child) {
                    if reserving && let Some(id) = v["result"]["operation_id"].as_str() {
                        reservations.push(id.to_string());
                    }
                    if paying && let Some(url) = v["result"]["url"].as_str() {
                        payments.push(url.to_string());
                    }
                }
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
                // Restart and sync, itself killed now and then.
                let mut sync = run(vec!["sync".into(), "--once".into()]);
                if rng.random_range(0..4) == 0 {
                    tokio::time::sleep(typical.mul_f64(rng.random_range(0.0..1.0))).await;
                    if sync.try_wait().unwrap().is_none() {
                        sync.kill().unwrap();
                        killed += 1;
                    }
                }
                sync.wait().unwrap();
            }
        }
    }
    // Settle what is left: the reservations we know of are completed in part, unpaid
    // pages are paid.
    for id in reservations {
        let c = run(vec!["complete".into(), id, "--amount".into(), "1".into()]);
        c.wait_with_output().unwrap();
    }
    for url in payments {
        press(&url, "pay");
    }
    // Restart once more and sync everything.
    pay_open_sessions_and_drain(&t, &sb).await;
    let stuck: Vec<String> = t
        .journal()
        .list(None, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.state.is_open() || e.state == giftpos_journal::EntryState::NeedsAttention)
        .map(|e| {
            format!(
                "{} {} {} parent={:?} {:?} reason={:?} last_error={:?}",
                e.id, e.kind, e.amount, e.parent_id, e.state, e.reason, e.last_error
            )
        })
        .collect();
    assert!(stuck.is_empty(), "not settled:\n{}", stuck.join("\n"));
    let entries = t.journal_entries(None).unwrap();
    let confirmed = entries
        .iter()
        .filter(|e| e.state == giftpos_journal::EntryState::Confirmed)
        .count();
    println!(
        "crash test: {iterations} runs, {killed} killed, {finished} finished; {} entries, {confirmed} confirmed",
        entries.len()
    );
    assert!(confirmed > 20, "the workload did real work");
    let count = |k: giftpos_core::OperationKind| {
        entries
            .iter()
            .filter(|e| e.kind == k && e.state == giftpos_journal::EntryState::Confirmed)
            .count()
    };
    println!(
        "crash test: {} payments, {} captures, {} voids (releases and cancels) confirmed",
        count(giftpos_core::OperationKind::Payment),
        count(giftpos_core::OperationKind::Capture),
        count(giftpos_core::OperationKind::Void)
    );
    // After every partial capture the rest was released (a confirmed void of the same
    // reservation); check_exactly_once below then holds each card's pending amount to
    // what the journal implies — only reservations killed before anyone could complete
    // them are still pending.
    let settled = |parent: &str, k: giftpos_core::OperationKind| {
        entries.iter().any(|e| {
            e.parent_id.as_deref() == Some(parent)
                && e.kind == k
                && e.state == giftpos_journal::EntryState::Confirmed
        })
    };
    let mut partial = 0;
    for r in entries
        .iter()
        .filter(|e| e.kind == giftpos_core::OperationKind::Redeem)
    {
        let captured: i64 = entries
            .iter()
            .filter(|e| {
                e.parent_id.as_deref() == Some(r.id.as_str())
                    && e.kind == giftpos_core::OperationKind::Capture
                    && e.state == giftpos_journal::EntryState::Confirmed
            })
            .map(|e| e.amount.minor())
            .sum();
        if captured > 0 && captured < r.amount.minor() {
            partial += 1;
            assert!(
                settled(&r.id, giftpos_core::OperationKind::Void),
                "reservation {} was captured in part and its rest never released",
                r.id
            );
        }
    }
    println!("crash test: {partial} partial captures, each with its rest released");
    assert!(partial > 0, "the workload captured in part");
    let attention: Vec<_> = entries
        .iter()
        .filter(|e| e.state == giftpos_journal::EntryState::NeedsAttention)
        .collect();
    assert!(attention.is_empty(), "{attention:?}");
    check_exactly_once(&t, &sb, &base);
    let v = t.verify_journal().unwrap();
    assert!(v.ok, "{:?}", v.problems);
}
