//! End to end: the real app in real WebKit, driven through tauri-driver and
//! WebKitWebDriver (under Xvfb when there is no display), against a Dintero sandbox over
//! loopback and a barcode reader on a real kernel pty (socat). Every screen is saved as a
//! screenshot into `target/e2e-screenshots/` (or `$GIFTPOS_SCREENSHOTS`).
//!
//! The tests share one display and two cores, so they run one at a time.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element, key::Key};
use giftpos_app::Pin;
use giftpos_app::SystemClock;
use giftpos_app::clerks::{Clerks, Role};
use giftpos_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

const APP: &str = env!("CARGO_BIN_EXE_giftpos-terminal");
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn screenshots_dir() -> PathBuf {
    let dir = std::env::var_os("GIFTPOS_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A process group killed on drop (tauri-driver, WebKitWebDriver, the app, Xvfb).
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

fn spawn_group(mut cmd: Command) -> Group {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    Group(cmd.spawn().expect("start the process"))
}

/// A pty pair: the app reads `a`, the test writes scanner bytes into `b`.
struct Pty {
    _socat: Group,
    a: PathBuf,
    b: PathBuf,
}

impl Pty {
    fn new(dir: &Path) -> Pty {
        let (a, b) = (dir.join("ttyA"), dir.join("ttyB"));
        let mut cmd = Command::new("socat");
        cmd.arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stderr(Stdio::null());
        let socat = spawn_group(cmd);
        let until = Instant::now() + Duration::from_secs(10);
        while !(a.exists() && b.exists()) {
            assert!(Instant::now() < until, "socat made no pty pair");
            std::thread::sleep(Duration::from_millis(10));
        }
        Pty {
            _socat: socat,
            a,
            b,
        }
    }

    /// The reader scans a barcode: its text and a carriage return.
    fn scan(&self, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.b)
            .unwrap();
        f.write_all(format!("{text}\r").as_bytes()).unwrap();
    }
}

/// The app under tauri-driver, and a WebDriver session on it.
struct App {
    c: Client,
    _driver: Group,
    shots: PathBuf,
    prefix: String,
}

impl App {
    async fn start(home: &Path, env: &[(String, String)], prefix: &str) -> App {
        let port = free_port();
        let native = free_port();
        let mut cmd = common::on_display("tauri-driver", &[]);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ]);
        common::clean(&mut cmd, home);
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver = spawn_group(cmd);
        let caps = json!({
            "browserName": "wry",
            "tauri:options": { "application": APP },
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(60);
        let c = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < until => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session (is tauri-driver installed?): {e}"),
            }
        };
        let app = App {
            c,
            _driver: driver,
            shots: screenshots_dir(),
            prefix: prefix.into(),
        };
        app.wait_js("return document.body.dataset.ready === 'true'", 60)
            .await;
        app
    }

    async fn find(&self, css: &str) -> Element {
        match self
            .c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                self.shot("FAILED").await;
                panic!("no {css}: {e}")
            }
        }
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Types into a field as a person would (then lets the keyboard-wedge detector see
    /// that no scan is coming).
    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.click().await.unwrap();
        e.send_keys(text).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    async fn key(&self, k: Key) {
        let body = self.find("body").await;
        body.send_keys(&char::from(k).to_string()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Reads through a script: the status bar is redrawn every second, so an element
    /// reference may go stale between finding and reading it.
    async fn read(&self, css: &str, what: &str) -> Option<String> {
        self.find(css).await;
        let script =
            format!("const e = document.querySelector({css:?}); return e ? {what} : null;");
        let v = self.c.execute(&script, vec![]).await.unwrap();
        v.as_str().map(str::to_string)
    }

    async fn text(&self, css: &str) -> String {
        self.read(css, "e.innerText").await.unwrap_or_default()
    }

    async fn value(&self, css: &str) -> String {
        self.read(css, "e.value").await.unwrap_or_default()
    }

    async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.read(css, &format!("e.getAttribute({name:?})")).await
    }

    /// Waits until a script returns true.
    async fn wait_js(&self, script: &str, secs: u64) {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.c.execute(script, vec![]).await.unwrap();
            if v == json!(true) {
                return;
            }
            if Instant::now() > until {
                self.shot("FAILED").await;
                panic!("timed out waiting for: {script}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element's attribute has the value.
    async fn wait_attr(&self, css: &str, name: &str, want: &str, secs: u64) {
        let script = format!(
            "const e = document.querySelector({css:?}); return !!e && e.getAttribute({name:?}) === {want:?};"
        );
        self.wait_js(&script, secs).await;
    }

    /// Waits until the element's text contains `needle`.
    async fn wait_text(&self, css: &str, needle: &str, secs: u64) {
        let script = format!(
            "const e = document.querySelector({css:?}); return !!e && e.innerText.includes({needle:?});"
        );
        self.wait_js(&script, secs).await;
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{}-{name}.png", self.prefix)), png).unwrap();
    }

    /// Scans a card on the pty and waits until the page shows it scanned.
    async fn scan_card(&self, pty: &Pty, token: &str) {
        pty.scan(token);
        self.wait_js(
            "const c = document.getElementById('card'); return !!c && c.classList.contains('scanned')",
            10,
        )
        .await;
    }

    async fn sign_in(&self, number: &str, pin: &str) {
        self.type_into("#signin-number", number).await;
        self.type_into("#signin-pin", pin).await;
        self.click("#signin-submit").await;
    }

    async fn close(self) {
        let _ = self.c.close().await;
    }
}

/// The customer presses Pay on the session's page.
fn pay_on_phone(url: &str) {
    use std::io::Read;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST /{path}/pay HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.contains("Paid"), "{out}");
}

async fn sandbox(addr: &str, state: &Path) -> Sandbox {
    Sandbox::start(
        addr.parse().unwrap(),
        SandboxConfig {
            state_file: Some(state.to_path_buf()),
            ..SandboxConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .unwrap()
}

fn seed_clerks(data: &Path) {
    let c = Clerks::open(&data.join("clerks.db")).unwrap();
    c.upsert("1", "Kari Clerk", Role::Clerk, &Pin::parse("2468").unwrap())
        .unwrap();
    c.upsert(
        "9",
        "Mona Manager",
        Role::Manager,
        &Pin::parse("8642").unwrap(),
    )
    .unwrap();
}

fn available(sb: &Sandbox, card_id: &str) -> i64 {
    sb.snapshot(card_id).unwrap().balances.available
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_sells_checks_redeems_voids_and_works_through_an_outage() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("till");
    let state = home.path().join("sandbox.json");
    let sb = sandbox("127.0.0.1:0", &state).await;
    let addr = sb.addr().to_string();
    let pty = Pty::new(home.path());
    seed_clerks(&data);
    let mut env: Vec<(String, String)> = sb
        .client_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend([
        ("GIFTPOS_DATA_DIR".into(), data.display().to_string()),
        ("GIFTPOS_TERMINAL_ID".into(), "till-e2e".into()),
        ("GIFTPOS_STORE_NAME".into(), "E2E Store".into()),
        ("GIFTPOS_SCANNER_PORT".into(), pty.a.display().to_string()),
        (
            "GIFTPOS_PAYMENT_PROFILE".into(),
            "P00000000.giftcards-till".into(),
        ),
    ]);
    let app = App::start(home.path(), &env, "en").await;

    // Sign-in: a wrong PIN is refused with a clerk-readable message; the right one works.
    app.shot("01-sign-in").await;
    assert!(
        app.attr("#training", "hidden").await.is_some(),
        "live mode: no training banner"
    );
    app.sign_in("1", "1111").await;
    app.wait_attr("#error", "data-code", "sign_in_failed", 10)
        .await;
    let msg = app.text("#error").await;
    assert!(msg.contains("Wrong clerk number or PIN"), "{msg}");
    app.shot("02-sign-in-refused").await;
    app.type_into("#signin-pin", "2468").await;
    app.click("#signin-submit").await;
    app.wait_attr("#screen", "data-screen", "home", 10).await;
    app.wait_text("#clerk", "Kari Clerk", 10).await;
    app.wait_attr("#scanner", "data-connected", "true", 10)
        .await;
    app.shot("03-home").await;

    // Sell: the card is scanned on the pty, the amount typed, the payment reference typed.
    app.key(Key::F1).await;
    app.wait_attr("#screen", "data-screen", "sell", 10).await;
    app.scan_card(&pty, "9578000000001001").await;
    assert_eq!(
        app.value("#card").await,
        "************1001",
        "the page shows the card masked"
    );
    app.type_into("#amount", "500").await;
    app.type_into("#txid", "T12345678.demo-paid-500").await;
    app.shot("04-sell").await;
    app.click("#submit").await;
    app.wait_attr("#result-state", "data-state", "confirmed", 20)
        .await;
    assert!(app.text("#result-balance").await.contains("500.00"));
    app.shot("05-sell-done").await;
    let card = sb.snapshot("demo-stock-01").unwrap();
    assert_eq!(card.balances.available, 50_000);
    assert_eq!(
        card.metadata["dintero_transaction_id"],
        "T12345678.demo-paid-500"
    );

    // Balance: scanned on another screen, it opens Balance for the card.
    app.click("#next").await;
    app.key(Key::F2).await;
    app.scan_card(&pty, "9578000000001001").await;
    app.type_into("#pin", "4001").await;
    app.click("#submit").await;
    app.wait_js("return !!document.getElementById('balance-available')", 20)
        .await;
    assert!(app.text("#balance-available").await.contains("500.00"));
    app.shot("06-balance").await;
    // A wrong PIN.
    app.type_into("#pin", "0000").await;
    app.click("#submit").await;
    app.wait_attr("#error", "data-code", "pin_invalid", 20)
        .await;
    assert!(app.text("#error").await.contains("Wrong PIN"));
    app.shot("07-wrong-pin").await;

    // Redeem part of the balance, then complete the sale.
    app.key(Key::F3).await;
    app.wait_attr("#screen", "data-screen", "redeem", 10).await;
    app.scan_card(&pty, "9578000000001001").await;
    app.type_into("#pin", "4001").await;
    app.type_into("#amount", "120").await;
    app.shot("08-redeem").await;
    app.click("#submit").await;
    app.find("#reserved").await;
    assert_eq!(
        sb.snapshot("demo-stock-01").unwrap().balances.pending,
        12_000
    );
    app.shot("09-reserved").await;
    app.click("#complete").await;
    app.wait_attr("#result-state", "data-state", "confirmed", 20)
        .await;
    assert!(app.text("#result-balance").await.contains("380.00"));
    assert_eq!(available(&sb, "demo-stock-01"), 38_000);
    app.shot("10-redeem-done").await;

    // Redeem, then cancel: the money is released.
    app.click("#next").await;
    app.scan_card(&pty, "9578000000001001").await;
    app.type_into("#pin", "4001").await;
    app.type_into("#amount", "50").await;
    app.click("#submit").await;
    app.find("#reserved").await;
    assert_eq!(available(&sb, "demo-stock-01"), 33_000);
    app.click("#cancel").await;
    app.wait_attr("#result-state", "data-state", "confirmed", 20)
        .await;
    let snap = sb.snapshot("demo-stock-01").unwrap();
    assert_eq!(
        (snap.balances.available, snap.balances.pending),
        (38_000, 0)
    );

    // Void/refund the completed sale: refused for a clerk, accepted for a manager.
    app.key(Key::F5).await;
    app.wait_attr("#screen", "data-screen", "history", 10).await;
    app.find(".entry").await;
    let capture = app
        .c
        .execute(
            "return [...document.querySelectorAll('.entry')].find(e => e.querySelector('.kind').textContent === 'Completed sale' && e.querySelector('.amount').textContent.includes('120')).dataset.id",
            vec![],
        )
        .await
        .unwrap();
    let capture = capture.as_str().unwrap().to_string();
    app.click(&format!(".entry[data-id='{capture}']")).await;
    app.shot("11-history").await;
    app.click("#undo").await;
    app.type_into("#approve-number", "1").await;
    app.type_into("#approve-pin", "2468").await;
    app.click("#approve-submit").await;
    app.wait_attr("#dialog #error", "data-code", "manager_required", 10)
        .await;
    app.shot("12-approval-refused").await;
    assert_eq!(available(&sb, "demo-stock-01"), 38_000, "nothing refunded");
    app.c
        .execute(
            "document.getElementById('approve-number').value = ''",
            vec![],
        )
        .await
        .unwrap();
    app.type_into("#approve-number", "9").await;
    app.type_into("#approve-pin", "8642").await;
    app.click("#approve-submit").await;
    app.wait_js("return !document.getElementById('dialog')", 20)
        .await;
    assert_eq!(
        available(&sb, "demo-stock-01"),
        50_000,
        "the sale was refunded"
    );
    app.wait_js(
        "const d = document.getElementById('detail'); return !!d && d.textContent.includes('Refund') && d.textContent.includes('9');",
        10,
    )
    .await;
    app.shot("13-refunded").await;

    // Paid through Dintero: the customer's phone reads the QR code on the screen (the
    // test decodes it from a screenshot with zbarimg) and pays on the payer page.
    app.key(Key::F1).await;
    app.scan_card(&pty, "9578000000001003").await;
    app.type_into("#amount", "300").await;
    app.click("#pay-dintero").await;
    app.find("#payment-qr").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.shot("14-pay-with-dintero").await;
    let shot = app
        .shots
        .join(format!("{}-14-pay-with-dintero.png", app.prefix));
    let decoded = Command::new("zbarimg")
        .args(["-q", "--raw", shot.to_str().unwrap()])
        .output()
        .expect("zbarimg (scripts/setup installs it)");
    let url = String::from_utf8_lossy(&decoded.stdout).trim().to_string();
    assert_eq!(Some(url.clone()), app.attr("#payment", "data-url").await);
    assert!(url.starts_with(&sb.base_url()), "{url}");
    pay_on_phone(&url);
    app.wait_attr("#result-state", "data-state", "confirmed", 30)
        .await;
    app.shot("15-paid-and-sold").await;
    let card = sb.snapshot("demo-stock-03").unwrap();
    assert_eq!(card.balances.available, 30_000);
    let session_tx = sb.with_store(|s| {
        let id = url.rsplit('/').next().unwrap();
        s.checkout.session(id).unwrap().transaction_id.unwrap()
    });
    assert_eq!(card.metadata["dintero_transaction_id"], session_tx.as_str());
    app.click("#next").await;

    // A payment reference that is not a payment on this account: refused, with the
    // reason; a manager lets it through with a reason (recorded on the entry).
    app.key(Key::F1).await;
    app.scan_card(&pty, "9578000000001004").await;
    app.type_into("#amount", "200").await;
    app.type_into("#txid", "BAX-e2e-77").await;
    app.click("#submit").await;
    app.wait_attr("#error", "data-code", "payment_unverified", 20)
        .await;
    let msg = app.text("#error").await;
    assert!(
        msg.contains("could not be verified") && msg.contains("does not exist"),
        "{msg}"
    );
    assert_eq!(sb.snapshot("demo-stock-04").unwrap().status, "inactive");
    app.shot("15a-payment-unverified").await;
    app.click("#override").await;
    app.type_into("#approve-number", "9").await;
    app.type_into("#approve-pin", "8642").await;
    app.type_into("#approve-reason", "paid at the card terminal")
        .await;
    app.shot("15b-override").await;
    app.click("#approve-submit").await;
    app.wait_attr("#result-state", "data-state", "confirmed", 20)
        .await;
    let card = sb.snapshot("demo-stock-04").unwrap();
    assert_eq!(card.balances.available, 20_000);
    assert_eq!(card.metadata["dintero_transaction_id"], "BAX-e2e-77");
    app.click("#next").await;

    // The network fails: a sale is saved and syncs when Dintero is back.
    sb.stop().await;
    app.key(Key::F1).await;
    app.scan_card(&pty, "9578000000001002").await;
    app.type_into("#amount", "250").await;
    app.type_into("#txid", "T12345678.demo-paid-1000").await;
    app.click("#submit").await;
    app.wait_js(
        "const e = document.getElementById('result-state'); return !!e && e.textContent.includes('Saved — will sync');",
        30,
    )
    .await;
    app.wait_attr("#net", "data-online", "false", 15).await;
    app.shot("16-saved-will-sync").await;
    let sb = sandbox(&addr, &state).await;
    app.wait_attr("#result-state", "data-state", "confirmed", 60)
        .await;
    app.wait_attr("#pending", "data-pending", "0", 15).await;
    app.shot("17-synced").await;
    let card = sb.snapshot("demo-stock-02").unwrap();
    assert_eq!(card.balances.available, 25_000);
    assert_eq!(
        card.metadata["dintero_transaction_id"],
        "T12345678.demo-paid-1000"
    );

    // Settings: the configuration and the doctor's checks.
    app.key(Key::F6).await;
    app.wait_js("return !!document.getElementById('doctor')", 30)
        .await;
    let settings = app.text("#settings").await;
    assert!(
        settings.contains("till-e2e") && settings.contains(&addr),
        "{settings}"
    );
    assert!(!settings.contains("sandbox-secret"), "no secret on screen");
    app.shot("18-settings").await;
    app.close().await;
    drop(sb);
}

/// A top-up is paid like a sale (training offers every tender): without a reference it
/// is refused and nothing is loaded; paid in cash it loads the card, and the receipt's
/// tender is cash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_is_paid_like_a_sale_in_cash_or_not_at_all() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    let app = App::start(home.path(), &[], "tender").await;
    app.sign_in("1", "1111").await;
    app.wait_attr("#screen", "data-screen", "home", 10).await;
    app.key(Key::F4).await;
    app.type_into("#card", "9578000000002003").await;
    app.type_into("#amount", "30").await;
    // Dintero (the first tender) without a payment reference: refused, named.
    app.click("#submit").await;
    app.wait_attr("#error", "data-code", "payment_required", 20)
        .await;
    // Cash.
    app.wait_js(
        "const t = document.getElementById('tender'); if (!t) return false; t.value = 'cash'; t.dispatchEvent(new Event('change')); return document.getElementById('txid').closest('label').hidden;",
        10,
    )
    .await;
    app.shot("01-topup-cash").await;
    app.click("#submit").await;
    app.wait_attr("#result-state", "data-state", "confirmed", 30)
        .await;
    app.shot("02-topup-done").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_norwegian_training_terminal_speaks_bokmal_and_formats_nok() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    let env = vec![("GIFTPOS_LOCALE".to_string(), "nb".to_string())];
    let app = App::start(home.path(), &env, "nb").await;
    let banner = app.text("#training").await;
    assert!(banner.contains("ØVELSE"), "{banner}");
    assert_eq!(app.text("#signin-submit").await, "Logg inn");
    app.shot("01-logg-inn").await;
    app.sign_in("1", "1111").await;
    app.wait_attr("#screen", "data-screen", "home", 10).await;
    assert!(app.text("#nav-sell").await.contains("Selg kort"));
    app.shot("02-meny").await;
    // A typed card number (no serial reader configured: keyboard).
    app.key(Key::F2).await;
    app.wait_text("#scanner", "tastatur", 10).await;
    app.type_into("#card", "9578000000002002").await;
    app.type_into("#pin", "6002").await;
    app.click("#submit").await;
    app.wait_js("return !!document.getElementById('balance-available')", 20)
        .await;
    let amount = app.text("#balance-available").await;
    assert!(
        amount.contains("1\u{a0}000,00") || amount.contains("1 000,00"),
        "{amount:?}"
    );
    app.shot("03-saldo").await;
    // A wrong amount in Norwegian.
    app.key(Key::F4).await;
    app.type_into("#card", "9578000000002001").await;
    app.type_into("#amount", "12,345").await;
    app.click("#submit").await;
    app.wait_attr("#error", "data-code", "invalid_amount", 20)
        .await;
    assert!(app.text("#error").await.contains("Beløpet er ikke gyldig"));
    app.shot("04-feil-belop").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_mode_fills_the_screen_and_only_a_manager_lets_the_app_go() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    let env = vec![("GIFTPOS_KIOSK".to_string(), "1".to_string())];
    let app = App::start(home.path(), &env, "kiosk").await;
    app.sign_in("1", "1111").await;
    app.wait_attr("#screen", "data-screen", "home", 10).await;
    // The whole screen (Xvfb's, 1920×1080), not the 1024×768 desktop window.
    app.wait_js(
        "return window.innerWidth === screen.width && window.innerHeight === screen.height",
        10,
    )
    .await;
    app.key(Key::F6).await;
    app.wait_js(
        "const b = document.getElementById('leave-kiosk'); return !!b && !b.hidden",
        10,
    )
    .await;
    app.shot("01-settings").await;
    // A clerk cannot let the app go; a manager can (and the app exits). The dialog is
    // driven through the DOM: WebKitWebDriver's pointer clicks miss on a window the app
    // has resized to the screen.
    let approve = |number: &str, pin: &str| {
        format!(
            "document.getElementById('approve-number').value = '{number}';\
             document.getElementById('approve-pin').value = '{pin}';\
             document.querySelector('#dialog form').requestSubmit();"
        )
    };
    app.c
        .execute("document.getElementById('leave-kiosk').click()", vec![])
        .await
        .unwrap();
    app.find("#approve-number").await;
    app.c.execute(&approve("1", "1111"), vec![]).await.unwrap();
    app.wait_attr("#dialog #error", "data-code", "manager_required", 10)
        .await;
    app.shot("02-clerk-refused").await;
    let _ = app.c.execute(&approve("9", "9999"), vec![]).await;
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if app.c.execute("return 1", vec![]).await.is_err() {
            gone = true;
            break;
        }
    }
    assert!(gone, "the app exited after the manager's approval");
    app.close().await;
}

/// Kiosk mode comes from IT's configuration and fails closed: when the terminal cannot
/// open (here a corrupt journal), the window stays the whole screen, unframed, and
/// shows the error — it does not fall back to a closable desktop window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_that_cannot_open_stays_a_kiosk_and_shows_why() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    // IT's file (the test build's GIFTPOS_SYSTEM_CONFIG, set by `clean`).
    std::fs::write(
        home.path().join("no-system-config.toml"),
        "[terminal]\nkiosk = true\n",
    )
    .unwrap();
    let training = home.path().join("data/giftpos/training");
    std::fs::create_dir_all(&training).unwrap();
    std::fs::write(
        training.join("journal.db"),
        b"this is not a SQLite database",
    )
    .unwrap();
    let app = App::start(home.path(), &[], "kiosk-closed").await;
    app.find("#fatal").await;
    assert_eq!(
        app.read("#fatal", "e.dataset.code")
            .await
            .unwrap_or_default(),
        "journal_unreadable"
    );
    app.wait_js(
        "return window.innerWidth === screen.width && window.innerHeight === screen.height",
        10,
    )
    .await;
    app.shot("01-cannot-open").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_clerk_is_signed_out_after_a_countdown() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    let env = vec![("GIFTPOS_IDLE_SIGN_OUT_SECS".to_string(), "4".to_string())];
    let app = App::start(home.path(), &env, "idle").await;
    app.sign_in("1", "1111").await;
    app.wait_attr("#screen", "data-screen", "home", 10).await;
    // The countdown shows in the last 30 s (here: at once), then the clerk is out.
    app.wait_js(
        "const b = document.getElementById('idle'); return !!b && !b.hidden && b.textContent.includes('signing out in');",
        10,
    )
    .await;
    app.shot("01-idle-countdown").await;
    app.wait_attr("#screen", "data-screen", "signin", 15).await;
    app.wait_js("return document.getElementById('idle').hidden", 5)
        .await;
    app.close().await;
}

/// Finds what does not fit: an element that scrolls or is cut sideways, text cut with an
/// ellipsis, an element reaching past its container (fixed and absolute layers aside),
/// a page that scrolls sideways.
const OVERFLOW: &str = r#"
const desc = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
const bad = [];
for (const e of document.querySelectorAll('body *')) {
  const cs = getComputedStyle(e);
  if (cs.display === 'none' || cs.visibility === 'hidden' || e.closest('[hidden]')) continue;
  const r = e.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (cs.overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1 && e.tagName !== 'SELECT' && e.tagName !== 'INPUT')
    bad.push(desc(e) + ' cuts or scrolls ' + e.scrollWidth + ' > ' + e.clientWidth);
  if (cs.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1) bad.push(desc(e) + ' is truncated');
  const p = e.parentElement;
  if (p && p !== document.body && cs.position !== 'fixed' && cs.position !== 'absolute') {
    const pr = p.getBoundingClientRect();
    if (r.right > pr.right + 1 || r.left < pr.left - 1) bad.push(desc(e) + ' reaches past ' + desc(p) + ' (' + Math.round(r.left) + '..' + Math.round(r.right) + ' in ' + Math.round(pr.left) + '..' + Math.round(pr.right) + ')');
  }
}
if (document.documentElement.scrollWidth > window.innerWidth + 1) bad.push('the page scrolls sideways');
return bad.slice(0, 20);
"#;

impl App {
    /// Asserts nothing overflows, and saves a screenshot.
    async fn fits(&self, name: &str) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.shot(name).await;
        let bad = self.c.execute(OVERFLOW, vec![]).await.unwrap();
        assert_eq!(bad, json!([]), "{name}: what does not fit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_fits_at_1024_and_1920_and_page_errors_reach_the_log() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    let app = App::start(home.path(), &[], "fit").await;
    app.sign_in("1", "1111").await;
    app.wait_attr("#screen", "data-screen", "home", 10).await;
    // Some history, a payment shown (the status bar at its fullest).
    app.key(Key::F1).await;
    app.type_into("#card", "9578000000001001").await;
    app.type_into("#amount", "500").await;
    app.type_into("#txid", "T12345678.demo-paid-500").await;
    app.click("#submit").await;
    app.find("#result").await;
    for (w, h) in [(1024u32, 768u32), (1920, 1080)] {
        app.c.set_window_size(w, h).await.unwrap();
        app.wait_js(
            &format!("return window.innerWidth <= {w} && window.innerWidth > {w} - 40"),
            10,
        )
        .await;
        for (key, screen) in [
            (Key::F1, "sell"),
            (Key::F2, "balance"),
            (Key::F3, "redeem"),
            (Key::F4, "topup"),
            (Key::F5, "history"),
            (Key::F6, "settings"),
        ] {
            app.key(key).await;
            app.wait_attr("#screen", "data-screen", screen, 10).await;
            if screen == "history" {
                app.click("#history .entry").await;
                app.find("#detail:not([hidden])").await;
            }
            if screen == "settings" {
                app.find("#doctor").await;
            }
            app.fits(&format!("{w}x{h}-{screen}")).await;
        }
        app.key(Key::F1).await;
        app.type_into(
            "#card",
            if w == 1024 {
                "9578000000001002"
            } else {
                "9578000000001003"
            },
        )
        .await;
        app.type_into("#amount", "100").await;
        app.click("#pay-dintero").await;
        app.find("#payment-qr").await;
        app.fits(&format!("{w}x{h}-payment")).await;
        app.click("#payment-cancel").await;
        app.find("#error:not([hidden])").await;
    }

    // The check finds what does not fit (a box too wide for its container).
    app.c
        .execute(
            // Through the CSSOM: the page's CSP refuses inline style attributes.
            "const d = document.createElement('div'); d.id = 'probe'; d.style.width = '100px'; d.style.overflow = 'auto'; const w = document.createElement('div'); w.style.width = '300px'; w.textContent = 'wide'; d.append(w); document.getElementById('screen').append(d);",
            vec![],
        )
        .await
        .unwrap();
    let found = app.c.execute(OVERFLOW, vec![]).await.unwrap();
    assert!(
        found.to_string().contains("div#probe cuts or scrolls"),
        "{found}"
    );
    app.c
        .execute("document.getElementById('probe').remove()", vec![])
        .await
        .unwrap();

    // An error in the page reaches the log file IT reads.
    app.c
        .execute(
            "setTimeout(() => { throw new Error('e2e-probe-onerror') }, 0); setTimeout(() => { Promise.reject(new Error('e2e-probe-rejection')) }, 0);",
            vec![],
        )
        .await
        .unwrap();
    let logs = home.path().join("data/giftpos/training/logs");
    let logs = if logs.exists() {
        logs
    } else {
        home.path().join("data/giftpos/logs")
    };
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let text: String = std::fs::read_dir(&logs)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|f| std::fs::read_to_string(f.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if text.contains("e2e-probe-onerror") && text.contains("e2e-probe-rejection") {
            break;
        }
        assert!(
            Instant::now() < until,
            "page errors not in {}: {text}",
            logs.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_display_shows_the_amount_and_qr_then_thanks_with_the_balance_and_a_split() {
    let _one = ONE_AT_A_TIME.lock().await;
    let home = tempfile::tempdir().unwrap();
    let env = vec![("GIFTPOS_CUSTOMER_DISPLAY".to_string(), "1".to_string())];
    let app = App::start(home.path(), &env, "customer").await;
    let main = app.c.window().await.unwrap();
    app.sign_in("1", "1111").await;
    app.wait_attr("#screen", "data-screen", "home", 10).await;
    app.key(Key::F1).await;
    app.type_into("#card", "9578000000001004").await;
    app.type_into("#amount", "250").await;
    app.click("#pay-dintero").await;
    app.find("#payment-qr").await;
    let url = app.attr("#payment", "data-url").await.unwrap();

    // The second window: the customer's.
    let until = Instant::now() + Duration::from_secs(20);
    let customer = loop {
        let all = app.c.windows().await.unwrap();
        if let Some(w) = all.into_iter().find(|w| *w != main) {
            break w;
        }
        assert!(Instant::now() < until, "no customer window");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    app.c.switch_to_window(customer.clone()).await.unwrap();
    app.wait_attr("#customer", "data-state", "pay", 10).await;
    assert!(app.text("#customer-amount").await.contains("250"));
    app.find("#customer-qr").await;
    app.fits("01-customer-pay").await;
    let shot = app
        .shots
        .join(format!("{}-01-customer-pay.png", app.prefix));
    let decoded = Command::new("zbarimg")
        .args(["-q", "--raw", shot.to_str().unwrap()])
        .output()
        .expect("zbarimg");
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout).trim(),
        url,
        "the customer scans the payment"
    );

    pay_on_phone(&url);
    app.wait_attr("#customer", "data-state", "thanks", 30).await;
    assert!(
        app.text("#customer-balance").await.contains("250"),
        "the card's balance"
    );
    app.fits("02-customer-thanks").await;
    app.c.switch_to_window(main.clone()).await.unwrap();
    app.wait_attr("#result-state", "data-state", "confirmed", 30)
        .await;

    // Redeem → Pay the rest with Dintero: the customer's card (NOK 50.00) pays its part
    // of a NOK 400.00 purchase and the customer pays the rest by the QR code on their
    // display; the result and the receipt show the total, the card's part, the rest and
    // the card's new balance.
    app.click("#next").await;
    app.key(Key::F3).await;
    app.wait_attr("#screen", "data-screen", "redeem", 10).await;
    app.type_into("#card", "9578000000002003").await;
    app.type_into("#pin", "6003").await;
    app.type_into("#amount", "400").await;
    app.click("#pay-rest").await;
    app.find("#payment-qr").await;
    let split = app.text("#payment-split").await;
    assert!(
        split.contains("50.00") && split.contains("350.00"),
        "{split}"
    );
    let url = app.attr("#payment", "data-url").await.unwrap();
    app.shot("03-pay-the-rest").await;
    app.c.switch_to_window(customer.clone()).await.unwrap();
    app.wait_attr("#customer", "data-state", "pay", 10).await;
    assert!(app.text("#customer-gift-card").await.contains("50.00"));
    assert!(app.text("#customer-amount").await.contains("350.00"));
    app.fits("04-customer-pay-the-rest").await;
    pay_on_phone(&url);
    app.wait_attr("#customer", "data-state", "thanks", 30).await;
    assert!(app.text("#customer-balance").await.contains("0.00"));
    app.c.switch_to_window(main).await.unwrap();
    app.wait_attr("#result-state", "data-state", "confirmed", 30)
        .await;
    assert!(app.text("#result-gift-card").await.contains("50.00"));
    assert!(app.text("#result-rest").await.contains("350.00"));
    assert!(app.text("#result-balance").await.contains("0.00"));
    app.shot("05-paid-the-rest").await;
    app.click("#receipt").await;
    app.wait_js(
        "return document.getElementById('receipt-result').textContent.includes('.pdf');",
        20,
    )
    .await;
    let said = app.text("#receipt-result").await;
    let pdf = said
        .split_whitespace()
        .find(|w| w.contains(".pdf"))
        .unwrap()
        .trim_end_matches(['.', ')']);
    let out = Command::new("pdftotext")
        .args(["-layout", pdf, "-"])
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Purchase, paid with gift card",
        "NOK 400.00",
        "Gift card    NOK 50.00",
        "Rest         NOK 350.00",
        "Balance after NOK 0.00",
    ] {
        assert!(text.contains(want), "{want:?} not on the receipt:\n{text}");
    }
    app.close().await;
}
