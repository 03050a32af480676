//! Sync: the journal's open entries go to Dintero, exactly once.
//!
//! Each round is *diff → plan → execute*: read the open entries (the diff), let the pure
//! [`giftpos_journal::plan`] pick what may go now (per card in journal order, different
//! cards concurrently up to a bound), and send those. After a crash the next round simply
//! finds fewer open entries.
//!
//! Exactly once: operations with a `ref_id` are resent with the same `ref_id` (Dintero
//! answers the first result). Activation has none: before sending it again, the card is
//! read — our entry id in its metadata means it is done; active with other metadata is a
//! conflict for a manager; still inactive means send again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use giftpos_core::{OperationKind, Pin};
use giftpos_dintero::wire::{
    ActivateRequest, CaptureRequest, Card, META_OPERATION_ID, META_TERMINAL_ID, Metadata,
    TransactionKind, TransactionRequest, VoidRequest,
};
use giftpos_dintero::{Clock, DinteroClient, DinteroError};
use giftpos_journal::{Entry, EntryState, Journal, PlanItem};
use rand::Rng;
use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;

use crate::error::{AppError, ErrorCode};

/// How sync paces itself.
#[derive(Debug, Clone, Copy)]
pub struct SyncPolicy {
    /// Cards sent to at once.
    pub concurrency: usize,
    /// First wait after a failed attempt; doubles per attempt, with jitter, up to `cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How often to probe Dintero while offline.
    pub probe_every: Duration,
    /// Failures where Dintero answered but the entry could not complete (unreadable,
    /// 5xx, 429): after this many, or this long since the first, the entry needs a
    /// manager. Being offline is never counted: the status bar shows that.
    pub max_failures: i64,
    pub max_failure_age: Duration,
    /// How long an entry may wait for a decision at Dintero (a payment pending
    /// approval, a capture accepted but not finished) before it needs a manager.
    pub max_wait: Duration,
    /// Whether an activation's typed payment reference is verified before it is sent
    /// (`Terminal` sets it from `[payments] verify`).
    pub verify_payments: crate::payments::VerifyMode,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy {
            concurrency: 16,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(60),
            probe_every: Duration::from_secs(5),
            max_failures: 10,
            max_failure_age: Duration::from_secs(24 * 3600),
            max_wait: Duration::from_secs(24 * 3600),
            verify_payments: crate::payments::VerifyMode::Required,
        }
    }
}

/// What subscribers (the app, `giftpos sync`) hear.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SyncEvent {
    Entry {
        id: String,
        kind: OperationKind,
        state: EntryState,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Status(SyncStatus),
}

/// The status bar's line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SyncStatus {
    pub online: bool,
    pub pending: u64,
    pub oldest_pending_age_secs: Option<i64>,
    pub last_contact: Option<DateTime<Utc>>,
    pub needs_attention: u64,
    /// Set while Dintero answers but its answers cannot be read: which call and what
    /// could not be read (the status bar says "call IT").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// The result of sending one entry.
#[derive(Debug, Clone)]
pub enum Outcome {
    Confirmed {
        transaction_id: Option<String>,
        available_after: Option<i64>,
    },
    Refused(AppError),
    NeedsAttention(String),
    /// Not applied, or not known to be: it stays open and goes again later.
    Retry(DinteroError),
    /// Dintero has not decided yet (a payment pending approval, an operation accepted
    /// with 202): it stays open and is followed again soon; not a failure.
    Waiting(String),
}

#[derive(Debug, Default)]
struct Net {
    online: bool,
    last_contact: Option<DateTime<Utc>>,
    unreadable: Option<String>,
}

/// The sync engine. One per terminal process.
#[derive(Debug)]
pub struct Engine {
    journal: Arc<Journal>,
    client: DinteroClient,
    clock: Arc<dyn Clock>,
    policy: SyncPolicy,
    in_flight: Mutex<HashSet<String>>,
    net: Mutex<Net>,
    events: broadcast::Sender<SyncEvent>,
    wake: Notify,
}

/// Releases a card for the planner when its send ends, however it ends.
struct CardClaim<'a> {
    engine: &'a Engine,
    key: String,
}

impl Drop for CardClaim<'_> {
    fn drop(&mut self) {
        self.engine
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    pub fn new(
        journal: Arc<Journal>,
        client: DinteroClient,
        clock: Arc<dyn Clock>,
        policy: SyncPolicy,
    ) -> Engine {
        let (events, _) = broadcast::channel(1024);
        Engine {
            journal,
            client,
            clock,
            policy,
            in_flight: Mutex::new(HashSet::new()),
            net: Mutex::new(Net {
                online: true,
                last_contact: None,
                unreadable: None,
            }),
            events,
            wake: Notify::new(),
        }
    }

    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    /// Asks the background loop to run a round now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn is_online(&self) -> bool {
        lock(&self.net).online
    }

    /// The status bar's figures.
    pub fn status(&self) -> Result<SyncStatus, AppError> {
        let counts = self.journal.counts()?;
        let net = lock(&self.net);
        let now = self.clock.now();
        Ok(SyncStatus {
            online: net.online,
            pending: counts.pending,
            oldest_pending_age_secs: counts
                .oldest_pending_at
                .map(|t| (now - t).num_seconds().max(0)),
            last_contact: net.last_contact,
            needs_attention: counts.needs_attention,
            unreadable: net.unreadable.clone(),
        })
    }

    fn publish_status(&self) {
        if let Ok(s) = self.status() {
            let _ = self.events.send(SyncEvent::Status(s));
        }
    }

    fn contact(&self, ok: bool) {
        let was_online = {
            let mut net = lock(&self.net);
            let was = net.online;
            net.online = ok;
            if ok {
                net.last_contact = Some(self.clock.now());
            }
            was
        };
        if ok && !was_online {
            // The network is back: everything waiting may go now.
            tracing::info!("Dintero reachable again; resuming sync");
            let _ = self.journal.clear_waits();
            self.wake();
        }
        if ok != was_online {
            self.publish_status();
        }
    }

    /// Dintero answered: readable (`None`) or not (what could not be read).
    fn readable(&self, unreadable: Option<String>) {
        let changed = {
            let mut net = lock(&self.net);
            let changed = net.unreadable != unreadable;
            net.unreadable = unreadable;
            changed
        };
        if changed {
            self.publish_status();
        }
    }

    /// Marks a card as being sent to; false if it already is.
    fn try_claim(&self, key: &str) -> bool {
        lock(&self.in_flight).insert(key.to_string())
    }

    /// Sends every open entry of one card, in order, ending with `entry_id` (the clerk
    /// is waiting for it). `pin` is used for that entry only and never stored.
    pub async fn send_now(&self, entry_id: &str, pin: Option<&Pin>) -> Result<Outcome, AppError> {
        let target = self
            .journal
            .get(entry_id)?
            .ok_or_else(|| AppError::internal(format!("no journal entry {entry_id}")))?;
        // Wait (briefly) if the background loop is sending this card right now.
        while !self.try_claim(&target.card_key) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let claim = CardClaim {
            engine: self,
            key: target.card_key.clone(),
        };
        let open = self.journal.open_entries()?;
        let mut last = None;
        for e in open
            .iter()
            .filter(|e| e.card_key == target.card_key && e.seq <= target.seq)
        {
            if e.state == EntryState::NeedsAttention {
                last = Some(Outcome::NeedsAttention(format!(
                    "an earlier entry for this card ({}) needs attention first",
                    e.id
                )));
                break;
            }
            let out = self
                .execute(e, if e.id == entry_id { pin } else { None })
                .await?;
            let stop = matches!(out, Outcome::Retry(_));
            last = Some(out);
            if stop {
                break;
            }
        }
        drop(claim);
        self.publish_status();
        match last {
            Some(o) => Ok(o),
            // Already final (another process or the loop finished it).
            None => self.recorded_outcome(entry_id),
        }
    }

    /// The outcome the journal holds for an entry that is already final.
    fn recorded_outcome(&self, entry_id: &str) -> Result<Outcome, AppError> {
        let e = self
            .journal
            .get(entry_id)?
            .ok_or_else(|| AppError::internal(format!("no journal entry {entry_id}")))?;
        Ok(match e.state {
            EntryState::Confirmed => Outcome::Confirmed {
                transaction_id: e.server_transaction_id,
                available_after: e.balance_after,
            },
            EntryState::Refused => Outcome::Refused(AppError::new(
                ErrorCode::Rejected,
                e.reason.unwrap_or_default(),
            )),
            EntryState::NeedsAttention => Outcome::NeedsAttention(e.reason.unwrap_or_default()),
            EntryState::Recorded | EntryState::Sent => Outcome::Waiting(
                e.last_error
                    .unwrap_or_else(|| "still waiting to sync".into()),
            ),
        })
    }

    /// One round: plan, then send everything the plan allows, concurrently by card,
    /// until nothing more may go now. Returns how many entries were sent.
    pub async fn run_round(self: &Arc<Self>) -> Result<usize, AppError> {
        let mut sent = 0;
        let mut tasks: JoinSet<Result<(String, String), AppError>> = JoinSet::new();
        // The round's view of the open entries: read once, then kept current entry by
        // entry as sends finish (re-reading everything per send would be quadratic).
        // Entries appended meanwhile are picked up by the next round.
        let mut open = self.journal.open_entries()?;
        // Cards this round is sending to. A card leaves this set only once its result is
        // folded into `open` (the global claim is released earlier, when the send ends),
        // so the planner never sees a stale entry as sendable.
        let mut running: HashSet<String> = HashSet::new();
        loop {
            let mut busy: HashSet<String> = lock(&self.in_flight).clone();
            busy.extend(running.iter().cloned());
            let items: Vec<PlanItem> = open.iter().map(PlanItem::from).collect();
            let picks =
                giftpos_journal::plan(&items, &busy, self.clock.now(), self.policy.concurrency);
            for id in picks {
                let Some(e) = open.iter().find(|e| e.id == id).cloned() else {
                    continue;
                };
                if !self.try_claim(&e.card_key) {
                    continue;
                }
                running.insert(e.card_key.clone());
                let me = self.clone();
                sent += 1;
                tasks.spawn(async move {
                    let _claim = CardClaim {
                        engine: &me,
                        key: e.card_key.clone(),
                    };
                    me.execute(&e, None)
                        .await
                        .map(|_| (e.id.clone(), e.card_key.clone()))
                });
            }
            match tasks.join_next().await {
                Some(r) => {
                    let (id, card) =
                        r.map_err(|e| AppError::internal(format!("sync task: {e}")))??;
                    let now = self.journal.get(&id)?;
                    match (open.iter().position(|e| e.id == id), now) {
                        (Some(i), Some(e))
                            if e.state.is_open() || e.state == EntryState::NeedsAttention =>
                        {
                            open[i] = e;
                        }
                        (Some(i), _) => {
                            open.remove(i);
                        }
                        (None, _) => {}
                    }
                    // Settlements closed alongside a failed redemption are final too.
                    open.retain(|e| {
                        e.parent_id.as_deref() != Some(id.as_str())
                            || self
                                .journal
                                .get(&e.id)
                                .ok()
                                .flatten()
                                .is_some_and(|x| x.state.is_open())
                    });
                    running.remove(&card);
                }
                None => break,
            }
        }
        self.publish_status();
        Ok(sent)
    }

    /// Sends until nothing is open or everything open is waiting; with `ignore_waits`,
    /// backoff waits are cleared first (the operator asked for it).
    pub async fn drain(self: &Arc<Self>, ignore_waits: bool) -> Result<usize, AppError> {
        if ignore_waits {
            self.journal.clear_waits()?;
        }
        let mut sent = self.run_round().await?;
        // A round may record what the next one sends (a paid card's activation).
        for _ in 0..4 {
            let before = self.journal.counts()?.pending;
            if before == 0 {
                break;
            }
            let more = self.run_round().await?;
            sent += more;
            if more == 0 || self.journal.counts()?.pending >= before {
                break;
            }
        }
        Ok(sent)
    }

    /// The background loop: a round whenever woken, at least every `probe_every`; while
    /// offline, a cheap probe first. Runs until `stop` is notified.
    pub async fn run(self: Arc<Self>, stop: Arc<Notify>) {
        loop {
            if !self.is_online() {
                match self.client.probe().await {
                    Ok(_) => self.contact(true),
                    Err(_) => self.publish_status(),
                }
            }
            if self.is_online()
                && let Err(e) = self.run_round().await
            {
                tracing::error!(code = e.code.as_str(), "sync round failed: {e}");
            }
            tokio::select! {
                _ = stop.notified() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.policy.probe_every) => {}
            }
        }
    }

    fn emit(&self, e: &Entry, state: EntryState, reason: Option<String>) {
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
        match self.journal.mark_sent(&e.id, now) {
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
                self.journal
                    .confirm(&e.id, transaction_id.as_deref(), *available_after, now)?;
                self.emit(e, EntryState::Confirmed, None);
            }
            Outcome::Refused(err) => {
                self.contact(true);
                let reason = format!("{}: {}", err.code.as_str(), err.message);
                self.journal.refuse(&e.id, &reason, now)?;
                self.emit(e, EntryState::Refused, Some(reason));
                self.close_settlements(e, now)?;
            }
            Outcome::NeedsAttention(reason) => {
                self.contact(true);
                self.journal.needs_attention(&e.id, reason, now)?;
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
                let at = now + chrono_of(self.policy.probe_every);
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
    fn give_up(&self, e: &Entry, reason: String, now: DateTime<Utc>) -> Result<Outcome, AppError> {
        tracing::error!(entry = %e.id, "needs attention: {reason}");
        self.journal.needs_attention(&e.id, &reason, now)?;
        self.emit(e, EntryState::NeedsAttention, Some(reason.clone()));
        self.close_settlements(e, now)?;
        self.publish_status();
        Ok(Outcome::NeedsAttention(reason))
    }

    /// A redemption that was not applied cannot be captured or voided: its waiting
    /// settlements are refused at once, so they do not hold the card's queue.
    fn close_settlements(&self, e: &Entry, now: DateTime<Utc>) -> Result<(), AppError> {
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

    /// Exponential backoff with jitter: half the step fixed, half random, capped.
    fn backoff(&self, attempt: i64) -> Duration {
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

    fn metadata(&self, e: &Entry) -> Metadata {
        let mut m: Metadata = e
            .metadata
            .iter()
            .filter(|(k, _)| !k.starts_with('_') && k.as_str() != "offline")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        m.insert(META_OPERATION_ID.into(), e.id.clone().into());
        m.insert(META_TERMINAL_ID.into(), e.terminal_id.clone().into());
        m
    }

    /// The card's Dintero id: known already, or looked up by its printed token.
    async fn card_id(&self, e: &Entry) -> Result<Result<String, Outcome>, DinteroError> {
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

    async fn apply(
        &self,
        e: &Entry,
        pin: Option<&Pin>,
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
                let Some(tx_id) = meta_str(e, giftpos_dintero::wire::META_TRANSACTION_ID) else {
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
                let req = ActivateRequest {
                    amount: e.amount.minor(),
                    currency: e.amount.currency().code().to_string(),
                    customer_id: meta_str(e, "customer_id"),
                    name: None,
                    originated_by: Some(e.terminal_id.clone()),
                    active_from: None,
                    expires_at: meta_str(e, "expires_at")
                        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                        .map(|d| d.with_timezone(&Utc)),
                    metadata: self.metadata(e),
                };
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
                let redeem = e.kind == OperationKind::Redeem;
                let by_token = redeem && pin.is_some() && e.card_token.is_some();
                let req = TransactionRequest {
                    ref_id: e.ref_id.clone().unwrap_or_else(|| e.id.clone()),
                    amount: e.amount.minor(),
                    currency: e.amount.currency().code().to_string(),
                    kind: if redeem {
                        TransactionKind::Drawdown
                    } else {
                        TransactionKind::Fund
                    },
                    token: by_token.then(|| e.card_token.clone()).flatten(),
                    card_id: (!by_token).then(|| card_id.clone()),
                    pending: redeem.then_some(true),
                    pin: if by_token {
                        pin.map(|p| p.expose().to_string())
                    } else {
                        None
                    },
                    metadata: self.metadata(e),
                    originated_by: Some(e.terminal_id.clone()),
                };
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
                let ref_id = e.ref_id.clone().unwrap_or_else(|| e.id.clone());
                let result = if e.kind == OperationKind::Capture {
                    self.client
                        .capture(
                            &parent_tx,
                            &CaptureRequest {
                                ref_id,
                                amount: Some(e.amount.minor()),
                                metadata: self.metadata(e),
                            },
                        )
                        .await
                } else {
                    self.client
                        .void(
                            &parent_tx,
                            &VoidRequest {
                                ref_id,
                                metadata: self.metadata(e),
                            },
                        )
                        .await
                };
                match result {
                    Ok(tx) => Ok(Outcome::Confirmed {
                        transaction_id: Some(tx.id),
                        available_after: None,
                    }),
                    Err(DinteroError::TransactionNotPending) => Ok(Outcome::NeedsAttention(
                        "the redemption was already settled by another operation".into(),
                    )),
                    Err(err) => refused(err),
                }
            }
            OperationKind::Balance => Ok(Outcome::Refused(AppError::internal(
                "a balance check is not journaled",
            ))),
        }
    }

    /// A Checkout payment for a sold card: follows its session and its transaction
    /// until Dintero has decided; once the payment is captured (capturing it here when
    /// the profile only authorizes), records the card's activation with that
    /// transaction id — exactly once, whoever gets here first after a crash — and
    /// confirms. Pending approval (`INITIATED`, `ON_HOLD`, `UNKNOWN`, or a status we do
    /// not know): followed again. Cancelled, expired, declined or failed: refused, and
    /// nothing is activated.
    async fn apply_payment(&self, e: &Entry, card_id: &str) -> Result<Outcome, DinteroError> {
        use giftpos_dintero::checkout::{CaptureBody, event, status};
        let not_completed = |why: String| {
            Ok(Outcome::Refused(AppError::new(
                ErrorCode::PaymentNotCompleted,
                why,
            )))
        };
        let Some(session_id) = meta_str(e, "session_id") else {
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
                return not_completed(
                    "the payment session expired unpaid; the card was not activated".into(),
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
        if tx.captured() < e.amount.minor()
            && (tx.status == status::AUTHORIZED || tx.status == status::PARTIALLY_CAPTURED)
        {
            // Our capture may be under way (202) or done with its answer lost: look
            // before capturing again (Dintero does not promise that a repeated
            // capture_reference is ignored).
            match tx.outcome(event::CAPTURE, &e.id) {
                Some(true) => {}
                _ if tx.initiated(event::INITIATE_CAPTURE, &e.id) => {
                    return Ok(Outcome::Waiting(format!(
                        "the capture of payment {} is under way",
                        tx.id
                    )));
                }
                _ => {
                    let body = CaptureBody {
                        amount: e.amount.minor(),
                        capture_reference: Some(e.id.clone()),
                    };
                    match self.client.capture_payment(&tx_id, &body).await {
                        Ok(answer) if answer.accepted.is_some() => {
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
        if tx.captured() < e.amount.minor()
            || !tx.currency.eq_ignore_ascii_case(e.amount.currency().code())
        {
            return if status::is_dead(&tx.status) {
                not_completed("the payment failed; the card was not activated".into())
            } else {
                Ok(Outcome::NeedsAttention(format!(
                    "payment {} is {} with {} captured in {}, not {}",
                    tx.id,
                    tx.status,
                    tx.captured(),
                    tx.currency,
                    e.amount
                )))
            };
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

    /// A returned card's payment is refunded. Dintero does not promise that a repeated
    /// `refund_reference` is ignored, so after an unknown outcome the transaction's
    /// events are read first: our refund done → confirmed; under way (202) → wait; not
    /// there → sent. A refusal is checked the same way before it is believed.
    async fn apply_payment_refund(
        &self,
        e: &Entry,
        tx_id: &str,
        sent_before: bool,
    ) -> Result<Outcome, DinteroError> {
        use giftpos_dintero::checkout::{RefundBody, event};
        let done = |tx: &giftpos_dintero::checkout::PaymentTransaction| Outcome::Confirmed {
            transaction_id: Some(tx.id.clone()),
            available_after: None,
        };
        if sent_before {
            let tx = self.client.payment(tx_id).await?;
            if tx.has(event::REFUND, &e.id) {
                return Ok(done(&tx));
            }
            if tx.initiated(event::INITIATE_REFUND, &e.id) {
                return Ok(Outcome::Waiting(format!(
                    "the refund of payment {tx_id} is under way"
                )));
            }
        }
        let body = RefundBody {
            amount: e.amount.minor(),
            reason: Some("gift card returned unused".into()),
            refund_reference: Some(e.id.clone()),
        };
        match self.client.refund_payment(tx_id, &body).await {
            Ok(a) if a.accepted.is_some() => Ok(Outcome::Waiting(format!(
                "the refund of payment {tx_id} was accepted; waiting for its outcome"
            ))),
            Ok(a) => Ok(done(&a.transaction)),
            Err(err) if err.is_transient() => Err(err),
            Err(err) => {
                // Refused — unless our refund is there after all (an earlier attempt
                // whose answer was lost): never journal "refused" for money that moved.
                let tx = self.client.payment(tx_id).await?;
                if tx.has(event::REFUND, &e.id) {
                    return Ok(done(&tx));
                }
                Ok(Outcome::Refused(err.into()))
            }
        }
    }

    /// After a lost answer: is our wallet operation (by its `ref_id`) among the card's
    /// transactions? Then it took effect. `None`: not found, or the list could not be
    /// read — the request is sent again with the same `ref_id` (Dintero's retry key).
    async fn reconcile_transaction(&self, e: &Entry, card_id: &str) -> Option<Outcome> {
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

    /// A capture of less than was reserved leaves the rest pending at Dintero
    /// (MD-capture). Before such a capture is sent, the release of the rest (a void of
    /// the same reservation) is journaled behind it — once: it is looked for first, so
    /// a retry or a crash never records two.
    fn ensure_remainder_released(&self, capture: &Entry) -> Result<(), AppError> {
        let Some(parent_id) = capture.parent_id.as_deref() else {
            return Ok(());
        };
        let Some(parent) = self.journal.get(parent_id)? else {
            return Ok(());
        };
        let settlements: Vec<Entry> = self
            .journal
            .list(Some(parent.created_at), None)?
            .into_iter()
            .filter(|x| x.parent_id.as_deref() == Some(parent_id) && x.state != EntryState::Refused)
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
        let mut metadata = serde_json::Map::new();
        metadata.insert(
            "reason".into(),
            "release the rest after a partial capture".into(),
        );
        if parent.recorded_offline() {
            metadata.insert("offline".into(), true.into());
        }
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

    /// Records the activation a captured payment pays for, unless it is recorded already.
    fn ensure_activation(
        &self,
        payment: &Entry,
        card_id: &str,
        tx_id: &str,
    ) -> Result<(), AppError> {
        let done = self
            .journal
            .list(Some(payment.created_at), None)?
            .iter()
            .any(|x| {
                x.kind == OperationKind::Activate && x.parent_id.as_deref() == Some(&payment.id)
            });
        if done {
            return Ok(());
        }
        let mut metadata = serde_json::Map::new();
        metadata.insert(
            giftpos_dintero::wire::META_TRANSACTION_ID.into(),
            tx_id.into(),
        );
        metadata.insert("payment_entry".into(), payment.id.clone().into());
        self.journal.append(
            giftpos_journal::NewEntry {
                id: uuid::Uuid::new_v4().to_string(),
                kind: OperationKind::Activate,
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
    async fn verify_payment(&self, e: &Entry) -> Result<Option<Outcome>, DinteroError> {
        use crate::payments::{Verdict, VerifyMode, verify};
        let mode = self.policy.verify_payments;
        if mode == VerifyMode::Off
            || e.parent_id.is_some()
            || e.metadata.contains_key(META_OVERRIDE_BY)
        {
            return Ok(None);
        }
        let Some(id) = meta_str(e, giftpos_dintero::wire::META_TRANSACTION_ID) else {
            return Ok(None);
        };
        let tx = match self.client.payment(&id).await {
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
            .list(None, None)
            .map_err(|err| DinteroError::Unreachable(err.to_string()))?
            .iter()
            .filter(|x| {
                x.kind == OperationKind::Activate
                    && x.id != e.id
                    && x.state != EntryState::Refused
                    && meta_str(x, giftpos_dintero::wire::META_TRANSACTION_ID).as_deref()
                        == Some(id.as_str())
            })
            .map(|x| x.amount.minor())
            .sum();
        Ok(match verify(&id, tx.as_ref(), e.amount, already) {
            Verdict::Verified { .. } => None,
            Verdict::Wait(why) => Some(Outcome::Waiting(why)),
            Verdict::Refused(_, why) => self.unverified(e, mode, why),
        })
    }

    fn unverified(
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
                "{why}; the card was not activated ({} at stake): a manager can override",
                e.amount
            ))
        } else {
            Outcome::Refused(AppError::new(ErrorCode::PaymentUnverified, why))
        })
    }

    /// After a lost answer: did our activation take effect?
    async fn reconcile_activation(
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
                meta_str(e, giftpos_dintero::wire::META_TRANSACTION_ID).unwrap_or_default()
            ))));
        }
        Ok(None)
    }
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d.min(Duration::from_secs(10 * 365 * 86_400)))
        .unwrap_or(chrono::Duration::zero())
}

fn carries(card: &Card, entry_id: &str) -> bool {
    card.metadata
        .get(META_OPERATION_ID)
        .and_then(|v| v.as_str())
        == Some(entry_id)
}

/// Local metadata (never sent: `_` keys) of a sale a manager let through unverified.
pub const META_OVERRIDE_BY: &str = "_override_by";
pub const META_OVERRIDE_REASON: &str = "_override_reason";

fn meta_str(e: &Entry, key: &str) -> Option<String> {
    e.metadata
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}
