//! Dintero over TLS, as in a store: the sandbox serves HTTPS with a CA made at start,
//! which the terminal trusts through `dintero.ca_file` (and refuses without). What each
//! clerk operation sends is the fewest round trips we allow it (see
//! `benches/clerk_path.rs`), all on one kept connection; keep-warm spares the clerk a
//! handshake after the server closed an idle connection.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use giftpos_app::config::{self, LoadOptions};
use giftpos_app::terminal::BackgroundParts;
use giftpos_app::{Activation, ErrorCode, Terminal};
use giftpos_core::Pin;
use giftpos_dintero::SystemClock;
use giftpos_sandbox::checkout::ExternalPayment;
use giftpos_sandbox::{Sandbox, SandboxConfig};

async fn tls_sandbox(idle_close: Option<Duration>) -> Sandbox {
    Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        SandboxConfig {
            tls: true,
            idle_timeout: idle_close,
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .unwrap()
}

/// The terminal's environment on `sb`, trusting its CA (written to `dir`) unless told
/// not to, with these extra settings.
fn env(sb: &Sandbox, dir: &Path, trust: bool, extra: &[(&str, &str)]) -> LoadOptions {
    let mut env: Vec<(String, String)> = common::env_for(sb, &dir.join("data"))
        .into_iter()
        .filter(|(k, _)| k != "GIFTPOS_PAYMENTS_VERIFY")
        .collect();
    if trust {
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, sb.ca_pem().unwrap()).unwrap();
        env.push(("GIFTPOS_CA_FILE".into(), ca.display().to_string()));
    }
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    LoadOptions {
        env: env.into_iter().collect(),
        privileged: true,
        ..LoadOptions::default()
    }
}

async fn open(opts: &LoadOptions) -> Terminal {
    Terminal::open(config::load(opts).unwrap(), Arc::new(SystemClock))
        .await
        .unwrap()
}

/// The requests recorded since the last call, as "METHOD /path" with ids cut to `*`.
fn sent(sb: &Sandbox) -> Vec<String> {
    let out = sb
        .exchanges()
        .into_iter()
        .map(|x| {
            // The segment after `cards` or `transactions` is an id.
            let segs: Vec<&str> = x.path.split('/').collect();
            let path = segs
                .iter()
                .enumerate()
                .map(|(i, seg)| match i.checked_sub(1).map(|p| segs[p]) {
                    Some("cards" | "transactions") => "*",
                    _ => seg,
                })
                .collect::<Vec<_>>()
                .join("/");
            format!(
                "{} {}",
                x.method,
                path.replace("/v1/accounts/T12345678", "")
            )
        })
        .collect();
    sb.record();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_clerk_operation_sends_its_fewest_requests_over_one_tls_connection() {
    let sb = tls_sandbox(None).await;
    assert!(sb.base_url().starts_with("https://"), "{}", sb.base_url());
    let dir = tempfile::tempdir().unwrap();
    let till = open(&env(&sb, dir.path(), true, &[])).await;
    let stock = common::stock(&till, "stock", 1).await;
    sb.register_payment(ExternalPayment {
        id: "pay-0001".into(),
        amount: 10_000,
        currency: "NOK".into(),
        status: "CAPTURED".into(),
        captured: None,
        refunded: None,
    })
    .unwrap();
    let token = till.parse_token(&stock[0].0).unwrap();
    let pin = Pin::parse(&stock[0].1).unwrap();
    let amount = |s: &str| till.parse_amount(s).unwrap();
    sb.record();

    // Sell: the card and the payment read side by side, then the activation, whose
    // answer is the card with its balance (no read-back).
    let sold = till
        .activate(Activation {
            token: token.clone(),
            amount: amount("100.00"),
            transaction_id: "pay-0001".into(),
            customer_id: None,
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(sold.available_after.map(|m| m.minor()), Some(10_000));
    let mut sale = sent(&sb);
    sale.sort();
    assert_eq!(
        sale,
        [
            "GET /v1/transactions/*",
            "POST /wallets/cards/*/activate",
            "POST /wallets/info",
        ],
        "a sale sends these, once each"
    );

    till.balance(&token, Some(&pin)).await.unwrap();
    assert_eq!(sent(&sb), ["POST /wallets/info"]);

    let held = till.reserve(&token, amount("30.00"), &pin).await.unwrap();
    assert_eq!(
        sent(&sb),
        ["POST /wallets/info", "POST /wallets/transactions"]
    );
    let done = till.complete(&held, None).await.unwrap();
    assert_eq!(done.available_after.map(|m| m.minor()), Some(7_000));
    assert_eq!(
        sent(&sb),
        [
            "POST /wallets/transactions/*/capture",
            "GET /wallets/cards/*"
        ]
    );

    // A top-up is paid like a sale: its payment read beside the card, then verified.
    sb.register_payment(ExternalPayment {
        id: "pay-0002".into(),
        amount: 500,
        currency: "NOK".into(),
        status: "CAPTURED".into(),
        captured: None,
        refunded: None,
    })
    .unwrap();
    sb.record();
    let topped = till
        .top_up(
            &token,
            amount("5.00"),
            giftpos_app::tender::Payment::Dintero("pay-0002".into()),
        )
        .await
        .unwrap();
    assert_eq!(topped.available_after.map(|m| m.minor()), Some(7_500));
    let mut top = sent(&sb);
    top[..2].sort();
    assert_eq!(
        top,
        [
            "GET /v1/transactions/*",
            "POST /wallets/info",
            "POST /wallets/transactions",
            "GET /wallets/cards/*"
        ]
    );
    // Everything, the concurrent look-ups included, went over one connection (HTTP/2
    // on the TLS handshake's ALPN), with one token.
    assert_eq!(sb.stats().connections, 1, "{:?}", sb.stats());
    assert_eq!(sb.stats().tokens_issued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_the_terminal_does_not_trust_is_a_tls_error_not_offline() {
    let sb = tls_sandbox(None).await;
    let dir = tempfile::tempdir().unwrap();
    let till = open(&env(&sb, dir.path(), false, &[])).await;
    let token = till.parse_token("9578000000001001").unwrap();
    let err = till.balance(&token, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Tls, "{err}");
    assert!(err.message.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn a_ca_file_that_is_missing_or_not_pem_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ca.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    for (path, says) in [
        (bad.display().to_string(), "holds none"),
        (
            dir.path().join("absent.pem").display().to_string(),
            "cannot be read",
        ),
    ] {
        let opts = LoadOptions {
            env: [
                ("GIFTPOS_CA_FILE".to_string(), path),
                (
                    "GIFTPOS_DATA_DIR".to_string(),
                    dir.path().display().to_string(),
                ),
            ]
            .into_iter()
            .collect(),
            privileged: true,
            ..LoadOptions::default()
        };
        let err = config::load(&opts).unwrap_err().to_string();
        assert!(
            err.contains("dintero.ca_file") && err.contains(says),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_warm_spares_the_clerk_a_handshake_after_the_server_closed_idle_connections() {
    // The server closes connections idle 3 s (no bytes from the client); each till
    // sits idle 4.5 s; keep-warm PINGs the HTTP/2 connection every second — frames, not
    // requests: the idle till sends no request.
    let sb = tls_sandbox(Some(Duration::from_secs(3))).await;
    let made = {
        let dir = tempfile::tempdir().unwrap();
        let t = open(&env(&sb, dir.path(), true, &[])).await;
        common::stock(&t, "warm", 1).await
    };
    let token = |t: &Terminal| t.parse_token(&made[0].0).unwrap();

    let warm_dir = tempfile::tempdir().unwrap();
    let warm = Arc::new(
        open(&env(
            &sb,
            warm_dir.path(),
            true,
            &[("GIFTPOS_KEEP_WARM_SECS", "1")],
        ))
        .await,
    );
    let _bg = warm.start_background(BackgroundParts::sync_only()).await;
    warm.balance(&token(&warm), None).await.unwrap();
    let requests = sb.stats().requests;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(sb.stats().requests, requests, "kept warm without requests");
    let before = sb.stats().connections;
    warm.balance(&token(&warm), None).await.unwrap();
    assert_eq!(
        sb.stats().connections,
        before,
        "kept warm: the clerk's look-up used the open connection"
    );

    let cold_dir = tempfile::tempdir().unwrap();
    let cold = open(&env(
        &sb,
        cold_dir.path(),
        true,
        &[("GIFTPOS_KEEP_WARM_SECS", "0")],
    ))
    .await;
    cold.balance(&token(&cold), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let before = sb.stats().connections;
    cold.balance(&token(&cold), None).await.unwrap();
    assert_eq!(
        sb.stats().connections,
        before + 1,
        "not kept warm: the server had closed it, a new handshake was needed"
    );
}
