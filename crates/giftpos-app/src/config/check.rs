//! The checks and defaults `resolve` applies to single values: Dintero's URLs (https, or
//! plain http to this machine only), the secret files, the serial reader's settings, the
//! terminal id and data directory when none is set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use giftpos_core::Secret;

use super::keys::Layers;
use super::{ConfigError, Source, invalid, keys};

pub(super) fn resolve_scanner(
    l: &Layers,
) -> Result<(giftpos_scanner::SerialConfig, bool), ConfigError> {
    let port = l.str("scanner.port");
    let configured = port.is_some();
    // Errors the reader's own check finds name the last file (or variable) that set a
    // scanner key.
    let src = keys::KEYS
        .iter()
        .filter(|k| k.name.starts_with("scanner."))
        .filter_map(|k| l.source(k.name))
        .next_back()
        .cloned()
        .unwrap_or(Source::Default);
    let terminator_v = l.str("scanner.terminator");
    let d = giftpos_scanner::SerialConfig::default();
    let terminator = match terminator_v {
        Some(t) => giftpos_scanner::Terminator::parse(&t.v).ok_or_else(|| {
            invalid(
                &t.src,
                "scanner.terminator",
                "auto, cr, lf, crlf, tab or etx",
            )
        })?,
        None => d.frame.terminator,
    };
    let cfg = giftpos_scanner::SerialConfig {
        port: port.map(|p| p.v).unwrap_or(d.port),
        baud: l.int("scanner.baud")?.map_or(d.baud, |v| v.v),
        data_bits: l.int("scanner.data_bits")?.map_or(d.data_bits, |v| v.v),
        parity: l.str("scanner.parity").map_or(d.parity, |v| v.v),
        stop_bits: l.int("scanner.stop_bits")?.map_or(d.stop_bits, |v| v.v),
        flow_control: l
            .str("scanner.flow_control")
            .map_or(d.flow_control, |v| v.v),
        frame: giftpos_scanner::FrameConfig {
            terminator,
            prefix: l.str("scanner.prefix").map(|v| v.v),
            suffix: l.str("scanner.suffix").map(|v| v.v),
            inter_byte_timeout: l
                .int("scanner.inter_byte_timeout_ms")?
                .map_or(d.frame.inter_byte_timeout, |v| Duration::from_millis(v.v)),
            max_len: l
                .int("scanner.max_frame_len")?
                .map_or(d.frame.max_len, |v| v.v),
        },
    };
    cfg.validate().map_err(|e| ConfigError::Invalid {
        origin: src,
        key: format!("scanner.{}", e.key),
        expected: e.message,
    })?;
    Ok((cfg, configured))
}

/// Whether `url` is plain `http://` to this machine (127.0.0.1, localhost or [::1]): the
/// only place plain HTTP is allowed (a sandbox). The host is read whole, so
/// `http://localhost.example.com` or `http://127.0.0.1@example.com` are not loopback.
pub fn is_loopback_http(url: &str) -> bool {
    url.trim()
        .strip_prefix("http://")
        .is_some_and(loopback_host)
}

/// `http://` or `https://` to this machine (a sandbox, plain or over TLS).
pub fn is_loopback(url: &str) -> bool {
    let url = url.trim();
    is_loopback_http(url) || url.strip_prefix("https://").is_some_and(loopback_host)
}

fn loopback_host(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Accepts `https://…`, and plain `http://` only to this machine (a sandbox).
pub(super) fn check_api_base(s: &str) -> Result<String, String> {
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
pub(super) fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
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

pub(super) fn default_terminal_id() -> String {
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

pub(super) fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"))
        .join("giftpos")
}
