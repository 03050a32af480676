//! Configuration: TOML files in layers (system, user, `--config`), then the environment.
//! A later layer overrides an earlier one key by key. Every error names where the value
//! came from (a file or an environment variable), the key, and what was expected.
//!
//! With no Dintero credentials and no API base anywhere, the terminal runs in **training
//! mode** on an embedded sandbox.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use giftpos_core::{Currency, Locale, Money, Secret, TokenFormat};
use giftpos_dintero::wire::AccountId;
use serde::Serialize;

mod check;
mod credentials;
mod files;
mod keys;
mod payments;

use check::{check_api_base, default_data_dir, default_terminal_id};
pub use check::{is_loopback, is_loopback_http};
pub use files::kiosk_fail_closed;
use files::{check_trusted, drop_ins, read_ca_file, read_file};
pub use keys::{KEYS, Key, Kind, Rule, env_vars};
use keys::{Layers, Val};

/// The system-wide file IT manages.
pub const SYSTEM_CONFIG: &str = "/etc/giftpos/config.toml";

/// The resolved `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    pub listen: Option<std::net::SocketAddr>,
    pub textfile_dir: Option<PathBuf>,
}

/// The resolved sync limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    pub max_failures: u32,
    pub max_failure_age: Duration,
    pub max_wait: Duration,
}

/// Where updates come from. The app only checks and reports; root's
/// `giftpos-update.timer` downloads, verifies and installs (`giftpos update apply`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSettings {
    /// The release JSON's URL (`[update] endpoint`); none: no update checks.
    pub endpoint: Option<String>,
    /// The trusted public key (Tauri/minisign format, base64).
    pub pubkey: Option<String>,
}

/// The resolved offline caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineCaps {
    pub max_redeem: Money,
    pub max_outstanding: Money,
    pub max_balance_age: Duration,
}

/// An ESC/POS thermal printer and its roll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThermalPrinter {
    pub target: giftpos_print::Target,
    pub paper: giftpos_print::Paper,
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
    #[error(
        "{origin}: `{key}` is IT's to set, in /etc/giftpos/config.toml or /etc/giftpos/config.d/*.toml (owned by root): remove it from here"
    )]
    ItOnly { origin: Source, key: String },
    #[error("IT's config {file} is not trusted: {problem}. Fix: {fix}")]
    Untrusted {
        file: PathBuf,
        problem: String,
        fix: String,
    },
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
    /// Extra certificate authorities (PEM) for Dintero's hosts (`dintero.ca_file`),
    /// read when the configuration is.
    pub ca_pem: Option<Vec<u8>>,
    /// The proxy to Dintero (`dintero.proxy`); none: no proxy.
    pub proxy: Option<String>,
    /// How often the client renews what is due and touches its connections, so that
    /// a clerk's operation after idle pays no handshake or token fetch (None: never).
    pub keep_warm: Option<Duration>,
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
    /// A thermal printer (`[printer] kind = "escpos"`): receipts go to it instead of
    /// CUPS.
    pub thermal: Option<ThermalPrinter>,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
    /// Where each key that is set came from (a file or an environment variable); keys
    /// not listed have their defaults. `giftpos info` shows it.
    pub origins: std::collections::BTreeMap<String, Source>,
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
    /// How old a payment may be to back a new card without a manager's override
    /// (`[payments] max_age_hours`).
    pub payments_max_age: Duration,
    /// The tenders a card sale or top-up may be paid with, and the cash limit
    /// (`[payments] tenders`, `cash_limit_per_clerk_per_day`).
    pub tenders: crate::tender::TenderRules,
    /// Where the metrics go.
    pub metrics: MetricsSettings,
    /// Sign an idle clerk out after this long (zero: never).
    pub idle_sign_out: Duration,
    /// Kiosk mode (`[terminal] kiosk`).
    pub kiosk: bool,
    /// Let the web view draw with the GPU (`[terminal] gpu`). Off by default: a till's
    /// screens are forms, and software drawing spares the GPU (or, on the many tills
    /// without one, its CPU emulation) tens of MiB.
    pub gpu: bool,
    /// A second window for a monitor facing the customer (`[terminal] customer_display`).
    pub customer_display: bool,
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
    /// The process runs as root (IT's own CLI): every layer is IT's.
    pub privileged: bool,
    /// Who may own IT's files and their folders: root, and in test builds the user
    /// running the tests.
    pub trusted_owners: Vec<u32>,
}

impl LoadOptions {
    /// The process environment and the standard paths.
    pub fn from_process(explicit: Option<PathBuf>) -> LoadOptions {
        let env: HashMap<String, String> = env_vars()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        // Only test builds move IT's file (the variable is not even read otherwise).
        let system_file = Some(
            env.get("GIFTPOS_SYSTEM_CONFIG")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(SYSTEM_CONFIG)),
        );
        let euid = nix::unistd::geteuid().as_raw();
        let mut trusted_owners = vec![0];
        if cfg!(feature = "test-support") {
            trusted_owners.push(euid);
        }
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
            privileged: euid == 0,
            trusted_owners,
        }
    }
}

/// Reads every layer and resolves the configuration.
///
/// IT's files (the system file and its drop-ins) must be root's and writable by root
/// alone, or nothing starts. A control ([`Rule::ItOnly`]) comes from them alone: the
/// user's file, `--config` or the environment naming one is an error, unless the process
/// runs as root. A preference IT set stands against the user's layer.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let mut l = Layers::new(opts.privileged);
    let mut files = Vec::new();
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
        if is_system {
            check_trusted(&path, &opts.trusted_owners)?;
        }
        if let Some(table) = read_file(&path, required)? {
            l.apply_file(table, &path, is_system)?;
            files.push(path);
        }
    }
    l.apply_env(&opts.env)?;
    resolve(l, files)
}

fn invalid(src: &Source, key: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: src.clone(),
        key: key.into(),
        expected: expected.into(),
    }
}

fn resolve(l: Layers, files: Vec<PathBuf>) -> Result<Config, ConfigError> {
    let origins = l.origins();
    let (mode, checkout_client) = credentials::resolve(&l)?;
    let positive = |v: Option<Val<u64>>, key: &str, default: u64| match v {
        Some(v) if v.v == 0 => Err(invalid(&v.src, key, "a number of seconds above 0")),
        Some(v) => Ok(Duration::from_secs(v.v)),
        None => Ok(Duration::from_secs(default)),
    };
    let sync = SyncLimits {
        max_failures: match l.int::<u32>("sync.max_failures")? {
            Some(v) if v.v == 0 => {
                return Err(invalid(&v.src, "sync.max_failures", "a count above 0"));
            }
            Some(v) => v.v,
            None => 10,
        },
        max_failure_age: positive(
            l.int("sync.max_failure_age_secs")?,
            "sync.max_failure_age_secs",
            86_400,
        )?,
        max_wait: positive(l.int("sync.max_wait_secs")?, "sync.max_wait_secs", 86_400)?,
    };
    let ca_pem = match l.path("dintero.ca_file") {
        Some(p) => Some(read_ca_file(&p)?),
        None => None,
    };
    let keep_warm = match l.int::<u64>("dintero.keep_warm_secs")? {
        Some(v) if v.v == 0 => None,
        Some(v) if v.v > 3600 => {
            return Err(invalid(
                &v.src,
                "dintero.keep_warm_secs",
                "seconds between keep-warm token checks while a clerk is signed in, 1 to 3600 (0: off)",
            ));
        }
        Some(v) => Some(Duration::from_secs(v.v)),
        None => Some(Duration::from_secs(30)),
    };
    let idle_sign_out = Duration::from_secs(
        l.int::<u64>("terminal.idle_sign_out_secs")?
            .map(|v| v.v)
            .unwrap_or(300),
    );
    let metrics = MetricsSettings {
        listen: match l.str("metrics.listen") {
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
        textfile_dir: l.path("metrics.textfile_dir").map(|d| d.v),
    };
    let payments_verify = match l.str("payments.verify") {
        Some(v) => crate::payments::VerifyMode::parse(&v.v)
            .ok_or_else(|| invalid(&v.src, "payments.verify", "required, warn or off"))?,
        None => crate::payments::VerifyMode::Required,
    };
    let currency = match l.str("terminal.currency") {
        Some(c) => Currency::parse(&c.v).map_err(|_| {
            invalid(
                &c.src,
                "terminal.currency",
                "an ISO 4217 code such as NOK, SEK, DKK, EUR",
            )
        })?,
        None => Currency::parse("NOK").unwrap_or_else(|_| unreachable!()),
    };
    let locale = match l.str("terminal.locale") {
        Some(c) => {
            Locale::parse(&c.v).ok_or_else(|| invalid(&c.src, "terminal.locale", "en or nb"))?
        }
        None => Locale::En,
    };
    let terminal_id = match l.str("terminal.id") {
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
    let data_dir = match l.path("terminal.data_dir") {
        Some(d) => d.v,
        None => default_data_dir(),
    };
    let token_formats = match l.de::<Vec<TokenFormat>>("cards.token_formats")? {
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
    let offline = payments::offline_caps(&l, currency)?;
    let tenders = payments::tender_rules(&l, &mode, currency)?;
    let (scanner, scanner_configured) = check::resolve_scanner(&l)?;
    let receipts_dir = l
        .path("printer.receipts_dir")
        .map(|d| d.v)
        .unwrap_or_else(|| data_dir.join("receipts"));
    let log_level = match l.str("logging.level") {
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
        .path("logging.dir")
        .map(|d| d.v)
        .unwrap_or_else(|| data_dir.join("logs"));
    let thermal = match l.str("printer.kind") {
        None => None,
        Some(k) if k.v == "cups" => None,
        Some(k) if k.v == "escpos" => {
            let device = l.str("printer.device").ok_or_else(|| {
                invalid(
                    &k.src,
                    "printer.device",
                    "a device for the thermal printer: tcp://HOST:9100 or /dev/usb/lp0",
                )
            })?;
            let target = giftpos_print::Target::parse(&device.v).ok_or_else(|| {
                invalid(
                    &device.src,
                    "printer.device",
                    "tcp://HOST:PORT or an absolute device path such as /dev/usb/lp0",
                )
            })?;
            let paper = match l.int::<u64>("printer.paper_mm")? {
                None => giftpos_print::Paper::Mm80,
                Some(v) => giftpos_print::Paper::from_mm(v.v)
                    .ok_or_else(|| invalid(&v.src, "printer.paper_mm", "58 or 80"))?,
            };
            Some(ThermalPrinter { target, paper })
        }
        Some(k) => return Err(invalid(&k.src, "printer.kind", "cups or escpos")),
    };
    let update = UpdateSettings {
        endpoint: l
            .str("update.endpoint")
            .map(|v| v.v)
            .filter(|e| !e.is_empty()),
        pubkey: l
            .str("update.pubkey")
            .map(|v| v.v)
            .filter(|k| !k.is_empty()),
    };
    // `[update] install_command` and `stage_dir` are retired: accepted from IT's files
    // (a fleet's old file still starts) and ignored; the doctor says so.
    let payments_max_age = match l.int::<u64>("payments.max_age_hours")? {
        Some(v) if v.v == 0 || v.v > 8760 => {
            return Err(invalid(
                &v.src,
                "payments.max_age_hours",
                "hours a payment may back a new card, 1 to 8760",
            ));
        }
        Some(v) => Duration::from_secs(v.v * 3600),
        None => Duration::from_secs(24 * 3600),
    };
    Ok(Config {
        kiosk: l.bool("terminal.kiosk")?.map(|k| k.v).unwrap_or(false),
        gpu: l.bool("terminal.gpu")?.is_some_and(|k| k.v),
        customer_display: l.bool("terminal.customer_display")?.is_some_and(|k| k.v),
        idle_sign_out,
        metrics,
        payments_verify,
        payments_max_age,
        tenders,
        checkout_client,
        sync,
        payment_profile: l
            .str("dintero.payment_profile_id")
            .map(|p| p.v)
            .filter(|p| !p.is_empty()),
        checkout_base: l
            .str("dintero.checkout_base")
            .filter(|p| !p.v.is_empty())
            .map(|p| check_api_base(&p.v).map_err(|e| invalid(&p.src, "dintero.checkout_base", e)))
            .transpose()?,
        update,
        log_level,
        log_dir,
        printer: l.str("printer.name").map(|p| p.v).filter(|p| !p.is_empty()),
        receipts_dir,
        offline,
        scanner,
        scanner_configured,
        mode,
        terminal_id,
        store_name: l
            .str("terminal.store_name")
            .map(|s| s.v)
            .unwrap_or_else(|| "giftpos".into()),
        currency,
        locale,
        data_dir,
        token_formats,
        timeout: ms(l.int("dintero.timeout_ms")?, "dintero.timeout_ms", 15_000)?,
        connect_timeout: ms(
            l.int("dintero.connect_timeout_ms")?,
            "dintero.connect_timeout_ms",
            5_000,
        )?,
        thermal,
        files,
        origins,
        ca_pem,
        keep_warm,
        proxy: l
            .str("dintero.proxy")
            .map(|p| {
                let url = p.v.trim().to_string();
                if url.starts_with("http://") || url.starts_with("https://") {
                    Ok(url)
                } else {
                    Err(invalid(
                        &p.src,
                        "dintero.proxy",
                        "a proxy URL: http://HOST:PORT or https://HOST:PORT",
                    ))
                }
            })
            .transpose()?,
    })
}

/// A configuration that cannot be read is the `config` error (exit code and hint).
impl From<ConfigError> for crate::error::AppError {
    fn from(e: ConfigError) -> Self {
        crate::error::AppError::new(crate::error::ErrorCode::Config, e.to_string())
    }
}

#[cfg(test)]
mod tests;
