//! Sandbox control over Checkout (not Dintero's API): payments taken elsewhere, payments
//! held for approval decided, the demo payments kept "from today".

use chrono::{DateTime, Utc};
use giftpos_dintero::wire::checkout::{PaymentTransaction, event as ev, status};

use super::{Checkout, ExternalPayment, authorize, conflict, event, invalid};
use crate::error::ApiResult;

impl Checkout {
    /// Moves payment `id` (and its events) to `now`, keeping their order: the demo
    /// payments stay "from today" (ours; Dintero's payments do not move).
    pub fn renew(&mut self, id: &str, now: DateTime<Utc>) {
        if let Some(tx) = self.transactions.get_mut(id)
            && let Some(at) = tx.created_at
        {
            let shift = now - at;
            tx.created_at = Some(now);
            for e in &mut tx.events {
                e.created_at = e.created_at.map(|t| t + shift);
            }
        }
    }

    /// Sandbox control: a payment taken elsewhere (another till, a card terminal) that
    /// the sandbox is told about, in any documented status, so `GET /transactions/{id}`
    /// can answer it. An id in use is refused.
    pub fn register(
        &mut self,
        now: DateTime<Utc>,
        p: ExternalPayment,
    ) -> ApiResult<PaymentTransaction> {
        if p.id.trim().is_empty() || self.transactions.contains_key(&p.id) {
            return Err(invalid(format!("payment id '{}' is empty or in use", p.id)));
        }
        if p.amount <= 0 || p.currency.len() != 3 {
            return Err(invalid("a payment needs a positive amount and a currency"));
        }
        if !status::ALL.contains(&p.status.as_str()) {
            return Err(invalid(format!("unknown status {}", p.status)));
        }
        let seq = self.next_seq();
        let mut tx = PaymentTransaction {
            id: p.id.clone(),
            status: status::INITIATED.into(),
            amount: p.amount,
            currency: p.currency.clone(),
            merchant_reference: Some(format!("elsewhere-{}", p.id)),
            session_id: None,
            payment_product: Some("payex".into()),
            payment_product_type: Some("payex.creditcard".into()),
            created_at: Some(now),
            events: Vec::new(),
            gift_cards: Vec::new(),
        };
        let captured = p.captured.unwrap_or(p.amount / 2);
        let refunded = p.refunded.unwrap_or(0);
        let push = |tx: &mut PaymentTransaction, i: u64, kind: &str, amount: i64, after: &str| {
            tx.events
                .push(event(seq * 10 + i, now, kind, amount, None, after));
        };
        match p.status.as_str() {
            status::AUTHORIZED | status::AUTHORIZATION_VOIDED => {
                push(&mut tx, 0, ev::AUTHORIZE, p.amount, status::AUTHORIZED);
                if p.status == status::AUTHORIZATION_VOIDED {
                    push(&mut tx, 1, ev::VOID, p.amount, status::AUTHORIZATION_VOIDED);
                }
            }
            status::CAPTURED
            | status::PARTIALLY_CAPTURED
            | status::REFUNDED
            | status::PARTIALLY_REFUNDED
            | status::PARTIALLY_CAPTURED_REFUNDED => {
                push(&mut tx, 0, ev::AUTHORIZE, p.amount, status::AUTHORIZED);
                let full = matches!(
                    p.status.as_str(),
                    status::CAPTURED | status::REFUNDED | status::PARTIALLY_REFUNDED
                );
                push(
                    &mut tx,
                    1,
                    ev::CAPTURE,
                    if full { p.amount } else { captured },
                    "",
                );
                let refund = match p.status.as_str() {
                    status::REFUNDED => p.amount,
                    status::PARTIALLY_REFUNDED | status::PARTIALLY_CAPTURED_REFUNDED => {
                        refunded.max(1)
                    }
                    _ => 0,
                };
                if refund > 0 {
                    push(&mut tx, 2, ev::REFUND, refund, "");
                }
            }
            _ => {}
        }
        tx.status = p.status.clone();
        for e in tx.events.iter_mut() {
            if e.transaction_status.as_deref() == Some("") {
                e.transaction_status = Some(p.status.clone());
            }
        }
        self.transactions.insert(p.id, tx.clone());
        Ok(tx)
    }

    /// Sandbox control: an `ON_HOLD` payment is approved (authorized, and captured with
    /// auto-capture) or declined.
    pub fn decide(
        &mut self,
        now: DateTime<Utc>,
        tx_id: &str,
        approve: bool,
    ) -> ApiResult<PaymentTransaction> {
        let seq = self.next_seq();
        let auto = self
            .transactions
            .get(tx_id)
            .and_then(|t| t.session_id.as_ref())
            .and_then(|s| self.sessions.get(s))
            .is_none_or(|r| !r.profile_id.contains("manual-capture"));
        let tx = self.tx_mut(tx_id)?;
        if tx.status != status::ON_HOLD {
            return Err(conflict(format!("a {} payment is not on hold", tx.status)));
        }
        if approve {
            authorize(tx, seq, now, auto);
        } else {
            tx.status = status::DECLINED.into();
        }
        Ok(tx.clone())
    }
}
