//! Sync and journal figures, printed (nothing is asserted):
//!
//! 1. Drain: `BENCH_DRAIN_OPS` (10,000) queued top-ups over `BENCH_DRAIN_CARDS` (1,000)
//!    cards against the sandbox with 20 ms injected latency, concurrently by card, against
//!    the same kind of run sent one at a time (`BENCH_SEQ_OPS`, 500, to keep it short;
//!    the rate is what is compared). Goal: ≥ 40× faster.
//! 2. Durable appends per second against a raw write+fsync loop in the same directory,
//!    in the same run. Goal: ≥ 0.85×.
//! 3. fsyncs per clerk action in a running terminal (sell, top up, redeem, balance),
//!    counted by the filesystem itself: the data dir on `giftpos-lazyfs` (FUSE; needs
//!    root), the sandbox outside. Goal: ≤ 2 per Dintero call that moves money, 0 for a
//!    balance check.
//!
//! `cargo bench --bench sync` (or `scripts/bench`).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use giftpos_app::Terminal;
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::sync::SyncPolicy;
use giftpos_core::{Currency, Money, OperationKind};
use giftpos_dintero::SystemClock;
use giftpos_dintero::wire::CreateCardRequest;
use giftpos_journal::{Journal, NewEntry};
use giftpos_sandbox::{Faults, Sandbox, SandboxConfig};

fn var(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn terminal(sb: &Sandbox, data: &std::path::Path, concurrency: usize) -> Terminal {
    let mut env = sb.client_env();
    env.extend([
        ("GIFTPOS_DATA_DIR", data.display().to_string()),
        ("GIFTPOS_TERMINAL_ID", "bench".into()),
        // Sales against made-up payment references (verifying them is tested apart).
        ("GIFTPOS_PAYMENTS_VERIFY", "off".into()),
    ]);
    let opts = LoadOptions {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        privileged: true,
        ..LoadOptions::default()
    };
    Terminal::open_with(
        config::load(&opts).expect("config"),
        Arc::new(SystemClock),
        SyncPolicy {
            concurrency,
            ..SyncPolicy::default()
        },
    )
    .await
    .expect("terminal")
}

/// A sandbox without demo cards on a free loopback port.
async fn sandbox() -> Sandbox {
    Sandbox::start(
        "127.0.0.1:0".parse().expect("addr"),
        SandboxConfig {
            seed_demo: false,
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .expect("sandbox")
}

fn queue(t: &Terminal, prefix: &str, cards: usize, ops: usize) {
    let nok = Currency::parse("NOK").expect("NOK");
    for i in 0..ops {
        let card_id = format!("{prefix}-{:05}", i % cards);
        t.journal()
            .append(
                NewEntry {
                    id: format!("{prefix}-op-{i:06}"),
                    kind: OperationKind::TopUp,
                    card_token: None,
                    card_masked: "****0000".into(),
                    card_id: Some(card_id.clone()),
                    card_key: t.journal().card_key(&card_id),
                    amount: Money::from_minor(100, nok).expect("amount"),
                    clerk: None,
                    metadata: Default::default(),
                    parent_id: None,
                },
                chrono::Utc::now(),
            )
            .expect("append");
    }
}

async fn make_cards(t: &Terminal, prefix: &str, n: usize) {
    for i in 0..n {
        t.client()
            .create_card(&CreateCardRequest::gift_card(
                format!("{prefix}-{i:05}"),
                10_000,
                "NOK",
            ))
            .await
            .expect("card");
    }
}

async fn drain_bench() {
    let ops = var("BENCH_DRAIN_OPS", 10_000);
    let cards = var("BENCH_DRAIN_CARDS", 1_000);
    let seq_ops = var("BENCH_SEQ_OPS", 500);
    let concurrency = var("BENCH_CONCURRENCY", 64);
    let sb = sandbox().await;
    let dir = tempfile::tempdir().expect("tmp");

    let conc = terminal(&sb, &dir.path().join("conc"), concurrency).await;
    make_cards(&conc, "c", cards).await;
    queue(&conc, "c", cards, ops);
    let one = terminal(&sb, &dir.path().join("seq"), 1).await;
    make_cards(&one, "s", cards.min(seq_ops)).await;
    queue(&one, "s", cards.min(seq_ops), seq_ops);

    sb.set_faults(Faults {
        latency_ms: 20,
        ..Faults::default()
    });

    let start = Instant::now();
    conc.sync_now().await.expect("drain");
    let conc_time = start.elapsed();
    let left = conc.sync_status().expect("counts").pending;
    let start = Instant::now();
    one.sync_now().await.expect("drain");
    let seq_time = start.elapsed();

    let rate = |n: usize, d: Duration| (n as u128 * 1000) / d.as_millis().max(1);
    let (conc_rate, seq_rate) = (rate(ops, conc_time), rate(seq_ops, seq_time));
    println!(
        "drain      {ops} ops over {cards} cards, 20 ms latency, {concurrency} at once: {} ms ({conc_rate} ops/s, {left} left)",
        conc_time.as_millis()
    );
    println!(
        "one by one {seq_ops} ops, 20 ms latency: {} ms ({seq_rate} ops/s)",
        seq_time.as_millis()
    );
    println!(
        "drain speed-up: {}.{}x (goal >= 40x)",
        conc_rate / seq_rate.max(1),
        (conc_rate * 10 / seq_rate.max(1)) % 10
    );
    sb.stop().await;
}

fn append_bench() {
    let n = var("BENCH_APPENDS", 2_000);
    let rounds = var("BENCH_APPEND_ROUNDS", 5);
    let dir = tempfile::tempdir_in(".").expect("tmp");
    // Raw: write a record and fsync, in the same directory. The two loops take turns,
    // `rounds` times, so that both see the same disk (its cache, other load); the
    // medians are compared.
    let raw_path = dir.path().join("raw.log");
    let mut f = std::fs::File::create(&raw_path).expect("raw");
    let record = [b'x'; 256];
    let j = Journal::open(&dir.path().join("journal.db"), "bench").expect("journal");
    let nok = Currency::parse("NOK").expect("NOK");
    let per_round = (n / rounds.max(1)).max(1);
    let (mut raw, mut journal) = (Vec::new(), Vec::new());
    let mut seq = 0;
    // One more round first, reported apart: a new journal's write-ahead log grows with
    // each commit until its first checkpoint (then it is reused in place); a till's
    // log does that once per start.
    for _ in 0..=rounds {
        let start = Instant::now();
        for _ in 0..per_round {
            f.write_all(&record).expect("write");
            f.sync_data().expect("fsync");
        }
        raw.push(start.elapsed());
        let start = Instant::now();
        for _ in 0..per_round {
            seq += 1;
            j.append(
                NewEntry {
                    id: format!("a-{seq}"),
                    kind: OperationKind::TopUp,
                    card_token: Some("9578000000001001".into()),
                    card_masked: "************1001".into(),
                    card_id: None,
                    card_key: j.card_key("9578000000001001"),
                    amount: Money::from_minor(100, nok).expect("amount"),
                    clerk: Some("c".into()),
                    metadata: Default::default(),
                    parent_id: None,
                },
                chrono::Utc::now(),
            )
            .expect("append");
        }
        journal.push(start.elapsed());
    }
    let per_sec = |d: Duration| (per_round as u128 * 1_000_000) / d.as_micros().max(1);
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (raw0, journal0) = (raw.remove(0), journal.remove(0));
    let each: Vec<String> = raw
        .iter()
        .zip(&journal)
        .map(|(a, b)| format!("{}", per_sec(*b) * 100 / per_sec(*a).max(1)))
        .collect();
    let (r, jr) = (per_sec(median(&mut raw)), per_sec(median(&mut journal)));
    println!(
        "appends    raw write+fsync: {r}/s; journal (WAL, synchronous=FULL): {jr}/s (median of {rounds} alternating rounds of {per_round}, after one)"
    );
    println!(
        "append ratio: {}.{:02}x of raw (goal >= 0.85x); per round, in %: {}",
        jr / r.max(1),
        (jr * 100 / r.max(1)) % 100,
        each.join(" ")
    );
    println!(
        "append ratio in the first round (the log still growing): {}%",
        per_sec(journal0) * 100 / per_sec(raw0).max(1)
    );
}

/// Counts what a running terminal syncs per clerk action, on a filesystem that counts.
async fn fsync_bench() {
    let n = var("BENCH_FSYNC_OPS", 20);
    let disk = tempfile::tempdir().expect("tmp");
    let at = tempfile::tempdir().expect("tmp");
    let fs = match giftpos_lazyfs::mount(disk.path(), at.path()) {
        Ok(fs) => fs,
        Err(e) => {
            println!("fsyncs per action: not measured ({e})");
            return;
        }
    };
    let sb = sandbox().await;
    let t = terminal(&sb, &at.path().join("giftpos"), 8).await;
    let made = t
        .client()
        .create_batch(&giftpos_dintero::wire::BatchRequest {
            cards: (0..n)
                .map(|i| giftpos_dintero::wire::BatchCard {
                    card_id: format!("f-{i:04}"),
                    card_type: "gift_card".into(),
                })
                .collect(),
            options: Default::default(),
        })
        .await
        .expect("stock");
    let cards: Vec<(giftpos_core::CardToken, giftpos_core::Pin)> = made
        .cards
        .into_iter()
        .map(|c| {
            let token = c.card_token.and_then(|t| t.token).expect("token").value;
            let pin = c.pin.and_then(|p| p.pin).expect("pin").value;
            (
                t.parse_token(&token).expect("token"),
                giftpos_core::Pin::parse(&pin).expect("pin"),
            )
        })
        .collect();
    let syncs = || {
        let c = fs.counts();
        c.file_syncs + c.dir_syncs
    };
    // One of each first: the first write of a start creates the log (and syncs its
    // folder), which a running terminal has done long before.
    let mut report = Vec::new();
    for (what, calls) in [("sell", 1), ("top up", 1), ("redeem", 2), ("balance", 0)] {
        let before = syncs();
        for (i, (token, pin)) in cards.iter().enumerate() {
            let amount = t.parse_amount("10").expect("amount");
            match what {
                "sell" => t
                    .activate(giftpos_app::Activation {
                        token: token.clone(),
                        amount: t.parse_amount("500").expect("amount"),
                        transaction_id: format!("T12345678.f{i}"),
                        customer_id: None,
                        expires_at: None,
                    })
                    .await
                    .map(|_| ()),
                "top up" => t
                    .top_up(
                        token,
                        amount,
                        giftpos_app::tender::Payment::Dintero(format!("T12345678.u{i}")),
                    )
                    .await
                    .map(|_| ()),
                "redeem" => t.redeem(token, amount, pin).await.map(|_| ()),
                _ => t.balance(token, Some(pin)).await.map(|_| ()),
            }
            .expect(what);
        }
        let per = (syncs() - before) * 100 / n as u64;
        report.push(format!(
            "{what} {}.{:02} ({} Dintero call{} that move{} money)",
            per / 100,
            per % 100,
            calls,
            if calls == 1 { "" } else { "s" },
            if calls == 1 { "s" } else { "" }
        ));
    }
    println!(
        "fsyncs per action in a running terminal ({n} each): {}",
        report.join("; ")
    );
    println!("fsync goal: <= 2 per money-moving Dintero call, 0 for a balance check");
    drop(t);
    sb.stop().await;
    let _ = fs.unmount();
}

fn main() {
    // A copy of this benchmark serves the fsync counter's mount (giftpos_lazyfs::mount).
    giftpos_lazyfs::serve_from_env();
    append_bench();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(fsync_bench());
    rt.block_on(drain_bench());
}
