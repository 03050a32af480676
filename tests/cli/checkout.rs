//! Paying for a sold card through Dintero Checkout, with the real `giftpos` binary against
//! the sandbox over loopback; the customer is played by the test, which opens the
//! session's payer page (the URL the terminal prints and shows as a QR code) and presses
//! Pay or Cancel.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{clean, env_for, press, run_input, sandbox_at};
use giftpos_sandbox::Sandbox;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

fn giftpos(sb: &Sandbox, home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home);
    cmd.envs(env_for(sb, &home.join("till")))
        .env("GIFTPOS_PAYMENT_PROFILE", "P00000000.giftcards-till");
    cmd
}

/// Starts `giftpos sell … --pay dintero` and returns the process and the payer URL it
/// printed.
fn start_sale(sb: &Sandbox, home: &Path, token: &str, wait: bool) -> (Child, String) {
    start(sb, home, &["sell", token, "--amount", "500"], wait)
}

/// Starts `giftpos ARGS --pay dintero` and returns the process and the payer URL it
/// printed.
fn start(sb: &Sandbox, home: &Path, args: &[&str], wait: bool) -> (Child, String) {
    let mut cmd = giftpos(sb, home);
    cmd.args(args).args(["--pay", "dintero"]);
    spawn_for_url(cmd, wait)
}

/// Runs `cmd --json [--wait 60]` and returns the process and the payer URL it printed.
fn spawn_for_url(mut cmd: Command, wait: bool) -> (Child, String) {
    cmd.arg("--json");
    if wait {
        cmd.args(["--wait", "60"]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut seen = String::new();
    let url = loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "no payer URL printed: {seen}"
        );
        seen.push_str(&line);
        if let Some(u) = line.trim().strip_prefix("pay at: ") {
            break u.to_string();
        }
    };
    // Keep draining stderr (the QR code) so the child never blocks on it.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = err.read_to_string(&mut sink);
    });
    (child, url)
}

fn finish(child: Child) -> (i32, Value) {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.code().unwrap_or(-1), v)
}

fn payment_of(sb: &Sandbox, card_id: &str) -> giftpos_dintero::wire::checkout::PaymentTransaction {
    let tx = sb.snapshot(card_id).unwrap().metadata["dintero_transaction_id"]
        .as_str()
        .unwrap()
        .to_string();
    sb.with_store(|s| s.checkout.peek(&tx)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_card_is_activated_with_the_payments_transaction_and_a_cancelled_one_is_not() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let home = tempfile::tempdir().unwrap();

    // Paid: activated with exactly that transaction id.
    let (child, url) = start_sale(&sb, home.path(), "9578000000001001", true);
    let page = press(&url, "pay");
    assert!(page.contains("Paid"), "{page}");
    let (code, v) = tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["state"], "confirmed");
    let card = sb.snapshot("demo-stock-01").unwrap();
    assert_eq!(card.balances.available, 50_000);
    let tx = payment_of(&sb, "demo-stock-01");
    assert_eq!(v["result"]["dintero_transaction_id"], tx.id.as_str());
    assert_eq!((tx.status.as_str(), tx.captured()), ("CAPTURED", 50_000));
    assert_eq!(
        tx.merchant_reference.as_deref().map(str::len),
        Some(36),
        "the journal entry's id"
    );

    // Cancelled by the customer: nothing activated, and the terminal says why.
    let (child, url) = start_sale(&sb, home.path(), "9578000000001002", true);
    assert!(press(&url, "cancel").contains("Cancelled"));
    let (code, v) = tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["error"]["code"], "payment_not_completed", "{v}");
    assert_eq!(sb.snapshot("demo-stock-02").unwrap().status, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_killed_after_the_payment_is_finished_by_sync_exactly_once() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let home = tempfile::tempdir().unwrap();
    let (mut child, url) = start_sale(&sb, home.path(), "9578000000001003", true);
    // The till dies while the customer pays.
    child.kill().unwrap();
    let _ = child.wait();
    assert!(press(&url, "pay").contains("Paid"));
    assert_eq!(sb.snapshot("demo-stock-03").unwrap().status, "inactive");
    for _ in 0..2 {
        let out = giftpos(&sb, home.path())
            .args(["sync", "--once", "--json"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let card = sb.snapshot("demo-stock-03").unwrap();
    assert_eq!(card.balances.available, 50_000);
    assert_eq!(card.activations, 1, "activated once");
    assert_eq!(
        card.metadata["dintero_transaction_id"],
        payment_of(&sb, "demo-stock-03").id.as_str()
    );
    // The journal holds the payment and one activation, both confirmed.
    let out = giftpos(&sb, home.path())
        .args(["journal", "list", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("payment", "confirmed"), ("activate", "confirmed")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_card_is_returned_and_refunded_and_a_used_one_is_refused() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let home = tempfile::tempdir().unwrap();
    for token in ["9578000000001004", "9578000000001005"] {
        let (child, url) = start_sale(&sb, home.path(), token, true);
        press(&url, "pay");
        let (code, v) = tokio::task::spawn_blocking(move || finish(child))
            .await
            .unwrap();
        assert_eq!(code, 0, "{v}");
    }
    // IT adds a manager; a return without the manager's PIN is refused and records
    // nothing.
    let out = run_input(
        giftpos(&sb, home.path()).args(["clerk", "add", "9", "--name", "M", "--role", "manager"]),
        "9999\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = giftpos(&sb, home.path())
        .args(["return", "9578000000001004", "--approved-by", "9", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "manager_required", "{v}");
    assert_eq!(
        sb.snapshot("demo-stock-04").unwrap().balances.available,
        50_000
    );
    // Unused: drawn to zero, and the payment refunded in full.
    let out = run_input(
        giftpos(&sb, home.path()).args([
            "return",
            "9578000000001004",
            "--approved-by",
            "9",
            "--json",
        ]),
        "9999\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(sb.snapshot("demo-stock-04").unwrap().balances.available, 0);
    let tx = payment_of(&sb, "demo-stock-04");
    assert_eq!((tx.status.as_str(), tx.refunded()), ("REFUNDED", 50_000));

    // Used: refused with the reason, nothing refunded or drawn.
    let out = giftpos(&sb, home.path())
        .args([
            "redeem",
            "9578000000001005",
            "--amount",
            "100",
            "--pin",
            "4005",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = run_input(
        giftpos(&sb, home.path()).args([
            "return",
            "9578000000001005",
            "--approved-by",
            "9",
            "--json",
        ]),
        "9999\n",
    );
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "card_used", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("400.00"),
        "{v}"
    );
    assert_eq!(
        sb.snapshot("demo-stock-05").unwrap().balances.available,
        40_000
    );
    assert_eq!(payment_of(&sb, "demo-stock-05").refunded(), 0);
}

/// A top-up paid like a sale, through Checkout: the customer pays on the payer page and
/// the card is loaded once, with the payment's transaction on the fund; a card not sold
/// yet is refused before any session is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_paid_through_checkout_loads_the_card_once() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let home = tempfile::tempdir().unwrap();
    let before = sb.snapshot("demo-live-50").unwrap().balances.available;
    let (child, url) = start(
        &sb,
        home.path(),
        &["topup", "9578000000002003", "--amount", "150"],
        true,
    );
    press(&url, "pay");
    let (code, v) = tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["kind"], "top_up", "{v}");
    let card = sb.snapshot("demo-live-50").unwrap();
    assert_eq!(card.balances.available, before + 15_000);
    // Once: a sync pass adds nothing.
    let out = giftpos(&sb, home.path())
        .args(["sync", "--once", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        sb.snapshot("demo-live-50").unwrap().balances.available,
        before + 15_000
    );
    // A card that is not sold yet is not topped up: no session is made.
    let out = giftpos(&sb, home.path())
        .args([
            "topup",
            "9578000000001009",
            "--amount",
            "100",
            "--pay",
            "dintero",
            "--json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "card_inactive", "{v}");
}

/// `giftpos redeem CARD --pin PIN --amount TOTAL --pay-rest dintero`: one Checkout
/// payment of the total with the card preloaded. `--pay-rest` on a card the sandbox
/// profile captures at once.
fn start_pay_rest(sb: &Sandbox, home: &Path, total: &str, wait: bool) -> (Child, String) {
    let mut cmd = giftpos(sb, home);
    cmd.args([
        "redeem",
        "9578000000002003",
        "--pin",
        "6003",
        "--amount",
        total,
    ])
    .args(["--pay-rest", "dintero"]);
    spawn_for_url(cmd, wait)
}

fn run_json(sb: &Sandbox, home: &Path, args: &[&str]) -> (i32, Value) {
    let out = giftpos(sb, home).args(args).arg("--json").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.code().unwrap_or(-1), v)
}

/// The "done when": the URL is printed and the command exits (4: waiting);
/// the customer pays the rest on the payer page; `sync --once` records one payment of
/// the total with the card's part, and the card is at 0.00 — drawn by Dintero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_the_rest_leaves_the_card_at_zero_and_one_payment_with_its_part() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let home = tempfile::tempdir().unwrap();
    let (child, url) = start_pay_rest(&sb, home.path(), "400", false);
    let (code, v) = tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
    assert_eq!(code, 4, "{v}");
    assert_eq!(v["result"]["gift_card_part"]["amount"], 5000, "{v}");
    assert_eq!(v["result"]["rest"]["amount"], 35_000, "{v}");
    let page = common::get(&url);
    assert!(page.contains("To pay: 350.00 NOK"), "{page}");
    assert!(press(&url, "pay").contains("Paid"));
    let (code, v) = run_json(&sb, home.path(), &["sync", "--once"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(sb.snapshot("demo-live-50").unwrap().balances.available, 0);
    let (_, v) = run_json(&sb, home.path(), &["journal", "list"]);
    let entries = v["result"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "one payment, nothing else: {v}");
    let e = &entries[0];
    assert_eq!(e["kind"], "payment");
    assert_eq!(e["state"], "confirmed");
    assert_eq!(e["amount"]["amount"], 40_000);
    assert_eq!(e["gift_card_part"]["amount"], 5000);
    assert_eq!(e["balance_after"]["amount"], 0);

    // The receipt and the day's Z-report, read back as a person reads them.
    let receipt = home.path().join("split.pdf");
    let id = e["id"].as_str().unwrap().to_string();
    let args = ["receipt", &id, "--out", receipt.to_str().unwrap()];
    let (code, v) = run_json(&sb, home.path(), &args);
    assert_eq!(code, 0, "{v}");
    let text = pdftotext(&receipt);
    for want in [
        "Purchase, paid with gift card",
        "NOK 400.00",
        "Gift card    NOK 50.00",
    ] {
        assert!(text.contains(want), "{want:?}:\n{text}");
    }
    assert!(text.contains("Rest         NOK 350.00 (card)"), "{text}");
    let z = home.path().join("z.pdf");
    let (code, v) = run_json(
        &sb,
        home.path(),
        &["report", "day", "--out", z.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{v}");
    let text = pdftotext(&z);
    assert!(
        text.contains("total NOK 400.00: from gift cards NOK 50.00, paid the rest NOK 350.00"),
        "{text}"
    );
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (scripts/setup installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The card covers the whole total: `dintero.zero`, nothing left for the customer.
/// Waiting (`--wait`) prints the payment with the card's part and its new balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_that_covers_the_total_pays_it_all_as_dintero_zero() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let home = tempfile::tempdir().unwrap();
    let (child, url) = start_pay_rest(&sb, home.path(), "30", true);
    assert!(common::get(&url).contains("To pay: 0.00 NOK"));
    assert!(press(&url, "pay").contains("Paid"));
    let (code, v) = tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"]["gift_card_part"]["amount"], 3000, "{v}");
    assert_eq!(v["result"]["available_after"]["amount"], 2000, "{v}");
    let tx = sb.with_store(|s| {
        s.checkout
            .by_reference(v["result"]["operation_id"].as_str().unwrap())
    });
    assert_eq!(tx[0].payment_product_type.as_deref(), Some("dintero.zero"));
}

/// The capture's answer is lost and the till is killed: sync finds the capture done
/// (its reference on the payment's events) and never captures twice; the card is
/// drawn once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_capture_answer_and_a_restart_capture_a_split_once() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let home = tempfile::tempdir().unwrap();
    let mut cmd = giftpos(&sb, home.path());
    cmd.env(
        "GIFTPOS_PAYMENT_PROFILE",
        "P00000000.giftcards-manual-capture",
    )
    .args([
        "redeem",
        "9578000000002003",
        "--pin",
        "6003",
        "--amount",
        "400",
    ])
    .args(["--pay-rest", "dintero"]);
    let (mut child, url) = spawn_for_url(cmd, true);
    let mut lose = giftpos_sandbox::Faults::default();
    lose.add("drop-after:count=1:path=/capture").unwrap();
    sb.set_faults(lose);
    assert!(press(&url, "pay").contains("Paid"));
    // The till dies somewhere around the capture.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = child.kill();
    let _ = child.wait();
    sb.set_faults(giftpos_sandbox::Faults::default());
    for _ in 0..2 {
        let mut cmd = giftpos(&sb, home.path());
        cmd.env(
            "GIFTPOS_PAYMENT_PROFILE",
            "P00000000.giftcards-manual-capture",
        );
        let out = cmd.args(["sync", "--once", "--json"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let (_, v) = run_json(&sb, home.path(), &["journal", "list"]);
    let e = &v["result"][0];
    assert_eq!(e["state"], "confirmed", "{v}");
    assert_eq!(e["gift_card_part"]["amount"], 5000, "{v}");
    let tx = sb.with_store(|s| s.checkout.by_reference(e["id"].as_str().unwrap()));
    let captures = tx[0].events.iter().filter(|x| x.event == "CAPTURE").count();
    assert_eq!(captures, 1, "captured once: {:?}", tx[0].events);
    assert_eq!(tx[0].captured(), 40_000);
    let card = sb.snapshot("demo-live-50").unwrap();
    assert_eq!((card.balances.available, card.balances.pending), (0, 0));
}
