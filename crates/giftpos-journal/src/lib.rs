//! The terminal's journal: every operation is written here, durably, before anything is
//! sent to Dintero, and syncs from here — exactly once, even across lost answers and
//! killed processes.
//!
//! - SQLite (bundled), WAL, `synchronous=FULL`; migrations are numbered SQL files under
//!   `migrations/`, embedded at build time, forward-only, never edited once landed.
//! - An entry's content is immutable and hash-chained (each hash covers the content and
//!   the previous hash); what changes while it syncs lives beside it (`entry_state`).
//! - The printed token stays only until the entry is confirmed; PINs are never stored.
//! - [`plan`] is the pure function that picks what to send next.

mod anchor;
mod answers;
mod append;
mod archive;
mod chain;
pub mod durable;
mod group;
mod hash;
mod meta;
pub mod plan;
mod state;
mod types;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use giftpos_core::{Currency, Money, OperationKind};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sha2::{Digest, Sha256};

pub use anchor::{Anchor, AnchorReport};
pub use answers::UnreadableAnswer;
pub use archive::{ARCHIVE_FORMAT, ArchiveReport};
pub use meta::EntryMeta;
pub use plan::{PlanItem, plan};
pub use types::{CachedCard, Counts, Entry, EntryState, JournalError, NewEntry, VerifyReport};

use hash::hex;

/// Forward-only migrations, applied in order; `PRAGMA user_version` records the last.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_journal.sql"),
    include_str!("../migrations/0002_failures.sql"),
    include_str!("../migrations/0003_indexes.sql"),
    include_str!("../migrations/0004_archives.sql"),
    include_str!("../migrations/0005_payment_uses.sql"),
    include_str!("../migrations/0006_unreadable_answers.sql"),
    include_str!("../migrations/0007_gift_card_part.sql"),
    include_str!("../migrations/0008_accepted_request.sql"),
];

/// Journals up to this many pages (of 1 KiB) get the whole-file check at open.
const QUICK_CHECK_MAX_PAGES: i64 = 65_536;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The journal. One per terminal; safe to share between threads.
pub struct Journal {
    conn: Mutex<Connection>,
    group: group::GroupSync,
    path: PathBuf,
    terminal_id: String,
    key: Vec<u8>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("terminal_id", &self.terminal_id)
            .finish_non_exhaustive()
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Journal {
    /// Opens (or creates) the journal at `path`. A file that is not a readable journal is
    /// refused with its name and never overwritten.
    pub fn open(path: &Path, terminal_id: &str) -> Result<Journal, JournalError> {
        let corrupt = |e: rusqlite::Error| JournalError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            durable::create_dir_all(dir, 0o700).map_err(|e| JournalError::Io {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(corrupt)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(corrupt)?;
        // Reading the schema first: a file that is not a database fails here, before
        // anything is written to it.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        // The whole-file check reads every page: at open for a journal of up to 64 MiB
        // (a few years of a till); beyond, `journal verify` and the doctor run it, and a
        // damaged page still fails the read that meets it (as Corrupt, never "offline").
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(corrupt)?;
        let check: String = if pages <= QUICK_CHECK_MAX_PAGES {
            conn.query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(corrupt)?
        } else {
            "ok".into()
        };
        if check != "ok" {
            return Err(JournalError::Corrupt {
                path: path.to_path_buf(),
                detail: check,
            });
        }
        if version > MIGRATIONS.len() as i64 {
            return Err(JournalError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: MIGRATIONS.len() as i64,
            });
        }
        // Small pages: an append dirties a handful of pages, and the WAL frames written
        // (and fsync'd) per commit are what an append costs. Only takes effect on a new
        // file.
        if version == 0 {
            conn.pragma_update(None, "page_size", 1024)
                .map_err(corrupt)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(corrupt)?;
        // About 140 appends per checkpoint: the log stops growing (each growing commit
        // also syncs the file's size) soon after a start, and then is reused in place.
        conn.pragma_update(None, "wal_autocheckpoint", 1000)
            .map_err(corrupt)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(corrupt)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(corrupt)?;
        // A scrubbed token is overwritten, not merely unlinked.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(corrupt)?;
        let mut j = Journal {
            conn: Mutex::new(conn),
            group: group::GroupSync::new(path),
            path: path.to_path_buf(),
            terminal_id: terminal_id.to_string(),
            key: Vec::new(),
        };
        j.migrate(version)?;
        j.key = j.terminal_key()?;
        // The log and its name made durable now, at start, so that no clerk's operation
        // pays for the folder's sync.
        j.group.prime().map_err(|e| JournalError::Io {
            path: path.to_path_buf(),
            detail: format!("cannot sync the journal: {e}"),
        })?;
        Ok(j)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Caps the journal file's size: past it, appends fail as on a full disk (SQLite's
    /// `SQLITE_FULL`) and nothing is recorded or sent.
    pub fn set_size_limit(&self, bytes: u64) -> Result<(), JournalError> {
        let db = self.db();
        let page: i64 = db
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let pages = (bytes as i64 / page.max(1)).max(1);
        db.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .map_err(|e| self.err(e))
    }

    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with commits that are not synced (`synchronous=NORMAL`), then goes back
    /// to synced commits. For writes that only refresh a cache, or that a synced commit
    /// is sure to follow before anything depends on them: the write-ahead log is one
    /// sequential file, so the next synced commit makes every earlier one durable. A
    /// power cut may lose these writes; it never corrupts the journal.
    fn lazily<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, JournalError> {
        /// Back to synced commits whatever happens (an error, a panic): every other
        /// write relies on it. If that fails, nothing is called durable any more.
        struct Lazy<'a> {
            journal: &'a Journal,
            db: MutexGuard<'a, Connection>,
        }
        impl Drop for Lazy<'_> {
            fn drop(&mut self) {
                if let Err(e) = self.db.pragma_update(None, "synchronous", "FULL") {
                    self.journal
                        .group
                        .fail(format!("cannot turn synchronous commits back on: {e}"));
                }
            }
        }
        self.not_failed()?;
        let mut lazy = Lazy {
            journal: self,
            db: self.db(),
        };
        lazy.db
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| self.err(e))?;
        let r = f(&mut lazy.db);
        drop(lazy);
        // Written (if it committed anything), not yet synced: counted for the next sync.
        self.group.written();
        r.map_err(|e| self.err(e))
    }

    /// `Err` once a sync of the journal failed: nothing written after it is durable
    /// (see `group.rs`), so nothing more is written until it is opened again.
    fn not_failed(&self) -> Result<(), JournalError> {
        self.group.check().map_err(|e| JournalError::Io {
            path: self.path.clone(),
            detail: e.to_string(),
        })
    }

    /// Returns once every commit made so far is on the disk (one shared fsync): before
    /// the chain's head leaves the journal as an anchor, say.
    pub fn make_durable(&self) -> Result<(), JournalError> {
        // Nothing written since the last sync: nothing to do (no fsync).
        let n = self.group.current();
        self.group.wait(n).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            detail: format!("cannot sync the journal: {e}"),
        })
    }

    /// Runs `f` (one transaction) and returns once its commit is durable, sharing the
    /// fsync with whatever else committed meanwhile (group commit, `group.rs`).
    fn durably<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, JournalError> {
        let r = self.lazily(f)?;
        self.make_durable()?;
        Ok(r)
    }

    fn err(&self, e: rusqlite::Error) -> JournalError {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            match f.code {
                rusqlite::ErrorCode::DiskFull => {
                    return JournalError::Full {
                        path: self.path.clone(),
                    };
                }
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt => {
                    return JournalError::Corrupt {
                        path: self.path.clone(),
                        detail: e.to_string(),
                    };
                }
                _ => {}
            }
        }
        JournalError::Io {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn migrate(&self, from: i64) -> Result<(), JournalError> {
        let mut db = self.db();
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = db.transaction().map_err(|e| self.err(e))?;
            tx.execute_batch(sql).map_err(|e| self.err(e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// The terminal's random key for card keys, made once.
    fn terminal_key(&self) -> Result<Vec<u8>, JournalError> {
        let db = self.db();
        let existing: Option<String> = db
            .query_row(
                "SELECT value FROM meta WHERE key = 'card_key_secret'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let hex = match existing {
            Some(h) => h,
            None => {
                let mut seed = Sha256::new();
                for _ in 0..4 {
                    seed.update(uuid::Uuid::new_v4().as_bytes());
                }
                let h = hex(&seed.finalize());
                db.execute(
                    "INSERT INTO meta(key, value) VALUES ('card_key_secret', ?1)",
                    params![h],
                )
                .map_err(|e| self.err(e))?;
                h
            }
        };
        Ok(hex.into_bytes())
    }

    /// The key grouping one card's entries: a keyed hash of its token (or card id), so
    /// the grouping survives the token being scrubbed without keeping the token.
    pub fn card_key(&self, token_or_card_id: &str) -> String {
        let mut inner = Sha256::new();
        inner.update(&self.key);
        inner.update(b"\x00card\x00");
        inner.update(token_or_card_id.as_bytes());
        let mut outer = Sha256::new();
        outer.update(&self.key);
        outer.update(inner.finalize());
        hex(&outer.finalize())[..32].to_string()
    }

    /// The `ref_id` Dintero gets for an entry: terminal and entry id.
    pub fn ref_id_for(&self, kind: OperationKind, entry_id: &str) -> Option<String> {
        kind.has_ref_id()
            .then(|| format!("{}:{}", self.terminal_id, entry_id))
    }

    const SELECT: &'static str =
        "SELECT e.seq, e.id, e.terminal_id, e.kind, e.card_key, e.card_masked,
        e.card_token, s.card_id, e.amount, e.currency, e.clerk, e.metadata, e.ref_id, e.parent_id,
        e.created_at, e.hash, e.prev_hash, s.state, s.reason, s.attempts, s.next_attempt_at,
        s.server_transaction_id, s.balance_after, s.last_error, s.updated_at, s.failures,
        s.first_failure_at, s.gift_card_part, s.paid_with, s.accepted_request
        FROM entries e JOIN entry_state s ON s.entry_id = e.id";

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
        let kind: String = r.get(3)?;
        let currency: String = r.get(9)?;
        let cur = Currency::parse(&currency)
            .unwrap_or_else(|_| Currency::parse("NOK").unwrap_or_else(|_| unreachable!()));
        let amount: i64 = r.get(8)?;
        let metadata: String = r.get(11)?;
        Ok(Entry {
            seq: r.get(0)?,
            id: r.get(1)?,
            terminal_id: r.get(2)?,
            kind: parse_kind(&kind),
            card_key: r.get(4)?,
            card: r.get(5)?,
            card_token: r.get(6)?,
            card_id: r.get(7)?,
            amount: Money::from_minor(amount.max(0), cur).unwrap_or_else(|_| Money::zero(cur)),
            clerk: r.get(10)?,
            metadata: EntryMeta::from_stored(&metadata),
            ref_id: r.get(12)?,
            parent_id: r.get(13)?,
            created_at: parse_ts(&r.get::<_, String>(14)?),
            hash: r.get(15)?,
            prev_hash: r.get(16)?,
            state: EntryState::parse(&r.get::<_, String>(17)?),
            reason: r.get(18)?,
            attempts: r.get(19)?,
            next_attempt_at: r.get::<_, Option<String>>(20)?.map(|s| parse_ts(&s)),
            server_transaction_id: r.get(21)?,
            balance_after: r
                .get::<_, Option<i64>>(22)?
                .and_then(|m| Money::from_minor(m, cur).ok()),
            last_error: r.get(23)?,
            updated_at: parse_ts(&r.get::<_, String>(24)?),
            failures: r.get(25)?,
            first_failure_at: r.get::<_, Option<String>>(26)?.map(|s| parse_ts(&s)),
            gift_card_part: r
                .get::<_, Option<i64>>(27)?
                .and_then(|m| Money::from_minor(m, cur).ok()),
            paid_with: r.get(28)?,
            accepted_request: r.get(29)?,
        })
    }

    /// One entry by id.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, JournalError> {
        let db = self.db();
        db.query_row(
            &format!("{} WHERE e.id = ?1", Self::SELECT),
            params![id],
            Self::row,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Every entry in journal order, one at a time (constant memory: `journal export`).
    /// Stops at the first error `f` returns.
    pub fn each<E: From<JournalError>>(
        &self,
        mut f: impl FnMut(Entry) -> Result<(), E>,
    ) -> Result<u64, E> {
        let db = self.db();
        let sql = format!("{} ORDER BY e.seq", Self::SELECT);
        let mut st = db.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            f(Self::row(r).map_err(|e| self.err(e))?)?;
            n += 1;
        }
        Ok(n)
    }

    /// The last `n` entries, in journal order.
    pub fn last(&self, n: u32) -> Result<Vec<Entry>, JournalError> {
        let mut v = self.query(
            &format!("{} ORDER BY e.seq DESC LIMIT ?1", Self::SELECT),
            params![i64::from(n)],
        )?;
        v.reverse();
        Ok(v)
    }

    /// One card's entries, in journal order.
    pub fn by_card(&self, card_key: &str) -> Result<Vec<Entry>, JournalError> {
        self.query(
            &format!("{} WHERE e.card_key = ?1 ORDER BY e.seq", Self::SELECT),
            params![card_key],
        )
    }

    /// The entries that name `transaction_id` as the payment behind them.
    pub fn by_payment(&self, transaction_id: &str) -> Result<Vec<Entry>, JournalError> {
        self.query(
            &format!(
                "{} WHERE json_extract(e.metadata, '$.dintero_transaction_id') = ?1 ORDER BY e.seq",
                Self::SELECT
            ),
            params![transaction_id],
        )
    }

    /// What archived entries drew on payment `transaction_id`, in minor units: cards
    /// sold or loaded against it that are no longer in the live journal (refused ones
    /// were never kept).
    pub fn archived_payment_use(&self, transaction_id: &str) -> Result<i64, JournalError> {
        self.db()
            .query_row(
                "SELECT COALESCE(SUM(amount), 0) FROM payment_uses WHERE transaction_id = ?1",
                params![transaction_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The entries that name `parent_id` as their parent (what settled a reservation,
    /// the activation a payment recorded), in journal order.
    pub fn children(&self, parent_id: &str) -> Result<Vec<Entry>, JournalError> {
        self.query(
            &format!("{} WHERE e.parent_id = ?1 ORDER BY e.seq", Self::SELECT),
            params![parent_id],
        )
    }

    fn query(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Entry>, JournalError> {
        let db = self.db();
        let mut st = db.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = st.query_map(p, Self::row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Entries in journal order, optionally only from `since` on, at most `limit`.
    pub fn list(
        &self,
        since: Option<DateTime<Utc>>,
        limit: Option<u32>,
    ) -> Result<Vec<Entry>, JournalError> {
        let db = self.db();
        // From the first entry made at or after `since` (found through the time index),
        // then along the sequence: the read is as long as what it returns.
        let sql = format!(
            "{} WHERE e.seq >= (SELECT COALESCE(MIN(seq), 0) FROM entries
                 INDEXED BY entries_created WHERE created_at >= ?1)
               AND e.created_at >= ?1 ORDER BY e.seq LIMIT ?2",
            Self::SELECT
        );
        let since = since.map(ts).unwrap_or_default();
        let limit = limit.map(i64::from).unwrap_or(-1);
        let mut st = db.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![since, limit], Self::row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Entries still to send, and those needing attention (they hold their card's queue),
    /// in journal order.
    pub fn open_entries(&self) -> Result<Vec<Entry>, JournalError> {
        let db = self.db();
        let sql = format!(
            "{} WHERE s.state IN ('recorded', 'sent', 'needs_attention') ORDER BY e.seq",
            Self::SELECT
        );
        let mut st = db.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = st.query_map([], Self::row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

fn parse_kind(s: &str) -> OperationKind {
    OperationKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(OperationKind::Balance)
}
