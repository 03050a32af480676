//! Offline and fault behaviour of the journal and sync, against the sandbox over real HTTP.

use crate::common;

use common::*;
use giftpos_app::approval::ManagerAction;
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
    let t = terminal(&sb, dir.path()).await;
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
            .top_up(
                &token,
                t.parse_amount("10").unwrap(),
                giftpos_app::tender::Payment::Dintero("T-test.topup".into()),
            )
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
    let entries = t.journal_entries(None).unwrap();
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
        // Activated once, and the top-up after it (a top-up on an inactive card fails,
        // so a wrong order would show as a refused entry above).
        assert_eq!(snap.activations, 1);
        let txs = sb.with_store(|s| s.card_transactions(&card_id).unwrap());
        assert_eq!(txs.len(), 1, "the top-up: {txs:?}");
    }
    assert!(
        entries.iter().all(|e| e.card_token.is_none()),
        "tokens scrubbed once confirmed"
    );
    check_exactly_once(&t, &sb, &base);
    assert!(t.verify_journal().unwrap().ok);
}

/// A mixed workload while a fault is active, then sync: the same final state.
async fn converges_under(spec: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb, dir.path()).await;
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
        let _ = t
            .top_up(
                &token,
                t.parse_amount("50").unwrap(),
                giftpos_app::tender::Payment::Dintero("T-test.topup".into()),
            )
            .await;
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
    check_exactly_once(&t, &sb, &base);
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
    let t = terminal(&sb, dir.path()).await;
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
            t.top_up(
                &token,
                t.parse_amount("5").unwrap(),
                giftpos_app::tender::Payment::Dintero("T-test.topup".into())
            )
            .await
            .unwrap()
            .queued
        );
    }
    // Sync while refused: nothing changes, nothing is lost.
    t.sync_now().await.unwrap();
    assert_eq!(t.sync_status().unwrap().pending, 6);
    let sb = sandbox_at(&addr, Some(&state)).await;
    drain_all(&t, 20).await;
    check_exactly_once(&t, &sb, &base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_balance_shows_the_last_known_one_with_its_age() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb, dir.path()).await;
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
    let t = terminal(&sb, dir.path()).await;
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
    check_exactly_once(&t, &sb, &base);
}

/// A terminal whose configuration allows offline redemption within caps.
async fn terminal_with_caps(
    sb: &giftpos_sandbox::Sandbox,
    data: &std::path::Path,
) -> giftpos_app::Terminal {
    let file = data.join("caps.toml");
    std::fs::write(
        &file,
        "[offline]\nmax_redeem = \"100.00\"\nmax_outstanding = \"150.00\"\nmax_balance_age_secs = 3600\n",
    )
    .unwrap();
    terminal_with_policy(
        sb,
        data,
        Some(file),
        giftpos_app::sync::SyncPolicy::default(),
    )
    .await
}

/// A terminal on `sb` with an optional config file and a fast-backoff sync policy.
async fn terminal_with_policy(
    sb: &giftpos_sandbox::Sandbox,
    data: &std::path::Path,
    file: Option<std::path::PathBuf>,
    policy: giftpos_app::sync::SyncPolicy,
) -> giftpos_app::Terminal {
    let opts = giftpos_app::config::LoadOptions {
        explicit: file,
        env: env_for(sb, data).into_iter().collect(),
        privileged: true,
        ..Default::default()
    };
    let cfg = giftpos_app::config::load(&opts).unwrap();
    giftpos_app::Terminal::open_with(
        cfg,
        std::sync::Arc::new(giftpos_dintero::SystemClock),
        giftpos_app::sync::SyncPolicy {
            backoff_base: std::time::Duration::from_millis(20),
            backoff_cap: std::time::Duration::from_millis(200),
            ..policy
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_redemption_within_caps_syncs_and_each_cap_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    let sb = sandbox_at("127.0.0.1:0", Some(&state)).await;
    let addr = sb.addr().to_string();
    let t = terminal_with_caps(&sb, dir.path()).await;
    let base = baseline(&sb);
    let (a, b) = (
        t.parse_token("9578000000002001").unwrap(),
        t.parse_token("9578000000002003").unwrap(),
    );
    // Balances seen while online (NOK 500 and NOK 50).
    t.balance(&a, Some(&Pin::parse("6001").unwrap()))
        .await
        .unwrap();
    t.balance(&b, Some(&Pin::parse("6003").unwrap()))
        .await
        .unwrap();
    sb.stop().await;

    let pin = Pin::parse("0000").unwrap(); // cannot be checked offline anyway
    let over = t
        .reserve(&a, t.parse_amount("120").unwrap(), &pin)
        .await
        .unwrap_err();
    assert_eq!(over.code, ErrorCode::OfflineNotAllowed);
    assert!(over.message.contains("max_redeem"), "{}", over.message);
    let r = t
        .reserve(&a, t.parse_amount("90").unwrap(), &pin)
        .await
        .unwrap();
    assert!(r.queued);
    let done = t.complete(&r, None).await.unwrap();
    assert!(done.queued, "saved — will sync");
    let total = t
        .reserve(&a, t.parse_amount("70").unwrap(), &pin)
        .await
        .unwrap_err();
    assert!(
        total.message.contains("max_outstanding"),
        "{}",
        total.message
    );
    let unknown = t
        .reserve(
            &t.parse_token("9578000000002002").unwrap(),
            t.parse_amount("1").unwrap(),
            &pin,
        )
        .await
        .unwrap_err();
    assert!(
        unknown.message.contains("known balance"),
        "{}",
        unknown.message
    );
    // Card b's last known balance is NOK 50: 40 passes the caps.
    let rb = t
        .reserve(&b, t.parse_amount("40").unwrap(), &pin)
        .await
        .unwrap();
    t.complete(&rb, None).await.unwrap();

    // Meanwhile card b was spent elsewhere: the queued redemption will be refused.
    let sb = sandbox_at(&addr, Some(&state)).await;
    let other = giftpos_dintero::wire::TransactionRequest {
        ref_id: "elsewhere-1".into(),
        amount: 4_500,
        currency: "NOK".into(),
        kind: giftpos_dintero::wire::TransactionKind::Drawdown,
        token: None,
        card_id: Some("demo-live-50".into()),
        pending: Some(false),
        pin: None,
        metadata: Default::default(),
        originated_by: None,
    };
    t.client().transaction(&other).await.unwrap();
    let mut events = t.engine().subscribe();
    drain_all(&t, 20).await;

    let entries = t.journal_entries(None).unwrap();
    let attention: Vec<_> = entries
        .iter()
        .filter(|e| e.state == EntryState::NeedsAttention)
        .collect();
    assert_eq!(attention.len(), 1, "{entries:?}");
    let reason = attention[0].reason.clone().unwrap();
    assert!(
        reason.contains("at risk") && reason.contains("40.00"),
        "{reason}"
    );
    assert_eq!(t.sync_status().unwrap().needs_attention, 1);
    // A manager settles it: recorded as not applied, with who and why.
    let ok = common::manager(&t, ManagerAction::Resolve);
    assert!(t.resolve(&attention[0].id, &ok, "").is_err());
    // An approval for something else does not settle it.
    let void = common::manager(&t, ManagerAction::Void);
    assert!(t.resolve(&attention[0].id, &void, "x").is_err());
    let settled = t
        .resolve(&attention[0].id, &ok, "customer paid cash instead")
        .unwrap();
    assert_eq!(settled.state, EntryState::Refused);
    assert!(
        settled
            .reason
            .unwrap()
            .contains("customer paid cash instead (by 9)")
    );
    assert_eq!(t.sync_status().unwrap().needs_attention, 0);
    assert!(t.resolve(&attention[0].id, &ok, "again").is_err());
    // Card a's offline redemption went through: NOK 500 - 90.
    assert_eq!(
        sb.snapshot("demo-live-500").unwrap().balances.available,
        41_000
    );
    // Subscribers heard the entries change state.
    let mut heard = Vec::new();
    while let Ok(ev) = events.try_recv() {
        heard.push(serde_json::to_value(&ev).unwrap());
    }
    assert!(
        heard
            .iter()
            .any(|e| e["event"] == "entry" && e["state"] == "confirmed")
    );
    assert!(
        heard
            .iter()
            .any(|e| e["event"] == "entry" && e["state"] == "needs_attention")
    );
    assert!(heard.iter().any(|e| e["event"] == "status"));
    // The exactly-once check, less the elsewhere spend it cannot know of.
    let mut base = base;
    base.entry("demo-live-50".into())
        .and_modify(|v| v.0 -= 4_500);
    check_exactly_once(&t, &sb, &base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_the_operation_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb, dir.path()).await;
    let token = t.parse_token("9578000000002001").unwrap();
    t.top_up(
        &token,
        t.parse_amount("1").unwrap(),
        giftpos_app::tender::Payment::Dintero("T-test.topup".into()),
    )
    .await
    .unwrap();
    let before = sb.stats().transactions;
    t.journal().set_size_limit(1).unwrap();
    let mut refused = None;
    for _ in 0..100 {
        if let Err(e) = t
            .top_up(
                &token,
                t.parse_amount("1").unwrap(),
                giftpos_app::tender::Payment::Dintero("T-test.topup".into()),
            )
            .await
        {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("the journal filled up");
    assert_eq!(e.code, ErrorCode::StorageFull);
    let recorded = t.journal_entries(None).unwrap().len() as u64;
    assert_eq!(
        sb.stats().transactions - before,
        recorded - 1,
        "every recorded top-up was sent, the refused one was not"
    );
    assert!(t.verify_journal().unwrap().ok);
}

/// A terminal on `sb` that gives an entry to a manager after three failures where
/// Dintero answered.
async fn terminal_giving_up_after_3(
    sb: &giftpos_sandbox::Sandbox,
    data: &std::path::Path,
) -> giftpos_app::Terminal {
    let policy = giftpos_app::sync::SyncPolicy {
        max_failures: 3,
        ..Default::default()
    };
    terminal_with_policy(sb, data, None, policy).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_answer_is_not_offline_is_reconciled_and_never_waits_for_ever() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal_giving_up_after_3(&sb, dir.path()).await;
    let cards = stock(&t, "unr", 2).await;

    // A sale whose answer cannot be read: not "saved — will sync", but its own error,
    // and the status bar says so while Dintero stays online.
    sb.set_faults(faults(&["malformed:count=1:path=/activate"]));
    let e = t
        .activate(Activation {
            token: t.parse_token(&cards[0].0).unwrap(),
            amount: t.parse_amount("300").unwrap(),
            transaction_id: "T12345678.unr-1".into(),
            customer_id: None,
            expires_at: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::DinteroUnreadable, "{e}");
    assert_eq!(e.class().exit_code(), 7);
    assert!(e.message.contains("cards.activate"), "{e}");
    let status = t.sync_status().unwrap();
    assert!(status.online, "an unreadable answer is not offline");
    assert!(
        status
            .unreadable
            .as_deref()
            .is_some_and(|u| u.contains("cards.activate")),
        "{status:?}"
    );
    // Once answers are readable the entry is reconciled by reading the card first, and
    // the card is activated exactly once.
    drain_all(&t, 10).await;
    let snap = sb.snapshot("unr-0000").unwrap();
    assert_eq!((snap.activations, snap.balances.available), (1, 30_000));
    assert_eq!(t.sync_status().unwrap().unreadable, None);

    // A top-up whose answers stay unreadable: retried a bounded number of times, then
    // handed to a manager with the reason — never left waiting for ever.
    sb.set_faults(faults(&["malformed:path=/wallets/transactions"]));
    let card = t.parse_token(&cards[0].0).unwrap();
    let e = t
        .top_up(
            &card,
            t.parse_amount("10").unwrap(),
            giftpos_app::tender::Payment::Dintero("T-test.topup".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::DinteroUnreadable, "{e}");
    for _ in 0..6 {
        t.sync_now().await.unwrap();
    }
    let top = t
        .journal()
        .list(None, None)
        .unwrap()
        .into_iter()
        .find(|x| x.kind == OperationKind::TopUp)
        .unwrap();
    assert_eq!(top.state, EntryState::NeedsAttention, "{top:?}");
    let reason = top.reason.unwrap();
    assert!(
        reason.contains("3 failed attempts") && reason.contains("may have been applied"),
        "{reason}"
    );
    assert_eq!(t.sync_status().unwrap().needs_attention, 1);

    // A redemption on that card while its top-up waits for a manager: refused and
    // withdrawn, so it never reaches the card later as a hold nobody completes.
    sb.set_faults(Faults::default());
    let pin = Pin::parse(&cards[0].1).unwrap();
    let e = t
        .reserve(&card, t.parse_amount("5").unwrap(), &pin)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Rejected, "{e}");
    let withdrawn = |t: &giftpos_app::Terminal| {
        t.journal_entries(None)
            .unwrap()
            .into_iter()
            .find(|x| x.kind == OperationKind::Redeem)
            .unwrap()
    };
    assert_eq!(withdrawn(&t).state, EntryState::Refused);
    let ok = common::manager(&t, ManagerAction::Resolve);
    t.resolve(&top.id, &ok, "checked at Dintero: not applied")
        .unwrap();
    drain_all(&t, 5).await;
    assert_eq!(withdrawn(&t).state, EntryState::Refused);
    let snap = sb.snapshot("unr-0000").unwrap();
    assert_eq!(snap.balances.pending, 0, "no hold left on the card");

    // The doctor names the endpoint and the field.
    sb.set_faults(Faults::default());
    let opts = giftpos_app::config::LoadOptions {
        env: env_for(&sb, &dir.path().join("doctor"))
            .into_iter()
            .collect(),
        privileged: true,
        ..Default::default()
    };
    sb.set_faults(faults(&["malformed:path=/wallets/cards"]));
    let report = giftpos_app::Terminal::diagnose(
        giftpos_app::config::load(&opts),
        std::sync::Arc::new(giftpos_dintero::SystemClock),
    )
    .await;
    let answers = report
        .checks
        .iter()
        .find(|c| c.name == "dintero_answers")
        .unwrap();
    assert_eq!(
        answers.status,
        giftpos_app::doctor::CheckStatus::Fail,
        "{answers:?}"
    );
    assert!(
        answers.detail.contains("cards.list") && answers.detail.contains("not JSON"),
        "{answers:?}"
    );
    assert!(answers.fix.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_is_undone_once_and_history_says_what_may_be_undone() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let t = terminal(&sb, dir.path()).await;
    let cards = stock(&t, "und", 1).await;
    let token = t.parse_token(&cards[0].0).unwrap();
    t.activate(Activation {
        token: token.clone(),
        amount: t.parse_amount("100").unwrap(),
        transaction_id: "T12345678.und".into(),
        customer_id: None,
        expires_at: None,
    })
    .await
    .unwrap();
    let top = t
        .top_up(
            &token,
            t.parse_amount("20").unwrap(),
            giftpos_app::tender::Payment::Dintero("T-test.topup".into()),
        )
        .await
        .unwrap();
    let item = t.history_entry(&top.operation_id).unwrap();
    assert!(item.can_undo && !item.can_return, "{item:?}");
    let void = common::manager(&t, ManagerAction::Void);
    t.undo(&top.operation_id, &void).await.unwrap();
    assert!(!t.history_entry(&top.operation_id).unwrap().can_undo);
    let e = t.undo(&top.operation_id, &void).await.unwrap_err();
    assert!(e.message.contains("undone already"), "{e}");
    assert_eq!(sb.snapshot("und-0000").unwrap().balances.available, 10_000);
    // A reservation that was completed is not offered for undo (its capture is).
    let pin = Pin::parse(&cards[0].1).unwrap();
    let r = t
        .reserve(&token, t.parse_amount("10").unwrap(), &pin)
        .await
        .unwrap();
    let done = t.complete(&r, None).await.unwrap();
    assert!(!t.history_entry(&r.operation_id).unwrap().can_undo);
    assert!(t.history_entry(&done.operation_id).unwrap().can_undo);
}

/// The money flows of a redemption under every reading the sandbox plays where the
/// wallets reference is silent (`giftpos_sandbox::Readings`: a void after a partial
/// capture, the transaction list's envelope and paging, events echoing references):
/// reserve and complete partly, fully, cancel, a partial completion whose release's
/// answer is lost (found again in the card's transaction list, on whichever page), and a
/// card sold and topped up in cash with their answers lost. The
/// same invariants every time: nothing left reserved, the card drawn exactly what the
/// clerk completed, every entry finished, none waiting for a manager. Under the reading
/// where Dintero refuses a void after a partial capture, the terminal releases the rest
/// by capturing it and giving it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemptions_leave_nothing_reserved_under_every_reading() {
    // Every reading of the wallets' silent points (the gift card readings are
    // Checkout's: crates/giftpos-app/tests/library/contract.rs).
    let wallets = giftpos_sandbox::Readings::all().into_iter().filter(|r| {
        r.gift_card_drawn == Default::default() && r.preloaded_pin == Default::default()
    });
    for readings in wallets {
        let sb = sandbox_reading(readings).await;
        let dir = tempfile::tempdir().unwrap();
        let t = terminal_with(&sb, dir.path(), |cfg| {
            cfg.tenders.allowed = giftpos_app::tender::Tender::ALL.to_vec();
        })
        .await;
        let card = t.parse_token("9578000000002001").unwrap();
        let pin = Pin::parse("6001").unwrap();
        let amount = |s: &str| t.parse_amount(s).unwrap();

        // 100 reserved, 60 completed: the clerk's result is done and says nothing is
        // left for a manager.
        let r = t.reserve(&card, amount("100"), &pin).await.unwrap();
        let done = t.complete(&r, Some(amount("60"))).await.unwrap();
        assert_eq!(done.state, EntryState::Confirmed, "{readings}");
        assert_eq!(done.attention, None, "{readings}");
        assert_eq!(
            done.available_after.map(|m| m.minor()),
            Some(44_000),
            "{readings}: the receipt's balance"
        );
        // Reserved and cancelled; reserved and completed in full.
        let r = t.reserve(&card, amount("50"), &pin).await.unwrap();
        t.cancel(&r).await.unwrap();
        let r = t.reserve(&card, amount("30"), &pin).await.unwrap();
        t.complete(&r, None).await.unwrap();
        // 100 reserved, 40 completed, and the release's answer is lost.
        let r = t.reserve(&card, amount("100"), &pin).await.unwrap();
        sb.set_faults(faults(&["drop-after:count=1:path=/void"]));
        t.complete(&r, Some(amount("40"))).await.unwrap();
        sb.set_faults(Faults::default());
        for _ in 0..3 {
            t.sync_now().await.unwrap();
        }

        // A card sold and topped up in cash, each answer lost once: found again (the
        // card read back, the fund in the card's transaction list on whichever page),
        // never applied twice.
        let stock = stock(&t, "mx", 1).await;
        let sold = t.parse_token(&stock[0].0).unwrap();
        let cash = giftpos_app::tender::Payment::Cash;
        sb.set_faults(faults(&["drop-after:count=1:path=/activate"]));
        let _ = t.sell_paid(&sold, amount("200"), cash.clone()).await;
        sb.set_faults(faults(&["drop-after:count=1:path=/transactions"]));
        for _ in 0..3 {
            t.sync_now().await.unwrap();
        }
        let _ = t.top_up(&sold, amount("50"), cash).await;
        sb.set_faults(Faults::default());
        for _ in 0..3 {
            t.sync_now().await.unwrap();
        }
        let sold_card = sb.snapshot("mx-0000").unwrap();
        assert_eq!(sold_card.activations, 1, "{readings}: activated once");
        assert_eq!(
            sold_card.balances.available, 25_000,
            "{readings}: 200.00 sold + 50.00 topped up, each once"
        );

        let b = sb.snapshot("demo-live-500").unwrap().balances;
        assert_eq!(b.pending, 0, "{readings}: nothing left reserved");
        assert_eq!(
            b.available,
            50_000 - 6_000 - 3_000 - 4_000,
            "{readings}: drawn exactly what was completed"
        );
        let entries = t.journal_entries(None).unwrap();
        for e in &entries {
            assert!(
                matches!(e.state, EntryState::Confirmed | EntryState::Refused),
                "{readings}: {:?} {} is {:?}: {:?}",
                e.kind,
                e.amount,
                e.state,
                e.reason
            );
        }
        let s = t.engine().status().unwrap();
        assert_eq!(s.needs_attention, 0, "{readings}");
        assert!(
            sb.stats().faults >= 3,
            "{readings}: the answers were lost ({:?})",
            sb.stats()
        );
        sb.stop().await;
    }
}

/// Only the requests a till needs: with nobody signed in and nothing to sync, a till
/// running its background (sync loop, keep-warm) sends **no** request to Dintero — here
/// over 720 sync ticks and as many keep-warm ticks, an hour's worth at the default 5 s
/// (run at 5 ms a tick: the suite stays quick and needs no paused clock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_till_with_nobody_signed_in_sends_nothing_for_an_hour() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let dir = tempfile::tempdir().unwrap();
    let opts = giftpos_app::config::LoadOptions {
        env: env_for(&sb, dir.path()).into_iter().collect(),
        privileged: true,
        ..Default::default()
    };
    let mut cfg = giftpos_app::config::load(&opts).unwrap();
    let tick = std::time::Duration::from_millis(5);
    cfg.keep_warm = Some(tick);
    let t = std::sync::Arc::new(
        giftpos_app::Terminal::open_with(
            cfg,
            std::sync::Arc::new(giftpos_dintero::SystemClock),
            giftpos_app::sync::SyncPolicy {
                probe_every: tick,
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    let before = sb.stats().requests;
    let bg = t
        .start_background(giftpos_app::terminal::BackgroundParts::sync_only())
        .await;
    tokio::time::sleep(tick * 720).await;
    drop(bg);
    let sent = sb.stats().requests - before;
    assert_eq!(sent, 0, "an idle till sent {sent} requests");
}

/// Signed in and idle, the keep-warm sends nothing but what renews the access token:
/// at most one token request per token lifetime (here: the first), whatever its
/// interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_idle_till_only_keeps_its_token_fresh() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let dir = tempfile::tempdir().unwrap();
    let t = std::sync::Arc::new(
        terminal_with(&sb, dir.path(), |cfg| {
            cfg.keep_warm = Some(std::time::Duration::from_millis(200));
        })
        .await,
    );
    let pin = Pin::parse("1111").unwrap();
    t.add_clerk("1", "Clerk", giftpos_app::Role::Clerk, &pin, None)
        .unwrap();
    t.sign_in("1", &pin).unwrap();
    let before = sb.stats();
    let bg = t
        .start_background(giftpos_app::terminal::BackgroundParts::sync_only())
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    drop(bg);
    let after = sb.stats();
    assert!(
        after.requests - before.requests <= 1 && after.tokens_issued - before.tokens_issued <= 1,
        "signed in and idle: {} requests, {} tokens in 3 s of keep-warm every 200 ms",
        after.requests - before.requests,
        after.tokens_issued - before.tokens_issued
    );
}
