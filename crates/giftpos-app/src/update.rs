//! Signed updates. The terminal asks the configured endpoint for the newest release, in
//! the JSON Tauri's updater serves (`version`, `notes`, `pub_date`, and per platform a
//! `url` and a `signature`), downloads the package, and accepts it only when its
//! minisign signature verifies against the public key (the one built into this binary,
//! or the one IT set in the system file). A tampered or unsigned package is refused and
//! logged; nothing is installed.
//!
//! Who does what: the app (the clerk's user) only asks whether a newer release exists
//! and reports it; root's `giftpos-update.timer` runs [`apply`], which downloads into a
//! folder only root can enter and installs that verified copy. No file another user can
//! write is ever read by root (see `docs/threat-model.md`, "Updates").
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
    /// A newer release is published; root's `giftpos-update.timer` installs it (the app
    /// only reports it, and restarts into the new binary once it is installed).
    Available {
        version: String,
    },
    /// Downloaded by root into its own folder, verified, and installed from that copy.
    Installed {
        version: String,
        file: String,
    },
}

/// The largest package root downloads (the installer is under 10 MiB).
pub const MAX_PACKAGE_BYTES: u64 = 256 * 1024 * 1024;

/// The platform keys this installation looks for, most specific first (Tauri's names):
/// the package type it was installed from (`linux-x86_64-deb` or `-rpm`), then the bare
/// platform.
/// Whether the running binary was replaced under it (a new version installed by the
/// staged-update service): Linux names a deleted executable `… (deleted)`.
pub fn running_binary_replaced() -> bool {
    binary_replaced(std::fs::read_link("/proc/self/exe").ok().as_deref())
}

fn binary_replaced(exe: Option<&Path>) -> bool {
    exe.is_some_and(|p| p.to_string_lossy().ends_with(" (deleted)"))
}

impl crate::Terminal {
    /// Whether the app should restart now into a newly installed version: it was
    /// replaced, and no clerk is signed in (an operation in flight keeps its clerk
    /// signed in, so it is never cut short).
    pub fn restart_due(&self) -> bool {
        running_binary_replaced() && self.signed_in().is_err()
    }
}

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
        .no_proxy()
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

/// The newest release the endpoint publishes.
async fn latest(s: &UpdateSettings) -> Result<Option<(Release, reqwest::Client)>, AppError> {
    let Some(endpoint) = &s.endpoint else {
        return Ok(None);
    };
    checked_url(endpoint)?;
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
    Ok(Some((release, client)))
}

/// Asks the endpoint whether a newer release than `current` is published. Nothing is
/// downloaded: installing is root's (`apply`).
pub async fn check(s: &UpdateSettings, current: &str) -> Result<UpdateOutcome, AppError> {
    let Some((release, _)) = latest(s).await? else {
        return Ok(UpdateOutcome::Disabled);
    };
    Ok(if is_newer(&release.version, current) {
        UpdateOutcome::Available {
            version: release.version,
        }
    } else {
        UpdateOutcome::UpToDate {
            current: current.into(),
            latest: release.version,
        }
    })
}

/// What root's `giftpos-update.service` runs (`giftpos update apply`): asks the
/// endpoint IT configured, downloads a newer package (at most [`MAX_PACKAGE_BYTES`])
/// into memory, verifies its signature against the key built into this binary (or IT's
/// `[update] pubkey`), writes those verified bytes to a new file in `dir` — a folder
/// only root can enter — and reads the version of, and installs, that copy alone.
/// Nothing another user wrote is read, let alone run: APT's own discipline.
pub async fn apply(
    s: &UpdateSettings,
    current: &str,
    dir: &Path,
) -> Result<UpdateOutcome, AppError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(AppError::new(
            ErrorCode::Config,
            "only root installs updates (giftpos-update.timer runs this); the app only reports them",
        ));
    }
    let Some(pubkey) = s.pubkey.as_deref().or(BUILT_IN_PUBKEY) else {
        return Err(AppError::new(
            ErrorCode::Config,
            "no update key: this build carries none and IT's file sets no [update] pubkey",
        ));
    };
    if !Path::new("/var/lib/dpkg").is_dir() {
        return Err(AppError::new(
            ErrorCode::Config,
            "unattended installs are for Debian tills (dpkg); on an RPM till, update from the signed repository with dnf-automatic",
        ));
    }
    let Some((release, client)) = latest(s).await? else {
        return Ok(UpdateOutcome::Disabled);
    };
    // Newer than what dpkg has installed (its own order), else than this binary.
    let installed = dpkg_installed();
    let newer = match &installed {
        Some(old) => dpkg_newer(&release.version, old),
        None => is_newer(&release.version, current),
    };
    if !newer {
        return Ok(UpdateOutcome::UpToDate {
            current: installed.unwrap_or_else(|| current.into()),
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
    let data = download(&client, &p.url).await?;
    if let Err(e) = verify_signature(&data, &p.signature, pubkey) {
        tracing::error!(version = %release.version, url = %p.url, "update refused: {e}");
        return Err(e);
    }
    private_dir(dir)?;
    // A name of our own making: nothing from the release decides where it is written.
    let file = dir.join(format!(
        "giftpos-update-{}.deb",
        uuid::Uuid::new_v4().simple()
    ));
    write_new_private(&file, &data)?;
    let result = install_copy(&file);
    let _ = std::fs::remove_file(&file);
    let version = result?;
    tracing::info!(version = %version, notes = release.notes.as_deref().unwrap_or(""), "update installed");
    Ok(UpdateOutcome::Installed {
        version,
        file: file.display().to_string(),
    })
}

/// The package's bytes, refused beyond [`MAX_PACKAGE_BYTES`] whatever the server says.
async fn download(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, AppError> {
    let mut resp = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| offline("update package", e))?;
    if resp.content_length().is_some_and(|n| n > MAX_PACKAGE_BYTES) {
        return Err(refused(format!(
            "the package is larger than {} MiB",
            MAX_PACKAGE_BYTES >> 20
        )));
    }
    let mut data = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| offline("update package", e))?
    {
        data.extend_from_slice(&chunk);
        if data.len() as u64 > MAX_PACKAGE_BYTES {
            return Err(refused(format!(
                "the package is larger than {} MiB",
                MAX_PACKAGE_BYTES >> 20
            )));
        }
    }
    Ok(data)
}

/// `dir` as a folder only this user (root) can enter: made 0700, or an existing one
/// checked (a real folder, ours) and tightened.
fn private_dir(dir: &Path) -> Result<(), AppError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let fail =
        |why: String| AppError::new(ErrorCode::Internal, format!("{}: {why}", dir.display()));
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let m = std::fs::symlink_metadata(dir).map_err(|e| fail(e.to_string()))?;
    if !m.file_type().is_dir() {
        return Err(fail("not a folder".into()));
    }
    if m.uid() != nix::unistd::geteuid().as_raw() {
        return Err(fail(format!("belongs to uid {}, not to root", m.uid())));
    }
    if m.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(())
}

/// A new file (never an existing one, never through a link), 0600, synced.
fn write_new_private(file: &Path, data: &[u8]) -> Result<(), AppError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(file)
        .and_then(|mut f| f.write_all(data).and_then(|_| f.sync_all()).map(|_| f))
        .map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("cannot save {}: {e}", file.display()),
            )
        })?;
    let _ = f.flush();
    if let Some(dir) = file.parent() {
        giftpos_journal::durable::sync_dir(dir).map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("cannot sync {}: {e}", dir.display()),
            )
        })?;
    }
    Ok(())
}

/// The installed package's version, as dpkg knows it.
fn dpkg_installed() -> Option<String> {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "giftpos"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether `new` is newer than `old` in dpkg's order.
fn dpkg_newer(new: &str, old: &str) -> bool {
    std::process::Command::new("dpkg")
        .args(["--compare-versions", new, "gt", old])
        .status()
        .is_ok_and(|s| s.success())
}

/// Reads the version of the verified copy and installs it when newer than what dpkg
/// has; the path goes to dpkg as raw bytes. Returns the version installed.
fn install_copy(file: &Path) -> Result<String, AppError> {
    let field = |name: &str| {
        std::process::Command::new("dpkg-deb")
            .arg("-f")
            .arg(file)
            .arg(name)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let package = field("Package")
        .ok_or_else(|| refused("not a Debian package (dpkg-deb cannot read it)"))?;
    if package != "giftpos" {
        return Err(refused(format!("the package is {package}, not giftpos")));
    }
    let new = field("Version").ok_or_else(|| refused("the package has no version"))?;
    if let Some(old) = dpkg_installed()
        && !dpkg_newer(&new, &old)
    {
        return Err(refused(format!(
            "version {new} is not newer than the installed {old}"
        )));
    }
    let status = std::process::Command::new("dpkg")
        .arg("-i")
        .arg(file)
        .status()
        .map_err(|e| AppError::new(ErrorCode::Config, format!("cannot run dpkg: {e}")))?;
    if !status.success() {
        return Err(AppError::new(
            ErrorCode::Internal,
            format!("dpkg -i {} failed: {status}", file.display()),
        ));
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_binary_is_noticed() {
        assert!(binary_replaced(Some(Path::new(
            "/usr/bin/giftpos-terminal (deleted)"
        ))));
        assert!(!binary_replaced(Some(Path::new(
            "/usr/bin/giftpos-terminal"
        ))));
        assert!(!binary_replaced(None));
    }

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
