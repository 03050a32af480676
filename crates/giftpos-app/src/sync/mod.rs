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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use giftpos_core::{OperationKind, Pin};
use giftpos_dintero::wire::checkout::PaymentTransaction;
use giftpos_dintero::wire::{Card, META_OPERATION_ID};
use giftpos_dintero::{Clock, DinteroClient, DinteroError};
use giftpos_journal::{Entry, EntryState, Journal, PlanItem};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;

use crate::error::{AppError, ErrorCode};

mod payment;
mod release;
mod request;
pub use payment::{GIVE_BACK, PURCHASE};
mod send;

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
    /// How old a payment may be to back a new card (`[payments] max_age_hours`).
    pub payment_max_age: Duration,
    /// Whether a gift card may pay for a gift card (`[payments]
    /// gift_card_buys_gift_card`).
    pub gift_card_buys_gift_card: bool,
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
            payment_max_age: Duration::from_secs(24 * 3600),
            gift_card_buys_gift_card: false,
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
    /// Payments read while the clerk's sale was being looked up (in parallel, to spare
    /// a round trip), for its verification moments later: id → (read at, answer).
    prefetched: Mutex<HashMap<String, (std::time::Instant, PaymentTransaction)>>,
}

/// How long a payment read ahead of a sale ([`Engine::prefetch_payment`]) may stand in
/// for reading it again when the sale is verified.
pub(crate) const PREFETCH_FRESH: Duration = Duration::from_secs(10);

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
            prefetched: Mutex::new(HashMap::new()),
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
                available_after: e.balance_after.map(|m| m.minor()),
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
        let mut open: BTreeMap<i64, Entry> = self
            .journal
            .open_entries()?
            .into_iter()
            .map(|e| (e.seq, e))
            .collect();
        let mut seq_of: HashMap<String, i64> =
            open.values().map(|e| (e.id.clone(), e.seq)).collect();
        // Cards this round is sending to. A card leaves this set only once its result is
        // folded into `open` (the global claim is released earlier, when the send ends),
        // so the planner never sees a stale entry as sendable.
        let mut running: HashSet<String> = HashSet::new();
        loop {
            let mut busy: HashSet<String> = lock(&self.in_flight).clone();
            busy.extend(running.iter().cloned());
            let items: Vec<PlanItem> = open.values().map(PlanItem::from).collect();
            let picks =
                giftpos_journal::plan(&items, &busy, self.clock.now(), self.policy.concurrency);
            for id in picks {
                let Some(e) = seq_of.get(&id).and_then(|s| open.get(s)).cloned() else {
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
            // Every send that has finished by now is folded in before planning again:
            // answers arriving together cost one plan, not one each.
            let Some(first) = tasks.join_next().await else {
                break;
            };
            let mut finished = vec![first];
            while let Some(r) = tasks.try_join_next() {
                finished.push(r);
            }
            for r in finished {
                let (id, card) = r.map_err(|e| AppError::internal(format!("sync task: {e}")))??;
                let now = self.journal.get(&id)?;
                let confirmed = now
                    .as_ref()
                    .is_some_and(|e| e.state == EntryState::Confirmed);
                match (seq_of.get(&id).copied(), now) {
                    (Some(s), Some(e))
                        if e.state.is_open() || e.state == EntryState::NeedsAttention =>
                    {
                        open.insert(s, e);
                    }
                    (Some(s), _) => {
                        open.remove(&s);
                        seq_of.remove(&id);
                    }
                    (None, _) => {}
                }
                // Settlements closed alongside a failed redemption are final too (a
                // confirmed entry closes none; one left stale would only be found
                // finished when sent).
                if !confirmed {
                    let closed: Vec<i64> = open
                        .values()
                        .filter(|e| {
                            e.parent_id.as_deref() == Some(id.as_str())
                                && !self
                                    .journal
                                    .get(&e.id)
                                    .ok()
                                    .flatten()
                                    .is_some_and(|x| x.state.is_open())
                        })
                        .map(|e| e.seq)
                        .collect();
                    for s in closed {
                        if let Some(e) = open.remove(&s) {
                            seq_of.remove(&e.id);
                        }
                    }
                }
                running.remove(&card);
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
    ///
    /// The probe backs off while Dintero stays away (doubling from `probe_every` to five
    /// minutes); online with nothing due, a round reads only the journal — an idle till
    /// sends nothing.
    pub async fn run(self: Arc<Self>, stop: Arc<Notify>) {
        let mut failed_probes: u32 = 0;
        loop {
            let mut wait = self.policy.probe_every;
            if !self.is_online() {
                match self.client.probe().await {
                    Ok(_) => {
                        failed_probes = 0;
                        self.contact(true)
                    }
                    Err(_) => {
                        failed_probes = failed_probes.saturating_add(1);
                        wait = probe_backoff(self.policy.probe_every, failed_probes);
                        self.publish_status()
                    }
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
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// The wait after `failed` probes in a row: `every`, doubled each time, at most five
/// minutes.
fn probe_backoff(every: Duration, failed: u32) -> Duration {
    every
        .saturating_mul(2u32.saturating_pow(failed.saturating_sub(1).min(16)))
        .min(Duration::from_secs(300))
        .max(every)
}

/// Runs a journal write that waits for an fsync (group commit) without holding up the
/// runtime's other tasks: on a multi-threaded runtime the worker hands them over first.
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
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
