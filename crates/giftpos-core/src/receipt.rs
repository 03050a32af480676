//! What the QR code on our receipts says: a prefix and the journal entry's id. Printed
//! by `giftpos-print`, recognised by `giftpos-scanner` (which reads it back into the
//! entry).

/// The payload of the QR code on our receipts: this prefix and the journal entry's id.
pub const RECEIPT_PREFIX: &str = "giftpos:entry:";

/// The QR payload naming a journal entry.
pub fn receipt_payload(entry_id: &str) -> String {
    format!("{RECEIPT_PREFIX}{entry_id}")
}
