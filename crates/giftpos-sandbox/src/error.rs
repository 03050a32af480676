//! The sandbox's error answers in Dintero's shape (`{"error": {"code", "message"}}`),
//! shared by the wallet and Checkout rules (siblings: neither depends on the other's
//! module for them).

use giftpos_dintero::wire::codes;

/// An error answer in Dintero's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn status(&self) -> u16 {
        codes::status_of(self.code)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
