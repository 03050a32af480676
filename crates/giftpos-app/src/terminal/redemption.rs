//! Redeeming: a reservation (a pending drawdown), then its completion (capture, with
//! the rest released) or cancellation (void); offline within the configured caps.

use giftpos_core::{CardToken, Money, OperationKind, Pin};
use giftpos_journal::{Entry, EntryState, NewEntry};
use uuid::Uuid;

use super::Terminal;
use super::views::{OperationResult, Reservation};
use crate::error::{AppError, ErrorCode};
use crate::sync::Outcome;

impl Terminal {
    /// A reservation made earlier (by [`Terminal::reserve`]), from the journal.
    pub fn reservation(&self, operation_id: &str) -> Result<Reservation, AppError> {
        let e = self.entry(operation_id)?;
        if e.kind != OperationKind::Redeem || e.parent_id.is_some() {
            return Err(AppError::new(
                ErrorCode::TransactionNotFound,
                format!("entry {operation_id} is not a reservation"),
            ));
        }
        Ok(Reservation {
            training: self.is_training(),
            operation_id: e.id.clone(),
            card: e.card.clone(),
            card_id: e.card_id.clone(),
            transaction_id: e.server_transaction_id.clone(),
            amount: e.amount,
            queued: e.state != EntryState::Confirmed,
        })
    }

    /// Reserves an amount on the card (a pending drawdown), checking the PIN. Offline it
    /// is refused unless the configured caps allow it; a refusal names the cap.
    pub async fn reserve(
        &self,
        token: &CardToken,
        amount: Money,
        pin: &Pin,
    ) -> Result<Reservation, AppError> {
        let Some(card) = self.lookup(token, Some(pin)).await? else {
            return self.reserve_offline(token, amount);
        };
        if let Some(avail) = self.money(card.amount_available)
            && avail.minor() < amount.minor()
        {
            return Err(AppError::new(
                ErrorCode::InsufficientFunds,
                format!(
                    "the card has {} available; {} was asked",
                    avail.display(self.cfg.locale),
                    amount.display(self.cfg.locale)
                ),
            ));
        }
        let e = self.new_entry(
            OperationKind::Redeem,
            token,
            Some(card.card_id.clone()),
            amount,
            false,
        );
        let entry = self.record_to_send(e)?;
        match self.engine.send_now(&entry.id, Some(pin)).await? {
            Outcome::Confirmed { transaction_id, .. } => Ok(Reservation {
                training: self.is_training(),
                operation_id: entry.id,
                card: token.masked(),
                card_id: Some(card.card_id),
                transaction_id,
                amount,
                queued: false,
            }),
            Outcome::Refused(err) => Err(err),
            Outcome::NeedsAttention(reason) => {
                // Not sent when an earlier entry for the card waits for a manager: the
                // clerk is told no, so it is withdrawn — sent after the manager's
                // decision it would leave a hold on the card that nobody completes.
                // (Sent and itself in doubt, it stays for the manager.)
                match self
                    .journal()
                    .withdraw(&entry.id, &reason, self.clock.now())
                {
                    Ok(()) | Err(giftpos_journal::JournalError::WrongState(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                Err(AppError::new(ErrorCode::Rejected, reason))
            }
            Outcome::Waiting(why) => Err(AppError::new(ErrorCode::Rejected, why)),
            Outcome::Retry(err) => {
                // The answer was lost: the reservation may or may not exist. It will be
                // sent again (same ref_id) and then released, so nothing is charged.
                let mut void = self.new_entry(
                    OperationKind::Void,
                    token,
                    Some(card.card_id),
                    amount,
                    false,
                );
                void.parent_id = Some(entry.id.clone());
                void.metadata.reason = Some("answer lost at the till".into());
                self.record(void)?;
                self.engine.wake();
                Err(AppError::new(
                    if matches!(err, giftpos_dintero::DinteroError::Unreadable { .. }) {
                        ErrorCode::DinteroUnreadable
                    } else {
                        ErrorCode::Offline
                    },
                    format!(
                        "Dintero did not confirm the reservation ({err}); it will be released, nothing is charged"
                    ),
                ))
            }
        }
    }

    fn reserve_offline(&self, token: &CardToken, amount: Money) -> Result<Reservation, AppError> {
        let refuse = |why: String| Err(AppError::new(ErrorCode::OfflineNotAllowed, why));
        let Some(caps) = self.cfg.offline else {
            return refuse(
                "Dintero cannot be reached and redemption offline is not enabled".into(),
            );
        };
        let key = self.journal().card_key(token.expose());
        let Some(known) = self.journal().cached_card(&key)? else {
            return refuse(format!(
                "offline redemption needs a known balance; card {} was never checked here",
                token.masked()
            ));
        };
        let age = (self.clock.now() - known.fetched_at).num_seconds();
        if age > caps.max_balance_age.as_secs() as i64 {
            return refuse(format!(
                "cap max_balance_age_secs: the last known balance is {age} s old (at most {} s)",
                caps.max_balance_age.as_secs()
            ));
        }
        if amount.minor() > caps.max_redeem.minor() {
            return refuse(format!(
                "cap max_redeem: at most {} may be redeemed offline",
                caps.max_redeem.display(self.cfg.locale)
            ));
        }
        let outstanding = self.journal().outstanding_offline_redemptions()?;
        if outstanding + amount.minor() > caps.max_outstanding.minor() {
            return refuse(format!(
                "cap max_outstanding: offline redemptions waiting to sync would exceed {}",
                caps.max_outstanding.display(self.cfg.locale)
            ));
        }
        if known.available.is_none_or(|a| a < amount.minor()) {
            return Err(AppError::new(
                ErrorCode::InsufficientFunds,
                "the last known balance is lower than the amount".to_string(),
            ));
        }
        let e = self.new_entry(
            OperationKind::Redeem,
            token,
            Some(known.card_id.clone()),
            amount,
            true,
        );
        let entry = self.record(e)?;
        Ok(Reservation {
            training: self.is_training(),
            operation_id: entry.id,
            card: token.masked(),
            card_id: Some(known.card_id),
            transaction_id: None,
            amount,
            queued: true,
        })
    }

    pub(super) fn settle_entry(
        &self,
        r: &Reservation,
        kind: OperationKind,
        amount: Money,
        send: bool,
    ) -> Result<Entry, AppError> {
        let parent = self
            .journal()
            .get(&r.operation_id)?
            .ok_or_else(|| AppError::new(ErrorCode::TransactionNotFound, "unknown reservation"))?;
        // Settled already (completed, cancelled, or its rest released): refused before
        // anything is recorded, so a second "complete" never blocks the card's queue.
        if let Some(done) = self.journal().children(&parent.id)?.into_iter().find(|x| {
            matches!(x.kind, OperationKind::Capture | OperationKind::Void)
                && x.state != EntryState::Refused
        }) {
            return Err(AppError::new(
                ErrorCode::TransactionNotPending,
                format!(
                    "reservation {} was already {} (entry {})",
                    parent.id,
                    if done.kind == OperationKind::Capture {
                        "completed"
                    } else {
                        "cancelled"
                    },
                    done.id
                ),
            ));
        }
        let metadata = giftpos_journal::EntryMeta {
            offline: parent.recorded_offline(),
            ..Default::default()
        };
        let e = NewEntry {
            id: Uuid::new_v4().to_string(),
            kind,
            card_token: None,
            card_masked: parent.card.clone(),
            card_id: parent.card_id.clone(),
            card_key: parent.card_key.clone(),
            amount,
            clerk: self.clerk_number(),
            metadata,
            parent_id: Some(parent.id),
        };
        if send {
            self.record_to_send(e)
        } else {
            self.record(e)
        }
    }

    /// Completes a reservation ("complete sale"), for all of it or less.
    pub async fn complete(
        &self,
        r: &Reservation,
        amount: Option<Money>,
    ) -> Result<OperationResult, AppError> {
        let amount = amount.unwrap_or(r.amount);
        if amount.minor() > r.amount.minor() {
            return Err(AppError::new(
                ErrorCode::CaptureExceedsPending,
                format!("at most {} was reserved", r.amount.display(self.cfg.locale)),
            ));
        }
        let entry = self.settle_entry(r, OperationKind::Capture, amount, !r.queued)?;
        if r.queued {
            return self.submit(&entry, None, false).await;
        }
        let outcome = self.engine.send_now(&entry.id, None).await?;
        let mut attention = None;
        if amount.minor() < r.amount.minor() && matches!(outcome, Outcome::Confirmed { .. }) {
            // Dintero keeps the rest of a partial capture pending: its release was
            // journaled before the capture left; send it now, so the customer's card
            // shows the right balance on the receipt (sync sends it otherwise).
            attention = self.release_rest(&r.operation_id, &entry.card_key).await;
        }
        let mut res = self.result(&entry, &outcome)?;
        self.read_back(&mut res).await;
        res.attention = attention;
        Ok(res)
    }

    /// Sends the release of a partly captured reservation's rest — and, where Dintero
    /// refuses it, the way around it (the rest captured and given back). What a
    /// manager must still do is returned for the clerk's result.
    async fn release_rest(&self, reservation: &str, card_key: &str) -> Option<String> {
        let give_back = crate::sync::GIVE_BACK;
        let open = |this: &Self| -> Vec<Entry> {
            this.journal()
                .open_entries()
                .unwrap_or_default()
                .into_iter()
                .filter(|x| {
                    (x.kind == OperationKind::Void && x.parent_id.as_deref() == Some(reservation))
                        || (x.card_key == card_key
                            && x.metadata.reason.as_deref() == Some(give_back))
                })
                .collect()
        };
        let mut attention = None;
        // The release, then what its refusal recorded, in journal order.
        for _ in 0..2 {
            for x in open(self) {
                match self.engine.send_now(&x.id, None).await {
                    Ok(Outcome::NeedsAttention(why)) => attention = Some(why),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(
                            "the rest of reservation {reservation} is released later: {e}"
                        );
                        return None;
                    }
                }
            }
        }
        attention
    }

    /// Cancels a reservation ("cancel"): the money is released.
    pub async fn cancel(&self, r: &Reservation) -> Result<OperationResult, AppError> {
        let entry = self.settle_entry(r, OperationKind::Void, r.amount, !r.queued)?;
        self.submit(&entry, None, !r.queued).await
    }

    /// Redeems in one go: reserve, then complete.
    pub async fn redeem(
        &self,
        token: &CardToken,
        amount: Money,
        pin: &Pin,
    ) -> Result<OperationResult, AppError> {
        let r = self.reserve(token, amount, pin).await?;
        let mut res = self.complete(&r, None).await?;
        res.kind = OperationKind::Redeem;
        Ok(res)
    }
}
