//! The shell on Tauri's mock runtime: the real commands, state and event forwarding of
//! `giftpos_terminal::build`, invoked the way the page invokes them, without a window
//! system. The terminal behind it is real (training mode: the embedded sandbox over
//! loopback HTTP, a SQLite journal in a temporary directory).

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use giftpos_app::config::LoadOptions;
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{Listener, Manager, WebviewWindow, WebviewWindowBuilder};

fn invoke(
    w: &WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn the_commands_answer_through_the_mock_runtime_and_sync_events_reach_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        (
            "GIFTPOS_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("GIFTPOS_TERMINAL_ID", "T-SHELL".to_string()),
        ("GIFTPOS_CUSTOMER_DISPLAY", "1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let opts = LoadOptions {
        explicit: None,
        env,
        system_file: None,
        user_file: None,
        privileged: true,
        trusted_owners: vec![0],
    };
    let mut app = giftpos_terminal::build(mock_builder(), opts)
        .build(mock_context(noop_assets()))
        .expect("the app builds on the mock runtime");
    // The first iteration runs the app's set-up: the terminal opens, the background
    // starts. Once, not in a loop: what its deprecation warns of (busy-looping) does
    // not apply, and `run_return` would block the test.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let w = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    // What the page asks first.
    let info = invoke(&w, "app_info", json!({})).unwrap();
    assert_eq!(info["training"], true, "{info}");
    assert_eq!(info["terminal_id"], "T-SHELL");
    // No serial reader configured: no scanner state.
    assert_eq!(invoke(&w, "scanner_state", json!({})).unwrap(), Value::Null);

    // Operations need a signed-in clerk; errors reach the page as the stable code.
    let refused = invoke(&w, "balance", json!({"card": "9578000000001001"})).unwrap_err();
    assert_eq!(refused["code"], "not_signed_in", "{refused}");
    let wrong = invoke(&w, "sign_in", json!({"number": "1", "pinCode": "0000"})).unwrap_err();
    assert_eq!(wrong["code"], "sign_in_failed", "{wrong}");
    let clerk = invoke(&w, "sign_in", json!({"number": "1", "pinCode": "1111"})).unwrap();
    assert_eq!(clerk["number"], "1");

    // The customer's screen: a second window, told what to show.
    let customer = app
        .get_webview_window("customer")
        .expect("[terminal] customer_display opens the customer's window");
    let (ctx, crx) = mpsc::channel();
    customer.listen("customer", move |e| {
        let _ = ctx.send(serde_json::from_str::<Value>(e.payload()).unwrap());
    });

    // A sale through the real terminal; its sync events are forwarded to the page.
    let (tx, rx) = mpsc::channel();
    app.listen("sync", move |e| {
        let _ = tx.send(e.payload().to_string());
    });
    let sold = invoke(
        &w,
        "sell",
        json!({"card": "9578000000001001", "amount": "500", "transactionId": "T12345678.demo-paid-500"}),
    )
    .unwrap();
    assert_eq!(sold["state"], "confirmed", "{sold}");
    assert_eq!(sold["amount"]["amount"], 50_000, "{sold}");
    let mut seen = Vec::new();
    while let Ok(ev) = rx.recv_timeout(Duration::from_secs(10)) {
        let done = ev.contains("\"status\"")
            || ev.contains(&sold["operation_id"].as_str().unwrap().to_string());
        seen.push(ev);
        if done {
            break;
        }
    }
    assert!(!seen.is_empty(), "no sync event reached the page");
    let thanks = crx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(thanks["state"], "thanks", "{thanks}");
    assert_eq!(thanks["amount"]["amount"], 50_000);
    assert_eq!(
        thanks["balance"]["amount"], 50_000,
        "the card's balance: {thanks}"
    );

    // Pay with Dintero: the amount and the QR code on the customer's screen; cancelled,
    // it goes back to idle.
    let pay = invoke(
        &w,
        "start_payment",
        json!({"card": "9578000000001002", "amount": "200"}),
    )
    .unwrap();
    let shown = crx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(shown["state"], "pay");
    assert_eq!(shown["amount"]["amount"], 20_000);
    assert_eq!(
        shown["qr_svg"], pay["qr_svg"],
        "the same QR code as the clerk's screen"
    );
    invoke(
        &w,
        "cancel_payment",
        json!({"operationId": pay["operation_id"]}),
    )
    .unwrap();
    assert_eq!(
        crx.recv_timeout(Duration::from_secs(10)).unwrap()["state"],
        "idle"
    );

    // History carries the core's decisions: the sale may be undone.
    let history = invoke(&w, "history", json!({})).unwrap();
    let item = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == sold["operation_id"])
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(item["can_undo"], true, "{item}");

    // Settings: the terminal's settings view, doctor included.
    let settings = invoke(&w, "settings", json!({})).unwrap();
    assert!(
        settings["settings"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(settings["doctor"]["checks"].is_array(), "{settings}");
}
