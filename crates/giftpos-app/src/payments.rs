//! Verifying the payment behind a sold card: the `dintero_transaction_id` a clerk typed
//! or scanned is read with the Checkout API (`GET /v1/transactions/{id}`) and must be a
//! payment on this account that holds or has taken the money, in the card's currency,
//! with room for this card beside the cards this terminal already activated against it.
//! The decision is a pure function of what Dintero answered and what the journal holds,
//! table-tested below; sync applies it before an activation is sent.

use giftpos_core::Money;
use giftpos_dintero::wire::checkout::{PaymentTransaction, status};
use serde::Serialize;

/// `[payments] verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// A card is activated only against a verified payment (or a manager's override).
    Required,
    /// Verified; a failure is logged and the card is activated anyway.
    Warn,
    /// Not verified.
    Off,
}

impl VerifyMode {
    pub fn parse(s: &str) -> Option<VerifyMode> {
        match s.trim() {
            "required" => Some(VerifyMode::Required),
            "warn" => Some(VerifyMode::Warn),
            "off" => Some(VerifyMode::Off),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VerifyMode::Required => "required",
            VerifyMode::Warn => "warn",
            VerifyMode::Off => "off",
        }
    }
}

/// Which check a payment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failed {
    /// No such payment on this account.
    NotFound,
    /// Declined, failed, voided or refunded: no money is held or taken.
    NotPaid,
    /// Another currency than the card's.
    Currency,
    /// The cards activated against it would exceed what it holds.
    Exceeded,
    /// Older than `[payments] max_age_hours` (or of no age Dintero tells): an old
    /// payment does not back a new card without a manager.
    TooOld,
    /// Paid (partly) with a gift card, and `[payments] gift_card_buys_gift_card` is off:
    /// a gift card's value is not moved onto another gift card.
    GiftCard,
}

/// A payment a gift card paid part of, when gift cards may not buy gift cards: the
/// sentence saying so (`None`: no gift card in it).
///
/// Any sign of a gift card counts, whatever its amount reads as: a `gift_cards` entry on
/// the transaction or an event, or a gift card's payment product (`dintero.wallets`,
/// `dintero.zero`).
pub fn gift_card_refused(tx: &PaymentTransaction) -> Option<(Failed, String)> {
    let by_card = !tx.gift_cards.is_empty()
        || tx.events.iter().any(|e| !e.gift_cards.is_empty())
        || matches!(
            tx.payment_product_type.as_deref(),
            Some("dintero.wallets" | giftpos_dintero::wire::checkout::ZERO)
        );
    by_card.then(|| {
        (
            Failed::GiftCard,
            format!(
                "payment {} was paid (at least partly) with a gift card; a gift card does not buy a gift card here ([payments] gift_card_buys_gift_card)",
                tx.id
            ),
        )
    })
}

/// When the payment was made, as Dintero tells it: the transaction's `created_at`, else
/// its first event's (the spec requires neither; see docs/dintero-decisions.md).
pub fn made_at(tx: &PaymentTransaction) -> Option<chrono::DateTime<chrono::Utc>> {
    // The events' only when every one has a time: a missing one might be the first.
    let events: Option<Vec<_>> = tx.events.iter().map(|e| e.created_at).collect();
    tx.created_at
        .or_else(|| events.and_then(|t| t.into_iter().min()))
}

/// How old a payment may be to back a new card, and the time now.
#[derive(Debug, Clone, Copy)]
pub struct Age {
    pub now: chrono::DateTime<chrono::Utc>,
    pub max: std::time::Duration,
}

/// What the payment allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Verified: `left` minor units of the payment remain after this card.
    Verified { left: i64 },
    /// Not decided yet at Dintero (pending approval): wait, do not refuse.
    Wait(String),
    /// Refused, with the check and a sentence for the clerk and the journal.
    Refused(Failed, String),
}

/// What a payment holds or has taken, in minor units: an authorization counts in full
/// (less refunds); once captured — or once its rest was voided after a partial capture
/// (SPEC: "void after a part capture will cancel the difference") — what was captured
/// less what was refunded.
pub fn usable(tx: &PaymentTransaction) -> i64 {
    let captured_states = [
        status::CAPTURED,
        status::PARTIALLY_REFUNDED,
        status::PARTIALLY_CAPTURED_REFUNDED,
    ];
    if captured_states.contains(&tx.status.as_str()) || tx.voided() {
        tx.captured() - tx.refunded()
    } else {
        tx.amount - tx.refunded()
    }
}

/// Whether a payment taken through our own Checkout session (and captured by us) backs
/// loading `amount` onto its card: what it has taken and still holds — captured less
/// refunded, in the card's currency — must cover it. A refunded, voided, declined or
/// failed payment backs nothing, whatever it once captured. The same rules as
/// [`verify`] (for a typed reference), where a payment must already have been taken.
pub fn taken_covers(tx: &PaymentTransaction, amount: Money) -> Result<(), (Failed, String)> {
    let s = tx.status.as_str();
    if let Some(why) = not_paid(&tx.id, tx) {
        return Err((Failed::NotPaid, why));
    }
    if !tx.currency.eq_ignore_ascii_case(amount.currency().code()) {
        return Err((
            Failed::Currency,
            format!(
                "payment {} is in {}, the card in {}",
                tx.id,
                tx.currency,
                amount.currency().code()
            ),
        ));
    }
    let held = tx.captured() - tx.refunded();
    if held < amount.minor() {
        return Err((
            Failed::Exceeded,
            format!(
                "payment {} is {} with {} minor units taken and kept, not the {} the card needs",
                tx.id,
                s,
                held,
                amount.minor()
            ),
        ));
    }
    Ok(())
}

/// A payment that holds and has taken nothing — refunded, voided, declined, failed —
/// with the sentence saying so; the one rule both verdicts share.
fn not_paid(id: &str, tx: &PaymentTransaction) -> Option<String> {
    let s = tx.status.as_str();
    (s == status::REFUNDED || status::is_dead(s))
        .then(|| format!("payment {id} is {s}: no money is held or taken"))
}

/// Decides whether `amount` may be activated against payment `id` (`tx`: what Dintero
/// answered, `None` when it has no such payment), given `already` minor units this
/// terminal has activated against it before.
pub fn verify(
    id: &str,
    tx: Option<&PaymentTransaction>,
    amount: Money,
    already: i64,
    age: Age,
) -> Verdict {
    let Some(tx) = tx else {
        return Verdict::Refused(
            Failed::NotFound,
            format!("payment {id} does not exist on this Dintero account"),
        );
    };
    let s = tx.status.as_str();
    if let Some(why) = not_paid(id, tx) {
        return Verdict::Refused(Failed::NotPaid, why);
    }
    if status::is_undecided(s) {
        return Verdict::Wait(format!("payment {id} is {s} (pending approval)"));
    }
    match made_at(tx) {
        None => {
            return Verdict::Refused(
                Failed::TooOld,
                format!(
                    "payment {id}: Dintero's answer gives no time, so its age cannot be checked"
                ),
            );
        }
        Some(at)
            if (age.now - at)
                .to_std()
                .is_ok_and(|elapsed| elapsed > age.max) =>
        {
            return Verdict::Refused(
                Failed::TooOld,
                format!(
                    "payment {id} was made {} h ago; a payment backs new cards for {} h",
                    (age.now - at).num_hours(),
                    age.max.as_secs() / 3600
                ),
            );
        }
        Some(_) => {}
    }
    if !tx.currency.eq_ignore_ascii_case(amount.currency().code()) {
        return Verdict::Refused(
            Failed::Currency,
            format!(
                "payment {id} is in {}, the card in {}",
                tx.currency,
                amount.currency().code()
            ),
        );
    }
    let room = usable(tx) - already;
    if amount.minor() > room {
        return Verdict::Refused(
            Failed::Exceeded,
            format!(
                "payment {id} holds {} minor units; {} are already on cards sold here, so {} more do not fit",
                usable(tx),
                already,
                amount.minor()
            ),
        );
    }
    Verdict::Verified {
        left: room - amount.minor(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use giftpos_core::Currency;
    use giftpos_dintero::wire::checkout::TransactionEvent;

    fn tx(
        status: &str,
        amount: i64,
        captured: i64,
        refunded: i64,
        cur: &str,
    ) -> PaymentTransaction {
        let ev = |kind: &str, a: i64| TransactionEvent {
            event: kind.into(),
            amount: Some(a),
            success: Some(true),
            ..Default::default()
        };
        let mut events = vec![ev("AUTHORIZE", amount)];
        if captured > 0 {
            events.push(ev("CAPTURE", captured));
        }
        if refunded > 0 {
            events.push(ev("REFUND", refunded));
        }
        PaymentTransaction {
            id: "P.1".into(),
            status: status.into(),
            amount,
            currency: cur.into(),
            events,
            created_at: Some(now() - chrono::Duration::hours(1)),
            ..Default::default()
        }
    }

    fn now() -> chrono::DateTime<chrono::Utc> {
        "2026-12-06T12:00:00Z".parse().unwrap()
    }

    fn day() -> Age {
        Age {
            now: now(),
            max: std::time::Duration::from_secs(24 * 3600),
        }
    }

    fn voided(mut t: PaymentTransaction) -> PaymentTransaction {
        t.events.push(TransactionEvent {
            event: "VOID".into(),
            amount: Some(t.amount - t.captured()),
            success: Some(true),
            ..Default::default()
        });
        t
    }

    fn unread_refund(mut t: PaymentTransaction) -> PaymentTransaction {
        t.events.push(TransactionEvent {
            event: "REFUND".into(),
            amount: None,
            success: Some(true),
            ..Default::default()
        });
        t
    }

    fn nok(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("NOK").unwrap()).unwrap()
    }

    /// A payment, the amount, what is already on cards, and what must come out.
    type Case = (
        Option<PaymentTransaction>,
        i64,
        i64,
        Box<dyn Fn(&Verdict) -> bool>,
    );

    #[test]
    fn the_checks_in_a_table() {
        use Failed::*;
        let refused = |f| move |v: &Verdict| matches!(v, Verdict::Refused(x, _) if *x == f);
        let cases: Vec<Case> = vec![
            (None, 100, 0, Box::new(refused(NotFound))),
            (
                Some(tx("CAPTURED", 500, 500, 0, "NOK")),
                500,
                0,
                Box::new(|v: &Verdict| *v == Verdict::Verified { left: 0 }),
            ),
            (
                Some(tx("CAPTURED", 500, 500, 0, "NOK")),
                300,
                200,
                Box::new(|v: &Verdict| *v == Verdict::Verified { left: 0 }),
            ),
            (
                Some(tx("CAPTURED", 500, 500, 0, "NOK")),
                301,
                200,
                Box::new(refused(Exceeded)),
            ),
            (
                Some(tx("AUTHORIZED", 500, 0, 0, "NOK")),
                500,
                0,
                Box::new(|v: &Verdict| *v == Verdict::Verified { left: 0 }),
            ),
            (
                Some(tx("PARTIALLY_CAPTURED", 500, 200, 0, "NOK")),
                500,
                0,
                Box::new(|v: &Verdict| *v == Verdict::Verified { left: 0 }),
            ),
            // The rest voided after a part capture: only the 200 captured are held.
            (
                Some(voided(tx("PARTIALLY_CAPTURED", 500, 200, 0, "NOK"))),
                201,
                0,
                Box::new(refused(Exceeded)),
            ),
            (
                Some(voided(tx("PARTIALLY_CAPTURED", 500, 200, 0, "NOK"))),
                200,
                0,
                Box::new(|v: &Verdict| *v == Verdict::Verified { left: 0 }),
            ),
            // A refund whose amount cannot be read counts in full.
            (
                Some(unread_refund(tx("PARTIALLY_REFUNDED", 500, 500, 0, "NOK"))),
                1,
                0,
                Box::new(refused(Exceeded)),
            ),
            (
                Some(tx("PARTIALLY_REFUNDED", 500, 500, 100, "NOK")),
                401,
                0,
                Box::new(refused(Exceeded)),
            ),
            (
                Some(tx("REFUNDED", 500, 500, 500, "NOK")),
                1,
                0,
                Box::new(refused(NotPaid)),
            ),
            (
                Some(tx("DECLINED", 500, 0, 0, "NOK")),
                1,
                0,
                Box::new(refused(NotPaid)),
            ),
            (
                Some(tx("FAILED", 500, 0, 0, "NOK")),
                1,
                0,
                Box::new(refused(NotPaid)),
            ),
            (
                Some(tx("AUTHORIZATION_VOIDED", 500, 0, 0, "NOK")),
                1,
                0,
                Box::new(refused(NotPaid)),
            ),
            (
                Some(tx("ON_HOLD", 500, 0, 0, "NOK")),
                1,
                0,
                Box::new(|v: &Verdict| matches!(v, Verdict::Wait(_))),
            ),
            (
                Some(tx("INITIATED", 500, 0, 0, "NOK")),
                1,
                0,
                Box::new(|v: &Verdict| matches!(v, Verdict::Wait(_))),
            ),
            (
                Some(tx("SOMETHING_NEW", 500, 0, 0, "NOK")),
                1,
                0,
                Box::new(|v: &Verdict| matches!(v, Verdict::Wait(_))),
            ),
            (
                Some(tx("CAPTURED", 500, 500, 0, "SEK")),
                1,
                0,
                Box::new(refused(Currency)),
            ),
        ];
        for (i, (t, amount, already, ok)) in cases.into_iter().enumerate() {
            let v = verify("P.1", t.as_ref(), nok(amount), already, day());
            assert!(ok(&v), "case {i}: {v:?}");
        }
    }

    #[test]
    fn an_old_payment_or_one_of_no_age_backs_no_new_card() {
        let mut t = tx("CAPTURED", 500, 500, 0, "NOK");
        t.created_at = Some(now() - chrono::Duration::hours(25));
        let v = verify("P.1", Some(&t), nok(100), 0, day());
        assert!(
            matches!(&v, Verdict::Refused(Failed::TooOld, why) if why.contains("25 h ago")),
            "{v:?}"
        );
        t.created_at = Some(now() - chrono::Duration::hours(23));
        assert!(matches!(
            verify("P.1", Some(&t), nok(100), 0, day()),
            Verdict::Verified { .. }
        ));
        // No time on the transaction: its first event's.
        t.created_at = None;
        t.events[0].created_at = Some(now() - chrono::Duration::hours(30));
        assert!(matches!(
            verify("P.1", Some(&t), nok(100), 0, day()),
            Verdict::Refused(Failed::TooOld, _)
        ));
        t.events[0].created_at = None;
        let v = verify("P.1", Some(&t), nok(100), 0, day());
        assert!(
            matches!(&v, Verdict::Refused(Failed::TooOld, why) if why.contains("no time")),
            "{v:?}"
        );
    }

    #[test]
    fn a_taken_payment_covers_its_card_only_while_it_keeps_the_money() {
        let ok = |t: &PaymentTransaction, a| taken_covers(t, nok(a)).is_ok();
        let failed = |t: &PaymentTransaction, a| taken_covers(t, nok(a)).unwrap_err().0;
        assert!(ok(&tx("CAPTURED", 500, 500, 0, "NOK"), 500));
        assert_eq!(
            failed(&tx("REFUNDED", 500, 500, 500, "NOK"), 500),
            Failed::NotPaid
        );
        assert_eq!(
            failed(&tx("PARTIALLY_REFUNDED", 500, 500, 100, "NOK"), 500),
            Failed::Exceeded
        );
        assert!(ok(&tx("PARTIALLY_REFUNDED", 500, 500, 100, "NOK"), 400));
        assert_eq!(
            failed(&tx("AUTHORIZED", 500, 0, 0, "NOK"), 500),
            Failed::Exceeded
        );
        assert_eq!(
            failed(&tx("CAPTURED", 500, 500, 0, "SEK"), 500),
            Failed::Currency
        );
        assert_eq!(
            failed(&tx("AUTHORIZATION_VOIDED", 500, 0, 0, "NOK"), 1),
            Failed::NotPaid
        );
    }

    #[test]
    fn modes_parse() {
        assert_eq!(VerifyMode::parse("warn"), Some(VerifyMode::Warn));
        assert_eq!(VerifyMode::parse("strict"), None);
        assert_eq!(VerifyMode::Required.as_str(), "required");
    }

    #[test]
    fn any_sign_of_a_gift_card_keeps_a_payment_from_buying_a_gift_card() {
        use giftpos_dintero::wire::checkout::Giftcard;
        let plain = tx("CAPTURED", 40_000, 40_000, 0, "NOK");
        assert!(gift_card_refused(&plain).is_none());
        let card = |amount| Giftcard {
            kind: "dintero.wallets".into(),
            card_id: "c1".into(),
            amount,
            ..Default::default()
        };
        let mut on_tx = plain.clone();
        // An amount that does not read (0) still says a gift card was there.
        on_tx.gift_cards.push(card(0));
        let mut on_event = plain.clone();
        on_event.events[1].gift_cards.push(card(5000));
        let mut zero = plain.clone();
        zero.payment_product_type = Some("dintero.zero".into());
        for t in [on_tx, on_event, zero] {
            let (failed, why) = gift_card_refused(&t).unwrap();
            assert_eq!(failed, Failed::GiftCard);
            assert!(why.contains("gift_card_buys_gift_card"), "{why}");
            assert!(
                !why.contains("minor"),
                "money is never shown as minor units"
            );
        }
    }

    #[test]
    fn a_gift_cards_part_is_never_more_than_the_payment() {
        use giftpos_dintero::wire::checkout::Giftcard;
        let mut t = tx("CAPTURED", 40_000, 40_000, 0, "NOK");
        t.events[1].gift_cards.push(Giftcard {
            amount: 90_000,
            ..Default::default()
        });
        assert_eq!(t.gift_card_part(), 40_000);
    }
}
