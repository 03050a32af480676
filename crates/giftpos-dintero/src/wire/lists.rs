//! The lists Wallets answers: cards (paged by `starting_after`) and a card's
//! transactions (envelope and paging not documented: read in every plausible shape).

use serde::{Deserialize, Serialize};

use super::wallets::{Card, Transaction};
use crate::lenient;

/// `GET /cards`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardList {
    #[serde(default, deserialize_with = "lenient::list")]
    pub cards: Vec<Card>,
    #[serde(default, deserialize_with = "lenient::opt")]
    pub starting_after: Option<String>,
}

/// `GET /cards/{card_id}/transactions`: Dintero does not document the envelope, so the
/// client accepts a bare array and `{"transactions": […]}`, paged like the card list
/// (`starting_after` names where the next page starts); entries that cannot be read are
/// dropped. Any other shape is refused (read as unreadable, never as "no
/// transactions": a lost answer is reconciled against this list).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TransactionList {
    pub transactions: Vec<Transaction>,
    /// More follow: ask again with `?starting_after=` this.
    pub starting_after: Option<String>,
}

impl<'de> Deserialize<'de> for TransactionList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let (items, starting_after) = match serde_json::Value::deserialize(d)? {
            serde_json::Value::Array(items) => (items, None),
            serde_json::Value::Object(mut o) => match o.remove("transactions") {
                Some(serde_json::Value::Array(items)) => (
                    items,
                    o.remove("starting_after")
                        .and_then(|v| v.as_str().map(str::to_string))
                        .filter(|s| !s.is_empty()),
                ),
                _ => {
                    return Err(D::Error::custom(
                        "transactions: an object without a `transactions` list",
                    ));
                }
            },
            _ => {
                return Err(D::Error::custom(
                    "transactions: neither a list nor an object holding one",
                ));
            }
        };
        Ok(TransactionList {
            transactions: items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            starting_after,
        })
    }
}

impl TransactionList {
    pub fn into_vec(self) -> Vec<Transaction> {
        self.transactions
    }
}
