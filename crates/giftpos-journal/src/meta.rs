//! What an entry carries beside its card and amount, typed. Stored as the same JSON
//! object as before (the hash chain covers the stored text, so journals written by
//! earlier versions stay valid); keys this version does not know are kept in `other`,
//! never dropped, and a stored object that does not read as these types is kept whole in
//! `other` rather than refused.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An entry's metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// The payment behind a sold card (`dintero_transaction_id` on the card at Dintero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dintero_transaction_id: Option<String>,
    /// Accepted while offline (within the configured caps). Local: never sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    /// The entry this one undoes (a void or refund).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// The manager who approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The Checkout payment profile a payment entry used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// The Checkout session a payment entry follows, and its payer page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_url: Option<String>,
    /// What a Checkout payment entry pays for: `top_up` (absent: the card's sale).
    /// Local: never sent.
    #[serde(default, rename = "_loads", skip_serializing_if = "Option::is_none")]
    pub loads: Option<String>,
    /// The payment entry a card's activation was recorded for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_entry: Option<String>,
    /// Why the terminal recorded it by itself (a release after a partial capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How a sale or top-up was paid when not through Dintero: `cash` or
    /// `card_terminal` (our own key: Dintero reserves `dintero_`; sent in the card's or
    /// transaction's metadata).
    #[serde(
        default,
        rename = "giftpos_tender",
        skip_serializing_if = "Option::is_none"
    )]
    pub tender: Option<String>,
    /// The card terminal's receipt reference.
    #[serde(
        default,
        rename = "giftpos_tender_reference",
        skip_serializing_if = "Option::is_none"
    )]
    pub tender_reference: Option<String>,
    /// A manager's override of payment verification: who. Local: never sent.
    #[serde(
        default,
        rename = "_override_by",
        skip_serializing_if = "Option::is_none"
    )]
    pub override_by: Option<String>,
    /// …and why. Local.
    #[serde(
        default,
        rename = "_override_reason",
        skip_serializing_if = "Option::is_none"
    )]
    pub override_reason: Option<String>,
    /// Keys this version does not know, kept as they were.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl EntryMeta {
    /// Reads a stored object; one whose known keys have other types is kept whole in
    /// `other`, so nothing recorded is lost.
    pub fn from_stored(text: &str) -> EntryMeta {
        serde_json::from_str(text).unwrap_or_else(|_| EntryMeta {
            other: serde_json::from_str(text).unwrap_or_default(),
            ..EntryMeta::default()
        })
    }

    /// The JSON object stored in the journal.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// What goes to Dintero in a card's metadata: every key but the local ones
    /// (`offline`, `_…`).
    pub fn to_dintero(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m
                .into_iter()
                .filter(|(k, _)| !k.starts_with('_') && k != "offline")
                .collect(),
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todays_json_reads_and_writes_back_the_same_keys() {
        let text = r#"{"approved_by":"9","dintero_transaction_id":"T1.pay","offline":true,"undoes":"e1","_override_by":"9","_override_reason":"terminal down","future_key":[1,2]}"#;
        let m = EntryMeta::from_stored(text);
        assert_eq!(m.dintero_transaction_id.as_deref(), Some("T1.pay"));
        assert!(m.offline);
        assert_eq!(m.undoes.as_deref(), Some("e1"));
        assert_eq!(m.override_reason.as_deref(), Some("terminal down"));
        assert_eq!(m.other["future_key"], serde_json::json!([1, 2]));
        let back: Value = serde_json::from_str(&m.to_stored()).unwrap();
        let orig: Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, orig, "nothing lost or added");
    }

    #[test]
    fn local_keys_never_go_to_dintero() {
        let m = EntryMeta {
            dintero_transaction_id: Some("T1.pay".into()),
            offline: true,
            override_by: Some("9".into()),
            other: [("kept".to_string(), Value::from("x"))]
                .into_iter()
                .collect(),
            ..EntryMeta::default()
        };
        let d = m.to_dintero();
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d["dintero_transaction_id"], "T1.pay");
        assert_eq!(d["kept"], "x");
    }

    #[test]
    fn an_odd_stored_object_is_kept_not_refused() {
        let m = EntryMeta::from_stored(r#"{"offline":"yes","undoes":5}"#);
        assert!(!m.offline && m.undoes.is_none());
        assert_eq!(m.other["offline"], "yes");
        assert_eq!(m.other["undoes"], 5);
        assert_eq!(EntryMeta::from_stored("{}"), EntryMeta::default());
        assert_eq!(EntryMeta::from_stored("not json"), EntryMeta::default());
    }
}
