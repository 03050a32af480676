//! A card's money: drawdowns, deposits and refunds (`transaction`), capture and void of a
//! pending drawdown, and the `ref_id` replay that makes a retried request answer the first
//! result. Documented or ours as marked in `mod.rs` and `docs/dintero-decisions.md`.

use chrono::{DateTime, Utc};
use giftpos_core::TokenFormat;
use giftpos_dintero::wire::{
    CaptureRequest, Card, CardTokenField, Metadata, PinField, ShownOnce, Transaction,
    TransactionKind, TransactionRequest, TransactionType, VoidRequest, codes,
};
use rand::Rng;

use super::{
    IdemRec, Store, TxRec, balances, check_amount, check_ref_id, check_usable, fingerprint,
    generate, idem_key,
};
use crate::error::{ApiError, ApiResult};

impl Store {
    /// `POST /transactions`.
    pub fn transaction(
        &mut self,
        now: DateTime<Utc>,
        req: &TransactionRequest,
    ) -> ApiResult<Transaction> {
        check_ref_id(&req.ref_id)?;
        let card_id =
            match (&req.token, &req.card_id) {
                (Some(t), None) => self.by_token.get(t).cloned().ok_or_else(|| {
                    ApiError::new(codes::TOKEN_NOT_FOUND, "no card has this token")
                })?,
                (None, Some(c)) => {
                    if !self.cards.contains_key(c) {
                        return Err(ApiError::new(codes::CARD_NOT_FOUND, "no such card"));
                    }
                    c.clone()
                }
                _ => {
                    return Err(ApiError::new(
                        codes::VALIDATION,
                        "give exactly one of token and card_id",
                    ));
                }
            };
        let fingerprint = fingerprint(&(
            "transaction",
            req.kind,
            req.amount,
            req.currency.to_ascii_uppercase(),
            req.pending.unwrap_or(false),
            &req.metadata,
        ));
        if let Some(first) = self.replay(&card_id, &req.ref_id, &fingerprint)? {
            return Ok(first);
        }
        check_amount(req.amount)?;
        let by_token = req.token.is_some();
        {
            let card = &self.cards[&card_id];
            check_usable(card, now)?;
            if card.currency.as_deref() != Some(req.currency.to_ascii_uppercase().as_str()) {
                return Err(ApiError::new(
                    codes::CURRENCY_MISMATCH,
                    "currency differs from the card's",
                ));
            }
        }
        let pending = req.pending.unwrap_or(false);
        let kind = match req.kind {
            TransactionKind::Fund => {
                if pending {
                    return Err(ApiError::new(codes::VALIDATION, "pending is for drawdowns"));
                }
                TransactionType::Fund
            }
            TransactionKind::Drawdown => {
                if self.cards[&card_id].active_from.is_some_and(|f| f > now) {
                    return Err(ApiError::new(codes::CARD_NOT_YET_ACTIVE, "not valid yet"));
                }
                self.check_pin(now, &card_id, req.pin.as_deref(), by_token)?;
                if balances(&self.cards[&card_id]).available < req.amount {
                    return Err(ApiError::new(
                        codes::INSUFFICIENT_FUNDS,
                        "the available balance is lower than the amount",
                    ));
                }
                if pending {
                    TransactionType::PendingCapture
                } else {
                    TransactionType::Drawdown
                }
            }
        };
        let id = self.next_id("tx");
        let card = self
            .cards
            .get_mut(&card_id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such card"))?;
        match kind {
            TransactionType::Fund => card.funds += req.amount,
            TransactionType::PendingCapture => card.pending += req.amount,
            _ => card.drawdown += req.amount,
        }
        if card.status == "unused" {
            card.status = "active".into();
        }
        card.transactions.push(id.clone());
        let tx = Transaction {
            id: id.clone(),
            ref_id: req.ref_id.clone(),
            amount: req.amount,
            currency: req.currency.to_ascii_uppercase(),
            kind: kind.clone(),
            created_at: Some(now),
            created_by: None,
            metadata: req.metadata.clone(),
            originated_by: req.originated_by.clone(),
            parent_id: None,
            card_id: None,
        };
        self.remember(&card_id, &req.ref_id, fingerprint, &id);
        self.transactions.insert(
            id,
            TxRec {
                tx: tx.clone(),
                card_id,
                open: kind == TransactionType::PendingCapture,
                captured: 0,
            },
        );
        Ok(tx)
    }

    /// `POST /transactions/{id}/capture`: all or part of a pending drawdown.
    pub fn capture(
        &mut self,
        now: DateTime<Utc>,
        parent_id: &str,
        req: &CaptureRequest,
    ) -> ApiResult<Transaction> {
        self.settle(now, parent_id, &req.ref_id, req.amount, &req.metadata, true)
    }

    /// `POST /transactions/{id}/void`: releases what is still pending of a drawdown (all
    /// of it, or the rest after partial captures).
    pub fn void(
        &mut self,
        now: DateTime<Utc>,
        parent_id: &str,
        req: &VoidRequest,
    ) -> ApiResult<Transaction> {
        self.settle(now, parent_id, &req.ref_id, None, &req.metadata, false)
    }

    pub(super) fn settle(
        &mut self,
        now: DateTime<Utc>,
        parent_id: &str,
        ref_id: &str,
        amount: Option<i64>,
        metadata: &Metadata,
        capture: bool,
    ) -> ApiResult<Transaction> {
        check_ref_id(ref_id)?;
        let parent =
            self.transactions.get(parent_id).cloned().ok_or_else(|| {
                ApiError::new(codes::TRANSACTION_NOT_FOUND, "no such transaction")
            })?;
        let fingerprint = fingerprint(&(
            if capture { "capture" } else { "void" },
            parent_id,
            amount,
            metadata,
        ));
        if let Some(first) = self.replay(&parent.card_id, ref_id, &fingerprint)? {
            return Ok(first);
        }
        if parent.tx.kind != TransactionType::PendingCapture || !parent.open {
            return Err(ApiError::new(
                codes::TRANSACTION_NOT_PENDING,
                "the transaction is not a pending drawdown",
            ));
        }
        // Reading `void_after_partial_capture = refused`: once part is captured, the
        // rest can only be captured.
        if !capture
            && parent.captured > 0
            && self.readings.void_after_partial_capture == crate::readings::PartialVoid::Refused
        {
            return Err(ApiError::new(
                codes::VALIDATION,
                "a partly captured transaction cannot be voided",
            ));
        }
        let remaining = parent.tx.amount - parent.captured;
        let amount = match (capture, amount) {
            (false, _) => remaining,
            (true, None) => remaining,
            (true, Some(a)) => {
                check_amount(a)?;
                if a > remaining {
                    return Err(ApiError::new(
                        codes::CAPTURE_EXCEEDS_PENDING,
                        "the capture is larger than the pending amount",
                    ));
                }
                a
            }
        };
        let id = self.next_id("tx");
        let card = self
            .cards
            .get_mut(&parent.card_id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such card"))?;
        // A capture takes its amount out of pending; the rest stays pending until it
        // is captured or voided (MD-capture). A void releases all that is left.
        card.pending -= amount;
        if capture {
            card.drawdown += amount;
        }
        card.transactions.push(id.clone());
        let tx = Transaction {
            id: id.clone(),
            ref_id: ref_id.to_string(),
            amount,
            currency: parent.tx.currency.clone(),
            kind: if capture {
                TransactionType::Drawdown
            } else {
                TransactionType::Voided
            },
            created_at: Some(now),
            created_by: None,
            metadata: metadata.clone(),
            originated_by: None,
            parent_id: Some(parent_id.to_string()),
            card_id: None,
        };
        if let Some(p) = self.transactions.get_mut(parent_id) {
            if capture {
                p.captured += amount;
                p.open = p.captured < p.tx.amount;
            } else {
                p.open = false;
            }
        }
        self.remember(&parent.card_id, ref_id, fingerprint, &id);
        self.transactions.insert(
            id,
            TxRec {
                tx: tx.clone(),
                card_id: parent.card_id,
                open: false,
                captured: 0,
            },
        );
        Ok(tx)
    }

    // ---- helpers ----------------------------------------------------------------------

    /// Makes a card with a fresh unique token and PIN, and answers it with both shown
    /// (the only time they are).
    #[allow(clippy::type_complexity)]
    pub(super) fn issue(
        &mut self,
        now: DateTime<Utc>,
        card_id: &str,
        token_format: &TokenFormat,
        pin_format: &TokenFormat,
        activation: Option<(i64, &str, Option<DateTime<Utc>>, Option<DateTime<Utc>>)>,
        rng: &mut impl Rng,
    ) -> ApiResult<Card> {
        let token = loop {
            let t = generate(token_format, rng);
            if !self.by_token.contains_key(&t) {
                break t;
            }
        };
        let pin = generate(pin_format, rng);
        self.insert_card(
            now,
            card_id,
            &token,
            token_format.prefix.len(),
            Some(&pin),
            activation.map(|(a, c, _, _)| (a, c)),
            activation.and_then(|(_, _, from, _)| from),
            activation.and_then(|(_, _, _, until)| until),
        );
        if let Some(rec) = self.cards.get_mut(card_id) {
            rec.pin_format = Some(pin_format.clone());
        }
        let mut card = self.view(card_id, true)?;
        card.card_token = Some(CardTokenField {
            format: Some(token_format.clone()),
            token: Some(ShownOnce {
                value: token,
                barcode_128: None,
            }),
        });
        card.pin = Some(PinField {
            format: Some(pin_format.clone()),
            pin: Some(ShownOnce {
                value: pin,
                barcode_128: None,
            }),
        });
        Ok(card)
    }

    pub(super) fn replay(
        &self,
        card_id: &str,
        ref_id: &str,
        fingerprint: &str,
    ) -> ApiResult<Option<Transaction>> {
        match self.idempotency.get(&idem_key(card_id, ref_id)) {
            None => Ok(None),
            Some(rec) if rec.fingerprint == fingerprint => Ok(self
                .transactions
                .get(&rec.transaction_id)
                .map(|t| t.tx.clone())),
            Some(_) => Err(ApiError::new(
                codes::REF_ID_CONFLICT,
                "this ref_id was used with other parameters",
            )),
        }
    }

    pub(super) fn remember(
        &mut self,
        card_id: &str,
        ref_id: &str,
        fingerprint: String,
        tx_id: &str,
    ) {
        self.idempotency.insert(
            idem_key(card_id, ref_id),
            IdemRec {
                fingerprint,
                transaction_id: tx_id.to_string(),
            },
        );
    }
}
