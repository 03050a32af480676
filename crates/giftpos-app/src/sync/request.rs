//! What goes to Dintero for a journal entry: the request, built from the entry alone —
//! pure, as the planner is, so a resend is byte-for-byte the first request and the
//! rules are table-tested here rather than through HTTP.

use chrono::{DateTime, Utc};
use giftpos_core::OperationKind;
use giftpos_dintero::wire::{
    ActivateRequest, CaptureRequest, META_OPERATION_ID, META_PAYMENT_ON_CARD,
    META_PAYMENT_ON_TRANSACTION, META_TERMINAL_ID, Metadata, TransactionKind, TransactionRequest,
    VoidRequest,
};
use giftpos_journal::Entry;

/// The metadata sent with an entry's request: its own keys but the local ones, the
/// entry's and terminal's ids. Dintero reserves `dintero_*` and documents
/// `dintero_transaction_id` on a card's activation only: on a transaction (a top-up's
/// fund) the payment goes under our own key.
pub(super) fn metadata(e: &Entry) -> Metadata {
    let mut m: Metadata = e.metadata.to_dintero().into_iter().collect();
    if e.kind != OperationKind::Activate
        && let Some(id) = m.remove(META_PAYMENT_ON_CARD)
    {
        m.insert(META_PAYMENT_ON_TRANSACTION.into(), id);
    }
    m.insert(META_OPERATION_ID.into(), e.id.clone().into());
    m.insert(META_TERMINAL_ID.into(), e.terminal_id.clone().into());
    m
}

/// The retry key: the entry's `ref_id`, else its id.
fn ref_id(e: &Entry) -> String {
    e.ref_id.clone().unwrap_or_else(|| e.id.clone())
}

/// A card sold: its activation with the amount and the payment in metadata.
pub(super) fn activation(e: &Entry) -> ActivateRequest {
    ActivateRequest {
        amount: e.amount.minor(),
        currency: e.amount.currency().code().to_string(),
        customer_id: e.metadata.customer_id.clone(),
        name: None,
        originated_by: Some(e.terminal_id.clone()),
        active_from: None,
        expires_at: e
            .metadata
            .expires_at
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc)),
        metadata: metadata(e),
    }
}

/// A top-up or refund (a fund) or a reservation (a pending drawdown). Always by card
/// id and without the PIN: the PIN was checked by the look-up before anything was
/// recorded, so the first request and any resend are the same request.
pub(super) fn transaction(e: &Entry, card_id: &str) -> TransactionRequest {
    let redeem = e.kind == OperationKind::Redeem;
    TransactionRequest {
        ref_id: ref_id(e),
        amount: e.amount.minor(),
        currency: e.amount.currency().code().to_string(),
        kind: if redeem {
            TransactionKind::Drawdown
        } else {
            TransactionKind::Fund
        },
        token: None,
        card_id: Some(card_id.to_string()),
        pending: redeem.then_some(true),
        pin: None,
        metadata: metadata(e),
        originated_by: Some(e.terminal_id.clone()),
    }
}

/// Completing a reservation: a capture of the entry's amount.
pub(super) fn capture(e: &Entry) -> CaptureRequest {
    CaptureRequest {
        ref_id: ref_id(e),
        amount: Some(e.amount.minor()),
        metadata: metadata(e),
    }
}

/// Releasing a reservation (or its rest).
pub(super) fn void(e: &Entry) -> VoidRequest {
    VoidRequest {
        ref_id: ref_id(e),
        metadata: metadata(e),
    }
}

#[cfg(test)]
mod tests {
    use giftpos_core::{Currency, Money};
    use giftpos_journal::{EntryMeta, EntryState};
    use serde_json::json;

    use super::*;

    fn entry(kind: OperationKind, meta: EntryMeta) -> Entry {
        let t: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        Entry {
            seq: 1,
            id: "e-1".into(),
            terminal_id: "till-1".into(),
            kind,
            card_key: "k".into(),
            card: "************1001".into(),
            card_token: Some("9578000000001001".into()),
            card_id: Some("c-1".into()),
            amount: Money::from_minor(12_050, Currency::parse("NOK").unwrap()).unwrap(),
            clerk: Some("7".into()),
            metadata: meta,
            ref_id: Some("r-1".into()),
            parent_id: None,
            created_at: t,
            hash: String::new(),
            prev_hash: String::new(),
            state: EntryState::Recorded,
            reason: None,
            attempts: 0,
            next_attempt_at: None,
            server_transaction_id: None,
            balance_after: None,
            last_error: None,
            updated_at: t,
            failures: 0,
            first_failure_at: None,
            gift_card_part: None,
            paid_with: None,
            accepted_request: None,
        }
    }

    fn paid(id: &str) -> EntryMeta {
        EntryMeta {
            dintero_transaction_id: Some(id.into()),
            offline: true,
            override_by: Some("9".into()),
            ..EntryMeta::default()
        }
    }

    #[test]
    fn each_entry_becomes_its_request() {
        // (kind, wallet transaction type, pending, where the payment goes)
        let cases = [
            (OperationKind::Redeem, TransactionKind::Drawdown, Some(true)),
            (OperationKind::TopUp, TransactionKind::Fund, None),
            (OperationKind::Refund, TransactionKind::Fund, None),
        ];
        for (kind, want, pending) in cases {
            let e = entry(kind, paid("T1.pay"));
            let r = transaction(&e, "c-1");
            assert_eq!((r.kind, r.pending), (want, pending), "{kind:?}");
            assert_eq!(r.ref_id, "r-1");
            assert_eq!((r.amount, r.currency.as_str()), (12_050, "NOK"));
            assert_eq!(r.card_id.as_deref(), Some("c-1"), "by card id");
            assert!(
                r.token.is_none() && r.pin.is_none(),
                "never the token or PIN"
            );
            assert_eq!(r.metadata[META_PAYMENT_ON_TRANSACTION], json!("T1.pay"));
            assert!(!r.metadata.contains_key(META_PAYMENT_ON_CARD), "{kind:?}");
            assert_eq!(transaction(&e, "c-1"), r, "a resend is the same request");
        }
        let sale = entry(OperationKind::Activate, paid("T1.pay"));
        let a = activation(&sale);
        assert_eq!(a.metadata[META_PAYMENT_ON_CARD], json!("T1.pay"));
        assert_eq!(a.metadata[META_OPERATION_ID], json!("e-1"));
        assert_eq!(a.metadata[META_TERMINAL_ID], json!("till-1"));
        for local in ["offline", "_override_by"] {
            assert!(!a.metadata.contains_key(local), "{local} is never sent");
        }
        let settle = entry(OperationKind::Capture, EntryMeta::default());
        assert_eq!(capture(&settle).amount, Some(12_050));
        assert_eq!(void(&settle).ref_id, "r-1");
    }

    #[test]
    fn an_activation_carries_a_valid_expiry_and_drops_an_odd_one() {
        let mut meta = EntryMeta {
            expires_at: Some("2027-12-31T23:59:59+01:00".into()),
            ..EntryMeta::default()
        };
        let at = activation(&entry(OperationKind::Activate, meta.clone())).expires_at;
        assert_eq!(
            at,
            Some("2027-12-31T22:59:59Z".parse::<DateTime<Utc>>().unwrap())
        );
        meta.expires_at = Some("next year".into());
        assert_eq!(
            activation(&entry(OperationKind::Activate, meta)).expires_at,
            None
        );
    }
}
