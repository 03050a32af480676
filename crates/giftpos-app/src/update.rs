//! Signed updates. The terminal asks the configured endpoint for the newest release, in
//! the JSON Tauri's updater serves (`version`, `notes`, `pub_date`, and per platform a
//! `url` and a `signature`), downloads the package, and accepts it only when its
//! minisign signature verifies against the public key (the one built into this binary,
//! or the one IT set in the system file). A tampered or unsigned package is refused,
//! logged, and deleted; nothing is installed.
//!
//! Keys and signatures are Tauri's format: the minisign text (`untrusted comment: …`
//! and the key or signature line) wrapped in base64, as `tauri signer` writes them.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};

/// The public key built in by the packaging script (`GIFTPOS_UPDATE_PUBKEY` at build
/// time); none in a developer build.
pub const BUILT_IN_PUBKEY: Option<&str> = option_env!("GIFTPOS_UPDATE_PUBKEY");

pub use crate::config::UpdateSettings;

/// One platform's package in the release JSON.
#[derive(Debug, Clone, Deserialize)]
struct PlatformRelease {
    url: String,
    #[serde(default)]
    signature: String,
}

/// The release JSON.
#[derive(Debug, Clone, Deserialize)]
struct Release {
    version: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    platforms: std::collections::BTreeMap<String, PlatformRelease>,
}

/// What a check found and did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UpdateOutcome {
    /// No endpoint is configured.
    Disabled,
    UpToDate {
        current: String,
        latest: String,
    },
    /// Verified and kept in the update folder (no install command configured).
    Staged {
        version: String,
        file: String,
    },
    /// Verified and handed to the install command, which succeeded.
    Installed {
        version: String,
        file: String,
    },
}

/// The platform keys this installation looks for, most specific first (Tauri's names):
/// the package type it was installed from (`linux-x86_64-deb` or `-rpm`), then the bare
/// platform.
pub fn platform_keys() -> Vec<String> {
    platform_keys_for(
        std::env::consts::OS,
        std::env::consts::ARCH,
        installed_bundle(),
    )
}

/// The package type this installation came from: dpkg or rpm knows the package.
fn installed_bundle() -> Option<&'static str> {
    match std::env::consts::OS {
        "linux" if Path::new("/var/lib/dpkg/info/giftpos.list").exists() => Some("deb"),
        "linux" => std::process::Command::new("rpm")
            .args(["-q", "--quiet", "giftpos"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()
            .filter(std::process::ExitStatus::success)
            .map(|_| "rpm"),
        "windows" => Some("nsis"),
        "macos" => Some("app"),
        _ => None,
    }
}

fn platform_keys_for(os: &str, arch: &str, bundle: Option<&str>) -> Vec<String> {
    let os = if os == "macos" { "darwin" } else { os };
    let mut keys = Vec::new();
    if let Some(b) = bundle {
        keys.push(format!("{os}-{arch}-{b}"));
    }
    keys.push(format!("{os}-{arch}"));
    keys
}

/// Semantic versions ("0.10.2" > "0.9.9"; a pre-release is older than its release; a
/// leading `v` and missing minor/patch parts are accepted). A version that is not one
/// is never newer.
pub fn is_newer(candidate: &str, current: &str) -> bool {
    fn parse(v: &str) -> Option<semver::Version> {
        let v = v.trim().trim_start_matches('v');
        let (core, rest) = match v.find(['-', '+']) {
            Some(i) => v.split_at(i),
            None => (v, ""),
        };
        let dots = core.matches('.').count();
        let padded = format!("{core}{}{rest}", ".0".repeat(2usize.saturating_sub(dots)));
        semver::Version::parse(&padded).ok()
    }
    match (parse(candidate), parse(current)) {
        (Some(a), Some(b)) => a > b,
        _ => false,
    }
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::UpdateRefused, message)
}

fn decode_b64_text(what: &str, b64: &str) -> Result<String, AppError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| refused(format!("the {what} is not base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| refused(format!("the {what} is not text")))
}

/// Checks `data` against a Tauri/minisign signature and public key (both base64).
pub fn verify_signature(
    data: &[u8],
    signature_b64: &str,
    pubkey_b64: &str,
) -> Result<(), AppError> {
    if signature_b64.trim().is_empty() {
        return Err(refused("the update is not signed"));
    }
    let pk = minisign_verify::PublicKey::decode(&decode_b64_text("public key", pubkey_b64)?)
        .map_err(|e| refused(format!("the configured public key is not valid: {e}")))?;
    let sig = minisign_verify::Signature::decode(&decode_b64_text("signature", signature_b64)?)
        .map_err(|e| refused(format!("the update's signature is not valid: {e}")))?;
    pk.verify(data, &sig, false)
        .map_err(|e| refused(format!("the update's signature does not verify: {e}")))
}

fn http() -> Result<reqwest::Client, AppError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("giftpos/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(300))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| AppError::new(ErrorCode::Tls, e.to_string()))
}

fn offline(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorCode::Offline, format!("cannot fetch the {what}: {e}"))
}

fn checked_url(url: &str) -> Result<(), AppError> {
    if url.starts_with("https://") || crate::config::is_loopback_http(url) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Config,
            format!("update URL {url}: only https:// (or http:// to loopback) is allowed"),
        ))
    }
}

/// Asks the endpoint for the newest release; downloads, verifies and installs (or
/// stages) it when it is newer than `current`.
pub async fn check(s: &UpdateSettings, current: &str) -> Result<UpdateOutcome, AppError> {
    let Some(endpoint) = &s.endpoint else {
        return Ok(UpdateOutcome::Disabled);
    };
    checked_url(endpoint)?;
    let Some(pubkey) = s.pubkey.as_deref().or(BUILT_IN_PUBKEY) else {
        return Err(AppError::new(
            ErrorCode::Config,
            "an update endpoint is set but no public key: set [update] pubkey in the system file",
        ));
    };
    let client = http()?;
    let release: Release = client
        .get(endpoint)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| offline("release list", e))?
        .json()
        .await
        .map_err(|e| refused(format!("the release list is not valid: {e}")))?;
    if !is_newer(&release.version, current) {
        return Ok(UpdateOutcome::UpToDate {
            current: current.into(),
            latest: release.version,
        });
    }
    let keys = platform_keys();
    let Some(p) = keys.iter().find_map(|k| release.platforms.get(k)) else {
        return Err(refused(format!(
            "release {} has no package for {}",
            release.version, keys[0]
        )));
    };
    checked_url(&p.url)?;
    let data = client
        .get(&p.url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| offline("update package", e))?
        .bytes()
        .await
        .map_err(|e| offline("update package", e))?;
    if let Err(e) = verify_signature(&data, &p.signature, pubkey) {
        tracing::error!(version = %release.version, url = %p.url, "update refused: {e}");
        return Err(e);
    }
    let name = p
        .url
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && !n.contains(".."))
        .unwrap_or("update.pkg");
    std::fs::create_dir_all(&s.dir).map_err(|e| {
        AppError::new(
            ErrorCode::Internal,
            format!("cannot create {}: {e}", s.dir.display()),
        )
    })?;
    let file = s.dir.join(name);
    write_verified(&file, &data)?;
    // The signature beside it: whoever installs a staged package checks it again.
    write_verified(&sig_path(&file), p.signature.as_bytes())?;
    tracing::info!(version = %release.version, file = %file.display(), notes = release.notes.as_deref().unwrap_or(""), "update verified");
    if s.install_command.is_empty() {
        return Ok(UpdateOutcome::Staged {
            version: release.version,
            file: file.display().to_string(),
        });
    }
    install(&s.install_command, &file)?;
    tracing::info!(version = %release.version, "update installed");
    Ok(UpdateOutcome::Installed {
        version: release.version,
        file: file.display().to_string(),
    })
}

/// `<package>.sig`.
fn sig_path(file: &Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    std::path::PathBuf::from(name)
}

/// What `install_staged` did with one staged package.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StagedResult {
    pub file: String,
    /// `installed`, or `refused` with the reason.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Installs what the app staged in `dir` (run as root by `giftpos-update.service` when a
/// package appears; no person needed): each `.deb` whose `.sig` verifies against the key
/// built into this binary — never a key from a file a user could write — and whose
/// version is newer than the installed one, with `dpkg -i`. Every package leaves `dir`
/// (to `installed/` or `refused/`), so the path unit does not fire again for it.
pub fn install_staged(dir: &Path) -> Result<Vec<StagedResult>, AppError> {
    let Some(pubkey) = BUILT_IN_PUBKEY else {
        return Err(AppError::new(
            ErrorCode::Config,
            "this build carries no update key: only packaged builds install staged updates",
        ));
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(AppError::new(
                ErrorCode::Internal,
                format!("cannot read {}: {e}", dir.display()),
            ));
        }
    };
    let mut staged: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    staged.sort();
    let mut results = Vec::new();
    for file in staged {
        let outcome = install_one(&file, pubkey);
        let (to, result) = match outcome {
            Ok(()) => ("installed", None),
            Err(e) => ("refused", Some(e.message)),
        };
        if let Some(reason) = &result {
            tracing::error!(file = %file.display(), "staged update refused: {reason}");
        } else {
            tracing::info!(file = %file.display(), "staged update installed");
        }
        let done = dir.join(to);
        let _ = std::fs::create_dir_all(&done);
        for f in [file.clone(), sig_path(&file)] {
            if let Some(name) = f.file_name() {
                let _ = std::fs::rename(&f, done.join(name));
            }
        }
        results.push(StagedResult {
            file: file.display().to_string(),
            outcome: to.into(),
            reason: result,
        });
    }
    Ok(results)
}

fn install_one(file: &Path, pubkey: &str) -> Result<(), AppError> {
    let data = std::fs::read(file).map_err(|e| refused(format!("cannot read it: {e}")))?;
    let sig = std::fs::read_to_string(sig_path(file)).unwrap_or_default();
    verify_signature(&data, &sig, pubkey)?;
    // Newer than what is installed: a signed older package is still refused.
    let field = |args: &[&str]| {
        std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let path = file.to_string_lossy();
    let new = field(&["dpkg-deb", "-f", &path, "Version"])
        .ok_or_else(|| refused("not a Debian package (dpkg-deb cannot read it)"))?;
    if let Some(old) = field(&["dpkg-query", "-W", "-f=${Version}", "giftpos"]) {
        let newer = std::process::Command::new("dpkg")
            .args(["--compare-versions", &new, "gt", &old])
            .status()
            .is_ok_and(|s| s.success());
        if !newer {
            return Err(refused(format!(
                "version {new} is not newer than the installed {old}"
            )));
        }
    }
    install(&["dpkg".to_string(), "-i".to_string()], file)
}

fn write_verified(file: &Path, data: &[u8]) -> Result<(), AppError> {
    let tmp = file.with_extension("part");
    std::fs::write(&tmp, data)
        .and_then(|_| std::fs::rename(&tmp, file))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            AppError::new(
                ErrorCode::Internal,
                format!("cannot save {}: {e}", file.display()),
            )
        })
}

fn install(command: &[String], file: &Path) -> Result<(), AppError> {
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .arg(file)
        .status()
        .map_err(|e| AppError::new(ErrorCode::Config, format!("cannot run {}: {e}", command[0])))?;
    if status.success() {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Internal,
            format!("{} {} failed: {status}", command.join(" "), file.display()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically_and_a_prerelease_is_older() {
        assert!(is_newer("0.2.0", "0.1.9"));
        assert!(is_newer("0.10.0", "0.9.9"));
        assert!(is_newer("1.0.0", "1.0.0-rc.1"));
        assert!(is_newer("v1.0.1", "1.0"));
        assert!(!is_newer("0.1.0", "0.1.0"));
        assert!(!is_newer("0.1.0-rc.2", "0.1.0"));
        assert!(!is_newer("0.0.9", "0.1.0"));
    }

    #[test]
    fn not_a_version_is_never_newer() {
        assert!(!is_newer("latest", "0.1.0"));
        assert!(!is_newer("", "0.1.0"));
        assert!(is_newer("0.1.0+build.7", "0.0.9"));
    }

    #[test]
    fn the_installed_package_type_is_asked_for_first() {
        assert_eq!(
            platform_keys_for("linux", "x86_64", Some("rpm")),
            ["linux-x86_64-rpm", "linux-x86_64"]
        );
        assert_eq!(platform_keys_for("linux", "x86_64", None), ["linux-x86_64"]);
        assert_eq!(
            platform_keys_for("macos", "aarch64", Some("app")),
            ["darwin-aarch64-app", "darwin-aarch64"]
        );
    }

    #[test]
    fn only_https_or_loopback_urls_are_fetched() {
        assert!(checked_url("https://updates.example.com/x.json").is_ok());
        assert!(checked_url("http://127.0.0.1:9/x.json").is_ok());
        assert!(checked_url("http://updates.example.com/x.json").is_err());
        assert!(checked_url("http://127.0.0.1.example.com/x.json").is_err());
        assert!(checked_url("file:///etc/passwd").is_err());
    }

    #[test]
    fn a_missing_or_garbled_signature_is_refused_by_name() {
        let e = verify_signature(b"pkg", "", "a2V5").unwrap_err();
        assert_eq!(e.code, ErrorCode::UpdateRefused);
        assert!(e.message.contains("not signed"));
        let e = verify_signature(b"pkg", "!!", "a2V5").unwrap_err();
        assert!(e.message.contains("public key is not valid"), "{e}");
        let e = verify_signature(b"pkg", "c2ln", "!!").unwrap_err();
        assert!(e.message.contains("not base64"), "{e}");
    }
}
