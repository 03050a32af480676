//! Dintero Checkout (the Payments API, `seeds/payments-api-reference.txt`): what the
//! terminal needs to take payment for a sold card — a session made from a session
//! profile, the session's transaction, and capture, refund and void of that transaction.
//! Shared by the client and the sandbox, like `wire`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Metadata;
use crate::lenient;

/// Transaction statuses (`Transaction.status`, SPEC:L9003, plus
/// `PARTIALLY_CAPTURED_REFUNDED` from the newer types). Kept as strings: a status not
/// named here is kept as it came and treated as not final.
pub mod status {
    pub const INITIATED: &str = "INITIATED";
    pub const AUTHORIZED: &str = "AUTHORIZED";
    pub const AUTHORIZATION_VOIDED: &str = "AUTHORIZATION_VOIDED";
    pub const CAPTURED: &str = "CAPTURED";
    pub const PARTIALLY_CAPTURED: &str = "PARTIALLY_CAPTURED";
    pub const REFUNDED: &str = "REFUNDED";
    pub const PARTIALLY_REFUNDED: &str = "PARTIALLY_REFUNDED";
    pub const PARTIALLY_CAPTURED_REFUNDED: &str = "PARTIALLY_CAPTURED_REFUNDED";
    pub const DECLINED: &str = "DECLINED";
    pub const FAILED: &str = "FAILED";
    pub const UNKNOWN: &str = "UNKNOWN";
    pub const ON_HOLD: &str = "ON_HOLD";

    /// Every documented status.
    pub const ALL: &[&str] = &[
        INITIATED,
        AUTHORIZED,
        AUTHORIZATION_VOIDED,
        CAPTURED,
        PARTIALLY_CAPTURED,
        REFUNDED,
        PARTIALLY_REFUNDED,
        PARTIALLY_CAPTURED_REFUNDED,
        DECLINED,
        FAILED,
        UNKNOWN,
        ON_HOLD,
    ];

    /// The payment will never hold money: nothing may be activated against it.
    pub fn is_dead(s: &str) -> bool {
        matches!(s, DECLINED | FAILED | AUTHORIZATION_VOIDED)
    }

    /// Not decided yet (pending approval, or a state Dintero cannot tell yet): keep
    /// following. Unknown statuses are treated the same way, never as final.
    pub fn is_undecided(s: &str) -> bool {
        !is_dead(s) && !holds_money(s)
    }

    /// The money is held (authorized) or taken (captured, wholly or partly; refunds
    /// after a capture leave what was captured on record).
    pub fn holds_money(s: &str) -> bool {
        matches!(
            s,
            AUTHORIZED
                | CAPTURED
                | PARTIALLY_CAPTURED
                | REFUNDED
                | PARTIALLY_REFUNDED
                | PARTIALLY_CAPTURED_REFUNDED
        )
    }
}

/// Transaction event kinds (`TransactionEvent.event`, SPEC:L8181).
pub mod event {
    pub const AUTHORIZE: &str = "AUTHORIZE";
    pub const CAPTURE: &str = "CAPTURE";
    pub const REFUND: &str = "REFUND";
    pub const VOID: &str = "VOID";
    pub const INITIATE_CAPTURE: &str = "INITIATE_CAPTURE";
    pub const INITIATE_REFUND: &str = "INITIATE_REFUND";
    pub const INITIATE_VOID: &str = "INITIATE_VOID";
}

/// One order line: the gift card.
///
/// Read tolerantly: Dintero types `quantity` and `vat` as `number`; we send whole
/// numbers and read back only what is a whole number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    #[serde(default, deserialize_with = "lenient::text")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub line_id: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub description: String,
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub quantity: i64,
    /// Minor units, VAT included.
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub amount: i64,
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub vat_amount: i64,
    /// Percent.
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub vat: i64,
}

/// A Dintero Wallets gift card used in a Checkout payment (`Giftcard`, SPEC:L5362): on
/// a session's order (the part of `order.amount` the card will authorize), on a
/// transaction (the part it did), and on an event (the part of that operation, with the
/// card's own Wallets `transaction_id`). Read tolerantly; an unreadable amount reads 0.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Giftcard {
    /// `dintero.wallets`.
    #[serde(rename = "type", default, deserialize_with = "lenient::text")]
    pub kind: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub card_id: String,
    /// Minor units, non-negative.
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub amount: i64,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub masked_card_token: Option<String>,
    /// On an event: the external (Wallets) transaction of this part.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub transaction_id: Option<String>,
}

/// The gift card type Checkout knows (`Giftcard.type`).
pub const WALLETS: &str = "dintero.wallets";
/// The payment product of a session whose order a gift card covered wholly.
pub const ZERO: &str = "dintero.zero";

/// `customer.gift_cards` of a session request (`SessionCustomerGiftcards`, SPEC:L7498):
/// a card the merchant preloads (at most one).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCustomer {
    #[serde(default)]
    pub gift_cards: Option<CustomerGiftcards>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGiftcards {
    #[serde(rename = "dintero.wallets", default)]
    pub wallets: Vec<CardRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    pub card_id: String,
}

/// The session `configuration` override the terminal sends (`PaymentConfiguration`,
/// SPEC:L7481). Gift cards off: only `dintero.wallets` disabled, nothing else of the
/// profile touched. Gift cards on: as seed `000` (Pay with gift cards in Checkout) shapes
/// it — `active_payment_types` enabled, `dintero.wallets` enabled, and `dintero.zero`
/// payable when a preloaded card may cover the whole order.
pub fn payment_configuration(wallets: bool, zero: bool) -> serde_json::Value {
    let mut dintero = serde_json::json!({
        "type": "payment_type",
        "wallets": { "type": "payment_product_type", "enabled": wallets },
    });
    if !wallets {
        return serde_json::json!({ "dintero": dintero });
    }
    if zero {
        dintero["zero"] = serde_json::json!({
            "type": "payment_product_type",
            "enabled": true,
            "payability": "payable",
        });
    }
    serde_json::json!({
        "active_payment_types": { "enabled": true },
        "dintero": dintero,
    })
}

/// The `express` part that makes a session an Express Checkout session (gift cards are
/// only supported there, seed `000`): nothing is shipped from a till.
pub fn express_at_the_till() -> serde_json::Value {
    serde_json::json!({ "shipping_options": [], "shipping_mode": "shipping_not_required" })
}

/// Whether a session's `configuration` lets gift cards pay
/// (`configuration.dintero.wallets.enabled`).
pub fn wallets_enabled(configuration: Option<&serde_json::Value>) -> bool {
    configuration
        .and_then(|c| c.pointer("/dintero/wallets/enabled"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// Whether a session's `configuration` makes `dintero.zero` payable.
pub fn zero_enabled(configuration: Option<&serde_json::Value>) -> bool {
    configuration
        .and_then(|c| c.pointer("/dintero/zero/enabled"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOrder {
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub amount: i64,
    #[serde(default, deserialize_with = "lenient::text")]
    pub currency: String,
    /// Our journal entry's id: a session and its transaction are found by it.
    #[serde(default, deserialize_with = "lenient::text")]
    pub merchant_reference: String,
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub vat_amount: i64,
    #[serde(default, deserialize_with = "lenient::list")]
    pub items: Vec<OrderItem>,
    /// Read from a session: the gift card selected and the part of `amount` it will
    /// authorize. Never sent (the merchant preloads through `customer.gift_cards`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub gift_cards: Vec<Giftcard>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUrls {
    pub return_url: String,
    #[serde(default)]
    pub callback_url: Option<String>,
}

/// `POST /v1/sessions-profile`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionProfileRequest {
    pub url: SessionUrls,
    pub order: SessionOrder,
    pub profile_id: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// Overrides of the profile's configuration (see [`payment_configuration`]).
    #[serde(default)]
    pub configuration: Option<serde_json::Value>,
    /// A gift card the merchant preloads.
    #[serde(default)]
    pub customer: Option<SessionCustomer>,
    /// Present for an Express Checkout session (see [`express_at_the_till`]).
    #[serde(default)]
    pub express: Option<serde_json::Value>,
}

/// The answer to a session created: its id and the page the payer opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCreated {
    pub id: String,
    pub url: String,
}

/// `GET /v1/sessions/{id}`: the fields the terminal reads (all tolerant: the terminal
/// needs only `transaction_id`, `cancelled_at` and `expires_at`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    #[serde(default, deserialize_with = "lenient::text")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub order: SessionOrder,
    /// Required in Dintero's answers (SessionOptions, SPEC:L7554); not used by the
    /// terminal.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub url: Option<SessionUrls>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub configuration: Option<serde_json::Value>,
    /// Set once the payer paid (the transaction exists).
    #[serde(default, deserialize_with = "lenient::opt")]
    pub transaction_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub cancelled_by: Option<String>,
}

/// An operation on a payment transaction, as its `events` list it (TransactionEvent,
/// SPEC:L8181). Everything is read tolerantly.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionEvent {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub id: Option<String>,
    /// `INITIALIZE`, `AUTHORIZE`, `CAPTURE`, `REFUND`, `VOID`, `INITIATE_*`, … (see
    /// [`event`]); unknown kinds are kept.
    #[serde(default, deserialize_with = "lenient::text")]
    pub event: String,
    /// Typed `number` by Dintero; minor units.
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount: Option<i64>,
    /// Absent: taken as a success unless the event carries an `error`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub success: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub error: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub transaction_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<DateTime<Utc>>,
    /// The merchant's reference: `capture_reference` for a capture, `refund_reference`
    /// for a refund.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub event_reference: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub request_id: Option<String>,
    /// On a CAPTURE/REFUND/VOID that completes an `INITIATE_*` (a 202 answer): the
    /// `event-request-id` that answer carried.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub correlation_request_id: Option<String>,
    /// The gift card's part of this operation, with its Wallets transaction.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub gift_cards: Vec<Giftcard>,
}

impl TransactionEvent {
    pub fn succeeded(&self) -> bool {
        self.success.unwrap_or(self.error.is_none())
    }
}

/// `GET /v1/transactions/{id}`: the fields the terminal reads, all tolerantly (the
/// spec requires `payment_product`, `payment_product_type`, `amount` and `currency`; we
/// do not rely even on those being readable).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTransaction {
    #[serde(default, deserialize_with = "lenient::text")]
    pub id: String,
    /// A status from [`status`], or one we do not know (kept).
    #[serde(default, deserialize_with = "lenient::text")]
    pub status: String,
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub amount: i64,
    #[serde(default, deserialize_with = "lenient::text")]
    pub currency: String,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub merchant_reference: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub payment_product: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub payment_product_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub events: Vec<TransactionEvent>,
    /// The gift card that paid part (or all) of `amount`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub gift_cards: Vec<Giftcard>,
}

/// An answer to capture, refund or void: `200` with the transaction as it is now, or
/// `202 Accepted` (SPEC:L2651) — the operation is under way and its outcome arrives
/// later as an event whose `correlation_request_id` is `accepted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAnswer {
    pub transaction: PaymentTransaction,
    /// `Some(event-request-id)` on `202 Accepted` (empty when the header was missing).
    pub accepted: Option<String>,
}

impl PaymentTransaction {
    fn sum(&self, kind: &str) -> i64 {
        self.events
            .iter()
            .filter(|e| e.succeeded() && e.event == kind)
            .map(|e| e.amount.unwrap_or(0))
            .sum()
    }

    pub fn captured(&self) -> i64 {
        self.sum(event::CAPTURE)
    }

    /// What gift cards paid of this payment: the captures' gift card parts once
    /// captured, else the part authorized (`gift_cards` on the transaction), net of
    /// what refunds gave back to the card.
    pub fn gift_card_part(&self) -> i64 {
        let part = |kind: &str| -> i64 {
            self.events
                .iter()
                .filter(|e| e.succeeded() && e.event == kind)
                .flat_map(|e| e.gift_cards.iter())
                .map(|g| g.amount)
                .sum()
        };
        let captured = part(event::CAPTURE);
        let held = if captured > 0 {
            captured
        } else {
            self.gift_cards.iter().map(|g| g.amount).sum()
        };
        // Never more than the payment: an amount read as a running total, or summed
        // twice, does not make the card pay more than there was.
        (held - part(event::REFUND)).clamp(0, self.amount.max(0))
    }

    /// What was refunded. A successful refund whose amount cannot be read counts as
    /// the whole payment (money is never assumed still held).
    pub fn refunded(&self) -> i64 {
        self.events
            .iter()
            .filter(|e| e.succeeded() && e.event == event::REFUND)
            .map(|e| e.amount.unwrap_or(self.amount))
            .sum()
    }

    /// Whether the authorization's rest was released (a successful `VOID`, or one
    /// initiated): after a partial capture only the captured part is held.
    pub fn voided(&self) -> bool {
        self.events
            .iter()
            .any(|e| (e.event == event::VOID && e.succeeded()) || e.event == event::INITIATE_VOID)
    }

    /// Whether an operation with this reference already succeeded (a retried capture
    /// or refund after a lost answer).
    pub fn has(&self, kind: &str, reference: &str) -> bool {
        self.outcome(kind, reference) == Some(true)
    }

    /// What the events say of our operation with this `event_reference`: `Some(true)`
    /// it succeeded, `Some(false)` it failed (and nothing later succeeded), `None` no
    /// outcome recorded (never sent, or still under way after a 202).
    pub fn outcome(&self, kind: &str, reference: &str) -> Option<bool> {
        let ours = self
            .events
            .iter()
            .filter(|e| e.event == kind && e.event_reference.as_deref() == Some(reference));
        let mut seen = None;
        for e in ours {
            if e.succeeded() {
                return Some(true);
            }
            seen = Some(false);
        }
        seen
    }

    /// Where our capture or refund stands, by every key Dintero gives: its
    /// `event_reference` (`reference`), and the `event-request-id` a 202 answered
    /// (`accepted`), which its `INITIATE_*` event carries as `request_id` and its outcome
    /// as `correlation_request_id`. Accepted and not finished is under way: never sent
    /// again.
    pub fn followed(
        &self,
        (done, initiate): (&str, &str),
        reference: &str,
        accepted: Option<&str>,
    ) -> Followed {
        let accepted = accepted.filter(|a| !a.is_empty());
        let ours = |e: &&TransactionEvent| {
            e.event == done
                && (e.event_reference.as_deref() == Some(reference)
                    || (accepted.is_some() && e.correlation_request_id.as_deref() == accepted))
        };
        let mut failed = false;
        for e in self.events.iter().filter(ours) {
            if e.succeeded() {
                return Followed::Done;
            }
            failed = true;
        }
        if failed {
            return Followed::Failed;
        }
        let initiated = self.events.iter().any(|e| {
            e.event == initiate
                && (e.event_reference.as_deref() == Some(reference)
                    || (accepted.is_some() && e.request_id.as_deref() == accepted))
        });
        if initiated || accepted.is_some() {
            Followed::UnderWay
        } else {
            Followed::NotSeen
        }
    }

    /// Whether an `INITIATE_*` of ours (after a 202) is still waiting for its outcome.
    pub fn initiated(&self, initiate: &str, reference: &str) -> bool {
        self.events
            .iter()
            .any(|e| e.event == initiate && e.event_reference.as_deref() == Some(reference))
    }
}

/// Where a capture or refund of ours stands ([`PaymentTransaction::followed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    Done,
    Failed,
    /// Accepted (202), its outcome not there yet.
    UnderWay,
    /// No trace of it: never sent, or its answer (and every trace) lost.
    NotSeen,
}

/// `POST /v1/transactions/{id}/capture`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureBody {
    pub amount: i64,
    #[serde(default)]
    pub capture_reference: Option<String>,
}

/// `POST /v1/transactions/{id}/refund`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundBody {
    pub amount: i64,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub refund_reference: Option<String>,
}
