//! Selling a card paid through Dintero Checkout, following the payment, and returns.

use std::time::Duration;

use giftpos_core::{CardStatus, CardToken, Money, OperationKind};
use giftpos_journal::{EntryState, NewEntry};
use uuid::Uuid;

use super::Terminal;
use super::views::{OperationResult, PaymentSession};
use crate::error::{AppError, ErrorCode};
use crate::sync::Outcome;

/// One order line of a Checkout session the terminal makes.
pub(super) struct Order<'a> {
    pub id: &'a str,
    pub description: String,
    pub amount: Money,
    /// A gift card that may pay: the customer's, preloaded (pay the rest), or any the
    /// payer adds (`None` with `wallets`).
    pub preload: Option<String>,
    pub wallets: bool,
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
        self.start_checkout(token, amount, OperationKind::Activate)
            .await
    }

    /// Starts a top-up paid through Dintero Checkout, as [`Terminal::start_payment`] does
    /// a sale: the card must be sold already; once paid, sync loads it exactly once.
    pub async fn start_top_up_payment(
        &self,
        token: &CardToken,
        amount: Money,
    ) -> Result<PaymentSession, AppError> {
        self.start_checkout(token, amount, OperationKind::TopUp)
            .await
    }

    async fn start_checkout(
        &self,
        token: &CardToken,
        amount: Money,
        loads: OperationKind,
    ) -> Result<PaymentSession, AppError> {
        crate::tender::allowed(
            &self.cfg.tenders,
            &crate::tender::Payment::Dintero(String::new()),
            amount,
            Money::zero(amount.currency()),
        )?;
        let profile = self.checkout_profile()?;
        let Some(card) = self.lookup(token, None).await? else {
            return Err(AppError::new(
                ErrorCode::OfflineNotAllowed,
                "Dintero cannot be reached: a payment through Dintero needs the network",
            ));
        };
        let waiting = card.status.awaits_activation();
        if loads == OperationKind::Activate && !waiting {
            return Err(AppError::new(
                ErrorCode::CardAlreadyActive,
                format!(
                    "card {} is {}, not waiting to be sold",
                    token.masked(),
                    card.status
                ),
            ));
        }
        if loads == OperationKind::TopUp && waiting {
            return Err(AppError::new(
                ErrorCode::CardInactive,
                format!(
                    "card {} has not been sold yet; sell it instead",
                    token.masked()
                ),
            ));
        }
        let what = if loads == OperationKind::TopUp {
            "Gift card top-up"
        } else {
            "Gift card"
        };
        let order = Order {
            id: "gift-card",
            description: format!("{what} {}", token.masked()),
            amount,
            preload: None,
            // A gift card buys a gift card only where IT allows it.
            wallets: self.cfg.tenders.gift_card_buys_gift_card,
        };
        let loads = (loads == OperationKind::TopUp).then_some(OperationKind::TopUp.as_str());
        self.open_payment(token, &card.card_id, profile, order, loads)
            .await
    }

    /// Makes the Checkout session for `order` and journals its payment entry (whose id
    /// is the order's `merchant_reference`; `loads`: what it pays for, `None` a card's
    /// sale).
    pub(super) async fn open_payment(
        &self,
        token: &CardToken,
        card_id: &str,
        profile: String,
        order: Order<'_>,
        loads: Option<&str>,
    ) -> Result<PaymentSession, AppError> {
        let id = Uuid::new_v4().to_string();
        let amount = order.amount;
        let created = self.create_session(&id, &profile, order).await?;
        let mut e = self.new_entry(
            OperationKind::Payment,
            token,
            Some(card_id.to_string()),
            amount,
            false,
        );
        e.id = id;
        e.metadata.session_id = Some(created.id.clone());
        e.metadata.session_url = Some(created.url.clone());
        e.metadata.profile_id = Some(profile);
        e.metadata.loads = loads.map(str::to_string);
        let entry = self.record(e)?;
        tracing::info!(entry = %entry.id, session = %created.id, loads, "payment session started");
        Ok(PaymentSession {
            training: self.is_training(),
            operation_id: entry.id,
            session_id: created.id,
            url: created.url,
            card: token.masked(),
            amount,
            gift_card_part: None,
            rest: None,
        })
    }

    /// The Checkout session profile payments are made from.
    pub(super) fn checkout_profile(&self) -> Result<String, AppError> {
        match (&self.cfg.payment_profile, self.is_training()) {
            (Some(p), _) => Ok(p.clone()),
            (None, true) => Ok(TRAINING_PROFILE.into()),
            (None, false) => Err(AppError::new(
                ErrorCode::Config,
                "pay with Dintero needs a Checkout session profile: set [dintero] payment_profile_id",
            )),
        }
    }

    /// Makes a Checkout session for one order line (VAT 0) whose `merchant_reference`
    /// is journal entry `id`. Where a gift card may pay, the session is an Express one
    /// with `dintero.wallets` enabled (seed `000`), and `dintero.zero` payable when the
    /// customer's card is preloaded and may cover everything.
    async fn create_session(
        &self,
        id: &str,
        profile: &str,
        order: Order<'_>,
    ) -> Result<giftpos_dintero::wire::checkout::SessionCreated, AppError> {
        use giftpos_dintero::wire::checkout as co;
        let amount = order.amount;
        let req = co::SessionProfileRequest {
            url: co::SessionUrls {
                return_url: "https://giftpos.invalid/payment-done".into(),
                callback_url: None,
            },
            order: co::SessionOrder {
                amount: amount.minor(),
                currency: amount.currency().code().into(),
                merchant_reference: id.to_string(),
                vat_amount: 0,
                items: vec![co::OrderItem {
                    id: order.id.into(),
                    line_id: "1".into(),
                    description: order.description,
                    quantity: 1,
                    amount: amount.minor(),
                    vat_amount: 0,
                    vat: 0,
                }],
                gift_cards: Vec::new(),
            },
            profile_id: profile.to_string(),
            expires_at: Some(self.clock.now() + PAYMENT_TTL),
            metadata: Default::default(),
            configuration: Some(co::payment_configuration(
                order.wallets,
                order.preload.is_some(),
            )),
            customer: order.preload.map(|card_id| co::SessionCustomer {
                gift_cards: Some(co::CustomerGiftcards {
                    wallets: vec![co::CardRef { card_id }],
                }),
            }),
            express: order.wallets.then(co::express_at_the_till),
        };
        Ok(self.client.create_session(&req).await?)
    }

    /// Follows a payment until the customer paid (then activates the card with the
    /// payment's transaction id, exactly once) or cancelled, or `wait` ran out (then the
    /// session is cancelled at Dintero). Nothing is activated unless paid.
    pub async fn finish_payment(
        &self,
        operation_id: &str,
        wait: Duration,
    ) -> Result<OperationResult, AppError> {
        // The customer paying on their phone is the clerk's work in flight: no idle
        // sign-out under it (bounded by `wait`).
        let _working = self.working();
        let payment = self.entry(operation_id)?;
        if payment.kind != OperationKind::Payment {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("entry {operation_id} is not a payment"),
            ));
        }
        let session_id = payment.metadata.session_id.clone().unwrap_or_default();
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
                if !giftpos_dintero::wire::checkout::status::is_undecided(&tx.status)
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
        if payment.metadata.loads.as_deref() == Some(crate::sync::PURCHASE) {
            // Nothing loaded: the payment itself, with the card's part and balance.
            let paid = self.entry(&payment.id)?;
            return Ok(OperationResult {
                gift_card_part: paid.gift_card_part,
                available_after: paid.balance_after,
                ..self.result(
                    &paid,
                    &Outcome::Confirmed {
                        transaction_id: paid.server_transaction_id.clone(),
                        available_after: None,
                    },
                )?
            });
        }
        let activation = self
            .journal()
            .children(&payment.id)?
            .into_iter()
            .find(|x| matches!(x.kind, OperationKind::Activate | OperationKind::TopUp))
            .ok_or_else(|| AppError::internal("what the payment paid for was not recorded"))?;
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
        approval: &crate::approval::Approval,
    ) -> Result<OperationResult, AppError> {
        let key = self.journal().card_key(token.expose());
        let sale = self
            .journal()
            .by_card(&key)?
            .into_iter()
            .rev()
            .find(|e| {
                e.card_key == key
                    && e.kind == OperationKind::Activate
                    && e.state == EntryState::Confirmed
                    && e.metadata.dintero_transaction_id.is_some()
            })
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidInput,
                    format!("card {} was not sold at this terminal", token.masked()),
                )
            })?;
        self.return_sale(&sale.id, approval).await
    }

    /// Cancels a payment the customer has not made (the clerk gave up).
    pub async fn cancel_payment(&self, operation_id: &str) -> Result<(), AppError> {
        let payment = self.entry(operation_id)?;
        let session_id = payment
            .metadata
            .session_id
            .as_deref()
            .ok_or_else(|| AppError::new(ErrorCode::InvalidInput, "not a payment entry"))?;
        self.client.cancel_session(session_id).await?;
        Ok(())
    }

    /// Like [`Terminal::return_card`], for the sale's journal entry (History).
    pub async fn return_sale(
        &self,
        sale_id: &str,
        approval: &crate::approval::Approval,
    ) -> Result<OperationResult, AppError> {
        let approved_by = approval.check(crate::approval::ManagerAction::Return)?;
        let sale = self.entry(sale_id)?;
        if sale.kind != OperationKind::Activate
            || sale.state != EntryState::Confirmed
            || sale.metadata.dintero_transaction_id.is_none()
        {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("entry {sale_id} is not a confirmed sale of a card"),
            ));
        }
        let already = self
            .journal()
            .list(Some(sale.created_at), None)?
            .into_iter()
            .any(|x| {
                x.kind == OperationKind::PaymentRefund
                    && x.state != EntryState::Refused
                    && x.metadata.undoes.as_deref() == Some(sale_id)
            });
        if already {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("card {} was already returned", sale.card),
            ));
        }
        let tx_id = sale
            .metadata
            .dintero_transaction_id
            .clone()
            .unwrap_or_default();
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
        self.undo_approved(&sale.id, approved_by).await?;
        let metadata = giftpos_journal::EntryMeta {
            dintero_transaction_id: Some(tx_id.to_string()),
            approved_by: Some(approved_by.to_string()),
            undoes: Some(sale.id.clone()),
            ..Default::default()
        };
        let entry = self.record_to_send(NewEntry {
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
