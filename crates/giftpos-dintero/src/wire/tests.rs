use super::*;
use giftpos_core::CardStatus;

#[test]
fn unknown_fields_and_values_do_not_fail() {
    let j = r#"{"card_id":"c1","status":"frozen","brand_new_field":{"x":1},
                "amount_available":500,"tokens":[{"masked_code":"****1001","extra":true}]}"#;
    let c: Card = serde_json::from_str(j).unwrap();
    assert_eq!(c.status, CardStatus::Other("frozen".into()));
    assert_eq!(c.amount_available, Some(500));
    let t: Transaction = serde_json::from_str(
        r#"{"id":"t","amount":1,"currency":"NOK","type":"chargeback","new":1}"#,
    )
    .unwrap();
    assert_eq!(t.kind, TransactionType::Other("chargeback".into()));
}

#[test]
fn every_code_has_a_client_error_status() {
    for (code, status) in codes::ALL {
        assert_eq!(codes::status_of(code), *status);
        assert!((400..600).contains(status), "{code}");
    }
}

#[test]
fn account_ids_are_checked() {
    assert!(AccountId::parse("T12345678").unwrap().is_test());
    assert!(!AccountId::parse("P00000001").unwrap().is_test());
    for bad in ["X12345678", "T1234567", "T123456789", "t12345678", ""] {
        assert!(AccountId::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn secrets_do_not_show_in_debug() {
    let r = TransactionRequest {
        ref_id: "r".into(),
        amount: 1,
        currency: "NOK".into(),
        kind: TransactionKind::Drawdown,
        token: Some("9578000000001001".into()),
        card_id: None,
        pending: Some(true),
        pin: Some("4321".into()),
        metadata: Metadata::new(),
        originated_by: None,
    };
    let d = format!("{r:?}");
    assert!(!d.contains("9578000000001001") && !d.contains("4321"));
    let i = InfoRequest {
        token: "9578000000001001".into(),
        pin: Some("4321".into()),
    };
    assert!(!format!("{i:?}").contains("4321"));
}

#[test]
fn transaction_lists_accept_both_envelopes() {
    let t = r#"{"id":"t","amount":1,"currency":"NOK","type":"fund"}"#;
    for odd in [
        r#"{"items":[]}"#,
        r#""none""#,
        "42",
        r#"{"transactions":{}}"#,
    ] {
        assert!(
            serde_json::from_str::<TransactionList>(odd).is_err(),
            "{odd} must not read as an empty list"
        );
    }
    let paged: TransactionList =
        serde_json::from_str(r#"{"transactions":[],"starting_after":"tx_9"}"#).unwrap();
    assert_eq!(paged.starting_after.as_deref(), Some("tx_9"));
    let a: TransactionList = serde_json::from_str(&format!("[{t}]")).unwrap();
    let b: TransactionList = serde_json::from_str(&format!(r#"{{"transactions":[{t}]}}"#)).unwrap();
    assert_eq!(a.into_vec().len(), 1);
    assert_eq!(b.into_vec().len(), 1);
}
