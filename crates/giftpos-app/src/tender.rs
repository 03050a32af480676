//! How a card sale or a top-up is paid, and whether that payment may back it: the one
//! decision for the app and the CLI alike, pure and table-tested. A Dintero payment (a
//! `dintero_transaction_id`) is verified at Dintero by sync (`payments.rs`); cash and
//! the store's own card terminal are tenders IT allows (`[payments] tenders`), with cash
//! capped per clerk and day (`[payments] cash_limit_per_clerk_per_day`). Without any of
//! them only a manager's override (`Approval`) loads value onto a card.

use giftpos_core::Money;
use serde::Serialize;

use crate::error::{AppError, ErrorCode};

/// A way to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tender {
    /// A Dintero payment: a reference taken before, or Pay with Dintero (QR).
    Dintero,
    /// Cash into the till's drawer.
    Cash,
    /// The store's own card terminal (not Dintero): its receipt's reference.
    CardTerminal,
}

impl Tender {
    pub const ALL: [Tender; 3] = [Tender::Dintero, Tender::Cash, Tender::CardTerminal];

    /// As configured (`"dintero"`, `"cash"`, `"card_terminal"`; `card-terminal` too).
    pub fn parse(s: &str) -> Option<Tender> {
        match s.trim() {
            "dintero" => Some(Tender::Dintero),
            "cash" => Some(Tender::Cash),
            "card_terminal" | "card-terminal" => Some(Tender::CardTerminal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tender::Dintero => "dintero",
            Tender::Cash => "cash",
            Tender::CardTerminal => "card_terminal",
        }
    }
}

/// What pays for a sale or a top-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment {
    /// A payment taken through Dintero, by its `dintero_transaction_id` (verified).
    Dintero(String),
    /// Cash.
    Cash,
    /// The store's card terminal, with the reference on its receipt.
    CardTerminal(String),
}

impl Payment {
    /// From what a clerk or the CLI gave: a tender (none: Dintero), a Dintero
    /// transaction id, a card terminal's reference. Each missing or extra part is named.
    pub fn from_input(
        tender: Option<&str>,
        transaction_id: Option<&str>,
        reference: Option<&str>,
    ) -> Result<Payment, AppError> {
        fn given(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        let tender = match given(tender) {
            None => Tender::Dintero,
            Some(t) => Tender::parse(t).ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidInput,
                    format!("payment {t:?}: expected dintero, cash or card_terminal"),
                )
            })?,
        };
        let (tx, reference) = (given(transaction_id), given(reference));
        match tender {
            Tender::Dintero => tx.map(|t| Payment::Dintero(t.to_string())).ok_or_else(|| {
                AppError::new(
                    ErrorCode::PaymentRequired,
                    "a payment is needed: the Dintero payment's reference (dintero_transaction_id), or another tender",
                )
            }),
            Tender::Cash => Ok(Payment::Cash),
            Tender::CardTerminal => {
                let r = reference.ok_or_else(|| {
                    AppError::new(
                        ErrorCode::PaymentRequired,
                        "a card-terminal payment needs the reference on the terminal's receipt",
                    )
                })?;
                if r.chars().count() > 64 || r.chars().any(char::is_control) {
                    return Err(AppError::new(
                        ErrorCode::InvalidInput,
                        "the card terminal's reference: 1 to 64 printable characters",
                    ));
                }
                Ok(Payment::CardTerminal(r.to_string()))
            }
        }
    }

    pub fn tender(&self) -> Tender {
        match self {
            Payment::Dintero(_) => Tender::Dintero,
            Payment::Cash => Tender::Cash,
            Payment::CardTerminal(_) => Tender::CardTerminal,
        }
    }
}

/// The till's tender rules (`[payments]`, IT's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderRules {
    pub allowed: Vec<Tender>,
    /// The most cash one clerk may take for gift cards in a day.
    pub cash_limit_per_clerk_per_day: Option<Money>,
    /// May a gift card pay (part of) a Dintero payment for a gift card
    /// (`[payments] gift_card_buys_gift_card`, default no)?
    pub gift_card_buys_gift_card: bool,
}

/// May `payment` pay `amount`, when the clerk has taken `cash_today` in cash for gift
/// cards today? Refusals name the rule and the way on (a manager's override).
pub fn allowed(
    rules: &TenderRules,
    payment: &Payment,
    amount: Money,
    cash_today: Money,
) -> Result<(), AppError> {
    let tender = payment.tender();
    if !rules.allowed.contains(&tender) {
        return Err(AppError::new(
            ErrorCode::TenderNotAllowed,
            format!(
                "{} is not a tender this till takes for gift cards ([payments] tenders: {}); a manager can override",
                tender.as_str(),
                rules
                    .allowed
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if tender == Tender::Cash
        && let Some(limit) = rules.cash_limit_per_clerk_per_day
    {
        let total = cash_today.checked_add(amount).map_err(|_| {
            AppError::new(ErrorCode::InvalidAmount, "the cash total is out of range")
        })?;
        if total.minor() > limit.minor() {
            return Err(AppError::new(
                ErrorCode::TenderNotAllowed,
                format!(
                    "{} more in cash would make {} today, over this clerk's limit of {} a day ([payments] cash_limit_per_clerk_per_day); a manager can override",
                    amount, total, limit
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use giftpos_core::Currency;

    fn nok(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("NOK").unwrap()).unwrap()
    }

    #[test]
    fn input_reads_into_a_payment_or_names_what_is_missing() {
        use Payment::*;
        let ok = |t, x, r| Payment::from_input(t, x, r).unwrap();
        let err = |t, x, r| Payment::from_input(t, x, r).unwrap_err().message;
        assert_eq!(ok(None, Some(" T1.p "), None), Dintero("T1.p".into()));
        assert_eq!(ok(Some("cash"), None, None), Cash);
        assert_eq!(
            ok(Some("card-terminal"), None, Some("4711")),
            CardTerminal("4711".into())
        );
        assert!(err(None, None, None).contains("a payment is needed"));
        assert!(err(Some("dintero"), Some(" "), None).contains("a payment is needed"));
        assert!(err(Some("card_terminal"), None, None).contains("reference"));
        assert!(err(Some("cheque"), None, None).contains("expected dintero"));
        assert!(err(Some("card_terminal"), None, Some(&"x".repeat(65))).contains("64"));
    }

    #[test]
    fn the_rules_in_a_table() {
        let rules = TenderRules {
            allowed: vec![Tender::Dintero, Tender::Cash],
            cash_limit_per_clerk_per_day: Some(nok(200_000)),
            gift_card_buys_gift_card: false,
        };
        let cases: &[(Payment, i64, i64, bool)] = &[
            (Payment::Dintero("T1".into()), 900_000, 0, true),
            (Payment::Cash, 100_000, 0, true),
            (Payment::Cash, 100_000, 100_000, true),
            (Payment::Cash, 100_001, 100_000, false),
            (Payment::CardTerminal("R1".into()), 100, 0, false),
        ];
        for (i, (p, amount, today, ok)) in cases.iter().enumerate() {
            let r = allowed(&rules, p, nok(*amount), nok(*today));
            assert_eq!(r.is_ok(), *ok, "case {i}: {r:?}");
            if let Err(e) = r {
                assert_eq!(e.code, ErrorCode::TenderNotAllowed);
                assert!(e.message.contains("manager"), "{e}");
            }
        }
        let no_limit = TenderRules {
            allowed: Tender::ALL.to_vec(),
            cash_limit_per_clerk_per_day: None,
            gift_card_buys_gift_card: false,
        };
        assert!(allowed(&no_limit, &Payment::Cash, nok(10_000_000), nok(99_000_000)).is_ok());
    }
}
