//! Error codes in `{"error":{"code":…}}`. Dintero publishes no wallet-specific codes;
//! these are our decisions (see `docs/dintero-decisions.md`), shared by the client and
//! the sandbox. Each pairs with one HTTP status in [`status_of`].

pub const INVALID_CLIENT: &str = "INVALID_CLIENT";
pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const VALIDATION: &str = "VALIDATION_ERROR";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const RATE_LIMITED: &str = "RATE_LIMITED";
pub const SERVER_ERROR: &str = "SERVER_ERROR";
pub const PIN_INVALID: &str = "WALLET_PIN_INVALID";
pub const PIN_REQUIRED: &str = "WALLET_PIN_REQUIRED";
pub const PIN_LOCKED: &str = "WALLET_PIN_LOCKED";
pub const INSUFFICIENT_FUNDS: &str = "WALLET_INSUFFICIENT_FUNDS";
pub const CARD_INACTIVE: &str = "WALLET_CARD_INACTIVE";
pub const CARD_EXPIRED: &str = "WALLET_CARD_EXPIRED";
pub const CARD_NOT_YET_ACTIVE: &str = "WALLET_CARD_NOT_YET_ACTIVE";
pub const CARD_ALREADY_ACTIVE: &str = "WALLET_CARD_ALREADY_ACTIVE";
pub const CARD_EXISTS: &str = "WALLET_CARD_EXISTS";
pub const TOKEN_NOT_FOUND: &str = "WALLET_TOKEN_NOT_FOUND";
pub const CARD_NOT_FOUND: &str = "WALLET_CARD_NOT_FOUND";
pub const TRANSACTION_NOT_FOUND: &str = "WALLET_TRANSACTION_NOT_FOUND";
pub const TRANSACTION_NOT_PENDING: &str = "WALLET_TRANSACTION_NOT_PENDING";
pub const CAPTURE_EXCEEDS_PENDING: &str = "WALLET_CAPTURE_EXCEEDS_PENDING";
pub const CURRENCY_MISMATCH: &str = "WALLET_CURRENCY_MISMATCH";
pub const REF_ID_CONFLICT: &str = "WALLET_REF_ID_CONFLICT";
/// Checkout: the session or payment transaction is in a state that does not allow
/// this (paid, cancelled, expired, nothing to capture or refund).
pub const PAYMENT_STATE: &str = "PAYMENT_STATE_CONFLICT";

/// Every code with the HTTP status it is sent with.
pub const ALL: &[(&str, u16)] = &[
    (INVALID_CLIENT, 401),
    (UNAUTHORIZED, 401),
    (FORBIDDEN, 403),
    (VALIDATION, 400),
    (NOT_FOUND, 404),
    (RATE_LIMITED, 429),
    (SERVER_ERROR, 500),
    (PIN_INVALID, 403),
    (PIN_REQUIRED, 403),
    (PIN_LOCKED, 423),
    (INSUFFICIENT_FUNDS, 422),
    (CARD_INACTIVE, 422),
    (CARD_EXPIRED, 422),
    (CARD_NOT_YET_ACTIVE, 422),
    (CARD_ALREADY_ACTIVE, 409),
    (CARD_EXISTS, 409),
    (TOKEN_NOT_FOUND, 404),
    (CARD_NOT_FOUND, 404),
    (TRANSACTION_NOT_FOUND, 404),
    (TRANSACTION_NOT_PENDING, 409),
    (CAPTURE_EXCEEDS_PENDING, 422),
    (CURRENCY_MISMATCH, 422),
    (REF_ID_CONFLICT, 409),
    (PAYMENT_STATE, 409),
];

/// The HTTP status a code is sent with.
pub fn status_of(code: &str) -> u16 {
    ALL.iter()
        .find(|(c, _)| *c == code)
        .map(|(_, s)| *s)
        .unwrap_or(400)
}
