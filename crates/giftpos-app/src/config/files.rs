//! The files configuration comes from: IT's system file and its drop-ins (root-owned,
//! never written by a user — checked before they are read), the TOML they hold, and the
//! CA file a store's TLS proxy needs.

use std::path::{Path, PathBuf};

use super::keys::Val;
use super::{ConfigError, LoadOptions, invalid};

/// IT's file (or drop-in) and its folder: owned by a trusted owner (root) and writable by
/// nobody else, or the file is refused by name; every folder above them: a trusted
/// owner's, and writable by others only when sticky (like /tmp: nobody replaces what is
/// not theirs). A file that does not exist is fine (its folder is checked all the same,
/// so nobody else can create it).
pub(super) fn check_trusted(path: &Path, owners: &[u32]) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let untrusted = |file: &Path, problem: String, fix: String| ConfigError::Untrusted {
        file: file.to_path_buf(),
        problem,
        fix,
    };
    for p in [
        Some(path),
        path.parent().filter(|d| !d.as_os_str().is_empty()),
    ]
    .into_iter()
    .flatten()
    {
        match std::fs::symlink_metadata(p) {
            Ok(m) => {
                if !owners.contains(&m.uid()) {
                    return Err(untrusted(
                        p,
                        format!("it belongs to uid {}, not root", m.uid()),
                        format!("chown root:root {}", p.display()),
                    ));
                }
                // Sticky folders (/tmp) are no place for IT's files either.
                if !m.file_type().is_symlink() && m.mode() & 0o022 != 0 {
                    return Err(untrusted(
                        p,
                        format!("others can write it (mode {:o})", m.mode() & 0o7777),
                        format!("chmod go-w {}", p.display()),
                    ));
                }
                if m.file_type().is_symlink() {
                    // The link is root's; what it points to is checked on its own.
                    if let Ok(target) = std::fs::canonicalize(p) {
                        check_trusted(&target, owners)?;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ConfigError::Read {
                    file: p.to_path_buf(),
                    message: e.to_string(),
                });
            }
        }
    }
    let above = path
        .parent()
        .and_then(Path::parent)
        .map(|d| d.ancestors().filter(|a| !a.as_os_str().is_empty()));
    for a in above.into_iter().flatten() {
        let Ok(m) = std::fs::metadata(a) else {
            continue;
        };
        let sticky = m.mode() & 0o1000 != 0;
        if !owners.contains(&m.uid()) || (m.mode() & 0o022 != 0 && !sticky) {
            return Err(untrusted(
                a,
                format!(
                    "a folder above IT's file belongs to uid {} with mode {:o}: whoever can write it can replace the file",
                    m.uid(),
                    m.mode() & 0o7777
                ),
                format!("chown root:root {0} and chmod go-w {0}", a.display()),
            ));
        }
    }
    Ok(())
}

/// Kiosk mode when the configuration as a whole cannot be loaded: what IT's files say,
/// and kiosk whenever they cannot be read, trusted or understood (fail closed). Only no
/// IT file at all, or IT's files without `kiosk = true`, leave the window a window.
pub fn kiosk_fail_closed(opts: &LoadOptions) -> bool {
    let Some(sys) = &opts.system_file else {
        return false;
    };
    let Ok(drop_ins) = drop_ins(sys) else {
        return true;
    };
    let mut kiosk = false;
    for path in std::iter::once(sys.clone()).chain(drop_ins) {
        if check_trusted(&path, &opts.trusted_owners).is_err() {
            return true;
        }
        match read_file(&path, false) {
            Ok(None) => {}
            Ok(Some(table)) => match table.get("terminal").and_then(|t| t.get("kiosk")) {
                Some(toml::Value::Boolean(b)) => kiosk = *b,
                Some(_) => return true,
                None => {}
            },
            Err(_) => return true,
        }
    }
    kiosk
}

/// One file as a TOML table (its keys are checked against [`KEYS`] when applied).
pub(super) fn read_file(path: &Path, required: bool) -> Result<Option<toml::Table>, ConfigError> {
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
    text.parse::<toml::Table>()
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            file: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
}

/// The drop-ins beside the system file: `<dir>/config.d/*.toml`, in name order.
pub(super) fn drop_ins(system_file: &Path) -> Result<Vec<PathBuf>, ConfigError> {
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

/// Reads `dintero.ca_file`: PEM certificates, named in the error when it is not.
pub(super) fn read_ca_file(p: &Val<PathBuf>) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(&p.v).map_err(|e| {
        invalid(
            &p.src,
            "dintero.ca_file",
            format!(
                "a readable PEM file ({} cannot be read: {e})",
                p.v.display()
            ),
        )
    })?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid(
            &p.src,
            "dintero.ca_file",
            format!(
                "PEM certificates (-----BEGIN CERTIFICATE-----); {} holds none",
                p.v.display()
            ),
        ));
    }
    Ok(bytes)
}
