//! What a clerk waits for, in round trips, when Dintero is across the country: the
//! sandbox serves HTTPS (a CA made at start, trusted through `dintero.ca_file`) behind a
//! delay line of 25 ms each way (a 50 ms round trip, TCP and TLS handshakes included),
//! and the terminal runs as in a store: the application API, its background keep-warm.
//!
//! For each operation it prints the median wait, that wait in round trips, the fewest
//! round trips the API allows for it (below), what is left over, and how many new
//! connections and token fetches landed on the clerk's operations. Then the same after
//! the terminal sat idle longer than the server keeps an idle connection, with and
//! without keep-warm. Asserts nothing.
//!
//! The fewest sequential round trips Dintero's API allows (wallets reference §2, and
//! what we keep: a card's balance on every receipt is read from Dintero, never computed;
//! an unsold card is never funded; a sale's payment is verified):
//! - balance: 1 — `POST /wallets/info` with the PIN.
//! - sell: 2 — `info` (token → card id; activation is by card id) alongside the
//!   payment's `GET /transactions/{id}`, then `activate`, whose answer is the card with
//!   its balance.
//! - reserve: 1 — a pending drawdown by token and PIN. We spend 2: `info` first, so a
//!   refusal names the available amount and an unreachable Dintero is known before
//!   anything is recorded (the offline caps decide then).
//! - complete: 2 — `capture`, then the card for the balance (a transaction carries none).
//! - top-up: 3 — `info` (card id, and refusing an unsold card), the `fund` transaction,
//!   then the card for the balance.
//!
//! `cargo bench --bench clerk_path` (or `scripts/bench`). `BENCH_N` sets the count per
//! operation (default 20), `BENCH_RTT_MS` the round trip (default 50).

use giftpos_testkit as common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use giftpos_app::config::{self, LoadOptions};
use giftpos_app::terminal::{Background, BackgroundParts};
use giftpos_app::{Activation, Terminal};
use giftpos_core::{CardToken, Pin};
use giftpos_dintero::SystemClock;
use giftpos_sandbox::checkout::ExternalPayment;
use giftpos_sandbox::latency::DelayLine;
use giftpos_sandbox::{Sandbox, SandboxConfig};

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one operation cost: its waits, and what landed on them.
struct Sample {
    waits: Vec<Duration>,
    connections: u64,
    tokens: u64,
}

struct Setup {
    sb: Sandbox,
    line: DelayLine,
    till: Arc<Terminal>,
    line_one_way: Duration,
    _bg: Background,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start(rtt: Duration, keep_warm_secs: u64, idle_close: Option<Duration>) -> Setup {
        let sb = Sandbox::start(
            "127.0.0.1:0".parse().unwrap(),
            SandboxConfig {
                tls: true,
                idle_timeout: idle_close,
                // Short-lived tokens when measuring idle: keep-warm must renew them.
                token_ttl_secs: if idle_close.is_some() { 6 } else { 3600 },
                ..SandboxConfig::default()
            },
            Arc::new(SystemClock),
        )
        .await
        .expect("sandbox");
        let line = DelayLine::start(sb.addr(), rtt / 2)
            .await
            .expect("delay line");
        let dir = tempfile::tempdir().expect("tmp");
        let ca = dir.path().join("sandbox-ca.pem");
        std::fs::write(&ca, sb.ca_pem().expect("TLS")).expect("CA file");
        let mut env: Vec<(String, String)> = sb
            .client_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        env.retain(|(k, _)| k != "GIFTPOS_API_BASE");
        env.extend([
            (
                "GIFTPOS_API_BASE".into(),
                format!("https://localhost:{}", line.addr().port()),
            ),
            ("GIFTPOS_CA_FILE".into(), ca.display().to_string()),
            ("GIFTPOS_KEEP_WARM_SECS".into(), keep_warm_secs.to_string()),
            (
                "GIFTPOS_DATA_DIR".into(),
                dir.path().join("data").display().to_string(),
            ),
            ("GIFTPOS_TERMINAL_ID".into(), "bench".into()),
        ]);
        let opts = LoadOptions {
            env: env.into_iter().collect(),
            privileged: true,
            ..LoadOptions::default()
        };
        let till = Arc::new(
            Terminal::open(config::load(&opts).expect("config"), Arc::new(SystemClock))
                .await
                .expect("terminal"),
        );
        let bg = till.start_background(BackgroundParts::sync_only()).await;
        Setup {
            sb,
            line,
            till,
            line_one_way: rtt / 2,
            _bg: bg,
            _dir: dir,
        }
    }

    /// The delay line's own round trip, measured with a byte echoed through it (timer
    /// granularity adds a little to the configured delay): the unit of the report.
    async fn line_rtt(&self) -> Duration {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut c, _) = echo.accept().await.unwrap();
            let mut b = [0u8; 1];
            while c.read_exact(&mut b).await.is_ok() {
                let _ = c.write_all(&b).await;
            }
        });
        let line = DelayLine::start(target, self.line_one_way).await.unwrap();
        let mut c = tokio::net::TcpStream::connect(line.addr()).await.unwrap();
        c.set_nodelay(true).unwrap();
        let mut b = [0u8; 1];
        c.write_all(&b).await.unwrap();
        c.read_exact(&mut b).await.unwrap();
        let mut waits = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            c.write_all(&b).await.unwrap();
            c.read_exact(&mut b).await.unwrap();
            waits.push(t.elapsed());
        }
        waits.sort();
        waits[waits.len() / 2]
    }

    /// A sold card with a PIN and room for every redemption.
    async fn funded_card(&self) -> (CardToken, Pin) {
        common::funded_card(&self.till, "bench-card", 1_000_000_000).await
    }

    /// `n` printed, unsold cards and a paid payment for each.
    async fn stock(&self, n: usize, tag: &str) -> Vec<(CardToken, String)> {
        let stock = common::stock(&self.till, &format!("stock-{tag}"), n).await;
        stock
            .into_iter()
            .enumerate()
            .map(|(i, (token, _pin))| {
                let id = format!("pay-{tag}-{i}");
                self.sb
                    .register_payment(ExternalPayment {
                        id: id.clone(),
                        amount: 10_000,
                        currency: "NOK".into(),
                        status: "CAPTURED".into(),
                        captured: None,
                        refunded: None,
                    })
                    .expect("payment");
                (self.till.parse_token(&token).unwrap(), id)
            })
            .collect()
    }

    /// Runs `op`, counting what it waited and what landed on it.
    async fn measure<F, Fut>(&self, sample: &mut Sample, op: F)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let (c0, t0) = (self.line.connections(), self.sb.stats().tokens_issued);
        let t = Instant::now();
        op().await;
        sample.waits.push(t.elapsed());
        sample.connections += self.line.connections() - c0;
        sample.tokens += self.sb.stats().tokens_issued - t0;
    }
}

impl Sample {
    fn new() -> Sample {
        Sample {
            waits: Vec::new(),
            connections: 0,
            tokens: 0,
        }
    }

    fn report(mut self, name: &str, rtt: Duration, fewest: u32) {
        self.waits.sort();
        let p50 = self.waits[self.waits.len() / 2];
        let over = p50.saturating_sub(rtt * fewest);
        let trips = p50.as_micros() * 10 / rtt.as_micros().max(1);
        println!(
            "{name:<28} n={:<3} p50={:>7} ms = {:>2}.{} round trips; fewest the API allows: {fewest}; over that: {:>6} ms (goal ≤ 10 ms); new connections {}, token fetches {}",
            self.waits.len(),
            ms(p50),
            trips / 10,
            trips % 10,
            ms(over),
            self.connections,
            self.tokens,
        );
    }
}

/// Milliseconds with one decimal, without floating point.
fn ms(d: Duration) -> String {
    let tenths = d.as_micros() / 100;
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn main() {
    let n = var("BENCH_N", 20) as usize;
    let rtt = Duration::from_millis(var("BENCH_RTT_MS", 50));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        println!(
            "giftpos: what a clerk waits for over TLS with a {} ms round trip (warm connection and token)",
            rtt.as_millis()
        );
        let s = Setup::start(rtt, 30, None).await;
        let line_rtt = s.line_rtt().await;
        println!(
            "the line's own round trip (TCP echo through it): {} ms; overheads below are over that",
            ms(line_rtt)
        );
        let rtt = line_rtt;
        let (token, pin) = s.funded_card().await;
        let stock = s.stock(n, "warm").await;
        let amount = s.till.parse_amount("1.00").unwrap();
        let price = s.till.parse_amount("100.00").unwrap();
        // Warm: the connection and token are there, as keep-warm keeps them.
        s.till.balance(&token, Some(&pin)).await.unwrap();

        let mut sample = Sample::new();
        for (card, pay) in stock {
            s.measure(&mut sample, || async {
                s.till
                    .activate(Activation {
                        token: card,
                        amount: price,
                        transaction_id: pay,
                        customer_id: None,
                        expires_at: None,
                    })
                    .await
                    .expect("sell");
            })
            .await;
        }
        sample.report("sell", rtt, 2);

        let mut sample = Sample::new();
        for _ in 0..n {
            s.measure(&mut sample, || async {
                s.till.balance(&token, Some(&pin)).await.expect("balance");
            })
            .await;
        }
        sample.report("balance", rtt, 1);

        let (mut reserve, mut complete) = (Sample::new(), Sample::new());
        for _ in 0..n {
            let mut held = None;
            s.measure(&mut reserve, || async {
                held = Some(s.till.reserve(&token, amount, &pin).await.expect("reserve"));
            })
            .await;
            let held = held.unwrap();
            s.measure(&mut complete, || async {
                s.till.complete(&held, None).await.expect("complete");
            })
            .await;
        }
        reserve.report("reserve", rtt, 1);
        complete.report("complete", rtt, 2);

        // A top-up is paid like a sale: one payment that holds them all.
        s.sb.register_payment(ExternalPayment {
            id: "pay-topups".into(),
            amount: amount.minor() * n as i64,
            currency: "NOK".into(),
            status: "CAPTURED".into(),
            captured: None,
            refunded: None,
        })
        .expect("payment");
        let mut sample = Sample::new();
        for _ in 0..n {
            s.measure(&mut sample, || async {
                let paid = giftpos_app::tender::Payment::Dintero("pay-topups".into());
                s.till.top_up(&token, amount, paid).await.expect("top-up");
            })
            .await;
        }
        sample.report("top-up", rtt, 3);
        s.sb.stop().await;

        // After idle: the server closes connections idle 3 s (scaled down from the
        // minutes real servers allow) and tokens live 6 s; the till sits idle 8 s.
        let idle = Duration::from_secs(var("BENCH_IDLE_SECS", 8));
        for (label, keep_warm) in [("keep-warm 1 s", 1), ("keep-warm off", 0)] {
            let s = Setup::start(rtt, keep_warm, Some(Duration::from_secs(3))).await;
            // A till in use: keep-warm runs while a clerk is signed in (an idle till
            // with nobody signed in sends nothing).
            let clerk_pin = giftpos_app::Pin::parse("1111").expect("pin");
            s.till
                .add_clerk("1", "Bench", giftpos_app::Role::Clerk, &clerk_pin, None)
                .expect("clerk");
            s.till.sign_in("1", &clerk_pin).expect("sign in");
            let (token, pin) = s.funded_card().await;
            s.till.balance(&token, Some(&pin)).await.unwrap();
            let mut sample = Sample::new();
            for _ in 0..3 {
                tokio::time::sleep(idle).await;
                s.measure(&mut sample, || async {
                    s.till.balance(&token, Some(&pin)).await.expect("balance");
                })
                .await;
            }
            sample.report(&format!("balance, idle, {label}"), rtt, 1);
            s.sb.stop().await;
        }
    });
}
