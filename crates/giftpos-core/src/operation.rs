//! The operations a terminal performs on a card.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the clerk did. Each is one journal entry kind and one (or two) Dintero calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// Sell a printed card: activate it with an amount and the payment's transaction id.
    Activate,
    /// Read the available balance (token + PIN).
    Balance,
    /// Reserve an amount on the card (a pending drawdown).
    Redeem,
    /// Finish a pending drawdown (fully or partly).
    Capture,
    /// Cancel a pending drawdown.
    Void,
    /// Load more money onto an active card.
    TopUp,
    /// Give money back to the card (a fund transaction compensating a drawdown).
    Refund,
    /// Take payment for a sold card through Dintero Checkout: the session is followed
    /// until its transaction is captured, then the card's activation is recorded.
    Payment,
    /// Refund a Checkout payment (a returned, unused card).
    PaymentRefund,
}

impl OperationKind {
    /// Every kind, in the order a card meets them.
    pub const ALL: [OperationKind; 9] = [
        OperationKind::Activate,
        OperationKind::Balance,
        OperationKind::Redeem,
        OperationKind::Capture,
        OperationKind::Void,
        OperationKind::TopUp,
        OperationKind::Refund,
        OperationKind::Payment,
        OperationKind::PaymentRefund,
    ];

    /// The stable name used in the journal, the CLI and the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Activate => "activate",
            OperationKind::Balance => "balance",
            OperationKind::Redeem => "redeem",
            OperationKind::Capture => "capture",
            OperationKind::Void => "void",
            OperationKind::TopUp => "top_up",
            OperationKind::Refund => "refund",
            OperationKind::Payment => "payment",
            OperationKind::PaymentRefund => "payment_refund",
        }
    }

    /// Whether the operation changes the card's money (and so must reach Dintero exactly
    /// once).
    pub fn moves_money(self) -> bool {
        !matches!(self, OperationKind::Balance)
    }

    /// Whether Dintero makes a retry of this operation safe with a `ref_id`. Activation
    /// has none: a lost answer is reconciled by reading the card.
    pub fn has_ref_id(self) -> bool {
        !matches!(
            self,
            OperationKind::Activate | OperationKind::Balance | OperationKind::Payment
        )
    }

    /// Whether the operation needs a manager's approval at the till.
    pub fn needs_manager(self) -> bool {
        matches!(
            self,
            OperationKind::Void | OperationKind::Refund | OperationKind::PaymentRefund
        )
    }
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_serde_agrees() {
        for k in OperationKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
    }

    #[test]
    fn only_activation_and_payment_lack_a_ref_id_among_money_moves() {
        // Both are reconciled by reading what Dintero holds (the card, the session).
        let without: Vec<_> = OperationKind::ALL
            .into_iter()
            .filter(|k| k.moves_money() && !k.has_ref_id())
            .collect();
        assert_eq!(
            without,
            vec![OperationKind::Activate, OperationKind::Payment]
        );
    }
}
