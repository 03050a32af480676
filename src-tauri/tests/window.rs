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

/// A private D-Bus session bus for one test (the single-instance plugin finds the
/// running app through it); stopped when dropped.
struct SessionBus {
    pid: i32,
    address: String,
}

impl SessionBus {
    fn start() -> SessionBus {
        let out = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .output()
            .expect("dbus-daemon (Debian's dbus, with WebKitGTK)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let address = lines.next().expect("an address").trim().to_string();
        let pid = lines.next().expect("a pid").trim().parse().unwrap();
        SessionBus { pid, address }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

#[test]
fn a_second_launch_leaves_the_running_app_alone_and_exits() {
    let home = tempfile::tempdir().unwrap();
    let bus = SessionBus::start();
    let launch = |ready_exit: bool| {
        let mut cmd = common::on_display(APP, &[]);
        common::clean(&mut cmd, home.path());
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
        if ready_exit {
            cmd.env("GIFTPOS_EXIT_WHEN_READY", "1");
        }
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The first runs (it would stay up for good: no exit when ready).
    let mut first = launch(false);
    let ready = home.path().join("data/giftpos/training/sandbox.json");
    for _ in 0..300 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    // The second hands over to the first and exits at once, without its UI coming up.
    let started = std::time::Instant::now();
    let second = launch(true);
    let out = second.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!said.contains("ui ready"), "a second UI came up: {said}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        first.try_wait().unwrap().is_none(),
        "the running app is still there"
    );
    let _ = Command::new("pkill")
        .args(["-TERM", "-P", &first.id().to_string()])
        .status();
    let _ = first.kill();
    let _ = first.wait();
}

/// The names of the threads of the app's WebKit web process, once its screen is ready.
fn web_process_threads(env: &[(&str, &str)]) -> Vec<String> {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let home = tempfile::tempdir().unwrap();
    let mut cmd = common::on_display(APP, &[]);
    common::clean(&mut cmd, home.path());
    cmd.envs(env.iter().copied())
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("start the app");
    let pid = child.id();
    let stop = || {
        let _ = Command::new("kill")
            .args(["--", &format!("-{pid}")])
            .status();
    };
    let out = child.stdout.take().unwrap();
    let ready = std::io::BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("ui ready"));
    if !ready {
        stop();
        panic!("the app ended before its screen was ready");
    }
    // Settled: the page has drawn.
    std::thread::sleep(Duration::from_secs(2));
    let web = common::descendants(pid).into_iter().find(|p| {
        std::fs::read_to_string(format!("/proc/{p}/comm"))
            .is_ok_and(|c| c.starts_with("WebKitWebProc"))
    });
    let threads = web
        .map(|w| {
            std::fs::read_dir(format!("/proc/{w}/task"))
                .unwrap()
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|n| n.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    stop();
    let _ = child.wait();
    threads
}

#[test]
fn the_web_view_draws_with_the_cpu_unless_gpu_is_configured() {
    // Skia's GPU worker runs in the web process only when WebKit composites with GL.
    let cpu = web_process_threads(&[]);
    assert!(!cpu.is_empty(), "no WebKit web process found");
    assert!(!cpu.iter().any(|t| t.contains("SkiaGPU")), "{cpu:?}");
    let gpu = web_process_threads(&[("GIFTPOS_GPU", "1")]);
    assert!(gpu.iter().any(|t| t.contains("SkiaGPU")), "{gpu:?}");
}
