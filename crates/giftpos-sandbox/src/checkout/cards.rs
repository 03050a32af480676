//! The gift card in a session (seeds `000`/`001`): preloaded by the merchant or added by
//! the payer, shown on the session's order; the store moves the card's money
//! (`store/gift_cards.rs`).

use chrono::{DateTime, Utc};
use giftpos_dintero::wire::checkout::{Giftcard, Session, WALLETS};

use super::{Checkout, SessionCard, invalid};
use crate::error::ApiResult;

impl Checkout {
    /// The session's gift card, if gift cards may pay in it.
    pub fn session_card(&self, id: &str) -> Option<SessionCard> {
        self.sessions
            .get(id)
            .filter(|r| r.wallets)
            .and_then(|_| self.cards.get(id).cloned())
    }

    /// Whether gift cards may pay in session `id`: `(wallets, zero)`.
    pub fn gift_options(&self, id: &str) -> (bool, bool) {
        self.sessions
            .get(id)
            .map(|r| (r.wallets, r.zero))
            .unwrap_or_default()
    }

    /// Puts a gift card into an open session (or takes it out), showing `part` of the
    /// order as the card's on the session's order (`order.gift_cards`). Refused when
    /// the session does not let gift cards pay.
    pub fn set_card(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        card: Option<(SessionCard, i64)>,
    ) -> ApiResult<Session> {
        let rec = self.open_session(now, id)?;
        if !rec.wallets {
            return Err(invalid(
                "gift cards cannot pay in this session (configuration.dintero.wallets is not enabled)",
            ));
        }
        let amount = rec.session.order.amount;
        rec.session.order.gift_cards = card
            .iter()
            .map(|(c, part)| Giftcard {
                kind: WALLETS.into(),
                card_id: c.card_id.clone(),
                amount: (*part).clamp(0, amount),
                masked_card_token: Some(c.masked.clone()),
                transaction_id: None,
            })
            .collect();
        let session = rec.session.clone();
        match card {
            Some((c, _)) => self.cards.insert(id.to_string(), c),
            None => self.cards.remove(id),
        };
        Ok(session)
    }
}
