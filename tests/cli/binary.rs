//! The `giftpos` binary as IT and scripts use it: `giftpos sandbox` in one process, the
//! other commands in others, over real HTTP on loopback. Every `--json` answer must parse
//! and every failure must have its own exit code.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::common;
use common::clean;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

/// A `giftpos sandbox` child process, killed on drop.
struct SandboxProc {
    child: Child,
    env: Vec<(String, String)>,
}

impl Drop for SandboxProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sandbox(home: &Path, extra: &[&str]) -> SandboxProc {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home);
    let mut child = cmd
        .args(["sandbox", "--listen", "127.0.0.1:0", "--json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let env = v["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    SandboxProc { child, env }
}

fn giftpos(home: &Path, env: &[(String, String)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home);
    // Made-up payment references: verification is tested in tests/cli/payments.rs.
    cmd.env("GIFTPOS_PAYMENTS_VERIFY", "off")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object on stdout, got: {text}");
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

#[test]
fn commands_against_a_separate_sandbox_process() {
    let home = tempfile::tempdir().unwrap();
    let sb = start_sandbox(home.path(), &[]);
    let run = |args: &[&str]| giftpos(home.path(), &sb.env, args, None);

    let sold = run(&[
        "activate",
        "9578000000001002",
        "--amount",
        "500",
        "--transaction-id",
        "T12345678.abc",
        "--customer-id",
        "cust-1",
        "--expires-at",
        "2030-01-01T00:00:00Z",
        "--json",
    ]);
    assert_eq!(code(&sold), 0, "{}", String::from_utf8_lossy(&sold.stderr));
    let v = json(&sold);
    assert_eq!(v["ok"], true);
    assert_eq!(v["training"], false);
    assert_eq!(v["result"]["amount"]["amount"], 50_000);
    assert_eq!(v["result"]["dintero_transaction_id"], "T12345678.abc");
    assert_eq!(v["result"]["card"], "************1002");

    let bal = json(&run(&[
        "balance",
        "9578000000001002",
        "--pin",
        "4002",
        "--json",
    ]));
    assert_eq!(bal["result"]["available"]["amount"], 50_000);
    assert_eq!(bal["result"]["expires_at"], "2030-01-01T00:00:00Z");

    let red = giftpos(
        home.path(),
        &sb.env,
        &[
            "redeem",
            "9578000000001002",
            "--amount",
            "120.50",
            "--pin-stdin",
            "--json",
        ],
        Some("4002\n"),
    );
    assert_eq!(code(&red), 0);
    assert_eq!(
        json(&red)["result"]["available_after"]["amount"],
        50_000 - 12_050
    );

    let top = json(&run(&[
        "topup",
        "9578000000001002",
        "--amount",
        "200",
        "--transaction-id",
        "T12345678.topup-cli",
        "--json",
    ]));
    assert_eq!(
        top["result"]["available_after"]["amount"],
        50_000 - 12_050 + 20_000
    );

    // Refused by Dintero: 3. The card is sold already.
    let again = run(&[
        "activate",
        "9578000000001002",
        "--amount",
        "500",
        "--transaction-id",
        "x",
        "--json",
    ]);
    assert_eq!(code(&again), 3);
    assert_eq!(json(&again)["error"]["code"], "card_already_active");
    let wrong = run(&[
        "redeem",
        "9578000000001002",
        "--amount",
        "1",
        "--pin",
        "0000",
        "--json",
    ]);
    assert_eq!(code(&wrong), 3);
    assert_eq!(json(&wrong)["error"]["code"], "pin_invalid");
    let poor = run(&[
        "redeem",
        "9578000000002003",
        "--amount",
        "51",
        "--pin",
        "6003",
        "--json",
    ]);
    assert_eq!(code(&poor), 3);
    assert_eq!(json(&poor)["error"]["code"], "insufficient_funds");

    // Bad input: 2, before anything is sent.
    let bad = run(&[
        "redeem",
        "9578000000002001",
        "--amount",
        "-5",
        "--pin",
        "6001",
        "--json",
    ]);
    assert_eq!(code(&bad), 2);
    assert_eq!(json(&bad)["error"]["code"], "invalid_amount");
    let noise = run(&["balance", "7038010069307", "--json"]);
    assert_eq!(code(&noise), 2);
    assert_eq!(json(&noise)["error"]["code"], "not_a_gift_card");

    // Info shows where it talks, never the secret.
    let info = run(&["info", "--json"]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("T12345678") && !text.contains("sandbox-secret"));
}

#[test]
fn unreachable_dintero_and_bad_config_have_their_own_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env: Vec<(String, String)> = [
        ("GIFTPOS_API_BASE", format!("http://127.0.0.1:{port}")),
        ("GIFTPOS_ACCOUNT_ID", "T12345678".into()),
        ("GIFTPOS_CLIENT_ID", "giftpos-sandbox".into()),
        ("GIFTPOS_CLIENT_SECRET", "sandbox-secret".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let down = giftpos(
        home.path(),
        &env,
        &[
            "topup",
            "9578000000002001",
            "--amount",
            "1",
            "--transaction-id",
            "T12345678.topup-cli",
            "--json",
        ],
        None,
    );
    // A top-up is saved and waits for the network: 4.
    assert_eq!(code(&down), 4, "{}", String::from_utf8_lossy(&down.stderr));
    let v = json(&down);
    assert_eq!(v["result"]["queued"], true);
    assert_eq!(v["result"]["state"], "sent");
    // A redemption is refused offline unless caps allow it: 5, nothing recorded.
    let red = giftpos(
        home.path(),
        &env,
        &[
            "redeem",
            "9578000000002001",
            "--amount",
            "1",
            "--pin",
            "6001",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&red), 5);
    assert_eq!(json(&red)["error"]["code"], "offline_not_allowed");
    let list = json(&giftpos(
        home.path(),
        &env,
        &["journal", "list", "--json"],
        None,
    ));
    assert_eq!(
        list["result"].as_array().unwrap().len(),
        1,
        "only the top-up was recorded"
    );

    let partial = vec![("GIFTPOS_CLIENT_ID".to_string(), "only-this".to_string())];
    let cfg = giftpos(
        home.path(),
        &partial,
        &["balance", "9578000000002001", "--json"],
        None,
    );
    assert_eq!(code(&cfg), 6);
    let v = json(&cfg);
    assert_eq!(v["error"]["code"], "config");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GIFTPOS_API_BASE")
    );

    let file = home.path().join("bad.toml");
    std::fs::write(&file, "[terminal]\ncurrency = 5\n").unwrap();
    let bad = giftpos(
        home.path(),
        &[],
        &["--config", file.to_str().unwrap(), "info", "--json"],
        None,
    );
    assert_eq!(code(&bad), 6);
    let msg = json(&bad)["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("bad.toml") && msg.contains("currency"),
        "{msg}"
    );

    // `info` says which file or variable set each key.
    let good = home.path().join("good.toml");
    std::fs::write(&good, "[terminal]\nstore_name = \"Oslo S\"\n").unwrap();
    let info = giftpos(
        home.path(),
        &[("GIFTPOS_TERMINAL_ID".to_string(), "till-9".to_string())],
        &["--config", good.to_str().unwrap(), "info", "--json"],
        None,
    );
    assert_eq!(code(&info), 0);
    let set_by = &json(&info)["result"]["set_by"];
    assert_eq!(set_by["terminal.store_name"], good.display().to_string());
    assert_eq!(
        set_by["terminal.id"],
        "environment variable GIFTPOS_TERMINAL_ID"
    );
    assert!(set_by.get("terminal.currency").is_none(), "{set_by}");

    // The doctor reports instead of failing, each check with status and fix.
    let doc = giftpos(home.path(), &env, &["doctor", "--json"], None);
    assert_eq!(code(&doc), 6);
    let v = json(&doc);
    let checks = v["result"]["checks"].as_array().unwrap();
    let reach = checks
        .iter()
        .find(|c| c["name"] == "api_reachable")
        .unwrap();
    assert_eq!(reach["status"], "fail");
    assert!(reach["fix"].as_str().is_some());
}

#[test]
fn training_mode_runs_on_an_embedded_sandbox_that_remembers() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| giftpos(home.path(), &[], args, None);
    let sold = run(&[
        "activate",
        "9578000000001003",
        "--amount",
        "250",
        "--transaction-id",
        "train-1",
        "--json",
    ]);
    assert_eq!(code(&sold), 0, "{}", String::from_utf8_lossy(&sold.stderr));
    let v = json(&sold);
    assert_eq!(v["training"], true);
    assert_eq!(v["mode"], "TRAINING");
    // A second process sees the first one's sale: the state persists in the data dir.
    let bal = json(&run(&[
        "balance",
        "9578000000001003",
        "--pin",
        "4003",
        "--json",
    ]));
    assert_eq!(bal["result"]["available"]["amount"], 25_000);
    assert!(
        home.path()
            .join("data/giftpos/training/sandbox.json")
            .exists()
    );
    // Text output says TRAINING too.
    let text = run(&["balance", "9578000000002001"]);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("TRAINING"));
    let doc = json(&run(&["doctor", "--json"]));
    assert_eq!(doc["training"], true);
    assert_eq!(doc["result"]["ok"], true);
    let names: Vec<&str> = doc["result"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "config",
            "credentials",
            "data_dir",
            "journal",
            "scanner",
            "printer",
            "api_reachable",
            "token",
            "checkout_token",
            "dintero_answers",
            "payments",
            "clock"
        ]
    );
    // A configured reader that is not plugged in, and a printer CUPS does not know.
    let cfg = home.path().join("till.toml");
    std::fs::write(
        &cfg,
        "[scanner]\nport = \"/dev/giftpos-no-reader\"\n[printer]\nname = \"giftpos-no-printer\"\n",
    )
    .unwrap();
    let doc = giftpos(
        home.path(),
        &[],
        &["--config", cfg.to_str().unwrap(), "doctor", "--json"],
        None,
    );
    assert_eq!(code(&doc), 6);
    let v = json(&doc);
    for name in ["scanner", "printer"] {
        let c = v["result"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        assert_eq!(c["status"], "fail", "{name}: {c}");
        assert!(c["fix"].as_str().unwrap().len() > 10, "{name}");
    }
}

#[test]
fn no_pin_token_or_secret_reaches_the_output_or_logs() {
    let home = tempfile::tempdir().unwrap();
    let sb = start_sandbox(home.path(), &[]);
    let mut env = sb.env.clone();
    env.push(("GIFTPOS_LOG".into(), "debug".into()));
    let out = giftpos(
        home.path(),
        &env,
        &[
            "-vv",
            "redeem",
            "9578000000002002",
            "--amount",
            "10",
            "--pin-stdin",
        ],
        Some("6002\n"),
    );
    assert_eq!(code(&out), 0);
    let sold = giftpos(
        home.path(),
        &env,
        &[
            "activate",
            "9578000000001005",
            "--amount",
            "100",
            "--transaction-id",
            "T12345678.log",
        ],
        None,
    );
    assert_eq!(code(&sold), 0);
    let mut all = format!(
        "{}{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&sold.stdout),
        String::from_utf8_lossy(&sold.stderr)
    );
    // The JSON log files in the data dir, one object per line.
    let logs = home.path().join("data/giftpos/logs");
    let mut lines = 0;
    for f in std::fs::read_dir(&logs).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        for line in text.lines() {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            lines += 1;
        }
        all.push_str(&text);
    }
    assert!(lines > 5, "the JSON log was written ({lines} lines)");
    assert!(all.contains("dintero"), "debug logs were written: {all}");
    // Including the Basic credentials as sent (base64 of id:secret) and any bearer token.
    for secret in [
        "9578000000002002",
        "9578000000001005",
        "6002",
        "sandbox-secret",
        "Z2lmdHBvcy1zYW5kYm94OnNhbmRib3gtc2VjcmV0",
        "Bearer ",
        "Basic ",
    ] {
        assert!(!contains_alone(&all, secret), "{secret:?} leaked: {all}");
    }
}

/// Whether `needle` occurs not as part of a longer run of hex digits: a 4-digit PIN can
/// turn up inside a random entry id or a timestamp's microseconds without having leaked.
fn contains_alone(hay: &str, needle: &str) -> bool {
    let hexish = |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit());
    let digits = needle.chars().all(|c| c.is_ascii_digit());
    hay.match_indices(needle).any(|(i, _)| {
        !digits
            || !(hexish(hay[..i].chars().next_back())
                || hexish(hay[i + needle.len()..].chars().next()))
    })
}

#[test]
fn the_sandbox_command_takes_faults() {
    let home = tempfile::tempdir().unwrap();
    let sb = start_sandbox(home.path(), &["--fault", "5xx:path=/info"]);
    let out = giftpos(
        home.path(),
        &sb.env,
        &["balance", "9578000000002001", "--json"],
        None,
    );
    assert_eq!(code(&out), 5);
    assert_eq!(json(&out)["error"]["code"], "offline");
    let bad = Command::new(BIN)
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--fault",
            "explode",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&bad), 2);
}

#[test]
fn giftpos_sync_notices_the_network_return_by_itself_and_reports_events() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("sandbox.json");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let sandbox = |home: &Path| {
        let mut cmd = Command::new(BIN);
        clean(&mut cmd, home);
        let mut child = cmd
            .args([
                "sandbox",
                "--listen",
                &listen,
                "--state",
                state.to_str().unwrap(),
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("\"ok\":true"), "{line}");
        child
    };
    let env: Vec<(String, String)> = [
        ("GIFTPOS_API_BASE", format!("http://{listen}")),
        ("GIFTPOS_ACCOUNT_ID", "T12345678".into()),
        ("GIFTPOS_CLIENT_ID", "giftpos-sandbox".into()),
        ("GIFTPOS_CLIENT_SECRET", "sandbox-secret".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // Saved while Dintero is down.
    let queued = giftpos(
        home.path(),
        &env,
        &[
            "topup",
            "9578000000002001",
            "--amount",
            "7",
            "--transaction-id",
            "T12345678.demo-paid-1000",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&queued), 4);
    // The sync loop runs, offline; then Dintero comes back and nobody pokes it.
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home.path());
    let mut sync = cmd
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(["sync", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = sync.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut sb = sandbox(home.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut seen = Vec::new();
    let confirmed = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let v: Value = serde_json::from_str(&line).unwrap();
                let done = v["event"] == "entry" && v["state"] == "confirmed";
                seen.push(v);
                if done {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = sync.kill();
    let _ = sync.wait();
    let _ = sb.kill();
    let _ = sb.wait();
    assert!(confirmed, "no confirmation without a poke: {seen:?}");
    assert!(
        seen.iter()
            .any(|v| v["event"] == "status" && v["online"] == true),
        "a status event says online again: {seen:?}"
    );
}

#[test]
fn the_cli_joins_the_training_sandbox_the_app_already_runs() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data").join("giftpos");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The "app": a terminal in training mode holding the embedded sandbox.
    let app = rt.block_on(async {
        let opts = giftpos_app::config::LoadOptions {
            env: [("GIFTPOS_DATA_DIR".to_string(), data.display().to_string())].into(),
            privileged: true,
            ..Default::default()
        };
        let cfg = giftpos_app::config::load(&opts).unwrap();
        giftpos_app::Terminal::open(cfg, std::sync::Arc::new(giftpos_dintero::SystemClock))
            .await
            .unwrap()
    });
    assert!(app.is_training());
    // The CLI sells a card in the same data dir ...
    let sold = giftpos(
        home.path(),
        &[],
        &[
            "activate",
            "9578000000001010",
            "--amount",
            "300",
            "--transaction-id",
            "T12345678.join",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&sold), 0, "{}", String::from_utf8_lossy(&sold.stderr));
    assert_eq!(json(&sold)["training"], true);
    // ... and the app's own sandbox (in memory, in this process) has it: the CLI talked
    // to it rather than starting a second sandbox over the same state file.
    let card = rt.block_on(app.client().card("demo-stock-10")).unwrap();
    assert_eq!(card.amount_available, Some(30_000));
    assert_eq!(card.metadata["dintero_transaction_id"], "T12345678.join");
}

#[test]
fn reserve_complete_and_cancel_reproduce_the_clerks_redeem_screen() {
    let home = tempfile::tempdir().unwrap();
    let sb = start_sandbox(home.path(), &[]);
    let run = |args: &[&str], pin: Option<&str>| giftpos(home.path(), &sb.env, args, pin);
    let pending = |home: &Path| {
        let bal = json(&giftpos(
            home,
            &sb.env,
            &["balance", "9578000000002002", "--pin", "6002", "--json"],
            None,
        ));
        (
            bal["result"]["available"]["amount"].as_i64().unwrap(),
            bal["result"]["pending"]["amount"].as_i64().unwrap_or(0),
        )
    };
    assert_eq!(pending(home.path()), (100_000, 0));

    // Reserve 300, complete 120: the rest is released, nothing stays reserved.
    let r = run(
        &[
            "reserve",
            "9578000000002002",
            "--amount",
            "300",
            "--pin-stdin",
            "--json",
        ],
        Some("6002\n"),
    );
    assert_eq!(code(&r), 0, "{}", String::from_utf8_lossy(&r.stdout));
    let id = json(&r)["result"]["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(pending(home.path()), (70_000, 30_000));
    let done = run(&["complete", &id, "--amount", "120", "--json"], None);
    assert_eq!(code(&done), 0, "{}", String::from_utf8_lossy(&done.stdout));
    assert_eq!(json(&done)["result"]["available_after"]["amount"], 88_000);
    assert_eq!(pending(home.path()), (88_000, 0));
    // Completing it again is refused, with the reservation named.
    let again = run(&["complete", &id, "--json"], None);
    assert_eq!(code(&again), 3);
    assert_eq!(json(&again)["error"]["code"], "transaction_not_pending");
    assert!(
        json(&again)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already completed")
    );

    // Reserve and cancel: all of it comes back.
    let r = run(
        &[
            "reserve",
            "9578000000002002",
            "--amount",
            "50",
            "--pin",
            "6002",
            "--json",
        ],
        None,
    );
    assert_eq!(code(&r), 0, "{}", String::from_utf8_lossy(&r.stdout));
    let id = json(&r)["result"]["operation_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(pending(home.path()), (83_000, 5_000));
    let c = run(&["cancel", &id], None);
    assert_eq!(code(&c), 0);
    assert!(String::from_utf8_lossy(&c.stdout).contains("Cancelled"));
    assert_eq!(pending(home.path()), (88_000, 0));
    // Not a reservation: a clear refusal.
    let bad = run(&["cancel", "no-such-entry", "--json"], None);
    assert_eq!(json(&bad)["ok"], false);
}

#[test]
fn a_tls_sandbox_process_is_reached_through_the_ca_file_it_writes() {
    let home = tempfile::tempdir().unwrap();
    let ca = home.path().join("ca.pem");
    let sb = start_sandbox(home.path(), &["--tls", "--ca-out", ca.to_str().unwrap()]);
    let base = sb
        .env
        .iter()
        .find(|(k, _)| k == "GIFTPOS_API_BASE")
        .unwrap();
    assert!(base.1.starts_with("https://127.0.0.1:"), "{base:?}");
    assert!(
        sb.env
            .iter()
            .any(|(k, v)| k == "GIFTPOS_CA_FILE" && Path::new(v) == ca),
        "{:?}",
        sb.env
    );
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let bal = giftpos(
        home.path(),
        &sb.env,
        &["balance", "9578000000001001", "--pin", "4001", "--json"],
        None,
    );
    assert_eq!(code(&bal), 0, "{}", String::from_utf8_lossy(&bal.stderr));
    assert!(json(&bal)["result"]["available"]["amount"].is_i64());
    // The same sandbox without its CA: a certificate error, exit and code say so.
    let untrusted: Vec<(String, String)> = sb
        .env
        .iter()
        .filter(|(k, _)| k != "GIFTPOS_CA_FILE")
        .cloned()
        .collect();
    let refused = giftpos(
        home.path(),
        &untrusted,
        &["balance", "9578000000001001", "--json"],
        None,
    );
    assert_eq!(json(&refused)["error"]["code"], "tls", "{refused:?}");
    assert_ne!(code(&refused), 0);
}

/// The doctor remembers (#23): a look-up whose answer cannot be read is named by
/// `giftpos doctor` — another process, later — with its endpoint, until a readable
/// answer to the same call clears it.
#[test]
fn after_an_unreadable_look_up_the_doctor_names_the_endpoint() {
    let home = tempfile::tempdir().unwrap();
    let sb = start_sandbox(home.path(), &["--fault", "malformed:path=/info"]);
    let out = giftpos(
        home.path(),
        &sb.env,
        &["balance", "9578000000002001", "--pin", "6001", "--json"],
        None,
    );
    assert_eq!(json(&out)["error"]["code"], "dintero_unreadable", "{out:?}");
    let doctor = |home: &Path, env: &[(String, String)]| {
        let out = giftpos(home, env, &["doctor", "--json"], None);
        let v = json(&out);
        v["result"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "dintero_answers")
            .cloned()
            .unwrap()
    };
    let check = doctor(home.path(), &sb.env);
    assert_eq!(check["status"], "fail", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(
        detail.contains("info") && detail.contains("not JSON"),
        "{check}"
    );
    // Dintero answers readably again: the next look-up clears it.
    drop(sb);
    let sb = start_sandbox(home.path(), &[]);
    let out = giftpos(
        home.path(),
        &sb.env,
        &["balance", "9578000000002001", "--pin", "6001", "--json"],
        None,
    );
    assert_eq!(code(&out), 0, "{out:?}");
    let check = doctor(home.path(), &sb.env);
    assert_eq!(check["status"], "ok", "{check}");
}
