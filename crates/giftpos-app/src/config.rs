//! Configuration: TOML files in layers (system, user, `--config`), then the environment.
//! A later layer overrides an earlier one key by key. Every error names where the value
//! came from (a file or an environment variable), the key, and what was expected.
//!
//! With no Dintero credentials and no API base anywhere, the terminal runs in **training
//! mode** on an embedded sandbox.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use giftpos_core::{Currency, Locale, Money, Secret, TokenFormat};
use giftpos_dintero::wire::AccountId;
use serde::{Deserialize, Serialize};

/// The system-wide file IT manages.
pub const SYSTEM_CONFIG: &str = "/etc/giftpos/config.toml";

/// Every environment variable the terminal reads.
pub const ENV_VARS: &[&str] = &[
    "GIFTPOS_CONFIG",
    "GIFTPOS_API_BASE",
    "GIFTPOS_ACCOUNT_ID",
    "GIFTPOS_CLIENT_ID",
    "GIFTPOS_CLIENT_SECRET",
    "GIFTPOS_CLIENT_SECRET_FILE",
    "GIFTPOS_DATA_DIR",
    "GIFTPOS_CURRENCY",
    "GIFTPOS_TERMINAL_ID",
    "GIFTPOS_STORE_NAME",
    "GIFTPOS_LOCALE",
    "GIFTPOS_SYSTEM_CONFIG",
    "GIFTPOS_SCANNER_PORT",
    "GIFTPOS_PAYMENT_PROFILE",
    "GIFTPOS_CHECKOUT_CLIENT_ID",
    "GIFTPOS_CHECKOUT_CLIENT_SECRET",
    "GIFTPOS_CHECKOUT_CLIENT_SECRET_FILE",
    "GIFTPOS_PAYMENTS_VERIFY",
    "GIFTPOS_IDLE_SIGN_OUT_SECS",
    "GIFTPOS_KIOSK",
];

/// One configuration file's contents. Unknown keys are errors (a typo must not be
/// silently ignored on a till).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub dintero: DinteroSection,
    #[serde(default)]
    pub terminal: TerminalSection,
    #[serde(default)]
    pub cards: CardsSection,
    #[serde(default)]
    pub offline: OfflineSection,
    #[serde(default)]
    pub scanner: ScannerSection,
    #[serde(default)]
    pub printer: PrinterSection,
    #[serde(default)]
    pub logging: LoggingSection,
    #[serde(default)]
    pub update: UpdateSection,
    #[serde(default)]
    pub sync: SyncSection,
    #[serde(default)]
    pub payments: PaymentsSection,
    #[serde(default)]
    pub metrics: MetricsSection,
}

/// Fleet monitoring in Prometheus' text format.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Serve `GET /metrics` here: a loopback address such as `127.0.0.1:9925`.
    pub listen: Option<String>,
    /// Write `giftpos.prom` here for node_exporter's textfile collector.
    pub textfile_dir: Option<PathBuf>,
}

/// The resolved `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    pub listen: Option<std::net::SocketAddr>,
    pub textfile_dir: Option<PathBuf>,
}

/// Verifying the payment behind a sold card.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsSection {
    /// `required` (default), `warn` or `off`.
    pub verify: Option<String>,
}

/// How long sync keeps trying an entry Dintero answers but cannot complete, before a
/// manager must look at it. Being offline never counts.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// Failed attempts where Dintero answered (unreadable, 5xx, 429). Default 10.
    pub max_failures: Option<u32>,
    /// Seconds since the first such failure. Default 86400.
    pub max_failure_age_secs: Option<u64>,
    /// Seconds an entry may wait for Dintero to decide (a payment pending approval, an
    /// operation accepted with 202). Default 86400.
    pub max_wait_secs: Option<u64>,
}

/// The resolved sync limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    pub max_failures: u32,
    pub max_failure_age: Duration,
    pub max_wait: Duration,
}

/// Signed updates. Only the system file may have this section: a user file cannot point
/// a till at another update server, key or install command.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSection {
    /// The release JSON's URL (https://, or http:// to loopback). None: no checks.
    pub endpoint: Option<String>,
    /// The trusted public key (as `tauri signer generate` writes it, base64); default:
    /// the key built into the package.
    pub pubkey: Option<String>,
    /// Run with a verified package's path appended, e.g. `["pkexec", "dpkg", "-i"]`.
    /// Empty or none: verified packages are only kept in `<data dir>/updates` for IT.
    pub install_command: Option<Vec<String>>,
}

/// Where updates come from and what to do with a verified one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSettings {
    /// The release JSON's URL (`[update] endpoint`); none: no update checks.
    pub endpoint: Option<String>,
    /// The trusted public key (Tauri/minisign format, base64).
    pub pubkey: Option<String>,
    /// Run with the verified package's path appended, e.g. `pkexec dpkg -i`; empty:
    /// the package is only staged for IT.
    pub install_command: Vec<String>,
    /// Where downloads are kept.
    pub dir: PathBuf,
}

/// The JSON log file (a human form goes to stderr besides).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSection {
    /// error, warn, info, debug or trace, or a filter such as `giftpos_dintero=debug`.
    pub level: Option<String>,
    /// Default: `<data dir>/logs`.
    pub dir: Option<PathBuf>,
}

/// Where receipts go: a CUPS printer, and the folder every receipt is saved in.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterSection {
    /// A CUPS queue name (`lpstat -p` lists them). None: receipts are only saved.
    pub name: Option<String>,
    /// Default: `<data dir>/receipts`.
    pub receipts_dir: Option<PathBuf>,
}

/// A serial barcode reader. Without `port`, only keyboard-wedge readers and typing.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerSection {
    pub port: Option<String>,
    pub baud: Option<u32>,
    pub data_bits: Option<u8>,
    pub parity: Option<String>,
    pub stop_bits: Option<u8>,
    pub flow_control: Option<String>,
    /// cr, lf, crlf, tab or etx.
    pub terminator: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub inter_byte_timeout_ms: Option<u64>,
    pub max_frame_len: Option<usize>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DinteroSection {
    pub api_base: Option<String>,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    /// A file holding the client secret (the secret itself never goes in a config file).
    pub client_secret_file: Option<PathBuf>,
    pub timeout_ms: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
    /// The Checkout session profile used for "pay with Dintero" (Dintero backoffice →
    /// Checkout → Payment profiles). None: only payments taken elsewhere.
    pub payment_profile_id: Option<String>,
    /// The Payments API's base; default `https://checkout.dintero.com` (a loopback
    /// `api_base` — a sandbox — serves both).
    pub checkout_base: Option<String>,
    /// A separate API client for Checkout (Dintero advises one for Wallets and another
    /// for the payment side). Both or neither; none: the main client does both.
    pub checkout_client_id: Option<String>,
    pub checkout_client_secret_file: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalSection {
    /// Sign an idle clerk out after this many seconds (default 300; 0: never).
    pub idle_sign_out_secs: Option<u64>,
    /// A till, not a desktop window: fullscreen, undecorated, not closable or resizable;
    /// leaving needs a manager.
    pub kiosk: Option<bool>,
    pub id: Option<String>,
    pub store_name: Option<String>,
    pub currency: Option<String>,
    pub locale: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// Offline redemption caps. All unset (the default): redemption is refused offline.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineSection {
    /// Largest single redemption accepted offline, e.g. "500.00".
    pub max_redeem: Option<String>,
    /// Largest total of offline redemptions waiting to sync, e.g. "2000.00".
    pub max_outstanding: Option<String>,
    /// Oldest last-known balance an offline redemption may rely on, in seconds.
    pub max_balance_age_secs: Option<u64>,
}

/// The resolved offline caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineCaps {
    pub max_redeem: Money,
    pub max_outstanding: Money,
    pub max_balance_age: Duration,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CardsSection {
    pub token_formats: Option<Vec<TokenFormat>>,
}

/// Where a value came from, for error messages and the settings view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Source {
    File(PathBuf),
    Env(String),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Default => f.write_str("the defaults"),
        }
    }
}

/// A configuration problem, naming the place, the key and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {file}: {message}")]
    Read { file: PathBuf, message: String },
    #[error("config file {file} is not valid: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{origin}: `{key}` is invalid: expected {expected}")]
    Invalid {
        origin: Source,
        key: String,
        expected: String,
    },
    #[error(
        "Dintero credentials are incomplete: {missing} missing. Set all of api_base, account_id, client_id and a client secret, or none of them for training mode"
    )]
    IncompleteCredentials { missing: String },
    #[error("client secret file {file}: {problem}. Fix: {fix}")]
    SecretFile {
        file: PathBuf,
        problem: String,
        fix: String,
    },
}

/// Which Dintero the terminal talks to.
#[derive(Clone)]
pub enum Mode {
    /// Real credentials (test `T…` or production `P…` account).
    Live {
        api_base: String,
        account_id: AccountId,
        client_id: String,
        client_secret: Secret,
        /// Where the secret came from (never the secret).
        secret_source: Source,
    },
    /// No credentials: an embedded sandbox with demo cards.
    Training,
}

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Live {
                api_base,
                account_id,
                client_id,
                ..
            } => f
                .debug_struct("Live")
                .field("api_base", api_base)
                .field("account_id", account_id)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Mode::Training => f.write_str("Training"),
        }
    }
}

/// The resolved configuration the terminal runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub terminal_id: String,
    pub store_name: String,
    pub currency: Currency,
    pub locale: Locale,
    pub data_dir: PathBuf,
    pub token_formats: Vec<TokenFormat>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// When set, redemptions may be accepted offline within these caps.
    pub offline: Option<OfflineCaps>,
    /// The serial barcode reader's settings (its port may be unset: no serial reader).
    pub scanner: giftpos_scanner::SerialConfig,
    pub scanner_configured: bool,
    /// The CUPS printer for receipts, if any.
    pub printer: Option<String>,
    /// Where receipts are saved (always) as PDF.
    pub receipts_dir: PathBuf,
    /// The JSON log's level filter and folder.
    pub log_level: String,
    pub log_dir: PathBuf,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
    /// Where signed updates come from.
    pub update: UpdateSettings,
    /// The Checkout session profile for "pay with Dintero".
    pub payment_profile: Option<String>,
    /// The Payments API's base, when not the default.
    pub checkout_base: Option<String>,
    /// The separate Checkout API client, when configured (live mode only).
    pub checkout_client: Option<CheckoutClient>,
    /// How long sync keeps trying before a manager must look.
    pub sync: SyncLimits,
    /// Whether a typed or scanned payment reference is verified before a card is sold.
    pub payments_verify: crate::payments::VerifyMode,
    /// Where the metrics go.
    pub metrics: MetricsSettings,
    /// Sign an idle clerk out after this long (zero: never).
    pub idle_sign_out: Duration,
    /// Kiosk mode (`[terminal] kiosk`).
    pub kiosk: bool,
}

/// A separate API client for Checkout.
#[derive(Clone)]
pub struct CheckoutClient {
    pub client_id: String,
    pub client_secret: Secret,
    /// Where the secret came from (never the secret).
    pub secret_source: Source,
}

impl fmt::Debug for CheckoutClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckoutClient")
            .field("client_id", &self.client_id)
            .field("secret_source", &self.secret_source)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn is_training(&self) -> bool {
        matches!(self.mode, Mode::Training)
    }

    /// The journal's file: `<data dir>/journal.db`, or in training mode its own
    /// `<data dir>/training/journal.db`, so practice never mixes with real sales. The
    /// clerk list (`clerks.db`) lives beside it.
    pub fn journal_path(&self) -> PathBuf {
        if self.is_training() {
            self.data_dir.join("training").join("journal.db")
        } else {
            self.data_dir.join("journal.db")
        }
    }
}

/// What [`load`] reads: the explicit file (`--config`), the environment, and where the
/// system and user files are.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub explicit: Option<PathBuf>,
    pub env: HashMap<String, String>,
    pub system_file: Option<PathBuf>,
    pub user_file: Option<PathBuf>,
}

impl LoadOptions {
    /// The process environment and the standard paths.
    pub fn from_process(explicit: Option<PathBuf>) -> LoadOptions {
        let env: HashMap<String, String> = ENV_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        let system_file = Some(
            env.get("GIFTPOS_SYSTEM_CONFIG")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(SYSTEM_CONFIG)),
        );
        let user_file = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|d| d.join("giftpos").join("config.toml"));
        let explicit = explicit.or_else(|| env.get("GIFTPOS_CONFIG").map(PathBuf::from));
        LoadOptions {
            explicit,
            env,
            system_file,
            user_file,
        }
    }
}

/// A value with where it came from.
#[derive(Debug, Clone)]
struct Val<T> {
    v: T,
    src: Source,
}

#[derive(Debug, Default)]
struct Layered {
    api_base: Option<Val<String>>,
    account_id: Option<Val<String>>,
    client_id: Option<Val<String>>,
    client_secret: Option<Val<Secret>>,
    client_secret_file: Option<Val<PathBuf>>,
    timeout_ms: Option<Val<u64>>,
    connect_timeout_ms: Option<Val<u64>>,
    payment_profile: Option<Val<String>>,
    checkout_base: Option<Val<String>>,
    checkout_client_id: Option<Val<String>>,
    checkout_client_secret: Option<Val<Secret>>,
    checkout_client_secret_file: Option<Val<PathBuf>>,
    sync_max_failures: Option<Val<u32>>,
    sync_max_failure_age: Option<Val<u64>>,
    sync_max_wait: Option<Val<u64>>,
    payments_verify: Option<Val<String>>,
    metrics_listen: Option<Val<String>>,
    idle_sign_out: Option<Val<u64>>,
    idle_sign_out_env: Option<Val<String>>,
    kiosk: Option<Val<bool>>,
    metrics_textfile_dir: Option<Val<PathBuf>>,
    terminal_id: Option<Val<String>>,
    store_name: Option<Val<String>>,
    currency: Option<Val<String>>,
    locale: Option<Val<String>>,
    data_dir: Option<Val<PathBuf>>,
    token_formats: Option<Val<Vec<TokenFormat>>>,
    offline_max_redeem: Option<Val<String>>,
    offline_max_outstanding: Option<Val<String>>,
    offline_max_age: Option<Val<u64>>,
    scanner: Option<Val<ScannerSection>>,
    printer: Option<Val<String>>,
    receipts_dir: Option<Val<PathBuf>>,
    log_level: Option<Val<String>>,
    log_dir: Option<Val<PathBuf>>,
    scanner_port: Option<Val<String>>,
    update: UpdateSection,
}

fn set<T>(slot: &mut Option<Val<T>>, v: Option<T>, src: &Source) {
    if let Some(v) = v {
        *slot = Some(Val {
            v,
            src: src.clone(),
        });
    }
}

impl Layered {
    fn apply_file(&mut self, f: FileConfig, src: Source) {
        set(&mut self.api_base, f.dintero.api_base, &src);
        set(&mut self.account_id, f.dintero.account_id, &src);
        set(&mut self.client_id, f.dintero.client_id, &src);
        set(
            &mut self.client_secret_file,
            f.dintero.client_secret_file,
            &src,
        );
        set(&mut self.timeout_ms, f.dintero.timeout_ms, &src);
        set(
            &mut self.payment_profile,
            f.dintero.payment_profile_id,
            &src,
        );
        set(&mut self.checkout_base, f.dintero.checkout_base, &src);
        set(
            &mut self.checkout_client_id,
            f.dintero.checkout_client_id,
            &src,
        );
        set(
            &mut self.checkout_client_secret_file,
            f.dintero.checkout_client_secret_file,
            &src,
        );
        set(&mut self.sync_max_failures, f.sync.max_failures, &src);
        set(
            &mut self.sync_max_failure_age,
            f.sync.max_failure_age_secs,
            &src,
        );
        set(&mut self.sync_max_wait, f.sync.max_wait_secs, &src);
        set(&mut self.payments_verify, f.payments.verify, &src);
        set(&mut self.metrics_listen, f.metrics.listen, &src);
        set(&mut self.idle_sign_out, f.terminal.idle_sign_out_secs, &src);
        set(&mut self.kiosk, f.terminal.kiosk, &src);
        set(&mut self.metrics_textfile_dir, f.metrics.textfile_dir, &src);
        set(
            &mut self.connect_timeout_ms,
            f.dintero.connect_timeout_ms,
            &src,
        );
        set(&mut self.terminal_id, f.terminal.id, &src);
        set(&mut self.store_name, f.terminal.store_name, &src);
        set(&mut self.currency, f.terminal.currency, &src);
        set(&mut self.locale, f.terminal.locale, &src);
        set(&mut self.data_dir, f.terminal.data_dir, &src);
        set(&mut self.token_formats, f.cards.token_formats, &src);
        set(&mut self.offline_max_redeem, f.offline.max_redeem, &src);
        set(
            &mut self.offline_max_outstanding,
            f.offline.max_outstanding,
            &src,
        );
        set(
            &mut self.offline_max_age,
            f.offline.max_balance_age_secs,
            &src,
        );
        let sc = f.scanner;
        let port = sc.port.clone();
        let any = port.is_some()
            || sc.baud.is_some()
            || sc.terminator.is_some()
            || sc.data_bits.is_some()
            || sc.parity.is_some()
            || sc.stop_bits.is_some()
            || sc.flow_control.is_some()
            || sc.prefix.is_some()
            || sc.suffix.is_some()
            || sc.inter_byte_timeout_ms.is_some()
            || sc.max_frame_len.is_some();
        if any {
            self.scanner = Some(Val {
                v: merge_scanner(self.scanner.take().map(|v| v.v), sc),
                src: src.clone(),
            });
        }
        set(&mut self.scanner_port, port, &src);
        set(&mut self.printer, f.printer.name, &src);
        set(&mut self.receipts_dir, f.printer.receipts_dir, &src);
        set(&mut self.log_level, f.logging.level, &src);
        set(&mut self.log_dir, f.logging.dir, &src);
    }

    /// Puts back the system file's `[dintero]` keys, and takes the stricter of its
    /// `[offline]` caps and the later files'.
    fn keep_system(&mut self, sys: FileConfig, src: &Source) -> Result<(), ConfigError> {
        // Only IT's files may name updates; a later one overrides an earlier key by key.
        let u = sys.update;
        if u.endpoint.is_some() {
            self.update.endpoint = u.endpoint;
        }
        if u.pubkey.is_some() {
            self.update.pubkey = u.pubkey;
        }
        if u.install_command.is_some() {
            self.update.install_command = u.install_command;
        }
        let d = sys.dintero;
        set(&mut self.api_base, d.api_base, src);
        set(&mut self.account_id, d.account_id, src);
        set(&mut self.client_id, d.client_id, src);
        set(&mut self.client_secret_file, d.client_secret_file, src);
        set(&mut self.checkout_client_id, d.checkout_client_id, src);
        set(
            &mut self.checkout_client_secret_file,
            d.checkout_client_secret_file,
            src,
        );
        let stricter = |mine: &mut Option<Val<String>>, theirs: Option<String>, key: &str| {
            let Some(sys_v) = theirs else { return Ok(()) };
            // Amounts compare in minor units, whatever the currency's exponent.
            let minor = |v: &str, origin: &Source| {
                Money::parse(
                    v,
                    Currency::parse("NOK").unwrap_or_else(|_| unreachable!()),
                    Locale::En,
                )
                .map(|m| m.minor())
                .map_err(|e| invalid(origin, key, format!("an amount such as \"500.00\" ({e})")))
            };
            let keep_mine = match mine {
                Some(m) if m.src != *src => minor(&m.v, &m.src)? <= minor(&sys_v, src)?,
                _ => false,
            };
            if !keep_mine {
                *mine = Some(Val {
                    v: sys_v,
                    src: src.clone(),
                });
            }
            Ok::<(), ConfigError>(())
        };
        stricter(
            &mut self.offline_max_redeem,
            sys.offline.max_redeem,
            "offline.max_redeem",
        )?;
        stricter(
            &mut self.offline_max_outstanding,
            sys.offline.max_outstanding,
            "offline.max_outstanding",
        )?;
        if let Some(age) = sys.offline.max_balance_age_secs
            && self.offline_max_age.as_ref().is_none_or(|m| m.v > age)
        {
            self.offline_max_age = Some(Val {
                v: age,
                src: src.clone(),
            });
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &HashMap<String, String>) {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let src = |k: &str| Source::Env(k.to_string());
        set(
            &mut self.api_base,
            get("GIFTPOS_API_BASE"),
            &src("GIFTPOS_API_BASE"),
        );
        set(
            &mut self.account_id,
            get("GIFTPOS_ACCOUNT_ID"),
            &src("GIFTPOS_ACCOUNT_ID"),
        );
        set(
            &mut self.client_id,
            get("GIFTPOS_CLIENT_ID"),
            &src("GIFTPOS_CLIENT_ID"),
        );
        set(
            &mut self.payment_profile,
            get("GIFTPOS_PAYMENT_PROFILE"),
            &src("GIFTPOS_PAYMENT_PROFILE"),
        );
        set(
            &mut self.client_secret,
            get("GIFTPOS_CLIENT_SECRET").map(Secret::new),
            &src("GIFTPOS_CLIENT_SECRET"),
        );
        set(
            &mut self.client_secret_file,
            get("GIFTPOS_CLIENT_SECRET_FILE").map(PathBuf::from),
            &src("GIFTPOS_CLIENT_SECRET_FILE"),
        );
        set(
            &mut self.data_dir,
            get("GIFTPOS_DATA_DIR").map(PathBuf::from),
            &src("GIFTPOS_DATA_DIR"),
        );
        set(
            &mut self.currency,
            get("GIFTPOS_CURRENCY"),
            &src("GIFTPOS_CURRENCY"),
        );
        set(
            &mut self.terminal_id,
            get("GIFTPOS_TERMINAL_ID"),
            &src("GIFTPOS_TERMINAL_ID"),
        );
        set(
            &mut self.store_name,
            get("GIFTPOS_STORE_NAME"),
            &src("GIFTPOS_STORE_NAME"),
        );
        set(
            &mut self.locale,
            get("GIFTPOS_LOCALE"),
            &src("GIFTPOS_LOCALE"),
        );
        set(
            &mut self.scanner_port,
            get("GIFTPOS_SCANNER_PORT"),
            &src("GIFTPOS_SCANNER_PORT"),
        );
        set(
            &mut self.kiosk,
            get("GIFTPOS_KIOSK").map(|v| matches!(v.trim(), "1" | "true" | "yes")),
            &src("GIFTPOS_KIOSK"),
        );
        if let Some(v) = get("GIFTPOS_IDLE_SIGN_OUT_SECS") {
            self.idle_sign_out_env = Some(Val {
                v,
                src: src("GIFTPOS_IDLE_SIGN_OUT_SECS"),
            });
        }
        set(
            &mut self.payments_verify,
            get("GIFTPOS_PAYMENTS_VERIFY"),
            &src("GIFTPOS_PAYMENTS_VERIFY"),
        );
        set(
            &mut self.checkout_client_id,
            get("GIFTPOS_CHECKOUT_CLIENT_ID"),
            &src("GIFTPOS_CHECKOUT_CLIENT_ID"),
        );
        set(
            &mut self.checkout_client_secret,
            get("GIFTPOS_CHECKOUT_CLIENT_SECRET").map(Secret::new),
            &src("GIFTPOS_CHECKOUT_CLIENT_SECRET"),
        );
        set(
            &mut self.checkout_client_secret_file,
            get("GIFTPOS_CHECKOUT_CLIENT_SECRET_FILE").map(PathBuf::from),
            &src("GIFTPOS_CHECKOUT_CLIENT_SECRET_FILE"),
        );
    }
}

/// A later file's scanner keys override an earlier file's, key by key.
fn merge_scanner(base: Option<ScannerSection>, over: ScannerSection) -> ScannerSection {
    let b = base.unwrap_or_default();
    ScannerSection {
        port: over.port.or(b.port),
        baud: over.baud.or(b.baud),
        data_bits: over.data_bits.or(b.data_bits),
        parity: over.parity.or(b.parity),
        stop_bits: over.stop_bits.or(b.stop_bits),
        flow_control: over.flow_control.or(b.flow_control),
        terminator: over.terminator.or(b.terminator),
        prefix: over.prefix.or(b.prefix),
        suffix: over.suffix.or(b.suffix),
        inter_byte_timeout_ms: over.inter_byte_timeout_ms.or(b.inter_byte_timeout_ms),
        max_frame_len: over.max_frame_len.or(b.max_frame_len),
    }
}

fn resolve_scanner(
    sc: Option<Val<ScannerSection>>,
    port: Option<Val<String>>,
) -> Result<(giftpos_scanner::SerialConfig, bool), ConfigError> {
    let configured = port.is_some();
    let src = sc
        .as_ref()
        .map(|v| v.src.clone())
        .or(port.as_ref().map(|p| p.src.clone()))
        .unwrap_or(Source::Default);
    let s = sc.map(|v| v.v).unwrap_or_default();
    let d = giftpos_scanner::SerialConfig::default();
    let terminator = match s.terminator.as_deref() {
        Some(t) => giftpos_scanner::Terminator::parse(t)
            .ok_or_else(|| invalid(&src, "scanner.terminator", "cr, lf, crlf, tab or etx"))?,
        None => d.frame.terminator,
    };
    let cfg = giftpos_scanner::SerialConfig {
        port: port.map(|p| p.v).unwrap_or(d.port),
        baud: s.baud.unwrap_or(d.baud),
        data_bits: s.data_bits.unwrap_or(d.data_bits),
        parity: s.parity.unwrap_or(d.parity),
        stop_bits: s.stop_bits.unwrap_or(d.stop_bits),
        flow_control: s.flow_control.unwrap_or(d.flow_control),
        frame: giftpos_scanner::FrameConfig {
            terminator,
            prefix: s.prefix,
            suffix: s.suffix,
            inter_byte_timeout: s
                .inter_byte_timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(d.frame.inter_byte_timeout),
            max_len: s.max_frame_len.unwrap_or(d.frame.max_len),
        },
    };
    cfg.validate().map_err(|e| ConfigError::Invalid {
        origin: src,
        key: format!("scanner.{}", e.key),
        expected: e.message,
    })?;
    Ok((cfg, configured))
}

fn read_file(path: &Path, required: bool) -> Result<Option<FileConfig>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Read {
                file: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            file: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
}

/// Reads every layer and resolves the configuration.
///
/// What IT sets in the system file, a user's file (or `--config`) may not loosen: the
/// `[dintero]` keys it sets stay as set, and its `[offline]` caps can only be tightened.
/// The environment (set by IT's deployment) still overrides everything.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let mut l = Layered::default();
    let mut files = Vec::new();
    let mut system: Vec<(FileConfig, Source)> = Vec::new();
    // IT's layer: the system file, then its drop-ins (`config.d/*.toml` beside it, in
    // name order — what configuration management writes); then the user's files.
    let mut layers: Vec<(PathBuf, bool, bool)> = Vec::new();
    if let Some(sys) = &opts.system_file {
        layers.push((sys.clone(), false, true));
        layers.extend(drop_ins(sys)?.into_iter().map(|p| (p, true, true)));
    }
    for (path, required) in [(&opts.user_file, false), (&opts.explicit, true)] {
        if let Some(p) = path {
            layers.push((p.clone(), required, false));
        }
    }
    for (path, required, is_system) in layers {
        if let Some(f) = read_file(&path, required)? {
            let u = &f.update;
            if !is_system
                && (u.endpoint.is_some() || u.pubkey.is_some() || u.install_command.is_some())
            {
                return Err(invalid(
                    &Source::File(path.clone()),
                    "update",
                    "no [update] here: only the system file chooses where updates come from",
                ));
            }
            if is_system {
                system.push((f.clone(), Source::File(path.clone())));
            }
            l.apply_file(f, Source::File(path.clone()));
            files.push(path);
        }
    }
    for (sys, src) in system {
        l.keep_system(sys, &src)?;
    }
    l.apply_env(&opts.env);
    resolve(l, files)
}

/// The drop-ins beside the system file: `<dir>/config.d/*.toml`, in name order.
fn drop_ins(system_file: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let Some(dir) = system_file.parent().map(|d| d.join("config.d")) else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ConfigError::Read {
                file: dir,
                message: e.to_string(),
            });
        }
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    Ok(out)
}

fn invalid(src: &Source, key: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: src.clone(),
        key: key.into(),
        expected: expected.into(),
    }
}

fn resolve(l: Layered, files: Vec<PathBuf>) -> Result<Config, ConfigError> {
    let secret_given = l.client_secret.is_some() || l.client_secret_file.is_some();
    let any =
        l.api_base.is_some() || l.account_id.is_some() || l.client_id.is_some() || secret_given;
    let mode = if !any {
        Mode::Training
    } else {
        let mut missing = Vec::new();
        if l.api_base.is_none() {
            missing.push("api_base (GIFTPOS_API_BASE)");
        }
        if l.account_id.is_none() {
            missing.push("account_id (GIFTPOS_ACCOUNT_ID)");
        }
        if l.client_id.is_none() {
            missing.push("client_id (GIFTPOS_CLIENT_ID)");
        }
        if !secret_given {
            missing.push("client secret (GIFTPOS_CLIENT_SECRET or client_secret_file)");
        }
        if !missing.is_empty() {
            return Err(ConfigError::IncompleteCredentials {
                missing: missing.join(", "),
            });
        }
        let base = l.api_base.unwrap_or_else(|| unreachable!());
        let api_base = check_api_base(&base.v).map_err(|e| invalid(&base.src, "api_base", e))?;
        let aid = l.account_id.unwrap_or_else(|| unreachable!());
        let account_id =
            AccountId::parse(aid.v.trim()).map_err(|e| invalid(&aid.src, "account_id", e))?;
        let cid = l.client_id.unwrap_or_else(|| unreachable!());
        if cid.v.trim().is_empty() {
            return Err(invalid(&cid.src, "client_id", "a non-empty client id"));
        }
        let (client_secret, secret_source) = match (l.client_secret, l.client_secret_file) {
            (Some(s), _) => (s.v, s.src),
            (None, Some(f)) => (read_secret_file(&f.v)?, Source::File(f.v)),
            (None, None) => unreachable!(),
        };
        Mode::Live {
            api_base,
            account_id,
            client_id: cid.v.trim().to_string(),
            client_secret,
            secret_source,
        }
    };
    let checkout_client = match (
        l.checkout_client_id,
        l.checkout_client_secret,
        l.checkout_client_secret_file,
    ) {
        (None, None, None) => None,
        (Some(id), secret, file) if secret.is_some() || file.is_some() => {
            if matches!(mode, Mode::Training) {
                return Err(invalid(
                    &id.src,
                    "dintero.checkout_client_id",
                    "no separate Checkout client in training mode (set the main credentials too)",
                ));
            }
            if id.v.trim().is_empty() {
                return Err(invalid(
                    &id.src,
                    "dintero.checkout_client_id",
                    "a non-empty client id",
                ));
            }
            let (client_secret, secret_source) = match (secret, file) {
                (Some(s), _) => (s.v, s.src),
                (None, Some(f)) => (read_secret_file(&f.v)?, Source::File(f.v)),
                (None, None) => unreachable!(),
            };
            Some(CheckoutClient {
                client_id: id.v.trim().to_string(),
                client_secret,
                secret_source,
            })
        }
        (id, secret, file) => {
            let src = id
                .map(|v| v.src)
                .or(secret.map(|v| v.src))
                .or(file.map(|v| v.src))
                .unwrap_or(Source::Default);
            return Err(invalid(
                &src,
                "dintero.checkout_client_id",
                "both checkout_client_id and its secret (GIFTPOS_CHECKOUT_CLIENT_SECRET or checkout_client_secret_file), or neither",
            ));
        }
    };
    let positive = |v: Option<Val<u64>>, key: &str, default: u64| match v {
        Some(v) if v.v == 0 => Err(invalid(&v.src, key, "a number of seconds above 0")),
        Some(v) => Ok(Duration::from_secs(v.v)),
        None => Ok(Duration::from_secs(default)),
    };
    let sync = SyncLimits {
        max_failures: match l.sync_max_failures {
            Some(v) if v.v == 0 => {
                return Err(invalid(&v.src, "sync.max_failures", "a count above 0"));
            }
            Some(v) => v.v,
            None => 10,
        },
        max_failure_age: positive(l.sync_max_failure_age, "sync.max_failure_age_secs", 86_400)?,
        max_wait: positive(l.sync_max_wait, "sync.max_wait_secs", 86_400)?,
    };
    let idle_sign_out = match (l.idle_sign_out_env, l.idle_sign_out) {
        (Some(e), _) => Duration::from_secs(e.v.trim().parse().map_err(|_| {
            invalid(
                &e.src,
                "terminal.idle_sign_out_secs",
                "a number of seconds (0: never)",
            )
        })?),
        (None, Some(v)) => Duration::from_secs(v.v),
        (None, None) => Duration::from_secs(300),
    };
    let metrics = MetricsSettings {
        listen: match l.metrics_listen {
            Some(v) => {
                let addr: std::net::SocketAddr = v.v.trim().parse().map_err(|_| {
                    invalid(
                        &v.src,
                        "metrics.listen",
                        "an address such as 127.0.0.1:9925",
                    )
                })?;
                if !addr.ip().is_loopback() {
                    return Err(invalid(
                        &v.src,
                        "metrics.listen",
                        "a loopback address (127.0.0.1 or [::1]); node_exporter or a local agent forwards it",
                    ));
                }
                Some(addr)
            }
            None => None,
        },
        textfile_dir: l.metrics_textfile_dir.map(|d| d.v),
    };
    let payments_verify = match l.payments_verify {
        Some(v) => crate::payments::VerifyMode::parse(&v.v)
            .ok_or_else(|| invalid(&v.src, "payments.verify", "required, warn or off"))?,
        None => crate::payments::VerifyMode::Required,
    };
    let currency = match l.currency {
        Some(c) => Currency::parse(&c.v).map_err(|_| {
            invalid(
                &c.src,
                "currency",
                "an ISO 4217 code such as NOK, SEK, DKK, EUR",
            )
        })?,
        None => Currency::parse("NOK").unwrap_or_else(|_| unreachable!()),
    };
    let locale = match l.locale {
        Some(c) => Locale::parse(&c.v).ok_or_else(|| invalid(&c.src, "locale", "en or nb"))?,
        None => Locale::En,
    };
    let terminal_id = match l.terminal_id {
        Some(t) => {
            let ok = !t.v.is_empty()
                && t.v.len() <= 40
                && t.v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(invalid(
                    &t.src,
                    "terminal.id",
                    "1 to 40 letters, digits, '-' or '_'",
                ));
            }
            t.v
        }
        None => default_terminal_id(),
    };
    let data_dir = match l.data_dir {
        Some(d) => d.v,
        None => default_data_dir(),
    };
    let token_formats = match l.token_formats {
        Some(f) => {
            if f.v.is_empty()
                || f.v
                    .iter()
                    .any(|t| t.length == 0 || !(t.numbers || t.characters || t.symbols))
            {
                return Err(invalid(
                    &f.src,
                    "cards.token_formats",
                    "at least one format, each with a length and a character class",
                ));
            }
            f.v
        }
        None => vec![TokenFormat::numeric16(), TokenFormat::dincard_uuid()],
    };
    let ms = |v: Option<Val<u64>>, key: &str, default: u64| -> Result<Duration, ConfigError> {
        match v {
            Some(v) if v.v == 0 || v.v > 600_000 => {
                Err(invalid(&v.src, key, "milliseconds between 1 and 600000"))
            }
            Some(v) => Ok(Duration::from_millis(v.v)),
            None => Ok(Duration::from_millis(default)),
        }
    };
    let offline = match (
        l.offline_max_redeem,
        l.offline_max_outstanding,
        l.offline_max_age,
    ) {
        (None, None, None) => None,
        (Some(r), Some(o), Some(a)) => {
            let amount = |v: &Val<String>, key: &str| {
                Money::parse(&v.v, currency, Locale::En).map_err(|e| {
                    invalid(
                        &v.src,
                        key,
                        format!("an amount in {currency} such as \"500.00\" ({e})"),
                    )
                })
            };
            Some(OfflineCaps {
                max_redeem: amount(&r, "offline.max_redeem")?,
                max_outstanding: amount(&o, "offline.max_outstanding")?,
                max_balance_age: Duration::from_secs(a.v),
            })
        }
        (r, o, a) => {
            let src = r
                .map(|v| v.src)
                .or(o.map(|v| v.src))
                .or(a.map(|v| v.src))
                .unwrap_or(Source::Default);
            return Err(invalid(
                &src,
                "offline",
                "all three of max_redeem, max_outstanding and max_balance_age_secs, or none",
            ));
        }
    };
    let (scanner, scanner_configured) = resolve_scanner(l.scanner, l.scanner_port)?;
    let receipts_dir = l
        .receipts_dir
        .map(|d| d.v)
        .unwrap_or_else(|| data_dir.join("receipts"));
    let log_level = match l.log_level {
        Some(v) => {
            if tracing_subscriber::EnvFilter::try_new(&v.v).is_err() {
                return Err(invalid(
                    &v.src,
                    "logging.level",
                    "error, warn, info, debug, trace or a filter like giftpos_dintero=debug",
                ));
            }
            v.v
        }
        None => "info".into(),
    };
    let log_dir = l
        .log_dir
        .map(|d| d.v)
        .unwrap_or_else(|| data_dir.join("logs"));
    let update = UpdateSettings {
        endpoint: l.update.endpoint.filter(|e| !e.is_empty()),
        pubkey: l.update.pubkey.filter(|k| !k.is_empty()),
        install_command: l.update.install_command.unwrap_or_default(),
        dir: data_dir.join("updates"),
    };
    Ok(Config {
        kiosk: l.kiosk.map(|k| k.v).unwrap_or(false),
        idle_sign_out,
        metrics,
        payments_verify,
        checkout_client,
        sync,
        payment_profile: l.payment_profile.map(|p| p.v).filter(|p| !p.is_empty()),
        checkout_base: l
            .checkout_base
            .filter(|p| !p.v.is_empty())
            .map(|p| check_api_base(&p.v).map_err(|e| invalid(&p.src, "checkout_base", e)))
            .transpose()?,
        update,
        log_level,
        log_dir,
        printer: l.printer.map(|p| p.v).filter(|p| !p.is_empty()),
        receipts_dir,
        offline,
        scanner,
        scanner_configured,
        mode,
        terminal_id,
        store_name: l
            .store_name
            .map(|s| s.v)
            .unwrap_or_else(|| "giftpos".into()),
        currency,
        locale,
        data_dir,
        token_formats,
        timeout: ms(l.timeout_ms, "dintero.timeout_ms", 15_000)?,
        connect_timeout: ms(l.connect_timeout_ms, "dintero.connect_timeout_ms", 5_000)?,
        files,
    })
}

/// Whether `url` is plain `http://` to this machine (127.0.0.1, localhost or [::1]): the
/// only place plain HTTP is allowed (a sandbox). The host is read whole, so
/// `http://localhost.example.com` or `http://127.0.0.1@example.com` are not loopback.
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.trim().strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Accepts `https://…`, and plain `http://` only to this machine (a sandbox).
fn check_api_base(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let rest = if let Some(r) = s.strip_prefix("https://") {
        r
    } else if let Some(r) = s.strip_prefix("http://") {
        if !is_loopback_http(s) {
            return Err(format!(
                "an https:// URL (plain http is allowed only to 127.0.0.1 or localhost), got '{s}'"
            ));
        }
        r
    } else {
        return Err(format!("a URL such as https://api.dintero.com, got '{s}'"));
    };
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!("a URL with a host, got '{s}'"));
    }
    Ok(s.to_string())
}

/// Reads the client secret from its file, refusing a file others can read.
fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    let err = |problem: String, fix: &str| ConfigError::SecretFile {
        file: path.to_path_buf(),
        problem,
        fix: fix.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        err(
            format!("cannot be read ({e})"),
            "create it with the client secret on one line, owned by the terminal's user, mode 0600",
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            return Err(err(
                format!("is readable by other users (mode {mode:o})"),
                &format!("chmod 600 {}", path.display()),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(
            format!("cannot be read ({e})"),
            "check its owner and mode 0600",
        )
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(err("is empty".into(), "write the client secret into it"));
    }
    Ok(Secret::new(secret))
}

fn default_terminal_id() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    let id: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    if id.is_empty() { "till-1".into() } else { id }
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"))
        .join("giftpos")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(env: &[(&str, &str)]) -> LoadOptions {
        LoadOptions {
            explicit: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            system_file: None,
            user_file: None,
        }
    }

    fn live_env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("GIFTPOS_API_BASE", "https://api.dintero.com"),
            ("GIFTPOS_ACCOUNT_ID", "T12345678"),
            ("GIFTPOS_CLIENT_ID", "cid"),
            ("GIFTPOS_CLIENT_SECRET", "s3cr3t"),
        ]
    }

    #[test]
    fn a_separate_checkout_client_is_both_or_neither_and_live_only() {
        let mut env = live_env();
        env.push(("GIFTPOS_CHECKOUT_CLIENT_ID", "pay-client"));
        let e = load(&opts(&env)).unwrap_err().to_string();
        assert!(
            e.contains("GIFTPOS_CHECKOUT_CLIENT_ID") && e.contains("both"),
            "{e}"
        );
        env.push(("GIFTPOS_CHECKOUT_CLIENT_SECRET", "pay-s3cr3t"));
        let c = load(&opts(&env)).unwrap();
        let cc = c.checkout_client.as_ref().unwrap();
        assert_eq!(cc.client_id, "pay-client");
        assert!(!format!("{c:?}").contains("pay-s3cr3t"));
        let e = load(&opts(&[
            ("GIFTPOS_CHECKOUT_CLIENT_ID", "pay-client"),
            ("GIFTPOS_CHECKOUT_CLIENT_SECRET", "x"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("training"), "{e}");
        assert!(load(&opts(&live_env())).unwrap().checkout_client.is_none());
    }

    #[test]
    fn sync_limits_have_defaults_and_refuse_zero() {
        let c = load(&opts(&[])).unwrap();
        assert_eq!(c.sync.max_failures, 10);
        assert_eq!(c.sync.max_failure_age, Duration::from_secs(86_400));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[sync]\nmax_failures = 3\nmax_wait_secs = 600\n").unwrap();
        let mut o = opts(&[]);
        o.explicit = Some(f.clone());
        let c = load(&o).unwrap();
        assert_eq!(
            (c.sync.max_failures, c.sync.max_wait),
            (3, Duration::from_secs(600))
        );
        std::fs::write(&f, "[sync]\nmax_failure_age_secs = 0\n").unwrap();
        let e = load(&o).unwrap_err().to_string();
        assert!(e.contains("sync.max_failure_age_secs"), "{e}");
    }

    #[test]
    fn metrics_listen_only_on_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[metrics]\nlisten = \"0.0.0.0:9925\"\n").unwrap();
        let mut o = opts(&[]);
        o.explicit = Some(f.clone());
        let e = load(&o).unwrap_err().to_string();
        assert!(
            e.contains("metrics.listen") && e.contains("loopback"),
            "{e}"
        );
        std::fs::write(
            &f,
            "[metrics]\nlisten = \"127.0.0.1:9925\"\ntextfile_dir = \"/var/lib/node\"\n",
        )
        .unwrap();
        let c = load(&o).unwrap();
        assert_eq!(c.metrics.listen, Some("127.0.0.1:9925".parse().unwrap()));
    }

    #[test]
    fn drop_ins_follow_the_system_file_in_name_order_and_users_cannot_loosen_them() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("config.toml");
        let d = dir.path().join("config.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(&sys, "[terminal]\nstore_name = \"Base\"\n").unwrap();
        std::fs::write(
            d.join("20-store.toml"),
            "[terminal]\nstore_name = \"Oslo S\"\nid = \"till-7\"\n",
        )
        .unwrap();
        std::fs::write(
            d.join("10-api.toml"),
            "[terminal]\nstore_name = \"Early\"\n[dintero]\ntimeout_ms = 9000\n",
        )
        .unwrap();
        std::fs::write(
            d.join("30-caps.toml"),
            "[offline]\nmax_redeem = \"100.00\"\nmax_outstanding = \"300.00\"\nmax_balance_age_secs = 3600\n",
        )
        .unwrap();
        std::fs::write(d.join("notes.txt"), "not read").unwrap();
        let user = dir.path().join("user.toml");
        std::fs::write(
            &user,
            "[offline]\nmax_redeem = \"5000.00\"\nmax_outstanding = \"9000.00\"\nmax_balance_age_secs = 86400\n",
        )
        .unwrap();
        let mut o = opts(&[]);
        o.system_file = Some(sys.clone());
        o.user_file = Some(user);
        let c = load(&o).unwrap();
        assert_eq!(c.store_name, "Oslo S");
        assert_eq!(c.terminal_id, "till-7");
        assert_eq!(c.timeout, Duration::from_millis(9000));
        let caps = c.offline.unwrap();
        assert_eq!(
            caps.max_redeem.minor(),
            10_000,
            "a user file cannot loosen a drop-in's cap"
        );
        assert_eq!(c.files.len(), 5, "{:?}", c.files);
        // A drop-in that is not TOML is named with the error.
        std::fs::write(d.join("40-bad.toml"), "[terminal\n").unwrap();
        let e = load(&o).unwrap_err().to_string();
        assert!(e.contains("40-bad.toml"), "{e}");
    }

    #[test]
    fn no_credentials_means_training() {
        let c = load(&opts(&[("GIFTPOS_DATA_DIR", "/tmp/x")])).unwrap();
        assert!(c.is_training());
        assert_eq!(c.currency.code(), "NOK");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.token_formats.len(), 2);
    }

    #[test]
    fn full_credentials_mean_live_and_the_secret_stays_hidden() {
        let c = load(&opts(&live_env())).unwrap();
        assert!(!c.is_training());
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn partial_credentials_name_what_is_missing() {
        let e = load(&opts(&[("GIFTPOS_CLIENT_ID", "cid")])).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("api_base") && msg.contains("account_id") && msg.contains("client secret")
        );
        assert!(!msg.contains("client_id (GIFTPOS_CLIENT_ID)"));
    }

    #[test]
    fn errors_name_the_source_key_and_expectation() {
        let mut env = live_env();
        env[1] = ("GIFTPOS_ACCOUNT_ID", "X1");
        let e = load(&opts(&env)).unwrap_err().to_string();
        assert!(
            e.contains("GIFTPOS_ACCOUNT_ID") && e.contains("account_id") && e.contains("T or P"),
            "{e}"
        );
        let mut env = live_env();
        env[0] = ("GIFTPOS_API_BASE", "http://api.dintero.com");
        assert!(
            load(&opts(&env))
                .unwrap_err()
                .to_string()
                .contains("https://")
        );
        let e = load(&opts(&[("GIFTPOS_CURRENCY", "KRONER")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("GIFTPOS_CURRENCY") && e.contains("ISO 4217"),
            "{e}"
        );
    }

    #[test]
    fn files_layer_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("system.toml");
        let user = dir.path().join("user.toml");
        std::fs::write(
            &sys,
            "[terminal]\nid = \"sys-till\"\nstore_name = \"Oslo S\"\ncurrency = \"SEK\"\n",
        )
        .unwrap();
        std::fs::write(&user, "[terminal]\nid = \"user-till\"\nlocale = \"nb\"\n").unwrap();
        let mut o = opts(&[("GIFTPOS_CURRENCY", "DKK")]);
        o.system_file = Some(sys.clone());
        o.user_file = Some(user.clone());
        let c = load(&o).unwrap();
        assert_eq!(c.terminal_id, "user-till");
        assert_eq!(c.store_name, "Oslo S");
        assert_eq!(c.locale, Locale::Nb);
        assert_eq!(c.currency.code(), "DKK");
        assert_eq!(c.files, vec![sys, user]);
    }

    #[test]
    fn bad_files_are_named_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "[dintero]\ntimeout_ms = \"soon\"\n").unwrap();
        let mut o = opts(&[]);
        o.explicit = Some(f.clone());
        let e = load(&o).unwrap_err().to_string();
        assert!(
            e.contains(&f.display().to_string()) && e.contains("timeout_ms"),
            "{e}"
        );
        std::fs::write(&f, "[terminal]\nshop = \"x\"\n").unwrap();
        let e = load(&o).unwrap_err().to_string();
        assert!(e.contains("shop"), "unknown keys are refused: {e}");
        o.explicit = Some(dir.path().join("missing.toml"));
        assert!(matches!(load(&o).unwrap_err(), ConfigError::Read { .. }));
    }

    #[test]
    fn secret_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        std::fs::write(&f, "s3cr3t\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut env = live_env();
        env.pop();
        let path = f.display().to_string();
        env.push(("GIFTPOS_CLIENT_SECRET_FILE", &path));
        let e = load(&opts(&env)).unwrap_err().to_string();
        assert!(e.contains("chmod 600") && e.contains(&path), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = load(&opts(&env)).unwrap();
        match c.mode {
            Mode::Live { client_secret, .. } => assert_eq!(client_secret.expose(), "s3cr3t"),
            Mode::Training => panic!("expected live"),
        }
    }

    #[test]
    fn scanner_settings_layer_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "[scanner]\nport = \"/dev/ttyACM0\"\nterminator = \"crlf\"\nbaud = 115200\n",
        )
        .unwrap();
        let mut o = opts(&[("GIFTPOS_SCANNER_PORT", "/dev/ttyUSB1")]);
        o.explicit = Some(f.clone());
        let c = load(&o).unwrap();
        assert!(c.scanner_configured);
        assert_eq!(c.scanner.port, "/dev/ttyUSB1", "the environment wins");
        assert_eq!(c.scanner.baud, 115_200);
        assert_eq!(
            c.scanner.frame.terminator,
            giftpos_scanner::Terminator::Crlf
        );
        std::fs::write(&f, "[scanner]\nterminator = \"semicolon\"\n").unwrap();
        let e = load(&o).unwrap_err().to_string();
        assert!(
            e.contains("scanner.terminator") && e.contains("c.toml"),
            "{e}"
        );
        std::fs::write(&f, "[scanner]\nstop_bits = 3\n").unwrap();
        assert!(
            load(&o)
                .unwrap_err()
                .to_string()
                .contains("scanner.stop_bits")
        );
        assert!(!load(&opts(&[])).unwrap().scanner_configured);
    }

    #[test]
    fn a_user_file_cannot_loosen_what_it_set_in_the_system_file() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("system.toml");
        let user = dir.path().join("user.toml");
        std::fs::write(
            &sys,
            "[dintero]\napi_base = \"https://api.dintero.com\"\naccount_id = \"P12345678\"\n\
             [offline]\nmax_redeem = \"100.00\"\nmax_outstanding = \"300.00\"\nmax_balance_age_secs = 3600\n",
        )
        .unwrap();
        let mut o = opts(&[("GIFTPOS_CLIENT_ID", "cid"), ("GIFTPOS_CLIENT_SECRET", "s")]);
        o.system_file = Some(sys.clone());
        o.user_file = Some(user.clone());
        // A user file pointing elsewhere and raising the caps is overruled ...
        std::fs::write(
            &user,
            "[dintero]\napi_base = \"http://127.0.0.1:9\"\naccount_id = \"T00000001\"\n\
             [offline]\nmax_redeem = \"5000.00\"\nmax_outstanding = \"100.00\"\nmax_balance_age_secs = 86400\n",
        )
        .unwrap();
        let c = load(&o).unwrap();
        match &c.mode {
            Mode::Live {
                api_base,
                account_id,
                ..
            } => {
                assert_eq!(api_base, "https://api.dintero.com");
                assert_eq!(account_id.as_str(), "P12345678");
            }
            Mode::Training => panic!("expected live"),
        }
        let caps = c.offline.unwrap();
        assert_eq!(caps.max_redeem.minor(), 10_000, "the raise is ignored");
        assert_eq!(
            caps.max_outstanding.minor(),
            10_000,
            "the tightening is kept"
        );
        assert_eq!(caps.max_balance_age.as_secs(), 3600);
        // ... while IT's environment still overrides.
        o.env
            .insert("GIFTPOS_API_BASE".into(), "https://api.example.test".into());
        match load(&o).unwrap().mode {
            Mode::Live { api_base, .. } => assert_eq!(api_base, "https://api.example.test"),
            Mode::Training => panic!("expected live"),
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_api_base("http://127.0.0.1:8787/").is_ok());
        assert!(check_api_base("http://localhost:1").is_ok());
        assert!(check_api_base("http://[::1]:1").is_ok());
        assert!(check_api_base("http://[2001:db8::1]:1").is_err());
        assert!(check_api_base("http://localhost.example.com").is_err());
        assert!(check_api_base("http://127.0.0.1@example.com").is_err());
        assert!(check_api_base("http://10.0.0.1").is_err());
        assert!(check_api_base("ftp://x").is_err());
        assert_eq!(
            check_api_base("https://api.dintero.com/").unwrap(),
            "https://api.dintero.com"
        );
    }
}

#[cfg(test)]
mod example {
    /// The example shipped in the packages (and shown in the README) names only real
    /// keys with values of the right types.
    #[test]
    fn the_packaged_example_config_parses() {
        let text = include_str!("../../../assets/config.example.toml");
        let f: super::FileConfig = toml::from_str(text).unwrap();
        assert!(f.update.endpoint.is_some() && f.dintero.client_secret_file.is_some());
        assert_eq!(f.cards.token_formats.map(|v| v.len()), Some(2));
        assert!(
            f.metrics.listen.is_some()
                && f.payments.verify.is_some()
                && f.sync.max_failures.is_some()
        );
    }
}
