//! Secrets the terminal handles but must never show: a card's PIN and the API client
//! secret. Neither implements `Serialize`, and `Debug`/`Display` print a redaction, so a
//! secret cannot reach a log, the journal or a JSON answer by accident.

use std::fmt;

/// A card PIN as the customer typed it. Never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

/// Why a PIN was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("no PIN was entered")]
    Empty,
    #[error("the PIN is too long (at most 64 characters)")]
    TooLong,
    #[error("the PIN contains a character that cannot be part of a PIN")]
    InvalidCharacter,
}

impl Pin {
    /// Accepts 1–64 printable characters (surrounding whitespace dropped).
    pub fn parse(s: &str) -> Result<Pin, PinError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(PinError::Empty);
        }
        if t.chars().count() > 64 {
            return Err(PinError::TooLong);
        }
        if t.chars().any(char::is_control) {
            return Err(PinError::InvalidCharacter);
        }
        Ok(Pin(t.to_string()))
    }

    /// The PIN, for the one request body that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Any other secret text (the client secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_redacted_and_checked() {
        let p = Pin::parse(" 4321 ").unwrap();
        assert_eq!(p.expose(), "4321");
        assert!(!format!("{p:?}").contains("4321"));
        assert_eq!(Pin::parse(""), Err(PinError::Empty));
        assert_eq!(Pin::parse("12\u{7}3"), Err(PinError::InvalidCharacter));
        assert_eq!(Pin::parse(&"1".repeat(65)), Err(PinError::TooLong));
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }
}
