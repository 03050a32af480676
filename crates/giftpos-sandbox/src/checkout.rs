//! The sandbox's Dintero Checkout: sessions made from a session profile, a payer who
//! pays, is held for approval, is declined or cancels (through the small page at the
//! session's URL), and the payment transactions with capture, refund and void. Pure
//! state and rules; the server routes to it.
//!
//! Documented (SPEC = `../shared/dintero/checkout-openapi-v3.yaml`): the statuses
//! (`Transaction.status`), events with `event_reference` (the merchant's
//! `capture_reference`/`refund_reference`), 202 Accepted for capture/refund with the
//! outcome arriving later as an event carrying `correlation_request_id`, cancel voiding
//! only an INITIATED/AUTHORIZED transaction, captures never above what was authorized,
//! refunds never above what was captured.
//!
//! Ours (the sandbox's choices where the contract is silent):
//! - Profiles: an id containing `manual-capture` only authorizes (the terminal
//!   captures); every other profile captures at once (auto-capture). An id containing
//!   `async` answers capture and refund with `202 Accepted`; the operation completes when
//!   the transaction is next read.
//! - A payer held for approval leaves the transaction `ON_HOLD` until
//!   `POST /_sandbox/payments/{id}/approve` (→ AUTHORIZED, captured if auto) or
//!   `/decline` (→ DECLINED). A declined payer leaves a `DECLINED` transaction.
//! - `capture_reference` and `refund_reference` are not de-duplicated (Dintero promises
//!   no idempotency for them, U17): a repeated capture or refund is a new one. The
//!   client must read the transaction's events before resending.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use giftpos_dintero::wire::checkout::{
    CaptureBody, PaymentTransaction, RefundBody, Session, SessionCreated, SessionProfileRequest,
    TransactionEvent, event as ev, status,
};
use giftpos_dintero::wire::codes;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

mod cards;
mod control;

/// How long a session may be paid when the request names no expiry.
const SESSION_TTL: Duration = Duration::minutes(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRec {
    session: Session,
    profile_id: String,
    /// `configuration.dintero.wallets.enabled`: a gift card may pay.
    #[serde(default)]
    wallets: bool,
    /// `configuration.dintero.zero`: a gift card may pay everything.
    #[serde(default)]
    zero: bool,
}

/// The gift card in a session: preloaded by the merchant or added by the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCard {
    pub card_id: String,
    pub masked: String,
    /// Added by the payer with its PIN (a preloaded card is not, reading
    /// `preloaded_pin`).
    #[serde(default)]
    pub pin_given: bool,
}

/// A gift card's part in a payment transaction, and what the sandbox did with the card
/// (see `store/gift_cards.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftUse {
    pub card_id: String,
    pub masked: String,
    pub currency: String,
    /// The part of the transaction's amount the card pays.
    pub part: i64,
    /// The card's pending drawdown while the part is held (reading: drawn at
    /// authorization).
    pub pending: Option<String>,
    /// Captured from the card, and given back to it.
    pub captured: i64,
    pub refunded: i64,
    /// How many of the transaction's events were played on the card.
    pub seen: usize,
}

/// Every session and payment transaction.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checkout {
    sessions: BTreeMap<String, SessionRec>,
    pub(crate) transactions: BTreeMap<String, PaymentTransaction>,
    /// Gift cards in open sessions, by session.
    #[serde(default)]
    cards: BTreeMap<String, SessionCard>,
    /// Gift cards' parts of transactions, by transaction.
    #[serde(default)]
    pub(crate) gift_uses: BTreeMap<String, GiftUse>,
    seq: u64,
}

/// What the payer does on the session's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayerAction {
    /// Pays: authorized (and captured with auto-capture).
    Pay,
    /// Pays, but the payment waits for approval: `ON_HOLD`.
    PayOnHold,
    /// The payer's payment is declined: `DECLINED`.
    Decline,
}

/// A payment taken elsewhere that the sandbox is told about (`POST /_sandbox/payments`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExternalPayment {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// A documented status (`CAPTURED`, `AUTHORIZED`, `ON_HOLD`, `DECLINED`, …).
    pub status: String,
    /// For a partial capture: how much; default all of it.
    #[serde(default)]
    pub captured: Option<i64>,
    /// For a partial refund: how much.
    #[serde(default)]
    pub refunded: Option<i64>,
}

/// A capture or refund answer: the transaction, and the `event-request-id` when it was
/// only accepted (202).
#[derive(Debug, Clone)]
pub struct Operation {
    pub transaction: PaymentTransaction,
    pub accepted: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::VALIDATION, message)
}

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::PAYMENT_STATE, message)
}

fn uuidish(seq: u64, kind: u8) -> String {
    format!("00000000-0000-4000-8{kind:03}-{seq:012}")
}

fn event(
    seq: u64,
    now: DateTime<Utc>,
    kind: &str,
    amount: i64,
    reference: Option<String>,
    after: &str,
) -> TransactionEvent {
    TransactionEvent {
        id: Some(uuidish(seq, 1)),
        event: kind.into(),
        amount: Some(amount),
        success: Some(true),
        error: None,
        transaction_status: Some(after.into()),
        created_at: Some(now),
        event_reference: reference,
        request_id: Some(uuidish(seq, 2)),
        correlation_request_id: None,
        gift_cards: Vec::new(),
    }
}

impl Checkout {
    fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{:010}", self.seq)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// `POST /v1/sessions-profile`. The order must add up (strict-session-amounts).
    pub fn create(
        &mut self,
        now: DateTime<Utc>,
        req: SessionProfileRequest,
        base_url: &str,
    ) -> ApiResult<SessionCreated> {
        let o = &req.order;
        if req.profile_id.trim().is_empty() {
            return Err(invalid("profile_id is required"));
        }
        if o.amount <= 0 {
            return Err(invalid("order.amount must be positive"));
        }
        if o.currency.len() != 3 || !o.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid("order.currency must be an ISO 4217 code"));
        }
        if o.merchant_reference.trim().is_empty() {
            return Err(invalid("order.merchant_reference is required"));
        }
        let wallets = giftpos_dintero::wire::checkout::wallets_enabled(req.configuration.as_ref());
        let zero = giftpos_dintero::wire::checkout::zero_enabled(req.configuration.as_ref());
        let preload = req
            .customer
            .as_ref()
            .and_then(|c| c.gift_cards.as_ref())
            .map(|g| g.wallets.len())
            .unwrap_or(0);
        if preload > 1 {
            return Err(invalid(
                "customer.gift_cards.dintero.wallets: only one gift card per session",
            ));
        }
        if preload > 0 && !wallets {
            return Err(invalid(
                "customer.gift_cards needs configuration.dintero.wallets enabled",
            ));
        }
        if preload > 0 && req.express.is_none() {
            return Err(invalid(
                "gift cards are only supported for Express Checkout sessions",
            ));
        }
        let items: i64 = o.items.iter().map(|i| i.amount).sum();
        if o.items.is_empty() || items != o.amount {
            return Err(invalid(format!(
                "order.amount {} must equal the sum of order.items ({items})",
                o.amount
            )));
        }
        let id = self.next_id("T00000000.sbx");
        let session = Session {
            id: id.clone(),
            created_at: Some(now),
            expires_at: Some(req.expires_at.unwrap_or(now + SESSION_TTL)),
            order: req.order,
            url: Some(req.url),
            configuration: Some(req.configuration.unwrap_or_else(|| serde_json::json!({}))),
            transaction_id: None,
            cancelled_at: None,
            cancelled_by: None,
        };
        self.sessions.insert(
            id.clone(),
            SessionRec {
                session,
                profile_id: req.profile_id,
                wallets,
                zero,
            },
        );
        Ok(SessionCreated {
            url: format!("{}/checkout/{id}", base_url.trim_end_matches('/')),
            id,
        })
    }

    pub fn session(&self, id: &str) -> ApiResult<Session> {
        self.sessions
            .get(id)
            .map(|r| r.session.clone())
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no session {id}")))
    }

    fn open_session(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<&mut SessionRec> {
        let rec = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no session {id}")))?;
        let s = &rec.session;
        if s.transaction_id.is_some() {
            return Err(conflict("the session is already paid"));
        }
        if s.cancelled_at.is_some() {
            return Err(conflict("the session was cancelled"));
        }
        if s.expires_at.is_some_and(|x| x <= now) {
            return Err(conflict("the session has expired"));
        }
        Ok(rec)
    }

    /// The payer (or the merchant) cancels a session. With a transaction, only an
    /// INITIATED or AUTHORIZED one may be cancelled (it is voided, SPEC:L274).
    pub fn cancel(&mut self, now: DateTime<Utc>, id: &str, by: &str) -> ApiResult<Session> {
        let tx_id = self
            .sessions
            .get(id)
            .and_then(|r| r.session.transaction_id.clone());
        if let Some(tx_id) = tx_id {
            let seq = self.next_seq();
            let tx = self.tx_mut(&tx_id)?;
            if tx.status != status::AUTHORIZED && tx.status != status::INITIATED {
                return Err(conflict(format!(
                    "a session whose transaction is {} cannot be cancelled",
                    tx.status
                )));
            }
            void_authorization(tx, seq, now);
            let rec = self.sessions.get_mut(id).expect("session seen above");
            rec.session.cancelled_at = Some(now);
            rec.session.cancelled_by = Some(by.into());
            return Ok(rec.session.clone());
        }
        let rec = self.open_session(now, id)?;
        rec.session.cancelled_at = Some(now);
        rec.session.cancelled_by = Some(by.into());
        Ok(rec.session.clone())
    }

    /// The payer pays: a transaction is authorized, and captured at once unless the
    /// profile is a manual-capture one.
    pub fn pay(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<PaymentTransaction> {
        self.payer(now, id, PayerAction::Pay, 0)
    }

    /// What the payer did, as a transaction on the session; `card_part` of it paid by
    /// the session's gift card (the store draws the card, `store/gift_cards.rs`).
    pub fn payer(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        action: PayerAction,
        card_part: i64,
    ) -> ApiResult<PaymentTransaction> {
        let tx_id = self.next_id("T00000000.tx");
        let seq = self.next_seq();
        let card = self.cards.get(id).cloned();
        let rec = self.open_session(now, id)?;
        let auto = !rec.profile_id.contains("manual-capture");
        let o = rec.session.order.clone();
        let card = card.filter(|_| card_part > 0 && rec.wallets);
        if card.is_some() && card_part >= o.amount && !rec.zero {
            return Err(conflict(
                "the gift card covers the whole order, and dintero.zero is not enabled for this session",
            ));
        }
        let whole = card.is_some() && card_part >= o.amount;
        let mut tx = PaymentTransaction {
            id: tx_id.clone(),
            status: status::INITIATED.into(),
            amount: o.amount,
            currency: o.currency.clone(),
            merchant_reference: Some(o.merchant_reference.clone()),
            session_id: Some(id.into()),
            payment_product: Some(if whole { "dintero" } else { "payex" }.into()),
            payment_product_type: Some(
                if whole {
                    giftpos_dintero::wire::checkout::ZERO
                } else {
                    "payex.creditcard"
                }
                .into(),
            ),
            created_at: Some(now),
            events: Vec::new(),
            gift_cards: Vec::new(),
        };
        if let Some(c) = &card {
            let part = card_part.min(o.amount);
            tx.gift_cards
                .push(giftpos_dintero::wire::checkout::Giftcard {
                    kind: giftpos_dintero::wire::checkout::WALLETS.into(),
                    card_id: c.card_id.clone(),
                    amount: part,
                    masked_card_token: Some(c.masked.clone()),
                    transaction_id: None,
                });
            self.gift_uses.insert(
                tx_id.clone(),
                GiftUse {
                    card_id: c.card_id.clone(),
                    masked: c.masked.clone(),
                    currency: o.currency.clone(),
                    part,
                    ..GiftUse::default()
                },
            );
        }
        let rec = self.open_session(now, id)?;
        rec.session.transaction_id = Some(tx_id.clone());
        match action {
            PayerAction::Pay => authorize(&mut tx, seq, now, auto),
            PayerAction::PayOnHold => tx.status = status::ON_HOLD.into(),
            PayerAction::Decline => tx.status = status::DECLINED.into(),
        }
        self.transactions.insert(tx_id, tx.clone());
        Ok(tx)
    }

    /// `GET /v1/transactions/{id}`. Operations accepted with 202 complete here, on the
    /// first read after them.
    pub fn transaction(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<PaymentTransaction> {
        let seq = self.next_seq();
        let tx = self.tx_mut(id)?;
        let open: Vec<TransactionEvent> = tx
            .events
            .iter()
            .filter(|e| {
                (e.event == ev::INITIATE_CAPTURE || e.event == ev::INITIATE_REFUND)
                    && !tx.events.iter().any(|d| {
                        d.correlation_request_id.is_some()
                            && d.correlation_request_id == e.request_id
                    })
            })
            .cloned()
            .collect();
        for (i, init) in open.into_iter().enumerate() {
            let capture = init.event == ev::INITIATE_CAPTURE;
            let amount = init.amount.unwrap_or(0);
            let mut done = event(
                seq * 100 + i as u64,
                now,
                if capture { ev::CAPTURE } else { ev::REFUND },
                amount,
                init.event_reference.clone(),
                "",
            );
            done.correlation_request_id = init.request_id.clone();
            tx.events.push(done);
            tx.status = settled_status(tx).into();
            if let Some(last) = tx.events.last_mut() {
                last.transaction_status = Some(tx.status.clone());
            }
        }
        Ok(tx.clone())
    }

    /// A transaction as it is, without completing anything (the admin view).
    pub fn peek(&self, id: &str) -> ApiResult<PaymentTransaction> {
        self.transactions
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no transaction {id}")))
    }

    /// Transactions whose order carries this merchant reference.
    pub fn by_reference(&self, merchant_reference: &str) -> Vec<PaymentTransaction> {
        self.transactions
            .values()
            .filter(|t| t.merchant_reference.as_deref() == Some(merchant_reference))
            .cloned()
            .collect()
    }

    fn tx_mut(&mut self, id: &str) -> ApiResult<&mut PaymentTransaction> {
        self.transactions
            .get_mut(id)
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no transaction {id}")))
    }

    fn is_async(&self, tx_id: &str) -> bool {
        self.transactions
            .get(tx_id)
            .and_then(|t| t.session_id.as_ref())
            .and_then(|s| self.sessions.get(s))
            .is_some_and(|r| r.profile_id.contains("async"))
    }

    /// Money captured or refunded, counting operations accepted (202) but not done yet.
    fn committed(tx: &PaymentTransaction, done: &str, initiate: &str) -> i64 {
        let finished: i64 = tx
            .events
            .iter()
            .filter(|e| e.succeeded() && e.event == done)
            .map(|e| e.amount.unwrap_or(0))
            .sum();
        let waiting: i64 = tx
            .events
            .iter()
            .filter(|e| {
                e.event == initiate
                    && !tx.events.iter().any(|d| {
                        d.correlation_request_id.is_some()
                            && d.correlation_request_id == e.request_id
                    })
            })
            .map(|e| e.amount.unwrap_or(0))
            .sum();
        finished + waiting
    }

    /// Captures (part of) an authorized transaction, never above what was authorized.
    pub fn capture(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        body: CaptureBody,
    ) -> ApiResult<Operation> {
        let asynchronous = self.is_async(id);
        let seq = self.next_seq();
        let tx = self.tx_mut(id)?;
        if tx.status != status::AUTHORIZED && tx.status != status::PARTIALLY_CAPTURED {
            return Err(conflict(format!(
                "a {} transaction cannot be captured",
                tx.status
            )));
        }
        let left = tx.amount - Self::committed(tx, ev::CAPTURE, ev::INITIATE_CAPTURE);
        if body.amount <= 0 || body.amount > left {
            return Err(invalid(format!("capture between 1 and {left}")));
        }
        Ok(operate(
            tx,
            seq,
            now,
            asynchronous,
            (ev::CAPTURE, ev::INITIATE_CAPTURE),
            body.amount,
            body.capture_reference,
        ))
    }

    /// Refunds captured money, at most what was captured and not yet refunded.
    pub fn refund(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        body: RefundBody,
    ) -> ApiResult<Operation> {
        let asynchronous = self.is_async(id);
        let seq = self.next_seq();
        let tx = self.tx_mut(id)?;
        let left = tx.captured() - Self::committed(tx, ev::REFUND, ev::INITIATE_REFUND);
        if left <= 0 {
            return Err(conflict(format!(
                "a {} transaction has nothing to refund",
                tx.status
            )));
        }
        if body.amount <= 0 || body.amount > left {
            return Err(invalid(format!("refund between 1 and {left}")));
        }
        Ok(operate(
            tx,
            seq,
            now,
            asynchronous,
            (ev::REFUND, ev::INITIATE_REFUND),
            body.amount,
            body.refund_reference,
        ))
    }

    /// Voids an authorization nothing was captured from.
    pub fn void(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<PaymentTransaction> {
        let seq = self.next_seq();
        let tx = self.tx_mut(id)?;
        if tx.status == status::AUTHORIZATION_VOIDED {
            return Ok(tx.clone());
        }
        if tx.status != status::AUTHORIZED {
            return Err(conflict(format!(
                "a {} transaction cannot be voided",
                tx.status
            )));
        }
        void_authorization(tx, seq, now);
        Ok(tx.clone())
    }
}

fn void_authorization(tx: &mut PaymentTransaction, seq: u64, now: DateTime<Utc>) {
    let amount = tx.amount;
    tx.events.push(event(
        seq,
        now,
        ev::VOID,
        amount,
        None,
        status::AUTHORIZATION_VOIDED,
    ));
    tx.status = status::AUTHORIZATION_VOIDED.into();
}

fn authorize(tx: &mut PaymentTransaction, seq: u64, now: DateTime<Utc>, auto: bool) {
    tx.events.push(event(
        seq * 10,
        now,
        ev::AUTHORIZE,
        tx.amount,
        None,
        status::AUTHORIZED,
    ));
    tx.status = status::AUTHORIZED.into();
    if auto {
        tx.events.push(event(
            seq * 10 + 1,
            now,
            ev::CAPTURE,
            tx.amount,
            None,
            status::CAPTURED,
        ));
        tx.status = status::CAPTURED.into();
    }
}

/// A capture or refund: done at once (200), or accepted (202) with an `INITIATE_*` event
/// that the next read completes.
fn operate(
    tx: &mut PaymentTransaction,
    seq: u64,
    now: DateTime<Utc>,
    asynchronous: bool,
    (done, initiate): (&str, &str),
    amount: i64,
    reference: Option<String>,
) -> Operation {
    if asynchronous {
        let e = event(seq, now, initiate, amount, reference, &tx.status.clone());
        let request_id = e.request_id.clone().unwrap_or_default();
        tx.events.push(e);
        return Operation {
            transaction: tx.clone(),
            accepted: Some(request_id),
        };
    }
    tx.events.push(event(seq, now, done, amount, reference, ""));
    tx.status = settled_status(tx).into();
    if let Some(last) = tx.events.last_mut() {
        last.transaction_status = Some(tx.status.clone());
    }
    Operation {
        transaction: tx.clone(),
        accepted: None,
    }
}

/// The status after captures and refunds (D-status).
fn settled_status(tx: &PaymentTransaction) -> &'static str {
    let (captured, refunded) = (tx.captured(), tx.refunded());
    match (captured, refunded) {
        (0, _) => status::AUTHORIZED,
        (c, 0) if c < tx.amount => status::PARTIALLY_CAPTURED,
        (_, 0) => status::CAPTURED,
        (c, r) if r >= c && c == tx.amount => status::REFUNDED,
        (c, r) if r < c && c == tx.amount => status::PARTIALLY_REFUNDED,
        _ => status::PARTIALLY_CAPTURED_REFUNDED,
    }
}

#[cfg(test)]
mod tests;
