//! Every configuration key, once. The file schema (which sections and keys a file may
//! hold, of which type), the layering rules (what a user's file may not loosen, what only
//! IT's files may set), the environment variables and `giftpos info`'s "set by" column
//! are all read from [`KEYS`]. Adding a key: a row here, then reading it in `resolve`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::{ConfigError, Source, invalid};

/// A value's type in a file. The environment gives strings, read as the same type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Path,
    /// A whole number (`u64` or smaller; the reader checks the range).
    Int,
    Bool,
    /// An array of strings.
    Strings,
    /// An array of tables (read with serde).
    Tables,
}

/// Who may set a key. IT's layer is the system file and its drop-ins
/// (`config.d/*.toml`), accepted only when root owns them and nobody else can write
/// them; the user's layer is `~/.config/giftpos/config.toml`, `--config` and the
/// environment. A process running as root (IT's own CLI) is IT in every layer, and there
/// a later layer overrides an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A preference: the user's layer may set it where IT's files are silent; what IT
    /// set stands.
    ItWins,
    /// A control (it loosens a check, points the till elsewhere, or decides where data
    /// and money go): only IT's files set it. The user's layer naming it is an error
    /// that names the file or variable and the key.
    ItOnly,
    /// Only in the environment, never in a file (a secret: files hold a path to it).
    EnvOnly,
}

impl Rule {
    /// Who may set it, as `giftpos info` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            ItWins => "IT wins",
            ItOnly => "IT only",
            EnvOnly => "env only",
        }
    }
}

/// One key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// `section.key`, as in the file.
    pub name: &'static str,
    /// The environment variable that overrides it, if any.
    pub env: Option<&'static str>,
    pub kind: Kind,
    pub rule: Rule,
    /// What a valid value looks like (shown when one is not).
    pub expected: &'static str,
}

const fn key(name: &'static str, kind: Kind, rule: Rule, expected: &'static str) -> Key {
    Key {
        name,
        env: None,
        kind,
        rule,
        expected,
    }
}

const fn env(
    name: &'static str,
    var: &'static str,
    kind: Kind,
    rule: Rule,
    expected: &'static str,
) -> Key {
    Key {
        name,
        env: Some(var),
        kind,
        rule,
        expected,
    }
}

use Kind::*;
use Rule::*;

/// The keys. Documented for IT in README ("Configuration") and
/// `assets/config.example.toml`.
#[rustfmt::skip]
pub const KEYS: &[Key] = &[
    // [dintero]: where the till's money goes and whom it trusts: IT's alone.
    env("dintero.api_base", "GIFTPOS_API_BASE", Str, ItOnly, "a URL such as https://api.dintero.com"),
    env("dintero.account_id", "GIFTPOS_ACCOUNT_ID", Str, ItOnly, "a Dintero account id such as P12345678"),
    env("dintero.client_id", "GIFTPOS_CLIENT_ID", Str, ItOnly, "the API client's id"),
    env("dintero.client_secret", "GIFTPOS_CLIENT_SECRET", Str, EnvOnly, "the API client's secret (environment only; files name client_secret_file)"),
    env("dintero.client_secret_file", "GIFTPOS_CLIENT_SECRET_FILE", Path, ItOnly, "a path to a file holding the client secret"),
    key("dintero.timeout_ms", Int, ItOnly, "milliseconds between 1 and 600000"),
    key("dintero.connect_timeout_ms", Int, ItOnly, "milliseconds between 1 and 600000"),
    env("dintero.ca_file", "GIFTPOS_CA_FILE", Path, ItOnly, "a PEM file of certificate authorities to trust besides the system's"),
    key("dintero.proxy", Str, ItOnly, "a proxy URL such as http://proxy.store.lan:3128 (none: no proxy; HTTPS_PROXY is never read)"),
    env("dintero.keep_warm_secs", "GIFTPOS_KEEP_WARM_SECS", Int, ItWins, "seconds between keep-warm token checks while a clerk is signed in, 1 to 3600 (0: off)"),
    env("dintero.payment_profile_id", "GIFTPOS_PAYMENT_PROFILE", Str, ItOnly, "a Checkout payment profile id"),
    key("dintero.checkout_base", Str, ItOnly, "a URL such as https://checkout.dintero.com"),
    env("dintero.checkout_client_id", "GIFTPOS_CHECKOUT_CLIENT_ID", Str, ItOnly, "the Checkout API client's id"),
    env("dintero.checkout_client_secret", "GIFTPOS_CHECKOUT_CLIENT_SECRET", Str, EnvOnly, "the Checkout client's secret (environment only)"),
    env("dintero.checkout_client_secret_file", "GIFTPOS_CHECKOUT_CLIENT_SECRET_FILE", Path, ItOnly, "a path to a file holding the Checkout client's secret"),
    // [terminal]: who the till is and what holds it are IT's; the rest are preferences.
    env("terminal.id", "GIFTPOS_TERMINAL_ID", Str, ItOnly, "1 to 40 letters, digits, '-' or '_'"),
    env("terminal.store_name", "GIFTPOS_STORE_NAME", Str, ItWins, "the store's name as printed on receipts"),
    env("terminal.currency", "GIFTPOS_CURRENCY", Str, ItOnly, "an ISO 4217 code such as NOK, SEK, DKK, EUR"),
    env("terminal.locale", "GIFTPOS_LOCALE", Str, ItWins, "en or nb"),
    env("terminal.data_dir", "GIFTPOS_DATA_DIR", Path, ItOnly, "a directory"),
    env("terminal.idle_sign_out_secs", "GIFTPOS_IDLE_SIGN_OUT_SECS", Int, ItOnly, "a number of seconds (0: never)"),
    env("terminal.kiosk", "GIFTPOS_KIOSK", Bool, ItOnly, "true or false"),
    env("terminal.customer_display", "GIFTPOS_CUSTOMER_DISPLAY", Bool, ItWins, "true or false"),
    env("terminal.gpu", "GIFTPOS_GPU", Bool, ItWins, "true or false"),
    // [cards]: which printed stock is the store's.
    key("cards.token_formats", Tables, ItOnly, "at least one format, each with a length and a character class"),
    // [offline]: how much may be redeemed without Dintero.
    key("offline.max_redeem", Str, ItOnly, "an amount such as \"500.00\""),
    key("offline.max_outstanding", Str, ItOnly, "an amount such as \"2000.00\""),
    key("offline.max_balance_age_secs", Int, ItOnly, "a number of seconds"),
    // [scanner]
    env("scanner.port", "GIFTPOS_SCANNER_PORT", Str, ItWins, "a serial port such as /dev/ttyACM0"),
    key("scanner.baud", Int, ItWins, "a baud rate such as 9600"),
    key("scanner.data_bits", Int, ItWins, "5, 6, 7 or 8"),
    key("scanner.parity", Str, ItWins, "none, odd or even"),
    key("scanner.stop_bits", Int, ItWins, "1 or 2"),
    key("scanner.flow_control", Str, ItWins, "none, software or hardware"),
    key("scanner.terminator", Str, ItWins, "auto, cr, lf, crlf, tab or etx"),
    key("scanner.prefix", Str, ItWins, "the characters the reader sends before a scan"),
    key("scanner.suffix", Str, ItWins, "the characters the reader sends after a scan"),
    key("scanner.inter_byte_timeout_ms", Int, ItWins, "milliseconds"),
    key("scanner.max_frame_len", Int, ItWins, "a length in bytes"),
    // [printer]: where receipts (card numbers, amounts) are kept is IT's.
    key("printer.name", Str, ItWins, "a CUPS queue name (lpstat -p lists them)"),
    key("printer.receipts_dir", Path, ItOnly, "a directory"),
    key("printer.kind", Str, ItWins, "cups (PDF through CUPS) or escpos (a thermal printer)"),
    key("printer.device", Str, ItOnly, "tcp://HOST:9100 or a device path such as /dev/usb/lp0"),
    key("printer.paper_mm", Int, ItWins, "58 or 80"),
    // [logging]
    key("logging.level", Str, ItWins, "error, warn, info, debug, trace or a filter like giftpos_dintero=debug"),
    key("logging.dir", Path, ItOnly, "a directory"),
    // [update]: only IT's files choose where updates come from.
    key("update.endpoint", Str, ItOnly, "the release JSON's URL"),
    key("update.pubkey", Str, ItOnly, "a minisign public key (base64)"),
    key("update.install_command", Strings, ItOnly, "nothing: retired and ignored (root's giftpos-update.timer installs updates)"),
    key("update.stage_dir", Path, ItOnly, "nothing: retired and ignored (root's giftpos-update.timer installs updates)"),
    // [sync]
    key("sync.max_failures", Int, ItOnly, "a count above 0"),
    key("sync.max_failure_age_secs", Int, ItOnly, "a number of seconds above 0"),
    key("sync.max_wait_secs", Int, ItOnly, "a number of seconds above 0"),
    // [payments]: what backs a card is loss prevention.
    env("payments.verify", "GIFTPOS_PAYMENTS_VERIFY", Str, ItOnly, "required, warn or off"),
    key("payments.max_age_hours", Int, ItOnly, "hours a payment may back a new card, 1 to 8760"),
    key("payments.tenders", Strings, ItOnly, "a list of dintero, cash, card_terminal"),
    key("payments.cash_limit_per_clerk_per_day", Str, ItOnly, "an amount such as \"2000.00\""),
    key("payments.gift_card_buys_gift_card", Bool, ItOnly, "true or false"),
    // [metrics]: what the till serves, and where it writes as the app's user.
    key("metrics.listen", Str, ItOnly, "an address such as 127.0.0.1:9925"),
    key("metrics.textfile_dir", Path, ItOnly, "a directory"),
];

/// The variables that choose files rather than set keys. `GIFTPOS_SYSTEM_CONFIG` moves
/// IT's file, so only test builds (the `test-support` feature) read it.
#[cfg(feature = "test-support")]
pub const FILE_ENV_VARS: &[&str] = &["GIFTPOS_CONFIG", "GIFTPOS_SYSTEM_CONFIG"];
#[cfg(not(feature = "test-support"))]
pub const FILE_ENV_VARS: &[&str] = &["GIFTPOS_CONFIG"];

/// Every environment variable the terminal reads.
pub fn env_vars() -> impl Iterator<Item = &'static str> {
    FILE_ENV_VARS
        .iter()
        .copied()
        .chain(KEYS.iter().filter_map(|k| k.env))
}

fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// A value with where it came from.
#[derive(Debug, Clone)]
pub(super) struct Val<T> {
    pub v: T,
    pub src: Source,
}

/// The layers read so far: each key's winning value, its origin, and whether IT set it.
/// The values include secrets from the environment: `Debug` shows where each key came
/// from, never what it is.
#[derive(Default)]
pub(super) struct Layers {
    values: BTreeMap<&'static str, (toml::Value, Source, bool)>,
    /// The process runs as root: every layer is IT's.
    privileged: bool,
}

impl std::fmt::Debug for Layers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.values.iter().map(|(k, (_, src, _))| (k, src)))
            .finish()
    }
}

impl Layers {
    /// Layers for a process that runs as root (`privileged`: IT in every layer) or not.
    pub fn new(privileged: bool) -> Layers {
        Layers {
            values: BTreeMap::new(),
            privileged,
        }
    }

    /// Applies one file's table. `system`: IT's file or a drop-in.
    pub fn apply_file(
        &mut self,
        table: toml::Table,
        path: &Path,
        system: bool,
    ) -> Result<(), ConfigError> {
        let src = Source::File(path.to_path_buf());
        for (section, inner) in table {
            let toml::Value::Table(inner) = inner else {
                return Err(invalid(&src, &section, "a [section] with keys"));
            };
            for (name, value) in inner {
                let full = format!("{section}.{name}");
                let Some(k) = find(&full) else {
                    return Err(invalid(&src, &full, "a known key (README lists them)"));
                };
                if !kind_matches(k.kind, &value) {
                    return Err(invalid(&src, k.name, k.expected));
                }
                if k.rule == EnvOnly {
                    return Err(invalid(
                        &src,
                        k.name,
                        "not in a file: secrets go in the environment or a file named by *_secret_file",
                    ));
                }
                self.apply(k, value, &src, system)?;
            }
        }
        Ok(())
    }

    fn apply(
        &mut self,
        k: &'static Key,
        value: toml::Value,
        src: &Source,
        system: bool,
    ) -> Result<(), ConfigError> {
        let it = system || self.privileged;
        if !it && k.rule == ItOnly {
            return Err(ConfigError::ItOnly {
                origin: src.clone(),
                key: k.name.into(),
            });
        }
        if !it
            && k.rule == ItWins
            && self
                .values
                .get(k.name)
                .is_some_and(|(_, _, from_it)| *from_it)
        {
            // What IT set stands; the user's value is not used.
            return Ok(());
        }
        self.values.insert(k.name, (value, src.clone(), it));
        Ok(())
    }

    /// The environment, over every file: IT's when the process runs as root, else the
    /// user's (a control set there is an error).
    pub fn apply_env(
        &mut self,
        env: &std::collections::HashMap<String, String>,
    ) -> Result<(), ConfigError> {
        for k in KEYS {
            let Some(var) = k.env else { continue };
            if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
                let src = Source::Env(var.into());
                if k.rule == EnvOnly {
                    // A secret replaces a secret: it points the till nowhere else.
                    self.values
                        .insert(k.name, (toml::Value::String(v.clone()), src, true));
                    continue;
                }
                self.apply(k, toml::Value::String(v.clone()), &src, false)?;
            }
        }
        Ok(())
    }

    /// Where each set key came from (`giftpos info`).
    pub fn origins(&self) -> BTreeMap<String, Source> {
        self.values
            .iter()
            .map(|(k, (_, src, _))| (k.to_string(), src.clone()))
            .collect()
    }

    /// Where a key's value came from, when it is set.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.values.get(name).map(|(_, src, _)| src)
    }

    #[cfg(test)]
    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn get(&self, name: &'static str) -> Option<(&toml::Value, &Source, &'static Key)> {
        let k = find(name).unwrap_or_else(|| panic!("{name} is not in KEYS"));
        self.values.get(name).map(|(v, s, _)| (v, s, k))
    }

    pub fn str(&self, name: &'static str) -> Option<Val<String>> {
        self.get(name).and_then(|(v, src, _)| {
            v.as_str().map(|s| Val {
                v: s.to_string(),
                src: src.clone(),
            })
        })
    }

    pub fn path(&self, name: &'static str) -> Option<Val<PathBuf>> {
        self.str(name).map(|v| Val {
            v: PathBuf::from(v.v),
            src: v.src,
        })
    }

    /// A whole number in `T`'s range; from the environment, parsed.
    pub fn int<T: TryFrom<i64>>(&self, name: &'static str) -> Result<Option<Val<T>>, ConfigError> {
        let Some((v, src, k)) = self.get(name) else {
            return Ok(None);
        };
        let n = match v {
            toml::Value::Integer(n) => Some(*n),
            toml::Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        n.and_then(|n| T::try_from(n).ok())
            .map(|v| {
                Some(Val {
                    v,
                    src: src.clone(),
                })
            })
            .ok_or_else(|| invalid(src, k.name, k.expected))
    }

    /// `true`/`false`; from the environment also 1/0 and yes/no.
    pub fn bool(&self, name: &'static str) -> Result<Option<Val<bool>>, ConfigError> {
        let Some((v, src, k)) = self.get(name) else {
            return Ok(None);
        };
        let b = match v {
            toml::Value::Boolean(b) => Some(*b),
            toml::Value::String(s) => match s.trim() {
                "1" | "true" | "yes" => Some(true),
                "0" | "false" | "no" => Some(false),
                _ => None,
            },
            _ => None,
        };
        b.map(|v| {
            Some(Val {
                v,
                src: src.clone(),
            })
        })
        .ok_or_else(|| invalid(src, k.name, k.expected))
    }

    /// A structured value (an array of tables, a list of strings), read with serde.
    pub fn de<T: DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<Option<Val<T>>, ConfigError> {
        let Some((v, src, k)) = self.get(name) else {
            return Ok(None);
        };
        v.clone()
            .try_into()
            .map(|v| {
                Some(Val {
                    v,
                    src: src.clone(),
                })
            })
            .map_err(|e: toml::de::Error| {
                invalid(
                    src,
                    k.name,
                    format!("{} ({})", k.expected, e.message().trim()),
                )
            })
    }
}

fn kind_matches(kind: Kind, v: &toml::Value) -> bool {
    match kind {
        Str | Path => v.is_str(),
        Int => v.as_integer().is_some_and(|n| n >= 0),
        Bool => v.is_bool(),
        Strings => v
            .as_array()
            .is_some_and(|a| a.iter().all(toml::Value::is_str)),
        Tables => v
            .as_array()
            .is_some_and(|a| a.iter().all(toml::Value::is_table)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_named_once_and_every_variable_once() {
        let mut names: Vec<_> = KEYS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KEYS.len());
        let mut vars: Vec<_> = env_vars().collect();
        vars.sort_unstable();
        let n = vars.len();
        vars.dedup();
        assert_eq!(vars.len(), n);
        assert!(vars.iter().all(|v| v.starts_with("GIFTPOS_")));
    }

    #[test]
    fn the_layers_debug_form_names_sources_not_values() {
        let mut l = Layers::new(false);
        l.apply_env(
            &[("GIFTPOS_CLIENT_SECRET".to_string(), "s3cr3t".to_string())]
                .into_iter()
                .collect(),
        )
        .unwrap();
        let shown = format!("{l:?}");
        assert!(
            shown.contains("GIFTPOS_CLIENT_SECRET") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }

    #[test]
    fn secrets_are_environment_only_and_every_control_is_its_alone() {
        // The controls #22 names: what loosens a check, points the till or its money
        // elsewhere, or holds its data.
        let controls = [
            "payments.verify",
            "payments.max_age_hours",
            "dintero.api_base",
            "dintero.checkout_base",
            "dintero.ca_file",
            "dintero.account_id",
            "dintero.client_id",
            "dintero.client_secret_file",
            "dintero.payment_profile_id",
            "terminal.kiosk",
            "terminal.idle_sign_out_secs",
            "terminal.data_dir",
            "metrics.listen",
            "metrics.textfile_dir",
            "printer.receipts_dir",
            "logging.dir",
        ];
        for k in KEYS {
            if k.name.ends_with("_secret") {
                assert_eq!(k.rule, EnvOnly, "{}", k.name);
            }
            if k.name.starts_with("update.") || k.name.starts_with("offline.") {
                assert_eq!(k.rule, ItOnly, "{}", k.name);
            }
            if k.name.contains("_base") || k.name.ends_with("_file") && !k.name.contains("secret") {
                assert_eq!(k.rule, ItOnly, "every URL and CA file: {}", k.name);
            }
        }
        for c in controls {
            assert_eq!(find(c).map(|k| k.rule), Some(ItOnly), "{c}");
        }
    }

    #[test]
    fn a_user_layer_naming_a_control_is_refused_by_name_unless_root() {
        let table: toml::Table = "[payments]\nverify = \"off\"\n".parse().unwrap();
        let path = Path::new("/home/clerk/.config/giftpos/config.toml");
        let e = Layers::new(false)
            .apply_file(table.clone(), path, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("payments.verify") && e.contains("/home/clerk/.config/giftpos/config.toml"),
            "{e}"
        );
        let mut root = Layers::new(true);
        root.apply_file(table.clone(), path, false).unwrap();
        assert!(root.is_set("payments.verify"));
        let mut it = Layers::new(false);
        it.apply_file(table, Path::new("/etc/giftpos/config.toml"), true)
            .unwrap();
        assert!(it.is_set("payments.verify"));
        let env = [("GIFTPOS_PAYMENTS_VERIFY".to_string(), "off".to_string())]
            .into_iter()
            .collect();
        let e = Layers::new(false).apply_env(&env).unwrap_err().to_string();
        assert!(
            e.contains("GIFTPOS_PAYMENTS_VERIFY") && e.contains("payments.verify"),
            "{e}"
        );
    }

    #[test]
    fn a_preference_its_files_set_stands_against_the_users_layer() {
        let mut l = Layers::new(false);
        l.apply_file(
            "[terminal]\nlocale = \"nb\"\n".parse().unwrap(),
            Path::new("/etc/giftpos/config.toml"),
            true,
        )
        .unwrap();
        l.apply_file(
            "[terminal]\nlocale = \"en\"\nstore_name = \"Mine\"\n"
                .parse()
                .unwrap(),
            Path::new("/home/clerk/c.toml"),
            false,
        )
        .unwrap();
        assert_eq!(l.str("terminal.locale").unwrap().v, "nb");
        assert_eq!(l.str("terminal.store_name").unwrap().v, "Mine");
    }
}
