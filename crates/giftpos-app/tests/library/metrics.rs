//! Fleet metrics: a terminal with a scripted backlog serves `GET /metrics` on loopback and
//! writes the textfile; both are checked with Prometheus' own `promtool check metrics`,
//! and the values are read back. The alert rules shipped for IT pass `promtool check
//! rules` and `promtool test rules`.

use crate::common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use giftpos_app::Activation;

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (scripts/setup installs Debian's prometheus)");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

/// The value of a sample line `name{labels} value`.
fn value(text: &str, sample: &str) -> i64 {
    text.lines()
        .find(|l| l.starts_with(sample) && l[sample.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no {sample} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_and_textfile_show_the_backlog_and_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let textfiles = dir.path().join("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let tf = textfiles.clone();
    let t = Arc::new(
        terminal_with(&sb, dir.path(), move |cfg| {
            cfg.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
            cfg.metrics.textfile_dir = Some(tf);
        })
        .await,
    );
    let cards = stock(&t, "met", 3).await;
    // The scripted backlog: Dintero is gone, three sales wait.
    sb.stop().await;
    for (i, (token, _)) in cards.iter().enumerate() {
        let r = t
            .activate(Activation {
                token: t.parse_token(token).unwrap(),
                amount: t.parse_amount(&format!("{}", 100 * (i + 1))).unwrap(),
                transaction_id: format!("T12345678.met-{i}"),
                customer_id: None,
                expires_at: None,
            })
            .await
            .unwrap();
        assert!(r.queued);
    }
    let stop = Arc::new(tokio::sync::Notify::new());
    let addr = t
        .start_metrics(
            || giftpos_app::metrics::Extra {
                scanner_connected: Some(false),
            },
            stop.clone(),
        )
        .await
        .unwrap()
        .expect("listening");
    let (head, body) = tokio::task::spawn_blocking(move || get(addr, "/metrics"))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("openmetrics-text"), "{head}");
    let (ok, said) = promtool(&["check", "metrics"], Some(&body));
    assert!(ok, "promtool check metrics:\n{said}\n{body}");
    assert_eq!(value(&body, "giftpos_sync_pending_entries"), 3);
    assert_eq!(
        value(&body, "giftpos_sync_pending_amount_minor{currency=\"NOK\"}"),
        60_000
    );
    assert!(value(&body, "giftpos_sync_oldest_pending_age_seconds") >= 0);
    assert_eq!(value(&body, "giftpos_dintero_online"), 0);
    assert_eq!(value(&body, "giftpos_needs_attention_entries"), 0);
    assert_eq!(value(&body, "giftpos_scanner_configured"), 1);
    assert_eq!(value(&body, "giftpos_scanner_connected"), 0);
    assert_eq!(value(&body, "giftpos_clerk_signed_in"), 0);
    assert!(
        body.contains("giftpos_info{version=\"") && body.contains("mode=\"live\""),
        "{body}"
    );

    // The textfile: written atomically, the same figures.
    let file = textfiles.join("giftpos.prom");
    for _ in 0..50 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&file).unwrap();
    let (ok, said) = promtool(&["check", "metrics"], Some(&text));
    assert!(ok, "promtool check metrics (textfile):\n{said}");
    assert_eq!(value(&text, "giftpos_sync_pending_entries"), 3);
    stop.notify_waiters();
}

#[test]
fn the_alert_rules_for_it_pass_promtool() {
    let dir = common::repo().join("packaging/prometheus");
    let rules = dir.join("giftpos.rules.yml");
    let (ok, said) = promtool(&["check", "rules", rules.to_str().unwrap()], None);
    assert!(ok, "{said}");
    let tests = dir.join("giftpos.rules.test.yml");
    let (ok, said) = promtool(&["test", "rules", tests.to_str().unwrap()], None);
    assert!(ok, "{said}");
}
