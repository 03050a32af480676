//! Offline and fault behaviour of the journal and sync, against the sandbox over real HTTP.

mod common;

use common::*;
use giftpos_app::{Activation, ErrorCode};
use giftpos_core::{OperationKind, Pin};
use giftpos_journal::EntryState;
use giftpos_sandbox::Faults;

fn faults(spec: &[&str]) -> Faults {
    let mut f = Faults::default();
    for s in spec {
        f.add(s).unwrap();
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_sales_and_top_ups_sync_in_order_when_the_network_returns() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    let sb = sandbox_at("127.0.0.1:0", Some(&state)).await;
    let addr = sb.addr().to_string();
    let base = sb.base_url();
    let t = terminal(&base, dir.path()).await;
    let cards = stock(&t, "off", 25).await;
    let base = baseline(&sb);
    sb.stop().await;

    // Dintero is gone: 25 sales and 25 top-ups are saved.
    for (i, (token, _)) in cards.iter().enumerate() {
        let token = t.parse_token(token).unwrap();
        let sold = t
            .activate(Activation {
                token: token.clone(),
                amount: t.parse_amount(&format!("{}", 100 + i)).unwrap(),
                transaction_id: format!("T12345678.off-{i}"),
                customer_id: None,
                expires_at: None,
            })
            .await
            .unwrap();
        assert!(sold.queued, "saved — will sync");
        let top = t
            .top_up(&token, t.parse_amount("10").unwrap())
            .await
            .unwrap();
        assert!(top.queued);
    }
    let status = t.sync_status().unwrap();
    assert_eq!(status.pending, 50);
    assert!(!status.online);
    // The balance offline: never seen here, so no last known balance.
    let e = t
        .balance(&t.parse_token(&cards[0].0).unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Offline);

    // Dintero is back on the same address: everything is confirmed, in order.
    let sb = sandbox_at(&addr, Some(&state)).await;
    drain_all(&t, 20).await;
    let entries = t.journal().list(None, None).unwrap();
    assert_eq!(entries.len(), 50);
    assert!(
        entries.iter().all(|e| e.state == EntryState::Confirmed),
        "{entries:?}"
    );
    for (i, _) in cards.iter().enumerate() {
        let card_id = format!("off-{i:04}");
        let snap = sb.snapshot(&card_id).unwrap();
        assert_eq!(snap.balances.available, (100 + i as i64) * 100 + 1_000);
        assert_eq!(
            snap.metadata["dintero_transaction_id"],
            serde_json::json!(format!("T12345678.off-{i}"))
        );
        // The activation came before the top-up (a top-up on an inactive card fails).
        let txs = sb.with_store(|s| s.card_transactions(&card_id).unwrap());
        assert!(txs[0].ref_id.starts_with("activation:"), "{txs:?}");
    }
    assert!(
        entries.iter().all(|e| e.card_token.is_none()),
        "tokens scrubbed once confirmed"
    );
    check_exactly_once(t.journal(), &sb, &base);
    assert!(t.journal().verify().unwrap().ok);
}

/// A mixed workload while a fault is active, then sync: the same final state.
async fn converges_under(spec: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb.base_url(), dir.path()).await;
    let cards = stock(&t, "flt", 6).await;
    let base = baseline(&sb);
    sb.set_faults(faults(spec));
    for (i, (tok, pin)) in cards.iter().enumerate() {
        let token = t.parse_token(tok).unwrap();
        let pin = Pin::parse(pin).unwrap();
        let _ = t
            .activate(Activation {
                token: token.clone(),
                amount: t.parse_amount("300").unwrap(),
                transaction_id: format!("T12345678.f{i}"),
                customer_id: None,
                expires_at: None,
            })
            .await;
        let _ = t.top_up(&token, t.parse_amount("50").unwrap()).await;
        if let Ok(r) = t.reserve(&token, t.parse_amount("20").unwrap(), &pin).await {
            let _ = if i % 2 == 0 {
                t.complete(&r, Some(t.parse_amount("15").unwrap())).await
            } else {
                t.cancel(&r).await
            };
        }
    }
    sb.set_faults(Faults::default());
    drain_all(&t, 40).await;
    let attention: Vec<_> = t
        .journal()
        .list(None, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.state == EntryState::NeedsAttention)
        .collect();
    assert!(attention.is_empty(), "{spec:?}: {attention:?}");
    check_exactly_once(t.journal(), &sb, &base);
    // Something was actually done under the fault.
    let confirmed = t
        .journal()
        .list(None, None)
        .unwrap()
        .iter()
        .filter(|e| e.state == EntryState::Confirmed && e.kind == OperationKind::Activate)
        .count();
    assert_eq!(
        confirmed,
        cards.len(),
        "{spec:?}: every sale ends up applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_when_requests_are_dropped_before_acting() {
    converges_under(&["drop-before:percent=40"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_when_answers_are_lost() {
    converges_under(&["drop-after:percent=40"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_through_server_errors() {
    converges_under(&["5xx:percent=40:status=502"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_through_rate_limits() {
    converges_under(&["429:percent=40:retry-after=0"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_with_latency() {
    converges_under(&["latency=30"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_after_refused_connections() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    let sb = sandbox_at("127.0.0.1:0", Some(&state)).await;
    let addr = sb.addr().to_string();
    let t = terminal(&sb.base_url(), dir.path()).await;
    let cards = stock(&t, "ref", 4).await;
    let base = baseline(&sb);
    // Two cards sold online, then the connection is refused for the rest.
    for (i, (tok, _)) in cards.iter().enumerate() {
        if i == 2 {
            break;
        }
        t.activate(Activation {
            token: t.parse_token(tok).unwrap(),
            amount: t.parse_amount("100").unwrap(),
            transaction_id: format!("T12345678.r{i}"),
            customer_id: None,
            expires_at: None,
        })
        .await
        .unwrap();
    }
    sb.stop().await;
    for (i, (tok, _)) in cards.iter().enumerate() {
        let token = t.parse_token(tok).unwrap();
        if i >= 2 {
            let r = t
                .activate(Activation {
                    token: token.clone(),
                    amount: t.parse_amount("100").unwrap(),
                    transaction_id: format!("T12345678.r{i}"),
                    customer_id: None,
                    expires_at: None,
                })
                .await
                .unwrap();
            assert!(r.queued);
        }
        assert!(
            t.top_up(&token, t.parse_amount("5").unwrap())
                .await
                .unwrap()
                .queued
        );
    }
    // Sync while refused: nothing changes, nothing is lost.
    t.engine().drain(true).await.unwrap();
    assert_eq!(t.journal().counts().unwrap().pending, 6);
    let sb = sandbox_at(&addr, Some(&state)).await;
    drain_all(&t, 20).await;
    check_exactly_once(t.journal(), &sb, &base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_balance_shows_the_last_known_one_with_its_age() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb.base_url(), dir.path()).await;
    let token = t.parse_token("9578000000002001").unwrap();
    let pin = Pin::parse("6001").unwrap();
    let online = t.balance(&token, Some(&pin)).await.unwrap();
    assert_eq!(online.last_known_at, None);
    sb.stop().await;
    let offline = t.balance(&token, Some(&pin)).await.unwrap();
    assert_eq!(offline.available.unwrap().minor(), 50_000);
    assert!(offline.last_known_at.is_some());
    assert!(offline.last_known_age_secs.unwrap() >= 0);
    // Redemption offline is refused by default, and says why.
    let e = t
        .reserve(&token, t.parse_amount("10").unwrap(), &pin)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::OfflineNotAllowed);
    assert!(e.message.contains("not enabled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reservation_answer_is_released_not_charged() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb.base_url(), dir.path()).await;
    let token = t.parse_token("9578000000002002").unwrap();
    let pin = Pin::parse("6002").unwrap();
    let base = baseline(&sb);
    // Every answer to a drawdown is lost while the clerk waits.
    sb.set_faults(faults(&["drop-after:path=/transactions"]));
    let e = t
        .reserve(&token, t.parse_amount("40").unwrap(), &pin)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Offline);
    sb.set_faults(Faults::default());
    drain_all(&t, 20).await;
    let snap = sb.snapshot("demo-live-1000").unwrap();
    assert_eq!(
        (snap.balances.pending, snap.balances.available),
        (0, 100_000)
    );
    check_exactly_once(t.journal(), &sb, &base);
}
