//! The UI's contract (`ui/src/contract.json`) against the Rust side: the commands the
//! shell registers and the capability grants, the events, the error codes, and the shape
//! of every value a command returns — taken from a real training terminal, not written
//! by hand.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use giftpos_app::Pin;
use giftpos_app::SystemClock;
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::{Activation, ErrorCode, Terminal};
use serde::Serialize;
use serde_json::Value;

fn contract() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/contract.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Checks a value's fields against the contract's type: every required field present,
/// nothing the contract does not name.
fn check<T: Serialize>(c: &Value, ty: &str, value: &T) {
    let v = serde_json::to_value(value).unwrap();
    let fields = c["types"][ty]
        .as_array()
        .unwrap_or_else(|| panic!("contract has no type {ty}"));
    let all: BTreeSet<String> = fields
        .iter()
        .map(|f| f.as_str().unwrap().trim_end_matches('?').to_string())
        .collect();
    let required: BTreeSet<String> = fields
        .iter()
        .map(|f| f.as_str().unwrap())
        .filter(|f| !f.ends_with('?'))
        .map(str::to_string)
        .collect();
    let got = keys(&v);
    assert!(
        required.is_subset(&got),
        "{ty}: missing {:?} in {v}",
        required.difference(&got).collect::<Vec<_>>()
    );
    assert!(
        got.is_subset(&all),
        "{ty}: the contract does not name {:?}",
        got.difference(&all).collect::<Vec<_>>()
    );
}

#[test]
fn the_shell_registers_and_grants_exactly_the_contract_commands_and_events() {
    let c = contract();
    let commands = keys(&c["commands"]);
    let registered: BTreeSet<String> = giftpos_terminal::COMMANDS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(commands, registered);
    let cap: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities/default.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let granted: BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .filter(|p| !p.starts_with("core:event:"))
        .collect();
    let wanted: BTreeSet<String> = commands
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    assert_eq!(granted, wanted, "capabilities/default.json");
    let events: BTreeSet<String> = giftpos_terminal::EVENTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(keys(&c["events"]), events);
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let listed: Vec<&str> = c["error_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(codes, listed, "contract.error_codes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_value_the_commands_return_has_the_contract_shape() {
    let c = contract();
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        env: [(
            "GIFTPOS_DATA_DIR".to_string(),
            dir.path().display().to_string(),
        )]
        .into_iter()
        .collect(),
        // As IT (root) would: every layer counts.
        privileged: true,
        ..LoadOptions::default()
    };
    let cfg = config::load(&opts).unwrap();
    let t = Terminal::open(cfg.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let pin = |p: &str| Pin::parse(p).unwrap();

    check(&c, "TerminalInfo", &t.info());
    check(&c, "SyncStatus", &t.sync_status().unwrap());
    let clerk = t.sign_in("1", &pin("1111")).unwrap();
    check(&c, "Clerk", &clerk);
    let refused = t.sign_in("1", &pin("0000")).unwrap_err();
    check(&c, "AppError", &refused);
    check(
        &c,
        "ReaderState",
        &giftpos_app::ReaderState {
            port: "/dev/ttyACM0".into(),
            connected: true,
            last_error: None,
            dropped: 0,
        },
    );

    let scan = t.scan("9578000000001003");
    check(&c, "ScanResult", &scan);
    check(&c, "ScanResult", &t.scan("giftpos:entry:abc-123"));
    check(&c, "ScanResult", &t.scan("7038010069307"));
    check(&c, "ScanResult", &t.scan("95780000000010"));

    let live = t.parse_token("9578000000002001").unwrap();
    check(
        &c,
        "BalanceView",
        &t.balance(&live, Some(&pin("6001"))).await.unwrap(),
    );

    let card = t.card_input(scan.handle.as_deref().unwrap()).unwrap();
    let sold = t
        .activate(Activation {
            token: card.clone(),
            amount: t.parse_amount("300").unwrap(),
            transaction_id: "T12345678.demo-paid-500".into(),
            customer_id: None,
            expires_at: None,
        })
        .await
        .unwrap();
    check(&c, "OperationResult", &sold);
    let r = t
        .reserve(&card, t.parse_amount("10").unwrap(), &pin("4003"))
        .await
        .unwrap();
    check(&c, "Reservation", &r);
    check(
        &c,
        "OperationResult",
        &t.complete(&t.reservation(&r.operation_id).unwrap(), None)
            .await
            .unwrap(),
    );
    let stock = t.parse_token("9578000000001004").unwrap();
    let payment = t
        .start_payment(&stock, t.parse_amount("200").unwrap())
        .await
        .unwrap();
    check(
        &c,
        "PaymentView",
        &giftpos_terminal::PaymentView {
            qr_svg: payment.qr_svg(),
            payment,
        },
    );
    let split = t
        .start_pay_rest(
            &t.parse_token("9578000000002003").unwrap(),
            &pin("6003"),
            t.parse_amount("400").unwrap(),
        )
        .await
        .unwrap();
    assert!(split.gift_card_part.is_some() && split.rest.is_some());
    check(
        &c,
        "PaymentView",
        &giftpos_terminal::PaymentView {
            qr_svg: split.qr_svg(),
            payment: split,
        },
    );
    let history = t.history(None).unwrap();
    assert!(history.len() >= 3);
    for item in &history {
        check(&c, "HistoryItem", item);
    }
    check(&c, "Printed", &t.print_receipt(&sold.operation_id).unwrap());
    for s in t.settings() {
        check(&c, "Setting", &s);
    }
    let report = giftpos_app::Terminal::diagnose(Ok(cfg), Arc::new(SystemClock)).await;
    for ch in &report.checks {
        check(&c, "Check", ch);
    }
    check(&c, "DoctorReport", &report);
    check(
        &c,
        "SettingsView",
        &giftpos_terminal::SettingsView {
            settings: t.settings(),
            doctor: report,
        },
    );

    let mut events = t.engine().subscribe();
    t.engine().wake();
    check(
        &c,
        "SyncEvent",
        &giftpos_app::sync::SyncEvent::Status(t.sync_status().unwrap()),
    );
    let paid = giftpos_app::tender::Payment::Dintero("T12345678.demo-paid-1000".into());
    let _ = t
        .top_up(&live, t.parse_amount("1").unwrap(), paid)
        .await
        .unwrap();
    while let Ok(ev) = events.try_recv() {
        check(&c, "SyncEvent", &ev);
    }
}
