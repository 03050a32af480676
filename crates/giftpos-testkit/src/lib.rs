//! What the tests and benches share (a dev-dependency, never shipped): a sandbox on
//! loopback, a terminal pointed at it, printed stock and funded cards made through the
//! API, managers' approvals, the exactly-once check comparing the journal with what the
//! sandbox holds, the payer page's buttons, kernel pty pairs, and a journal at scale
//! ([`scale`]).

pub mod scale;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use giftpos_app::Terminal;
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::sync::SyncPolicy;
use giftpos_core::{CardToken, OperationKind, Pin};
use giftpos_dintero::SystemClock;
use giftpos_dintero::wire::{
    BatchCard, BatchRequest, CreateCardRequest, META_OPERATION_ID, TransactionType,
};
use giftpos_journal::EntryState;
use giftpos_sandbox::{Sandbox, SandboxConfig};

pub const TERMINAL: &str = "till-t";

/// The repository's root (`../shared` is beside it).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub async fn sandbox_at(addr: &str, state: Option<&Path>) -> Sandbox {
    Sandbox::start(
        addr.parse().unwrap(),
        SandboxConfig {
            state_file: state.map(Path::to_path_buf),
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .unwrap()
}

/// A sandbox on a free loopback port playing `readings` where Dintero's contract is
/// silent.
pub async fn sandbox_reading(readings: giftpos_sandbox::Readings) -> Sandbox {
    Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        SandboxConfig {
            readings,
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .unwrap()
}

/// Prepares a child `giftpos` process: none of the caller's GIFTPOS_* settings, and a
/// home, config and data dir of its own under `home` (no system config file).
pub fn clean(cmd: &mut std::process::Command, home: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("GIFTPOS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("GIFTPOS_SYSTEM_CONFIG", home.join("no-system-config.toml"));
}

/// The environment of a terminal on `sb`, with its data in `data`.
pub fn env_for(sb: &Sandbox, data: &Path) -> Vec<(String, String)> {
    sb.client_env()
        .into_iter()
        .chain([
            ("GIFTPOS_DATA_DIR", data.display().to_string()),
            ("GIFTPOS_TERMINAL_ID", TERMINAL.into()),
            // These tests sell against made-up payment references; verifying them is
            // tested on its own (tests/cli/payments.rs).
            ("GIFTPOS_PAYMENTS_VERIFY", "off".into()),
        ])
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// A terminal on `sb` with a fast sync policy (short backoff, quick timeouts).
pub async fn terminal(sb: &Sandbox, data: &Path) -> Terminal {
    terminal_with(sb, data, |_| {}).await
}

/// Like [`terminal`], with the configuration changed by `tweak` first.
pub async fn terminal_with(
    sb: &Sandbox,
    data: &Path,
    tweak: impl FnOnce(&mut config::Config),
) -> Terminal {
    let opts = LoadOptions {
        env: env_for(sb, data).into_iter().collect(),
        // As IT (root) would: every layer counts.
        privileged: true,
        ..LoadOptions::default()
    };
    let mut cfg = config::load(&opts).unwrap();
    tweak(&mut cfg);
    cfg.timeout = std::time::Duration::from_secs(2);
    cfg.connect_timeout = std::time::Duration::from_millis(500);
    Terminal::open_with(
        cfg,
        Arc::new(SystemClock),
        SyncPolicy {
            concurrency: 8,
            backoff_base: std::time::Duration::from_millis(20),
            backoff_cap: std::time::Duration::from_millis(200),
            probe_every: std::time::Duration::from_millis(100),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Printed stock: `n` inactive cards with their tokens and PINs, made through the API.
pub async fn stock(t: &Terminal, prefix: &str, n: usize) -> Vec<(String, String)> {
    let made = t
        .client()
        .create_batch(&BatchRequest {
            cards: (0..n)
                .map(|i| BatchCard {
                    card_id: format!("{prefix}-{i:04}"),
                    card_type: "gift_card".into(),
                })
                .collect(),
            options: Default::default(),
        })
        .await
        .unwrap();
    made.cards
        .into_iter()
        .map(|c| {
            (
                c.card_token.unwrap().token.unwrap().value,
                c.pin.unwrap().pin.unwrap().value,
            )
        })
        .collect()
}

/// A sold card made through the API with `amount` minor units (NOK) on it: its token
/// and PIN.
pub async fn funded_card(t: &Terminal, card_id: &str, amount: i64) -> (CardToken, Pin) {
    let made = t
        .client()
        .create_card(&CreateCardRequest::gift_card(card_id, amount, "NOK"))
        .await
        .unwrap();
    let token = t
        .parse_token(&made.card_token.unwrap().token.unwrap().value)
        .unwrap();
    let pin = Pin::parse(&made.pin.unwrap().pin.unwrap().value).unwrap();
    (token, pin)
}

/// Sends until nothing is open (waits are skipped), at most `rounds` rounds.
/// Runs `cmd` with `input` on its standard input (a PIN, say) and returns its output.
pub fn run_input(cmd: &mut std::process::Command, input: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

/// A manager's proven approval of `action` on `t`: manager 9 (PIN 9999), added first
/// when the terminal has no such manager yet (the tests run as root, IT).
pub fn manager(
    t: &Terminal,
    action: giftpos_app::approval::ManagerAction,
) -> giftpos_app::approval::Approval {
    let pin = Pin::parse("9999").unwrap();
    if !t.list_clerks().unwrap().iter().any(|c| c.number == "9") {
        t.add_clerk("9", "Test manager", giftpos_app::Role::Manager, &pin, None)
            .unwrap();
    }
    t.approve("9", &pin, action).unwrap()
}

/// The end of a crash run: sales killed before they printed their page are paid too (the
/// journal holds the session, or they would wait for it to expire), then everything is
/// synced (at most 50 rounds; what is left is for the caller's checks to name).
pub async fn pay_open_sessions_and_drain(t: &Terminal, sb: &Sandbox) {
    for e in t.journal().open_entries().unwrap() {
        if e.kind == OperationKind::Payment
            && let Some(session) = e.metadata.session_id.as_deref()
        {
            press(&format!("{}/checkout/{session}", sb.base_url()), "pay");
        }
    }
    for _ in 0..50 {
        t.engine().drain(true).await.unwrap();
        if t.sync_status().unwrap().pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub async fn drain_all(t: &Terminal, rounds: usize) {
    for _ in 0..rounds {
        t.engine().drain(true).await.unwrap();
        if t.sync_status().unwrap().pending == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the journal did not drain: {:?}", t.sync_status().unwrap());
}

/// Each card's (balance, pending) before a workload.
pub type Baseline = HashMap<String, (i64, i64)>;

pub fn baseline(sb: &Sandbox) -> Baseline {
    sb.with_store(|s| {
        s.card_ids()
            .filter_map(|id| s.snapshot(id))
            .map(|c| {
                (
                    c.card_id,
                    (c.balances.funds - c.balances.drawdown, c.balances.pending),
                )
            })
            .collect()
    })
}

/// Every journal entry (archived or live) is applied at the sandbox exactly once; nothing is applied that
/// the journal does not hold; every card's balance equals its baseline plus what the
/// journal implies.
pub fn check_exactly_once(t: &Terminal, sb: &Sandbox, base: &Baseline) {
    let journal = t.journal();
    // Archived entries count as the journal's own.
    let mut entries = journal.archived_entries().unwrap();
    entries.extend(journal.list(None, None).unwrap());
    let by_id: HashMap<&str, _> = entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let open: Vec<_> = entries.iter().filter(|e| e.state.is_open()).collect();
    assert!(open.is_empty(), "entries still open: {open:?}");

    // What the journal implies, per card.
    #[derive(Default, Debug, PartialEq)]
    struct Implied {
        balance: i64,
        pending: i64,
    }
    let mut implied: BTreeMap<String, Implied> = BTreeMap::new();
    let settled: Vec<&str> = entries
        .iter()
        .filter(|e| {
            matches!(e.kind, OperationKind::Capture | OperationKind::Void)
                && e.state == EntryState::Confirmed
        })
        .filter_map(|e| e.parent_id.as_deref())
        .collect();
    for e in entries.iter().filter(|e| e.state == EntryState::Confirmed) {
        let card = e.card_id.clone().expect("a confirmed entry knows its card");
        let m = implied.entry(card).or_default();
        let a = e.amount.minor();
        match e.kind {
            OperationKind::Activate | OperationKind::TopUp | OperationKind::Refund => {
                m.balance += a
            }
            OperationKind::Capture => m.balance -= a,
            OperationKind::Redeem if !settled.contains(&e.id.as_str()) => m.pending += a,
            _ => {}
        }
    }

    let prefix = format!("{TERMINAL}:");
    let mut applied: HashMap<String, usize> = HashMap::new();
    sb.with_store(|s| {
        for card_id in s.card_ids() {
            let snap = s.snapshot(card_id).unwrap();
            let txs = s.card_transactions(card_id).unwrap();
            let ours: Vec<_> = txs
                .iter()
                .filter(|t| t.ref_id.starts_with(&prefix))
                .collect();
            let activated_by = snap
                .metadata
                .get(META_OPERATION_ID)
                .and_then(|v| v.as_str());
            if ours.is_empty() && activated_by.is_none() {
                continue;
            }
            if let Some(op) = activated_by {
                let e = by_id.get(op).unwrap_or_else(|| {
                    panic!("card {card_id} activated by {op}, not in the journal")
                });
                assert_eq!(e.kind, OperationKind::Activate);
                assert_eq!(
                    e.state,
                    EntryState::Confirmed,
                    "activation {op} applied but not confirmed"
                );
                *applied.entry(op.to_string()).or_default() += 1;
            }
            for t in ours {
                let id = &t.ref_id[prefix.len()..];
                let e = by_id.get(id).unwrap_or_else(|| {
                    panic!("{} applied at the sandbox, not in the journal", t.ref_id)
                });
                assert_eq!(
                    e.state,
                    EntryState::Confirmed,
                    "{id} applied but journal says {:?}",
                    e.state
                );
                let kind_ok = match t.kind {
                    TransactionType::Fund => {
                        matches!(e.kind, OperationKind::TopUp | OperationKind::Refund)
                    }
                    TransactionType::PendingCapture => e.kind == OperationKind::Redeem,
                    TransactionType::Drawdown => e.kind == OperationKind::Capture,
                    TransactionType::Voided => e.kind == OperationKind::Void,
                    TransactionType::Other(_) => false,
                };
                assert!(
                    kind_ok,
                    "{id}: sandbox {:?} vs journal {:?}",
                    t.kind, e.kind
                );
                assert_eq!(t.amount, e.amount.minor(), "{id}: amount");
                *applied.entry(id.to_string()).or_default() += 1;
            }
            let want = implied.remove(card_id).unwrap_or_default();
            let (b0, p0) = base.get(card_id).copied().unwrap_or((0, 0));
            let b = snap.balances;
            assert_eq!(
                (b.funds - b.drawdown - b0, b.pending - p0),
                (want.balance, want.pending),
                "card {card_id}: sandbox balance/pending vs what the journal implies"
            );
        }
    });
    assert!(
        implied.is_empty(),
        "journal implies cards the sandbox never saw: {implied:?}"
    );
    // Checkout payments: a confirmed payment entry is one transaction (its
    // merchant_reference is the entry's id), captured exactly its amount — never twice.
    sb.with_store(|s| {
        for e in entries.iter().filter(|e| e.kind == OperationKind::Payment) {
            let txs = s.checkout.by_reference(&e.id);
            assert!(
                txs.len() <= 1,
                "payment {} has {} transactions",
                e.id,
                txs.len()
            );
            if let Some(tx) = txs.first()
                && e.state == EntryState::Confirmed
            {
                assert_eq!(tx.captured(), e.amount.minor(), "payment {} captured", e.id);
                *applied.entry(e.id.clone()).or_default() += 1;
            }
        }
        for id in s.card_ids() {
            assert!(
                s.snapshot(id).unwrap().activations <= 1,
                "card {id} activated twice"
            );
        }
    });
    for e in entries.iter().filter(|e| e.state == EntryState::Confirmed) {
        assert_eq!(
            applied.get(&e.id).copied().unwrap_or(0),
            1,
            "confirmed entry {} ({}) applied {} times",
            e.id,
            e.kind,
            applied.get(&e.id).copied().unwrap_or(0)
        );
    }
    for e in entries.iter().filter(|e| e.state != EntryState::Confirmed) {
        assert_eq!(
            applied.get(&e.id),
            None,
            "{} is {:?} yet applied",
            e.id,
            e.state
        );
    }
}

/// POSTs nothing to `url` + `/` + `action` (the sandbox's payer page buttons and its
/// control endpoints) and returns the raw answer.
pub fn press(url: &str, action: &str) -> String {
    http("POST", &format!("{url}/{action}"), "")
}

/// `GET url`: the raw HTTP answer (status line, headers, body).
pub fn get(url: &str) -> String {
    http("GET", url, "")
}

/// Submits a form (`application/x-www-form-urlencoded` `body`) as a browser would.
pub fn post_form(url: &str, body: &str) -> String {
    http("POST", url, body)
}

fn http(method: &str, url: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "{method} /{path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A kernel pty pair through socat, linked as `a` and `b` under `dir`: what is written to
/// one end is read at the other (a serial reader or printer stands at `b`). Kill the
/// child to unplug it.
pub fn pty_pair(dir: &Path, a: &str, b: &str) -> (std::process::Child, PathBuf, PathBuf) {
    let (a, b) = (dir.join(a), dir.join(b));
    let child = std::process::Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("socat (scripts/setup installs it)");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(a.exists() && b.exists()) {
        assert!(std::time::Instant::now() < until, "socat made no ptys");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (child, a, b)
}
