//! Power cuts: the crash test's workload (sell, top up, redeem, reserve then complete or
//! cancel, Checkout payments paid on the payer page, sync, archive, receipts) with the
//! data dir on a filesystem that forgets (`giftpos-lazyfs`); Dintero (the sandbox) runs
//! outside it, as the real one would. At random moments the power goes: the process is
//! killed and everything not synced to "the disk" is dropped (the last write sometimes
//! torn at a sector boundary); the filesystem is mounted again, the terminal restarted
//! and synced. Then: everything the clerk was told was done or saved is in the journal
//! (live or archived) or at Dintero, nothing moved twice, no card was activated twice,
//! every receipt said to be saved is there, and the archives and the live journal verify
//! as one chain. `POWERCUT_CUTS` (default 10) and `POWERCUT_SEED`; `scripts/powercut N`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use giftpos_dintero::wire::META_OPERATION_ID;
use giftpos_journal::EntryState;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::BIN;
use crate::common::{
    TERMINAL, baseline, check_exactly_once, clean, env_for, pay_open_sessions_and_drain, press,
    sandbox_at, stock, terminal,
};

fn mount(disk: &Path, at: &Path, broken: bool) -> giftpos_lazyfs::Mounted {
    let m = if broken {
        giftpos_lazyfs::mount_broken(disk, at)
    } else {
        giftpos_lazyfs::mount(disk, at)
    };
    m.unwrap_or_else(|e| {
        panic!("the power-cut test needs FUSE (/dev/fuse, fuse3, and root to mount): {e}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cuts_lose_nothing_the_clerk_was_told_and_double_nothing() {
    let cuts: usize = std::env::var("POWERCUT_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("POWERCUT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261206);
    let (lost, doubled) = power_cuts(cuts, seed, false).await;
    assert!(lost.is_empty(), "lost:\n{}", lost.join("\n"));
    assert!(doubled.is_empty(), "doubled:\n{}", doubled.join("\n"));
}

/// The same run on a disk that skips one fsync (the root folder's, where the terminal
/// makes its data dir) loses what the clerk was told: the checker can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_skipped_fsync_loses_what_the_clerk_was_told() {
    let (lost, _) = power_cuts(2, 20261206, true).await;
    assert!(
        lost.iter()
            .any(|l| l.contains("told done or saved, found nowhere")),
        "a skipped fsync went unnoticed: {lost:?}"
    );
}

/// Runs the workload through `cuts` power cuts and returns what was lost and what was
/// doubled. On a sound disk it also holds the journal to the sandbox entry by entry.
async fn power_cuts(cuts: usize, seed: u64, broken: bool) -> (Vec<String>, Vec<String>) {
    println!("power-cut test: {cuts} cuts, POWERCUT_SEED={seed}, broken disk: {broken}");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();

    // The disk (the FUSE filesystem's backing folder), where it is mounted, and a home
    // off it (the stock is made from there).
    let disk = tempfile::tempdir().unwrap();
    let at = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let maker = terminal(&sb, home.path()).await;
    let cards = stock(&maker, "cut", 16).await;
    let mut pay_stock = stock(&maker, "cutpay", 12).await;
    drop(maker);
    let base = baseline(&sb);

    // The terminal makes its own data dir on the mounted disk.
    let data = at.path().join("giftpos");
    let mut env = env_for(&sb, &data);
    env.push((
        "GIFTPOS_PAYMENT_PROFILE".into(),
        "P00000000.giftcards-manual-capture".into(),
    ));
    let run = |args: Vec<String>| -> Child {
        let mut cmd = Command::new(BIN);
        clean(&mut cmd, home.path());
        cmd.args(&args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut fs = Some(mount(disk.path(), at.path(), broken));

    let mut took = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = run(vec!["info".into()]).wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        took.push(t.elapsed());
    }
    took.sort();
    let typical = took[2].max(Duration::from_millis(5));
    println!(
        "power-cut test: a command takes {} ms here",
        typical.as_millis()
    );

    // What the clerk was told: operations done or saved, receipts saved.
    let mut told: Vec<String> = Vec::new();
    let mut receipts: Vec<PathBuf> = Vec::new();
    let mut reservations: Vec<String> = Vec::new();
    let mut payments: Vec<String> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    // Commands the terminal turned down (a redeem on a card not sold yet, say): named in
    // the report, not promises.
    let mut failed: Vec<String> = Vec::new();
    let (mut done, mut iterations, mut archived) = (0usize, 0usize, 0usize);
    let tomorrow = (chrono::Local::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    // Half the stock is sold first, so redeems and top-ups find active cards.
    for (i, (token, _)) in cards.iter().take(cards.len() / 2).enumerate() {
        let out = run(vec![
            "activate".into(),
            token.clone(),
            "--amount".into(),
            "500".into(),
            "--transaction-id".into(),
            format!("T12345678.w{i}"),
            "--json".into(),
        ])
        .wait_with_output()
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        told.push(v["result"]["operation_id"].as_str().unwrap().to_string());
    }
    while done < cuts {
        iterations += 1;
        let (token, pin) = &cards[rng.random_range(0..cards.len())];
        let amount = rng.random_range(2..40).to_string();
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let args = match rng.random_range(0..16) {
            0..=2 => s(&[
                "activate",
                token,
                "--amount",
                "500",
                "--transaction-id",
                &format!("T12345678.c{iterations}"),
                "--json",
            ]),
            3 => s(&[
                "topup",
                token,
                "--amount",
                &amount,
                "--transaction-id",
                &format!("T12345678.t{iterations}"),
                "--json",
            ]),
            4..=5 => s(&["redeem", token, "--amount", &amount, "--pin", pin, "--json"]),
            6..=7 => s(&[
                "reserve", token, "--amount", &amount, "--pin", pin, "--json",
            ]),
            8..=9 if !reservations.is_empty() => {
                let id = reservations.swap_remove(rng.random_range(0..reservations.len()));
                if rng.random_range(0..3) == 0 {
                    s(&["cancel", &id, "--json"])
                } else {
                    s(&["complete", &id, "--amount", "1", "--json"])
                }
            }
            10 if !pay_stock.is_empty() => {
                let (t, _) = pay_stock.pop().unwrap();
                s(&["sell", &t, "--amount", "250", "--pay", "dintero", "--json"])
            }
            11 if !payments.is_empty() => {
                let url = payments.swap_remove(rng.random_range(0..payments.len()));
                press(&url, "pay");
                s(&["sync", "--once"])
            }
            12 => {
                let id = told[rng.random_range(0..told.len())].clone();
                s(&["receipt", &id, "--print"])
            }
            13 => s(&["journal", "archive", "--before", &tomorrow]),
            _ => s(&["sync", "--once"]),
        };
        let mut child = run(args.clone());
        // One run in four meets a power cut, anywhere from before it starts to well past
        // a typical run; the others finish, so the journal grows between cuts.
        if rng.random_bool(0.25) {
            tokio::time::sleep(typical.mul_f64(rng.random_range(0.0..2.0))).await;
        } else {
            while child.try_wait().unwrap().is_none() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            // 0: done; 4: saved, will sync (both are a promise to the clerk).
            if !matches!(out.status.code(), Some(0 | 4)) {
                failed.push(format!(
                    "{} {:?}: {}",
                    args[0],
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if let Some(id) = v["result"]["operation_id"].as_str() {
                told.push(id.to_string());
                match args[0].as_str() {
                    "reserve" => reservations.push(id.to_string()),
                    "sell" => payments.extend(v["result"]["url"].as_str().map(String::from)),
                    _ => {}
                }
            }
            if args[0] == "receipt" {
                receipts.push(
                    data.join("receipts")
                        .join(format!("receipt-{}.pdf", args[1])),
                );
            }
            if args[0] == "journal" && String::from_utf8_lossy(&out.stdout).contains("archived to")
            {
                archived += 1;
            }
            continue;
        }
        // The power goes: the process dies with the disk's cache.
        child.kill().unwrap();
        child.wait().unwrap();
        fs.take().unwrap().cut(rng.random_bool(0.5)).unwrap();
        done += 1;
        fs = Some(mount(disk.path(), at.path(), broken));
        // The terminal comes back and syncs; a journal it cannot open is refused by name.
        let out = run(vec!["sync".into(), "--once".into()])
            .wait_with_output()
            .unwrap();
        if !matches!(out.status.code(), Some(0 | 4)) {
            let err = format!(
                "{} {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            println!("power-cut test: after cut {done} ({args:?}) the terminal refused: {err}");
            assert!(
                err.contains("journal.db"),
                "a journal that cannot be opened is refused by name: {err}"
            );
            refused.push(err);
        }
    }

    // Settle what is left, as the crash test does, with a terminal on the mounted disk.
    let t = terminal(&sb, &data).await;
    for id in reservations {
        let _ = run(vec!["complete".into(), id, "--amount".into(), "1".into()]).wait_with_output();
    }
    for url in payments {
        press(&url, "pay");
    }
    pay_open_sessions_and_drain(&t, &sb).await;

    // Lost: told but neither in the journal nor at Dintero; or moved at Dintero with no
    // record of it. Doubled: one operation applied more than once.
    let mut entries = t.journal().archived_entries().unwrap();
    entries.extend(t.journal_entries(None).unwrap());
    let known: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let prefix = format!("{TERMINAL}:");
    let (mut at_dintero, mut activated): (HashMap<String, usize>, HashMap<String, usize>) =
        Default::default();
    let mut doubled = Vec::new();
    sb.with_store(|s| {
        for id in s.card_ids() {
            let snap = s.snapshot(id).unwrap();
            if snap.activations > 1 {
                doubled.push(format!("card {id} activated {} times", snap.activations));
            }
            if let Some(op) = snap
                .metadata
                .get(META_OPERATION_ID)
                .and_then(|v| v.as_str())
            {
                *activated.entry(op.to_string()).or_default() += 1;
            }
            for tx in s.card_transactions(id).unwrap() {
                if let Some(op) = tx.ref_id.strip_prefix(&prefix) {
                    *at_dintero.entry(op.to_string()).or_default() += 1;
                }
            }
        }
        for e in &entries {
            let n = s.checkout.by_reference(&e.id).len();
            if n > 1 {
                doubled.push(format!("payment {} has {n} transactions", e.id));
            }
        }
    });
    for (op, n) in at_dintero.iter().chain(activated.iter()) {
        if *n > 1 {
            doubled.push(format!("{op} applied {n} times"));
        }
    }
    let mut lost: Vec<String> = told
        .iter()
        .filter(|id| {
            !known.contains(id.as_str())
                && !at_dintero.contains_key(id.as_str())
                && !activated.contains_key(id.as_str())
        })
        .map(|id| format!("{id}: told done or saved, found nowhere"))
        .collect();
    lost.extend(
        at_dintero
            .keys()
            .chain(activated.keys())
            .filter(|op| !known.contains(op.as_str()))
            .map(|op| format!("{op}: applied at Dintero, not in the journal")),
    );
    lost.extend(
        receipts
            .iter()
            .filter(|p| !p.exists())
            .map(|p| format!("receipt {} said saved, gone", p.display())),
    );
    lost.extend(refused.iter().map(|e| format!("journal refused: {e}")));
    let confirmed = entries
        .iter()
        .filter(|e| e.state == EntryState::Confirmed)
        .count();
    for f in failed.iter().take(5) {
        println!("power-cut test: turned down: {f}");
    }
    println!(
        "power-cut test: {iterations} runs, {} told, {} turned down, {} receipts, {archived} archives, {confirmed} confirmed, {} s",
        told.len(),
        failed.len(),
        receipts.len(),
        started.elapsed().as_secs()
    );
    println!(
        "{cuts} cuts: {} lost, {} doubled",
        lost.len(),
        doubled.len()
    );
    if !broken && lost.is_empty() && doubled.is_empty() {
        assert!(confirmed >= cards.len() / 2, "the workload did real work");
        check_exactly_once(&t, &sb, &base);
        let v = t.verify_journal().unwrap();
        assert!(v.ok, "{:?}", v.problems);
    }
    drop(t);
    fs.take().unwrap().unmount().unwrap();
    (lost, doubled)
}
