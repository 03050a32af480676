//! A manager's approval, proven: who may approve what is decided here once
//! ([`may_approve`]), for the app and the CLI alike, and an [`Approval`] exists only
//! after the manager's number and PIN were checked (`Terminal::approve`). Every action
//! that needs one takes the value, never a name: a number typed after `--approved-by`
//! without the PIN records nothing.

use serde::Serialize;

use crate::clerks::{Clerk, Role};
use crate::error::{AppError, ErrorCode};

/// What a manager approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagerAction {
    /// Undo an entry (void a reservation, compensate a load or a redemption).
    Void,
    /// Take back a sold card and refund its payment.
    Return,
    /// Settle an entry that needs attention as not applied.
    Resolve,
    /// Sell or load a card against a payment that cannot be verified.
    PaymentOverride,
    /// Leave kiosk mode (the app closes).
    LeaveKiosk,
    /// Add, change or remove a clerk or manager.
    ManageClerks,
}

impl ManagerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagerAction::Void => "void",
            ManagerAction::Return => "return",
            ManagerAction::Resolve => "resolve",
            ManagerAction::PaymentOverride => "payment_override",
            ManagerAction::LeaveKiosk => "leave_kiosk",
            ManagerAction::ManageClerks => "manage_clerks",
        }
    }
}

/// Who may approve what. Managers approve every manager action; a clerk approves none,
/// not even for themselves.
pub fn may_approve(role: Role, action: ManagerAction) -> bool {
    match (role, action) {
        (Role::Manager, _) => true,
        (Role::Clerk, _) => false,
    }
}

/// A manager's approval, made only by `Terminal::approve` after their PIN checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    manager: String,
    action: ManagerAction,
}

impl Approval {
    /// The approval for `action` by `who` (already signed in with their PIN).
    pub(crate) fn grant(who: &Clerk, action: ManagerAction) -> Result<Approval, AppError> {
        if !may_approve(who.role, action) {
            return Err(AppError::new(
                ErrorCode::ManagerRequired,
                format!(
                    "clerk {} is not a manager: {} needs a manager's number and PIN",
                    who.number,
                    action.as_str()
                ),
            ));
        }
        Ok(Approval {
            manager: who.number.clone(),
            action,
        })
    }

    /// The approving manager's number, as recorded.
    pub fn manager(&self) -> &str {
        &self.manager
    }

    /// Refused unless this approval is for `action`.
    pub(crate) fn check(&self, action: ManagerAction) -> Result<&str, AppError> {
        if self.action == action {
            Ok(&self.manager)
        } else {
            Err(AppError::new(
                ErrorCode::ManagerRequired,
                format!(
                    "manager {} approved {}, not {}",
                    self.manager,
                    self.action.as_str(),
                    action.as_str()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ManagerAction; 6] = [
        ManagerAction::Void,
        ManagerAction::Return,
        ManagerAction::Resolve,
        ManagerAction::PaymentOverride,
        ManagerAction::LeaveKiosk,
        ManagerAction::ManageClerks,
    ];

    #[test]
    fn managers_approve_every_action_and_clerks_none() {
        for a in ALL {
            assert!(may_approve(Role::Manager, a), "{a:?}");
            assert!(!may_approve(Role::Clerk, a), "{a:?}");
        }
    }

    #[test]
    fn an_approval_is_for_its_action_only() {
        let m = Clerk {
            number: "9".into(),
            name: "M".into(),
            role: Role::Manager,
        };
        let a = Approval::grant(&m, ManagerAction::Void).unwrap();
        assert_eq!(a.check(ManagerAction::Void).unwrap(), "9");
        let e = a.check(ManagerAction::Return).unwrap_err();
        assert_eq!(e.code, ErrorCode::ManagerRequired);
        let c = Clerk {
            number: "1".into(),
            name: "C".into(),
            role: Role::Clerk,
        };
        assert_eq!(
            Approval::grant(&c, ManagerAction::Void).unwrap_err().code,
            ErrorCode::ManagerRequired
        );
    }
}
