//! The client against the sandbox over real HTTP on loopback: every endpoint, every error
//! code, token refresh, and the faults a store's network produces.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use giftpos_core::{CardStatus, CardToken, Pin, Secret, TokenFormat};
use giftpos_dintero::wire::{
    AccountId, ActivateRequest, BatchCard, BatchOptions, BatchRequest, CaptureRequest,
    CreateCardRequest, FormatOption, Metadata, TransactionKind, TransactionRequest,
    TransactionType, VoidRequest,
};
use giftpos_dintero::{
    ClientConfig, Clock, DinteroClient, DinteroError, ManualClock, RetryAdvice, SystemClock,
};
use giftpos_sandbox::{Faults, PinPolicy, Sandbox, SandboxConfig};

const LIVE_500: &str = "9578000000002001";
const STOCK_01: &str = "9578000000001001";

fn formats() -> Vec<TokenFormat> {
    vec![TokenFormat::numeric16(), TokenFormat::dincard_uuid()]
}

fn token(s: &str) -> CardToken {
    CardToken::parse(s, &formats()).unwrap()
}

fn pin(s: &str) -> Pin {
    Pin::parse(s).unwrap()
}

async fn sandbox_with(cfg: SandboxConfig, clock: Arc<dyn Clock>) -> Sandbox {
    Sandbox::start("127.0.0.1:0".parse().unwrap(), cfg, clock)
        .await
        .unwrap()
}

async fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::default(), Arc::new(SystemClock)).await
}

fn client_cfg(sb: &Sandbox) -> ClientConfig {
    let c = sb.config();
    let mut cfg = ClientConfig::new(
        sb.base_url(),
        c.account_id.clone(),
        c.client_id.clone(),
        c.client_secret.clone(),
    );
    cfg.timeout = Duration::from_secs(5);
    cfg
}

fn client(sb: &Sandbox) -> DinteroClient {
    DinteroClient::new(client_cfg(sb), Arc::new(SystemClock)).unwrap()
}

fn faults(specs: &[&str]) -> Faults {
    let mut f = Faults::default();
    for s in specs {
        f.add(s).unwrap();
    }
    f
}

fn drawdown(ref_id: &str, tok: &str, amount: i64, pending: bool, pin: &str) -> TransactionRequest {
    TransactionRequest {
        ref_id: ref_id.into(),
        amount,
        currency: "NOK".into(),
        kind: TransactionKind::Drawdown,
        token: Some(tok.into()),
        card_id: None,
        pending: Some(pending),
        pin: Some(pin.into()),
        metadata: Metadata::new(),
        originated_by: Some("till-1".into()),
    }
}

fn fund(ref_id: &str, card_id: &str, amount: i64) -> TransactionRequest {
    TransactionRequest {
        ref_id: ref_id.into(),
        amount,
        currency: "NOK".into(),
        kind: TransactionKind::Fund,
        token: None,
        card_id: Some(card_id.into()),
        pending: None,
        pin: None,
        metadata: Metadata::new(),
        originated_by: None,
    }
}

fn activation(amount: i64, tx: &str) -> ActivateRequest {
    let mut metadata = Metadata::new();
    metadata.insert("dintero_transaction_id".into(), tx.into());
    ActivateRequest {
        amount,
        currency: "NOK".into(),
        customer_id: None,
        name: None,
        originated_by: Some("till-1".into()),
        active_from: None,
        expires_at: None,
        metadata,
    }
}

#[tokio::test]
async fn sells_a_printed_card_end_to_end() {
    let sb = sandbox().await;
    let c = client(&sb);
    // Scan: the token finds the card (no PIN at the sale); an unsold card holds nothing.
    let card = c.info(&token(STOCK_01), None).await.unwrap();
    assert_eq!(card.status, CardStatus::Inactive);
    assert_eq!(card.amount_available, Some(0));
    let active = c
        .activate(&card.card_id, &activation(50_000, "T12345678.pay-1"))
        .await
        .unwrap();
    assert_eq!(active.status, CardStatus::Unused);
    assert_eq!(active.amount_available, Some(50_000));
    assert_eq!(
        active.metadata["dintero_transaction_id"],
        serde_json::json!("T12345678.pay-1")
    );
    let read = c.card(&card.card_id).await.unwrap();
    assert_eq!(read.amount_balance, Some(50_000));
    // The buyer's PIN shows the balance.
    let info = c.info(&token(STOCK_01), Some(&pin("4001"))).await.unwrap();
    assert_eq!(info.amount_available, Some(50_000));
}

#[tokio::test]
async fn redeems_partly_captures_voids_and_tops_up() {
    let sb = sandbox().await;
    let c = client(&sb);
    let p = c
        .transaction(&drawdown("r-1", LIVE_500, 12_050, true, "6001"))
        .await
        .unwrap();
    assert_eq!(p.kind, TransactionType::PendingCapture);
    let cap = c
        .capture(
            &p.id,
            &CaptureRequest {
                ref_id: "c-1".into(),
                amount: Some(10_000),
                metadata: Metadata::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(cap.parent_id.as_deref(), Some(p.id.as_str()));
    // MD-capture: the rest of a partial capture stays pending until it is voided.
    assert_eq!(
        c.card("demo-live-500").await.unwrap().amount_pending,
        Some(2_050)
    );
    let rest = c
        .void(
            &p.id,
            &VoidRequest {
                ref_id: "v-rest".into(),
                metadata: Metadata::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!((rest.kind, rest.amount), (TransactionType::Voided, 2_050));
    let p2 = c
        .transaction(&drawdown("r-2", LIVE_500, 5_000, true, "6001"))
        .await
        .unwrap();
    let v = c
        .void(
            &p2.id,
            &VoidRequest {
                ref_id: "v-1".into(),
                metadata: Metadata::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(v.kind, TransactionType::Voided);
    let top = c
        .transaction(&fund("f-1", "demo-live-500", 20_000))
        .await
        .unwrap();
    assert_eq!(top.kind, TransactionType::Fund);
    let card = c.card("demo-live-500").await.unwrap();
    assert_eq!(card.amount_available, Some(50_000 - 10_000 + 20_000));
    assert_eq!(card.status, CardStatus::Active);
    let history = c.card_transactions("demo-live-500").await.unwrap();
    assert_eq!(
        history.len(),
        6,
        "pending, capture, void of the rest, pending, void, fund"
    );
}

#[tokio::test]
async fn creates_single_cards_and_batches_and_lists_them() {
    let sb = sandbox().await;
    let c = client(&sb);
    let created = c
        .create_card(&CreateCardRequest {
            card_id: "single-1".into(),
            amount: 30_000,
            currency: "NOK".into(),
            card_type: "gift_card".into(),
            customer_id: Some("cust-9".into()),
            name: None,
            metadata: Metadata::new(),
            active_from: None,
            expires_at: None,
            pin: None,
            card_token: None,
        })
        .await
        .unwrap();
    assert_eq!(created.amount_available, Some(30_000));
    let shown = created.card_token.unwrap().token.unwrap().value;
    assert!(CardToken::parse(&shown, &formats()).is_ok());
    let batch = c
        .create_batch(&BatchRequest {
            cards: (0..5)
                .map(|i| BatchCard {
                    card_id: format!("batch-{i}"),
                    card_type: "gift_card".into(),
                })
                .collect(),
            options: BatchOptions {
                pin: None,
                card_token: Some(FormatOption {
                    format: TokenFormat::dincard_uuid(),
                }),
            },
        })
        .await
        .unwrap();
    assert_eq!(batch.cards.len(), 5);
    assert!(batch.cards.iter().all(|c| c.status == CardStatus::Inactive));
    // Page through every card, three at a time.
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = c.list_cards(3, after.as_deref()).await.unwrap();
        all.extend(page.cards.into_iter().map(|c| c.card_id));
        match page.starting_after {
            Some(s) => after = Some(s),
            None => break,
        }
    }
    assert!(all.contains(&"batch-4".to_string()) && all.contains(&"single-1".to_string()));
    let total = sb.with_store(|s| s.card_ids().count());
    assert_eq!(all.len(), total);
}

#[tokio::test]
async fn every_error_code_reaches_its_typed_error() {
    let sb = sandbox_with(
        SandboxConfig {
            pin_policy: PinPolicy {
                max_failures: 3,
                lock_secs: 120,
            },
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await;
    let c = client(&sb);
    let err = |r: Result<_, DinteroError>| {
        r.map(|_: giftpos_dintero::wire::Transaction| ())
            .unwrap_err()
    };

    assert_eq!(
        err(c
            .transaction(&drawdown("a", LIVE_500, 100, false, "0000"))
            .await),
        DinteroError::PinInvalid
    );
    let mut no_pin = drawdown("a", LIVE_500, 100, false, "");
    no_pin.pin = None;
    assert_eq!(err(c.transaction(&no_pin).await), DinteroError::PinRequired);
    assert_eq!(
        err(c
            .transaction(&drawdown("a", LIVE_500, 9_999_999, false, "6001"))
            .await),
        DinteroError::InsufficientFunds
    );
    assert_eq!(
        err(c
            .transaction(&drawdown("a", STOCK_01, 100, false, "4001"))
            .await),
        DinteroError::CardInactive
    );
    assert_eq!(
        err(c
            .transaction(&drawdown("a", "9578000000003001", 100, false, "7001"))
            .await),
        DinteroError::CardExpired
    );
    assert_eq!(
        err(c
            .transaction(&drawdown("a", "9578000000003002", 100, false, "7002"))
            .await),
        DinteroError::CardNotYetActive
    );
    assert_eq!(
        err(c
            .transaction(&drawdown("a", "9578000000009999", 100, false, "1"))
            .await),
        DinteroError::TokenNotFound
    );
    assert_eq!(
        err(c.transaction(&fund("a", "no-such-card", 100)).await),
        DinteroError::CardNotFound
    );
    let mut sek = fund("a", "demo-live-500", 100);
    sek.currency = "SEK".into();
    assert_eq!(
        err(c.transaction(&sek).await),
        DinteroError::CurrencyMismatch
    );
    assert!(matches!(
        err(c.transaction(&fund("", "demo-live-500", 100)).await),
        DinteroError::Validation(_)
    ));
    c.transaction(&fund("same", "demo-live-500", 100))
        .await
        .unwrap();
    assert_eq!(
        err(c.transaction(&fund("same", "demo-live-500", 200)).await),
        DinteroError::RefIdConflict
    );
    let cap = CaptureRequest {
        ref_id: "c".into(),
        amount: None,
        metadata: Metadata::new(),
    };
    assert_eq!(
        err(c.capture("tx_nope", &cap).await),
        DinteroError::TransactionNotFound
    );
    let settled = c
        .transaction(&fund("f2", "demo-live-500", 100))
        .await
        .unwrap();
    assert_eq!(
        err(c.capture(&settled.id, &cap).await),
        DinteroError::TransactionNotPending
    );
    let p = c
        .transaction(&drawdown("p", LIVE_500, 1_000, true, "6001"))
        .await
        .unwrap();
    let over = CaptureRequest {
        amount: Some(1_001),
        ..cap.clone()
    };
    assert_eq!(
        err(c.capture(&p.id, &over).await),
        DinteroError::CaptureExceedsPending
    );
    assert_eq!(
        c.activate("demo-live-500", &activation(100, "x"))
            .await
            .unwrap_err(),
        DinteroError::CardAlreadyActive
    );
    let exists = CreateCardRequest::gift_card("demo-live-500", 1, "NOK");
    assert_eq!(
        c.create_card(&exists).await.unwrap_err(),
        DinteroError::CardExists
    );
    // Three wrong PINs lock the card, and the lock says how long.
    let t = token("9578000000002002");
    assert_eq!(
        c.info(&t, Some(&pin("1"))).await.unwrap_err(),
        DinteroError::PinInvalid
    );
    assert_eq!(
        c.info(&t, Some(&pin("2"))).await.unwrap_err(),
        DinteroError::PinInvalid
    );
    let locked = c.info(&t, Some(&pin("3"))).await.unwrap_err();
    assert_eq!(
        locked,
        DinteroError::PinLocked {
            retry_after: Some(Duration::from_secs(120))
        }
    );
    assert_eq!(locked.retry_advice(), RetryAdvice::Never);
}

#[tokio::test]
async fn credentials_and_account_errors() {
    let sb = sandbox().await;
    let mut cfg = client_cfg(&sb);
    cfg.client_secret = Secret::new("wrong");
    let c = DinteroClient::new(cfg, Arc::new(SystemClock)).unwrap();
    assert_eq!(
        c.card("demo-live-500").await.unwrap_err(),
        DinteroError::InvalidClient
    );

    let mut cfg = client_cfg(&sb);
    cfg.account_id = AccountId::parse("T99999999").unwrap();
    let c = DinteroClient::new(cfg, Arc::new(SystemClock)).unwrap();
    assert_eq!(
        c.card("demo-live-500").await.unwrap_err(),
        DinteroError::Forbidden
    );
}

#[tokio::test]
async fn tokens_are_refreshed_ahead_of_expiry() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
    ));
    let sb = sandbox_with(SandboxConfig::default(), clock.clone()).await;
    let mut cfg = client_cfg(&sb);
    cfg.refresh_margin = Duration::from_secs(300);
    let c = DinteroClient::new(cfg, clock.clone()).unwrap();
    c.card("demo-live-500").await.unwrap();
    assert_eq!(c.token_fetches(), 1);
    clock.advance(Duration::from_secs(3000));
    c.card("demo-live-500").await.unwrap();
    assert_eq!(c.token_fetches(), 1, "still well before expiry");
    clock.advance(Duration::from_secs(400));
    c.card("demo-live-500").await.unwrap();
    assert_eq!(c.token_fetches(), 2, "within the margin: refreshed ahead");
    assert_eq!(sb.stats().tokens_issued, 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let sb = sandbox().await;
    sb.set_faults(faults(&["latency=40"]));
    let c = client(&sb);
    let calls = (0..16).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { c.card("demo-live-500").await })
    });
    for h in calls {
        h.await.unwrap().unwrap();
    }
    assert_eq!(c.token_fetches(), 1);
    assert_eq!(sb.stats().tokens_issued, 1);
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let sb = sandbox().await;
    let c = client(&sb);
    c.card("demo-live-500").await.unwrap();
    sb.revoke_tokens();
    c.card("demo-live-500").await.unwrap();
    assert_eq!(c.token_fetches(), 2);

    // A server that refuses every token: one refresh, then a typed error, no loop.
    let sb0 = sandbox_with(
        SandboxConfig {
            token_ttl_secs: 0,
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await;
    let c0 = client(&sb0);
    assert_eq!(
        c0.card("demo-live-500").await.unwrap_err(),
        DinteroError::Unauthorized
    );
    assert_eq!(c0.token_fetches(), 2);
}

#[tokio::test]
async fn lost_answers_are_safe_to_retry_with_the_same_ref_id() {
    let sb = sandbox().await;
    let c = client(&sb);
    let before = sb.snapshot("demo-live-500").unwrap().balances;

    sb.set_faults(faults(&["drop-after:count=1:path=/transactions"]));
    let req = drawdown("lost-1", LIVE_500, 7_000, true, "6001");
    let e = c.transaction(&req).await.unwrap_err();
    assert_eq!(e, DinteroError::ConnectionLost);
    assert_eq!(e.retry_advice(), RetryAdvice::SameRefIdOnly);
    let p = c.transaction(&req).await.unwrap();
    let after = sb.snapshot("demo-live-500").unwrap().balances;
    assert_eq!(after.pending - before.pending, 7_000, "drawn once");

    sb.set_faults(faults(&["drop-after:count=1:path=/capture"]));
    let cap = CaptureRequest {
        ref_id: "lost-cap".into(),
        amount: Some(4_000),
        metadata: Metadata::new(),
    };
    assert_eq!(
        c.capture(&p.id, &cap).await.unwrap_err(),
        DinteroError::ConnectionLost
    );
    let first = c.capture(&p.id, &cap).await.unwrap();
    let again = c.capture(&p.id, &cap).await.unwrap();
    assert_eq!(first.id, again.id);
    let b = sb.snapshot("demo-live-500").unwrap().balances;
    assert_eq!(
        (b.pending, b.drawdown),
        (before.pending + 3_000, before.drawdown + 4_000),
        "captured once; the rest of the 7,000 stays pending"
    );

    let p2 = c
        .transaction(&drawdown("lost-2", LIVE_500, 1_000, true, "6001"))
        .await
        .unwrap();
    sb.set_faults(faults(&["drop-after:count=1:path=/void"]));
    let v = VoidRequest {
        ref_id: "lost-void".into(),
        metadata: Metadata::new(),
    };
    assert_eq!(
        c.void(&p2.id, &v).await.unwrap_err(),
        DinteroError::ConnectionLost
    );
    c.void(&p2.id, &v).await.unwrap();
    assert_eq!(
        sb.snapshot("demo-live-500").unwrap().balances.pending,
        before.pending + 3_000,
        "the 1,000 released once"
    );

    // Dropped before acting: nothing happened, and a retry acts once.
    sb.set_faults(faults(&["drop-before:count=1:path=/transactions"]));
    let f = fund("lost-fund", "demo-live-500", 2_500);
    assert_eq!(
        c.transaction(&f).await.unwrap_err(),
        DinteroError::ConnectionLost
    );
    assert_eq!(
        sb.snapshot("demo-live-500").unwrap().balances.funds,
        before.funds
    );
    c.transaction(&f).await.unwrap();
    c.transaction(&f).await.unwrap();
    assert_eq!(
        sb.snapshot("demo-live-500").unwrap().balances.funds,
        before.funds + 2_500
    );
}

#[tokio::test]
async fn server_faults_are_typed_and_say_what_is_safe() {
    let sb = sandbox().await;
    let c = client(&sb);
    c.ensure_token().await.unwrap();

    sb.set_faults(faults(&["5xx:count=1:status=502"]));
    let e = c.card("demo-live-500").await.unwrap_err();
    assert_eq!(e, DinteroError::Server { status: 502 });
    assert!(e.is_transient());

    sb.set_faults(faults(&["429:count=1:retry-after=7"]));
    let e = c.card("demo-live-500").await.unwrap_err();
    assert_eq!(
        e,
        DinteroError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(e.retry_advice(), RetryAdvice::Safe);

    sb.set_faults(faults(&["malformed:count=1"]));
    let e = c.card("demo-live-500").await.unwrap_err();
    match &e {
        DinteroError::Unreadable { op, status, what } => {
            assert_eq!((op.as_str(), *status), ("cards.get", 200));
            assert!(what.starts_with("not JSON"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.retry_advice(), RetryAdvice::SameRefIdOnly);
    assert!(!e.is_connection(), "an unreadable answer is not offline");

    // Slower than the client's timeout.
    sb.set_faults(faults(&["latency=800"]));
    let mut cfg = client_cfg(&sb);
    cfg.timeout = Duration::from_millis(300);
    let slow = DinteroClient::new(cfg, Arc::new(SystemClock)).unwrap();
    assert_eq!(
        slow.card("demo-live-500").await.unwrap_err(),
        DinteroError::Timeout
    );
    sb.set_faults(Faults::default());
    assert!(
        c.card("demo-live-500").await.is_ok(),
        "recovers when the faults stop"
    );
}

#[tokio::test]
async fn refused_connections_and_tls_failures_are_told_apart() {
    let sb = sandbox().await;
    let cfg = client_cfg(&sb);
    let addr = sb.addr();
    sb.stop().await;
    let c = DinteroClient::new(cfg.clone(), Arc::new(SystemClock)).unwrap();
    let e = c.card("demo-live-500").await.unwrap_err();
    assert_eq!(e, DinteroError::ConnectionRefused);
    assert_eq!(e.retry_advice(), RetryAdvice::Safe);

    // Speaking TLS to a plain-HTTP port fails the handshake.
    let plain = sandbox().await;
    let mut tls_cfg = client_cfg(&plain);
    tls_cfg.api_base = format!("https://{}", plain.addr());
    let t = DinteroClient::new(tls_cfg, Arc::new(SystemClock)).unwrap();
    let e = t.card("demo-live-500").await.unwrap_err();
    assert!(matches!(e, DinteroError::Tls(_)), "{e:?}");
    let _ = addr;
}

#[tokio::test]
async fn wallets_and_checkout_can_use_separate_api_clients() {
    // Dintero advises a separate API client for Wallets (G-create): this sandbox lets
    // its main client call only Wallets and a second one only Checkout.
    let sb = sandbox_with(
        SandboxConfig {
            checkout_client: Some(("pay-client".into(), Secret::new("pay-secret"))),
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await;
    let mut one = client_cfg(&sb);
    one.checkout_base = sb.base_url();
    let single = DinteroClient::new(one.clone(), Arc::new(SystemClock)).unwrap();
    single.card("demo-live-500").await.unwrap();
    assert_eq!(
        single.session("T00000000.sbx-none").await.unwrap_err(),
        DinteroError::Forbidden,
        "one client for both is refused where the APIs are split"
    );

    let mut two = one;
    two.checkout_client = Some(("pay-client".into(), Secret::new("pay-secret")));
    assert!(!format!("{two:?}").contains("pay-secret"));
    let split = DinteroClient::new(two, Arc::new(SystemClock)).unwrap();
    split.card("demo-live-500").await.unwrap();
    assert_eq!(
        split.session("T00000000.sbx-none").await.unwrap_err(),
        DinteroError::NotFound,
        "the Checkout client got through to the (unknown) session"
    );
    split.card("demo-live-500").await.unwrap();
    split.ensure_checkout_token().await.unwrap();
    assert_eq!(
        split.token_fetches(),
        2,
        "one token per client, each cached"
    );
}

#[tokio::test]
async fn a_malformed_answer_on_every_endpoint_is_unreadable_and_names_the_call() {
    use giftpos_dintero::wire::checkout::{CaptureBody, RefundBody};
    let sb = sandbox().await;
    let mut cfg = client_cfg(&sb);
    cfg.checkout_base = sb.base_url();
    let c = DinteroClient::new(cfg, Arc::new(SystemClock)).unwrap();
    c.ensure_token().await.unwrap();
    sb.set_faults(faults(&["malformed:path=/v1/"]));
    let check = |op: &str, e: DinteroError| match e {
        DinteroError::Unreadable {
            op: got, status, ..
        } => {
            assert_eq!((got.as_str(), status), (op, 200));
            assert!(
                !DinteroError::Unreadable {
                    op: got,
                    status,
                    what: String::new()
                }
                .is_connection()
            );
        }
        other => panic!("{op}: {other:?}"),
    };
    check("info", c.info(&token(LIVE_500), None).await.unwrap_err());
    check("cards.get", c.card("demo-live-500").await.unwrap_err());
    check("cards.list", c.list_cards(5, None).await.unwrap_err());
    check(
        "cards.transactions",
        c.card_transactions("demo-live-500").await.unwrap_err(),
    );
    check(
        "cards.activate",
        c.activate("demo-stock-01", &activation(100, "T12345678.m"))
            .await
            .unwrap_err(),
    );
    check(
        "transactions.create",
        c.transaction(&fund("m-1", "demo-live-500", 100))
            .await
            .unwrap_err(),
    );
    let cap = CaptureRequest {
        ref_id: "m-c".into(),
        amount: None,
        metadata: Metadata::new(),
    };
    check(
        "transactions.capture",
        c.capture("tx_1", &cap).await.unwrap_err(),
    );
    let v = VoidRequest {
        ref_id: "m-v".into(),
        metadata: Metadata::new(),
    };
    check("transactions.void", c.void("tx_1", &v).await.unwrap_err());
    check(
        "sessions.get",
        c.session("T00000000.sbx1").await.unwrap_err(),
    );
    check(
        "sessions.cancel",
        c.cancel_session("T00000000.sbx1").await.unwrap_err(),
    );
    check(
        "payments.get",
        c.payment("T00000000.tx1").await.unwrap_err(),
    );
    check(
        "payments.capture",
        c.capture_payment(
            "T00000000.tx1",
            &CaptureBody {
                amount: 1,
                capture_reference: None,
            },
        )
        .await
        .unwrap_err(),
    );
    check(
        "payments.refund",
        c.refund_payment(
            "T00000000.tx1",
            &RefundBody {
                amount: 1,
                reason: None,
                refund_reference: None,
            },
        )
        .await
        .unwrap_err(),
    );
    check(
        "cards.batch",
        c.create_batch(&BatchRequest {
            cards: vec![BatchCard {
                card_id: "m-b".into(),
                card_type: "gift_card".into(),
            }],
            options: Default::default(),
        })
        .await
        .unwrap_err(),
    );
    let session = giftpos_dintero::wire::checkout::SessionProfileRequest {
        url: Default::default(),
        order: giftpos_dintero::wire::checkout::SessionOrder {
            amount: 100,
            currency: "NOK".into(),
            merchant_reference: "m-s".into(),
            ..Default::default()
        },
        profile_id: "P00000000.p".into(),
        metadata: Metadata::new(),
        ..Default::default()
    };
    check(
        "sessions.create",
        c.create_session(&session).await.unwrap_err(),
    );
    // The token endpoint too (a fresh client must fetch one).
    let fresh = DinteroClient::new(client_cfg(&sb), Arc::new(SystemClock)).unwrap();
    check("auth.token", fresh.ensure_token().await.unwrap_err());
}

/// The card's transaction list in each shape the sandbox can give it (its envelope and
/// paging are not documented): every transaction comes back, on every page, whichever
/// the shape; a shape the client does not know is unreadable, never "no transactions".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cards_transactions_are_read_in_every_envelope_and_across_pages() {
    use giftpos_sandbox::{Readings, TransactionsList};
    for list in [
        TransactionsList::Envelope,
        TransactionsList::Bare,
        TransactionsList::Paged,
    ] {
        let cfg = SandboxConfig {
            readings: Readings {
                transactions_list: list,
                ..Readings::default()
            },
            ..SandboxConfig::default()
        };
        let sb = sandbox_with(cfg, Arc::new(SystemClock)).await;
        let c = client(&sb);
        for i in 0..5 {
            c.transaction(&fund(&format!("f-{i}"), "demo-live-500", 100))
                .await
                .unwrap();
        }
        let all = c.card_transactions("demo-live-500").await.unwrap();
        let refs: Vec<&str> = all.iter().map(|t| t.ref_id.as_str()).collect();
        assert_eq!(refs, ["f-0", "f-1", "f-2", "f-3", "f-4"], "{list:?}");
        sb.stop().await;
    }
}
