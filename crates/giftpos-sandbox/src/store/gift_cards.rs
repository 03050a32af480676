//! Dintero Checkout paid with a Wallets gift card, wholly or partly (seeds `000`/`001`,
//! "Pay with gift cards in Checkout"): the session's card (preloaded by the merchant in
//! `customer.gift_cards`, or added by the payer with its PIN), its part of the order
//! (what it holds, at most the order), and each of the payment's operations played on
//! the card. The Checkout state (`checkout.rs`) knows the parts; the store moves the
//! card's money.
//!
//! DOCUMENTED (seed `000`, SPEC `Giftcard`, `TransactionEvent.gift_cards`): one card per
//! session; `dintero.wallets` must be enabled; the transaction and its events carry
//! `gift_cards` (an event's with the card's own `transaction_id`); gift cards have
//! precedence when a transaction is partly captured or refunded; a refund to a card
//! never exceeds what was captured from it; a card covering everything pays as
//! `dintero.zero`. OURS (the contract is silent; each reading is played,
//! `readings.rs`): when the card is drawn — a pending drawdown at authorization,
//! captured with the payment (default), or a drawdown at each capture.

use chrono::{DateTime, Utc};
use giftpos_dintero::wire::checkout::{
    CaptureBody, Giftcard, PaymentTransaction, RefundBody, Session, SessionCreated,
    SessionProfileRequest, WALLETS, event as ev,
};
use giftpos_dintero::wire::{
    CaptureRequest, Metadata, TransactionKind, TransactionRequest, VoidRequest, codes,
};

use super::{Store, balances, check_usable};
use crate::checkout::{Operation, PayerAction, SessionCard};
use crate::error::{ApiError, ApiResult};
use crate::readings::GiftCardDrawn;

impl Store {
    /// `POST /v1/sessions-profile`, with the merchant's preloaded card shown on the
    /// session's order. An unknown card is refused.
    pub fn checkout_create(
        &mut self,
        now: DateTime<Utc>,
        req: SessionProfileRequest,
        base_url: &str,
    ) -> ApiResult<SessionCreated> {
        let preloaded = req
            .customer
            .as_ref()
            .and_then(|c| c.gift_cards.as_ref())
            .and_then(|g| g.wallets.first())
            .map(|c| c.card_id.clone());
        let card = match preloaded {
            Some(id) => Some(self.session_card(&id)?),
            None => None,
        };
        let (amount, currency) = (req.order.amount, req.order.currency.clone());
        let created = self.checkout.create(now, req, base_url)?;
        if let Some(c) = card {
            let part = self.card_part(now, &c.card_id, amount, &currency);
            self.checkout.set_card(now, &created.id, Some((c, part)))?;
        }
        Ok(created)
    }

    /// The payer adds their gift card on the payer page: number and PIN (required
    /// there, seed `001`), checked and counted like any PIN.
    pub fn checkout_add_card(
        &mut self,
        now: DateTime<Utc>,
        session_id: &str,
        token: &str,
        pin: &str,
    ) -> ApiResult<Session> {
        let session = self.checkout.session(session_id)?;
        if !self.checkout.gift_options(session_id).0 {
            return self.checkout.set_card(now, session_id, None);
        }
        if pin.trim().is_empty() {
            return Err(ApiError::new(
                codes::PIN_REQUIRED,
                "the gift card's PIN is required",
            ));
        }
        let card = self.info(now, token.trim(), Some(pin.trim()))?;
        let c = SessionCard {
            pin_given: true,
            ..self.session_card(&card.card_id)?
        };
        let part = self.card_part(
            now,
            &c.card_id,
            session.order.amount,
            &session.order.currency,
        );
        if part == 0 {
            return Err(ApiError::new(
                codes::INSUFFICIENT_FUNDS,
                "this gift card cannot pay anything of this order",
            ));
        }
        self.checkout.set_card(now, session_id, Some((c, part)))
    }

    /// The payer takes the gift card out of the session.
    pub fn checkout_remove_card(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<Session> {
        self.checkout.set_card(now, id, None)
    }

    /// The payer pays: the session's card pays its part (what it holds now, at most the
    /// order), the rest is paid another way.
    pub fn checkout_payer(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        action: PayerAction,
    ) -> ApiResult<PaymentTransaction> {
        let pin_needed = self.readings.preloaded_pin == crate::readings::PreloadedPin::Required;
        let part = match self.checkout.session_card(id) {
            // Reading: a preloaded card pays only once the payer gave its PIN.
            Some(c) if pin_needed && !c.pin_given => 0,
            Some(c) => {
                let s = self.checkout.session(id)?;
                self.card_part(now, &c.card_id, s.order.amount, &s.order.currency)
            }
            None => 0,
        };
        let tx = self.checkout.payer(now, id, action, part)?;
        self.play_gift_card(now, &tx.id)
    }

    /// `GET /v1/transactions/{id}` (operations accepted with 202 complete here).
    pub fn checkout_transaction(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
    ) -> ApiResult<PaymentTransaction> {
        self.checkout.transaction(now, id)?;
        self.play_gift_card(now, id)
    }

    /// Capture: the card's share first (precedence). Drawn at capture, a card that no
    /// longer holds its share refuses the capture.
    pub fn checkout_capture(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        body: CaptureBody,
    ) -> ApiResult<Operation> {
        if self.readings.gift_card_drawn == GiftCardDrawn::Capture
            && let Some(u) = self.checkout.gift_uses.get(id)
        {
            let share = body.amount.min(u.part - u.captured).max(0);
            let holds = self
                .cards
                .get(&u.card_id)
                .map(|c| balances(c).available)
                .unwrap_or(0);
            if share > holds {
                return Err(ApiError::new(
                    codes::PAYMENT_STATE,
                    "the gift card no longer holds its part of the payment",
                ));
            }
        }
        let mut op = self.checkout.capture(now, id, body)?;
        op.transaction = self.play_gift_card(now, id)?;
        Ok(op)
    }

    /// Refund: back to the card first, never more than was captured from it.
    pub fn checkout_refund(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        body: RefundBody,
    ) -> ApiResult<Operation> {
        let mut op = self.checkout.refund(now, id, body)?;
        op.transaction = self.play_gift_card(now, id)?;
        Ok(op)
    }

    /// Void: the card's held part is released.
    pub fn checkout_void(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<PaymentTransaction> {
        self.checkout.void(now, id)?;
        self.play_gift_card(now, id)
    }

    /// Cancelling a session voids its authorized transaction, card part included.
    pub fn checkout_cancel(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        by: &str,
    ) -> ApiResult<Session> {
        let s = self.checkout.cancel(now, id, by)?;
        if let Some(tx) = &s.transaction_id {
            self.play_gift_card(now, tx)?;
        }
        Ok(s)
    }

    /// Sandbox control: a payment held for approval is decided.
    pub fn checkout_decide(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        approve: bool,
    ) -> ApiResult<PaymentTransaction> {
        self.checkout.decide(now, id, approve)?;
        self.play_gift_card(now, id)
    }

    fn session_card(&self, card_id: &str) -> ApiResult<SessionCard> {
        let c = self
            .cards
            .get(card_id)
            .ok_or_else(|| ApiError::new(codes::CARD_NOT_FOUND, "no such gift card"))?;
        Ok(SessionCard {
            card_id: c.card_id.clone(),
            masked: giftpos_core::token::mask(&c.token, c.token_prefix_len),
            pin_given: false,
        })
    }

    /// What the card can pay of `amount` now: its available balance, at most the
    /// amount; nothing when it cannot be used or holds another currency.
    fn card_part(&self, now: DateTime<Utc>, card_id: &str, amount: i64, currency: &str) -> i64 {
        let Some(c) = self.cards.get(card_id) else {
            return 0;
        };
        let usable = check_usable(c, now).is_ok()
            && c.active_from.is_none_or(|f| f <= now)
            && c.currency.as_deref() == Some(currency);
        if usable {
            balances(c).available.clamp(0, amount.max(0))
        } else {
            0
        }
    }

    /// Plays the transaction's new events on its gift card, and notes each event's
    /// card part (`TransactionEvent.gift_cards`, with the card's Wallets transaction).
    fn play_gift_card(&mut self, now: DateTime<Utc>, tx_id: &str) -> ApiResult<PaymentTransaction> {
        // Reading `event_reference = absent`: Dintero's events do not echo the
        // merchant's references.
        if self.readings.event_reference == crate::readings::EventReference::Absent
            && let Some(tx) = self.checkout.transactions.get_mut(tx_id)
        {
            for e in &mut tx.events {
                e.event_reference = None;
            }
        }
        let Some(mut u) = self.checkout.gift_uses.get(tx_id).cloned() else {
            return self.checkout.peek(tx_id);
        };
        let events = self.checkout.peek(tx_id)?.events;
        let drawn = self.readings.gift_card_drawn;
        let mut notes: Vec<(usize, i64, String)> = Vec::new();
        for (i, e) in events.iter().enumerate().skip(u.seen) {
            if !e.succeeded() {
                continue;
            }
            let amount = e.amount.unwrap_or(0);
            let ref_id = format!("{tx_id}.{i}");
            let draw = |pending: bool, amount: i64| TransactionRequest {
                ref_id: ref_id.clone(),
                amount,
                currency: u.currency.clone(),
                kind: TransactionKind::Drawdown,
                token: None,
                card_id: Some(u.card_id.clone()),
                pending: pending.then_some(true),
                pin: None,
                metadata: Metadata::default(),
                originated_by: None,
            };
            match e.event.as_str() {
                ev::AUTHORIZE if drawn == GiftCardDrawn::Authorization && u.pending.is_none() => {
                    let t = self.transaction(now, &draw(true, u.part))?;
                    u.pending = Some(t.id.clone());
                    notes.push((i, u.part, t.id));
                }
                ev::CAPTURE => {
                    let share = amount.min(u.part - u.captured);
                    if share > 0 {
                        let t = match (&u.pending, drawn) {
                            (Some(p), GiftCardDrawn::Authorization) => {
                                let req = CaptureRequest {
                                    ref_id: ref_id.clone(),
                                    amount: Some(share),
                                    metadata: Metadata::default(),
                                };
                                self.capture(now, &p.clone(), &req)?
                            }
                            _ => self.transaction(now, &draw(false, share))?,
                        };
                        u.captured += share;
                        notes.push((i, share, t.id));
                    }
                }
                ev::REFUND => {
                    let share = amount.min(u.captured - u.refunded);
                    if share > 0 {
                        let mut req = draw(false, share);
                        req.kind = TransactionKind::Fund;
                        let t = self.transaction(now, &req)?;
                        u.refunded += share;
                        notes.push((i, share, t.id));
                    }
                }
                ev::VOID => {
                    if let Some(p) = u.pending.take() {
                        let left = u.part - u.captured;
                        if left > 0 {
                            let req = VoidRequest {
                                ref_id: ref_id.clone(),
                                metadata: Metadata::default(),
                            };
                            let t = self.void(now, &p, &req)?;
                            notes.push((i, left, t.id));
                        }
                    }
                }
                _ => {}
            }
        }
        u.seen = events.len();
        let (card_id, masked) = (u.card_id.clone(), u.masked.clone());
        self.checkout.gift_uses.insert(tx_id.to_string(), u);
        let tx =
            self.checkout.transactions.get_mut(tx_id).ok_or_else(|| {
                ApiError::new(codes::NOT_FOUND, format!("no transaction {tx_id}"))
            })?;
        for (i, amount, wallets_tx) in notes {
            if let Some(e) = tx.events.get_mut(i) {
                e.gift_cards.push(Giftcard {
                    kind: WALLETS.into(),
                    card_id: card_id.clone(),
                    amount,
                    masked_card_token: Some(masked.clone()),
                    transaction_id: Some(wallets_tx),
                });
            }
        }
        Ok(tx.clone())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use giftpos_dintero::wire::checkout::{
        CardRef, CustomerGiftcards, OrderItem, SessionCustomer, SessionOrder, status,
    };

    use super::*;
    use crate::readings::Readings;

    /// Each reading of when the card is drawn (the preloaded card paying without its
    /// PIN; that reading has its own test).
    fn drawn_readings() -> Vec<Readings> {
        Readings::all()
            .into_iter()
            .filter(|r| r.preloaded_pin == crate::readings::PreloadedPin::NotRequired)
            .collect()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
    }

    /// A store under `r` with card `gc` holding 50.00 (PIN 6003).
    fn store(r: Readings) -> Store {
        let mut s = Store {
            readings: r,
            ..Store::default()
        };
        s.insert_card(
            t0(),
            "gc",
            "9578000000002003",
            0,
            Some("6003"),
            Some((5000, "NOK")),
            None,
            None,
        );
        s
    }

    fn session(s: &mut Store, profile: &str, total: i64, preload: bool, zero: bool) -> String {
        let req = SessionProfileRequest {
            order: SessionOrder {
                amount: total,
                currency: "NOK".into(),
                merchant_reference: "entry-1".into(),
                items: vec![OrderItem {
                    id: "purchase".into(),
                    line_id: "1".into(),
                    quantity: 1,
                    amount: total,
                    ..OrderItem::default()
                }],
                ..SessionOrder::default()
            },
            profile_id: profile.into(),
            configuration: Some(giftpos_dintero::wire::checkout::payment_configuration(
                true, zero,
            )),
            customer: preload.then(|| SessionCustomer {
                gift_cards: Some(CustomerGiftcards {
                    wallets: vec![CardRef {
                        card_id: "gc".into(),
                    }],
                }),
            }),
            express: Some(giftpos_dintero::wire::checkout::express_at_the_till()),
            ..SessionProfileRequest::default()
        };
        s.checkout_create(t0(), req, "http://sbx").unwrap().id
    }

    fn available(s: &Store) -> i64 {
        s.snapshot("gc").unwrap().balances.available
    }

    fn card_parts(tx: &PaymentTransaction, kind: &str) -> i64 {
        tx.events
            .iter()
            .filter(|e| e.event == kind)
            .flat_map(|e| e.gift_cards.iter())
            .map(|g| g.amount)
            .sum()
    }

    #[test]
    fn a_preloaded_card_pays_its_part_and_the_rest_is_paid_another_way_under_every_reading() {
        for r in drawn_readings() {
            let mut s = store(r);
            let id = session(&mut s, "P.auto", 40_000, true, true);
            let shown = s.checkout.session(&id).unwrap().order.gift_cards;
            assert_eq!(
                shown[0].amount, 5000,
                "{r}: the session shows the card's part"
            );
            let tx = s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
            assert_eq!(tx.status, status::CAPTURED, "{r}");
            assert_eq!(tx.amount, 40_000, "{r}: one payment for the whole purchase");
            assert_eq!(tx.gift_cards[0].amount, 5000, "{r}");
            assert_eq!(tx.gift_card_part(), 5000, "{r}");
            assert_eq!(card_parts(&tx, ev::CAPTURE), 5000, "{r}");
            assert!(
                tx.events
                    .iter()
                    .flat_map(|e| e.gift_cards.iter())
                    .all(|g| g.transaction_id.is_some()),
                "{r}: each card part names its Wallets transaction"
            );
            assert_eq!(tx.payment_product_type.as_deref(), Some("payex.creditcard"));
            assert_eq!(available(&s), 0, "{r}: the card is drawn down to 0.00");
            assert_eq!(s.snapshot("gc").unwrap().balances.pending, 0, "{r}");
        }
    }

    #[test]
    fn a_card_that_covers_everything_pays_as_dintero_zero_only_where_zero_is_enabled() {
        for r in drawn_readings() {
            let mut s = store(r);
            let refused = session(&mut s, "P.auto", 3000, true, false);
            let err = s
                .checkout_payer(t0(), &refused, PayerAction::Pay)
                .unwrap_err();
            assert_eq!(err.code, codes::PAYMENT_STATE, "{r}");
            assert_eq!(available(&s), 5000, "{r}: nothing drawn");
            let id = session(&mut s, "P.auto", 3000, true, true);
            let tx = s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
            assert_eq!(tx.payment_product_type.as_deref(), Some("dintero.zero"));
            assert_eq!(tx.gift_card_part(), 3000, "{r}");
            assert_eq!(available(&s), 2000, "{r}");
        }
    }

    #[test]
    fn partial_captures_and_refunds_give_the_card_precedence_and_never_refund_it_more_than_it_paid()
    {
        for r in drawn_readings() {
            let mut s = store(r);
            let id = session(&mut s, "P.manual-capture", 40_000, true, true);
            let tx = s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
            assert_eq!(tx.status, status::AUTHORIZED);
            let held = match r.gift_card_drawn {
                GiftCardDrawn::Authorization => 0,
                GiftCardDrawn::Capture => 5000,
            };
            assert_eq!(
                available(&s),
                held,
                "{r}: what the card holds while authorized"
            );
            let cap = |s: &mut Store, a: i64, r: &str| {
                let body = CaptureBody {
                    amount: a,
                    capture_reference: Some(r.into()),
                };
                s.checkout_capture(t0(), &tx.id, body).unwrap().transaction
            };
            let t = cap(&mut s, 3000, "c1");
            assert_eq!(card_parts(&t, ev::CAPTURE), 3000, "{r}: the card first");
            let b = s.snapshot("gc").unwrap().balances;
            assert_eq!(b.funds - b.drawdown, 2000, "{r}");
            let t = cap(&mut s, 37_000, "c2");
            assert_eq!(
                card_parts(&t, ev::CAPTURE),
                5000,
                "{r}: 2000 more, then the rest"
            );
            assert_eq!(t.status, status::CAPTURED);
            assert_eq!(available(&s), 0, "{r}");
            let body = RefundBody {
                amount: 6000,
                reason: None,
                refund_reference: Some("r1".into()),
            };
            let t = s.checkout_refund(t0(), &tx.id, body).unwrap().transaction;
            assert_eq!(
                card_parts(&t, ev::REFUND),
                5000,
                "{r}: at most what the card paid"
            );
            assert_eq!(available(&s), 5000, "{r}");
            assert_eq!(t.gift_card_part(), 0, "{r}");
            let body = RefundBody {
                amount: 1000,
                reason: None,
                refund_reference: Some("r2".into()),
            };
            let t = s.checkout_refund(t0(), &tx.id, body).unwrap().transaction;
            assert_eq!(
                card_parts(&t, ev::REFUND),
                5000,
                "{r}: the card gets no more"
            );
            assert_eq!(available(&s), 5000, "{r}");
        }
    }

    #[test]
    fn where_a_preloaded_card_needs_its_pin_it_pays_nothing_without_it() {
        let r = Readings {
            preloaded_pin: crate::readings::PreloadedPin::Required,
            ..Readings::default()
        };
        let mut s = store(r);
        let id = session(&mut s, "P.auto", 40_000, true, true);
        let tx = s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
        assert!(tx.gift_cards.is_empty(), "{tx:?}");
        assert_eq!(tx.gift_card_part(), 0);
        assert_eq!(available(&s), 5000, "the card is untouched");
        let id = session(&mut s, "P.auto", 40_000, true, true);
        s.checkout_add_card(t0(), &id, "9578000000002003", "6003")
            .unwrap();
        let tx = s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
        assert_eq!(tx.gift_card_part(), 5000);
        assert_eq!(available(&s), 0);
    }

    #[test]
    fn cancelling_an_authorized_split_releases_the_card() {
        for r in drawn_readings() {
            let mut s = store(r);
            let id = session(&mut s, "P.manual-capture", 40_000, true, true);
            s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
            s.checkout_cancel(t0(), &id, "merchant").unwrap();
            assert_eq!(available(&s), 5000, "{r}");
            assert_eq!(s.snapshot("gc").unwrap().balances.pending, 0, "{r}");
        }
    }

    #[test]
    fn the_payer_adds_a_card_with_its_pin_only_where_gift_cards_may_pay() {
        let mut s = store(Readings::default());
        let id = session(&mut s, "P.auto", 40_000, false, false);
        let err = s
            .checkout_add_card(t0(), &id, "9578000000002003", "0000")
            .unwrap_err();
        assert_eq!(err.code, codes::PIN_INVALID, "a wrong PIN is refused");
        let err = s
            .checkout_add_card(t0(), &id, "9578000000002003", "")
            .unwrap_err();
        assert_eq!(err.code, codes::PIN_REQUIRED);
        s.checkout_add_card(t0(), &id, "9578000000002003", "6003")
            .unwrap();
        let tx = s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
        assert_eq!(tx.gift_card_part(), 5000);
        assert_eq!(available(&s), 0);

        // A session that does not let gift cards pay (a gift card's own payment).
        let mut s = store(Readings::default());
        let req = SessionProfileRequest {
            order: SessionOrder {
                amount: 10_000,
                currency: "NOK".into(),
                merchant_reference: "entry-2".into(),
                items: vec![OrderItem {
                    amount: 10_000,
                    ..OrderItem::default()
                }],
                ..SessionOrder::default()
            },
            profile_id: "P.auto".into(),
            configuration: Some(giftpos_dintero::wire::checkout::payment_configuration(
                false, false,
            )),
            ..SessionProfileRequest::default()
        };
        let id = s.checkout_create(t0(), req, "http://sbx").unwrap().id;
        let err = s
            .checkout_add_card(t0(), &id, "9578000000002003", "6003")
            .unwrap_err();
        assert_eq!(err.code, codes::VALIDATION);
        let tx = s.checkout_payer(t0(), &id, PayerAction::Pay).unwrap();
        assert!(tx.gift_cards.is_empty());
        assert_eq!(available(&s), 5000);
    }
}
