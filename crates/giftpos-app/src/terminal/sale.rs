//! Selling a card (activation with the payment's id), topping it up, and balances.

use chrono::Utc;
use giftpos_core::{CardStatus, CardToken, Money, OperationKind, Pin};
use giftpos_journal::EntryState;

use super::views::{Activation, BalanceView, OperationResult};
use super::{Terminal, check_transaction_id};
use crate::error::{AppError, ErrorCode};
use crate::tender::{Payment, Tender};

impl Terminal {
    /// The card's balance. With the PIN, amounts; without it, only the status (for a
    /// card that has a PIN). Offline: the last known balance, with its age.
    pub async fn balance(
        &self,
        token: &CardToken,
        pin: Option<&Pin>,
    ) -> Result<BalanceView, AppError> {
        if let Some(card) = self.lookup(token, pin).await? {
            return Ok(BalanceView {
                training: self.is_training(),
                card: token.masked(),
                card_id: card.card_id.clone(),
                status: card.status.clone(),
                available: self.money(card.amount_available),
                balance: self.money(card.amount_balance),
                pending: self.money(card.amount_pending),
                active_from: card.active_from,
                expires_at: card.expires_at,
                last_known_at: None,
                last_known_age_secs: None,
            });
        }
        let key = self.journal().card_key(token.expose());
        match self.journal().cached_card(&key)? {
            Some(c) => Ok(BalanceView {
                training: self.is_training(),
                card: token.masked(),
                card_id: c.card_id,
                status: CardStatus::parse(&c.status),
                available: self.money(c.available),
                balance: None,
                pending: None,
                active_from: None,
                expires_at: None,
                last_known_age_secs: Some((self.clock.now() - c.fetched_at).num_seconds()),
                last_known_at: Some(c.fetched_at),
            }),
            None => Err(AppError::new(
                ErrorCode::Offline,
                format!(
                    "Dintero cannot be reached and card {} was never seen here",
                    token.masked()
                ),
            )),
        }
    }

    /// Sells a printed card: activates it with the amount and the payment's transaction
    /// id. Offline it is saved and activates when the network returns.
    pub async fn activate(&self, a: Activation) -> Result<OperationResult, AppError> {
        let backing = Backing::Paid(Payment::Dintero(a.transaction_id.clone()));
        self.load(OperationKind::Activate, &a, backing).await
    }

    /// Sells a printed card paid by `payment`: a Dintero payment's reference (verified),
    /// cash or the store's card terminal where IT allows them (`[payments] tenders`).
    pub async fn sell_paid(
        &self,
        token: &CardToken,
        amount: Money,
        payment: Payment,
    ) -> Result<OperationResult, AppError> {
        let a = plain(token, amount);
        self.load(OperationKind::Activate, &a, Backing::Paid(payment))
            .await
    }

    /// Sells a card against a payment that cannot be verified (e.g. taken by another
    /// provider): a manager (number and PIN, as for void and refund) lets it through with
    /// a reason. Who and why are kept on the entry (never sent to Dintero) and shown on
    /// the receipt and the Z-report.
    pub async fn activate_with_override(
        &self,
        a: Activation,
        approval: &crate::approval::Approval,
        reason: &str,
    ) -> Result<OperationResult, AppError> {
        check_transaction_id(&a.transaction_id)?;
        let backing = overridden(approval, reason, Some(a.transaction_id.clone()))?;
        self.load(OperationKind::Activate, &a, backing).await
    }

    /// Loads more money onto a sold card — paid like a sale: a verified Dintero
    /// payment, or a tender IT allows. Saved and synced later when offline.
    pub async fn top_up(
        &self,
        token: &CardToken,
        amount: Money,
        payment: Payment,
    ) -> Result<OperationResult, AppError> {
        let a = plain(token, amount);
        self.load(OperationKind::TopUp, &a, Backing::Paid(payment))
            .await
    }

    /// A top-up no payment can be shown for, let through by a manager with a reason
    /// (and the unverifiable payment's reference, if there is one).
    pub async fn top_up_with_override(
        &self,
        token: &CardToken,
        amount: Money,
        approval: &crate::approval::Approval,
        reason: &str,
        reference: Option<String>,
    ) -> Result<OperationResult, AppError> {
        let reference = reference
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if let Some(r) = &reference {
            check_transaction_id(r)?;
        }
        let backing = overridden(approval, reason, reference)?;
        self.load(OperationKind::TopUp, &plain(token, amount), backing)
            .await
    }

    /// What this clerk (or, from the CLI, nobody signed in) took in cash for gift cards
    /// today, in the store's time.
    pub fn cash_today(&self, clerk: Option<&str>) -> Result<Money, AppError> {
        let midnight = chrono::Local::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|d| d.and_local_timezone(chrono::Local).earliest())
            .map(|d| d.with_timezone(&Utc));
        let mut total = Money::zero(self.cfg.currency);
        for e in self.journal().list(midnight, None)? {
            if matches!(e.kind, OperationKind::Activate | OperationKind::TopUp)
                && e.metadata.tender.as_deref() == Some(Tender::Cash.as_str())
                && e.clerk.as_deref() == clerk
                && e.state != EntryState::Refused
                && e.amount.currency() == total.currency()
            {
                total = total.checked_add(e.amount)?;
            }
        }
        Ok(total)
    }

    /// A sale (`a` with its customer and expiry) or a top-up, paid by `payment`.
    pub(super) async fn load_paid(
        &self,
        kind: OperationKind,
        a: &Activation,
        payment: Payment,
    ) -> Result<OperationResult, AppError> {
        self.load(kind, a, Backing::Paid(payment)).await
    }

    /// A sale or a top-up: what backs it is checked first (nothing is recorded for a
    /// tender the till does not take), then the card, then the entry is recorded and
    /// sent; a Dintero payment is verified by sync before anything reaches the card.
    async fn load(
        &self,
        kind: OperationKind,
        a: &Activation,
        backing: Backing,
    ) -> Result<OperationResult, AppError> {
        let (token, amount) = (&a.token, a.amount);
        let reference = match &backing {
            Backing::Paid(p) => {
                if let Payment::Dintero(id) = p {
                    check_transaction_id(id)?;
                }
                let clerk = self.clerk_number();
                let cash = match p {
                    Payment::Cash => self.cash_today(clerk.as_deref())?,
                    _ => Money::zero(amount.currency()),
                };
                crate::tender::allowed(&self.cfg.tenders, p, amount, cash)?;
                match p {
                    Payment::Dintero(id) => Some(id.clone()),
                    _ => None,
                }
            }
            Backing::Override { reference, .. } => reference.clone(),
        };
        // The card and the payment are read side by side: one round trip, not two.
        let verifying =
            matches!(backing, Backing::Paid(Payment::Dintero(_))) && self.engine.verifies(false);
        let card = match (&reference, verifying) {
            (Some(id), true) => {
                let (card, ()) =
                    tokio::join!(self.lookup(token, None), self.engine.prefetch_payment(id));
                card?
            }
            _ => self.lookup(token, None).await?,
        };
        if let Some(c) = &card {
            let waiting = c.status.awaits_activation();
            if kind == OperationKind::Activate && !waiting {
                return Err(AppError::new(
                    ErrorCode::CardAlreadyActive,
                    format!(
                        "card {} is {}, not waiting to be sold",
                        token.masked(),
                        c.status
                    ),
                ));
            }
            if kind == OperationKind::TopUp && waiting {
                return Err(AppError::new(
                    ErrorCode::CardInactive,
                    format!(
                        "card {} has not been sold yet; sell it instead",
                        token.masked()
                    ),
                ));
            }
        }
        let mut e = self.new_entry(
            kind,
            token,
            card.as_ref().map(|c| c.card_id.clone()),
            amount,
            card.is_none(),
        );
        e.metadata.dintero_transaction_id = reference;
        if kind == OperationKind::Activate {
            e.metadata.customer_id = a.customer_id.clone();
            e.metadata.expires_at = a.expires_at.map(|x| x.to_rfc3339());
        }
        match backing {
            Backing::Paid(Payment::Cash) => e.metadata.tender = Some(Tender::Cash.as_str().into()),
            Backing::Paid(Payment::CardTerminal(r)) => {
                e.metadata.tender = Some(Tender::CardTerminal.as_str().into());
                e.metadata.tender_reference = Some(r);
            }
            Backing::Paid(Payment::Dintero(_)) => {}
            Backing::Override {
                manager, reason, ..
            } => {
                e.metadata.override_by = Some(manager);
                e.metadata.override_reason = Some(reason);
            }
        }
        let entry = self.record_to_send(e)?;
        self.submit(&entry, None, true).await
    }
}

/// A card and an amount, with nothing else to say (a top-up, a sale by tender): the
/// payment is in the [`Backing`].
fn plain(token: &CardToken, amount: Money) -> Activation {
    Activation {
        token: token.clone(),
        amount,
        transaction_id: String::new(),
        customer_id: None,
        expires_at: None,
    }
}

/// What backs a sale or a top-up.
enum Backing {
    Paid(Payment),
    /// A manager's override: who, why, and the unverifiable payment's reference.
    Override {
        manager: String,
        reason: String,
        reference: Option<String>,
    },
}

/// An override's reason: 1 to 200 printable characters (trimmed).
pub(super) fn check_reason(reason: &str) -> Result<&str, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "an override needs a reason: 1 to 200 printable characters",
        ));
    }
    Ok(reason)
}

fn overridden(
    approval: &crate::approval::Approval,
    reason: &str,
    reference: Option<String>,
) -> Result<Backing, AppError> {
    let manager = approval.check(crate::approval::ManagerAction::PaymentOverride)?;
    let reason = check_reason(reason)?;
    Ok(Backing::Override {
        manager: manager.to_string(),
        reason: reason.to_string(),
        reference,
    })
}
