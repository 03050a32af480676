//! What a scan means: a gift card, one of our own receipts, or nothing of ours.

use giftpos_core::{CardToken, TokenError, TokenFormat};
pub use giftpos_core::{RECEIPT_PREFIX, receipt_payload};
use serde::Serialize;

/// A classified scan. Never carries a whole card number outside [`Scan::Card`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// A card token that fits a configured format.
    Card(CardToken),
    /// A receipt of ours: open this journal entry.
    Receipt { entry_id: String },
    /// Almost a card (right prefix, wrong length; a character outside the set).
    NearMiss(TokenError),
    /// Anything else: no side effect.
    NotAGiftCard,
}

/// What the UI and `giftpos scanner listen` show: the card masked, never whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanView {
    Card { card: String },
    Receipt { entry_id: String },
    NearMiss { message: String },
    NotAGiftCard,
}

impl Scan {
    pub fn view(&self) -> ScanView {
        match self {
            Scan::Card(t) => ScanView::Card { card: t.masked() },
            Scan::Receipt { entry_id } => ScanView::Receipt {
                entry_id: entry_id.clone(),
            },
            Scan::NearMiss(e) => ScanView::NearMiss {
                message: e.to_string(),
            },
            Scan::NotAGiftCard => ScanView::NotAGiftCard,
        }
    }
}

/// Classifies a frame's text.
pub fn classify(text: &str, formats: &[TokenFormat]) -> Scan {
    if let Some(id) = text.strip_prefix(RECEIPT_PREFIX) {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        return if ok {
            Scan::Receipt {
                entry_id: id.to_string(),
            }
        } else {
            Scan::NotAGiftCard
        };
    }
    match CardToken::parse(text, formats) {
        Ok(t) => Scan::Card(t),
        Err(TokenError::NotAGiftCard | TokenError::Empty | TokenError::NoFormats) => {
            Scan::NotAGiftCard
        }
        Err(e) => Scan::NearMiss(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats() -> Vec<TokenFormat> {
        vec![TokenFormat::numeric16(), TokenFormat::dincard_uuid()]
    }

    #[test]
    fn cards_receipts_near_misses_and_the_rest() {
        assert!(matches!(
            classify("9578000000001001", &formats()),
            Scan::Card(_)
        ));
        assert_eq!(
            classify(
                &receipt_payload("0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f"),
                &formats()
            ),
            Scan::Receipt {
                entry_id: "0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f".into()
            }
        );
        assert!(matches!(
            classify("DINCARD:1234", &formats()),
            Scan::NearMiss(TokenError::WrongLength { .. })
        ));
        assert!(matches!(
            classify("957800000000100X", &formats()),
            Scan::NearMiss(TokenError::ForbiddenCharacter { .. })
        ));
        assert_eq!(classify("7038010069307", &formats()), Scan::NotAGiftCard);
        assert_eq!(
            classify("giftpos:entry:../../etc", &formats()),
            Scan::NotAGiftCard
        );
    }

    #[test]
    fn the_view_never_shows_the_whole_card() {
        let v = classify("9578000000001001", &formats()).view();
        let j = serde_json::to_string(&v).unwrap();
        assert!(!j.contains("9578000000001001") && j.contains("1001"));
    }
}
