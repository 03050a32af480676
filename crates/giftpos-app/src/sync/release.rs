//! Nothing held in silence: a release (void) Dintero refuses. After a partial capture
//! the rest is released another documented way — captured, then given back — journaled
//! once and sent in the card's order; a release that cannot be made goes to a manager
//! with the amount and the card.

use giftpos_core::OperationKind;
use giftpos_dintero::DinteroError;
use giftpos_journal::{Entry, EntryState};

use super::Engine;
use super::payment::GIVE_BACK;
use crate::error::{AppError, ErrorCode};
use crate::sync::Outcome;

impl Engine {
    /// Dintero refused a release (a void). After a partial capture — where a void is
    /// not documented and may be refused — the rest is released another way that the
    /// reference does document: captured (MD-capture: the rest "can be captured later")
    /// and given back with a fund, both journaled now (once: looked for first) and sent
    /// after this in the card's order. A plain cancel that is refused leaves the whole
    /// reservation held: a manager is told with the amount.
    pub(super) fn release_refused(&self, void: &Entry, err: DinteroError) -> Outcome {
        let parent_id = void.parent_id.clone().unwrap_or_default();
        let settlements = match self.journal.children(&parent_id) {
            Ok(s) => s,
            Err(e) => {
                return Outcome::NeedsAttention(format!(
                    "Dintero refused to release {} on card {} ({err}), and the journal could not be read ({e}): a manager must release it",
                    void.amount, void.card
                ));
            }
        };
        let partly_captured = settlements
            .iter()
            .any(|x| x.kind == OperationKind::Capture && x.state != EntryState::Refused);
        if !partly_captured {
            return Outcome::NeedsAttention(format!(
                "Dintero refused to release the reservation ({err}): {} is still held on card {}; a manager must release it at Dintero",
                void.amount, void.card
            ));
        }
        match self.journal_give_back(void, &settlements) {
            Ok(()) => {
                self.wake();
                Outcome::Refused(AppError::new(
                    ErrorCode::Rejected,
                    format!(
                        "Dintero refused to release the rest after a partial capture ({err}); the rest ({}) is captured and given back to the card instead",
                        void.amount
                    ),
                ))
            }
            Err(e) => Outcome::NeedsAttention(format!(
                "Dintero refused to release {} on card {} ({err}), and the way around could not be recorded ({e}): a manager must release it",
                void.amount, void.card
            )),
        }
    }

    /// The rest of a partly captured reservation, captured and given back: a `Capture`
    /// of the rest (child of the reservation) and a `Refund` of it, unless already
    /// recorded.
    fn journal_give_back(&self, void: &Entry, settlements: &[Entry]) -> Result<(), AppError> {
        let record = |kind, undoes: Option<String>, parent_id| {
            self.journal.append(
                giftpos_journal::NewEntry {
                    id: uuid::Uuid::new_v4().to_string(),
                    kind,
                    card_token: None,
                    card_masked: void.card.clone(),
                    card_id: void.card_id.clone(),
                    card_key: void.card_key.clone(),
                    amount: void.amount,
                    clerk: void.clerk.clone(),
                    metadata: giftpos_journal::EntryMeta {
                        reason: Some(GIVE_BACK.into()),
                        undoes,
                        offline: void.recorded_offline(),
                        ..Default::default()
                    },
                    parent_id,
                },
                self.clock.now(),
            )
        };
        let capture = match settlements.iter().find(|x| {
            x.kind == OperationKind::Capture && x.metadata.reason.as_deref() == Some(GIVE_BACK)
        }) {
            Some(c) => c.id.clone(),
            None => record(OperationKind::Capture, None, void.parent_id.clone())?.id,
        };
        let given = self.journal.by_card(&void.card_key)?.into_iter().any(|x| {
            x.kind == OperationKind::Refund && x.metadata.undoes.as_deref() == Some(&capture)
        });
        if !given {
            record(OperationKind::Refund, Some(capture), None)?;
        }
        Ok(())
    }
}
