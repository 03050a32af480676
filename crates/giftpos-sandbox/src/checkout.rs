//! The sandbox's Dintero Checkout: sessions made from a session profile, a payer who
//! pays or cancels (through `/_sandbox/checkout/...` or the small page at the session's
//! URL), and the payment transactions with capture, refund and void. Pure state and
//! rules; the server routes to it.
//!
//! Profiles: any id is accepted; one whose id contains `manual-capture` only authorizes
//! (the terminal captures), every other profile captures at once (auto-capture).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use giftpos_dintero::checkout::{
    CaptureBody, PaymentTransaction, RefundBody, Session, SessionCreated, SessionProfileRequest,
    TransactionEvent, status,
};
use giftpos_dintero::wire::codes;
use serde::{Deserialize, Serialize};

use crate::store::{ApiError, ApiResult};

/// How long a session may be paid when the request names no expiry.
const SESSION_TTL: Duration = Duration::minutes(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRec {
    session: Session,
    profile_id: String,
}

/// Every session and payment transaction.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checkout {
    sessions: BTreeMap<String, SessionRec>,
    transactions: BTreeMap<String, PaymentTransaction>,
    seq: u64,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::VALIDATION, message)
}

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::PAYMENT_STATE, message)
}

fn event(
    now: DateTime<Utc>,
    kind: &str,
    amount: i64,
    reference: Option<String>,
) -> TransactionEvent {
    TransactionEvent {
        event: kind.into(),
        amount: Some(amount),
        success: true,
        created_at: now,
        reference,
    }
}

impl Checkout {
    fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{:010}", self.seq)
    }

    /// `POST /v1/sessions-profile`. The order must add up (strict-session-amounts).
    pub fn create(
        &mut self,
        now: DateTime<Utc>,
        req: SessionProfileRequest,
        base_url: &str,
    ) -> ApiResult<SessionCreated> {
        let o = &req.order;
        if req.profile_id.trim().is_empty() {
            return Err(invalid("profile_id is required"));
        }
        if o.amount <= 0 {
            return Err(invalid("order.amount must be positive"));
        }
        if o.currency.len() != 3 || !o.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid("order.currency must be an ISO 4217 code"));
        }
        if o.merchant_reference.trim().is_empty() {
            return Err(invalid("order.merchant_reference is required"));
        }
        let items: i64 = o.items.iter().map(|i| i.amount).sum();
        if o.items.is_empty() || items != o.amount {
            return Err(invalid(format!(
                "order.amount {} must equal the sum of order.items ({items})",
                o.amount
            )));
        }
        let id = self.next_id("T00000000.sbx");
        let session = Session {
            id: id.clone(),
            created_at: now,
            expires_at: Some(req.expires_at.unwrap_or(now + SESSION_TTL)),
            order: req.order,
            transaction_id: None,
            cancelled_at: None,
            cancelled_by: None,
        };
        self.sessions.insert(
            id.clone(),
            SessionRec {
                session,
                profile_id: req.profile_id,
            },
        );
        Ok(SessionCreated {
            url: format!("{}/checkout/{id}", base_url.trim_end_matches('/')),
            id,
        })
    }

    pub fn session(&self, id: &str) -> ApiResult<Session> {
        self.sessions
            .get(id)
            .map(|r| r.session.clone())
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no session {id}")))
    }

    fn open_session(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<&mut SessionRec> {
        let rec = self
            .sessions
            .get_mut(id)
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no session {id}")))?;
        let s = &rec.session;
        if s.transaction_id.is_some() {
            return Err(conflict("the session is already paid"));
        }
        if s.cancelled_at.is_some() {
            return Err(conflict("the session was cancelled"));
        }
        if s.expires_at.is_some_and(|x| x <= now) {
            return Err(conflict("the session has expired"));
        }
        Ok(rec)
    }

    /// The payer (or the merchant) cancels an unpaid session.
    pub fn cancel(&mut self, now: DateTime<Utc>, id: &str, by: &str) -> ApiResult<Session> {
        let rec = self.open_session(now, id)?;
        rec.session.cancelled_at = Some(now);
        rec.session.cancelled_by = Some(by.into());
        Ok(rec.session.clone())
    }

    /// The payer pays: a transaction is authorized, and captured at once unless the
    /// profile is a manual-capture one.
    pub fn pay(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<PaymentTransaction> {
        let tx_id = self.next_id("T00000000.tx");
        let rec = self.open_session(now, id)?;
        let auto = !rec.profile_id.contains("manual-capture");
        let o = &rec.session.order;
        let mut events = vec![event(now, "AUTHORIZE", o.amount, None)];
        if auto {
            events.push(event(now, "CAPTURE", o.amount, None));
        }
        let tx = PaymentTransaction {
            id: tx_id.clone(),
            status: if auto {
                status::CAPTURED
            } else {
                status::AUTHORIZED
            }
            .into(),
            amount: o.amount,
            currency: o.currency.clone(),
            merchant_reference: o.merchant_reference.clone(),
            session_id: Some(id.into()),
            payment_product: Some("sandbox.card".into()),
            events,
        };
        rec.session.transaction_id = Some(tx_id.clone());
        self.transactions.insert(tx_id, tx.clone());
        Ok(tx)
    }

    pub fn transaction(&self, id: &str) -> ApiResult<PaymentTransaction> {
        self.transactions
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no transaction {id}")))
    }

    /// Transactions whose order carries this merchant reference.
    pub fn by_reference(&self, merchant_reference: &str) -> Vec<PaymentTransaction> {
        self.transactions
            .values()
            .filter(|t| t.merchant_reference == merchant_reference)
            .cloned()
            .collect()
    }

    fn tx_mut(&mut self, id: &str) -> ApiResult<&mut PaymentTransaction> {
        self.transactions
            .get_mut(id)
            .ok_or_else(|| ApiError::new(codes::NOT_FOUND, format!("no transaction {id}")))
    }

    /// Captures an authorized transaction. A capture reference seen before answers with
    /// the transaction as it is (a retry).
    pub fn capture(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        body: CaptureBody,
    ) -> ApiResult<PaymentTransaction> {
        let tx = self.tx_mut(id)?;
        if let Some(r) = &body.capture_reference
            && tx.has("CAPTURE", r)
        {
            return Ok(tx.clone());
        }
        if tx.status != status::AUTHORIZED && tx.status != status::PARTIALLY_CAPTURED {
            return Err(conflict(format!(
                "a {} transaction cannot be captured",
                tx.status
            )));
        }
        let left = tx.amount - tx.captured();
        if body.amount <= 0 || body.amount > left {
            return Err(invalid(format!("capture between 1 and {left}")));
        }
        tx.events
            .push(event(now, "CAPTURE", body.amount, body.capture_reference));
        tx.status = if tx.captured() == tx.amount {
            status::CAPTURED
        } else {
            status::PARTIALLY_CAPTURED
        }
        .into();
        Ok(tx.clone())
    }

    /// Refunds captured money, at most what was captured and not yet refunded. A refund
    /// reference seen before answers with the transaction as it is (a retry).
    pub fn refund(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        body: RefundBody,
    ) -> ApiResult<PaymentTransaction> {
        let tx = self.tx_mut(id)?;
        if let Some(r) = &body.refund_reference
            && tx.has("REFUND", r)
        {
            return Ok(tx.clone());
        }
        let left = tx.captured() - tx.refunded();
        if left <= 0 {
            return Err(conflict(format!(
                "a {} transaction has nothing to refund",
                tx.status
            )));
        }
        if body.amount <= 0 || body.amount > left {
            return Err(invalid(format!("refund between 1 and {left}")));
        }
        tx.events
            .push(event(now, "REFUND", body.amount, body.refund_reference));
        tx.status = if tx.refunded() == tx.captured() {
            status::REFUNDED
        } else {
            status::PARTIALLY_REFUNDED
        }
        .into();
        Ok(tx.clone())
    }

    /// Voids an authorization nothing was captured from.
    pub fn void(&mut self, now: DateTime<Utc>, id: &str) -> ApiResult<PaymentTransaction> {
        let tx = self.tx_mut(id)?;
        if tx.status == status::AUTHORIZATION_VOIDED {
            return Ok(tx.clone());
        }
        if tx.status != status::AUTHORIZED {
            return Err(conflict(format!(
                "a {} transaction cannot be voided",
                tx.status
            )));
        }
        tx.events.push(event(now, "VOID", tx.amount, None));
        tx.status = status::AUTHORIZATION_VOIDED.into();
        Ok(tx.clone())
    }
}

#[cfg(test)]
mod tests {
    use giftpos_dintero::checkout::{OrderItem, SessionOrder, SessionUrls};

    use super::*;

    fn req(profile: &str, amount: i64, items: i64) -> SessionProfileRequest {
        SessionProfileRequest {
            url: SessionUrls {
                return_url: "https://till.invalid/return".into(),
                callback_url: None,
            },
            order: SessionOrder {
                amount,
                currency: "NOK".into(),
                merchant_reference: "entry-1".into(),
                vat_amount: 0,
                items: vec![OrderItem {
                    id: "gift-card".into(),
                    line_id: "1".into(),
                    description: "Gift card".into(),
                    quantity: 1,
                    amount: items,
                    vat_amount: 0,
                    vat: 0,
                }],
            },
            profile_id: profile.into(),
            expires_at: None,
            metadata: Default::default(),
        }
    }

    #[test]
    fn a_paid_auto_capture_session_has_a_captured_transaction_found_by_reference() {
        let mut c = Checkout::default();
        let now = Utc::now();
        let s = c
            .create(now, req("P-auto", 50_000, 50_000), "http://sb")
            .unwrap();
        assert!(s.url.ends_with(&format!("/checkout/{}", s.id)));
        let tx = c.pay(now, &s.id).unwrap();
        assert_eq!(
            (tx.status.as_str(), tx.captured()),
            (status::CAPTURED, 50_000)
        );
        assert_eq!(
            c.session(&s.id).unwrap().transaction_id,
            Some(tx.id.clone())
        );
        assert_eq!(c.by_reference("entry-1"), vec![tx]);
        assert_eq!(c.pay(now, &s.id).unwrap_err().code, codes::PAYMENT_STATE);
    }

    #[test]
    fn amounts_must_add_up_and_closed_sessions_cannot_be_paid() {
        let mut c = Checkout::default();
        let now = Utc::now();
        assert_eq!(
            c.create(now, req("P", 50_000, 40_000), "http://sb")
                .unwrap_err()
                .code,
            codes::VALIDATION
        );
        let s = c.create(now, req("P", 100, 100), "http://sb").unwrap();
        c.cancel(now, &s.id, "payer").unwrap();
        assert!(c.pay(now, &s.id).is_err());
        let s = c.create(now, req("P", 100, 100), "http://sb").unwrap();
        assert!(c.pay(now + Duration::hours(1), &s.id).is_err(), "expired");
    }

    #[test]
    fn manual_capture_refund_and_void_follow_the_transaction_state() {
        let mut c = Checkout::default();
        let now = Utc::now();
        let s = c
            .create(now, req("P-manual-capture", 300, 300), "http://sb")
            .unwrap();
        let tx = c.pay(now, &s.id).unwrap();
        assert_eq!(tx.status, status::AUTHORIZED);
        assert!(
            c.refund(
                now,
                &tx.id,
                RefundBody {
                    amount: 1,
                    reason: None,
                    refund_reference: None
                }
            )
            .is_err()
        );
        let body = CaptureBody {
            amount: 300,
            capture_reference: Some("c1".into()),
        };
        assert_eq!(
            c.capture(now, &tx.id, body.clone()).unwrap().status,
            status::CAPTURED
        );
        // A retried capture with the same reference changes nothing.
        assert_eq!(c.capture(now, &tx.id, body).unwrap().captured(), 300);
        let r = RefundBody {
            amount: 300,
            reason: None,
            refund_reference: Some("r1".into()),
        };
        assert_eq!(
            c.refund(now, &tx.id, r.clone()).unwrap().status,
            status::REFUNDED
        );
        assert_eq!(c.refund(now, &tx.id, r).unwrap().refunded(), 300);
        assert!(c.void(now, &tx.id).is_err());
    }
}
