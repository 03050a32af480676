//! What an entry's hash covers (pure): shared by appending, verifying and archiving.

use sha2::{Digest, Sha256};

/// The immutable content an entry's hash covers.
pub(crate) struct Content<'a> {
    pub(crate) seq: i64,
    pub(crate) id: &'a str,
    pub(crate) terminal_id: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) card_key: &'a str,
    pub(crate) card_masked: &'a str,
    pub(crate) amount: i64,
    pub(crate) currency: &'a str,
    pub(crate) clerk: Option<&'a str>,
    pub(crate) metadata: &'a str,
    pub(crate) ref_id: Option<&'a str>,
    pub(crate) parent_id: Option<&'a str>,
    pub(crate) created_at: &'a str,
}

impl Content<'_> {
    pub(crate) fn hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        field(prev);
        field(&self.seq.to_string());
        field(self.id);
        field(self.terminal_id);
        field(self.kind);
        field(self.card_key);
        field(self.card_masked);
        field(&self.amount.to_string());
        field(self.currency);
        field(self.clerk.unwrap_or("\u{0}"));
        field(self.metadata);
        field(self.ref_id.unwrap_or("\u{0}"));
        field(self.parent_id.unwrap_or("\u{0}"));
        field(self.created_at);
        hex(&h.finalize())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
