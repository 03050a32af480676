use giftpos_dintero::wire::checkout::{OrderItem, SessionOrder, SessionUrls};

use super::*;

fn req(profile: &str, amount: i64, items: i64) -> SessionProfileRequest {
    SessionProfileRequest {
        url: SessionUrls {
            return_url: "https://till.invalid/return".into(),
            callback_url: None,
        },
        order: SessionOrder {
            amount,
            currency: "NOK".into(),
            merchant_reference: "entry-1".into(),
            vat_amount: 0,
            items: vec![OrderItem {
                id: "gift-card".into(),
                line_id: "1".into(),
                description: "Gift card".into(),
                quantity: 1,
                amount: items,
                vat_amount: 0,
                vat: 0,
            }],
            ..SessionOrder::default()
        },
        profile_id: profile.into(),
        ..SessionProfileRequest::default()
    }
}

fn capture(amount: i64, r: &str) -> CaptureBody {
    CaptureBody {
        amount,
        capture_reference: Some(r.into()),
    }
}

fn refund(amount: i64, r: &str) -> RefundBody {
    RefundBody {
        amount,
        reason: None,
        refund_reference: Some(r.into()),
    }
}

#[test]
fn a_paid_auto_capture_session_has_a_captured_transaction_found_by_reference() {
    let mut c = Checkout::default();
    let now = Utc::now();
    let s = c
        .create(now, req("P-auto", 50_000, 50_000), "http://sb")
        .unwrap();
    assert!(s.url.ends_with(&format!("/checkout/{}", s.id)));
    let tx = c.pay(now, &s.id).unwrap();
    assert_eq!(
        (tx.status.as_str(), tx.captured()),
        (status::CAPTURED, 50_000)
    );
    assert_eq!(
        c.session(&s.id).unwrap().transaction_id,
        Some(tx.id.clone())
    );
    assert_eq!(c.by_reference("entry-1"), vec![tx]);
    assert_eq!(c.pay(now, &s.id).unwrap_err().code, codes::PAYMENT_STATE);
}

#[test]
fn amounts_must_add_up_and_closed_sessions_cannot_be_paid() {
    let mut c = Checkout::default();
    let now = Utc::now();
    assert_eq!(
        c.create(now, req("P", 50_000, 40_000), "http://sb")
            .unwrap_err()
            .code,
        codes::VALIDATION
    );
    let s = c.create(now, req("P", 100, 100), "http://sb").unwrap();
    c.cancel(now, &s.id, "payer").unwrap();
    assert!(c.pay(now, &s.id).is_err());
    let s = c.create(now, req("P", 100, 100), "http://sb").unwrap();
    assert!(c.pay(now + Duration::hours(1), &s.id).is_err(), "expired");
}

#[test]
fn manual_capture_refund_and_void_follow_the_transaction_state() {
    let mut c = Checkout::default();
    let now = Utc::now();
    let s = c
        .create(now, req("P-manual-capture", 300, 300), "http://sb")
        .unwrap();
    let tx = c.pay(now, &s.id).unwrap();
    assert_eq!(tx.status, status::AUTHORIZED);
    assert!(c.refund(now, &tx.id, refund(1, "r0")).is_err());
    let done = c.capture(now, &tx.id, capture(300, "c1")).unwrap();
    assert_eq!(done.accepted, None);
    assert_eq!(done.transaction.status, status::CAPTURED);
    assert!(done.transaction.has(ev::CAPTURE, "c1"));
    // Not idempotent: a second capture with the same reference is a new capture,
    // refused here because nothing is left to capture.
    assert!(c.capture(now, &tx.id, capture(300, "c1")).is_err());
    let r = c.refund(now, &tx.id, refund(100, "r1")).unwrap();
    assert_eq!(r.transaction.status, status::PARTIALLY_REFUNDED);
    // A resent refund is a second refund: the client must look before resending.
    let r = c.refund(now, &tx.id, refund(100, "r1")).unwrap();
    assert_eq!(r.transaction.refunded(), 200);
    let r = c.refund(now, &tx.id, refund(100, "r2")).unwrap();
    assert_eq!(r.transaction.status, status::REFUNDED);
    assert!(c.void(now, &tx.id).is_err());
}

#[test]
fn on_hold_payments_wait_for_a_decision() {
    let mut c = Checkout::default();
    let now = Utc::now();
    let s = c.create(now, req("P-auto", 500, 500), "http://sb").unwrap();
    let tx = c.payer(now, &s.id, PayerAction::PayOnHold, 0).unwrap();
    assert_eq!(tx.status, status::ON_HOLD);
    assert!(status::is_undecided(&tx.status));
    let tx = c.decide(now, &tx.id, true).unwrap();
    assert_eq!((tx.status.as_str(), tx.captured()), (status::CAPTURED, 500));
    assert!(c.decide(now, &tx.id, false).is_err(), "decided already");

    let s = c.create(now, req("P-auto", 500, 500), "http://sb").unwrap();
    let tx = c.payer(now, &s.id, PayerAction::PayOnHold, 0).unwrap();
    assert_eq!(
        c.decide(now, &tx.id, false).unwrap().status,
        status::DECLINED
    );

    let s = c.create(now, req("P-auto", 500, 500), "http://sb").unwrap();
    let tx = c.payer(now, &s.id, PayerAction::Decline, 0).unwrap();
    assert!(status::is_dead(&tx.status));
}

#[test]
fn async_operations_are_accepted_then_completed_on_the_next_read() {
    let mut c = Checkout::default();
    let now = Utc::now();
    let s = c
        .create(now, req("P-manual-capture-async", 400, 400), "http://sb")
        .unwrap();
    let tx = c.pay(now, &s.id).unwrap();
    let op = c.capture(now, &tx.id, capture(400, "c1")).unwrap();
    let request = op.accepted.expect("202");
    assert_eq!(op.transaction.status, status::AUTHORIZED);
    assert!(op.transaction.initiated(ev::INITIATE_CAPTURE, "c1"));
    assert_eq!(op.transaction.outcome(ev::CAPTURE, "c1"), None);
    // While it is under way, nothing more can be captured.
    assert!(c.capture(now, &tx.id, capture(1, "c2")).is_err());
    let read = c.transaction(now, &tx.id).unwrap();
    assert_eq!(read.status, status::CAPTURED);
    assert_eq!(read.outcome(ev::CAPTURE, "c1"), Some(true));
    let done = read.events.iter().find(|e| e.event == ev::CAPTURE).unwrap();
    assert_eq!(
        done.correlation_request_id.as_deref(),
        Some(request.as_str())
    );
    // Reading again completes nothing twice.
    assert_eq!(c.transaction(now, &tx.id).unwrap().captured(), 400);
}

#[test]
fn cancelling_a_session_voids_only_an_authorized_transaction() {
    let mut c = Checkout::default();
    let now = Utc::now();
    let s = c
        .create(now, req("P-manual-capture", 300, 300), "http://sb")
        .unwrap();
    c.pay(now, &s.id).unwrap();
    let tx_id = c.session(&s.id).unwrap().transaction_id.unwrap();
    c.cancel(now, &s.id, "merchant").unwrap();
    assert_eq!(c.peek(&tx_id).unwrap().status, status::AUTHORIZATION_VOIDED);
    let s = c.create(now, req("P-auto", 300, 300), "http://sb").unwrap();
    c.pay(now, &s.id).unwrap();
    assert_eq!(
        c.cancel(now, &s.id, "merchant").unwrap_err().code,
        codes::PAYMENT_STATE
    );
}
