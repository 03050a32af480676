//! Card states as Dintero reports them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A card's status. The documented ones are named; anything else is kept exactly as it
/// came, so a new status from Dintero is shown instead of failing to parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CardStatus {
    /// A printed batch card, not yet sold: cannot pay.
    Inactive,
    /// Alternative name for `Inactive` in one Dintero changelog.
    Created,
    /// Activated, never used.
    Unused,
    /// Used at least once. Not documented by Dintero; our sandbox reports it.
    Active,
    /// Any other status, as it came.
    Other(String),
}

impl CardStatus {
    /// Parses a status string; never fails.
    pub fn parse(s: &str) -> CardStatus {
        match s {
            "inactive" => CardStatus::Inactive,
            "created" => CardStatus::Created,
            "unused" => CardStatus::Unused,
            "active" => CardStatus::Active,
            other => CardStatus::Other(other.to_string()),
        }
    }

    /// The status as Dintero spells it.
    pub fn as_str(&self) -> &str {
        match self {
            CardStatus::Inactive => "inactive",
            CardStatus::Created => "created",
            CardStatus::Unused => "unused",
            CardStatus::Active => "active",
            CardStatus::Other(s) => s,
        }
    }

    /// A sold card may be activated only from these states.
    pub fn awaits_activation(&self) -> bool {
        matches!(self, CardStatus::Inactive | CardStatus::Created)
    }

    /// Whether the card has been activated (known states only).
    pub fn is_activated(&self) -> bool {
        matches!(self, CardStatus::Unused | CardStatus::Active)
    }
}

impl Default for CardStatus {
    /// What an answer without a readable status is taken as: neither awaiting
    /// activation nor activated, so nothing acts on it as if it were known.
    fn default() -> Self {
        CardStatus::Other("unknown".into())
    }
}

impl fmt::Display for CardStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CardStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CardStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(CardStatus::parse(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_are_kept_as_they_came() {
        let s: CardStatus = serde_json::from_str(r#""blocked_by_fraud""#).unwrap();
        assert_eq!(s, CardStatus::Other("blocked_by_fraud".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""blocked_by_fraud""#);
        assert!(!s.awaits_activation() && !s.is_activated());
    }

    #[test]
    fn known_statuses_round_trip() {
        for name in ["inactive", "created", "unused", "active"] {
            let s = CardStatus::parse(name);
            assert!(!matches!(s, CardStatus::Other(_)));
            assert_eq!(s.as_str(), name);
        }
        assert!(CardStatus::Created.awaits_activation());
        assert!(CardStatus::Unused.is_activated());
    }
}
