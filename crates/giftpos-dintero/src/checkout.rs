//! Dintero Checkout (the Payments API, `seeds/payments-api-reference.txt`): what the
//! terminal needs to take payment for a sold card — a session made from a session
//! profile, the session's transaction, and capture, refund and void of that transaction.
//! Shared by the client and the sandbox, like `wire`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::wire::Metadata;

/// Transaction statuses the terminal acts on (others are kept as they came).
pub mod status {
    pub const AUTHORIZED: &str = "AUTHORIZED";
    pub const CAPTURED: &str = "CAPTURED";
    pub const PARTIALLY_CAPTURED: &str = "PARTIALLY_CAPTURED";
    pub const REFUNDED: &str = "REFUNDED";
    pub const PARTIALLY_REFUNDED: &str = "PARTIALLY_REFUNDED";
    pub const AUTHORIZATION_VOIDED: &str = "AUTHORIZATION_VOIDED";
    pub const FAILED: &str = "FAILED";
    pub const DECLINED: &str = "DECLINED";
}

/// One order line: the gift card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub id: String,
    pub line_id: String,
    pub description: String,
    pub quantity: i64,
    /// Minor units, VAT included.
    pub amount: i64,
    pub vat_amount: i64,
    /// Percent.
    pub vat: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOrder {
    pub amount: i64,
    pub currency: String,
    /// Our journal entry's id: a session and its transaction are found by it.
    pub merchant_reference: String,
    #[serde(default)]
    pub vat_amount: i64,
    #[serde(default)]
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUrls {
    pub return_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `POST /v1/sessions-profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionProfileRequest {
    pub url: SessionUrls,
    pub order: SessionOrder,
    pub profile_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

/// The answer to a session created: its id and the page the payer opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCreated {
    pub id: String,
    pub url: String,
}

/// `GET /v1/sessions/{id}`: the fields the terminal reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    pub order: SessionOrder,
    /// Set once the payer paid (the transaction exists).
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cancelled_by: Option<String>,
}

/// An operation on a payment transaction, as its `events` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionEvent {
    /// `AUTHORIZE`, `CAPTURE`, `REFUND`, `VOID`.
    pub event: String,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default = "yes")]
    pub success: bool,
    pub created_at: DateTime<Utc>,
    /// The reference the caller gave (capture or refund), for retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

fn yes() -> bool {
    true
}

/// `GET /v1/transactions/{id}`: the fields the terminal reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentTransaction {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub merchant_reference: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub payment_product: Option<String>,
    #[serde(default)]
    pub events: Vec<TransactionEvent>,
}

impl PaymentTransaction {
    fn sum(&self, event: &str) -> i64 {
        self.events
            .iter()
            .filter(|e| e.success && e.event == event)
            .map(|e| e.amount.unwrap_or(0))
            .sum()
    }

    pub fn captured(&self) -> i64 {
        self.sum("CAPTURE")
    }

    pub fn refunded(&self) -> i64 {
        self.sum("REFUND")
    }

    /// Whether an operation with this reference already succeeded (a retried capture
    /// or refund after a lost answer).
    pub fn has(&self, event: &str, reference: &str) -> bool {
        self.events
            .iter()
            .any(|e| e.success && e.event == event && e.reference.as_deref() == Some(reference))
    }
}

/// `POST /v1/transactions/{id}/capture`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureBody {
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_reference: Option<String>,
}

/// `POST /v1/transactions/{id}/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundBody {
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reference: Option<String>,
}
