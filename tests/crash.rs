//! Crash test: the real `giftpos` binary runs a mixed workload (sell, top up, redeem and
//! complete or cancel, undo) against the sandbox and is killed with SIGKILL at random
//! points — at least 200 times (`CRASH_KILLS` for more, `CRASH_SEED` to replay a run) —
//! then restarted and synced each time. At the end every journal entry is applied
//! exactly once, nothing is applied that the journal does not hold, and every card's
//! balance is what the journal implies.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

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
    let base = baseline(&sb);
    let env = env_for(&sb, dir.path());

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

    let (mut killed, mut finished, mut iterations) = (0usize, 0usize, 0usize);
    while killed < kills {
        iterations += 1;
        let (token, pin) = &cards[rng.random_range(0..cards.len())];
        let amount = format!("{}", rng.random_range(1..40));
        let args: Vec<String> = match rng.random_range(0..10) {
            0..=2 => vec![
                "activate".into(),
                token.clone(),
                "--amount".into(),
                "500".into(),
                "--transaction-id".into(),
                format!("T12345678.c{iterations}"),
            ],
            3..=4 => vec!["topup".into(), token.clone(), "--amount".into(), amount],
            5..=7 => vec![
                "redeem".into(),
                token.clone(),
                "--amount".into(),
                amount,
                "--pin".into(),
                pin.clone(),
            ],
            _ => vec!["sync".into(), "--once".into()],
        };
        let mut child = run(args);
        // Kill somewhere between before it starts and well into its work.
        let delay = Duration::from_micros(rng.random_range(0..110_000));
        tokio::time::sleep(delay).await;
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
                // Restart and sync, itself killed now and then.
                let mut sync = run(vec!["sync".into(), "--once".into()]);
                if rng.random_range(0..4) == 0 {
                    tokio::time::sleep(Duration::from_micros(rng.random_range(0..30_000))).await;
                    if sync.try_wait().unwrap().is_none() {
                        sync.kill().unwrap();
                        killed += 1;
                    }
                }
                sync.wait().unwrap();
            }
        }
    }

    // Restart once more and sync everything.
    drain_all(&t, 50).await;
    let entries = t.journal().list(None, None).unwrap();
    let confirmed = entries
        .iter()
        .filter(|e| e.state == giftpos_journal::EntryState::Confirmed)
        .count();
    println!(
        "crash test: {iterations} runs, {killed} killed, {finished} finished; {} entries, {confirmed} confirmed",
        entries.len()
    );
    assert!(confirmed > 20, "the workload did real work");
    let attention: Vec<_> = entries
        .iter()
        .filter(|e| e.state == giftpos_journal::EntryState::NeedsAttention)
        .collect();
    assert!(attention.is_empty(), "{attention:?}");
    check_exactly_once(t.journal(), &sb, &base);
    let v = t.journal().verify().unwrap();
    assert!(v.ok, "{:?}", v.problems);
}
