//! The Payments (Checkout) API's endpoints: sessions from a profile, their
//! transactions, capture and refund (200, or 202 Accepted with its `event-request-id`),
//! each one call through the shared request path in `mod.rs`, with the Checkout client's
//! own token when one is configured. The shapes are in `crate::wire::checkout`.

use reqwest::Method;
use serde::Serialize;

use super::{Answer, DinteroClient, segment};
use crate::error::{Call, DinteroError};
use crate::wire::checkout::{
    CaptureBody, PaymentAnswer, PaymentTransaction, RefundBody, Session, SessionCreated,
    SessionProfileRequest,
};

impl DinteroClient {
    /// Checkout `POST /v1/sessions-profile`: a payment session from a session profile.
    pub async fn create_session(
        &self,
        req: &SessionProfileRequest,
    ) -> Result<SessionCreated, DinteroError> {
        self.checkout(
            "sessions.create",
            Method::POST,
            "/sessions-profile",
            Some(req),
        )
        .await
    }

    /// Checkout `GET /v1/sessions/{id}`.
    pub async fn session(&self, session_id: &str) -> Result<Session, DinteroError> {
        let path = format!("/sessions/{}", segment(session_id));
        self.checkout::<_, ()>("sessions.get", Method::GET, &path, None)
            .await
    }

    /// Checkout `POST /v1/sessions/{id}/cancel`: the merchant gives up an unpaid session.
    pub async fn cancel_session(&self, session_id: &str) -> Result<Session, DinteroError> {
        let path = format!("/sessions/{}/cancel", segment(session_id));
        self.checkout::<_, ()>("sessions.cancel", Method::POST, &path, None)
            .await
    }

    /// Payments `GET /v1/transactions/{id}`.
    pub async fn payment(&self, transaction_id: &str) -> Result<PaymentTransaction, DinteroError> {
        let path = format!("/transactions/{}", segment(transaction_id));
        self.checkout::<_, ()>("payments.get", Method::GET, &path, None)
            .await
    }

    /// Payments `POST /v1/transactions/{id}/capture`. A `202 Accepted` is not done yet:
    /// see [`PaymentAnswer::accepted`].
    pub async fn capture_payment(
        &self,
        transaction_id: &str,
        body: &CaptureBody,
    ) -> Result<PaymentAnswer, DinteroError> {
        let path = format!("/transactions/{}/capture", segment(transaction_id));
        self.payment_operation("payments.capture", &path, body)
            .await
    }

    /// Payments `POST /v1/transactions/{id}/refund`. A `202 Accepted` is not done yet.
    pub async fn refund_payment(
        &self,
        transaction_id: &str,
        body: &RefundBody,
    ) -> Result<PaymentAnswer, DinteroError> {
        let path = format!("/transactions/{}/refund", segment(transaction_id));
        self.payment_operation("payments.refund", &path, body).await
    }

    async fn payment_operation<B: Serialize>(
        &self,
        op: &'static str,
        path: &str,
        body: &B,
    ) -> Result<PaymentAnswer, DinteroError> {
        let url = format!(
            "{}/v1{path}",
            self.inner.cfg.checkout_base.trim_end_matches('/')
        );
        let bytes = serde_json::to_vec(body)
            .map_err(|e| DinteroError::Validation(format!("request not encodable: {e}")))?;
        let a: Answer<PaymentTransaction> = self
            .exchange(op, Call::Payments, Method::POST, url, Some(bytes))
            .await?;
        Ok(PaymentAnswer {
            transaction: a.body,
            accepted: (a.status == 202).then(|| a.event_request_id.unwrap_or_default()),
        })
    }
}
