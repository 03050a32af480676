//! Dintero's JSON shapes for auth and wallets, and the error codes we decided on where
//! Dintero documents none.
//!
//! The client and the sandbox both use these types, so the protocol is written down in
//! exactly one place. Unknown fields are ignored on parsing; unknown enum values are kept
//! (`CardStatus::Other`, `TransactionType::Other`) instead of failing.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use giftpos_core::{CardStatus, TokenFormat};
use serde::{Deserialize, Serialize};

use crate::lenient;

/// Free-form metadata as Dintero stores it.
pub type Metadata = BTreeMap<String, serde_json::Value>;

/// The metadata key activation records the paying transaction under (Dintero's
/// recommendation).
pub const META_TRANSACTION_ID: &str = "dintero_transaction_id";
/// The metadata key carrying the terminal's own operation id, used to reconcile a lost
/// activation answer.
pub const META_OPERATION_ID: &str = "giftpos_operation_id";
/// The metadata key naming the terminal that sent an operation.
pub const META_TERMINAL_ID: &str = "giftpos_terminal_id";
/// The paying transaction on a card's activation: Dintero's key ([`META_TRANSACTION_ID`]).
pub const META_PAYMENT_ON_CARD: &str = META_TRANSACTION_ID;
/// The paying transaction on a wallet transaction (a top-up's fund): our own key, since
/// Dintero reserves `dintero_*` and documents its key on activation only.
pub const META_PAYMENT_ON_TRANSACTION: &str = "giftpos_payment_id";

pub mod codes;

/// `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default, deserialize_with = "lenient::text")]
    pub code: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
            },
        }
    }
}

/// An account id: `T` + 8 digits (test) or `P` + 8 digits (production).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(s: &str) -> Result<AccountId, String> {
        let b = s.as_bytes();
        if b.len() == 9 && (b[0] == b'T' || b[0] == b'P') && b[1..].iter().all(u8::is_ascii_digit) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(format!(
                "'{s}' is not a Dintero account id (expected T or P followed by 8 digits, e.g. T12345678)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a test-environment account.
    pub fn is_test(&self) -> bool {
        self.0.starts_with('T')
    }
}

impl TryFrom<String> for AccountId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        AccountId::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRequest {
    pub grant_type: String,
    pub audience: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub token_type: String,
    /// Seconds; unreadable or absent, the client assumes a short life and refreshes.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub expires_in: Option<u64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A value Dintero shows once (a token or a PIN) with its optional Code 128 image.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ShownOnce {
    pub value: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub barcode_128: Option<String>,
}

impl fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShownOnce(<redacted>)")
    }
}

/// `pin` on a card: its format, and its value where Dintero shows it once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PinField {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub format: Option<TokenFormat>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub pin: Option<ShownOnce>,
}

/// `card_token` on a created card: the token shown once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardTokenField {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub format: Option<TokenFormat>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub token: Option<ShownOnce>,
}

/// One of a card's tokens as a card shows it (masked).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenInfo {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub masked_code: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub format: Option<TokenFormat>,
}

/// A card. Amounts are minor units; on `/info` without a PIN for a card that has one,
/// the amounts are absent (our decision: a token alone does not reveal the balance).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Card {
    #[serde(default, deserialize_with = "lenient::text")]
    pub id: String,
    /// The one field a card answer is useless without.
    pub card_id: String,
    #[serde(
        default,
        rename = "type",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub card_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub status: CardStatus,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub customer_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub originated_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub metadata: Metadata,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub created_by: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::minor"
    )]
    pub amount: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub currency: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::minor"
    )]
    pub amount_balance: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::minor"
    )]
    pub amount_available: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::minor"
    )]
    pub amount_funds: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::minor"
    )]
    pub amount_drawdown: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::minor"
    )]
    pub amount_pending: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::minor"
    )]
    pub amount_reserved: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub pin: Option<PinField>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub tokens: Vec<TokenInfo>,
    /// Present only in the answer that created the card (shown once).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub card_token: Option<CardTokenField>,
}

/// `POST /cards/batch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRequest {
    pub cards: Vec<BatchCard>,
    #[serde(default)]
    pub options: BatchOptions,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchCard {
    pub card_id: String,
    #[serde(rename = "type", default = "gift_card")]
    pub card_type: String,
}

fn gift_card() -> String {
    "gift_card".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<FormatOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_token: Option<FormatOption>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormatOption {
    pub format: TokenFormat,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchResponse {
    pub cards: Vec<Card>,
}

/// `POST /cards`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateCardRequest {
    pub card_id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(rename = "type", default = "gift_card")]
    pub card_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// PIN generation, at the top level as the single-card guide shows it
    /// (G-create); batch creation nests it under `options` instead (AR-batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<FormatOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_token: Option<FormatOption>,
}

impl CreateCardRequest {
    /// A gift card with this id and initial balance, everything else left to Dintero.
    pub fn gift_card(card_id: impl Into<String>, amount: i64, currency: &str) -> Self {
        CreateCardRequest {
            card_id: card_id.into(),
            amount,
            currency: currency.into(),
            card_type: gift_card(),
            customer_id: None,
            name: None,
            metadata: Metadata::new(),
            active_from: None,
            expires_at: None,
            pin: None,
            card_token: None,
        }
    }
}

/// `POST /cards/{card_id}/activate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivateRequest {
    pub amount: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// `POST /info`: look a card up by its printed token.
#[derive(Clone, Serialize, Deserialize)]
pub struct InfoRequest {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

impl fmt::Debug for InfoRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InfoRequest(<redacted>)")
    }
}

/// A transaction's type. Unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionType {
    Drawdown,
    PendingCapture,
    Voided,
    Fund,
    Other(String),
}

impl TransactionType {
    pub fn as_str(&self) -> &str {
        match self {
            TransactionType::Drawdown => "drawdown",
            TransactionType::PendingCapture => "pending_capture",
            TransactionType::Voided => "voided",
            TransactionType::Fund => "fund",
            TransactionType::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> TransactionType {
        match s {
            "drawdown" => TransactionType::Drawdown,
            "pending_capture" => TransactionType::PendingCapture,
            "voided" => TransactionType::Voided,
            "fund" => TransactionType::Fund,
            o => TransactionType::Other(o.to_string()),
        }
    }
}

impl Default for TransactionType {
    /// What an answer without a readable `type` is taken as.
    fn default() -> Self {
        TransactionType::Other(String::new())
    }
}

impl Serialize for TransactionType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TransactionType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TransactionType::parse(&String::deserialize(d)?))
    }
}

/// What `POST /transactions` asks for: spend (`drawdown`) or load (`fund`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Drawdown,
    Fund,
}

/// `POST /transactions`. Exactly one of `token` and `card_id`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionRequest {
    pub ref_id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(rename = "type")]
    pub kind: TransactionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originated_by: Option<String>,
}

impl fmt::Debug for TransactionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionRequest")
            .field("ref_id", &self.ref_id)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("kind", &self.kind)
            .field("card_id", &self.card_id)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

/// `POST /transactions/{id}/capture`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRequest {
    pub ref_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// `POST /transactions/{id}/void`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoidRequest {
    pub ref_id: String,
    #[serde(default)]
    pub metadata: Metadata,
}

/// A transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    /// The one field a transaction answer is useless without (capture and void use it).
    pub id: String,
    #[serde(default, deserialize_with = "lenient::text")]
    pub ref_id: String,
    #[serde(default, deserialize_with = "lenient::minor_or_zero")]
    pub amount: i64,
    #[serde(default, deserialize_with = "lenient::text")]
    pub currency: String,
    #[serde(rename = "type", default, deserialize_with = "lenient::or_default")]
    pub kind: TransactionType,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub created_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub metadata: Metadata,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub originated_by: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub parent_id: Option<String>,
    /// The card the transaction belongs to: not in Dintero's field list (§3.2), so the
    /// sandbox does not send it and the client does not rely on it; read if present.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt"
    )]
    pub card_id: Option<String>,
}

mod lists;
pub use lists::{CardList, TransactionList};

#[cfg(test)]
mod tests;
