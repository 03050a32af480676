//! The sandbox's endpoints, one handler each: Wallets (cards, batches, transactions,
//! capture and void), Checkout (sessions, payments, capture, refund), the payer's page,
//! and the `/_sandbox` control endpoints. Each hands the request to the store's rules.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use giftpos_dintero::wire::{
    ActivateRequest, BatchRequest, BatchResponse, CaptureRequest, CreateCardRequest, InfoRequest,
    TransactionRequest, VoidRequest, codes,
};
use serde::Deserialize;

use super::{Shared, error_response, lock, parse};
use crate::checkout::PayerAction;
use crate::error::ApiError;
use crate::faults::Faults;

pub(super) async fn create_batch(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<BatchRequest>(&body) {
        Ok(req) => s.mutate(|st, now, rng| {
            st.create_batch(now, &req, rng)
                .map(|cards| BatchResponse { cards })
        }),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn create_card(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<CreateCardRequest>(&body) {
        Ok(req) => s.mutate(|st, now, rng| st.create_card(now, &req, rng)),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
    starting_after: Option<String>,
}

pub(super) async fn list_cards(
    State(s): State<Arc<Shared>>,
    Query(q): Query<ListQuery>,
) -> Response {
    s.read(|st| st.list(q.limit.unwrap_or(100), q.starting_after.as_deref()))
}

pub(super) async fn get_card(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    let id = p.get("card_id").cloned().unwrap_or_default();
    s.read(|st| st.card(&id))
}

/// A card's transactions, shaped as the reading says (`readings.rs`:
/// `transactions_list`).
pub(super) async fn card_transactions(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    Query(q): Query<ListQuery>,
) -> Response {
    use crate::readings::TransactionsList;
    let id = p.get("card_id").cloned().unwrap_or_default();
    s.read(|st| {
        st.card_transactions(&id)
            .map(|all| match st.readings.transactions_list {
                TransactionsList::Envelope => serde_json::json!({ "transactions": all }),
                TransactionsList::Bare => serde_json::json!(all),
                TransactionsList::Paged => {
                    let start = q
                        .starting_after
                        .as_deref()
                        .and_then(|a| all.iter().position(|t| t.id == a).map(|i| i + 1))
                        .unwrap_or(0);
                    let page: Vec<_> = all.iter().skip(start).take(2).cloned().collect();
                    let more = start + page.len() < all.len();
                    let mut v = serde_json::json!({ "transactions": page });
                    if more && let Some(last) = page.last() {
                        v["starting_after"] = serde_json::json!(last.id);
                    }
                    v
                }
            })
    })
}

pub(super) async fn activate(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let id = p.get("card_id").cloned().unwrap_or_default();
    match parse::<ActivateRequest>(&body) {
        Ok(req) => s.mutate(|st, now, _| st.activate(now, &id, &req)),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn info(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<InfoRequest>(&body) {
        // A wrong PIN changes state (the failure count), so this is a mutation.
        Ok(req) => s.mutate(|st, now, _| st.info(now, &req.token, req.pin.as_deref())),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn transaction(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<TransactionRequest>(&body) {
        Ok(req) => s.mutate(|st, now, _| st.transaction(now, &req)),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn capture(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let id = p.get("id").cloned().unwrap_or_default();
    match parse::<CaptureRequest>(&body) {
        Ok(req) => s.mutate(|st, now, _| st.capture(now, &id, &req)),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn void(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let id = p.get("id").cloned().unwrap_or_default();
    match parse::<VoidRequest>(&body) {
        Ok(req) => s.mutate(|st, now, _| st.void(now, &id, &req)),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&s.faults).clone()).into_response()
}

pub(super) async fn put_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Faults>(&body) {
        Ok(f) => {
            *lock(&s.faults) = f.clone();
            axum::Json(f).into_response()
        }
        Err(e) => error_response(&e),
    }
}

pub(super) async fn stats(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(s.stats()).into_response()
}

pub(super) async fn revoke_tokens(State(s): State<Arc<Shared>>) -> Response {
    lock(&s.tokens).clear();
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn snapshot(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    let id = p.get("card_id").cloned().unwrap_or_default();
    s.read(|st| {
        st.snapshot(&id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such card"))
    })
}

pub(super) fn path_id(p: &HashMap<String, String>) -> String {
    p.get("id").cloned().unwrap_or_default()
}

pub(super) async fn create_session(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<giftpos_dintero::wire::checkout::SessionProfileRequest>(&body) {
        Ok(req) => {
            let base = s.base_url.clone();
            s.mutate(|st, now, _| st.checkout_create(now, req, &base))
        }
        Err(e) => error_response(&e),
    }
}

pub(super) async fn get_session(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    s.read(|st| st.checkout.session(&path_id(&p)))
}

pub(super) async fn cancel_session(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    s.mutate(|st, now, _| st.checkout_cancel(now, &path_id(&p), "merchant"))
}

pub(super) async fn get_payment(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    s.mutate(|st, now, _| st.checkout_transaction(now, &path_id(&p)))
}

pub(super) async fn capture_payment(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    match parse::<giftpos_dintero::wire::checkout::CaptureBody>(&body) {
        Ok(req) => s.operation(|st, now| st.checkout_capture(now, &path_id(&p), req)),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn refund_payment(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    match parse::<giftpos_dintero::wire::checkout::RefundBody>(&body) {
        Ok(req) => s.operation(|st, now| st.checkout_refund(now, &path_id(&p), req)),
        Err(e) => error_response(&e),
    }
}

pub(super) async fn void_payment(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    s.mutate(|st, now, _| st.checkout_void(now, &path_id(&p)))
}

pub(super) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}button{{font-size:1.3rem;padding:.8rem 1.6rem;margin:.4rem}}</style>\
         </head><body><p><strong>Dintero sandbox</strong> — no real money</p>{body}</body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The page at a session's URL: what the customer's phone opens from the QR code.
pub(super) async fn payer_page(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    let id = path_id(&p);
    let session = lock(&s.store).checkout.session(&id);
    match session {
        Ok(sess) => {
            let o = &sess.order;
            let state = if sess.transaction_id.is_some() {
                "paid"
            } else if sess.cancelled_at.is_some() {
                "cancelled"
            } else {
                "open"
            };
            let money = |m: i64| format!("{}.{:02} {}", m / 100, m % 100, o.currency);
            let amount = money(o.amount);
            let (wallets, needs_pin) = {
                let st = lock(&s.store);
                let pin_reading =
                    st.readings.preloaded_pin == crate::readings::PreloadedPin::Required;
                let card = st.checkout.session_card(&id);
                (
                    st.checkout.gift_options(&id).0,
                    pin_reading && card.is_some_and(|c| !c.pin_given),
                )
            };
            let part: i64 = if needs_pin {
                0
            } else {
                o.gift_cards.iter().map(|g| g.amount).sum()
            };
            let rest = money(o.amount - part);
            let form = format!(
                "<form method=\"post\" action=\"/checkout/{id}/gift-card\" id=\"gift-card-form\">\
                 <label>Gift card <input name=\"token\" id=\"gift-card-token\" inputmode=\"numeric\"></label>\
                 <label>PIN <input name=\"pin\" id=\"gift-card-pin\" type=\"password\" inputmode=\"numeric\"></label>\
                 <button id=\"add-gift-card\">Use a gift card</button></form>"
            );
            // A gift card on the session (preloaded by the merchant or added here),
            // or a field to add one — only where the session lets gift cards pay.
            let gift = match o.gift_cards.first() {
                // Reading `preloaded_pin = required`: the preloaded card waits for its PIN.
                Some(g) if state == "open" && needs_pin => format!(
                    "<p id=\"gift-card\">Gift card {} is ready: give its number and PIN to use it</p>{form}",
                    g.masked_card_token.as_deref().unwrap_or("****"),
                ),
                Some(g) if state == "open" => format!(
                    "<p id=\"gift-card\">Gift card {} pays {}</p><p id=\"rest\">To pay: {rest}</p>\
                     <form method=\"post\" action=\"/checkout/{id}/gift-card/remove\"><button id=\"remove-gift-card\">Remove the gift card</button></form>",
                    g.masked_card_token.as_deref().unwrap_or("****"),
                    money(g.amount),
                ),
                None if wallets && state == "open" => form,
                _ => String::new(),
            };
            let forms = if state == "open" {
                format!(
                    "{gift}<form method=\"post\" action=\"/checkout/{id}/pay\"><button id=\"pay\">Pay {rest}</button></form>\
                     <form method=\"post\" action=\"/checkout/{id}/hold\"><button id=\"hold\">Pay, pending approval</button></form>\
                     <form method=\"post\" action=\"/checkout/{id}/decline\"><button id=\"decline\">Pay with a card that is declined</button></form>\
                     <form method=\"post\" action=\"/checkout/{id}/cancel\"><button id=\"cancel\">Cancel</button></form>"
                )
            } else {
                String::new()
            };
            page(
                "Pay",
                &format!(
                    "<h1>{}</h1><p id=\"amount\">{amount}</p><p id=\"state\">Session {state}</p>{forms}",
                    html_text(
                        o.items
                            .first()
                            .map(|i| i.description.as_str())
                            .filter(|d| !d.is_empty())
                            .unwrap_or("Payment")
                    )
                ),
            )
        }
        Err(e) => (
            StatusCode::NOT_FOUND,
            page("Not found", &format!("<p>{}</p>", e.message)),
        )
            .into_response(),
    }
}

/// The payer adds a gift card (form fields `token` and `pin`).
pub(super) async fn payer_add_card(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let id = path_id(&p);
    let form = form_fields(&body);
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (token, pin) = (
        field("token").unwrap_or_default(),
        field("pin").unwrap_or_default(),
    );
    let r = s.mutate(|st, now, _| st.checkout_add_card(now, &id, &token, &pin));
    if r.status().is_success() {
        page(
            "Gift card added",
            &format!(
                "<h1 id=\"result\">Gift card added</h1><p><a href=\"/checkout/{id}\">Back to the payment</a></p>"
            ),
        )
    } else {
        (
            r.status(),
            page(
                "Gift card refused",
                "<h1 id=\"result\">Gift card not added</h1><p>The card cannot pay in this payment.</p>",
            ),
        )
            .into_response()
    }
}

/// The payer takes the gift card out.
pub(super) async fn payer_remove_card(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    let id = path_id(&p);
    let r = s.mutate(|st, now, _| st.checkout_remove_card(now, &id));
    (
        r.status(),
        page("Gift card", "<h1 id=\"result\">Gift card removed</h1>"),
    )
        .into_response()
}

/// Text as HTML shows it, whatever the merchant put in it.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `application/x-www-form-urlencoded` fields, decoded.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

pub(super) async fn payer_pay(s: State<Arc<Shared>>, p: Path<HashMap<String, String>>) -> Response {
    payer(s, p, PayerAction::Pay).await
}

pub(super) async fn payer_hold(
    s: State<Arc<Shared>>,
    p: Path<HashMap<String, String>>,
) -> Response {
    payer(s, p, PayerAction::PayOnHold).await
}

pub(super) async fn payer_decline(
    s: State<Arc<Shared>>,
    p: Path<HashMap<String, String>>,
) -> Response {
    payer(s, p, PayerAction::Decline).await
}

/// Sandbox control: a payment taken elsewhere, in any documented status.
pub(super) async fn register_payment(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<crate::checkout::ExternalPayment>(&body) {
        Ok(p) => s.mutate(|st, now, _| st.checkout.register(now, p)),
        Err(e) => error_response(&e),
    }
}

/// Sandbox control: decide an `ON_HOLD` payment.
pub(super) async fn approve_payment(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    s.mutate(|st, now, _| st.checkout_decide(now, &path_id(&p), true))
}

pub(super) async fn decline_payment(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    s.mutate(|st, now, _| st.checkout_decide(now, &path_id(&p), false))
}

pub(super) async fn payer(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
    action: PayerAction,
) -> Response {
    let id = path_id(&p);
    let r = s.mutate(|st, now, _| st.checkout_payer(now, &id, action));
    if r.status().is_success() {
        let text = match action {
            PayerAction::Pay => {
                "<h1 id=\"result\">Paid</h1><p>Thank you. The till has your payment.</p>"
            }
            PayerAction::PayOnHold => {
                "<h1 id=\"result\">Pending approval</h1><p>The payment waits for approval.</p>"
            }
            PayerAction::Decline => {
                "<h1 id=\"result\">Declined</h1><p>The payment was declined.</p>"
            }
        };
        page("Paid", text)
    } else {
        (
            r.status(),
            page(
                "Not paid",
                "<h1 id=\"result\">Not paid</h1><p>This payment can no longer be made.</p>",
            ),
        )
            .into_response()
    }
}

pub(super) async fn payer_cancel(
    State(s): State<Arc<Shared>>,
    Path(p): Path<HashMap<String, String>>,
) -> Response {
    let id = path_id(&p);
    let r = s.mutate(|st, now, _| st.checkout_cancel(now, &id, "payer"));
    if r.status().is_success() {
        page(
            "Cancelled",
            "<h1 id=\"result\">Cancelled</h1><p>Nothing was charged.</p>",
        )
    } else {
        (
            r.status(),
            page("Not cancelled", "<h1 id=\"result\">Not cancelled</h1>"),
        )
            .into_response()
    }
}
