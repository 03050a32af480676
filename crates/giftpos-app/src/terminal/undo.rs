//! Undoing a confirmed entry behind a manager's approval: a void or the compensating
//! operation.

use super::*;

impl Terminal {
    /// Undoes a journal entry: a reservation is voided; a confirmed top-up, capture or
    /// activation gets its compensating operation (a refund to the card, or a drawdown
    /// of what was loaded). `approved_by` is recorded.
    pub async fn undo(
        &self,
        entry_id: &str,
        approved_by: &str,
    ) -> Result<OperationResult, AppError> {
        let e = self.entry(entry_id)?;
        if e.state != EntryState::Confirmed {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "entry {entry_id} is {}: only confirmed entries can be undone",
                    e.state.as_str()
                ),
            ));
        }
        let settled =
            self.journal().list(None, None)?.into_iter().any(|x| {
                x.parent_id.as_deref() == Some(entry_id) && x.state != EntryState::Refused
            });
        let (kind, parent) = match e.kind {
            OperationKind::Redeem if !settled => (OperationKind::Void, Some(e.id.clone())),
            OperationKind::Capture => (OperationKind::Refund, None),
            OperationKind::TopUp | OperationKind::Activate => (OperationKind::Redeem, None),
            _ => {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    format!("a {} entry cannot be undone here", e.kind),
                ));
            }
        };
        let mut metadata = serde_json::Map::new();
        metadata.insert("undoes".into(), e.id.clone().into());
        metadata.insert("approved_by".into(), approved_by.into());
        let entry = self.record(NewEntry {
            id: Uuid::new_v4().to_string(),
            kind,
            card_token: None,
            card_masked: e.card.clone(),
            card_id: e.card_id.clone(),
            card_key: e.card_key.clone(),
            amount: e.amount,
            clerk: self.clerk_number(),
            metadata,
            parent_id: parent,
        })?;
        let mut outcome = self.engine.send_now(&entry.id, None).await?;
        if kind == OperationKind::Redeem && matches!(outcome, Outcome::Confirmed { .. }) {
            // A compensating drawdown is reserved, then captured at once.
            let r = Reservation {
                training: self.is_training(),
                operation_id: entry.id.clone(),
                card: e.card.clone(),
                card_id: e.card_id.clone(),
                transaction_id: None,
                amount: e.amount,
                queued: false,
            };
            let cap = self.settle_entry(&r, OperationKind::Capture, e.amount)?;
            outcome = self.engine.send_now(&cap.id, None).await?;
        }
        let mut res = self.result(&entry, &outcome)?;
        self.read_back(&mut res).await;
        Ok(res)
    }
}
