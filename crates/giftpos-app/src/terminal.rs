//! [`Terminal`]: the application API. The Tauri shell, the CLI and the tests all call
//! these methods; nothing below knows which of them is calling.
//!
//! Every operation that moves money is written to the journal before anything is sent,
//! then sent at once through the sync engine. The caller is told *done* only when
//! Dintero confirmed it, and *saved — will sync* when it is queued.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use giftpos_core::{CardStatus, CardToken, Currency, Locale, Money, OperationKind, Pin};
use giftpos_dintero::wire::{Card, META_TRANSACTION_ID};
use giftpos_dintero::{ClientConfig, Clock, DinteroClient};
use giftpos_journal::{CachedCard, Entry, EntryState, Journal, NewEntry};
use serde::Serialize;
use uuid::Uuid;

use crate::clerks::{Clerk, Clerks, Role};
use crate::config::{Config, Mode};
use crate::error::{AppError, ErrorCode};
use crate::sync::{Engine, Outcome, SyncPolicy, SyncStatus, journal_err};
use crate::training::TrainingBackend;

/// What the UI and the CLI show about the terminal itself.
#[derive(Debug, Clone, Serialize)]
pub struct TerminalInfo {
    pub training: bool,
    pub terminal_id: String,
    pub store_name: String,
    pub currency: Currency,
    /// Digits after the decimal separator in `currency` (amounts travel as minor units).
    pub currency_exponent: u8,
    pub locale: Locale,
    pub api_base: String,
    pub account_id: String,
    pub journal: String,
    pub version: &'static str,
}

/// A card's balance as the clerk sees it.
#[derive(Debug, Clone, Serialize)]
pub struct BalanceView {
    pub training: bool,
    pub card: String,
    pub card_id: String,
    pub status: CardStatus,
    /// Absent when the card has a PIN and none was given.
    pub available: Option<Money>,
    pub balance: Option<Money>,
    pub pending: Option<Money>,
    pub active_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when Dintero could not be reached: the balance last seen, and when.
    pub last_known_at: Option<DateTime<Utc>>,
    pub last_known_age_secs: Option<i64>,
}

/// The outcome of an operation that changed (or will change) a card.
#[derive(Debug, Clone, Serialize)]
pub struct OperationResult {
    pub training: bool,
    /// The journal entry's id.
    pub operation_id: String,
    pub kind: OperationKind,
    /// `confirmed` (done) or `recorded`/`sent` (saved — will sync).
    pub state: EntryState,
    /// True when saved to the journal and waiting to sync.
    pub queued: bool,
    pub card: String,
    pub card_id: Option<String>,
    pub amount: Money,
    /// Dintero's transaction id (none for an activation).
    pub transaction_id: Option<String>,
    /// The payment that sold the card (activation only).
    pub dintero_transaction_id: Option<String>,
    pub status: Option<CardStatus>,
    pub available_after: Option<Money>,
}

/// A pending drawdown waiting for "complete sale" or "cancel".
#[derive(Debug, Clone, Serialize)]
pub struct Reservation {
    pub training: bool,
    /// The journal entry of the reservation.
    pub operation_id: String,
    pub card: String,
    pub card_id: Option<String>,
    pub transaction_id: Option<String>,
    pub amount: Money,
    /// Accepted offline within the configured caps; it syncs later.
    pub queued: bool,
}

/// Selling a card.
#[derive(Debug, Clone)]
pub struct Activation {
    pub token: CardToken,
    pub amount: Money,
    /// The payment's `dintero_transaction_id`.
    pub transaction_id: String,
    pub customer_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

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
    /// Recently scanned cards, by handle (see [`Terminal::scan`]).
    scans: std::sync::Mutex<std::collections::VecDeque<(String, CardToken)>>,
}

/// A scan as the UI receives it: what it is, and for a card a handle that stands for
/// the whole token, so the card number itself never reaches the page.
#[derive(Debug, Clone, Serialize)]
pub struct ScanResult {
    #[serde(flatten)]
    pub view: giftpos_scanner::ScanView,
    /// For a card: pass this back as the card (`scan:…`).
    pub handle: Option<String>,
}

/// One line of the read-only Settings screen.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
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
        } else if crate::config::is_loopback_http(&client_cfg.api_base) {
            client_cfg.checkout_base = client_cfg.api_base.clone();
        }
        client_cfg.connect_timeout = cfg.connect_timeout;
        client_cfg.checkout_client = cfg
            .checkout_client
            .as_ref()
            .map(|c| (c.client_id.clone(), c.client_secret.clone()));
        let api_base = client_cfg.api_base.clone();
        let account_id = client_cfg.account_id.to_string();
        let client = DinteroClient::new(client_cfg, clock.clone()).map_err(AppError::from)?;
        let journal =
            Arc::new(Journal::open(&journal_path, &cfg.terminal_id).map_err(journal_err)?);
        let engine = Arc::new(Engine::new(journal, client.clone(), clock.clone(), policy));
        Ok(Terminal {
            cfg,
            client,
            engine,
            clock,
            training,
            api_base,
            account_id,
            clerks: std::sync::OnceLock::new(),
            clerk: std::sync::Mutex::new(None),
            scans: Default::default(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The Dintero client (for diagnostics).
    pub fn client(&self) -> &DinteroClient {
        &self.client
    }

    /// The sync engine (run its loop in the background; subscribe to its events).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn journal(&self) -> &Arc<Journal> {
        self.engine.journal()
    }

    pub fn is_training(&self) -> bool {
        self.training.is_some()
    }

    /// The terminal's clerk list (IT manages it with `giftpos clerk`).
    pub fn clerks(&self) -> Result<&Clerks, AppError> {
        if let Some(c) = self.clerks.get() {
            return Ok(c);
        }
        let c = Clerks::open(&self.cfg.journal_path().with_file_name("clerks.db"))?;
        if self.is_training() {
            c.seed_training()?;
        }
        // Another thread may have opened it meanwhile; either copy will do.
        Ok(self.clerks.get_or_init(|| c))
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Option<Clerk>> {
        self.clerk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The clerk number recorded on new entries.
    fn clerk_number(&self) -> Option<String> {
        self.session().as_ref().map(|c| c.number.clone())
    }

    /// Signs a clerk in: their number is recorded on the entries from now on.
    pub fn sign_in(&self, number: &str, pin: &Pin) -> Result<Clerk, AppError> {
        if self.clerks()?.list()?.is_empty() {
            return Err(AppError::new(
                ErrorCode::Config,
                "no clerks are set up on this terminal (IT adds them with `giftpos clerk add`)",
            ));
        }
        let clerk = self.clerks()?.sign_in(number, pin, self.clock.now())?;
        tracing::info!(clerk = %clerk.number, role = clerk.role.as_str(), "signed in");
        *self.session() = Some(clerk.clone());
        Ok(clerk)
    }

    pub fn sign_out(&self) {
        if let Some(c) = self.session().take() {
            tracing::info!(clerk = %c.number, "signed out");
        }
    }

    /// The signed-in clerk, or `not_signed_in`.
    pub fn signed_in(&self) -> Result<Clerk, AppError> {
        self.session()
            .clone()
            .ok_or_else(|| AppError::new(ErrorCode::NotSignedIn, "no clerk is signed in"))
    }

    /// A manager's approval given on the clerk's screen: their number and PIN, checked
    /// (with the same lockout as signing in) without changing who is signed in.
    pub fn approve(&self, number: &str, pin: &Pin) -> Result<Clerk, AppError> {
        let m = self.clerks()?.sign_in(number, pin, self.clock.now())?;
        if m.role != Role::Manager {
            return Err(AppError::new(
                ErrorCode::ManagerRequired,
                format!("clerk {number} is not a manager"),
            ));
        }
        Ok(m)
    }

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
        }
    }

    pub fn sync_status(&self) -> Result<SyncStatus, AppError> {
        self.engine.status()
    }

    /// Checks a scanned or typed card number against the configured formats.
    pub fn parse_token(&self, input: &str) -> Result<CardToken, AppError> {
        Ok(CardToken::parse(input, &self.cfg.token_formats)?)
    }

    /// Classifies a scan (serial or keyboard-wedge). A card is kept for a while under
    /// a handle the UI passes back instead of the number.
    pub fn scan(&self, text: &str) -> ScanResult {
        let scan = giftpos_scanner::classify(text, &self.cfg.token_formats);
        let view = scan.view();
        let handle = match scan {
            giftpos_scanner::Scan::Card(token) => {
                let handle = format!("scan:{}", Uuid::new_v4().simple());
                let mut scans = self.scans.lock().unwrap_or_else(|p| p.into_inner());
                if scans.len() >= SCANS_KEPT {
                    scans.pop_front();
                }
                scans.push_back((handle.clone(), token));
                Some(handle)
            }
            _ => None,
        };
        ScanResult { view, handle }
    }

    /// A card from the UI: a scan handle, or a number the clerk typed.
    pub fn card_input(&self, input: &str) -> Result<CardToken, AppError> {
        if input.starts_with("scan:") {
            let scans = self.scans.lock().unwrap_or_else(|p| p.into_inner());
            return scans
                .iter()
                .find(|(h, _)| h == input)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| {
                    AppError::new(
                        ErrorCode::InvalidCard,
                        "that scan has expired; scan the card again",
                    )
                });
        }
        self.parse_token(input)
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
        match self.journal().cached_card(&key).map_err(journal_err)? {
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

    fn new_entry(
        &self,
        kind: OperationKind,
        token: &CardToken,
        card_id: Option<String>,
        amount: Money,
        offline: bool,
    ) -> NewEntry {
        let mut metadata = serde_json::Map::new();
        if offline {
            metadata.insert("offline".into(), true.into());
        }
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

    /// Writes an entry, refusing before anything is sent if the disk is full.
    fn record(&self, e: NewEntry) -> Result<Entry, AppError> {
        self.journal()
            .append(e, self.clock.now())
            .map_err(journal_err)
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
            dintero_transaction_id: e
                .metadata
                .get(META_TRANSACTION_ID)
                .and_then(|v| v.as_str())
                .map(str::to_string),
            status: None,
            available_after: self.money(available),
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
        self.read_back(&mut r).await;
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

    /// Sells a printed card: activates it with the amount and the payment's transaction
    /// id. Offline it is saved and activates when the network returns.
    pub async fn activate(&self, a: Activation) -> Result<OperationResult, AppError> {
        check_transaction_id(&a.transaction_id)?;
        let card = self.lookup(&a.token, None).await?;
        if let Some(c) = &card
            && !c.status.awaits_activation()
        {
            return Err(AppError::new(
                ErrorCode::CardAlreadyActive,
                format!(
                    "card {} is {}, not waiting to be sold",
                    a.token.masked(),
                    c.status
                ),
            ));
        }
        let mut e = self.new_entry(
            OperationKind::Activate,
            &a.token,
            card.as_ref().map(|c| c.card_id.clone()),
            a.amount,
            card.is_none(),
        );
        e.metadata
            .insert(META_TRANSACTION_ID.into(), a.transaction_id.clone().into());
        if let Some(c) = &a.customer_id {
            e.metadata.insert("customer_id".into(), c.clone().into());
        }
        if let Some(x) = a.expires_at {
            e.metadata
                .insert("expires_at".into(), x.to_rfc3339().into());
        }
        let entry = self.record(e)?;
        self.submit(&entry, None, true).await
    }

    /// Loads more money onto an activated card; saved and synced later when offline.
    pub async fn top_up(
        &self,
        token: &CardToken,
        amount: Money,
    ) -> Result<OperationResult, AppError> {
        let card = self.lookup(token, None).await?;
        if let Some(c) = &card
            && c.status.awaits_activation()
        {
            return Err(AppError::new(
                ErrorCode::CardInactive,
                format!(
                    "card {} has not been sold yet; sell it instead",
                    token.masked()
                ),
            ));
        }
        let e = self.new_entry(
            OperationKind::TopUp,
            token,
            card.as_ref().map(|c| c.card_id.clone()),
            amount,
            card.is_none(),
        );
        let entry = self.record(e)?;
        self.submit(&entry, None, true).await
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
        let entry = self.record(e)?;
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
            Outcome::NeedsAttention(reason) => Err(AppError::new(ErrorCode::Rejected, reason)),
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
                void.metadata
                    .insert("reason".into(), "answer lost at the till".into());
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
        let Some(known) = self.journal().cached_card(&key).map_err(journal_err)? else {
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
        let outstanding = self
            .journal()
            .outstanding_offline_redemptions()
            .map_err(journal_err)?;
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

    fn settle_entry(
        &self,
        r: &Reservation,
        kind: OperationKind,
        amount: Money,
    ) -> Result<Entry, AppError> {
        let parent = self
            .journal()
            .get(&r.operation_id)
            .map_err(journal_err)?
            .ok_or_else(|| AppError::new(ErrorCode::TransactionNotFound, "unknown reservation"))?;
        // Settled already (completed, cancelled, or its rest released): refused before
        // anything is recorded, so a second "complete" never blocks the card's queue.
        if let Some(done) = self
            .journal()
            .list(Some(parent.created_at), None)
            .map_err(journal_err)?
            .into_iter()
            .find(|x| {
                x.parent_id.as_deref() == Some(parent.id.as_str())
                    && matches!(x.kind, OperationKind::Capture | OperationKind::Void)
                    && x.state != EntryState::Refused
            })
        {
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
        let mut metadata = serde_json::Map::new();
        if parent.recorded_offline() {
            metadata.insert("offline".into(), true.into());
        }
        self.record(NewEntry {
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
        })
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
        let entry = self.settle_entry(r, OperationKind::Capture, amount)?;
        if r.queued {
            return self.submit(&entry, None, false).await;
        }
        let outcome = self.engine.send_now(&entry.id, None).await?;
        if amount.minor() < r.amount.minor() && matches!(outcome, Outcome::Confirmed { .. }) {
            // Dintero keeps the rest of a partial capture pending: its release was
            // journaled before the capture left; send it now, so the customer's card
            // shows the right balance on the receipt (sync sends it otherwise).
            let release = self
                .journal()
                .open_entries()
                .map_err(journal_err)?
                .into_iter()
                .find(|x| {
                    x.kind == OperationKind::Void
                        && x.parent_id.as_deref() == Some(r.operation_id.as_str())
                });
            if let Some(v) = release
                && let Err(e) = self.engine.send_now(&v.id, None).await
            {
                tracing::warn!(
                    "the rest of reservation {} is released later: {e}",
                    r.operation_id
                );
            }
        }
        let mut res = self.result(&entry, &outcome)?;
        self.read_back(&mut res).await;
        Ok(res)
    }

    /// Cancels a reservation ("cancel"): the money is released.
    pub async fn cancel(&self, r: &Reservation) -> Result<OperationResult, AppError> {
        let entry = self.settle_entry(r, OperationKind::Void, r.amount)?;
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

    /// Undoes a journal entry: a reservation is voided; a confirmed top-up, capture or
    /// activation gets its compensating operation (a refund to the card, or a drawdown
    /// of what was loaded). `approved_by` is recorded.
    pub async fn undo(
        &self,
        entry_id: &str,
        approved_by: &str,
    ) -> Result<OperationResult, AppError> {
        let e = self.entry(entry_id)?;
        if e.state != EntryState::Confirmed {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "entry {entry_id} is {}: only confirmed entries can be undone",
                    e.state.as_str()
                ),
            ));
        }
        let settled = self
            .journal()
            .list(None, None)
            .map_err(journal_err)?
            .into_iter()
            .any(|x| x.parent_id.as_deref() == Some(entry_id) && x.state != EntryState::Refused);
        let (kind, parent) = match e.kind {
            OperationKind::Redeem if !settled => (OperationKind::Void, Some(e.id.clone())),
            OperationKind::Capture => (OperationKind::Refund, None),
            OperationKind::TopUp | OperationKind::Activate => (OperationKind::Redeem, None),
            _ => {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    format!("a {} entry cannot be undone here", e.kind),
                ));
            }
        };
        let mut metadata = serde_json::Map::new();
        metadata.insert("undoes".into(), e.id.clone().into());
        metadata.insert("approved_by".into(), approved_by.into());
        let entry = self.record(NewEntry {
            id: Uuid::new_v4().to_string(),
            kind,
            card_token: None,
            card_masked: e.card.clone(),
            card_id: e.card_id.clone(),
            card_key: e.card_key.clone(),
            amount: e.amount,
            clerk: self.clerk_number(),
            metadata,
            parent_id: parent,
        })?;
        let mut outcome = self.engine.send_now(&entry.id, None).await?;
        if kind == OperationKind::Redeem && matches!(outcome, Outcome::Confirmed { .. }) {
            // A compensating drawdown is reserved, then captured at once.
            let r = Reservation {
                training: self.is_training(),
                operation_id: entry.id.clone(),
                card: e.card.clone(),
                card_id: e.card_id.clone(),
                transaction_id: None,
                amount: e.amount,
                queued: false,
            };
            let cap = self.settle_entry(&r, OperationKind::Capture, e.amount)?;
            outcome = self.engine.send_now(&cap.id, None).await?;
        }
        let mut res = self.result(&entry, &outcome)?;
        self.read_back(&mut res).await;
        Ok(res)
    }
}

/// One line of the History screen.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryItem {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub kind: OperationKind,
    pub card: String,
    pub amount: Money,
    pub state: EntryState,
    /// True while it waits to sync (recorded or sent).
    pub pending: bool,
    pub reason: Option<String>,
    pub clerk: Option<String>,
    pub approved_by: Option<String>,
    /// Dintero's transaction id.
    pub transaction_id: Option<String>,
    /// The payment that sold the card (activation only).
    pub dintero_transaction_id: Option<String>,
    pub balance_after: Option<Money>,
    /// The entry this one settles or undoes.
    pub parent_id: Option<String>,
    pub attempts: i64,
}

/// A Dintero Checkout payment waiting for the customer.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentSession {
    pub training: bool,
    /// The journal entry of the payment (also the order's `merchant_reference`).
    pub operation_id: String,
    pub session_id: String,
    /// The page the customer opens (shown as a QR code).
    pub url: String,
    pub card: String,
    pub amount: Money,
}

/// The session profile used in training (the sandbox accepts any).
const TRAINING_PROFILE: &str = "P00000000.giftpos-sandbox";
/// How long a customer has to pay.
const PAYMENT_TTL: chrono::Duration = chrono::Duration::minutes(15);

impl Terminal {
    /// Starts selling a card paid through Dintero Checkout: a session for one order line
    /// (the card, VAT 0) is made from the configured session profile, and the payment is
    /// journaled with it. The customer pays at `url`; [`Terminal::finish_payment`] then
    /// activates the card with the payment's transaction id.
    pub async fn start_payment(
        &self,
        token: &CardToken,
        amount: Money,
    ) -> Result<PaymentSession, AppError> {
        let profile = match (&self.cfg.payment_profile, self.is_training()) {
            (Some(p), _) => p.clone(),
            (None, true) => TRAINING_PROFILE.into(),
            (None, false) => {
                return Err(AppError::new(
                    ErrorCode::Config,
                    "pay with Dintero needs a Checkout session profile: set [dintero] payment_profile_id",
                ));
            }
        };
        let Some(card) = self.lookup(token, None).await? else {
            return Err(AppError::new(
                ErrorCode::OfflineNotAllowed,
                "Dintero cannot be reached: a payment through Dintero needs the network",
            ));
        };
        if !card.status.awaits_activation() {
            return Err(AppError::new(
                ErrorCode::CardAlreadyActive,
                format!(
                    "card {} is {}, not waiting to be sold",
                    token.masked(),
                    card.status
                ),
            ));
        }
        let id = Uuid::new_v4().to_string();
        let req = giftpos_dintero::checkout::SessionProfileRequest {
            url: giftpos_dintero::checkout::SessionUrls {
                return_url: "https://giftpos.invalid/payment-done".into(),
                callback_url: None,
            },
            order: giftpos_dintero::checkout::SessionOrder {
                amount: amount.minor(),
                currency: amount.currency().code().into(),
                merchant_reference: id.clone(),
                vat_amount: 0,
                items: vec![giftpos_dintero::checkout::OrderItem {
                    id: "gift-card".into(),
                    line_id: "1".into(),
                    description: format!("Gift card {}", token.masked()),
                    quantity: 1,
                    amount: amount.minor(),
                    vat_amount: 0,
                    vat: 0,
                }],
            },
            profile_id: profile.clone(),
            expires_at: Some(self.clock.now() + PAYMENT_TTL),
            metadata: Default::default(),
        };
        let created = self.client.create_session(&req).await?;
        let mut e = self.new_entry(
            OperationKind::Payment,
            token,
            Some(card.card_id.clone()),
            amount,
            false,
        );
        e.id = id;
        e.metadata
            .insert("session_id".into(), created.id.clone().into());
        e.metadata
            .insert("session_url".into(), created.url.clone().into());
        e.metadata.insert("profile_id".into(), profile.into());
        let entry = self.record(e)?;
        tracing::info!(entry = %entry.id, session = %created.id, "payment session started");
        Ok(PaymentSession {
            training: self.is_training(),
            operation_id: entry.id,
            session_id: created.id,
            url: created.url,
            card: token.masked(),
            amount,
        })
    }

    /// Follows a payment until the customer paid (then activates the card with the
    /// payment's transaction id, exactly once) or cancelled, or `wait` ran out (then the
    /// session is cancelled at Dintero). Nothing is activated unless paid.
    pub async fn finish_payment(
        &self,
        operation_id: &str,
        wait: Duration,
    ) -> Result<OperationResult, AppError> {
        let payment = self.entry(operation_id)?;
        if payment.kind != OperationKind::Payment {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("entry {operation_id} is not a payment"),
            ));
        }
        let session_id = payment
            .metadata
            .get("session_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let s = self.client.session(&session_id).await?;
            if s.cancelled_at.is_some() {
                break;
            }
            if let Some(tx_id) = &s.transaction_id {
                // Paid, or at least begun: follow it while Dintero has not decided
                // (pending approval is not a refusal).
                let tx = self.client.payment(tx_id).await?;
                if !giftpos_dintero::checkout::status::is_undecided(&tx.status)
                    || tokio::time::Instant::now() >= deadline
                {
                    break;
                }
            } else if tokio::time::Instant::now() >= deadline {
                // Give up at Dintero too, so a late payment cannot happen unseen.
                if let Err(e) = self.client.cancel_session(&session_id).await {
                    tracing::warn!("could not cancel session {session_id}: {e}");
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        match self.engine.send_now(operation_id, None).await? {
            Outcome::Confirmed { .. } => {}
            Outcome::Refused(err) => return Err(err),
            Outcome::NeedsAttention(reason) => {
                return Err(AppError::new(ErrorCode::Rejected, reason));
            }
            // Not decided at Dintero yet (e.g. pending approval): saved, followed in
            // the background, and the card is activated once the payment is taken.
            Outcome::Waiting(_) => return self.result(&payment, &Outcome::Waiting(String::new())),
            Outcome::Retry(err) => {
                return Err(AppError::new(
                    if matches!(err, giftpos_dintero::DinteroError::Unreadable { .. }) {
                        ErrorCode::DinteroUnreadable
                    } else {
                        ErrorCode::Offline
                    },
                    format!(
                        "the payment's outcome is not known yet ({err}); it is followed in the background"
                    ),
                ));
            }
        }
        let activation = self
            .journal()
            .list(Some(payment.created_at), None)
            .map_err(journal_err)?
            .into_iter()
            .find(|x| {
                x.kind == OperationKind::Activate && x.parent_id.as_deref() == Some(operation_id)
            })
            .ok_or_else(|| AppError::internal("the paid card's activation was not recorded"))?;
        let outcome = self.engine.send_now(&activation.id, None).await?;
        let mut r = self.result(&activation, &outcome)?;
        self.read_back(&mut r).await;
        Ok(r)
    }

    /// Takes back an unused card sold through Dintero Checkout (a manager's decision):
    /// its balance is drawn down to zero, then the payment is refunded. Refused when the
    /// card has been used.
    pub async fn return_card(
        &self,
        token: &CardToken,
        approved_by: &str,
    ) -> Result<OperationResult, AppError> {
        let key = self.journal().card_key(token.expose());
        let sale = self
            .journal()
            .list(None, None)
            .map_err(journal_err)?
            .into_iter()
            .rev()
            .find(|e| {
                e.card_key == key
                    && e.kind == OperationKind::Activate
                    && e.state == EntryState::Confirmed
                    && e.metadata.contains_key(META_TRANSACTION_ID)
            })
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidInput,
                    format!("card {} was not sold at this terminal", token.masked()),
                )
            })?;
        self.return_sale(&sale.id, approved_by).await
    }

    /// Cancels a payment the customer has not made (the clerk gave up).
    pub async fn cancel_payment(&self, operation_id: &str) -> Result<(), AppError> {
        let payment = self.entry(operation_id)?;
        let session_id = payment
            .metadata
            .get("session_id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| AppError::new(ErrorCode::InvalidInput, "not a payment entry"))?;
        self.client.cancel_session(session_id).await?;
        Ok(())
    }

    /// Like [`Terminal::return_card`], for the sale's journal entry (History).
    pub async fn return_sale(
        &self,
        sale_id: &str,
        approved_by: &str,
    ) -> Result<OperationResult, AppError> {
        let sale = self.entry(sale_id)?;
        if sale.kind != OperationKind::Activate
            || sale.state != EntryState::Confirmed
            || !sale.metadata.contains_key(META_TRANSACTION_ID)
        {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("entry {sale_id} is not a confirmed sale of a card"),
            ));
        }
        let already = self
            .journal()
            .list(Some(sale.created_at), None)
            .map_err(journal_err)?
            .into_iter()
            .any(|x| {
                x.kind == OperationKind::PaymentRefund
                    && x.state != EntryState::Refused
                    && x.metadata.get("undoes").and_then(|v| v.as_str()) == Some(sale_id)
            });
        if already {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("card {} was already returned", sale.card),
            ));
        }
        let tx_id = sale
            .metadata
            .get(META_TRANSACTION_ID)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let card_id = sale.card_id.clone().unwrap_or_default();
        let card = self.client.card(&card_id).await?;
        let available = card.amount_available.unwrap_or(0);
        if card.status != CardStatus::Unused || available != sale.amount.minor() {
            return Err(AppError::new(
                ErrorCode::CardUsed,
                format!(
                    "card {} has been used: {} of {} left",
                    sale.card,
                    self.money(Some(available))
                        .map(|m| m.display(self.cfg.locale))
                        .unwrap_or_default(),
                    sale.amount.display(self.cfg.locale)
                ),
            ));
        }
        // The card first, so it cannot be spent while the money goes back.
        self.undo(&sale.id, approved_by).await?;
        let mut metadata = serde_json::Map::new();
        metadata.insert(META_TRANSACTION_ID.into(), tx_id.into());
        metadata.insert("approved_by".into(), approved_by.into());
        metadata.insert("undoes".into(), sale.id.clone().into());
        let entry = self.record(NewEntry {
            id: Uuid::new_v4().to_string(),
            kind: OperationKind::PaymentRefund,
            card_token: None,
            card_masked: sale.card.clone(),
            card_id: sale.card_id.clone(),
            card_key: sale.card_key.clone(),
            amount: sale.amount,
            clerk: self.clerk_number(),
            metadata,
            parent_id: None,
        })?;
        let outcome = self.engine.send_now(&entry.id, None).await?;
        let mut r = self.result(&entry, &outcome)?;
        self.read_back(&mut r).await;
        Ok(r)
    }
}

/// Where a printed receipt went.
#[derive(Debug, Clone, Serialize)]
pub struct Printed {
    /// The PDF, always saved.
    pub saved_to: String,
    /// The CUPS job, when a printer is configured and took it.
    pub print_job: Option<String>,
    /// Why the printer did not take it (the receipt stays saved for a reprint).
    pub printer_error: Option<String>,
}

impl Terminal {
    /// A journal entry, or an error naming the id.
    fn entry(&self, entry_id: &str) -> Result<Entry, AppError> {
        self.journal()
            .get(entry_id)
            .map_err(journal_err)?
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidInput,
                    format!("no journal entry {entry_id}"),
                )
            })
    }

    fn history_item(&self, e: Entry) -> HistoryItem {
        let text = |k: &str| {
            e.metadata
                .get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        HistoryItem {
            approved_by: text("approved_by"),
            dintero_transaction_id: text(META_TRANSACTION_ID),
            parent_id: e.parent_id.clone().or_else(|| text("undoes")),
            balance_after: self.money(e.balance_after),
            pending: e.state.is_open(),
            id: e.id,
            created_at: e.created_at,
            kind: e.kind,
            card: e.card,
            amount: e.amount,
            state: e.state,
            reason: e.reason,
            clerk: e.clerk,
            transaction_id: e.server_transaction_id,
            attempts: e.attempts,
        }
    }

    /// The History screen: entries made since `since` (default: local midnight), and
    /// every entry from before that still waits to sync or needs attention. Entries
    /// needing attention come first, then the newest.
    pub fn history(&self, since: Option<DateTime<Utc>>) -> Result<Vec<HistoryItem>, AppError> {
        let since = since.unwrap_or_else(|| {
            let today = self.clock.now().with_timezone(&chrono::Local).date_naive();
            today
                .and_hms_opt(0, 0, 0)
                .and_then(|d| d.and_local_timezone(chrono::Local).earliest())
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_else(|| self.clock.now() - chrono::Duration::hours(24))
        });
        let mut entries = self
            .journal()
            .list(Some(since), None)
            .map_err(journal_err)?;
        for e in self.journal().open_entries().map_err(journal_err)? {
            if e.created_at < since {
                entries.push(e);
            }
        }
        entries.sort_by(|a, b| {
            let attention = |e: &Entry| e.state != EntryState::NeedsAttention;
            attention(a).cmp(&attention(b)).then(b.seq.cmp(&a.seq))
        });
        Ok(entries.into_iter().map(|e| self.history_item(e)).collect())
    }

    /// One History entry, by id (a scanned receipt opens it).
    pub fn history_entry(&self, entry_id: &str) -> Result<HistoryItem, AppError> {
        Ok(self.history_item(self.entry(entry_id)?))
    }

    /// A manager settles an entry that needs attention: it is recorded as not applied,
    /// with who decided and why, and the card's later entries may sync again.
    pub fn resolve(&self, entry_id: &str, manager: &str, note: &str) -> Result<Entry, AppError> {
        if manager.trim().is_empty() || note.trim().is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "resolving needs the approving manager and a note",
            ));
        }
        self.journal()
            .resolve_attention(
                entry_id,
                &format!("{note} (by {manager})"),
                self.clock.now(),
            )
            .map_err(|e| match e {
                giftpos_journal::JournalError::WrongState(_) => AppError::new(
                    ErrorCode::InvalidInput,
                    format!("entry {entry_id} does not need attention"),
                ),
                other => journal_err(other),
            })?;
        self.engine.wake();
        self.entry(entry_id)
    }

    /// A journal entry's receipt.
    pub fn receipt(&self, entry_id: &str) -> Result<giftpos_print::Receipt, AppError> {
        let e = self.entry(entry_id)?;
        Ok(giftpos_print::Receipt {
            store: self.cfg.store_name.clone(),
            terminal_id: e.terminal_id.clone(),
            clerk: e.clerk.clone(),
            time: e.created_at.with_timezone(&chrono::Local).fixed_offset(),
            kind: e.kind,
            card: e.card.clone(),
            amount: e.amount,
            balance_after: self.money(e.balance_after),
            transaction_id: e.server_transaction_id.clone(),
            dintero_transaction_id: e
                .metadata
                .get(META_TRANSACTION_ID)
                .and_then(|v| v.as_str())
                .map(str::to_string),
            entry_id: e.id.clone(),
            confirmed: e.state == EntryState::Confirmed,
            training: self.is_training(),
            locale: self.cfg.locale,
        })
    }

    /// The end-of-day (Z) report of one day in the terminal's local time zone (the
    /// machine's, which a till keeps set to its store's).
    pub fn day_report(
        &self,
        date: chrono::NaiveDate,
    ) -> Result<giftpos_print::DayReport, AppError> {
        // A day is never longer than 26 hours anywhere: read from two days before.
        let since = date
            .pred_opt()
            .and_then(|d| d.pred_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc());
        let local = |t: DateTime<Utc>| t.with_timezone(&chrono::Local).fixed_offset();
        let entries = self
            .journal()
            .list(since, None)
            .map_err(journal_err)?
            .into_iter()
            .filter(|e| local(e.created_at).date_naive() == date)
            .map(|e| giftpos_print::ReportEntry {
                time: local(e.created_at),
                kind: e.kind,
                card: e.card.clone(),
                amount: e.amount,
                state: e.state.as_str().to_string(),
                approved_by: e
                    .metadata
                    .get("approved_by")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                reason: e.reason.clone(),
                entry_id: e.id,
            })
            .collect();
        Ok(giftpos_print::DayReport {
            store: self.cfg.store_name.clone(),
            terminal_id: self.cfg.terminal_id.clone(),
            date,
            entries,
            training: self.is_training(),
            locale: self.cfg.locale,
        })
    }

    /// Saves an entry's receipt under the receipts folder and, when a printer is
    /// configured, prints it. A printer error is reported, never fatal: the receipt stays
    /// saved and can be printed again.
    pub fn print_receipt(&self, entry_id: &str) -> Result<Printed, AppError> {
        let pdf = giftpos_print::render_receipt(&self.receipt(entry_id)?);
        let dir = &self.cfg.receipts_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
        let path = dir.join(format!("receipt-{entry_id}.pdf"));
        std::fs::write(&path, &pdf).map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("cannot save {}: {e}", path.display()),
            )
        })?;
        let (job, error) = match &self.cfg.printer {
            Some(p) => match giftpos_print::print(&path, Some(p)) {
                Ok(job) => (Some(job), None),
                Err(e) => {
                    tracing::warn!("receipt not printed: {e}");
                    (None, Some(e.to_string()))
                }
            },
            None => (None, None),
        };
        Ok(Printed {
            saved_to: path.display().to_string(),
            print_job: job,
            printer_error: error,
        })
    }
}

/// A payment reference: 1–128 visible characters, no spaces.
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
