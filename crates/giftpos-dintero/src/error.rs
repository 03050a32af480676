//! Typed errors: one per error code we agreed on with the sandbox, plus the transport
//! failures. Each knows whether a retry is safe.

use std::time::Duration;

use crate::wire::codes;

/// Whether, and how, a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAdvice {
    /// The request was refused for a reason a retry will not change.
    Never,
    /// The request did not take effect; sending it again is safe.
    Safe,
    /// The request may have taken effect: retry only with the same `ref_id` (and an
    /// activation only after reading the card).
    SameRefIdOnly,
}

/// What a call was about, for reading an error answer whose `error.code` we do not know
/// (Dintero documents no Wallets error codes: every real one may be unknown to us).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// The token endpoint.
    Auth,
    /// Reading a card: `/info` by token (with or without the customer's PIN) or by id.
    Lookup { by_token: bool, pin: bool },
    /// Activating a sold card.
    Activate,
    /// A drawdown or fund on a card, with or without the customer's PIN.
    Transaction { pin: bool },
    /// Capturing or voiding a pending drawdown.
    Settle,
    /// Checkout (sessions and payment transactions).
    Payments,
    /// Administration: creating cards and batches, listing.
    Admin,
}

impl Call {
    /// Reading a card (or its transactions) by its id.
    pub const BY_ID: Call = Call::Lookup {
        by_token: false,
        pin: false,
    };

    /// Whether the call is about one card, so that a refusal is the card's.
    fn is_card(self) -> bool {
        matches!(
            self,
            Call::Lookup { .. } | Call::Activate | Call::Transaction { .. } | Call::Settle
        )
    }

    fn has_pin(self) -> bool {
        matches!(
            self,
            Call::Lookup { pin: true, .. } | Call::Transaction { pin: true }
        )
    }
}

/// What went wrong talking to Dintero.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DinteroError {
    #[error("the API client's id or secret was refused")]
    InvalidClient,
    #[error("the access token was refused, even after a refresh")]
    Unauthorized,
    #[error("the API client lacks the permission for this call")]
    Forbidden,
    #[error("Dintero refused the request as invalid: {0}")]
    Validation(String),
    #[error("the PIN is wrong")]
    PinInvalid,
    #[error("this card needs its PIN")]
    PinRequired,
    #[error("too many wrong PINs: the card is locked for a while")]
    PinLocked { retry_after: Option<Duration> },
    #[error("the card has too little money for this")]
    InsufficientFunds,
    #[error("the card is not activated")]
    CardInactive,
    #[error("the card has expired")]
    CardExpired,
    #[error("the card is not valid yet")]
    CardNotYetActive,
    #[error("the card is already active")]
    CardAlreadyActive,
    #[error("a card with this id exists already")]
    CardExists,
    #[error("no card has this number")]
    TokenNotFound,
    #[error("the card does not exist")]
    CardNotFound,
    #[error("the transaction does not exist")]
    TransactionNotFound,
    #[error("the transaction is no longer pending")]
    TransactionNotPending,
    #[error("the capture is larger than the pending amount")]
    CaptureExceedsPending,
    #[error("the currency does not match the card's")]
    CurrencyMismatch,
    #[error("this operation id was used before with other details")]
    RefIdConflict,
    #[error("the resource was not found")]
    NotFound,
    #[error("the payment does not allow this: {0}")]
    PaymentState(String),
    #[error("Dintero is rate limiting this terminal")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Dintero had an internal error (HTTP {status})")]
    Server { status: u16 },
    #[error("Dintero answered HTTP {status} with code '{code}'")]
    OtherApi { status: u16, code: String },
    /// A card operation Dintero refused with a code we do not know: shown with Dintero's
    /// own message (card numbers and PINs redacted).
    #[error("Dintero refused this for the card: {message}")]
    CardRefused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("no answer from Dintero in time")]
    Timeout,
    #[error("Dintero's address refused the connection")]
    ConnectionRefused,
    #[error("Dintero could not be reached: {0}")]
    Unreachable(String),
    #[error("the connection broke before Dintero's answer arrived")]
    ConnectionLost,
    #[error("the secure connection to Dintero failed: {0}")]
    Tls(String),
    /// A 2xx answer the terminal cannot read even tolerantly. Not "offline": Dintero is
    /// there, and the request may have acted.
    #[error("Dintero's answer to {op} (HTTP {status}) could not be read: {what}")]
    Unreadable {
        op: String,
        status: u16,
        what: String,
    },
}

impl DinteroError {
    /// Maps an HTTP error answer to its typed error. Our own codes (the sandbox's, in
    /// `wire::codes`) are recognised extras; any other code is read by its HTTP status
    /// and what the call was about (`call`): a 4xx on a card call is the card's refusal,
    /// never a configuration fault — a customer's wrong PIN must not send the clerk to IT.
    pub fn from_api(
        status: u16,
        code: &str,
        message: &str,
        retry_after: Option<Duration>,
        call: Call,
    ) -> Self {
        if let Some(known) = Self::from_known_code(code, message, retry_after) {
            return known;
        }
        let refused = || DinteroError::CardRefused {
            status,
            code: code.chars().take(64).collect(),
            message: if message.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                redact(message)
            },
        };
        match (status, call) {
            (401, Call::Auth) => DinteroError::InvalidClient,
            (401, _) => DinteroError::Unauthorized,
            (429, _) => DinteroError::RateLimited { retry_after },
            (500..=599, _) => DinteroError::Server { status },
            (403, c) if c.has_pin() => refused(),
            (403, _) => DinteroError::Forbidden,
            (404, Call::Lookup { by_token: true, .. }) => DinteroError::TokenNotFound,
            (404, Call::Lookup { .. } | Call::Activate) => DinteroError::CardNotFound,
            (404, Call::Settle) => DinteroError::TransactionNotFound,
            (404, Call::Transaction { .. }) => refused(),
            (404, _) => DinteroError::NotFound,
            // Reconciled by reading the card: our own activation, or someone else's.
            (409, Call::Activate) => DinteroError::CardAlreadyActive,
            (409, Call::Payments) => DinteroError::PaymentState(redact(message)),
            (400, c) if !c.is_card() => DinteroError::Validation(redact(message)),
            (400..=499, c) if c.is_card() => refused(),
            _ => DinteroError::OtherApi {
                status,
                code: code.chars().take(64).collect(),
            },
        }
    }

    fn from_known_code(code: &str, message: &str, retry_after: Option<Duration>) -> Option<Self> {
        Some(match code {
            codes::INVALID_CLIENT => DinteroError::InvalidClient,
            codes::UNAUTHORIZED => DinteroError::Unauthorized,
            codes::FORBIDDEN => DinteroError::Forbidden,
            codes::VALIDATION => DinteroError::Validation(redact(message)),
            codes::PIN_INVALID => DinteroError::PinInvalid,
            codes::PIN_REQUIRED => DinteroError::PinRequired,
            codes::PIN_LOCKED => DinteroError::PinLocked { retry_after },
            codes::INSUFFICIENT_FUNDS => DinteroError::InsufficientFunds,
            codes::CARD_INACTIVE => DinteroError::CardInactive,
            codes::CARD_EXPIRED => DinteroError::CardExpired,
            codes::CARD_NOT_YET_ACTIVE => DinteroError::CardNotYetActive,
            codes::CARD_ALREADY_ACTIVE => DinteroError::CardAlreadyActive,
            codes::CARD_EXISTS => DinteroError::CardExists,
            codes::TOKEN_NOT_FOUND => DinteroError::TokenNotFound,
            codes::CARD_NOT_FOUND => DinteroError::CardNotFound,
            codes::TRANSACTION_NOT_FOUND => DinteroError::TransactionNotFound,
            codes::TRANSACTION_NOT_PENDING => DinteroError::TransactionNotPending,
            codes::CAPTURE_EXCEEDS_PENDING => DinteroError::CaptureExceedsPending,
            codes::CURRENCY_MISMATCH => DinteroError::CurrencyMismatch,
            codes::REF_ID_CONFLICT => DinteroError::RefIdConflict,
            codes::NOT_FOUND => DinteroError::NotFound,
            codes::PAYMENT_STATE => DinteroError::PaymentState(redact(message)),
            codes::RATE_LIMITED => DinteroError::RateLimited { retry_after },
            _ => return None,
        })
    }

    /// Whether sending the same request again is safe.
    pub fn retry_advice(&self) -> RetryAdvice {
        use DinteroError::*;
        match self {
            // Nothing was acted on.
            ConnectionRefused | Unreachable(_) | RateLimited { .. } => RetryAdvice::Safe,
            // Sent, and perhaps acted on: the answer is what we lack.
            Timeout | ConnectionLost | Server { .. } | Unreadable { .. } => {
                RetryAdvice::SameRefIdOnly
            }
            _ => RetryAdvice::Never,
        }
    }

    /// Whether the failure is the network's: the connection failed or broke, so Dintero
    /// may simply be out of reach (the terminal shows "offline" and probes).
    pub fn is_connection(&self) -> bool {
        use DinteroError::*;
        matches!(
            self,
            ConnectionRefused | Unreachable(_) | Timeout | ConnectionLost
        )
    }

    /// Whether the failure is the network's or the server's (the terminal should treat
    /// itself as offline and try later), as opposed to an answer about this request.
    pub fn is_transient(&self) -> bool {
        self.retry_advice() != RetryAdvice::Never
    }

    /// How long the server asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DinteroError::RateLimited { retry_after } | DinteroError::PinLocked { retry_after } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// A stable code for this error, for the CLI's JSON and the UI.
    pub fn code(&self) -> &'static str {
        use DinteroError::*;
        match self {
            InvalidClient => "invalid_client",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            Validation(_) => "validation",
            PinInvalid => "pin_invalid",
            PinRequired => "pin_required",
            PinLocked { .. } => "pin_locked",
            InsufficientFunds => "insufficient_funds",
            CardInactive => "card_inactive",
            CardExpired => "card_expired",
            CardNotYetActive => "card_not_yet_active",
            CardAlreadyActive => "card_already_active",
            CardExists => "card_exists",
            TokenNotFound => "card_unknown",
            CardNotFound => "card_not_found",
            TransactionNotFound => "transaction_not_found",
            TransactionNotPending => "transaction_not_pending",
            CaptureExceedsPending => "capture_exceeds_pending",
            CurrencyMismatch => "currency_mismatch",
            RefIdConflict => "ref_id_conflict",
            NotFound => "not_found",
            PaymentState(_) => "payment_state",
            RateLimited { .. } => "rate_limited",
            Server { .. } => "server_error",
            OtherApi { .. } => "api_error",
            CardRefused { .. } => "card_refused",
            Timeout => "timeout",
            ConnectionRefused => "connection_refused",
            Unreachable(_) => "unreachable",
            ConnectionLost => "connection_lost",
            Tls(_) => "tls",
            Unreadable { .. } => "dintero_unreadable",
        }
    }
}

/// A server's message, cut short and with anything that looks like a card number or PIN
/// (a run of letters, digits and `-:` holding 4 or more digits) replaced, since the
/// message may echo the request and ends up in logs and the journal.
pub fn redact(message: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_digit).count() >= 4 {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in message.chars().take(200) {
        if c.is_ascii_alphanumeric() || c == '-' || c == ':' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_lose_card_numbers_and_pins() {
        let e = DinteroError::from_api(
            400,
            codes::VALIDATION,
            "request body: invalid type: string \"9578000000001001\", pin 4321, at line 1",
            None,
            Call::Admin,
        );
        let text = e.to_string();
        assert!(
            !text.contains("9578000000001001") && !text.contains("4321"),
            "{text}"
        );
        assert!(
            text.contains("invalid type") && text.contains("line 1"),
            "{text}"
        );
        assert_eq!(redact("amount must be positive"), "amount must be positive");
    }

    #[test]
    fn every_agreed_code_maps_to_its_own_error() {
        let mut seen = std::collections::HashSet::new();
        for (code, status) in codes::ALL {
            let e = DinteroError::from_api(*status, code, "m", None, Call::Admin);
            assert!(
                !matches!(e, DinteroError::OtherApi { .. }),
                "{code} unmapped"
            );
            assert!(seen.insert(e.code()), "{code} maps to a code used twice");
        }
    }

    #[test]
    fn unknown_codes_fall_back_on_the_status() {
        assert_eq!(
            DinteroError::from_api(503, "X", "", None, Call::Settle),
            DinteroError::Server { status: 503 }
        );
        assert_eq!(
            DinteroError::from_api(418, "TEAPOT", "", None, Call::Admin),
            DinteroError::OtherApi {
                status: 418,
                code: "TEAPOT".into()
            }
        );
    }

    #[test]
    fn an_unknown_refusal_of_a_pin_call_is_the_cards_not_the_configurations() {
        for call in [
            Call::Transaction { pin: true },
            Call::Lookup {
                by_token: true,
                pin: true,
            },
        ] {
            let e = DinteroError::from_api(
                403,
                "wallet.pin.mismatch",
                "PIN does not match for card 9578000000001001",
                None,
                call,
            );
            match &e {
                DinteroError::CardRefused { message, .. } => {
                    assert!(message.contains("PIN does not match"), "{message}");
                    assert!(!message.contains("9578000000001001"), "{message}");
                }
                other => panic!("{call:?}: {other:?}"),
            }
            assert_eq!(e.retry_advice(), RetryAdvice::Never);
        }
        // Without a PIN, a 403 is about the API client's grants.
        assert_eq!(
            DinteroError::from_api(403, "x", "", None, Call::Admin),
            DinteroError::Forbidden
        );
        // Any other 4xx on a card call is the card's refusal too, with Dintero's words.
        assert!(matches!(
            DinteroError::from_api(
                422,
                "balance_too_low",
                "Not enough funds",
                None,
                Call::Transaction { pin: false }
            ),
            DinteroError::CardRefused { status: 422, .. }
        ));
        // Contextual not-founds and conflicts.
        assert_eq!(
            DinteroError::from_api(
                404,
                "",
                "",
                None,
                Call::Lookup {
                    by_token: true,
                    pin: false
                }
            ),
            DinteroError::TokenNotFound
        );
        assert_eq!(
            DinteroError::from_api(404, "", "", None, Call::Settle),
            DinteroError::TransactionNotFound
        );
        assert_eq!(
            DinteroError::from_api(409, "already_active", "", None, Call::Activate),
            DinteroError::CardAlreadyActive
        );
        assert_eq!(
            DinteroError::from_api(401, "", "", None, Call::Auth),
            DinteroError::InvalidClient
        );
    }

    #[test]
    fn retry_advice_separates_unknown_outcomes() {
        assert_eq!(
            DinteroError::ConnectionRefused.retry_advice(),
            RetryAdvice::Safe
        );
        assert_eq!(
            DinteroError::Timeout.retry_advice(),
            RetryAdvice::SameRefIdOnly
        );
        assert_eq!(
            DinteroError::Server { status: 502 }.retry_advice(),
            RetryAdvice::SameRefIdOnly
        );
        assert_eq!(
            DinteroError::InsufficientFunds.retry_advice(),
            RetryAdvice::Never
        );
        assert!(!DinteroError::PinInvalid.is_transient());
    }
}
