//! The real app in a real window (Xvfb when there is no display): it starts, opens the
//! terminal through the application API, the page loads in WebKit, and the UI reports
//! back over IPC. End-to-end flows through tauri-driver build on this.

mod common;

use std::process::Command;
use std::time::Duration;

const APP: &str = env!("CARGO_BIN_EXE_giftpos-terminal");

fn run_app(env: &[(&str, &str)], home: &std::path::Path) -> (i32, String, String) {
    let mut cmd = common::on_display(APP, &[]);
    common::clean(&mut cmd, home);
    cmd.env("GIFTPOS_EXIT_WHEN_READY", "1")
        .envs(env.iter().copied());
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the app (is xvfb-run installed?)");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("the app did not report its UI ready within 90 s");
        }
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_window_opens_in_training_mode_and_the_ui_answers() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = run_app(&[], home.path());
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("ui ready") && out.contains("TRAINING"),
        "{out}"
    );
    assert!(
        home.path()
            .join("data/giftpos/training/sandbox.json")
            .exists()
    );
}

#[test]
fn a_configuration_error_is_shown_in_the_window_not_a_crash() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = run_app(&[("GIFTPOS_CLIENT_ID", "half-configured")], home.path());
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("ERROR config"), "{out}");
}

#[test]
fn a_configured_scanner_that_is_not_there_shows_as_disconnected() {
    let home = tempfile::tempdir().unwrap();
    let port = home.path().join("no-such-tty");
    let (code, out, err) = run_app(
        &[("GIFTPOS_SCANNER_PORT", port.to_str().unwrap())],
        home.path(),
    );
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("SCANNER DISCONNECTED"), "{out}");
}
