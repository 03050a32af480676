//! Dintero's JSON shapes, one module per API — [`wallets`] and [`checkout`] — with what
//! both share here: auth, errors, account ids, metadata and its keys, and the error codes
//! we decided on where Dintero documents none.
//!
//! The client and the sandbox both use these types, so the protocol is written down in
//! exactly one place. Unknown fields are ignored on parsing; unknown enum values are kept
//! (`CardStatus::Other`, `TransactionType::Other`) instead of failing.

use std::collections::BTreeMap;
use std::fmt;

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

pub mod checkout;
pub mod codes;
mod lists;
pub mod wallets;

pub use lists::{CardList, TransactionList};
pub use wallets::{
    ActivateRequest, BatchCard, BatchOptions, BatchRequest, BatchResponse, CaptureRequest, Card,
    CardTokenField, CreateCardRequest, FormatOption, InfoRequest, PinField, ShownOnce, TokenInfo,
    Transaction, TransactionKind, TransactionRequest, TransactionType, VoidRequest,
};

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

#[cfg(test)]
mod tests;
