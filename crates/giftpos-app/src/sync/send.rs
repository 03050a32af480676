//! Sending one entry: the attempt counted durably first, the call, the answer read
//! into an outcome; after a lost answer, reconciling by reading what Dintero has.

use std::time::Duration;

use chrono::{DateTime, Utc};
use giftpos_core::{OperationKind, Pin};
use giftpos_dintero::DinteroError;
use giftpos_journal::{Entry, EntryState};
use rand::Rng;

use super::{Engine, Outcome, SyncEvent, carries, chrono_of, request};
use crate::error::{AppError, ErrorCode};

impl Engine {
    pub(super) fn emit(&self, e: &Entry, state: EntryState, reason: Option<String>) {
        let _ = self.events.send(SyncEvent::Entry {
            id: e.id.clone(),
            kind: e.kind,
            state,
            reason,
        });
    }

    /// Sends one entry and records the outcome. The attempt is counted durably before
    /// the request leaves.
    pub async fn execute(&self, e: &Entry, pin: Option<&Pin>) -> Result<Outcome, AppError> {
        let now = self.clock.now();
        let sent_before = e.state == EntryState::Sent;
        match super::off_the_runtime(|| self.journal.mark_sent(&e.id, now)) {
            Ok(()) => {}
            // Another process finished it meanwhile: nothing to send.
            Err(giftpos_journal::JournalError::WrongState(_)) => {
                return self.recorded_outcome(&e.id);
            }
            Err(err) => return Err(err.into()),
        }
        self.emit(e, EntryState::Sent, None);
        let outcome = match self.apply(e, pin, sent_before).await {
            Ok(o) => o,
            Err(err) if err.is_transient() => Outcome::Retry(err),
            Err(err) => Outcome::Refused(err.into()),
        };
        let now = self.clock.now();
        match &outcome {
            Outcome::Confirmed {
                transaction_id,
                available_after,
            } => {
                self.contact(true);
                self.readable(None);
                super::off_the_runtime(|| {
                    self.journal
                        .confirm(&e.id, transaction_id.as_deref(), *available_after, now)
                })?;
                self.emit(e, EntryState::Confirmed, None);
            }
            Outcome::Refused(err) => {
                self.contact(true);
                let reason = format!("{}: {}", err.code.as_str(), err.message);
                super::off_the_runtime(|| self.journal.refuse(&e.id, &reason, now))?;
                self.emit(e, EntryState::Refused, Some(reason));
                self.close_settlements(e, now)?;
            }
            Outcome::NeedsAttention(reason) => {
                self.contact(true);
                super::off_the_runtime(|| self.journal.needs_attention(&e.id, reason, now))?;
                self.emit(e, EntryState::NeedsAttention, Some(reason.clone()));
                self.close_settlements(e, now)?;
            }
            Outcome::Waiting(why) => {
                self.contact(true);
                if now - e.created_at > chrono_of(self.policy.max_wait) {
                    let reason = format!(
                        "still not decided at Dintero after {} h ({why}): a manager must check it",
                        self.policy.max_wait.as_secs() / 3600
                    );
                    return self.give_up(e, reason, now);
                }
                let at = now + chrono_of(self.waiting_interval(now - e.created_at));
                self.journal.retry_later(&e.id, at, why, now)?;
                tracing::info!(entry = %e.id, "waiting: {why}");
            }
            Outcome::Retry(err) => {
                // Only a connection that failed means "offline"; a 5xx, 429 or an
                // unreadable answer came from a Dintero that is there, must not cut the
                // backoff short, and counts towards giving the entry to a manager.
                if err.is_connection() {
                    self.contact(false);
                    let wait = self.backoff(e.attempts + 1);
                    let at = now + chrono_of(wait);
                    self.journal.retry_later(&e.id, at, &err.to_string(), now)?;
                    tracing::info!(entry = %e.id, attempt = e.attempts + 1, wait_ms = wait.as_millis() as u64, "will retry: {err}");
                    return Ok(outcome);
                }
                self.contact(true);
                if let DinteroError::Unreadable { op, what, .. } = err {
                    self.readable(Some(format!("{op}: {what}")));
                }
                let failures = e.failures + 1;
                let since = e.first_failure_at.unwrap_or(now);
                if failures >= self.policy.max_failures
                    || now - since >= chrono_of(self.policy.max_failure_age)
                {
                    let maybe = if err.retry_advice() == giftpos_dintero::RetryAdvice::SameRefIdOnly
                    {
                        " It may have been applied: check the card at Dintero before acting."
                    } else {
                        ""
                    };
                    let reason = format!(
                        "gave up after {failures} failed attempts since {}: {err}.{maybe}",
                        since.format("%Y-%m-%d %H:%M UTC")
                    );
                    return self.give_up(e, reason, now);
                }
                let wait = err
                    .retry_after()
                    .unwrap_or_else(|| self.backoff(e.attempts + 1));
                let at = now + chrono_of(wait);
                self.journal
                    .retry_after_failure(&e.id, at, &err.to_string(), now)?;
                tracing::warn!(entry = %e.id, failures, wait_ms = wait.as_millis() as u64, "will retry: {err}");
            }
        }
        Ok(outcome)
    }

    /// Retries are exhausted: the entry needs a manager, with the reason.
    pub(super) fn give_up(
        &self,
        e: &Entry,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        tracing::error!(entry = %e.id, "needs attention: {reason}");
        self.journal.needs_attention(&e.id, &reason, now)?;
        self.emit(e, EntryState::NeedsAttention, Some(reason.clone()));
        self.close_settlements(e, now)?;
        self.publish_status();
        Ok(Outcome::NeedsAttention(reason))
    }

    /// A redemption that was not applied cannot be captured or voided: its waiting
    /// settlements are refused at once, so they do not hold the card's queue.
    pub(super) fn close_settlements(&self, e: &Entry, now: DateTime<Utc>) -> Result<(), AppError> {
        if e.kind != OperationKind::Redeem {
            return Ok(());
        }
        let open = self.journal.open_entries()?;
        for child in open
            .iter()
            .filter(|c| c.parent_id.as_deref() == Some(e.id.as_str()) && c.state.is_open())
        {
            let reason = format!(
                "not sent: the redemption it settles ({}) was not applied",
                e.id
            );
            self.journal.refuse(&child.id, &reason, now)?;
            self.emit(child, EntryState::Refused, Some(reason));
        }
        Ok(())
    }

    /// How soon to look again at something Dintero has not decided (a payment pending
    /// approval, a 202): often while the customer is likely at the till (the first five
    /// minutes), then backing off with its age towards the spec's hourly poll for
    /// `ON_HOLD` — a tenth of its age, at most an hour.
    pub(super) fn waiting_interval(&self, age: chrono::Duration) -> Duration {
        let age = age.to_std().unwrap_or_default();
        if age < Duration::from_secs(300) {
            return self.policy.probe_every;
        }
        (age / 10).clamp(self.policy.probe_every, Duration::from_secs(3600))
    }

    /// Exponential backoff with jitter: half the step fixed, half random, capped.
    pub(super) fn backoff(&self, attempt: i64) -> Duration {
        let exp = attempt.clamp(1, 20) as u32 - 1;
        let step = self
            .policy
            .backoff_base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.policy.backoff_cap);
        let half = step / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    /// The card's Dintero id: known already, or looked up by its printed token.
    pub(super) async fn card_id(&self, e: &Entry) -> Result<Result<String, Outcome>, DinteroError> {
        if let Some(id) = &e.card_id {
            return Ok(Ok(id.clone()));
        }
        let Some(token) = &e.card_token else {
            return Ok(Err(Outcome::NeedsAttention(
                "the card's number is no longer held and its card id was never learned".into(),
            )));
        };
        let token = giftpos_core::CardToken::recorded(token);
        match self.client.info(&token, None).await {
            Ok(card) => {
                let _ = self.journal.set_card_id(&e.id, &card.card_id);
                Ok(Ok(card.card_id))
            }
            Err(err) if err.is_transient() => Err(err),
            Err(err) => Ok(Err(Outcome::Refused(err.into()))),
        }
    }

    pub(super) async fn apply(
        &self,
        e: &Entry,
        // Checked by the look-up before anything was recorded; no request carries it,
        // so a resend is the same request.
        _pin: Option<&Pin>,
        sent_before: bool,
    ) -> Result<Outcome, DinteroError> {
        let card_id = match self.card_id(e).await? {
            Ok(id) => id,
            Err(outcome) => return Ok(outcome),
        };
        let refused = |err: DinteroError| -> Result<Outcome, DinteroError> {
            if err.is_transient() {
                return Err(err);
            }
            let app: AppError = err.into();
            // Giving back the rest of a partial capture (a release Dintero refused): the
            // customer's money stays drawn unless a manager acts.
            if e.kind == OperationKind::Refund
                && e.metadata.reason.as_deref() == Some(super::payment::GIVE_BACK)
            {
                return Ok(Outcome::NeedsAttention(format!(
                    "Dintero refused to give {} back to card {} ({}): it was drawn to release a reservation; a manager must refund it",
                    e.amount,
                    e.card,
                    app.code.as_str()
                )));
            }
            if e.kind == OperationKind::Redeem && e.recorded_offline() {
                return Ok(Outcome::NeedsAttention(format!(
                    "an offline redemption was refused by Dintero ({}): {} is at risk",
                    app.code.as_str(),
                    e.amount
                )));
            }
            Ok(Outcome::Refused(app))
        };
        match e.kind {
            OperationKind::Payment => self.apply_payment(e, &card_id).await,
            OperationKind::PaymentRefund => {
                let Some(tx_id) = e.metadata.dintero_transaction_id.clone() else {
                    return Ok(Outcome::NeedsAttention(
                        "a payment refund without the payment's transaction id".into(),
                    ));
                };
                self.apply_payment_refund(e, &tx_id, sent_before).await
            }
            OperationKind::Activate => {
                if sent_before && let Some(done) = self.reconcile_activation(e, &card_id).await? {
                    return Ok(done);
                }
                if let Some(stop) = self.verify_payment(e).await? {
                    return Ok(stop);
                }
                let req = request::activation(e);
                match self.client.activate(&card_id, &req).await {
                    Ok(card) => Ok(Outcome::Confirmed {
                        transaction_id: None,
                        available_after: card.amount_available,
                    }),
                    Err(DinteroError::CardAlreadyActive) => Ok(self
                        .reconcile_activation(e, &card_id)
                        .await?
                        .unwrap_or_else(|| {
                            Outcome::NeedsAttention("the card could not be activated".into())
                        })),
                    Err(err) => refused(err),
                }
            }
            OperationKind::TopUp | OperationKind::Refund | OperationKind::Redeem => {
                if sent_before && let Some(done) = self.reconcile_transaction(e, &card_id).await {
                    return Ok(done);
                }
                // A top-up is paid like a sale: its Dintero payment is verified first.
                if e.kind == OperationKind::TopUp
                    && let Some(stop) = self.verify_payment(e).await?
                {
                    return Ok(stop);
                }
                // By card id, always (see `request.rs`): a resend is the same request.
                let req = request::transaction(e, &card_id);
                match self.client.transaction(&req).await {
                    Ok(tx) => Ok(Outcome::Confirmed {
                        transaction_id: Some(tx.id),
                        available_after: None,
                    }),
                    Err(err) => refused(err),
                }
            }
            OperationKind::Capture | OperationKind::Void => {
                let parent_id = e.parent_id.clone().unwrap_or_default();
                let parent = self.journal.get(&parent_id).ok().flatten();
                let parent_tx = match parent {
                    Some(p) if p.state == EntryState::Confirmed => p.server_transaction_id,
                    Some(p) if p.state.is_open() => {
                        // Cannot happen in journal order; wait rather than guess.
                        return Err(DinteroError::Unreachable(
                            "waiting for the redemption it settles".into(),
                        ));
                    }
                    _ => None,
                };
                let Some(parent_tx) = parent_tx else {
                    return Ok(Outcome::Refused(AppError::new(
                        ErrorCode::TransactionNotFound,
                        "the redemption it settles was not applied",
                    )));
                };
                if sent_before && let Some(done) = self.reconcile_transaction(e, &card_id).await {
                    return Ok(done);
                }
                if e.kind == OperationKind::Capture
                    && let Err(err) = self.ensure_remainder_released(e)
                {
                    tracing::error!(entry = %e.id, "the release of the rest could not be recorded: {err}");
                    return Err(DinteroError::Unreachable(
                        "the release of the rest could not be recorded yet".into(),
                    ));
                }
                let result = if e.kind == OperationKind::Capture {
                    self.client.capture(&parent_tx, &request::capture(e)).await
                } else {
                    self.client.void(&parent_tx, &request::void(e)).await
                };
                match result {
                    Ok(tx) => Ok(Outcome::Confirmed {
                        transaction_id: Some(tx.id),
                        available_after: None,
                    }),
                    Err(DinteroError::TransactionNotPending) => Ok(Outcome::NeedsAttention(
                        "the redemption was already settled by another operation".into(),
                    )),
                    // A release Dintero will not make leaves money held on the
                    // customer's card: never "refused" in silence.
                    Err(err) if e.kind == OperationKind::Void && !err.is_transient() => {
                        Ok(self.release_refused(e, err))
                    }
                    Err(err) => refused(err),
                }
            }
            OperationKind::Balance => Ok(Outcome::Refused(AppError::internal(
                "a balance check is not journaled",
            ))),
        }
    }

    /// After a lost answer: is our wallet operation (by its `ref_id`) among the card's
    /// transactions? Then it took effect. `None`: not found, or the list could not be
    /// read — the request is sent again with the same `ref_id` (Dintero's retry key).
    pub(super) async fn reconcile_transaction(&self, e: &Entry, card_id: &str) -> Option<Outcome> {
        let ref_id = e.ref_id.as_deref()?;
        match self.client.card_transactions(card_id).await {
            Ok(list) => list.into_iter().find(|t| t.ref_id == ref_id).map(|t| {
                tracing::info!(entry = %e.id, "found at Dintero after a lost answer");
                Outcome::Confirmed {
                    transaction_id: Some(t.id),
                    available_after: None,
                }
            }),
            Err(err) => {
                tracing::info!(entry = %e.id, "card transactions not readable ({err}); resending with the same ref_id");
                None
            }
        }
    }

    /// After a lost answer: did our activation take effect?
    pub(super) async fn reconcile_activation(
        &self,
        e: &Entry,
        card_id: &str,
    ) -> Result<Option<Outcome>, DinteroError> {
        let card = self.client.card(card_id).await?;
        if carries(&card, &e.id) {
            return Ok(Some(Outcome::Confirmed {
                transaction_id: None,
                available_after: card.amount_available,
            }));
        }
        if !card.status.awaits_activation() {
            return Ok(Some(Outcome::NeedsAttention(format!(
                "card {} was activated by another operation; this sale's payment ({}) needs a manager",
                e.card,
                e.metadata
                    .dintero_transaction_id
                    .clone()
                    .unwrap_or_default()
            ))));
        }
        Ok(None)
    }
}
