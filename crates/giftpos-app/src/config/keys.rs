//! Every configuration key, once. The file schema (which sections and keys a file may
//! hold, of which type), the layering rules (what a user's file may not loosen, what only
//! IT's files may set), the environment variables and `giftpos info`'s "set by" column
//! are all read from [`KEYS`]. Adding a key: a row here, then reading it in `resolve`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use giftpos_core::{Currency, Locale, Money};
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

/// How a key's layers combine. Files are read in order: the system file, its drop-ins
/// (`config.d/*.toml`, by name), the user's file, `--config`; the environment last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A later layer overrides an earlier one.
    Override,
    /// Once IT's files (system file or drop-ins) set it, a user's file cannot change it
    /// (the environment, set by IT's deployment, still can).
    SystemWins,
    /// Only IT's files may set it: a user's file naming it is an error.
    SystemOnly,
    /// IT's value is a ceiling: a user's file may only lower it. An amount.
    CeilingAmount,
    /// The same, in seconds.
    CeilingSecs,
    /// Only in the environment, never in a file (a secret: files hold a path to it).
    EnvOnly,
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
    // [dintero]: IT's credentials; a user's file cannot point the till elsewhere.
    env("dintero.api_base", "GIFTPOS_API_BASE", Str, SystemWins, "a URL such as https://api.dintero.com"),
    env("dintero.account_id", "GIFTPOS_ACCOUNT_ID", Str, SystemWins, "a Dintero account id such as P12345678"),
    env("dintero.client_id", "GIFTPOS_CLIENT_ID", Str, SystemWins, "the API client's id"),
    env("dintero.client_secret", "GIFTPOS_CLIENT_SECRET", Str, EnvOnly, "the API client's secret (environment only; files name client_secret_file)"),
    env("dintero.client_secret_file", "GIFTPOS_CLIENT_SECRET_FILE", Path, SystemWins, "a path to a file holding the client secret"),
    key("dintero.timeout_ms", Int, Override, "milliseconds between 1 and 600000"),
    key("dintero.connect_timeout_ms", Int, Override, "milliseconds between 1 and 600000"),
    env("dintero.ca_file", "GIFTPOS_CA_FILE", Path, SystemWins, "a PEM file of certificate authorities to trust besides the system's"),
    env("dintero.keep_warm_secs", "GIFTPOS_KEEP_WARM_SECS", Int, Override, "seconds between keep-warm requests, 1 to 3600 (0: off)"),
    env("dintero.payment_profile_id", "GIFTPOS_PAYMENT_PROFILE", Str, Override, "a Checkout payment profile id"),
    key("dintero.checkout_base", Str, Override, "a URL such as https://checkout.dintero.com"),
    env("dintero.checkout_client_id", "GIFTPOS_CHECKOUT_CLIENT_ID", Str, SystemWins, "the Checkout API client's id"),
    env("dintero.checkout_client_secret", "GIFTPOS_CHECKOUT_CLIENT_SECRET", Str, EnvOnly, "the Checkout client's secret (environment only)"),
    env("dintero.checkout_client_secret_file", "GIFTPOS_CHECKOUT_CLIENT_SECRET_FILE", Path, SystemWins, "a path to a file holding the Checkout client's secret"),
    // [terminal]
    env("terminal.id", "GIFTPOS_TERMINAL_ID", Str, Override, "1 to 40 letters, digits, '-' or '_'"),
    env("terminal.store_name", "GIFTPOS_STORE_NAME", Str, Override, "the store's name as printed on receipts"),
    env("terminal.currency", "GIFTPOS_CURRENCY", Str, Override, "an ISO 4217 code such as NOK, SEK, DKK, EUR"),
    env("terminal.locale", "GIFTPOS_LOCALE", Str, Override, "en or nb"),
    env("terminal.data_dir", "GIFTPOS_DATA_DIR", Path, Override, "a directory"),
    env("terminal.idle_sign_out_secs", "GIFTPOS_IDLE_SIGN_OUT_SECS", Int, Override, "a number of seconds (0: never)"),
    env("terminal.kiosk", "GIFTPOS_KIOSK", Bool, Override, "true or false"),
    env("terminal.customer_display", "GIFTPOS_CUSTOMER_DISPLAY", Bool, Override, "true or false"),
    env("terminal.gpu", "GIFTPOS_GPU", Bool, Override, "true or false"),
    // [cards]
    key("cards.token_formats", Tables, Override, "at least one format, each with a length and a character class"),
    // [offline]: IT's caps are ceilings.
    key("offline.max_redeem", Str, CeilingAmount, "an amount such as \"500.00\""),
    key("offline.max_outstanding", Str, CeilingAmount, "an amount such as \"2000.00\""),
    key("offline.max_balance_age_secs", Int, CeilingSecs, "a number of seconds"),
    // [scanner]
    env("scanner.port", "GIFTPOS_SCANNER_PORT", Str, Override, "a serial port such as /dev/ttyACM0"),
    key("scanner.baud", Int, Override, "a baud rate such as 9600"),
    key("scanner.data_bits", Int, Override, "5, 6, 7 or 8"),
    key("scanner.parity", Str, Override, "none, odd or even"),
    key("scanner.stop_bits", Int, Override, "1 or 2"),
    key("scanner.flow_control", Str, Override, "none, software or hardware"),
    key("scanner.terminator", Str, Override, "auto, cr, lf, crlf, tab or etx"),
    key("scanner.prefix", Str, Override, "the characters the reader sends before a scan"),
    key("scanner.suffix", Str, Override, "the characters the reader sends after a scan"),
    key("scanner.inter_byte_timeout_ms", Int, Override, "milliseconds"),
    key("scanner.max_frame_len", Int, Override, "a length in bytes"),
    // [printer]
    key("printer.name", Str, Override, "a CUPS queue name (lpstat -p lists them)"),
    key("printer.receipts_dir", Path, Override, "a directory"),
    key("printer.kind", Str, Override, "cups (PDF through CUPS) or escpos (a thermal printer)"),
    key("printer.device", Str, Override, "tcp://HOST:9100 or a device path such as /dev/usb/lp0"),
    key("printer.paper_mm", Int, Override, "58 or 80"),
    // [logging]
    key("logging.level", Str, Override, "error, warn, info, debug, trace or a filter like giftpos_dintero=debug"),
    key("logging.dir", Path, Override, "a directory"),
    // [update]: only IT's files choose where updates come from.
    key("update.endpoint", Str, SystemOnly, "the release JSON's URL"),
    key("update.pubkey", Str, SystemOnly, "a minisign public key (base64)"),
    key("update.install_command", Strings, SystemOnly, "a command as a list, e.g. [\"pkexec\", \"dpkg\", \"-i\"]"),
    key("update.stage_dir", Path, SystemOnly, "the folder giftpos-update.service installs from, e.g. /var/lib/giftpos/updates"),
    // [sync]
    key("sync.max_failures", Int, Override, "a count above 0"),
    key("sync.max_failure_age_secs", Int, Override, "a number of seconds above 0"),
    key("sync.max_wait_secs", Int, Override, "a number of seconds above 0"),
    // [payments]
    env("payments.verify", "GIFTPOS_PAYMENTS_VERIFY", Str, Override, "required, warn or off"),
    // [metrics]
    key("metrics.listen", Str, Override, "an address such as 127.0.0.1:9925"),
    key("metrics.textfile_dir", Path, Override, "a directory"),
];

/// The variables that choose files rather than set keys.
pub const FILE_ENV_VARS: &[&str] = &["GIFTPOS_CONFIG", "GIFTPOS_SYSTEM_CONFIG"];

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

/// The layers read so far: each key's winning value and its origin.
/// The values include secrets from the environment: `Debug` shows where each key came
/// from, never what it is.
#[derive(Default)]
pub(super) struct Layers {
    values: BTreeMap<&'static str, (toml::Value, Source, bool)>,
}

impl std::fmt::Debug for Layers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.values.iter().map(|(k, (_, src, _))| (k, src)))
            .finish()
    }
}

impl Layers {
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
                match k.rule {
                    EnvOnly => {
                        return Err(invalid(
                            &src,
                            k.name,
                            "not in a file: secrets go in the environment or a file named by *_secret_file",
                        ));
                    }
                    SystemOnly if !system => {
                        return Err(invalid(
                            &src,
                            section.as_str(),
                            "no [update] here: only the system file chooses where updates come from",
                        ));
                    }
                    _ => {}
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
        if let Some((theirs, their_src, from_system)) = self.values.get(k.name)
            && *from_system
            && !system
        {
            let keep_theirs = match k.rule {
                SystemWins => true,
                CeilingAmount => amount(theirs, their_src, k)? <= amount(&value, src, k)?,
                CeilingSecs => theirs.as_integer() <= value.as_integer(),
                _ => false,
            };
            if keep_theirs {
                return Ok(());
            }
        }
        self.values.insert(k.name, (value, src.clone(), system));
        Ok(())
    }

    /// The environment, over every file.
    pub fn apply_env(&mut self, env: &std::collections::HashMap<String, String>) {
        for k in KEYS {
            let Some(var) = k.env else { continue };
            if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
                self.values.insert(
                    k.name,
                    (
                        toml::Value::String(v.clone()),
                        Source::Env(var.into()),
                        true,
                    ),
                );
            }
        }
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

/// An amount compared across layers: in minor units, whatever the currency's exponent.
fn amount(v: &toml::Value, src: &Source, k: &Key) -> Result<i64, ConfigError> {
    let text = v.as_str().unwrap_or_default();
    Money::parse(
        text,
        Currency::parse("NOK").unwrap_or_else(|_| unreachable!()),
        Locale::En,
    )
    .map(|m| m.minor())
    .map_err(|e| invalid(src, k.name, format!("{} ({e})", k.expected)))
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
        let mut l = Layers::default();
        l.apply_env(
            &[("GIFTPOS_CLIENT_SECRET".to_string(), "s3cr3t".to_string())]
                .into_iter()
                .collect(),
        );
        let shown = format!("{l:?}");
        assert!(
            shown.contains("GIFTPOS_CLIENT_SECRET") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }

    #[test]
    fn secrets_are_environment_only_and_updates_system_only() {
        for k in KEYS {
            if k.name.ends_with("_secret") {
                assert_eq!(k.rule, EnvOnly, "{}", k.name);
            }
            if k.name.starts_with("update.") {
                assert_eq!(k.rule, SystemOnly, "{}", k.name);
            }
        }
    }
}
