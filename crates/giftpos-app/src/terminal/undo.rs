//! Undoing a confirmed entry behind a manager's approval: a void or the compensating
//! operation.

use giftpos_core::OperationKind;
use giftpos_journal::{Entry, EntryState, NewEntry};
use uuid::Uuid;

use super::Terminal;
use super::views::{OperationResult, Reservation};
use crate::error::{AppError, ErrorCode};
use crate::sync::Outcome;

/// What the journal says about an entry's later life: settled by a capture or void of
/// its own (a reservation), undone by a manager, returned (a Checkout sale).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Afterwards {
    pub settled: bool,
    pub undone: bool,
    pub returned: bool,
}

impl Afterwards {
    /// Looks `id` up among `all` entries (refused ones do not count).
    pub fn of(id: &str, all: &[Entry]) -> Afterwards {
        let mut a = Afterwards::default();
        for x in all.iter().filter(|x| x.state != EntryState::Refused) {
            let undoes = x.metadata.undoes.as_deref() == Some(id);
            if x.parent_id.as_deref() == Some(id)
                && matches!(x.kind, OperationKind::Capture | OperationKind::Void)
                && !undoes
            {
                a.settled = true;
            }
            if undoes {
                if x.kind == OperationKind::PaymentRefund {
                    a.returned = true;
                } else {
                    a.undone = true;
                }
            }
        }
        a
    }
}

/// The operation that undoes an entry, if a manager may undo it: a confirmed reservation
/// nothing settled is voided; a confirmed capture is refunded to the card; a confirmed
/// top-up or sale is drawn back. Never twice, never anything else.
pub fn undo_kind(
    kind: OperationKind,
    state: EntryState,
    after: Afterwards,
) -> Option<OperationKind> {
    if state != EntryState::Confirmed || after.undone || after.returned {
        return None;
    }
    match kind {
        OperationKind::Redeem if !after.settled => Some(OperationKind::Void),
        OperationKind::Capture => Some(OperationKind::Refund),
        OperationKind::TopUp | OperationKind::Activate => Some(OperationKind::Redeem),
        _ => None,
    }
}

/// Whether a sale may be returned for a refund of its Checkout payment: a confirmed
/// activation paid through Dintero, not returned or undone before. (Whether the card is
/// unused is Dintero's to say when it is tried.)
pub fn can_return(kind: OperationKind, state: EntryState, paid: bool, after: Afterwards) -> bool {
    kind == OperationKind::Activate
        && state == EntryState::Confirmed
        && paid
        && !after.returned
        && !after.undone
}

impl Terminal {
    /// Undoes a journal entry: a reservation is voided; a confirmed top-up, capture or
    /// activation gets its compensating operation (a refund to the card, or a drawdown
    /// of what was loaded). The approving manager is recorded.
    pub async fn undo(
        &self,
        entry_id: &str,
        approval: &crate::approval::Approval,
    ) -> Result<OperationResult, AppError> {
        self.undo_approved(
            entry_id,
            approval.check(crate::approval::ManagerAction::Void)?,
        )
        .await
    }

    /// [`Terminal::undo`] once the approval is checked (a return approves its undo).
    pub(super) async fn undo_approved(
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
        let after = Afterwards::of(entry_id, &self.journal().list(Some(e.created_at), None)?);
        let Some(kind) = undo_kind(e.kind, e.state, after) else {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                if after.undone || after.returned {
                    format!("entry {entry_id} was undone already")
                } else {
                    format!("a {} entry cannot be undone here", e.kind)
                },
            ));
        };
        let parent = (kind == OperationKind::Void).then(|| e.id.clone());
        let metadata = giftpos_journal::EntryMeta {
            undoes: Some(e.id.clone()),
            approved_by: Some(approved_by.to_string()),
            ..Default::default()
        };
        let entry = self.record_to_send(NewEntry {
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
            let cap = self.settle_entry(&r, OperationKind::Capture, e.amount, true)?;
            outcome = self.engine.send_now(&cap.id, None).await?;
        }
        let mut res = self.result(&entry, &outcome)?;
        self.read_back(&mut res).await;
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use giftpos_core::OperationKind::*;
    use giftpos_journal::EntryState::*;

    fn after(settled: bool, undone: bool, returned: bool) -> Afterwards {
        Afterwards {
            settled,
            undone,
            returned,
        }
    }

    #[test]
    fn what_may_be_undone_in_a_table() {
        let none = after(false, false, false);
        let cases = [
            (Redeem, Confirmed, none, Some(Void)),
            (Redeem, Confirmed, after(true, false, false), None),
            (Capture, Confirmed, none, Some(Refund)),
            (TopUp, Confirmed, none, Some(Redeem)),
            (Activate, Confirmed, none, Some(Redeem)),
            (Activate, Confirmed, after(false, true, false), None),
            (Activate, Confirmed, after(false, false, true), None),
            (TopUp, Sent, none, None),
            (TopUp, Refused, none, None),
            (TopUp, NeedsAttention, none, None),
            (Void, Confirmed, none, None),
            (Refund, Confirmed, none, None),
            (Payment, Confirmed, none, None),
        ];
        for (kind, state, a, want) in cases {
            assert_eq!(undo_kind(kind, state, a), want, "{kind:?} {state:?} {a:?}");
        }
    }

    #[test]
    fn what_may_be_returned_in_a_table() {
        let none = after(false, false, false);
        assert!(can_return(Activate, Confirmed, true, none));
        assert!(
            !can_return(Activate, Confirmed, false, none),
            "not paid through Dintero"
        );
        assert!(!can_return(Activate, Sent, true, none));
        assert!(!can_return(
            Activate,
            Confirmed,
            true,
            after(false, false, true)
        ));
        assert!(!can_return(
            Activate,
            Confirmed,
            true,
            after(false, true, false)
        ));
        assert!(!can_return(TopUp, Confirmed, true, none));
    }
}
