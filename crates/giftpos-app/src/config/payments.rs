//! The money rules IT sets: `[payments]` (the tenders a sale or top-up may be paid
//! with, the cash limit, whether a gift card may pay for a gift card) and `[offline]`
//! (the caps on redeeming while Dintero cannot be reached).

use giftpos_core::{Currency, Locale, Money};

use std::time::Duration;

use super::keys::{Layers, Val};
use super::{ConfigError, Mode, OfflineCaps, Source, invalid};
use crate::tender::{Tender, TenderRules};

/// The till's tender rules from `[payments]`; training allows every tender.
pub(super) fn tender_rules(
    l: &Layers,
    mode: &Mode,
    currency: Currency,
) -> Result<TenderRules, ConfigError> {
    Ok(TenderRules {
        allowed: match l.de::<Vec<String>>("payments.tenders")? {
            Some(v) => {
                let mut allowed = Vec::new();
                for name in &v.v {
                    let t = Tender::parse(name).ok_or_else(|| {
                        invalid(
                            &v.src,
                            "payments.tenders",
                            format!("a list of dintero, cash, card_terminal ({name:?} is none)"),
                        )
                    })?;
                    if !allowed.contains(&t) {
                        allowed.push(t);
                    }
                }
                allowed
            }
            // Training shows every tender; a live till takes Dintero payments until IT
            // allows more.
            None if matches!(mode, Mode::Training) => Tender::ALL.to_vec(),
            None => vec![Tender::Dintero],
        },
        cash_limit_per_clerk_per_day: l
            .str("payments.cash_limit_per_clerk_per_day")
            .map(|v| {
                Money::parse(&v.v, currency, Locale::En).map_err(|e| {
                    invalid(
                        &v.src,
                        "payments.cash_limit_per_clerk_per_day",
                        format!("an amount in {currency} such as \"2000.00\" ({e})"),
                    )
                })
            })
            .transpose()?,
        gift_card_buys_gift_card: l
            .bool("payments.gift_card_buys_gift_card")?
            .is_some_and(|v| v.v),
    })
}

/// `[offline]`: all three caps, or none (no redeeming offline).
pub(super) fn offline_caps(
    l: &Layers,
    currency: Currency,
) -> Result<Option<OfflineCaps>, ConfigError> {
    Ok(
        match (
            l.str("offline.max_redeem"),
            l.str("offline.max_outstanding"),
            l.int::<u64>("offline.max_balance_age_secs")?,
        ) {
            (None, None, None) => None,
            (Some(r), Some(o), Some(a)) => {
                let amount = |v: &Val<String>, key: &str| {
                    Money::parse(&v.v, currency, Locale::En).map_err(|e| {
                        invalid(
                            &v.src,
                            key,
                            format!("an amount in {currency} such as \"500.00\" ({e})"),
                        )
                    })
                };
                Some(OfflineCaps {
                    max_redeem: amount(&r, "offline.max_redeem")?,
                    max_outstanding: amount(&o, "offline.max_outstanding")?,
                    max_balance_age: Duration::from_secs(a.v),
                })
            }
            (r, o, a) => {
                let src = r
                    .map(|v| v.src)
                    .or(o.map(|v| v.src))
                    .or(a.map(|v| v.src))
                    .unwrap_or(Source::Default);
                return Err(invalid(
                    &src,
                    "offline",
                    "all three of max_redeem, max_outstanding and max_balance_age_secs, or none",
                ));
            }
        },
    )
}
