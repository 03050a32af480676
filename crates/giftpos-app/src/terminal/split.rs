//! Pay the rest with Dintero (split tender, seed `000` "Pay with gift cards in
//! Checkout", merchant initiated): the purchase's total is paid in one Dintero Checkout
//! payment with the customer's gift card preloaded; the card pays what it holds and the
//! customer pays the rest on their phone. Dintero draws the card; the terminal never
//! does. The payment is followed exactly as a card sale's (`payment.rs`, and
//! `sync/payment.rs` once it is taken).

use giftpos_core::{CardToken, Money, Pin};

use super::Terminal;
use super::payment::Order;
use super::views::PaymentSession;
use crate::error::{AppError, ErrorCode};
use crate::sync::PURCHASE;

impl Terminal {
    /// Checks the customer's card with its PIN and starts one Checkout payment for the
    /// whole `total`, the card preloaded: it pays what it holds (all of `total` when it
    /// holds that much: `dintero.zero`), the customer pays the rest at the session's
    /// URL. [`Terminal::finish_payment`] then follows it; once it is taken the journal
    /// holds one payment of `total` and the card's part of it.
    pub async fn start_pay_rest(
        &self,
        token: &CardToken,
        pin: &Pin,
        total: Money,
    ) -> Result<PaymentSession, AppError> {
        let zero = Money::zero(total.currency());
        crate::tender::allowed(
            &self.cfg.tenders,
            &crate::tender::Payment::Dintero(String::new()),
            total,
            zero,
        )?;
        if total.minor() <= 0 {
            return Err(AppError::new(
                ErrorCode::InvalidAmount,
                "the purchase's total must be more than zero",
            ));
        }
        let profile = self.checkout_profile()?;
        let Some(card) = self.lookup(token, Some(pin)).await? else {
            return Err(AppError::new(
                ErrorCode::OfflineNotAllowed,
                "Dintero cannot be reached: paying with Dintero needs the network",
            ));
        };
        if card.status.awaits_activation() {
            return Err(AppError::new(
                ErrorCode::CardInactive,
                format!("card {} has not been sold yet", token.masked()),
            ));
        }
        let holds = self.money(card.amount_available).unwrap_or(zero);
        if holds.minor() <= 0 {
            return Err(AppError::new(
                ErrorCode::InsufficientFunds,
                format!(
                    "card {} holds nothing; take the whole {} another way",
                    token.masked(),
                    total.display(self.cfg.locale)
                ),
            ));
        }
        let part = if holds.minor() < total.minor() {
            holds
        } else {
            total
        };
        let rest = Money::from_minor(total.minor() - part.minor(), total.currency())
            .map_err(|e| AppError::internal(e.to_string()))?;
        let order = Order {
            id: "purchase",
            description: format!("Purchase, gift card {} first", token.masked()),
            amount: total,
            preload: Some(card.card_id.clone()),
            wallets: true,
        };
        let session = self
            .open_payment(token, &card.card_id, profile, order, Some(PURCHASE))
            .await?;
        Ok(PaymentSession {
            gift_card_part: Some(part),
            rest: Some(rest),
            ..session
        })
    }
}
