//! The sandbox's state and rules, with no IO: every operation takes the time and the
//! request and returns the answer, so the rules are unit-tested directly.
//!
//! Each rule is DOCUMENTED (with its source tag in `../shared/dintero/wallets-reference.md`)
//! or OURS (where the reference is silent, with why); `docs/dintero-decisions.md` has
//! the same list.
//! - DOCUMENTED (MD-batch, G-batch): a batch card starts `inactive` with no balance;
//!   activation makes it `unused` (AR-activate). OURS: its first transaction makes it
//!   `active` (the full status enum is not visible, U7; the client keeps any status).
//! - DOCUMENTED (AR-activate): activation sets the balance and merges metadata. OURS:
//!   it writes no transaction (none is documented; the card's history starts empty).
//! - DOCUMENTED (WA-*, AR-activate): before `active_from` drawdowns are refused, funding
//!   is allowed; after `expires_at` nothing is allowed. OURS: the bounds are exclusive
//!   and in UTC (U15).
//! - DOCUMENTED (AR-txn): `pending: true` only for drawdowns; token xor card_id.
//! - DOCUMENTED (MD-capture): a capture of less than the pending amount leaves the rest
//!   pending, capturable later; (MD-void) a void releases what is still pending. OURS:
//!   a capture above what is left is refused (U6).
//! - OURS (U2, U9, U10): a drawdown by token needs the PIN when the card has one; `/info`
//!   answers the amounts with or without a PIN and checks one when given; wrong PINs are
//!   counted and lock the card for a while after too many.
//! - DOCUMENTED (AR-txn): `ref_id` makes retries safe. OURS (U5): unique per card; the
//!   same parameters get the first result, other parameters `WALLET_REF_ID_CONFLICT`;
//!   only successes are remembered.
//! - OURS (U8): available = balance − pending − reserved, balance = funds − drawdowns.
//! - OURS (U1): every error code (`wire::codes`) — Dintero documents none for Wallets;
//!   the client reads unknown codes by HTTP status and call.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use giftpos_core::{CardStatus, Currency, TokenFormat};
use giftpos_dintero::wire::{
    ActivateRequest, BatchRequest, Card, CardList, CreateCardRequest, Metadata, PinField,
    TokenInfo, Transaction, codes,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

mod gift_cards;
mod transactions;

pub use crate::error::{ApiError, ApiResult};

/// PIN throttling: this many wrong PINs in a row lock the card for `pin_lock_secs`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PinPolicy {
    pub max_failures: u32,
    pub lock_secs: u64,
}

impl Default for PinPolicy {
    fn default() -> Self {
        PinPolicy {
            max_failures: 5,
            lock_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CardRec {
    id: String,
    card_id: String,
    status: String,
    token: String,
    token_prefix_len: usize,
    pin: Option<String>,
    pin_format: Option<TokenFormat>,
    customer_id: Option<String>,
    name: Option<String>,
    originated_by: Option<String>,
    metadata: Metadata,
    created_at: DateTime<Utc>,
    amount: i64,
    currency: Option<String>,
    funds: i64,
    drawdown: i64,
    pending: i64,
    active_from: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    pin_failures: u32,
    locked_until: Option<DateTime<Utc>>,
    transactions: Vec<String>,
    #[serde(default)]
    activations: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TxRec {
    tx: Transaction,
    card_id: String,
    /// For a pending drawdown: still waiting for capture or void.
    open: bool,
    /// For a pending drawdown: how much has been captured so far. Capturing less than
    /// the pending amount leaves the rest pending (MD-capture).
    #[serde(default)]
    captured: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdemRec {
    fingerprint: String,
    transaction_id: String,
}

/// Everything the sandbox knows. Serializable, so it can persist across restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Store {
    cards: BTreeMap<String, CardRec>,
    by_token: BTreeMap<String, String>,
    transactions: BTreeMap<String, TxRec>,
    idempotency: BTreeMap<String, IdemRec>,
    seq: u64,
    #[serde(default)]
    pub pin_policy: PinPolicy,
    /// Dintero Checkout: payment sessions and their transactions.
    #[serde(default)]
    pub checkout: crate::checkout::Checkout,
    /// The reading played where the contract is silent (`readings.rs`).
    #[serde(default)]
    pub readings: crate::readings::Readings,
}

/// Balances of one card, for tests and the admin view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Balances {
    pub funds: i64,
    pub drawdown: i64,
    pub pending: i64,
    pub available: i64,
}

/// A card as the sandbox holds it, for tests and tools (the sandbox is ours: it may
/// show what Dintero never would).
#[derive(Debug, Clone, Serialize)]
pub struct CardSnapshot {
    pub card_id: String,
    pub status: String,
    pub currency: Option<String>,
    pub balances: Balances,
    pub metadata: Metadata,
    pub transactions: usize,
    /// How many times the card was activated (the sandbox's own count: Dintero's
    /// activation makes no transaction, and refuses a second one).
    pub activations: u32,
}

const MAX_REF_ID: usize = 128;
const MAX_BATCH: usize = 100_000;

impl Store {
    pub fn new(pin_policy: PinPolicy) -> Store {
        Store {
            pin_policy,
            ..Store::default()
        }
    }

    fn next_id(&mut self, kind: &str) -> String {
        self.seq += 1;
        format!("{kind}_{:010}", self.seq)
    }

    /// Adds a card directly (seeding). Token and PIN are stored as given.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_card(
        &mut self,
        now: DateTime<Utc>,
        card_id: &str,
        token: &str,
        token_prefix_len: usize,
        pin: Option<&str>,
        activation: Option<(i64, &str)>,
        active_from: Option<DateTime<Utc>>,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let id = self.next_id("card");
        let (status, amount, currency) = match activation {
            Some((a, c)) => ("unused", a, Some(c.to_string())),
            None => ("inactive", 0, None),
        };
        self.by_token.insert(token.to_string(), card_id.to_string());
        self.cards.insert(
            card_id.to_string(),
            CardRec {
                id,
                card_id: card_id.to_string(),
                status: status.into(),
                token: token.to_string(),
                token_prefix_len,
                pin: pin.map(str::to_string),
                pin_format: None,
                customer_id: None,
                name: None,
                originated_by: None,
                metadata: Metadata::new(),
                created_at: now,
                amount,
                currency,
                funds: amount,
                drawdown: 0,
                pending: 0,
                active_from: activation.map(|_| active_from.unwrap_or(now)),
                expires_at,
                pin_failures: 0,
                locked_until: None,
                transactions: Vec::new(),
                activations: 0,
            },
        );
    }

    /// A card's balances and status, straight from the store.
    pub fn snapshot(&self, card_id: &str) -> Option<CardSnapshot> {
        self.cards.get(card_id).map(|c| CardSnapshot {
            card_id: c.card_id.clone(),
            status: c.status.clone(),
            currency: c.currency.clone(),
            balances: balances(c),
            metadata: c.metadata.clone(),
            transactions: c.transactions.len(),
            activations: c.activations,
        })
    }

    /// Every card id, in order.
    pub fn card_ids(&self) -> impl Iterator<Item = &str> {
        self.cards.keys().map(String::as_str)
    }

    /// How many transactions the sandbox holds (all cards).
    pub fn transaction_count(&self) -> usize {
        self.transactions.len()
    }

    // ---- Dintero endpoints ------------------------------------------------------------

    /// `POST /cards/batch`.
    pub fn create_batch(
        &mut self,
        now: DateTime<Utc>,
        req: &BatchRequest,
        rng: &mut impl Rng,
    ) -> ApiResult<Vec<Card>> {
        if req.cards.is_empty() || req.cards.len() > MAX_BATCH {
            return Err(ApiError::new(
                codes::VALIDATION,
                format!("cards must hold 1 to {MAX_BATCH} entries"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &req.cards {
            if c.card_id.is_empty() || !seen.insert(c.card_id.as_str()) {
                return Err(ApiError::new(
                    codes::VALIDATION,
                    "card_id empty or repeated",
                ));
            }
            if self.cards.contains_key(&c.card_id) {
                return Err(ApiError::new(
                    codes::CARD_EXISTS,
                    format!("card {} exists", c.card_id),
                ));
            }
        }
        let token_format = req
            .options
            .card_token
            .as_ref()
            .map(|f| f.format.clone())
            .unwrap_or_else(TokenFormat::numeric16);
        let pin_format = req
            .options
            .pin
            .as_ref()
            .map(|f| f.format.clone())
            .unwrap_or_else(default_pin_format);
        check_format(&token_format, "card_token")?;
        check_format(&pin_format, "pin")?;
        let mut out = Vec::with_capacity(req.cards.len());
        for c in &req.cards {
            out.push(self.issue(now, &c.card_id, &token_format, &pin_format, None, rng)?);
        }
        Ok(out)
    }

    /// `POST /cards`: one card, active with its amount.
    pub fn create_card(
        &mut self,
        now: DateTime<Utc>,
        req: &CreateCardRequest,
        rng: &mut impl Rng,
    ) -> ApiResult<Card> {
        if self.cards.contains_key(&req.card_id) {
            return Err(ApiError::new(codes::CARD_EXISTS, "card exists"));
        }
        check_amount(req.amount)?;
        check_currency(&req.currency)?;
        let token_format = req
            .card_token
            .clone()
            .map(|f| f.format)
            .unwrap_or_else(TokenFormat::numeric16);
        let pin_format = req
            .pin
            .clone()
            .map(|f| f.format)
            .unwrap_or_else(default_pin_format);
        check_format(&token_format, "card_token")?;
        check_format(&pin_format, "pin")?;
        let card = self.issue(
            now,
            &req.card_id,
            &token_format,
            &pin_format,
            Some((req.amount, &req.currency, req.active_from, req.expires_at)),
            rng,
        )?;
        if let Some(rec) = self.cards.get_mut(&req.card_id) {
            rec.customer_id = req.customer_id.clone();
            rec.name = req.name.clone();
            rec.metadata = req.metadata.clone();
        }
        let mut shown = self.view(&req.card_id, true)?;
        shown.card_token = card.card_token;
        shown.pin = card.pin;
        Ok(shown)
    }

    /// `POST /cards/{card_id}/activate`.
    pub fn activate(
        &mut self,
        now: DateTime<Utc>,
        card_id: &str,
        req: &ActivateRequest,
    ) -> ApiResult<Card> {
        check_amount(req.amount)?;
        check_currency(&req.currency)?;
        if req.expires_at.is_some_and(|e| e <= now) {
            return Err(ApiError::new(
                codes::VALIDATION,
                "expires_at is in the past",
            ));
        }
        let card = self
            .cards
            .get_mut(card_id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such card"))?;
        if !CardStatus::parse(&card.status).awaits_activation() {
            return Err(ApiError::new(
                codes::CARD_ALREADY_ACTIVE,
                "the card is already active",
            ));
        }
        card.status = "unused".into();
        card.amount = req.amount;
        card.currency = Some(req.currency.to_ascii_uppercase());
        card.funds = req.amount;
        card.customer_id = req.customer_id.clone();
        card.name = req.name.clone();
        card.originated_by = req.originated_by.clone();
        card.active_from = Some(req.active_from.unwrap_or(now));
        card.expires_at = req.expires_at;
        card.metadata.extend(req.metadata.clone());
        card.activations += 1;
        // Activation sets the balance; Dintero documents no transaction for it, so the
        // card's history starts empty (ours: the sandbox invents none).
        self.view(card_id, true)
    }

    /// `POST /info`: the card behind a token, with its amounts ("use the info endpoint
    /// to get available funds", G-pay). A PIN, when given, is checked and counted
    /// (documented: a PIN may be included, 2024-02-01; whether it is required is not —
    /// ours: optional).
    pub fn info(&mut self, now: DateTime<Utc>, token: &str, pin: Option<&str>) -> ApiResult<Card> {
        let card_id = self
            .by_token
            .get(token)
            .cloned()
            .ok_or_else(|| ApiError::new(codes::TOKEN_NOT_FOUND, "no card has this token"))?;
        if pin.is_some() {
            self.check_pin(now, &card_id, pin, false)?;
        }
        self.view(&card_id, true)
    }

    /// `GET /cards/{card_id}`.
    pub fn card(&self, card_id: &str) -> ApiResult<Card> {
        self.view(card_id, true)
    }

    /// `GET /cards?limit=&starting_after=`.
    pub fn list(&self, limit: usize, starting_after: Option<&str>) -> ApiResult<CardList> {
        let limit = limit.clamp(1, 1000);
        let cards: Vec<Card> = self
            .cards
            .keys()
            .filter(|k| starting_after.is_none_or(|s| k.as_str() > s))
            .take(limit)
            .map(|k| self.view(k, true))
            .collect::<ApiResult<_>>()?;
        let starting_after = (cards.len() == limit)
            .then(|| cards.last().map(|c| c.card_id.clone()))
            .flatten();
        Ok(CardList {
            cards,
            starting_after,
        })
    }

    /// `GET /cards/{card_id}/transactions`.
    pub fn card_transactions(&self, card_id: &str) -> ApiResult<Vec<Transaction>> {
        let card = self
            .cards
            .get(card_id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such card"))?;
        Ok(card
            .transactions
            .iter()
            .filter_map(|id| self.transactions.get(id).map(|t| t.tx.clone()))
            .collect())
    }

    /// Checks a PIN, counting failures and locking the card after too many.
    fn check_pin(
        &mut self,
        now: DateTime<Utc>,
        card_id: &str,
        pin: Option<&str>,
        required: bool,
    ) -> ApiResult<()> {
        let policy = self.pin_policy;
        let card = self
            .cards
            .get_mut(card_id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such card"))?;
        if let Some(until) = card.locked_until {
            if until > now {
                let mut e = ApiError::new(codes::PIN_LOCKED, "too many wrong PINs");
                e.retry_after_secs = Some((until - now).num_seconds().max(1) as u64);
                return Err(e);
            }
            card.locked_until = None;
        }
        let Some(expected) = card.pin.as_deref() else {
            return Ok(());
        };
        match pin {
            None if required => Err(ApiError::new(codes::PIN_REQUIRED, "the PIN is required")),
            None => Ok(()),
            Some(p) if p == expected => {
                card.pin_failures = 0;
                Ok(())
            }
            Some(_) => {
                card.pin_failures += 1;
                if card.pin_failures >= policy.max_failures {
                    card.pin_failures = 0;
                    card.locked_until =
                        Some(now + chrono::Duration::seconds(policy.lock_secs as i64));
                    let mut e = ApiError::new(codes::PIN_LOCKED, "too many wrong PINs");
                    e.retry_after_secs = Some(policy.lock_secs);
                    return Err(e);
                }
                Err(ApiError::new(codes::PIN_INVALID, "wrong PIN"))
            }
        }
    }

    fn view(&self, card_id: &str, amounts: bool) -> ApiResult<Card> {
        let c = self
            .cards
            .get(card_id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such card"))?;
        let b = balances(c);
        let amt = |v: i64| amounts.then_some(v);
        Ok(Card {
            id: c.id.clone(),
            card_id: c.card_id.clone(),
            card_type: Some("gift_card".into()),
            status: CardStatus::parse(&c.status),
            customer_id: c.customer_id.clone(),
            name: c.name.clone(),
            originated_by: c.originated_by.clone(),
            metadata: c.metadata.clone(),
            created_at: Some(c.created_at),
            created_by: None,
            amount: amt(c.amount),
            currency: c.currency.clone(),
            amount_balance: amt(c.funds - c.drawdown),
            amount_available: amt(b.available),
            amount_funds: amt(c.funds),
            amount_drawdown: amt(c.drawdown),
            amount_pending: amt(c.pending),
            amount_reserved: amt(0),
            active_from: c.active_from,
            expires_at: c.expires_at,
            pin: c.pin_format.clone().map(|f| PinField {
                format: Some(f),
                pin: None,
            }),
            tokens: vec![TokenInfo {
                expires_at: None,
                masked_code: giftpos_core::token::mask(&c.token, c.token_prefix_len),
                format: None,
            }],
            card_token: None,
        })
    }
}

fn balances(c: &CardRec) -> Balances {
    let balance = c.funds - c.drawdown;
    Balances {
        funds: c.funds,
        drawdown: c.drawdown,
        pending: c.pending,
        available: balance - c.pending,
    }
}

fn check_usable(card: &CardRec, now: DateTime<Utc>) -> ApiResult<()> {
    if CardStatus::parse(&card.status).awaits_activation() {
        return Err(ApiError::new(
            codes::CARD_INACTIVE,
            "the card is not activated",
        ));
    }
    if card.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::new(codes::CARD_EXPIRED, "the card has expired"));
    }
    Ok(())
}

fn check_amount(amount: i64) -> ApiResult<()> {
    if amount <= 0 {
        return Err(ApiError::new(
            codes::VALIDATION,
            "amount must be a positive integer",
        ));
    }
    Ok(())
}

fn check_currency(c: &str) -> ApiResult<()> {
    Currency::parse(c)
        .map(|_| ())
        .map_err(|_| ApiError::new(codes::VALIDATION, "unknown currency"))
}

fn check_ref_id(r: &str) -> ApiResult<()> {
    if r.is_empty() || r.len() > MAX_REF_ID {
        return Err(ApiError::new(
            codes::VALIDATION,
            format!("ref_id must have 1 to {MAX_REF_ID} characters"),
        ));
    }
    Ok(())
}

fn check_format(f: &TokenFormat, what: &str) -> ApiResult<()> {
    if f.length == 0 || f.length > 128 || !(f.numbers || f.characters || f.symbols) {
        return Err(ApiError::new(
            codes::VALIDATION,
            format!("{what}.format needs a length of 1 to 128 and at least one character class"),
        ));
    }
    Ok(())
}

fn default_pin_format() -> TokenFormat {
    TokenFormat {
        prefix: String::new(),
        length: 4,
        numbers: true,
        characters: false,
        symbols: false,
        barcode: false,
    }
}

/// Makes a random value of a format. A 36-character format with letters and symbols
/// gets a UUID, like Dintero's example.
fn generate(f: &TokenFormat, rng: &mut impl Rng) -> String {
    if f.length == 36 && f.characters && f.symbols {
        let bytes: [u8; 16] = rng.random();
        let u = uuid::Builder::from_random_bytes(bytes).into_uuid();
        return format!("{}{}", f.prefix, u.hyphenated());
    }
    let mut alphabet = String::new();
    if f.numbers {
        alphabet.push_str("0123456789");
    }
    if f.characters {
        alphabet.push_str("abcdefghijkmnpqrstuvwxyz");
    }
    if f.symbols {
        alphabet.push('-');
    }
    let chars: Vec<char> = alphabet.chars().collect();
    let body: String = (0..f.length)
        .map(|_| chars[rng.random_range(0..chars.len())])
        .collect();
    format!("{}{}", f.prefix, body)
}

fn idem_key(card_id: &str, ref_id: &str) -> String {
    format!("{card_id}\u{1f}{ref_id}")
}

fn fingerprint<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests;
