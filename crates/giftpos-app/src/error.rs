//! The one error type that crosses to the UI and the CLI: a stable code, a specific
//! message, and what to do next. The UI and scripts match on the code, never on text.

use giftpos_core::{MoneyError, PinError, TokenError};
use giftpos_dintero::DinteroError;
use serde::Serialize;

/// What kind of failure, for exit codes and for whether anything was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// What was typed or scanned is wrong; nothing was sent.
    BadInput,
    /// Dintero answered no.
    Refused,
    /// Dintero could not be reached or did not answer; nothing was recorded.
    Unavailable,
    /// The configuration is wrong.
    Config,
    /// A bug or a local failure.
    Internal,
    /// Dintero answered, but its answer could not be read: not offline, and what was
    /// recorded is checked by reading before anything is resent.
    Unreadable,
}

impl ErrorClass {
    /// The CLI's exit code (4 is "saved, will sync", used once operations are journaled).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorClass::Internal => 1,
            ErrorClass::BadInput => 2,
            ErrorClass::Refused => 3,
            ErrorClass::Unavailable => 5,
            ErrorClass::Config => 6,
            ErrorClass::Unreadable => 7,
        }
    }
}

/// Stable error codes. Add a variant only when a caller needs to tell it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidAmount,
    InvalidCard,
    NotAGiftCard,
    InvalidPinEntry,
    InvalidInput,
    Config,
    PinInvalid,
    PinRequired,
    PinLocked,
    InsufficientFunds,
    CardInactive,
    CardExpired,
    CardNotYetActive,
    CardAlreadyActive,
    ActivationConflict,
    CardUnknown,
    CurrencyMismatch,
    TransactionNotFound,
    TransactionNotPending,
    CaptureExceedsPending,
    Rejected,
    Credentials,
    Offline,
    Tls,
    StorageFull,
    JournalUnreadable,
    OfflineNotAllowed,
    SignInFailed,
    ClerkLocked,
    NotSignedIn,
    ManagerRequired,
    UpdateRefused,
    PaymentNotCompleted,
    CardUsed,
    DinteroUnreadable,
    CardRefused,
    PaymentUnverified,
    TenderNotAllowed,
    PaymentRequired,
    Internal,
}

impl ErrorCode {
    /// Every code (the UI has words for each; `src-tauri/tests/contract.rs` checks).
    pub const ALL: &[ErrorCode] = &[
        ErrorCode::InvalidAmount,
        ErrorCode::InvalidCard,
        ErrorCode::NotAGiftCard,
        ErrorCode::InvalidPinEntry,
        ErrorCode::InvalidInput,
        ErrorCode::Config,
        ErrorCode::PinInvalid,
        ErrorCode::PinRequired,
        ErrorCode::PinLocked,
        ErrorCode::InsufficientFunds,
        ErrorCode::CardInactive,
        ErrorCode::CardExpired,
        ErrorCode::CardNotYetActive,
        ErrorCode::CardAlreadyActive,
        ErrorCode::ActivationConflict,
        ErrorCode::CardUnknown,
        ErrorCode::CurrencyMismatch,
        ErrorCode::TransactionNotFound,
        ErrorCode::TransactionNotPending,
        ErrorCode::CaptureExceedsPending,
        ErrorCode::Rejected,
        ErrorCode::Credentials,
        ErrorCode::Offline,
        ErrorCode::Tls,
        ErrorCode::StorageFull,
        ErrorCode::JournalUnreadable,
        ErrorCode::OfflineNotAllowed,
        ErrorCode::SignInFailed,
        ErrorCode::ClerkLocked,
        ErrorCode::NotSignedIn,
        ErrorCode::ManagerRequired,
        ErrorCode::UpdateRefused,
        ErrorCode::PaymentNotCompleted,
        ErrorCode::CardUsed,
        ErrorCode::DinteroUnreadable,
        ErrorCode::CardRefused,
        ErrorCode::PaymentUnverified,
        ErrorCode::TenderNotAllowed,
        ErrorCode::PaymentRequired,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidAmount => "invalid_amount",
            InvalidCard => "invalid_card",
            NotAGiftCard => "not_a_gift_card",
            InvalidPinEntry => "invalid_pin_entry",
            InvalidInput => "invalid_input",
            Config => "config",
            PinInvalid => "pin_invalid",
            PinRequired => "pin_required",
            PinLocked => "pin_locked",
            InsufficientFunds => "insufficient_funds",
            CardInactive => "card_inactive",
            CardExpired => "card_expired",
            CardNotYetActive => "card_not_yet_active",
            CardAlreadyActive => "card_already_active",
            ActivationConflict => "activation_conflict",
            CardUnknown => "card_unknown",
            CurrencyMismatch => "currency_mismatch",
            TransactionNotFound => "transaction_not_found",
            TransactionNotPending => "transaction_not_pending",
            CaptureExceedsPending => "capture_exceeds_pending",
            Rejected => "rejected",
            Credentials => "credentials",
            Offline => "offline",
            Tls => "tls",
            StorageFull => "storage_full",
            JournalUnreadable => "journal_unreadable",
            OfflineNotAllowed => "offline_not_allowed",
            SignInFailed => "sign_in_failed",
            ClerkLocked => "clerk_locked",
            NotSignedIn => "not_signed_in",
            ManagerRequired => "manager_required",
            UpdateRefused => "update_refused",
            PaymentNotCompleted => "payment_not_completed",
            CardUsed => "card_used",
            DinteroUnreadable => "dintero_unreadable",
            CardRefused => "card_refused",
            PaymentUnverified => "payment_unverified",
            TenderNotAllowed => "tender_not_allowed",
            PaymentRequired => "payment_required",
            Internal => "internal",
        }
    }

    pub fn class(self) -> ErrorClass {
        use ErrorCode::*;
        match self {
            InvalidAmount | InvalidCard | NotAGiftCard | InvalidPinEntry | InvalidInput
            | PaymentRequired => ErrorClass::BadInput,
            Config | Credentials | Tls => ErrorClass::Config,
            Offline | OfflineNotAllowed => ErrorClass::Unavailable,
            Internal | StorageFull | JournalUnreadable => ErrorClass::Internal,
            DinteroUnreadable => ErrorClass::Unreadable,
            _ => ErrorClass::Refused,
        }
    }

    /// What the clerk (or IT) should do next.
    pub fn hint(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidAmount => "Enter the amount again, e.g. 500 or 120.50.",
            InvalidCard => "Scan the card again, or type the number printed on it.",
            NotAGiftCard => "Scan the gift card's barcode, not a product's.",
            InvalidPinEntry => "Ask the customer to enter the PIN again.",
            InvalidInput => "Check what was entered and try again.",
            Config => "Ask IT to fix the configuration; `giftpos doctor` shows what is wrong.",
            PinInvalid => "Ask the customer to enter the PIN again.",
            PinRequired => "Ask the customer for the card's PIN.",
            PinLocked => {
                "Too many wrong PINs: the card is locked for a while. Try later or ask a manager."
            }
            InsufficientFunds => {
                "Check the balance and redeem a smaller amount; take the rest by another payment."
            }
            CardInactive => "This card was never sold. Sell (activate) it first.",
            CardExpired => "The card has expired and cannot be used. Ask a manager.",
            CardNotYetActive => "The card is not valid yet. Check its start date.",
            CardAlreadyActive => "This card is already sold. Take another card from stock.",
            ActivationConflict => {
                "The card was activated by another sale. Keep the payment apart and call a manager."
            }
            CardUnknown => "No card has this number. Check the number, or scan again.",
            CurrencyMismatch => "The card is in another currency and cannot be used here.",
            TransactionNotFound => "The transaction is unknown. Look it up in History.",
            TransactionNotPending => "The reservation was already completed or cancelled.",
            CaptureExceedsPending => "Complete at most the reserved amount.",
            Rejected => "Dintero refused the request. Note the details and call support.",
            Credentials => "Ask IT to check the Dintero API client (id, secret, account).",
            Offline => "Dintero cannot be reached. Check the network; try again shortly.",
            Tls => "The secure connection failed. Ask IT to check the network and the clock.",
            StorageFull => {
                "The terminal's disk is full: nothing was recorded or sent. Call IT; take another payment method."
            }
            JournalUnreadable => {
                "The terminal's journal cannot be read. Do not delete it: call support."
            }
            OfflineNotAllowed => {
                "Dintero cannot be reached and this cannot be done offline. Take another payment method or wait."
            }
            SignInFailed => "Check the clerk number and PIN and try again.",
            ClerkLocked => "Too many wrong PINs: wait a few minutes, or ask a manager.",
            NotSignedIn => "Sign in with your clerk number and PIN first.",
            ManagerRequired => {
                "A manager must approve this: ask a manager to sign in on the dialog."
            }
            UpdateRefused => {
                "The update was refused (its signature did not verify): nothing was installed. Tell IT."
            }
            PaymentNotCompleted => {
                "The payment was not completed (cancelled, failed or timed out): the card was not activated. Take payment again."
            }
            CardUsed => {
                "The card has been used, so it cannot be returned for a refund. A manager can refund the remaining balance another way."
            }
            DinteroUnreadable => {
                "Dintero's answers cannot be read — call IT (`giftpos doctor` names the call and the field). What was recorded is kept and checked before anything is sent again."
            }
            CardRefused => {
                "Dintero refused this for the card (its reason is shown). Check the card and amount, or take another payment method."
            }
            PaymentRequired => {
                "Give the payment's reference (Dintero's, or the card terminal's receipt), or choose how it was paid."
            }
            TenderNotAllowed => {
                "Take the payment another way this till allows, or ask a manager to override with a reason."
            }
            PaymentUnverified => {
                "The payment could not be verified, so the card was not activated. Check the payment reference, or take payment again; a manager can override with a reason."
            }
            Internal => {
                "Something went wrong in the terminal. Restart it; if it repeats, call support."
            }
        }
    }
}

/// An error for the clerk, IT or a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    /// Specific to this case ("the card number has 15 characters; 16 digits expected").
    pub message: String,
    /// Seconds to wait before trying again, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn class(&self) -> ErrorClass {
        self.code.class()
    }

    pub fn hint(&self) -> &'static str {
        self.code.hint()
    }

    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::new(ErrorCode::Internal, message)
    }
}

impl From<MoneyError> for AppError {
    fn from(e: MoneyError) -> Self {
        let code = match e {
            MoneyError::CurrencyMismatch(..) => ErrorCode::CurrencyMismatch,
            _ => ErrorCode::InvalidAmount,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<TokenError> for AppError {
    fn from(e: TokenError) -> Self {
        let code = match e {
            TokenError::NotAGiftCard => ErrorCode::NotAGiftCard,
            TokenError::NoFormats => ErrorCode::Config,
            _ => ErrorCode::InvalidCard,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<PinError> for AppError {
    fn from(e: PinError) -> Self {
        AppError::new(ErrorCode::InvalidPinEntry, e.to_string())
    }
}

/// The one mapping of journal failures: a full disk is `storage_full` (nothing was
/// recorded), a corrupt or newer journal `journal_unreadable`, anything else internal.
impl From<giftpos_journal::JournalError> for AppError {
    fn from(e: giftpos_journal::JournalError) -> Self {
        use giftpos_journal::JournalError as J;
        let code = match e {
            J::Full { .. } => ErrorCode::StorageFull,
            J::Corrupt { .. } | J::TooNew { .. } => ErrorCode::JournalUnreadable,
            _ => ErrorCode::Internal,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<DinteroError> for AppError {
    fn from(e: DinteroError) -> Self {
        use DinteroError as D;
        let code = match &e {
            D::InvalidClient | D::Unauthorized | D::Forbidden => ErrorCode::Credentials,
            D::Validation(_) | D::RefIdConflict | D::NotFound | D::OtherApi { .. } => {
                ErrorCode::Rejected
            }
            D::CardRefused { .. } => ErrorCode::CardRefused,
            D::Unreadable { .. } => ErrorCode::DinteroUnreadable,
            D::PinInvalid => ErrorCode::PinInvalid,
            D::PinRequired => ErrorCode::PinRequired,
            D::PinLocked { .. } => ErrorCode::PinLocked,
            D::InsufficientFunds => ErrorCode::InsufficientFunds,
            D::CardInactive => ErrorCode::CardInactive,
            D::CardExpired => ErrorCode::CardExpired,
            D::CardNotYetActive => ErrorCode::CardNotYetActive,
            D::CardAlreadyActive | D::CardExists => ErrorCode::CardAlreadyActive,
            D::TokenNotFound | D::CardNotFound => ErrorCode::CardUnknown,
            D::TransactionNotFound => ErrorCode::TransactionNotFound,
            D::TransactionNotPending => ErrorCode::TransactionNotPending,
            D::CaptureExceedsPending => ErrorCode::CaptureExceedsPending,
            D::CurrencyMismatch => ErrorCode::CurrencyMismatch,
            D::PaymentState(_) => ErrorCode::PaymentNotCompleted,
            D::Tls(_) => ErrorCode::Tls,
            D::RateLimited { .. }
            | D::Server { .. }
            | D::Timeout
            | D::ConnectionRefused
            | D::Unreachable(_)
            | D::ConnectionLost => ErrorCode::Offline,
        };
        AppError {
            code,
            message: e.to_string(),
            retry_after_secs: e.retry_after().map(|d| d.as_secs()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_have_distinct_exit_codes() {
        let classes = [
            ErrorClass::BadInput,
            ErrorClass::Refused,
            ErrorClass::Unavailable,
            ErrorClass::Config,
            ErrorClass::Internal,
            ErrorClass::Unreadable,
        ];
        let mut codes: Vec<i32> = classes.iter().map(|c| c.exit_code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), classes.len());
        assert!(
            !codes.contains(&0) && !codes.contains(&4),
            "0 is success, 4 is queued"
        );
    }

    #[test]
    fn every_code_has_a_hint_and_serializes_as_its_name() {
        for code in [
            ErrorCode::PinLocked,
            ErrorCode::Offline,
            ErrorCode::InvalidAmount,
        ] {
            assert!(!code.hint().is_empty());
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
    }

    #[test]
    fn an_unreadable_answer_is_not_offline() {
        let e = AppError::from(DinteroError::Unreadable {
            op: "info".into(),
            status: 200,
            what: "field `card_id` is missing".into(),
        });
        assert_eq!(e.code, ErrorCode::DinteroUnreadable);
        assert_eq!(e.class().exit_code(), 7);
        assert!(e.message.contains("card_id") && e.message.contains("info"));
        let refused = AppError::from(DinteroError::CardRefused {
            status: 403,
            code: "x".into(),
            message: "PIN mismatch".into(),
        });
        assert_eq!(refused.code, ErrorCode::CardRefused);
        assert_eq!(refused.class(), ErrorClass::Refused);
    }

    #[test]
    fn network_failures_are_unavailable_and_refusals_refused() {
        assert_eq!(
            AppError::from(DinteroError::Timeout).class(),
            ErrorClass::Unavailable
        );
        assert_eq!(
            AppError::from(DinteroError::PinInvalid).class(),
            ErrorClass::Refused
        );
        assert_eq!(
            AppError::from(TokenError::NotAGiftCard).code,
            ErrorCode::NotAGiftCard
        );
        let locked = AppError::from(DinteroError::PinLocked {
            retry_after: Some(std::time::Duration::from_secs(60)),
        });
        assert_eq!(locked.retry_after_secs, Some(60));
    }
}
