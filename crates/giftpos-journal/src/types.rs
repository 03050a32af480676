//! The journal's types: entries as recorded and as they stand, counts, the card cache,
//! what `verify` found, and why the journal refused.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use giftpos_core::{Money, OperationKind};
use serde::Serialize;

/// Why the journal refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error(
        "the journal {path} is unreadable or corrupt ({detail}); it was left untouched — move it aside only after support has saved it"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the journal {path} was written by a newer giftpos (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the disk holding the journal {path} is full; nothing was recorded or sent")]
    Full { path: PathBuf },
    #[error("the journal {path} cannot be written: {detail}")]
    Io { path: PathBuf, detail: String },
    #[error("no journal entry {0}")]
    NotFound(String),
    #[error("journal entry {0} is not in a state that allows this")]
    WrongState(String),
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Durable, not yet sent.
    Recorded,
    /// Sent at least once; the answer is not yet known to be final.
    Sent,
    /// Dintero applied it.
    Confirmed,
    /// Dintero refused it (the reason says why); nothing was applied.
    Refused,
    /// A person must look: a conflict, or money at risk.
    NeedsAttention,
}

impl EntryState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Recorded => "recorded",
            EntryState::Sent => "sent",
            EntryState::Confirmed => "confirmed",
            EntryState::Refused => "refused",
            EntryState::NeedsAttention => "needs_attention",
        }
    }

    pub(crate) fn parse(s: &str) -> EntryState {
        match s {
            "recorded" => EntryState::Recorded,
            "sent" => EntryState::Sent,
            "confirmed" => EntryState::Confirmed,
            "refused" => EntryState::Refused,
            _ => EntryState::NeedsAttention,
        }
    }

    /// Still to be sent (or resent).
    pub fn is_open(self) -> bool {
        matches!(self, EntryState::Recorded | EntryState::Sent)
    }
}

/// What the caller records.
#[derive(Clone)]
pub struct NewEntry {
    pub id: String,
    pub kind: OperationKind,
    /// The printed token, when the operation starts from a scan.
    pub card_token: Option<String>,
    pub card_masked: String,
    /// When the card's Dintero id is known already.
    pub card_id: Option<String>,
    /// Groups this card's entries; [`Journal::card_key`] of the token, or of the card id.
    pub card_key: String,
    pub amount: Money,
    pub clerk: Option<String>,
    pub metadata: crate::EntryMeta,
    /// Capture/void: the redemption entry they settle.
    pub parent_id: Option<String>,
}

impl fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEntry")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("card", &self.card_masked)
            .field("amount", &self.amount)
            .finish_non_exhaustive()
    }
}

/// A journal entry with its state.
#[derive(Clone, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub id: String,
    pub terminal_id: String,
    pub kind: OperationKind,
    pub card_key: String,
    pub card: String,
    /// Present only until the entry is confirmed. Never serialized.
    #[serde(skip)]
    pub card_token: Option<String>,
    pub card_id: Option<String>,
    pub amount: Money,
    pub clerk: Option<String>,
    pub metadata: crate::EntryMeta,
    pub ref_id: Option<String>,
    pub parent_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub hash: String,
    pub prev_hash: String,
    pub state: EntryState,
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub server_transaction_id: Option<String>,
    /// The card's balance after it, in the entry's currency, when Dintero said.
    pub balance_after: Option<Money>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Failures where Dintero answered but the entry could not complete (see
    /// [`Journal::retry_later`]); offline attempts are not counted here.
    pub failures: i64,
    pub first_failure_at: Option<DateTime<Utc>>,
    /// A Checkout payment a gift card paid part of: the card's part, once Dintero
    /// said (see [`Journal::set_split`]).
    pub gift_card_part: Option<Money>,
    /// …and how the rest was paid: Dintero's payment product type (`payex.creditcard`,
    /// `dintero.zero` when the card paid everything).
    pub paid_with: Option<String>,
    /// A Checkout capture or refund Dintero accepted (202): the `event-request-id` its
    /// outcome will carry as `correlation_request_id`.
    pub accepted_request: Option<String>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("seq", &self.seq)
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("card", &self.card)
            .field("amount", &self.amount)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Whether the entry was recorded while Dintero could not be reached.
    pub fn recorded_offline(&self) -> bool {
        self.metadata.offline
    }
}

/// Counts for the status bar and `giftpos sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: u64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    pub needs_attention: u64,
}

/// A card's last known balance (for the offline balance view).
#[derive(Debug, Clone, Serialize)]
pub struct CachedCard {
    pub card_id: String,
    pub card: String,
    pub status: String,
    pub available: Option<i64>,
    pub currency: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

/// What `journal verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub entries: u64,
    pub problems: Vec<String>,
    /// Anchors the chain was compared with (`journal verify --anchors`), and where
    /// they were read.
    #[serde(default)]
    pub anchors_checked: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchor_sources: Vec<String>,
}
