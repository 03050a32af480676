//! Selling a card (activation with the payment's id), topping it up, and balances.

use super::*;

impl Terminal {
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
        match self.journal().cached_card(&key)? {
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

    /// Sells a printed card: activates it with the amount and the payment's transaction
    /// id. Offline it is saved and activates when the network returns.
    pub async fn activate(&self, a: Activation) -> Result<OperationResult, AppError> {
        self.sell(a, None).await
    }

    /// Sells a card against a payment that cannot be verified (e.g. taken by another
    /// provider): a manager (number and PIN, as for void and refund) lets it through with
    /// a reason. Who and why are kept on the entry (never sent to Dintero) and shown on
    /// the receipt and the Z-report.
    pub async fn activate_with_override(
        &self,
        a: Activation,
        approval: &crate::approval::Approval,
        reason: &str,
    ) -> Result<OperationResult, AppError> {
        let manager = approval.check(crate::approval::ManagerAction::PaymentOverride)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control)
        {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "an override needs a reason: 1 to 200 printable characters",
            ));
        }
        self.sell(a, Some((manager.to_string(), reason.to_string())))
            .await
    }

    async fn sell(
        &self,
        a: Activation,
        override_by: Option<(String, String)>,
    ) -> Result<OperationResult, AppError> {
        check_transaction_id(&a.transaction_id)?;
        // The card and the payment are read side by side: one round trip, not two.
        let card = if self.engine.verifies(override_by.is_some()) {
            let (card, ()) = tokio::join!(
                self.lookup(&a.token, None),
                self.engine.prefetch_payment(&a.transaction_id)
            );
            card?
        } else {
            self.lookup(&a.token, None).await?
        };
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
        e.metadata.dintero_transaction_id = Some(a.transaction_id.clone());
        if let Some(c) = &a.customer_id {
            e.metadata.customer_id = Some(c.clone());
        }
        if let Some(x) = a.expires_at {
            e.metadata.expires_at = Some(x.to_rfc3339());
        }
        if let Some((by, why)) = override_by {
            e.metadata.override_by = Some(by.to_string());
            e.metadata.override_reason = Some(why.to_string());
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
}
