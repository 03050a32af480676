//! The tolerant reader, as a property: every answer type the terminal parses is fed
//! answers mutated the way a real service drifts — fields we do not need removed,
//! unknown fields added, values nulled or of another type, keys reordered, numbers at
//! the i64 bounds and beyond — and none may fail to parse. Only the fields an answer is
//! useless without are left alone (and a test below shows that losing one of those is
//! reported by name).
//!
//! The base answers are Dintero's documented shapes: the Wallets reference's card,
//! batch, token, transaction and list examples (`../shared/dintero/wallets-reference.md`
//! §2–3) and the Checkout spec's session and transaction (`checkout-openapi-v3.yaml`).

use giftpos_dintero::wire::checkout::{PaymentTransaction, Session, SessionCreated};
use giftpos_dintero::wire::{
    BatchResponse, Card, CardList, ErrorBody, TokenResponse, Transaction, TransactionList,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn format_obj() -> Value {
    json!({"length": 36, "prefix": "DINCARD:", "symbols": true, "numbers": true,
           "characters": true, "barcode": false})
}

/// AR-activate / AR-cards: a card with every documented field.
fn card() -> Value {
    json!({
        "id": "b1a0f0a4-1c6e-4a34-8f5f-1d4c1f2f9a10",
        "card_id": "card-0001",
        "amount": 50000,
        "currency": "NOK",
        "originated_by": "till-1",
        "customer_id": "cust-1",
        "name": "Gift card",
        "type": "gift_card",
        "status": "unused",
        "pin": {"format": {"length": 4, "numbers": true}},
        "created_at": "2026-01-01T12:00:00Z",
        "created_by": "client-1",
        "metadata": {"dintero_transaction_id": "P12345678.pay-1", "giftpos_operation_id": "op-1"},
        "amount_balance": 50000,
        "amount_available": 47950,
        "amount_funds": 50000,
        "amount_drawdown": 0,
        "amount_pending": 2050,
        "amount_reserved": 0,
        "active_from": "2026-01-01T12:00:00Z",
        "expires_at": "2027-01-01T12:00:00Z",
        "tokens": [{"expires_at": "2027-01-01T12:00:00Z",
                    "masked_code": "DINCARD:********-****-****-91**-*******22e5f",
                    "format": format_obj()}]
    })
}

/// AR-batch: a created card with its token and PIN shown once.
fn batch() -> Value {
    let mut c = card();
    c["status"] = json!("inactive");
    c["card_token"] = json!({"expires_in": 3600, "format": format_obj(),
        "expires_after_transaction": false,
        "token": {"value": "DINCARD:6ccfec5d-3a53-47de-910a-97d6dda22e5f",
                  "barcode_128": "data:image/png;base64,iVBORw0KGgo="}});
    c["pin"] = json!({"format": {"length": 4, "numbers": true},
                      "pin": {"value": "4821", "barcode_128": "data:image/png;base64,AA=="}});
    json!({"cards": [c.clone(), c]})
}

/// AR-txn / AR-capture: a transaction.
fn transaction() -> Value {
    json!({"id": "6f1c2f44-8a7e-4d8e-b2a1-6c0f0e4c9d21", "ref_id": "till-1:op-1:reserve",
           "amount": 12050, "currency": "NOK", "created_at": "2026-01-01T12:00:00Z",
           "created_by": "client-1", "metadata": {"x": "y"}, "originated_by": "till-1",
           "type": "pending_capture", "parent_id": "6f1c2f44-8a7e-4d8e-b2a1-6c0f0e4c9d20"})
}

/// SPEC:L9003 + L8181: a payment transaction with its events.
fn payment() -> Value {
    json!({"id": "P12345678.4WzWvqHuSLMt5Ky7gsGeEw", "payment_product": "payex",
    "payment_product_type": "payex.creditcard", "amount": 50000, "currency": "NOK",
    "merchant_reference": "op-1", "session_id": "P12345678.sess", "status": "PARTIALLY_CAPTURED",
    "created_at": "2026-01-01T12:00:00Z", "updated_at": "2026-01-01T12:00:00Z",
    "items": [{"line_id": "1", "amount": 50000, "quantity": 1.0, "vat": 25.0}],
    "events": [
        {"id": "e1", "event": "AUTHORIZE", "success": true, "amount": 50000.0,
         "transaction_status": "AUTHORIZED", "created_at": "2026-01-01T12:00:00Z",
         "request_id": "5f8d0c1e-0000-4000-8000-000000000001"},
        {"id": "e2", "event": "CAPTURE", "success": true, "amount": 20000,
         "event_reference": "op-1", "transaction_status": "PARTIALLY_CAPTURED",
         "created_at": "2026-01-01T12:01:00Z",
         "correlation_request_id": "5f8d0c1e-0000-4000-8000-000000000002"},
        {"id": "e3", "event": "REFUND", "success": false, "amount": 100,
         "error": {"code": "X", "message": "declined", "type": "DO_NOT_RETRY"}}
    ]})
}

/// SPEC:L7925: a session.
fn session() -> Value {
    json!({"id": "P12345678.sess", "created_at": "2026-01-01T12:00:00Z",
        "updated_at": "2026-01-01T12:00:00Z", "expires_at": "2026-01-01T12:30:00Z",
        "url": {"return_url": "https://example.com/r"},
        "order": {"amount": 50000, "currency": "NOK", "merchant_reference": "op-1",
                  "vat_amount": 0,
                  "items": [{"id": "gift-card", "line_id": "1", "description": "Gift card",
                             "quantity": 1.5, "amount": 50000, "vat_amount": 0, "vat": 12.5}]},
        "transaction_id": "P12345678.4WzWvqHuSLMt5Ky7gsGeEw",
        "cancelled_at": null, "cancelled_by": null,
        "events": [{"name": "AUTHORIZED", "created_at": "2026-01-01T12:01:00Z"}]})
}

/// One answer type: its documented base and the JSON pointers (with `*` for any
/// index) that must not be touched because the terminal cannot work without them.
struct Case {
    name: &'static str,
    base: fn() -> Value,
    required: &'static [&'static str],
    parse: fn(&str) -> Result<(), String>,
}

fn parses<T: DeserializeOwned>(text: &str) -> Result<(), String> {
    serde_json::from_str::<T>(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "card",
            base: card,
            required: &["/card_id"],
            parse: parses::<Card>,
        },
        Case {
            name: "batch",
            base: batch,
            required: &["/cards", "/cards/*", "/cards/*/card_id"],
            parse: parses::<BatchResponse>,
        },
        Case {
            name: "card list",
            base: || json!({"cards": [card(), card()], "starting_after": "card-0002"}),
            required: &[],
            parse: parses::<CardList>,
        },
        Case {
            name: "transaction",
            base: transaction,
            required: &["/id"],
            parse: parses::<Transaction>,
        },
        Case {
            name: "transaction list",
            base: || json!({"transactions": [transaction(), transaction()]}),
            // The list itself is the shape: without it the answer is unreadable (a lost
            // answer is reconciled against it, so never "no transactions").
            required: &["/transactions"],
            parse: parses::<TransactionList>,
        },
        Case {
            name: "token",
            base: || json!({"access_token": "eyJ.x.y", "token_type": "Bearer", "expires_in": 86400}),
            required: &["/access_token"],
            parse: parses::<TokenResponse>,
        },
        Case {
            name: "error",
            base: || json!({"error": {"code": "X", "message": "m", "errors": [{"a": 1}]}}),
            required: &["/error"],
            parse: parses::<ErrorBody>,
        },
        Case {
            name: "payment transaction",
            base: payment,
            required: &[],
            parse: parses::<PaymentTransaction>,
        },
        Case {
            name: "session",
            base: session,
            required: &[],
            parse: parses::<Session>,
        },
        Case {
            name: "session created",
            base: || json!({"id": "P12345678.sess", "url": "https://checkout.dintero.com/v1/view/x"}),
            required: &["/id", "/url"],
            parse: parses::<SessionCreated>,
        },
    ]
}

fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let q: Vec<&str> = path.split('/').collect();
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| *a == "*" || a == b)
}

/// Every path below the root, with whether it is protected (itself required, or above
/// something required).
fn paths(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{k}");
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

fn protected(required: &[&str], path: &str) -> bool {
    required.iter().any(|r| {
        matches(r, path)
            || (r.split('/').count() > path.split('/').count()
                && r.split('/')
                    .zip(path.split('/'))
                    .all(|(a, b)| a == "*" || a == b))
    })
}

fn odd_value(rng: &mut StdRng) -> Value {
    match rng.random_range(0..12) {
        0 => Value::Null,
        1 => json!(i64::MAX),
        2 => json!(i64::MIN),
        3 => json!(u64::MAX),
        4 => json!(1e300),
        5 => json!(0.5),
        6 => json!(-1),
        7 => json!("surprise"),
        8 => json!(true),
        9 => json!([1, "two", null]),
        10 => json!({"nested": {"deeper": [1, 2]}}),
        _ => json!(""),
    }
}

/// Applies `n` random mutations to unprotected places.
fn mutate(v: &mut Value, required: &[&str], rng: &mut StdRng, n: usize) {
    for _ in 0..n {
        let mut all = Vec::new();
        paths(v, String::new(), &mut all);
        let free: Vec<&String> = all.iter().filter(|p| !protected(required, p)).collect();
        let kind = rng.random_range(0..4);
        if kind == 0 || free.is_empty() {
            // Add an unknown field somewhere (the root, or any object).
            let mut objects: Vec<String> = vec![String::new()];
            objects.extend(
                all.iter()
                    .filter(|p| v.pointer(p).is_some_and(Value::is_object))
                    .cloned(),
            );
            let at = objects[rng.random_range(0..objects.len())].clone();
            let val = odd_value(rng);
            if let Some(Value::Object(m)) = if at.is_empty() {
                Some(&mut *v)
            } else {
                v.pointer_mut(&at)
            } {
                m.insert(format!("new_field_{}", rng.random_range(0..1000)), val);
            }
            continue;
        }
        let path = free[rng.random_range(0..free.len())].clone();
        let (parent, last) = path.rsplit_once('/').unwrap_or(("", ""));
        match kind {
            1 => {
                // Remove it.
                let target = if parent.is_empty() {
                    Some(&mut *v)
                } else {
                    v.pointer_mut(parent)
                };
                match target {
                    Some(Value::Object(m)) => {
                        m.remove(last);
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = last.parse::<usize>()
                            && i < a.len()
                        {
                            a.remove(i);
                        }
                    }
                    _ => {}
                }
            }
            _ => {
                // Null it, or give it a value of another kind (numbers at the bounds).
                if let Some(x) = v.pointer_mut(&path) {
                    *x = if kind == 2 {
                        Value::Null
                    } else {
                        odd_value(rng)
                    };
                }
            }
        }
    }
}

/// JSON text with every object's keys in a random order (serde_json sorts them).
fn text(v: &Value, rng: &mut StdRng) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            for i in (1..keys.len()).rev() {
                keys.swap(i, rng.random_range(0..=i));
            }
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), text(&m[k], rng)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(|x| text(x, rng)).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn drifted_answers_still_parse(seed in any::<u64>(), n in 1usize..12) {
        for case in cases() {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut v = (case.base)();
            mutate(&mut v, case.required, &mut rng, n);
            let body = text(&v, &mut rng);
            let parsed = (case.parse)(&body);
            prop_assert!(parsed.is_ok(), "{}: {:?}\n{}", case.name, parsed, body);
        }
    }
}

#[test]
fn the_bases_parse_and_keep_what_the_terminal_uses() {
    for case in cases() {
        let body = (case.base)().to_string();
        assert!((case.parse)(&body).is_ok(), "{}", case.name);
    }
    let c: Card = serde_json::from_value(card()).unwrap();
    assert_eq!(c.card_id, "card-0001");
    assert_eq!(
        (c.amount_available, c.amount_pending),
        (Some(47_950), Some(2_050))
    );
    assert_eq!(c.tokens.len(), 1);
    assert!(c.tokens[0].format.is_some());
    let p: PaymentTransaction = serde_json::from_value(payment()).unwrap();
    assert_eq!(p.captured(), 20_000, "a failed refund does not count");
    assert_eq!(p.refunded(), 0);
    assert!(p.has("CAPTURE", "op-1"));
    assert_eq!(p.outcome("REFUND", "nope"), None);
    let s: Session = serde_json::from_value(session()).unwrap();
    assert_eq!(
        s.transaction_id.as_deref(),
        Some("P12345678.4WzWvqHuSLMt5Ky7gsGeEw")
    );
    assert_eq!(
        s.order.items[0].vat, 0,
        "12.5 % is not a whole number: not read"
    );
}

#[test]
fn the_issue_that_started_it_a_token_format_missing_a_field() {
    // A card whose tokens[].format lacks `length` (a field the terminal never uses)
    // made every /info read fail.
    let mut c = card();
    c["tokens"][0]["format"]
        .as_object_mut()
        .unwrap()
        .remove("length");
    let read: Card = serde_json::from_value(c).unwrap();
    assert_eq!(read.amount_available, Some(47_950));
    assert_eq!(read.tokens[0].format, None);
    assert_eq!(read.tokens[0].masked_code.len(), 44);
}

#[test]
fn unknown_statuses_and_types_are_kept_as_they_came() {
    let mut c = card();
    c["status"] = json!("partly_used");
    let read: Card = serde_json::from_value(c).unwrap();
    assert_eq!(read.status.as_str(), "partly_used");
    let mut t = transaction();
    t["type"] = json!("chargeback");
    let read: Transaction = serde_json::from_value(t).unwrap();
    assert_eq!(read.kind.as_str(), "chargeback");
    let mut p = payment();
    p["status"] = json!("PARTIALLY_CAPTURED_REFUNDED_AND_MORE");
    let read: PaymentTransaction = serde_json::from_value(p).unwrap();
    assert!(giftpos_dintero::wire::checkout::status::is_undecided(
        &read.status
    ));
}
