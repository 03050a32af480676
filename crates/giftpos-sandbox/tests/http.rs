//! The sandbox over real HTTP: persistence across restarts, faults changed while
//! running, and errors in Dintero's shape.

use std::sync::Arc;

use giftpos_core::TokenFormat;
use giftpos_dintero::wire::{Metadata, TransactionKind, TransactionRequest};
use giftpos_dintero::{ClientConfig, DinteroClient, DinteroError, SystemClock};
use giftpos_sandbox::{Sandbox, SandboxConfig, SandboxError};
use serde_json::Value;

async fn start(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start("127.0.0.1:0".parse().unwrap(), cfg, Arc::new(SystemClock))
        .await
        .unwrap()
}

fn client(sb: &Sandbox) -> DinteroClient {
    let c = sb.config();
    DinteroClient::new(
        ClientConfig::new(
            sb.base_url(),
            c.account_id.clone(),
            c.client_id.clone(),
            c.client_secret.clone(),
        ),
        Arc::new(SystemClock),
    )
    .unwrap()
}

/// A plain HTTP client (reqwest is built without a bundled crypto provider).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn spend(ref_id: &str, amount: i64) -> TransactionRequest {
    TransactionRequest {
        ref_id: ref_id.into(),
        amount,
        currency: "NOK".into(),
        kind: TransactionKind::Drawdown,
        token: Some("9578000000002002".into()),
        card_id: None,
        pending: Some(false),
        pin: Some("6002".into()),
        metadata: Metadata::new(),
        originated_by: None,
    }
}

#[tokio::test]
async fn state_persists_across_a_restart_with_its_idempotency() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    let cfg = SandboxConfig {
        state_file: Some(state.clone()),
        ..SandboxConfig::default()
    };
    let sb = start(cfg.clone()).await;
    let first = client(&sb)
        .transaction(&spend("persist-1", 2_500))
        .await
        .unwrap();
    sb.stop().await;

    let sb = start(cfg).await;
    let snap = sb.snapshot("demo-live-1000").unwrap();
    assert_eq!(
        snap.balances.drawdown, 2_500,
        "the spend survived the restart"
    );
    let again = client(&sb)
        .transaction(&spend("persist-1", 2_500))
        .await
        .unwrap();
    assert_eq!(
        again.id, first.id,
        "the ref_id still replays the first result"
    );
    assert_eq!(
        sb.snapshot("demo-live-1000").unwrap().balances.drawdown,
        2_500
    );
    // Demo data was not seeded a second time over the saved state.
    assert_eq!(
        sb.with_store(|s| s.card_ids().count()),
        giftpos_sandbox::seed::DEMO_CARDS.len()
    );
}

#[tokio::test]
async fn a_corrupt_state_file_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    std::fs::write(&state, b"{ not json").unwrap();
    let err = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        SandboxConfig {
            state_file: Some(state.clone()),
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SandboxError::State { ref path, .. } if *path == state));
    assert!(err.to_string().contains("sandbox.json"));
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{ not json",
        "not overwritten"
    );
}

#[tokio::test]
async fn faults_change_while_running_through_the_admin_endpoint() {
    let sb = start(SandboxConfig::default()).await;
    let c = client(&sb);
    c.ensure_token().await.unwrap();
    let http = http();
    let url = format!("{}/_sandbox/faults", sb.base_url());
    let put = http
        .put(&url)
        .body(r#"{"rules":[{"kind":"server_error","status":503,"count":1}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(
        c.card("demo-live-500").await.unwrap_err(),
        DinteroError::Server { status: 503 }
    );
    assert!(c.card("demo-live-500").await.is_ok(), "count=1 ran out");
    let now: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(now["rules"], serde_json::json!([]));
    let stats: Value = http
        .get(format!("{}/_sandbox/stats", sb.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["faults"], 1);
    assert_eq!(stats["tokens_issued"], 1);
}

#[tokio::test]
async fn errors_come_in_dinteros_shape() {
    let sb = start(SandboxConfig::default()).await;
    let http = http();
    let base = format!("{}/v1/accounts/T12345678", sb.base_url());

    let r = http
        .get(format!("{base}/wallets/cards/demo-live-500"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");

    let r = http
        .post(format!("{base}/auth/token"))
        .basic_auth("giftpos-sandbox", Some("sandbox-secret"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");

    let r = http
        .get(format!("{}/nowhere", sb.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn batch_tokens_fit_the_requested_format_and_are_shown_once() {
    let sb = start(SandboxConfig::default()).await;
    let c = client(&sb);
    let req = giftpos_dintero::wire::BatchRequest {
        cards: vec![giftpos_dintero::wire::BatchCard {
            card_id: "once-1".into(),
            card_type: "gift_card".into(),
        }],
        options: Default::default(),
    };
    let made = c.create_batch(&req).await.unwrap();
    let tok = made.cards[0]
        .card_token
        .as_ref()
        .unwrap()
        .token
        .as_ref()
        .unwrap();
    assert!(giftpos_core::CardToken::parse(&tok.value, &[TokenFormat::numeric16()]).is_ok());
    let later = c.card("once-1").await.unwrap();
    assert!(later.card_token.is_none(), "the token is not shown again");
    assert!(
        later.pin.as_ref().is_none_or(|p| p.pin.is_none()),
        "nor the PIN"
    );
    assert!(!serde_json::to_string(&later).unwrap().contains(&tok.value));
}
