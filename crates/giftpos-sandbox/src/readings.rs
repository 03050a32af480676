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

/// Whether a card the merchant preloads into a session pays without its PIN. Seed `000`
/// says the PIN is not required ("the payer is known and authenticated"); the spec's
/// `SessionCustomerGiftcards` says the customer uses a preloaded card "by providing PIN
/// to activate the card".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreloadedPin {
    /// The seed's reading: a preloaded card pays as it is.
    #[default]
    NotRequired,
    /// The spec's: it pays only once the payer gave its PIN on the payer page;
    /// otherwise the payer pays everything another way.
    Required,
}

/// Whether a pending drawdown that was partly captured may be voided (the rest
/// released). The reference documents a capture of less leaving the rest pending, and a
/// void releasing a pending transaction; it says nothing of a void after a partial
/// capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartialVoid {
    /// The void releases what is still pending.
    #[default]
    Allowed,
    /// A partly captured transaction is no longer "pending": the void is refused.
    Refused,
}

/// Whether Checkout events carry the merchant's `event_reference` (the spec promises it
/// on captures and refunds only as the request's `capture_reference`/`refund_reference`;
/// an event's `event_reference` is optional). Without it, our operations are found by
/// the 202's `request_id`/`correlation_request_id`, or by what moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventReference {
    #[default]
    Present,
    Absent,
}

/// How a card's transactions are listed (`GET /cards/{id}/transactions`; its envelope
/// and paging are not documented).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionsList {
    /// `{"transactions": […]}`, all at once.
    #[default]
    Envelope,
    /// A bare array.
    Bare,
    /// `{"transactions": […], "starting_after": id}`, two at a time, as cards page.
    Paged,
}

/// One reading of everything the contract leaves open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readings {
    #[serde(default)]
    pub gift_card_drawn: GiftCardDrawn,
    #[serde(default)]
    pub preloaded_pin: PreloadedPin,
    #[serde(default)]
    pub void_after_partial_capture: PartialVoid,
    #[serde(default)]
    pub event_reference: EventReference,
    #[serde(default)]
    pub transactions_list: TransactionsList,
}

impl Readings {
    /// Every combination, for a test matrix.
    pub fn all() -> Vec<Readings> {
        let mut all = Vec::new();
        for gift_card_drawn in [GiftCardDrawn::Authorization, GiftCardDrawn::Capture] {
            for preloaded_pin in [PreloadedPin::NotRequired, PreloadedPin::Required] {
                for void_after_partial_capture in [PartialVoid::Allowed, PartialVoid::Refused] {
                    for event_reference in [EventReference::Present, EventReference::Absent] {
                        for transactions_list in [
                            TransactionsList::Envelope,
                            TransactionsList::Bare,
                            TransactionsList::Paged,
                        ] {
                            all.push(Readings {
                                gift_card_drawn,
                                preloaded_pin,
                                void_after_partial_capture,
                                event_reference,
                                transactions_list,
                            });
                        }
                    }
                }
            }
        }
        all
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
                Some(("preloaded_pin", "not_required")) => {
                    r.preloaded_pin = PreloadedPin::NotRequired
                }
                Some(("preloaded_pin", "required")) => r.preloaded_pin = PreloadedPin::Required,
                Some(("void_after_partial_capture", "allowed")) => {
                    r.void_after_partial_capture = PartialVoid::Allowed
                }
                Some(("void_after_partial_capture", "refused")) => {
                    r.void_after_partial_capture = PartialVoid::Refused
                }
                Some(("event_reference", "present")) => r.event_reference = EventReference::Present,
                Some(("event_reference", "absent")) => r.event_reference = EventReference::Absent,
                Some(("transactions_list", "envelope")) => {
                    r.transactions_list = TransactionsList::Envelope
                }
                Some(("transactions_list", "bare")) => r.transactions_list = TransactionsList::Bare,
                Some(("transactions_list", "paged")) => {
                    r.transactions_list = TransactionsList::Paged
                }
                _ => {
                    return Err(format!(
                        "unknown reading '{pair}' (known: gift_card_drawn=authorization|capture, preloaded_pin=not_required|required, void_after_partial_capture=allowed|refused, event_reference=present|absent, transactions_list=envelope|bare|paged)"
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
        let pin = match self.preloaded_pin {
            PreloadedPin::NotRequired => "not_required",
            PreloadedPin::Required => "required",
        };
        let void = match self.void_after_partial_capture {
            PartialVoid::Allowed => "allowed",
            PartialVoid::Refused => "refused",
        };
        let reference = match self.event_reference {
            EventReference::Present => "present",
            EventReference::Absent => "absent",
        };
        let list = match self.transactions_list {
            TransactionsList::Envelope => "envelope",
            TransactionsList::Bare => "bare",
            TransactionsList::Paged => "paged",
        };
        write!(
            f,
            "gift_card_drawn={drawn},preloaded_pin={pin},void_after_partial_capture={void},event_reference={reference},transactions_list={list}"
        )
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
