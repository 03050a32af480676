use super::*;
use chrono::TimeZone;
use giftpos_dintero::wire;
use giftpos_dintero::wire::{
    CaptureRequest, TransactionKind, TransactionRequest, TransactionType, VoidRequest,
};
use rand::SeedableRng;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn store() -> Store {
    let mut s = Store::new(PinPolicy {
        max_failures: 3,
        lock_secs: 60,
    });
    s.insert_card(
        t0(),
        "stock",
        "1111222233334444",
        0,
        Some("1234"),
        None,
        None,
        None,
    );
    s.insert_card(
        t0(),
        "live",
        "5555666677778888",
        0,
        Some("4321"),
        Some((50_000, "NOK")),
        None,
        None,
    );
    s
}

fn draw(ref_id: &str, amount: i64, pending: bool, pin: Option<&str>) -> TransactionRequest {
    TransactionRequest {
        ref_id: ref_id.into(),
        amount,
        currency: "NOK".into(),
        kind: TransactionKind::Drawdown,
        token: Some("5555666677778888".into()),
        card_id: None,
        pending: Some(pending),
        pin: pin.map(str::to_string),
        metadata: Metadata::new(),
        originated_by: None,
    }
}

fn activate_req(amount: i64) -> ActivateRequest {
    ActivateRequest {
        amount,
        currency: "NOK".into(),
        customer_id: None,
        name: None,
        originated_by: None,
        active_from: None,
        expires_at: None,
        metadata: Metadata::new(),
    }
}

fn code<T: std::fmt::Debug>(r: ApiResult<T>) -> &'static str {
    r.unwrap_err().code
}

#[test]
fn activation_moves_inactive_to_unused_once() {
    let mut s = store();
    let c = s.activate(t0(), "stock", &activate_req(20_000)).unwrap();
    assert_eq!(c.status, CardStatus::Unused);
    assert_eq!(c.amount_available, Some(20_000));
    assert_eq!(
        code(s.activate(t0(), "stock", &activate_req(20_000))),
        codes::CARD_ALREADY_ACTIVE
    );
    assert_eq!(
        code(s.activate(t0(), "nope", &activate_req(1))),
        codes::CARD_NOT_FOUND
    );
    assert_eq!(
        code(s.activate(t0(), "stock", &activate_req(0))),
        codes::VALIDATION
    );
}

#[test]
fn inactive_cards_cannot_pay_or_be_funded() {
    let mut s = store();
    let mut r = draw("r1", 100, false, Some("1234"));
    r.token = Some("1111222233334444".into());
    assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_INACTIVE);
    r.kind = TransactionKind::Fund;
    r.pending = None;
    assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_INACTIVE);
}

#[test]
fn a_partial_capture_leaves_the_rest_pending_until_captured_or_voided() {
    let mut s = store();
    let p = s
        .transaction(t0(), &draw("r1", 12_050, true, Some("4321")))
        .unwrap();
    assert_eq!(p.kind, TransactionType::PendingCapture);
    let b = s.snapshot("live").unwrap().balances;
    assert_eq!((b.pending, b.available), (12_050, 37_950));
    let cap = CaptureRequest {
        ref_id: "c1".into(),
        amount: Some(10_000),
        metadata: Metadata::new(),
    };
    let c = s.capture(t0(), &p.id, &cap).unwrap();
    assert_eq!(c.parent_id.as_deref(), Some(p.id.as_str()));
    // MD-capture: "the remaining amount will still be reserved/pending".
    let b = s.snapshot("live").unwrap().balances;
    assert_eq!(
        (b.pending, b.drawdown, b.available),
        (2_050, 10_000, 37_950)
    );
    assert_eq!(s.snapshot("live").unwrap().status, "active");
    // The same ref_id replays the first result.
    assert_eq!(s.capture(t0(), &p.id, &cap).unwrap().id, c.id);
    // More than what is left is refused; the rest can be captured later ...
    let over = CaptureRequest {
        ref_id: "c2".into(),
        amount: Some(2_051),
        metadata: Metadata::new(),
    };
    assert_eq!(
        code(s.capture(t0(), &p.id, &over)),
        codes::CAPTURE_EXCEEDS_PENDING
    );
    let some = CaptureRequest {
        ref_id: "c3".into(),
        amount: Some(50),
        metadata: Metadata::new(),
    };
    s.capture(t0(), &p.id, &some).unwrap();
    // ... and a void releases what is still pending.
    let v = VoidRequest {
        ref_id: "v1".into(),
        metadata: Metadata::new(),
    };
    let voided = s.void(t0(), &p.id, &v).unwrap();
    assert_eq!(
        (voided.kind, voided.amount),
        (TransactionType::Voided, 2_000)
    );
    let b = s.snapshot("live").unwrap().balances;
    assert_eq!((b.pending, b.drawdown, b.available), (0, 10_050, 39_950));
    // Settled: nothing more can be captured or voided.
    let again = CaptureRequest {
        ref_id: "c4".into(),
        amount: None,
        metadata: Metadata::new(),
    };
    assert_eq!(
        code(s.capture(t0(), &p.id, &again)),
        codes::TRANSACTION_NOT_PENDING
    );
}

#[test]
fn a_full_capture_settles_the_drawdown() {
    let mut s = store();
    let p = s
        .transaction(t0(), &draw("r1", 1_000, true, Some("4321")))
        .unwrap();
    let all = CaptureRequest {
        ref_id: "c1".into(),
        amount: None,
        metadata: Metadata::new(),
    };
    assert_eq!(s.capture(t0(), &p.id, &all).unwrap().amount, 1_000);
    let v = VoidRequest {
        ref_id: "v1".into(),
        metadata: Metadata::new(),
    };
    assert_eq!(
        code(s.void(t0(), &p.id, &v)),
        codes::TRANSACTION_NOT_PENDING
    );
}

#[test]
fn void_releases_the_pending_amount() {
    let mut s = store();
    let p = s
        .transaction(t0(), &draw("r1", 5_000, true, Some("4321")))
        .unwrap();
    let v = VoidRequest {
        ref_id: "v1".into(),
        metadata: Metadata::new(),
    };
    let tx = s.void(t0(), &p.id, &v).unwrap();
    assert_eq!(tx.kind, TransactionType::Voided);
    assert_eq!(s.snapshot("live").unwrap().balances.available, 50_000);
    assert_eq!(
        code(s.void(t0(), "tx_404", &v)),
        codes::TRANSACTION_NOT_FOUND
    );
    let over = CaptureRequest {
        ref_id: "c".into(),
        amount: Some(6_000),
        metadata: Metadata::new(),
    };
    let p2 = s
        .transaction(t0(), &draw("r2", 5_000, true, Some("4321")))
        .unwrap();
    assert_eq!(
        code(s.capture(t0(), &p2.id, &over)),
        codes::CAPTURE_EXCEEDS_PENDING
    );
}

#[test]
fn ref_id_is_idempotent_per_card() {
    let mut s = store();
    let first = s
        .transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
        .unwrap();
    let again = s
        .transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
        .unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(s.snapshot("live").unwrap().balances.drawdown, 1_000);
    assert_eq!(
        code(s.transaction(t0(), &draw("r1", 2_000, false, Some("4321")))),
        codes::REF_ID_CONFLICT
    );
}

#[test]
fn failures_are_not_remembered_for_replay() {
    let mut s = store();
    assert_eq!(
        code(s.transaction(t0(), &draw("r1", 60_000, false, Some("4321")))),
        codes::INSUFFICIENT_FUNDS
    );
    let mut fund = draw("f1", 20_000, false, None);
    fund.kind = TransactionKind::Fund;
    fund.pending = None;
    s.transaction(t0(), &fund).unwrap();
    assert!(
        s.transaction(t0(), &draw("r1", 60_000, false, Some("4321")))
            .is_ok()
    );
}

#[test]
fn pins_are_checked_counted_and_locked() {
    let mut s = store();
    assert_eq!(
        code(s.transaction(t0(), &draw("a", 1, false, None))),
        codes::PIN_REQUIRED
    );
    assert_eq!(
        code(s.transaction(t0(), &draw("a", 1, false, Some("0000")))),
        codes::PIN_INVALID
    );
    assert_eq!(
        code(s.info(t0(), "5555666677778888", Some("0000"))),
        codes::PIN_INVALID
    );
    let locked = s.info(t0(), "5555666677778888", Some("0000")).unwrap_err();
    assert_eq!(locked.code, codes::PIN_LOCKED);
    assert_eq!(locked.retry_after_secs, Some(60));
    // Even the right PIN is refused while locked ...
    assert_eq!(
        code(s.info(t0(), "5555666677778888", Some("4321"))),
        codes::PIN_LOCKED
    );
    // ... and accepted after the lock.
    let later = t0() + chrono::Duration::seconds(61);
    assert!(s.info(later, "5555666677778888", Some("4321")).is_ok());
    // By card id (server side), no PIN is needed.
    let mut r = draw("b", 1, false, None);
    r.token = None;
    r.card_id = Some("live".into());
    assert!(s.transaction(later, &r).is_ok());
}

#[test]
fn info_answers_amounts_and_checks_a_pin_when_given() {
    let mut s = store();
    let c = s.info(t0(), "5555666677778888", None).unwrap();
    assert_eq!(c.card_id, "live");
    assert_eq!(c.amount_available, Some(50_000));
    assert_eq!(
        code(s.info(t0(), "5555666677778888", Some("0000"))),
        codes::PIN_INVALID
    );
    let c = s.info(t0(), "5555666677778888", Some("4321")).unwrap();
    assert_eq!(c.amount_available, Some(50_000));
    assert_eq!(c.tokens[0].masked_code, "************8888");
    assert_eq!(
        code(s.info(t0(), "0000000000000000", None)),
        codes::TOKEN_NOT_FOUND
    );
}

#[test]
fn validity_window_is_enforced() {
    let mut s = store();
    s.insert_card(
        t0(),
        "future",
        "9999000000000001",
        0,
        None,
        Some((1_000, "NOK")),
        Some(t0() + chrono::Duration::days(1)),
        None,
    );
    s.insert_card(
        t0(),
        "old",
        "9999000000000002",
        0,
        None,
        Some((1_000, "NOK")),
        None,
        Some(t0() - chrono::Duration::days(1)),
    );
    let mut r = draw("x", 100, false, None);
    r.token = Some("9999000000000001".into());
    assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_NOT_YET_ACTIVE);
    r.kind = TransactionKind::Fund;
    r.pending = None;
    assert!(
        s.transaction(t0(), &r).is_ok(),
        "funding before active_from is allowed"
    );
    r.token = Some("9999000000000002".into());
    assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_EXPIRED);
}

#[test]
fn currency_and_shape_are_checked() {
    let mut s = store();
    let mut r = draw("x", 100, false, Some("4321"));
    r.currency = "SEK".into();
    assert_eq!(code(s.transaction(t0(), &r)), codes::CURRENCY_MISMATCH);
    r.currency = "NOK".into();
    r.card_id = Some("live".into());
    assert_eq!(code(s.transaction(t0(), &r)), codes::VALIDATION);
    r.card_id = None;
    r.ref_id = String::new();
    assert_eq!(code(s.transaction(t0(), &r)), codes::VALIDATION);
}

#[test]
fn batches_make_inactive_cards_with_tokens_of_the_format() {
    let mut s = store();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let req = BatchRequest {
        cards: (0..3)
            .map(|i| wire::BatchCard {
                card_id: format!("b{i}"),
                card_type: "gift_card".into(),
            })
            .collect(),
        options: wire::BatchOptions {
            pin: None,
            card_token: Some(wire::FormatOption {
                format: TokenFormat::dincard_uuid(),
            }),
        },
    };
    let cards = s.create_batch(t0(), &req, &mut rng).unwrap();
    assert_eq!(cards.len(), 3);
    for c in &cards {
        assert_eq!(c.status, CardStatus::Inactive);
        let tok = &c.card_token.as_ref().unwrap().token.as_ref().unwrap().value;
        giftpos_core::CardToken::parse(tok, &[TokenFormat::dincard_uuid()]).unwrap();
        assert_eq!(c.pin.as_ref().unwrap().pin.as_ref().unwrap().value.len(), 4);
    }
    assert_eq!(
        code(s.create_batch(t0(), &req, &mut rng)),
        codes::CARD_EXISTS,
        "the same ids again"
    );
}

#[test]
fn the_store_survives_serialization() {
    let mut s = store();
    s.transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
        .unwrap();
    let j = serde_json::to_string(&s).unwrap();
    let mut back: Store = serde_json::from_str(&j).unwrap();
    assert_eq!(back.snapshot("live").unwrap().balances.drawdown, 1_000);
    // Idempotency survives too.
    let again = back
        .transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
        .unwrap();
    assert_eq!(back.snapshot("live").unwrap().balances.drawdown, 1_000);
    assert_eq!(again.ref_id, "r1");
}
