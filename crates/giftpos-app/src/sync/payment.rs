//! Payments behind sold cards: capturing and refunding through Checkout, the rest of a
//! partial capture released, the card's activation recorded once, and the payment
//! verified before a card is activated on it.

use giftpos_core::OperationKind;
use giftpos_dintero::DinteroError;
use giftpos_dintero::wire::checkout::PaymentTransaction;
use giftpos_journal::{Entry, EntryState};

use super::{Engine, Outcome, PREFETCH_FRESH, lock};
use crate::error::{AppError, ErrorCode};

/// What a Checkout payment entry pays for when it loads no card: a purchase the
/// customer's gift card paid part of (`_loads`).
pub const PURCHASE: &str = "purchase";

/// Why the terminal captured a reservation's rest and gave it back: Dintero refused to
/// release it after a partial capture.
pub const GIVE_BACK: &str = "release the rest: captured and given back (the void was refused)";

impl Engine {
    /// A Checkout payment for a sold card: follows its session and its transaction
    /// until Dintero has decided; once the payment is captured (capturing it here when
    /// the profile only authorizes), records the card's activation with that
    /// transaction id — exactly once, whoever gets here first after a crash — and
    /// confirms. Pending approval (`INITIATED`, `ON_HOLD`, `UNKNOWN`, or a status we do
    /// not know): followed again. Cancelled, expired, declined or failed: refused, and
    /// nothing is activated.
    pub(super) async fn apply_payment(
        &self,
        e: &Entry,
        card_id: &str,
    ) -> Result<Outcome, DinteroError> {
        use giftpos_dintero::wire::checkout::{CaptureBody, Followed, event, status};
        let not_completed = |why: String| {
            Ok(Outcome::Refused(AppError::new(
                ErrorCode::PaymentNotCompleted,
                why,
            )))
        };
        let Some(session_id) = e.metadata.session_id.clone() else {
            return Ok(Outcome::NeedsAttention(
                "a payment entry without its session".into(),
            ));
        };
        let session = match self.client.session(&session_id).await {
            Ok(s) => s,
            Err(err) if err.is_transient() => return Err(err),
            Err(err) => return Ok(Outcome::Refused(err.into())),
        };
        let Some(tx_id) = session.transaction_id else {
            if session.cancelled_at.is_some() {
                return not_completed(
                    "the payment was cancelled; the card was not activated".into(),
                );
            }
            if session.expires_at.is_some_and(|x| x <= self.clock.now()) {
                // Cancelled before it is concluded unpaid: a payer authorising right now
                // is then voided by Dintero, or the cancel is refused because it was
                // paid — and the payment is followed, never called unpaid.
                let paid = match self.client.cancel_session(&session_id).await {
                    Ok(s) => s.transaction_id.is_some(),
                    Err(err) if err.is_transient() => return Err(err),
                    Err(err) => {
                        tracing::info!(entry = %e.id, "cancelling the expired session: {err}; reading it again");
                        self.client
                            .session(&session_id)
                            .await?
                            .transaction_id
                            .is_some()
                    }
                };
                if paid {
                    return Ok(Outcome::Waiting(
                        "the payer paid as the session expired; following the payment".into(),
                    ));
                }
                return not_completed(
                    "the payment session expired unpaid and was cancelled; the card was not activated"
                        .into(),
                );
            }
            return Ok(Outcome::Waiting("waiting for the payer".into()));
        };
        let mut tx = match self.client.payment(&tx_id).await {
            Ok(t) => t,
            Err(err) if err.is_transient() => return Err(err),
            Err(err) => return Ok(Outcome::Refused(err.into())),
        };
        if status::is_dead(&tx.status) {
            return not_completed(format!(
                "the payment is {}; the card was not activated",
                tx.status
            ));
        }
        if status::is_undecided(&tx.status) {
            return Ok(Outcome::Waiting(format!(
                "payment {} is {} (not decided yet)",
                tx.id, tx.status
            )));
        }
        let purchase = match e.metadata.loads.as_deref() {
            Some(PURCHASE) => true,
            None | Some("top_up") => false,
            Some(other) => {
                return Ok(Outcome::NeedsAttention(format!(
                    "a payment for '{other}', which this version does not know: a manager must look ({} at stake)",
                    e.amount
                )));
            }
        };
        // A gift card's own payment that a gift card paid part of: not taken. Before any
        // capture, so nothing is taken from the customer's card: the session is
        // cancelled (voiding the authorization); once captured, a manager refunds.
        if !purchase
            && !self.policy.gift_card_buys_gift_card
            && let Some((_, why)) = crate::payments::gift_card_refused(&tx)
        {
            if tx.status == status::AUTHORIZED && tx.captured() == 0 {
                match self.client.cancel_session(&session_id).await {
                    Ok(_) => {
                        return not_completed(format!(
                            "{why}; the payment was cancelled and the card was not loaded"
                        ));
                    }
                    Err(err) if err.is_transient() => return Err(err),
                    Err(err) => {
                        tracing::warn!(entry = %e.id, "could not cancel session {session_id}: {err}")
                    }
                }
            }
            return Ok(Outcome::NeedsAttention(format!(
                "{why}: the card was not loaded, a manager must refund the payment or override ({} at stake)",
                e.amount
            )));
        }
        if tx.captured() < e.amount.minor()
            && (tx.status == status::AUTHORIZED || tx.status == status::PARTIALLY_CAPTURED)
        {
            // Our capture may be under way (202) or done with its answer lost: look
            // before capturing again (Dintero does not promise that a repeated
            // capture_reference is ignored).
            let seen = tx.followed(
                (event::CAPTURE, event::INITIATE_CAPTURE),
                &e.id,
                e.accepted_request.as_deref(),
            );
            match seen {
                Followed::Done => {}
                Followed::UnderWay => {
                    return Ok(Outcome::Waiting(format!(
                        "the capture of payment {} is under way",
                        tx.id
                    )));
                }
                Followed::Failed | Followed::NotSeen => {
                    let body = CaptureBody {
                        amount: e.amount.minor(),
                        capture_reference: Some(e.id.clone()),
                    };
                    match self.client.capture_payment(&tx_id, &body).await {
                        Ok(answer) if answer.accepted.is_some() => {
                            self.keep_accepted(e, answer.accepted.as_deref())?;
                            return Ok(Outcome::Waiting(format!(
                                "the capture of payment {} was accepted; waiting for its outcome",
                                tx.id
                            )));
                        }
                        Ok(answer) => tx = answer.transaction,
                        Err(err) if err.is_transient() => return Err(err),
                        // Refused: perhaps it was captured meanwhile (auto-capture, or
                        // our earlier attempt). Read it again and judge what it says.
                        Err(err) => {
                            tracing::info!(entry = %e.id, "capture refused ({err}); reading the payment again");
                            tx = self.client.payment(&tx_id).await?;
                        }
                    }
                }
            }
        }
        // One verdict (payments.rs): a refunded or voided payment never loads a card,
        // whatever it once captured.
        if let Err((failed, why)) = crate::payments::taken_covers(&tx, e.amount) {
            return if failed == crate::payments::Failed::NotPaid {
                not_completed(format!("{why}; the card was not loaded"))
            } else {
                Ok(Outcome::NeedsAttention(format!(
                    "{why}: a manager must look ({} at stake)",
                    e.amount
                )))
            };
        }
        if purchase {
            return self.settle_purchase(e, card_id, &tx).await;
        }
        if let Err(err) = self.ensure_activation(e, card_id, &tx.id) {
            tracing::error!(entry = %e.id, "the paid card's activation could not be recorded: {err}");
            return Err(DinteroError::Unreachable(
                "the activation could not be recorded yet".into(),
            ));
        }
        Ok(Outcome::Confirmed {
            transaction_id: Some(tx.id),
            available_after: None,
        })
    }

    /// A purchase paid through Checkout with the customer's gift card in it (split
    /// tender), now taken: the card's part as Dintero's transaction says it, and the
    /// card's balance after, read back (Dintero drew the card; the terminal never does).
    ///
    /// The payer may have taken the card out (the card's part is then 0) or put another
    /// in: the part is recorded as Dintero says, and the balance read back only when
    /// the card that paid is the one checked at the till.
    async fn settle_purchase(
        &self,
        e: &Entry,
        card_id: &str,
        tx: &PaymentTransaction,
    ) -> Result<Outcome, DinteroError> {
        let part = tx.gift_card_part().min(e.amount.minor());
        let paid_with = tx.payment_product_type.as_deref();
        // Kept before the payment is confirmed: a confirmed purchase always says what
        // the card paid (a failed write is retried, the payment is taken already).
        if let Err(err) = self.journal.set_split(&e.id, part, paid_with) {
            tracing::error!(entry = %e.id, "the gift card's part could not be recorded: {err}");
            return Err(DinteroError::Unreachable(
                "the gift card's part could not be recorded yet".into(),
            ));
        }
        let paid_by = tx.gift_cards.first().map(|g| g.card_id.as_str());
        if paid_by.is_some_and(|c| c != card_id) {
            tracing::warn!(entry = %e.id, "the payer paid with another gift card than the one checked at the till");
        }
        let available_after = if paid_by.is_none_or(|c| c == card_id) {
            match self.client.card(card_id).await {
                Ok(card) => card.amount_available,
                Err(err) => {
                    tracing::info!(entry = %e.id, "the card's balance after the payment is not known yet: {err}");
                    None
                }
            }
        } else {
            None
        };
        Ok(Outcome::Confirmed {
            transaction_id: Some(tx.id.clone()),
            available_after,
        })
    }

    /// A returned card's payment is refunded. Dintero does not promise that a repeated
    /// `refund_reference` is ignored, so after an unknown outcome the transaction's
    /// events are read first: our refund done → confirmed; under way (202) → wait; not
    /// there → sent. A refusal is checked the same way before it is believed.
    pub(super) async fn apply_payment_refund(
        &self,
        e: &Entry,
        tx_id: &str,
        sent_before: bool,
    ) -> Result<Outcome, DinteroError> {
        use giftpos_dintero::wire::checkout::{Followed, RefundBody};
        let done = |tx: &PaymentTransaction| Outcome::Confirmed {
            transaction_id: Some(tx.id.clone()),
            available_after: None,
        };
        if sent_before || e.accepted_request.is_some() {
            let tx = self.client.payment(tx_id).await?;
            match self.refund_seen(e, &tx)? {
                Followed::Done => return Ok(done(&tx)),
                Followed::UnderWay => {
                    return Ok(Outcome::Waiting(format!(
                        "the refund of payment {tx_id} is under way"
                    )));
                }
                Followed::Failed | Followed::NotSeen => {}
            }
        }
        let body = RefundBody {
            amount: e.amount.minor(),
            reason: Some("gift card returned unused".into()),
            refund_reference: Some(e.id.clone()),
        };
        match self.client.refund_payment(tx_id, &body).await {
            Ok(a) if a.accepted.is_some() => {
                self.keep_accepted(e, a.accepted.as_deref())?;
                Ok(Outcome::Waiting(format!(
                    "the refund of payment {tx_id} was accepted; waiting for its outcome"
                )))
            }
            Ok(a) => Ok(done(&a.transaction)),
            Err(err) if err.is_transient() => Err(err),
            Err(err) => {
                // Refused — unless our refund is there after all (an earlier attempt
                // whose answer was lost): never journal "refused" for money that moved.
                let tx = self.client.payment(tx_id).await?;
                if self.refund_seen(e, &tx)? == Followed::Done {
                    return Ok(done(&tx));
                }
                Ok(Outcome::Refused(err.into()))
            }
        }
    }

    /// Our refund on the payment, by its reference, the 202's request id — and, where
    /// Dintero's events carry neither (`event_reference` is promised on nothing), by
    /// what was refunded: this till is the only one refunding a payment its own session
    /// took, so refunds beyond the others it journaled are this one's.
    fn refund_seen(
        &self,
        e: &Entry,
        tx: &PaymentTransaction,
    ) -> Result<giftpos_dintero::wire::checkout::Followed, DinteroError> {
        use giftpos_dintero::wire::checkout::{Followed, event};
        let seen = tx.followed(
            (event::REFUND, event::INITIATE_REFUND),
            &e.id,
            e.accepted_request.as_deref(),
        );
        if seen != Followed::NotSeen {
            return Ok(seen);
        }
        let others: i64 = self
            .journal
            .by_payment(&tx.id)
            .map_err(|err| DinteroError::Unreachable(err.to_string()))?
            .iter()
            .filter(|x| {
                x.kind == OperationKind::PaymentRefund
                    && x.id != e.id
                    && x.state == EntryState::Confirmed
            })
            .map(|x| x.amount.minor())
            .sum();
        Ok(if tx.refunded() - others >= e.amount.minor() {
            Followed::Done
        } else {
            Followed::NotSeen
        })
    }

    /// Keeps the `event-request-id` of an accepted (202) capture or refund with its
    /// entry, before anything else is sent for it.
    fn keep_accepted(&self, e: &Entry, request_id: Option<&str>) -> Result<(), DinteroError> {
        match request_id.filter(|r| !r.is_empty()) {
            Some(r) => self
                .journal
                .set_accepted_request(&e.id, r)
                .map_err(|err| DinteroError::Unreachable(err.to_string())),
            None => Ok(()),
        }
    }

    /// A capture of less than was reserved leaves the rest pending at Dintero
    /// (MD-capture). Before such a capture is sent, the release of the rest (a void of
    /// the same reservation) is journaled behind it — once: it is looked for first, so
    /// a retry or a crash never records two.
    pub(super) fn ensure_remainder_released(&self, capture: &Entry) -> Result<(), AppError> {
        let Some(parent_id) = capture.parent_id.as_deref() else {
            return Ok(());
        };
        let Some(parent) = self.journal.get(parent_id)? else {
            return Ok(());
        };
        let settlements: Vec<Entry> = self
            .journal
            .children(parent_id)?
            .into_iter()
            .filter(|x| x.state != EntryState::Refused)
            .collect();
        if settlements.iter().any(|x| x.kind == OperationKind::Void) {
            return Ok(());
        }
        let captured: i64 = settlements
            .iter()
            .filter(|x| x.kind == OperationKind::Capture)
            .map(|x| x.amount.minor())
            .sum();
        let rest = parent.amount.minor() - captured;
        if rest <= 0 {
            return Ok(());
        }
        let metadata = giftpos_journal::EntryMeta {
            reason: Some("release the rest after a partial capture".into()),
            offline: parent.recorded_offline(),
            ..Default::default()
        };
        let amount = giftpos_core::Money::from_minor(rest, parent.amount.currency())
            .map_err(|e| AppError::internal(e.to_string()))?;
        self.journal.append(
            giftpos_journal::NewEntry {
                id: uuid::Uuid::new_v4().to_string(),
                kind: OperationKind::Void,
                card_token: None,
                card_masked: parent.card.clone(),
                card_id: parent.card_id.clone(),
                card_key: parent.card_key.clone(),
                amount,
                clerk: capture.clerk.clone(),
                metadata,
                parent_id: Some(parent_id.to_string()),
            },
            self.clock.now(),
        )?;
        self.wake();
        Ok(())
    }

    /// Records what a captured payment pays for — the card's activation, or its top-up —
    /// unless it is recorded already.
    pub(super) fn ensure_activation(
        &self,
        payment: &Entry,
        card_id: &str,
        tx_id: &str,
    ) -> Result<(), AppError> {
        let kind = match payment.metadata.loads.as_deref() {
            Some("top_up") => OperationKind::TopUp,
            _ => OperationKind::Activate,
        };
        let done = self
            .journal
            .children(&payment.id)?
            .iter()
            .any(|x| x.kind == kind);
        if done {
            return Ok(());
        }
        let metadata = giftpos_journal::EntryMeta {
            dintero_transaction_id: Some(tx_id.to_string()),
            payment_entry: Some(payment.id.clone()),
            ..Default::default()
        };
        self.journal.append(
            giftpos_journal::NewEntry {
                id: uuid::Uuid::new_v4().to_string(),
                kind,
                card_token: payment.card_token.clone(),
                card_masked: payment.card.clone(),
                card_id: Some(card_id.to_string()),
                card_key: payment.card_key.clone(),
                amount: payment.amount,
                clerk: payment.clerk.clone(),
                metadata,
                parent_id: Some(payment.id.clone()),
            },
            self.clock.now(),
        )?;
        self.wake();
        Ok(())
    }

    /// Verifies the payment behind a sale before its activation is sent (see
    /// `payments.rs`): not for a card sold through our own Checkout session (the payment
    /// entry already checked it), nor under a manager's override. `None`: go ahead.
    /// A failure refuses a sale made online and hands one made offline to a manager; a
    /// payment pending approval makes the sale wait.
    pub(super) async fn verify_payment(&self, e: &Entry) -> Result<Option<Outcome>, DinteroError> {
        use crate::payments::{Age, Verdict, VerifyMode, verify};
        let mode = self.policy.verify_payments;
        if mode == VerifyMode::Off || e.parent_id.is_some() || e.metadata.override_by.is_some() {
            return Ok(None);
        }
        let Some(id) = e.metadata.dintero_transaction_id.clone() else {
            return Ok(None);
        };
        let answer = match self.take_prefetched(&id) {
            Some(tx) => Ok(tx),
            None => self.client.payment(&id).await,
        };
        let tx = match answer {
            Ok(tx) => Some(tx),
            Err(DinteroError::NotFound) => None,
            Err(err) if err.is_transient() => return Err(err),
            Err(err) => {
                let why = format!("payment {id} could not be read to verify it: {err}");
                return Ok(self.unverified(e, mode, why));
            }
        };
        let already: i64 = self
            .journal
            .by_payment(&id)
            .map_err(|err| DinteroError::Unreachable(err.to_string()))?
            .iter()
            .filter(|x| {
                matches!(x.kind, OperationKind::Activate | OperationKind::TopUp)
                    && x.id != e.id
                    && x.state != EntryState::Refused
                    && x.metadata.dintero_transaction_id.as_deref() == Some(id.as_str())
            })
            .map(|x| x.amount.minor())
            .sum::<i64>()
            // …and what left the live journal in archives still counts.
            + self
                .journal
                .archived_payment_use(&id)
                .map_err(|err| DinteroError::Unreachable(err.to_string()))?
            // …and a purchase this till took the payment for (pay the rest): it loads
            // no card, but the payment paid for it.
            + self.purchase_paid_by(tx.as_ref())?;
        // A payment's age at the sale's time (an offline sale is judged by when it was
        // recorded, not by when the network came back).
        let age = Age {
            now: e.created_at,
            max: self.policy.payment_max_age,
        };
        Ok(match verify(&id, tx.as_ref(), e.amount, already, age) {
            Verdict::Verified { .. } if !self.policy.gift_card_buys_gift_card => tx
                .as_ref()
                .and_then(crate::payments::gift_card_refused)
                .and_then(|(_, why)| self.unverified(e, mode, why)),
            Verdict::Verified { .. } => None,
            Verdict::Wait(why) => Some(Outcome::Waiting(why)),
            Verdict::Refused(_, why) => self.unverified(e, mode, why),
        })
    }

    /// What of payment `tx` paid a purchase at this till (its `merchant_reference` is
    /// one of our journal's pay-the-rest entries), in minor units.
    fn purchase_paid_by(&self, tx: Option<&PaymentTransaction>) -> Result<i64, DinteroError> {
        let Some(reference) = tx.and_then(|t| t.merchant_reference.as_deref()) else {
            return Ok(0);
        };
        let entry = self
            .journal
            .get(reference)
            .map_err(|err| DinteroError::Unreachable(err.to_string()))?;
        Ok(entry
            .filter(|x| {
                x.kind == OperationKind::Payment
                    && x.state != EntryState::Refused
                    && x.metadata.loads.as_deref() == Some(PURCHASE)
            })
            .map(|x| x.amount.minor())
            .unwrap_or(0))
    }

    /// Whether selling against payment `id` verifies it (then [`Engine::prefetch_payment`]
    /// is worth its request).
    pub fn verifies(&self, overridden: bool) -> bool {
        self.policy.verify_payments != crate::payments::VerifyMode::Off && !overridden
    }

    /// Reads payment `id` ahead of the sale's verification, alongside the card's
    /// look-up, so the clerk waits one round trip for both. Only a readable answer is
    /// kept, for [`PREFETCH_FRESH`]; anything else is read again when verifying.
    pub async fn prefetch_payment(&self, id: &str) {
        if let Ok(tx) = self.client.payment(id).await {
            let mut cache = lock(&self.prefetched);
            cache.retain(|_, (at, _)| at.elapsed() < PREFETCH_FRESH);
            cache.insert(id.to_string(), (std::time::Instant::now(), tx));
        }
    }

    fn take_prefetched(&self, id: &str) -> Option<PaymentTransaction> {
        lock(&self.prefetched)
            .remove(id)
            .filter(|(at, _)| at.elapsed() < PREFETCH_FRESH)
            .map(|(_, tx)| tx)
    }

    pub(super) fn unverified(
        &self,
        e: &Entry,
        mode: crate::payments::VerifyMode,
        why: String,
    ) -> Option<Outcome> {
        if mode == crate::payments::VerifyMode::Warn {
            tracing::warn!(entry = %e.id, "payment not verified, activated anyway ([payments] verify = warn): {why}");
            return None;
        }
        Some(if e.recorded_offline() {
            Outcome::NeedsAttention(format!(
                "{why}; the card was not {} ({} at stake): a manager can override",
                if e.kind == OperationKind::TopUp {
                    "topped up"
                } else {
                    "activated"
                },
                e.amount
            ))
        } else {
            Outcome::Refused(AppError::new(ErrorCode::PaymentUnverified, why))
        })
    }
}
