//! [`Terminal`]: the application API. The Tauri shell, the CLI and the tests all call
//! these methods; nothing below knows which of them is calling.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use giftpos_core::{CardStatus, CardToken, Currency, Locale, Money, OperationKind, Pin};
use giftpos_dintero::wire::{
    ActivateRequest, CaptureRequest, Card, META_OPERATION_ID, META_TERMINAL_ID,
    META_TRANSACTION_ID, Metadata, TransactionKind, TransactionRequest, VoidRequest,
};
use giftpos_dintero::{ClientConfig, Clock, DinteroClient, DinteroError, RetryAdvice};
use serde::Serialize;
use uuid::Uuid;

use crate::config::{Config, Mode};
use crate::error::{AppError, ErrorCode};
use crate::training::TrainingBackend;

/// What the UI and the CLI show about the terminal itself.
#[derive(Debug, Clone, Serialize)]
pub struct TerminalInfo {
    pub training: bool,
    pub terminal_id: String,
    pub store_name: String,
    pub currency: Currency,
    pub locale: Locale,
    pub api_base: String,
    pub account_id: String,
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
}

/// The outcome of an operation that changed a card.
#[derive(Debug, Clone, Serialize)]
pub struct OperationResult {
    pub training: bool,
    pub operation_id: String,
    pub kind: OperationKind,
    pub card: String,
    pub card_id: String,
    pub amount: Money,
    /// Dintero's transaction id (none for an activation).
    pub transaction_id: Option<String>,
    /// The payment that sold the card (activation only).
    pub dintero_transaction_id: Option<String>,
    pub status: CardStatus,
    pub available_after: Option<Money>,
}

/// A pending drawdown waiting for "complete sale" or "cancel".
#[derive(Debug, Clone, Serialize)]
pub struct Reservation {
    pub training: bool,
    pub operation_id: String,
    pub card: String,
    pub card_id: String,
    pub transaction_id: String,
    pub amount: Money,
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

/// How many times an operation is sent when the answer is missing, and the waits.
const ATTEMPTS: u32 = 3;
const BACKOFF: [Duration; 2] = [Duration::from_millis(150), Duration::from_millis(600)];
const MAX_WAIT: Duration = Duration::from_secs(3);

/// The terminal: configuration, the Dintero client, and (in training) the sandbox.
#[derive(Debug)]
pub struct Terminal {
    cfg: Config,
    client: DinteroClient,
    training: Option<TrainingBackend>,
    api_base: String,
    account_id: String,
}

impl Terminal {
    /// Opens the terminal: in training mode this starts (or joins) the embedded sandbox.
    pub async fn open(cfg: Config, clock: Arc<dyn Clock>) -> Result<Terminal, AppError> {
        let (client_cfg, training) = match &cfg.mode {
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
        let mut client_cfg = client_cfg;
        client_cfg.timeout = cfg.timeout;
        client_cfg.connect_timeout = cfg.connect_timeout;
        let api_base = client_cfg.api_base.clone();
        let account_id = client_cfg.account_id.to_string();
        let client = DinteroClient::new(client_cfg, clock).map_err(AppError::from)?;
        Ok(Terminal {
            cfg,
            client,
            training,
            api_base,
            account_id,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The Dintero client (for diagnostics).
    pub fn client(&self) -> &DinteroClient {
        &self.client
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
            locale: self.cfg.locale,
            api_base: self.api_base.clone(),
            account_id: self.account_id.clone(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Checks a scanned or typed card number against the configured formats.
    pub fn parse_token(&self, input: &str) -> Result<CardToken, AppError> {
        Ok(CardToken::parse(input, &self.cfg.token_formats)?)
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

    fn ref_id(&self, operation_id: &str, step: &str) -> String {
        format!("{}:{}:{}", self.cfg.terminal_id, operation_id, step)
    }

    fn metadata(&self, operation_id: &str) -> Metadata {
        let mut m = Metadata::new();
        m.insert(META_OPERATION_ID.into(), operation_id.into());
        m.insert(META_TERMINAL_ID.into(), self.cfg.terminal_id.clone().into());
        m
    }

    /// The card's balance. With the PIN, amounts; without it, only the status (for a
    /// card that has a PIN).
    pub async fn balance(
        &self,
        token: &CardToken,
        pin: Option<&Pin>,
    ) -> Result<BalanceView, AppError> {
        let card = self.client.info(token, pin).await?;
        self.check_currency(&card)?;
        Ok(BalanceView {
            training: self.is_training(),
            card: token.masked(),
            card_id: card.card_id.clone(),
            status: card.status.clone(),
            available: self.money(card.amount_available),
            balance: self.money(card.amount_balance),
            pending: self.money(card.amount_pending),
            active_from: card.active_from,
            expires_at: card.expires_at,
        })
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

    /// Sells a printed card: activates it with the amount and the payment's transaction
    /// id. A lost answer is reconciled by reading the card (activation has no `ref_id`):
    /// our operation id in its metadata means our activation took effect.
    pub async fn activate(&self, a: Activation) -> Result<OperationResult, AppError> {
        check_transaction_id(&a.transaction_id)?;
        if a.amount.currency() != self.cfg.currency {
            return Err(AppError::new(
                ErrorCode::CurrencyMismatch,
                format!("this terminal sells cards in {}", self.cfg.currency),
            ));
        }
        let operation_id = Uuid::new_v4().to_string();
        let card = self.client.info(&a.token, None).await?;
        if !card.status.awaits_activation() {
            return Err(AppError::new(
                ErrorCode::CardAlreadyActive,
                format!(
                    "card {} is {}, not waiting to be sold",
                    a.token.masked(),
                    card.status
                ),
            ));
        }
        let mut metadata = self.metadata(&operation_id);
        metadata.insert(META_TRANSACTION_ID.into(), a.transaction_id.clone().into());
        let req = ActivateRequest {
            amount: a.amount.minor(),
            currency: a.amount.currency().code().to_string(),
            customer_id: a.customer_id.clone(),
            name: None,
            originated_by: Some(self.cfg.terminal_id.clone()),
            active_from: None,
            expires_at: a.expires_at,
            metadata,
        };
        let mut attempt = 0;
        let activated = loop {
            attempt += 1;
            match self.client.activate(&card.card_id, &req).await {
                Ok(c) => break c,
                Err(e) if e == DinteroError::CardAlreadyActive || e.is_transient() => {
                    // Did an earlier attempt of ours take effect?
                    match self.client.card(&card.card_id).await {
                        Ok(now) if carries_operation(&now, &operation_id) => break now,
                        Ok(now) if !now.status.awaits_activation() => {
                            return Err(AppError::new(
                                ErrorCode::ActivationConflict,
                                format!(
                                    "card {} was activated by another operation",
                                    a.token.masked()
                                ),
                            ));
                        }
                        Ok(_) | Err(_) if attempt < ATTEMPTS && e.is_transient() => {
                            self.pause(attempt, &e).await;
                        }
                        _ => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(OperationResult {
            training: self.is_training(),
            operation_id,
            kind: OperationKind::Activate,
            card: a.token.masked(),
            card_id: activated.card_id.clone(),
            amount: a.amount,
            transaction_id: None,
            dintero_transaction_id: Some(a.transaction_id),
            status: activated.status.clone(),
            available_after: self.money(activated.amount_available),
        })
    }

    /// Reserves an amount on the card (a pending drawdown), checking the PIN.
    pub async fn reserve(
        &self,
        token: &CardToken,
        amount: Money,
        pin: &Pin,
    ) -> Result<Reservation, AppError> {
        let card = self.client.info(token, Some(pin)).await?;
        self.check_currency(&card)?;
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
        let operation_id = Uuid::new_v4().to_string();
        let req = TransactionRequest {
            ref_id: self.ref_id(&operation_id, "reserve"),
            amount: amount.minor(),
            currency: amount.currency().code().to_string(),
            kind: TransactionKind::Drawdown,
            token: Some(token.expose().to_string()),
            card_id: None,
            pending: Some(true),
            pin: Some(pin.expose().to_string()),
            metadata: self.metadata(&operation_id),
            originated_by: Some(self.cfg.terminal_id.clone()),
        };
        let tx = self.with_retries(|| self.client.transaction(&req)).await?;
        Ok(Reservation {
            training: self.is_training(),
            operation_id,
            card: token.masked(),
            card_id: card.card_id,
            transaction_id: tx.id,
            amount,
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
        let req = CaptureRequest {
            ref_id: self.ref_id(&r.operation_id, "capture"),
            amount: Some(amount.minor()),
            metadata: self.metadata(&r.operation_id),
        };
        let tx = self
            .with_retries(|| self.client.capture(&r.transaction_id, &req))
            .await?;
        self.settled(r, OperationKind::Redeem, amount, tx.id).await
    }

    /// Cancels a reservation ("cancel"): the money is released.
    pub async fn cancel(&self, r: &Reservation) -> Result<OperationResult, AppError> {
        let req = VoidRequest {
            ref_id: self.ref_id(&r.operation_id, "void"),
            metadata: self.metadata(&r.operation_id),
        };
        let tx = self
            .with_retries(|| self.client.void(&r.transaction_id, &req))
            .await?;
        self.settled(r, OperationKind::Void, r.amount, tx.id).await
    }

    async fn settled(
        &self,
        r: &Reservation,
        kind: OperationKind,
        amount: Money,
        tx_id: String,
    ) -> Result<OperationResult, AppError> {
        let card = self.client.card(&r.card_id).await.ok();
        Ok(OperationResult {
            training: self.is_training(),
            operation_id: r.operation_id.clone(),
            kind,
            card: r.card.clone(),
            card_id: r.card_id.clone(),
            amount,
            transaction_id: Some(tx_id),
            dintero_transaction_id: None,
            status: card
                .as_ref()
                .map(|c| c.status.clone())
                .unwrap_or(CardStatus::Other("unknown".into())),
            available_after: card.and_then(|c| self.money(c.amount_available)),
        })
    }

    /// Redeems in one go: reserve, then complete.
    pub async fn redeem(
        &self,
        token: &CardToken,
        amount: Money,
        pin: &Pin,
    ) -> Result<OperationResult, AppError> {
        let r = self.reserve(token, amount, pin).await?;
        self.complete(&r, None).await
    }

    /// Loads more money onto an activated card.
    pub async fn top_up(
        &self,
        token: &CardToken,
        amount: Money,
    ) -> Result<OperationResult, AppError> {
        let card = self.client.info(token, None).await?;
        self.check_currency(&card)?;
        if card.status.awaits_activation() {
            return Err(AppError::new(
                ErrorCode::CardInactive,
                format!(
                    "card {} has not been sold yet; sell it instead",
                    token.masked()
                ),
            ));
        }
        let operation_id = Uuid::new_v4().to_string();
        let req = TransactionRequest {
            ref_id: self.ref_id(&operation_id, "fund"),
            amount: amount.minor(),
            currency: amount.currency().code().to_string(),
            kind: TransactionKind::Fund,
            token: None,
            card_id: Some(card.card_id.clone()),
            pending: None,
            pin: None,
            metadata: self.metadata(&operation_id),
            originated_by: Some(self.cfg.terminal_id.clone()),
        };
        let tx = self.with_retries(|| self.client.transaction(&req)).await?;
        let after = self.client.card(&card.card_id).await.ok();
        Ok(OperationResult {
            training: self.is_training(),
            operation_id,
            kind: OperationKind::TopUp,
            card: token.masked(),
            card_id: card.card_id,
            amount,
            transaction_id: Some(tx.id),
            dintero_transaction_id: None,
            status: after
                .as_ref()
                .map(|c| c.status.clone())
                .unwrap_or(card.status),
            available_after: after.and_then(|c| self.money(c.amount_available)),
        })
    }

    /// Sends a `ref_id` operation, again with the same `ref_id` while the answer is
    /// missing (safe: Dintero returns the first result).
    async fn with_retries<T, F, Fut>(&self, mut send: F) -> Result<T, AppError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, DinteroError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match send().await {
                Ok(v) => return Ok(v),
                Err(e) if e.retry_advice() != RetryAdvice::Never && attempt < ATTEMPTS => {
                    tracing::info!(attempt, error = %e, "answer missing; sending again with the same ref_id");
                    self.pause(attempt, &e).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn pause(&self, attempt: u32, e: &DinteroError) {
        let wait = e
            .retry_after()
            .unwrap_or(BACKOFF[(attempt as usize - 1).min(BACKOFF.len() - 1)])
            .min(MAX_WAIT);
        tokio::time::sleep(wait).await;
    }
}

fn carries_operation(card: &Card, operation_id: &str) -> bool {
    card.metadata
        .get(META_OPERATION_ID)
        .and_then(|v| v.as_str())
        == Some(operation_id)
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
