//! [`Terminal`]: the application API. The Tauri shell, the CLI and the tests all call
//! these methods; nothing below knows which of them is calling.
//!
//! Every operation that moves money is written to the journal before anything is sent,
//! then sent at once through the sync engine. The caller is told *done* only when
//! Dintero confirmed it, and *saved — will sync* when it is queued.

mod background;
mod diagnose;
mod history;
mod payment;
mod redemption;
mod sale;
mod session;
mod split;
mod till;
mod undo;
mod views;

pub use background::{Background, BackgroundEvent, BackgroundParts};
pub use history::{HistoryItem, Printed};
pub use till::{ManagerInput, OverrideInput, SellInput, Till};
pub use views::{
    Activation, BalanceView, CustomerView, OperationResult, PaymentSession, PaymentView,
    Reservation, ScanResult, Setting, SettingsView, TerminalInfo,
};

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use giftpos_core::{CardToken, Money, OperationKind, Pin};
use giftpos_dintero::wire::Card;
use giftpos_dintero::{ClientConfig, Clock, DinteroClient};
use giftpos_journal::{CachedCard, Entry, EntryState, Journal, NewEntry};
use uuid::Uuid;

use crate::clerks::{Clerk, Clerks};
use crate::config::{Config, Mode};
use crate::error::{AppError, ErrorCode};
use crate::sync::{Engine, Outcome, SyncPolicy, SyncStatus};
use crate::training::TrainingBackend;

/// How long an interactive look-up waits before the terminal treats itself as offline.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(8);

/// The terminal: configuration, journal, sync engine, client and (in training) sandbox.
#[derive(Debug)]
pub struct Terminal {
    cfg: Config,
    client: DinteroClient,
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    training: Option<TrainingBackend>,
    api_base: String,
    account_id: String,
    /// Opened on first use: most CLI commands never need it.
    clerks: std::sync::OnceLock<Clerks>,
    /// Who is signed in; recorded on the entries they make.
    clerk: std::sync::Mutex<Option<Clerk>>,
    /// Whether a clerk is signed in, for the background (keep-warm runs only then).
    signed_in: Arc<std::sync::atomic::AtomicBool>,
    /// When the signed-in clerk last did something (idle sign-out is decided here).
    activity: std::sync::Mutex<DateTime<Utc>>,
    /// Work in flight that keeps the clerk signed in (a payment being made).
    working: Arc<std::sync::atomic::AtomicUsize>,
    /// Recently scanned cards, by handle (see [`Terminal::scan`]).
    scans: std::sync::Mutex<std::collections::VecDeque<(String, CardToken)>>,
}

/// How many scanned cards the terminal remembers by handle.
const SCANS_KEPT: usize = 32;

impl Terminal {
    /// Opens the terminal: the journal (refusing a corrupt one), and in training mode
    /// the embedded sandbox.
    pub async fn open(cfg: Config, clock: Arc<dyn Clock>) -> Result<Terminal, AppError> {
        let policy = SyncPolicy {
            max_failures: i64::from(cfg.sync.max_failures),
            max_failure_age: cfg.sync.max_failure_age,
            max_wait: cfg.sync.max_wait,
            ..SyncPolicy::default()
        };
        Terminal::open_with(cfg, clock, policy).await
    }

    /// Like [`Terminal::open`], with a sync policy (tests and benchmarks).
    pub async fn open_with(
        cfg: Config,
        clock: Arc<dyn Clock>,
        policy: SyncPolicy,
    ) -> Result<Terminal, AppError> {
        // Nothing of the till's is for other local users: made or tightened first.
        crate::private::Private::of(&cfg).secure().map_err(|e| {
            AppError::new(
                ErrorCode::Config,
                format!(
                    "cannot make the data folder {} private: {e}",
                    cfg.data_dir.display()
                ),
            )
        })?;
        let (mut client_cfg, training) = match &cfg.mode {
            Mode::Live {
                api_base,
                account_id,
                client_id,
                client_secret,
                ..
            } => (
                ClientConfig::new(
                    api_base.clone(),
                    account_id.clone(),
                    client_id.clone(),
                    client_secret.clone(),
                ),
                None,
            ),
            Mode::Training => {
                let backend = TrainingBackend::open(&cfg.data_dir, clock.clone()).await?;
                (backend.client_config(), Some(backend))
            }
        };
        let journal_path = cfg.journal_path();
        client_cfg.timeout = cfg.timeout;
        // A sandbox on loopback serves the Payments API beside the wallets.
        if let Some(base) = &cfg.checkout_base {
            client_cfg.checkout_base = base.clone();
        } else if crate::config::is_loopback(&client_cfg.api_base) {
            client_cfg.checkout_base = client_cfg.api_base.clone();
        }
        client_cfg.connect_timeout = cfg.connect_timeout;
        client_cfg.extra_roots_pem = cfg.ca_pem.clone();
        client_cfg.proxy = cfg.proxy.clone();
        // Connections kept open by HTTP/2 PINGs at the keep-warm interval (none when
        // keep-warm is off), and pooled longer than that with room to spare.
        client_cfg.http2_ping = cfg.keep_warm;
        if let Some(every) = cfg.keep_warm {
            client_cfg.pool_idle_timeout = client_cfg.pool_idle_timeout.max(every * 3);
        }
        client_cfg.checkout_client = cfg
            .checkout_client
            .as_ref()
            .map(|c| (c.client_id.clone(), c.client_secret.clone()));
        let api_base = client_cfg.api_base.clone();
        let account_id = client_cfg.account_id.to_string();
        let journal = Arc::new(Journal::open(&journal_path, &cfg.terminal_id)?);
        client_cfg.answers = Some(remember_answers(journal.clone(), clock.clone()));
        let client = DinteroClient::new(client_cfg, clock.clone()).map_err(AppError::from)?;
        let policy = SyncPolicy {
            verify_payments: cfg.payments_verify,
            payment_max_age: cfg.payments_max_age,
            gift_card_buys_gift_card: cfg.tenders.gift_card_buys_gift_card,
            ..policy
        };
        let engine = Arc::new(Engine::new(journal, client.clone(), clock.clone(), policy));
        let t = Terminal {
            cfg,
            client,
            engine,
            clock,
            training,
            api_base,
            account_id,
            clerks: std::sync::OnceLock::new(),
            clerk: std::sync::Mutex::new(None),
            signed_in: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            activity: std::sync::Mutex::new(DateTime::<Utc>::MIN_UTC),
            working: Arc::default(),
            scans: Default::default(),
        };
        // The head as found at start, outside the file (journald).
        let _ = t.anchor_head("start");
        Ok(t)
    }

    /// What the metrics say now (`metrics.rs` renders it).
    pub fn metrics_snapshot(
        &self,
        extra: crate::metrics::Extra,
    ) -> Result<crate::metrics::Snapshot, AppError> {
        let mut pending_by_currency = std::collections::BTreeMap::new();
        for e in self.journal().open_entries()? {
            if e.state.is_open() {
                *pending_by_currency
                    .entry(e.amount.currency().code().to_string())
                    .or_default() += e.amount.minor();
            }
        }
        Ok(crate::metrics::Snapshot {
            training: self.is_training(),
            terminal_id: self.cfg.terminal_id.clone(),
            status: self.sync_status()?,
            pending_by_currency,
            unreadable_answers: self.unreadable_answers().map(|a| a.len()).unwrap_or(0),
            printer_configured: self.cfg.printer.is_some(),
            clerk_signed_in: self.signed_in().is_ok(),
            extra,
        })
    }

    /// Starts what `[metrics]` asks for: `GET /metrics` on its loopback address and/or
    /// the textfile every 15 s, until `stop` is notified. `extra` tells what only the
    /// caller knows (the scanner). Returns the address served on, if any.
    pub async fn start_metrics(
        self: &Arc<Self>,
        extra: impl Fn() -> crate::metrics::Extra + Send + Sync + 'static,
        stop: Arc<tokio::sync::Notify>,
    ) -> Result<Option<std::net::SocketAddr>, AppError> {
        let me = self.clone();
        let source: crate::metrics::Source =
            Arc::new(move || crate::metrics::render(&me.metrics_snapshot(extra())?));
        let m = self.cfg.metrics.clone();
        if let Some(dir) = m.textfile_dir {
            tokio::spawn(crate::metrics::textfile_loop(
                dir,
                source.clone(),
                Duration::from_secs(15),
                stop.clone(),
            ));
        }
        match m.listen {
            Some(addr) => Ok(Some(crate::metrics::serve(addr, source, stop).await?)),
            None => Ok(None),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Sends everything that is due now, waits included (`giftpos sync --once`, a
    /// clerk's "sync now"). Returns how many entries were sent.
    pub async fn sync_now(&self) -> Result<usize, AppError> {
        self.engine.drain(true).await
    }

    /// The Settings view: the effective settings and the doctor's checks.
    pub async fn settings_view(&self) -> SettingsView {
        let doctor = self.doctor().await;
        SettingsView {
            settings: self.settings(),
            doctor,
        }
    }

    /// The Dintero client. Crate-private: callers go through the operations; the
    /// `test-support` feature opens it to the integration tests and benchmarks.
    #[cfg(not(feature = "test-support"))]
    pub(crate) fn client(&self) -> &DinteroClient {
        &self.client
    }
    #[cfg(feature = "test-support")]
    pub fn client(&self) -> &DinteroClient {
        &self.client
    }

    /// The sync engine, for the tests only (the app runs it through
    /// [`Terminal::start_background`]).
    #[cfg(feature = "test-support")]
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The journal (crate-private; History, export and verify are methods here).
    #[cfg(not(feature = "test-support"))]
    pub(crate) fn journal(&self) -> &Arc<Journal> {
        self.engine.journal()
    }
    #[cfg(feature = "test-support")]
    pub fn journal(&self) -> &Arc<Journal> {
        self.engine.journal()
    }

    pub fn is_training(&self) -> bool {
        self.training.is_some()
    }

    pub fn info(&self) -> TerminalInfo {
        TerminalInfo {
            training: self.is_training(),
            terminal_id: self.cfg.terminal_id.clone(),
            store_name: self.cfg.store_name.clone(),
            currency: self.cfg.currency,
            currency_exponent: self.cfg.currency.exponent(),
            locale: self.cfg.locale,
            api_base: self.api_base.clone(),
            account_id: self.account_id.clone(),
            journal: self.journal().path().display().to_string(),
            version: env!("CARGO_PKG_VERSION"),
            idle_sign_out_secs: self.cfg.idle_sign_out.as_secs(),
            kiosk: self.cfg.kiosk,
            set_by: self
                .cfg
                .origins
                .iter()
                .map(|(k, src)| (k.clone(), src.to_string()))
                .collect(),
            tenders: self.cfg.tenders.allowed.clone(),
        }
    }

    /// The operations whose last answer from Dintero could not be read (remembered in
    /// the journal, until a readable answer clears each).
    pub fn unreadable_answers(&self) -> Result<Vec<giftpos_journal::UnreadableAnswer>, AppError> {
        Ok(self.journal().unreadable_answers()?)
    }

    pub fn sync_status(&self) -> Result<SyncStatus, AppError> {
        self.engine.status()
    }

    /// Checks a scanned or typed card number against the configured formats.
    pub fn parse_token(&self, input: &str) -> Result<CardToken, AppError> {
        Ok(CardToken::parse(input, &self.cfg.token_formats)?)
    }

    /// The configuration as the Settings screen shows it (never a secret).
    pub fn settings(&self) -> Vec<Setting> {
        let c = &self.cfg;
        let d = |p: &std::path::Path| p.display().to_string();
        let mut v = vec![
            (
                "mode",
                if self.is_training() {
                    "training".into()
                } else {
                    "live".into()
                },
            ),
            ("terminal.id", c.terminal_id.clone()),
            ("terminal.store_name", c.store_name.clone()),
            ("terminal.currency", c.currency.to_string()),
            ("terminal.locale", format!("{:?}", c.locale).to_lowercase()),
            ("dintero.api_base", self.api_base.clone()),
            ("dintero.account_id", self.account_id.clone()),
            ("dintero.timeout_secs", c.timeout.as_secs().to_string()),
            ("data_dir", d(&c.data_dir)),
            ("journal", d(self.journal().path())),
            ("receipts_dir", d(&c.receipts_dir)),
            (
                "printer",
                c.printer
                    .clone()
                    .unwrap_or_else(|| "none (receipts saved as PDF)".into()),
            ),
            (
                "scanner.port",
                if c.scanner_configured {
                    c.scanner.port.clone()
                } else {
                    "none (keyboard-wedge or typed)".into()
                },
            ),
            ("logging.level", c.log_level.clone()),
            ("logging.dir", d(&c.log_dir)),
        ];
        v.push((
            "offline",
            match &c.offline {
                Some(o) => format!(
                    "redeem at most {} per card, {} outstanding, balance at most {} s old",
                    o.max_redeem.display(c.locale),
                    o.max_outstanding.display(c.locale),
                    o.max_balance_age.as_secs()
                ),
                None => "redemption offline not allowed".into(),
            },
        ));
        v.push(("payments.verify", c.payments_verify.as_str().into()));
        v.push((
            "dintero.checkout_client",
            match &c.checkout_client {
                Some(cc) => format!("{} (its own API client)", cc.client_id),
                None => "the main API client".into(),
            },
        ));
        v.push((
            "sync",
            format!(
                "a manager is asked after {} failed answers or {} h; a decision is awaited {} h",
                c.sync.max_failures,
                c.sync.max_failure_age.as_secs() / 3600,
                c.sync.max_wait.as_secs() / 3600
            ),
        ));
        v.push((
            "config_files",
            c.files.iter().map(|p| d(p)).collect::<Vec<_>>().join(", "),
        ));
        v.into_iter()
            .map(|(key, value)| Setting { key, value })
            .collect()
    }

    /// Parses a clerk's amount in the terminal's currency and locale; refuses zero.
    pub fn parse_amount(&self, input: &str) -> Result<Money, AppError> {
        Ok(Money::parse_positive(
            input,
            self.cfg.currency,
            self.cfg.locale,
        )?)
    }

    fn money(&self, minor: Option<i64>) -> Option<Money> {
        minor.and_then(|m| Money::from_minor(m, self.cfg.currency).ok())
    }

    fn check_currency(&self, card: &Card) -> Result<(), AppError> {
        match card.currency.as_deref() {
            Some(c) if !c.eq_ignore_ascii_case(self.cfg.currency.code()) => Err(AppError::new(
                ErrorCode::CurrencyMismatch,
                format!(
                    "the card is in {c}; this terminal takes {}",
                    self.cfg.currency
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Looks a card up online. `Ok(None)` means Dintero could not be reached.
    async fn lookup(&self, token: &CardToken, pin: Option<&Pin>) -> Result<Option<Card>, AppError> {
        match tokio::time::timeout(LOOKUP_TIMEOUT, self.client.info(token, pin)).await {
            Ok(Ok(card)) => {
                self.check_currency(&card)?;
                self.remember(token, &card);
                Ok(Some(card))
            }
            // Dintero answered, unreadably: that is not "offline" (never fall back on
            // the last known balance as if the network were down).
            Ok(Err(e @ giftpos_dintero::DinteroError::Unreadable { .. })) => Err(e.into()),
            Ok(Err(e)) if e.is_transient() => Ok(None),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Ok(None),
        }
    }

    fn remember(&self, token: &CardToken, card: &Card) {
        let cached = CachedCard {
            card_id: card.card_id.clone(),
            card: token.masked(),
            status: card.status.to_string(),
            available: card.amount_available,
            currency: card.currency.clone(),
            fetched_at: self.clock.now(),
        };
        // Keep the last balance seen: a look-up without the PIN shows none.
        let key = self.journal().card_key(token.expose());
        let keep_old = cached.available.is_none()
            && self
                .journal()
                .cached_card(&key)
                .ok()
                .flatten()
                .is_some_and(|c| c.available.is_some());
        if !keep_old && let Err(e) = self.journal().cache_card(&key, &cached) {
            tracing::warn!("could not cache the card's balance: {e}");
        }
    }

    fn new_entry(
        &self,
        kind: OperationKind,
        token: &CardToken,
        card_id: Option<String>,
        amount: Money,
        offline: bool,
    ) -> NewEntry {
        let metadata = giftpos_journal::EntryMeta {
            offline,
            ..Default::default()
        };
        NewEntry {
            id: Uuid::new_v4().to_string(),
            kind,
            card_token: Some(token.expose().to_string()),
            card_masked: token.masked(),
            card_id,
            card_key: self.journal().card_key(token.expose()),
            amount,
            clerk: self.clerk_number(),
            metadata,
            parent_id: None,
        }
    }

    /// Writes an entry durably, refusing before anything is sent if the disk is full.
    /// For an entry saved to sync later (the clerk is told it is saved).
    fn record(&self, e: NewEntry) -> Result<Entry, AppError> {
        self.record_as(e, false)
    }

    /// Writes an entry that is sent at once: the sync that marks it sent, before its
    /// request leaves, makes it durable too (one fsync for both; see
    /// `Journal::append_to_send`).
    fn record_to_send(&self, e: NewEntry) -> Result<Entry, AppError> {
        self.record_as(e, true)
    }

    fn record_as(&self, e: NewEntry, to_send: bool) -> Result<Entry, AppError> {
        let now = self.clock.now();
        let entry = if to_send {
            self.journal().append_to_send(e, now)
        } else {
            self.journal().append(e, now)
        }
        .map_err(AppError::from)?;
        if entry.seq % crate::anchor::EVERY == 0 {
            let _ = self.anchor_head("entries");
        }
        Ok(entry)
    }

    fn result(&self, e: &Entry, outcome: &Outcome) -> Result<OperationResult, AppError> {
        let (state, tx, available) = match outcome {
            Outcome::Confirmed {
                transaction_id,
                available_after,
            } => (
                EntryState::Confirmed,
                transaction_id.clone(),
                *available_after,
            ),
            // Recorded and kept; but an unreadable answer is not "will sync": the clerk
            // and IT must hear that Dintero's answers cannot be read.
            Outcome::Retry(err @ giftpos_dintero::DinteroError::Unreadable { .. }) => {
                return Err(AppError::new(
                    ErrorCode::DinteroUnreadable,
                    format!(
                        "{err}. The operation is recorded (entry {}) and will be checked at Dintero before anything is sent again",
                        e.id
                    ),
                ));
            }
            Outcome::Retry(_) | Outcome::Waiting(_) => (EntryState::Sent, None, None),
            Outcome::Refused(err) => return Err(err.clone()),
            Outcome::NeedsAttention(reason) => {
                return Err(AppError::new(ErrorCode::ActivationConflict, reason.clone()));
            }
        };
        Ok(OperationResult {
            training: self.is_training(),
            operation_id: e.id.clone(),
            kind: e.kind,
            state,
            queued: state != EntryState::Confirmed,
            card: e.card.clone(),
            card_id: e.card_id.clone(),
            amount: e.amount,
            transaction_id: tx,
            dintero_transaction_id: e.metadata.dintero_transaction_id.clone(),
            status: None,
            available_after: self.money(available),
            gift_card_part: e.gift_card_part,
            attention: None,
        })
    }

    /// Sends a recorded entry now (or, for an operation accepted offline, leaves it
    /// queued) and describes the outcome, with the card's new balance when confirmed.
    async fn submit(
        &self,
        entry: &Entry,
        pin: Option<&Pin>,
        send: bool,
    ) -> Result<OperationResult, AppError> {
        let outcome = if send {
            self.engine.send_now(&entry.id, pin).await?
        } else {
            Outcome::Retry(giftpos_dintero::DinteroError::ConnectionRefused)
        };
        let mut r = self.result(entry, &outcome)?;
        // An activation's answer is the card, balance included (kept with the entry by
        // `confirm`): no second round trip for it. Other answers are transactions.
        if r.available_after.is_none() {
            self.read_back(&mut r).await;
        }
        Ok(r)
    }

    /// Reads the card after a confirmed operation, for the clerk's "new balance".
    async fn read_back(&self, r: &mut OperationResult) {
        if r.queued {
            return;
        }
        let Some(id) = r.card_id.clone().or_else(|| {
            self.journal()
                .get(&r.operation_id)
                .ok()
                .flatten()
                .and_then(|e| e.card_id)
        }) else {
            return;
        };
        if let Ok(card) = self.client.card(&id).await {
            r.card_id = Some(card.card_id.clone());
            r.status = Some(card.status.clone());
            r.available_after = self.money(card.amount_available);
            // Kept with the entry: a reprinted receipt shows the balance too.
            if let Some(a) = card.amount_available {
                let _ = self.journal().set_balance_after(&r.operation_id, a);
            }
        }
    }
}

/// A payment reference: 1–128 visible characters, no spaces.
/// The client's answer hook: an unreadable answer is remembered in the journal per
/// operation, and forgotten at the next readable one (written only on a change).
fn remember_answers(
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
) -> giftpos_dintero::client::AnswerHook {
    let known: std::collections::BTreeSet<String> = journal
        .unreadable_answers()
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.op)
        .collect();
    let known = std::sync::Mutex::new(known);
    Arc::new(move |op: &str, what: Option<&str>| {
        let mut known = known.lock().unwrap_or_else(|p| p.into_inner());
        let write = match what {
            Some(_) => {
                known.insert(op.to_string());
                true
            }
            None => known.remove(op),
        };
        if write && let Err(e) = journal.note_answer(op, what, clock.now()) {
            tracing::warn!(op, "an unreadable answer could not be remembered: {e}");
        }
    })
}

fn check_transaction_id(id: &str) -> Result<(), AppError> {
    let ok = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::InvalidInput,
            "the payment's transaction id must be 1 to 128 visible characters without spaces",
        ))
    }
}
