//! The journal's head anchored where the app's own user cannot rewrite it: journald
//! (`GIFTPOS_JOURNAL_HEAD=seq:hash`, sent to the system journal's socket whether or not
//! the app logs there) every [`EVERY`] entries, at start and at every Z-report, and the
//! printed Z-report. `giftpos journal verify --anchors` reads them back (journalctl, and
//! files of `seq:hash` lines typed from Z-reports) and compares the chain with them.
//!
//! Journald stamps each message with the sender's uid (`_UID`, which a sender cannot
//! forge); only anchors from the journal file's owner (or root) are read. The app's user
//! can add anchors but never remove one: a forged one for a sequence number already
//! anchored disagrees with the original and is named.

use std::path::Path;

use giftpos_journal::Anchor;

/// An anchor every this many entries.
pub const EVERY: i64 = 25;

const SOCKET: &str = "/run/systemd/journal/socket";

/// Sends the anchor for `seq:hash` of the journal at `journal` to journald (and the log).
/// `why`: `entries`, `start`, `z_report`.
pub fn emit(journal: &Path, terminal_id: &str, seq: i64, hash: &str, why: &str) {
    let head = Anchor::text(seq, hash);
    tracing::info!(journal_head = %head, why, "journal head");
    let journal = std::fs::canonicalize(journal).unwrap_or_else(|_| journal.to_path_buf());
    let mut msg = String::new();
    let mut field = |k: &str, v: &str| {
        // Values are ours (no newlines): the simple `KEY=value` form.
        msg.push_str(k);
        msg.push('=');
        msg.push_str(&v.replace('\n', " "));
        msg.push('\n');
    };
    field("MESSAGE", &format!("giftpos journal head {head} ({why})"));
    field("PRIORITY", "6");
    field("SYSLOG_IDENTIFIER", "giftpos");
    field("GIFTPOS_JOURNAL_HEAD", &head);
    field("GIFTPOS_JOURNAL_FILE", &journal.display().to_string());
    field("GIFTPOS_TERMINAL", terminal_id);
    field("GIFTPOS_ANCHOR", why);
    if let Err(e) = std::os::unix::net::UnixDatagram::unbound()
        .and_then(|s| s.send_to(msg.as_bytes(), SOCKET).map(|_| ()))
    {
        tracing::debug!("no journald to anchor the journal's head in: {e}");
    }
}

/// The anchors journald holds for the journal at `journal`, from its owner (or root).
/// `Err` names why none could be read (no journalctl, no permission).
pub fn from_journald(journal: &Path) -> Result<Vec<Anchor>, String> {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(journal)
        .map(|m| m.uid())
        .map_err(|e| format!("{}: {e}", journal.display()))?;
    let journal = std::fs::canonicalize(journal).unwrap_or_else(|_| journal.to_path_buf());
    let out = std::process::Command::new("journalctl")
        .args([
            "-o",
            "json",
            "--no-pager",
            "-q",
            "SYSLOG_IDENTIFIER=giftpos",
        ])
        .arg(format!("GIFTPOS_JOURNAL_FILE={}", journal.display()))
        .output()
        .map_err(|e| format!("journalctl cannot run: {e}"))?;
    if !out.status.success() && out.stdout.is_empty() {
        return Err(format!(
            "journalctl failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_journalctl(
        &String::from_utf8_lossy(&out.stdout),
        owner,
    ))
}

/// `journalctl -o json` lines to anchors, keeping those sent by `owner` or root.
pub fn parse_journalctl(text: &str, owner: u32) -> Vec<Anchor> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            v.get("_UID")
                .and_then(|u| u.as_str())
                .and_then(|u| u.parse::<u32>().ok())
                .is_some_and(|u| u == owner || u == 0)
        })
        .filter_map(|v| {
            let head = v.get("GIFTPOS_JOURNAL_HEAD")?.as_str()?;
            let at = v
                .get("__REALTIME_TIMESTAMP")
                .and_then(|t| t.as_str())
                .and_then(|t| t.parse::<i64>().ok())
                .and_then(chrono::DateTime::from_timestamp_micros)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            Anchor::parse(head, format!("journald {at}"))
        })
        .collect()
}

/// Anchors typed or copied into a file, one `seq:hash` per line (from printed
/// Z-reports); other lines are named as unreadable.
pub fn from_file(path: &Path) -> Result<(Vec<Anchor>, Vec<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut anchors = Vec::new();
    let mut bad = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        match Anchor::parse(l, format!("{} line {}", path.display(), i + 1)) {
            Some(a) => anchors.push(a),
            None => bad.push(format!(
                "{} line {}: not seq:hash (64 hex digits)",
                path.display(),
                i + 1
            )),
        }
    }
    Ok((anchors, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owners_and_roots_anchors_are_read() {
        let h = "ab".repeat(32);
        let text = format!(
            "{{\"_UID\":\"1000\",\"GIFTPOS_JOURNAL_HEAD\":\"25:{h}\",\"__REALTIME_TIMESTAMP\":\"1765000000000000\"}}\n\
             {{\"_UID\":\"1001\",\"GIFTPOS_JOURNAL_HEAD\":\"50:{h}\"}}\n\
             {{\"_UID\":\"0\",\"GIFTPOS_JOURNAL_HEAD\":\"75:{h}\"}}\n\
             {{\"_UID\":\"1000\",\"GIFTPOS_JOURNAL_HEAD\":\"garbage\"}}\n\
             not json\n"
        );
        let a = parse_journalctl(&text, 1000);
        assert_eq!(a.iter().map(|a| a.seq).collect::<Vec<_>>(), [25, 75]);
        assert!(a[0].source.starts_with("journald 2025-"), "{}", a[0].source);
    }
}
