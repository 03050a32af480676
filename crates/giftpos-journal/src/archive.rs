//! Retention. Entries that are final (confirmed or refused) and older than a date move,
//! as a prefix of the chain, to a gzip'd JSON-lines file: a header, then each entry with
//! everything its hash covers and how it ended. The chain continues across the boundary
//! (the first live entry's `prev_hash` is the archive's last hash, recorded in the
//! `archives` table), and `verify` checks every listed archive and the live journal as
//! one chain. Nothing open, needing attention, or still named as a parent by a live entry
//! is ever archived; an archive is written and synced before any row leaves the journal.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Journal, ts};
use crate::hash::Content;
use crate::types::JournalError;

/// The archive file's format name (its first line says it).
pub const ARCHIVE_FORMAT: &str = "giftpos-journal-archive/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    format: String,
    terminal_id: String,
    first_seq: i64,
    last_seq: i64,
    first_prev_hash: String,
    last_hash: String,
    entries: u64,
}

/// One archived entry: the hashed content, the hash, and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Line {
    pub(crate) seq: i64,
    id: String,
    terminal_id: String,
    kind: String,
    card_key: String,
    card_masked: String,
    amount: i64,
    currency: String,
    clerk: Option<String>,
    metadata: String,
    ref_id: Option<String>,
    parent_id: Option<String>,
    created_at: String,
    prev_hash: String,
    pub(crate) hash: String,
    state: String,
    reason: Option<String>,
    card_id: Option<String>,
    server_transaction_id: Option<String>,
    balance_after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gift_card_part: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paid_with: Option<String>,
}

impl Line {
    fn entry(self) -> crate::Entry {
        use giftpos_core::{Currency, Money};
        let cur = Currency::parse(&self.currency)
            .unwrap_or_else(|_| Currency::parse("NOK").unwrap_or_else(|_| unreachable!()));
        let money = |m: i64| Money::from_minor(m.max(0), cur).unwrap_or_else(|_| Money::zero(cur));
        let created_at = crate::parse_ts(&self.created_at);
        crate::Entry {
            seq: self.seq,
            kind: crate::parse_kind(&self.kind),
            card_key: self.card_key,
            card: self.card_masked,
            card_token: None,
            card_id: self.card_id,
            amount: money(self.amount),
            clerk: self.clerk,
            metadata: crate::EntryMeta::from_stored(&self.metadata),
            ref_id: self.ref_id,
            parent_id: self.parent_id,
            created_at,
            hash: self.hash,
            prev_hash: self.prev_hash,
            state: crate::EntryState::parse(&self.state),
            reason: self.reason,
            attempts: 0,
            next_attempt_at: None,
            server_transaction_id: self.server_transaction_id,
            balance_after: self.balance_after.map(money),
            last_error: None,
            updated_at: created_at,
            failures: 0,
            first_failure_at: None,
            gift_card_part: self.gift_card_part.map(money),
            paid_with: self.paid_with,
            accepted_request: None,
            id: self.id,
            terminal_id: self.terminal_id,
        }
    }

    fn content(&self) -> Content<'_> {
        Content {
            seq: self.seq,
            id: &self.id,
            terminal_id: &self.terminal_id,
            kind: &self.kind,
            card_key: &self.card_key,
            card_masked: &self.card_masked,
            amount: self.amount,
            currency: &self.currency,
            clerk: self.clerk.as_deref(),
            metadata: &self.metadata,
            ref_id: self.ref_id.as_deref(),
            parent_id: self.parent_id.as_deref(),
            created_at: &self.created_at,
        }
    }
}

/// What `archive` moved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArchiveReport {
    pub file: PathBuf,
    pub entries: u64,
    pub first_seq: i64,
    pub last_seq: i64,
}

/// An archive the journal lists.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub first_seq: i64,
    pub last_seq: i64,
    pub first_prev_hash: String,
    pub last_hash: String,
    pub file: PathBuf,
}

impl Journal {
    /// Moves the final entries created before `before` (the longest such prefix of the
    /// chain) into a new archive file under `dir`. `None` when there is nothing to move.
    pub fn archive(
        &self,
        before: DateTime<Utc>,
        dir: &Path,
    ) -> Result<Option<ArchiveReport>, JournalError> {
        let io = |what: &str, e: std::io::Error| JournalError::Io {
            path: dir.to_path_buf(),
            detail: format!("{what}: {e}"),
        };
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let first: Option<i64> = tx
            .query_row("SELECT MIN(seq) FROM entries", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let Some(first) = first else { return Ok(None) };
        // The prefix: up to the first entry that is open, needs attention or is too new.
        let blocked: Option<i64> = tx
            .query_row(
                "SELECT MIN(e.seq) FROM entries e JOIN entry_state s ON s.entry_id = e.id
                 WHERE s.state NOT IN ('confirmed', 'refused') OR e.created_at >= ?1",
                params![ts(before)],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let mut last: i64 = match blocked {
            Some(b) => b - 1,
            None => tx
                .query_row("SELECT MAX(seq) FROM entries", [], |r| r.get(0))
                .map_err(|e| self.err(e))?,
        };
        // …and before any entry a live one still names as its parent.
        loop {
            let parent: Option<i64> = tx
                .query_row(
                    "SELECT MIN(p.seq) FROM entries c JOIN entries p ON p.id = c.parent_id
                     WHERE c.seq > ?1 AND p.seq <= ?1",
                    params![last],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            match parent {
                Some(p) => last = p - 1,
                None => break,
            }
        }
        if last < first {
            return Ok(None);
        }
        crate::durable::create_dir_all(dir, 0o700)
            .map_err(|e| io("cannot create the archive folder", e))?;
        let file = dir.join(format!(
            "journal-{}-{first:010}-{last:010}.jsonl.gz",
            self.terminal_id
        ));
        let tmp = file.with_extension("part");
        let mut lines = Vec::new();
        {
            let mut st = tx
                .prepare(
                    "SELECT e.seq, e.id, e.terminal_id, e.kind, e.card_key, e.card_masked,
                        e.amount, e.currency, e.clerk, e.metadata, e.ref_id, e.parent_id,
                        e.created_at, e.prev_hash, e.hash, s.state, s.reason, s.card_id,
                        s.server_transaction_id, s.balance_after, s.gift_card_part, s.paid_with
                     FROM entries e JOIN entry_state s ON s.entry_id = e.id
                     WHERE e.seq BETWEEN ?1 AND ?2 ORDER BY e.seq",
                )
                .map_err(|e| self.err(e))?;
            let mut rows = st.query(params![first, last]).map_err(|e| self.err(e))?;
            while let Some(r) = rows.next().map_err(|e| self.err(e))? {
                let line = Line {
                    seq: r.get(0).map_err(|e| self.err(e))?,
                    id: r.get(1).map_err(|e| self.err(e))?,
                    terminal_id: r.get(2).map_err(|e| self.err(e))?,
                    kind: r.get(3).map_err(|e| self.err(e))?,
                    card_key: r.get(4).map_err(|e| self.err(e))?,
                    card_masked: r.get(5).map_err(|e| self.err(e))?,
                    amount: r.get(6).map_err(|e| self.err(e))?,
                    currency: r.get(7).map_err(|e| self.err(e))?,
                    clerk: r.get(8).map_err(|e| self.err(e))?,
                    metadata: r.get(9).map_err(|e| self.err(e))?,
                    ref_id: r.get(10).map_err(|e| self.err(e))?,
                    parent_id: r.get(11).map_err(|e| self.err(e))?,
                    created_at: r.get(12).map_err(|e| self.err(e))?,
                    prev_hash: r.get(13).map_err(|e| self.err(e))?,
                    hash: r.get(14).map_err(|e| self.err(e))?,
                    state: r.get(15).map_err(|e| self.err(e))?,
                    reason: r.get(16).map_err(|e| self.err(e))?,
                    card_id: r.get(17).map_err(|e| self.err(e))?,
                    server_transaction_id: r.get(18).map_err(|e| self.err(e))?,
                    balance_after: r.get(19).map_err(|e| self.err(e))?,
                    gift_card_part: r.get(20).map_err(|e| self.err(e))?,
                    paid_with: r.get(21).map_err(|e| self.err(e))?,
                };
                // An archive is only made of a chain that verifies.
                if line.content().hash(&line.prev_hash) != line.hash {
                    return Err(JournalError::Corrupt {
                        path: self.path.clone(),
                        detail: format!(
                            "entry {} (seq {}) does not verify: not archived",
                            line.id, line.seq
                        ),
                    });
                }
                lines.push(line);
            }
        }
        let header = Header {
            format: ARCHIVE_FORMAT.into(),
            terminal_id: self.terminal_id.clone(),
            first_seq: first,
            last_seq: last,
            first_prev_hash: lines
                .first()
                .map(|l| l.prev_hash.clone())
                .unwrap_or_default(),
            last_hash: lines.last().map(|l| l.hash.clone()).unwrap_or_default(),
            entries: lines.len() as u64,
        };
        {
            let f = std::fs::File::create(&tmp).map_err(|e| io("cannot write the archive", e))?;
            let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
            let mut put = |v: &dyn erased::Ser| -> std::io::Result<()> {
                v.write_to(&mut gz)?;
                gz.write_all(b"\n")
            };
            put(&header).map_err(|e| io("cannot write the archive", e))?;
            for l in &lines {
                put(l).map_err(|e| io("cannot write the archive", e))?;
            }
            let f = gz.finish().map_err(|e| io("cannot write the archive", e))?;
            f.sync_all().map_err(|e| io("cannot sync the archive", e))?;
        }
        std::fs::rename(&tmp, &file).map_err(|e| io("cannot name the archive", e))?;
        // The archive's name must be on the disk before any row leaves the journal.
        crate::durable::sync_dir(dir).map_err(|e| io("cannot sync the archive folder", e))?;
        tx.execute(
            "INSERT INTO archives(first_seq, last_seq, first_prev_hash, last_hash, file, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                first,
                last,
                header.first_prev_hash,
                header.last_hash,
                file.display().to_string(),
                ts(Utc::now())
            ],
        )
        .map_err(|e| self.err(e))?;
        // What the moved entries drew on payments stays counted (a payment backs cards
        // once, however old its entries are).
        tx.execute(
            "INSERT OR IGNORE INTO payment_uses(entry_id, transaction_id, kind, amount, currency)
             SELECT e.id, json_extract(e.metadata, '$.dintero_transaction_id'), e.kind,
                    e.amount, e.currency
             FROM entries e JOIN entry_state s ON s.entry_id = e.id
             WHERE e.seq BETWEEN ?1 AND ?2 AND s.state = 'confirmed'
               AND e.kind IN ('activate', 'top_up')
               AND json_extract(e.metadata, '$.dintero_transaction_id') IS NOT NULL",
            params![first, last],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM entry_state WHERE entry_id IN
               (SELECT id FROM entries WHERE seq BETWEEN ?1 AND ?2)",
            params![first, last],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM entries WHERE seq BETWEEN ?1 AND ?2",
            params![first, last],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Some(ArchiveReport {
            file,
            entries: header.entries,
            first_seq: first,
            last_seq: last,
        }))
    }

    /// Every entry the listed archives hold, oldest first, as it ended (confirmed or
    /// refused). What only the live journal tracks (attempts, the last error) is empty.
    /// `verify` is what checks the archives; an archive that cannot be read is an error
    /// naming its file.
    pub fn archived_entries(&self) -> Result<Vec<crate::Entry>, JournalError> {
        let listed = self.listed_archives(&self.db())?;
        let mut out = Vec::new();
        for a in listed {
            let bad = |detail: String| JournalError::Corrupt {
                path: a.file.clone(),
                detail,
            };
            let f =
                std::fs::File::open(&a.file).map_err(|e| bad(format!("cannot be read: {e}")))?;
            let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(f));
            for (n, l) in reader.lines().enumerate().skip(1) {
                let line: Line = l
                    .map_err(|e| e.to_string())
                    .and_then(|l| serde_json::from_str(&l).map_err(|e| e.to_string()))
                    .map_err(|e| bad(format!("line {} cannot be read: {e}", n + 1)))?;
                out.push(line.entry());
            }
        }
        Ok(out)
    }

    /// The archives this journal lists, oldest first.
    pub(crate) fn listed_archives(
        &self,
        db: &rusqlite::Connection,
    ) -> Result<Vec<Listed>, JournalError> {
        let mut st = db
            .prepare(
                "SELECT first_seq, last_seq, first_prev_hash, last_hash, file
                 FROM archives ORDER BY first_seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(Listed {
                    first_seq: r.get(0)?,
                    last_seq: r.get(1)?,
                    first_prev_hash: r.get(2)?,
                    last_hash: r.get(3)?,
                    file: PathBuf::from(r.get::<_, String>(4)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

/// Checks one archive file against what the journal lists for it: every entry's hash,
/// the chain inside it, its first and last hashes. Problems are named; `Err` only when
/// the file cannot be read at all.
pub(crate) fn verify_archive(a: &Listed, problems: &mut Vec<String>) -> u64 {
    let name = a.file.display();
    let f = match std::fs::File::open(&a.file) {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("archive {name} cannot be read: {e}"));
            return 0;
        }
    };
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(f));
    let mut lines = reader.lines();
    let header: Option<Header> = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| serde_json::from_str(&l).ok());
    let Some(header) = header.filter(|h| h.format == ARCHIVE_FORMAT) else {
        problems.push(format!("archive {name} is not a giftpos journal archive"));
        return 0;
    };
    if (header.first_seq, header.last_seq) != (a.first_seq, a.last_seq)
        || header.last_hash != a.last_hash
        || header.first_prev_hash != a.first_prev_hash
    {
        problems.push(format!(
            "archive {name} is not the one the journal lists (sequences or hashes differ)"
        ));
    }
    let mut prev = a.first_prev_hash.clone();
    let mut seq = a.first_seq;
    let mut n = 0;
    for l in lines {
        let line: Option<Line> = l.ok().and_then(|l| serde_json::from_str(&l).ok());
        let Some(line) = line else {
            problems.push(format!("archive {name}: line {} cannot be read", n + 2));
            break;
        };
        if line.seq != seq || line.prev_hash != prev {
            problems.push(format!(
                "archive {name}: entry {} (seq {}) does not follow the one before it",
                line.id, line.seq
            ));
        }
        if line.content().hash(&line.prev_hash) != line.hash {
            problems.push(format!(
                "archive {name}: entry {} (seq {}): its content was changed",
                line.id, line.seq
            ));
        }
        prev = line.hash;
        seq += 1;
        n += 1;
    }
    if seq - 1 != a.last_seq || prev != a.last_hash {
        problems.push(format!(
            "archive {name} ends at seq {} where the journal lists {} (entries removed)",
            seq - 1,
            a.last_seq
        ));
    }
    n
}

/// Serializing a header or a line alike.
mod erased {
    pub trait Ser {
        fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(w, self).map_err(std::io::Error::other)
        }
    }
}
