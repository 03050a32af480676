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
    ActivateRequest, BatchRequest, CaptureRequest, Card, CardList, CardTokenField,
    CreateCardRequest, Metadata, PinField, ShownOnce, TokenInfo, Transaction, TransactionKind,
    TransactionRequest, TransactionType, VoidRequest, codes,
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
mod tests {
    use super::*;
    use chrono::TimeZone;
    use giftpos_dintero::wire;
    use rand::SeedableRng;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
    }

    fn store() -> Store {
        let mut s = Store::new(PinPolicy {
            max_failures: 3,
            lock_secs: 60,
        });
        s.insert_card(
            t0(),
            "stock",
            "1111222233334444",
            0,
            Some("1234"),
            None,
            None,
            None,
        );
        s.insert_card(
            t0(),
            "live",
            "5555666677778888",
            0,
            Some("4321"),
            Some((50_000, "NOK")),
            None,
            None,
        );
        s
    }

    fn draw(ref_id: &str, amount: i64, pending: bool, pin: Option<&str>) -> TransactionRequest {
        TransactionRequest {
            ref_id: ref_id.into(),
            amount,
            currency: "NOK".into(),
            kind: TransactionKind::Drawdown,
            token: Some("5555666677778888".into()),
            card_id: None,
            pending: Some(pending),
            pin: pin.map(str::to_string),
            metadata: Metadata::new(),
            originated_by: None,
        }
    }

    fn activate_req(amount: i64) -> ActivateRequest {
        ActivateRequest {
            amount,
            currency: "NOK".into(),
            customer_id: None,
            name: None,
            originated_by: None,
            active_from: None,
            expires_at: None,
            metadata: Metadata::new(),
        }
    }

    fn code<T: std::fmt::Debug>(r: ApiResult<T>) -> &'static str {
        r.unwrap_err().code
    }

    #[test]
    fn activation_moves_inactive_to_unused_once() {
        let mut s = store();
        let c = s.activate(t0(), "stock", &activate_req(20_000)).unwrap();
        assert_eq!(c.status, CardStatus::Unused);
        assert_eq!(c.amount_available, Some(20_000));
        assert_eq!(
            code(s.activate(t0(), "stock", &activate_req(20_000))),
            codes::CARD_ALREADY_ACTIVE
        );
        assert_eq!(
            code(s.activate(t0(), "nope", &activate_req(1))),
            codes::CARD_NOT_FOUND
        );
        assert_eq!(
            code(s.activate(t0(), "stock", &activate_req(0))),
            codes::VALIDATION
        );
    }

    #[test]
    fn inactive_cards_cannot_pay_or_be_funded() {
        let mut s = store();
        let mut r = draw("r1", 100, false, Some("1234"));
        r.token = Some("1111222233334444".into());
        assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_INACTIVE);
        r.kind = TransactionKind::Fund;
        r.pending = None;
        assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_INACTIVE);
    }

    #[test]
    fn a_partial_capture_leaves_the_rest_pending_until_captured_or_voided() {
        let mut s = store();
        let p = s
            .transaction(t0(), &draw("r1", 12_050, true, Some("4321")))
            .unwrap();
        assert_eq!(p.kind, TransactionType::PendingCapture);
        let b = s.snapshot("live").unwrap().balances;
        assert_eq!((b.pending, b.available), (12_050, 37_950));
        let cap = CaptureRequest {
            ref_id: "c1".into(),
            amount: Some(10_000),
            metadata: Metadata::new(),
        };
        let c = s.capture(t0(), &p.id, &cap).unwrap();
        assert_eq!(c.parent_id.as_deref(), Some(p.id.as_str()));
        // MD-capture: "the remaining amount will still be reserved/pending".
        let b = s.snapshot("live").unwrap().balances;
        assert_eq!(
            (b.pending, b.drawdown, b.available),
            (2_050, 10_000, 37_950)
        );
        assert_eq!(s.snapshot("live").unwrap().status, "active");
        // The same ref_id replays the first result.
        assert_eq!(s.capture(t0(), &p.id, &cap).unwrap().id, c.id);
        // More than what is left is refused; the rest can be captured later ...
        let over = CaptureRequest {
            ref_id: "c2".into(),
            amount: Some(2_051),
            metadata: Metadata::new(),
        };
        assert_eq!(
            code(s.capture(t0(), &p.id, &over)),
            codes::CAPTURE_EXCEEDS_PENDING
        );
        let some = CaptureRequest {
            ref_id: "c3".into(),
            amount: Some(50),
            metadata: Metadata::new(),
        };
        s.capture(t0(), &p.id, &some).unwrap();
        // ... and a void releases what is still pending.
        let v = VoidRequest {
            ref_id: "v1".into(),
            metadata: Metadata::new(),
        };
        let voided = s.void(t0(), &p.id, &v).unwrap();
        assert_eq!(
            (voided.kind, voided.amount),
            (TransactionType::Voided, 2_000)
        );
        let b = s.snapshot("live").unwrap().balances;
        assert_eq!((b.pending, b.drawdown, b.available), (0, 10_050, 39_950));
        // Settled: nothing more can be captured or voided.
        let again = CaptureRequest {
            ref_id: "c4".into(),
            amount: None,
            metadata: Metadata::new(),
        };
        assert_eq!(
            code(s.capture(t0(), &p.id, &again)),
            codes::TRANSACTION_NOT_PENDING
        );
    }

    #[test]
    fn a_full_capture_settles_the_drawdown() {
        let mut s = store();
        let p = s
            .transaction(t0(), &draw("r1", 1_000, true, Some("4321")))
            .unwrap();
        let all = CaptureRequest {
            ref_id: "c1".into(),
            amount: None,
            metadata: Metadata::new(),
        };
        assert_eq!(s.capture(t0(), &p.id, &all).unwrap().amount, 1_000);
        let v = VoidRequest {
            ref_id: "v1".into(),
            metadata: Metadata::new(),
        };
        assert_eq!(
            code(s.void(t0(), &p.id, &v)),
            codes::TRANSACTION_NOT_PENDING
        );
    }

    #[test]
    fn void_releases_the_pending_amount() {
        let mut s = store();
        let p = s
            .transaction(t0(), &draw("r1", 5_000, true, Some("4321")))
            .unwrap();
        let v = VoidRequest {
            ref_id: "v1".into(),
            metadata: Metadata::new(),
        };
        let tx = s.void(t0(), &p.id, &v).unwrap();
        assert_eq!(tx.kind, TransactionType::Voided);
        assert_eq!(s.snapshot("live").unwrap().balances.available, 50_000);
        assert_eq!(
            code(s.void(t0(), "tx_404", &v)),
            codes::TRANSACTION_NOT_FOUND
        );
        let over = CaptureRequest {
            ref_id: "c".into(),
            amount: Some(6_000),
            metadata: Metadata::new(),
        };
        let p2 = s
            .transaction(t0(), &draw("r2", 5_000, true, Some("4321")))
            .unwrap();
        assert_eq!(
            code(s.capture(t0(), &p2.id, &over)),
            codes::CAPTURE_EXCEEDS_PENDING
        );
    }

    #[test]
    fn ref_id_is_idempotent_per_card() {
        let mut s = store();
        let first = s
            .transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
            .unwrap();
        let again = s
            .transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
            .unwrap();
        assert_eq!(first.id, again.id);
        assert_eq!(s.snapshot("live").unwrap().balances.drawdown, 1_000);
        assert_eq!(
            code(s.transaction(t0(), &draw("r1", 2_000, false, Some("4321")))),
            codes::REF_ID_CONFLICT
        );
    }

    #[test]
    fn failures_are_not_remembered_for_replay() {
        let mut s = store();
        assert_eq!(
            code(s.transaction(t0(), &draw("r1", 60_000, false, Some("4321")))),
            codes::INSUFFICIENT_FUNDS
        );
        let mut fund = draw("f1", 20_000, false, None);
        fund.kind = TransactionKind::Fund;
        fund.pending = None;
        s.transaction(t0(), &fund).unwrap();
        assert!(
            s.transaction(t0(), &draw("r1", 60_000, false, Some("4321")))
                .is_ok()
        );
    }

    #[test]
    fn pins_are_checked_counted_and_locked() {
        let mut s = store();
        assert_eq!(
            code(s.transaction(t0(), &draw("a", 1, false, None))),
            codes::PIN_REQUIRED
        );
        assert_eq!(
            code(s.transaction(t0(), &draw("a", 1, false, Some("0000")))),
            codes::PIN_INVALID
        );
        assert_eq!(
            code(s.info(t0(), "5555666677778888", Some("0000"))),
            codes::PIN_INVALID
        );
        let locked = s.info(t0(), "5555666677778888", Some("0000")).unwrap_err();
        assert_eq!(locked.code, codes::PIN_LOCKED);
        assert_eq!(locked.retry_after_secs, Some(60));
        // Even the right PIN is refused while locked ...
        assert_eq!(
            code(s.info(t0(), "5555666677778888", Some("4321"))),
            codes::PIN_LOCKED
        );
        // ... and accepted after the lock.
        let later = t0() + chrono::Duration::seconds(61);
        assert!(s.info(later, "5555666677778888", Some("4321")).is_ok());
        // By card id (server side), no PIN is needed.
        let mut r = draw("b", 1, false, None);
        r.token = None;
        r.card_id = Some("live".into());
        assert!(s.transaction(later, &r).is_ok());
    }

    #[test]
    fn info_answers_amounts_and_checks_a_pin_when_given() {
        let mut s = store();
        let c = s.info(t0(), "5555666677778888", None).unwrap();
        assert_eq!(c.card_id, "live");
        assert_eq!(c.amount_available, Some(50_000));
        assert_eq!(
            code(s.info(t0(), "5555666677778888", Some("0000"))),
            codes::PIN_INVALID
        );
        let c = s.info(t0(), "5555666677778888", Some("4321")).unwrap();
        assert_eq!(c.amount_available, Some(50_000));
        assert_eq!(c.tokens[0].masked_code, "************8888");
        assert_eq!(
            code(s.info(t0(), "0000000000000000", None)),
            codes::TOKEN_NOT_FOUND
        );
    }

    #[test]
    fn validity_window_is_enforced() {
        let mut s = store();
        s.insert_card(
            t0(),
            "future",
            "9999000000000001",
            0,
            None,
            Some((1_000, "NOK")),
            Some(t0() + chrono::Duration::days(1)),
            None,
        );
        s.insert_card(
            t0(),
            "old",
            "9999000000000002",
            0,
            None,
            Some((1_000, "NOK")),
            None,
            Some(t0() - chrono::Duration::days(1)),
        );
        let mut r = draw("x", 100, false, None);
        r.token = Some("9999000000000001".into());
        assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_NOT_YET_ACTIVE);
        r.kind = TransactionKind::Fund;
        r.pending = None;
        assert!(
            s.transaction(t0(), &r).is_ok(),
            "funding before active_from is allowed"
        );
        r.token = Some("9999000000000002".into());
        assert_eq!(code(s.transaction(t0(), &r)), codes::CARD_EXPIRED);
    }

    #[test]
    fn currency_and_shape_are_checked() {
        let mut s = store();
        let mut r = draw("x", 100, false, Some("4321"));
        r.currency = "SEK".into();
        assert_eq!(code(s.transaction(t0(), &r)), codes::CURRENCY_MISMATCH);
        r.currency = "NOK".into();
        r.card_id = Some("live".into());
        assert_eq!(code(s.transaction(t0(), &r)), codes::VALIDATION);
        r.card_id = None;
        r.ref_id = String::new();
        assert_eq!(code(s.transaction(t0(), &r)), codes::VALIDATION);
    }

    #[test]
    fn batches_make_inactive_cards_with_tokens_of_the_format() {
        let mut s = store();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let req = BatchRequest {
            cards: (0..3)
                .map(|i| wire::BatchCard {
                    card_id: format!("b{i}"),
                    card_type: "gift_card".into(),
                })
                .collect(),
            options: wire::BatchOptions {
                pin: None,
                card_token: Some(wire::FormatOption {
                    format: TokenFormat::dincard_uuid(),
                }),
            },
        };
        let cards = s.create_batch(t0(), &req, &mut rng).unwrap();
        assert_eq!(cards.len(), 3);
        for c in &cards {
            assert_eq!(c.status, CardStatus::Inactive);
            let tok = &c.card_token.as_ref().unwrap().token.as_ref().unwrap().value;
            giftpos_core::CardToken::parse(tok, &[TokenFormat::dincard_uuid()]).unwrap();
            assert_eq!(c.pin.as_ref().unwrap().pin.as_ref().unwrap().value.len(), 4);
        }
        assert_eq!(
            code(s.create_batch(t0(), &req, &mut rng)),
            codes::CARD_EXISTS,
            "the same ids again"
        );
    }

    #[test]
    fn the_store_survives_serialization() {
        let mut s = store();
        s.transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
            .unwrap();
        let j = serde_json::to_string(&s).unwrap();
        let mut back: Store = serde_json::from_str(&j).unwrap();
        assert_eq!(back.snapshot("live").unwrap().balances.drawdown, 1_000);
        // Idempotency survives too.
        let again = back
            .transaction(t0(), &draw("r1", 1_000, false, Some("4321")))
            .unwrap();
        assert_eq!(back.snapshot("live").unwrap().balances.drawdown, 1_000);
        assert_eq!(again.ref_id, "r1");
    }
}
