//! The Wallets API's shapes: cards, their tokens and PINs (shown once), batches,
//! activation, balance look-ups, transactions (fund, drawdown, capture, void) and the
//! lists Wallets answers.

use std::fmt;

use chrono::{DateTime, Utc};
use giftpos_core::{CardStatus, TokenFormat};
use serde::{Deserialize, Serialize};

use super::Metadata;
use crate::lenient;

/// A value Dintero shows once (a token or a PIN) with its optional Code 128 image.
#[serde_with::skip_serializing_none]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ShownOnce {
    pub value: String,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub barcode_128: Option<String>,
}

impl fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShownOnce(<redacted>)")
    }
}

/// `pin` on a card: its format, and its value where Dintero shows it once.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PinField {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub format: Option<TokenFormat>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub pin: Option<ShownOnce>,
}

/// `card_token` on a created card: the token shown once.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardTokenField {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub format: Option<TokenFormat>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub token: Option<ShownOnce>,
}

/// One of a card's tokens as a card shows it (masked).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenInfo {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub masked_code: String,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub format: Option<TokenFormat>,
}

/// A card. Amounts are minor units; on `/info` without a PIN for a card that has one,
/// the amounts are absent (our decision: a token alone does not reveal the balance).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Card {
    #[serde(default, deserialize_with = "lenient::text")]
    pub id: String,
    /// The one field a card answer is useless without.
    pub card_id: String,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt")]
    pub card_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub status: CardStatus,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub customer_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub originated_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount_balance: Option<i64>,
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount_available: Option<i64>,
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount_funds: Option<i64>,
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount_drawdown: Option<i64>,
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount_pending: Option<i64>,
    #[serde(default, deserialize_with = "lenient::minor")]
    pub amount_reserved: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub pin: Option<PinField>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub tokens: Vec<TokenInfo>,
    /// Present only in the answer that created the card (shown once).
    #[serde(default, deserialize_with = "lenient::opt")]
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

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchOptions {
    #[serde(default)]
    pub pin: Option<FormatOption>,
    #[serde(default)]
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
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateCardRequest {
    pub card_id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(rename = "type", default = "gift_card")]
    pub card_type: String,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// PIN generation, at the top level as the single-card guide shows it
    /// (G-create); batch creation nests it under `options` instead (AR-batch).
    #[serde(default)]
    pub pin: Option<FormatOption>,
    #[serde(default)]
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
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivateRequest {
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub originated_by: Option<String>,
    #[serde(default)]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub metadata: Metadata,
}

/// `POST /info`: look a card up by its printed token.
#[serde_with::skip_serializing_none]
#[derive(Clone, Serialize, Deserialize)]
pub struct InfoRequest {
    pub token: String,
    #[serde(default)]
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
#[serde_with::skip_serializing_none]
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionRequest {
    pub ref_id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(rename = "type")]
    pub kind: TransactionKind,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub card_id: Option<String>,
    #[serde(default)]
    pub pending: Option<bool>,
    #[serde(default)]
    pub pin: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
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
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRequest {
    pub ref_id: String,
    #[serde(default)]
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
#[serde_with::skip_serializing_none]
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
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub created_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub originated_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub parent_id: Option<String>,
    /// The card the transaction belongs to: not in Dintero's field list (§3.2), so the
    /// sandbox does not send it and the client does not rely on it; read if present.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub card_id: Option<String>,
}
