//! Where Dintero's contract is silent, the sandbox plays one reading at a time, and the
//! tests run the money flows under each (`Readings::all`): the terminal must be right
//! whichever reading turns out to be Dintero's. Each reading is listed, with why it is
//! plausible, in `docs/dintero-decisions.md`.

use serde::{Deserialize, Serialize};

/// When a gift card's part of a Checkout payment leaves the card (seeds `000`/`001` say
/// only that a card pays "fully or partially" and has precedence in partial captures
/// and refunds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiftCardDrawn {
    /// Reserved on the card (a pending drawdown) when the payment is authorized,
    /// captured with the payment's captures, released by a void.
    #[default]
    Authorization,
    /// Untouched until the payment is captured; each capture draws the card's share.
    Capture,
}

/// One reading of everything the contract leaves open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readings {
    #[serde(default)]
    pub gift_card_drawn: GiftCardDrawn,
}

impl Readings {
    /// Every combination, for a test matrix.
    pub fn all() -> Vec<Readings> {
        [GiftCardDrawn::Authorization, GiftCardDrawn::Capture]
            .into_iter()
            .map(|gift_card_drawn| Readings { gift_card_drawn })
            .collect()
    }

    /// Parses `gift_card_drawn=capture` (comma-separated `key=value`; unnamed keys keep
    /// their default), as `giftpos sandbox --readings` takes it.
    pub fn parse(text: &str) -> Result<Readings, String> {
        let mut r = Readings::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("gift_card_drawn", "authorization")) => {
                    r.gift_card_drawn = GiftCardDrawn::Authorization
                }
                Some(("gift_card_drawn", "capture")) => r.gift_card_drawn = GiftCardDrawn::Capture,
                _ => {
                    return Err(format!(
                        "unknown reading '{pair}' (known: gift_card_drawn=authorization|capture)"
                    ));
                }
            }
        }
        Ok(r)
    }
}

impl std::fmt::Display for Readings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let drawn = match self.gift_card_drawn {
            GiftCardDrawn::Authorization => "authorization",
            GiftCardDrawn::Capture => "capture",
        };
        write!(f, "gift_card_drawn={drawn}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reading_prints_as_it_parses() {
        for r in Readings::all() {
            assert_eq!(Readings::parse(&r.to_string()), Ok(r));
        }
        assert!(Readings::parse("gift_card_drawn=never").is_err());
        assert_eq!(Readings::parse(""), Ok(Readings::default()));
    }
}
