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

pub mod plan;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use giftpos_core::{Currency, Money, OperationKind};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use plan::{PlanItem, plan};

/// Forward-only migrations, applied in order; `PRAGMA user_version` records the last.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_journal.sql"),
    include_str!("../migrations/0002_failures.sql"),
];

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the journal refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error(
        "the journal {path} is unreadable or corrupt ({detail}); it was left untouched — move it aside only after support has saved it"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the journal {path} was written by a newer giftpos (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the disk holding the journal {path} is full; nothing was recorded or sent")]
    Full { path: PathBuf },
    #[error("the journal {path} cannot be written: {detail}")]
    Io { path: PathBuf, detail: String },
    #[error("no journal entry {0}")]
    NotFound(String),
    #[error("journal entry {0} is not in a state that allows this")]
    WrongState(String),
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Durable, not yet sent.
    Recorded,
    /// Sent at least once; the answer is not yet known to be final.
    Sent,
    /// Dintero applied it.
    Confirmed,
    /// Dintero refused it (the reason says why); nothing was applied.
    Refused,
    /// A person must look: a conflict, or money at risk.
    NeedsAttention,
}

impl EntryState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Recorded => "recorded",
            EntryState::Sent => "sent",
            EntryState::Confirmed => "confirmed",
            EntryState::Refused => "refused",
            EntryState::NeedsAttention => "needs_attention",
        }
    }

    fn parse(s: &str) -> EntryState {
        match s {
            "recorded" => EntryState::Recorded,
            "sent" => EntryState::Sent,
            "confirmed" => EntryState::Confirmed,
            "refused" => EntryState::Refused,
            _ => EntryState::NeedsAttention,
        }
    }

    /// Still to be sent (or resent).
    pub fn is_open(self) -> bool {
        matches!(self, EntryState::Recorded | EntryState::Sent)
    }
}

/// What the caller records.
#[derive(Clone)]
pub struct NewEntry {
    pub id: String,
    pub kind: OperationKind,
    /// The printed token, when the operation starts from a scan.
    pub card_token: Option<String>,
    pub card_masked: String,
    /// When the card's Dintero id is known already.
    pub card_id: Option<String>,
    /// Groups this card's entries; [`Journal::card_key`] of the token, or of the card id.
    pub card_key: String,
    pub amount: Money,
    pub clerk: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Capture/void: the redemption entry they settle.
    pub parent_id: Option<String>,
}

impl fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEntry")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("card", &self.card_masked)
            .field("amount", &self.amount)
            .finish_non_exhaustive()
    }
}

/// A journal entry with its state.
#[derive(Clone, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub id: String,
    pub terminal_id: String,
    pub kind: OperationKind,
    pub card_key: String,
    pub card: String,
    /// Present only until the entry is confirmed. Never serialized.
    #[serde(skip)]
    pub card_token: Option<String>,
    pub card_id: Option<String>,
    pub amount: Money,
    pub clerk: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub ref_id: Option<String>,
    pub parent_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub hash: String,
    pub prev_hash: String,
    pub state: EntryState,
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub server_transaction_id: Option<String>,
    pub balance_after: Option<i64>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Failures where Dintero answered but the entry could not complete (see
    /// [`Journal::retry_later`]); offline attempts are not counted here.
    pub failures: i64,
    pub first_failure_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("seq", &self.seq)
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("card", &self.card)
            .field("amount", &self.amount)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Whether the entry was recorded while Dintero could not be reached.
    pub fn recorded_offline(&self) -> bool {
        self.metadata.get("offline").and_then(|v| v.as_bool()) == Some(true)
    }
}

/// Counts for the status bar and `giftpos sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: u64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    pub needs_attention: u64,
}

/// A card's last known balance (for the offline balance view).
#[derive(Debug, Clone, Serialize)]
pub struct CachedCard {
    pub card_id: String,
    pub card: String,
    pub status: String,
    pub available: Option<i64>,
    pub currency: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

/// What `journal verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub entries: u64,
    pub problems: Vec<String>,
}

/// The journal. One per terminal; safe to share between threads.
pub struct Journal {
    conn: Mutex<Connection>,
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
            std::fs::create_dir_all(dir).map_err(|e| JournalError::Io {
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
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(corrupt)?;
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
        conn.pragma_update(None, "wal_autocheckpoint", 4000)
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
            path: path.to_path_buf(),
            terminal_id: terminal_id.to_string(),
            key: Vec::new(),
        };
        j.migrate(version)?;
        j.key = j.terminal_key()?;
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

    /// Appends an entry durably (one fsync'd transaction). Returns it with its sequence
    /// number and hash.
    pub fn append(&self, e: NewEntry, now: DateTime<Utc>) -> Result<Entry, JournalError> {
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let (prev_seq, prev_hash): (i64, String) = tx
            .prepare_cached("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")
            .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(|e| self.err(e))?
            .unwrap_or((0, GENESIS.to_string()));
        let seq = prev_seq + 1;
        let ref_id = self.ref_id_for(e.kind, &e.id);
        let metadata = serde_json::Value::Object(e.metadata.clone()).to_string();
        let created = ts(now);
        let currency = e.amount.currency();
        let content = Content {
            seq,
            id: &e.id,
            terminal_id: &self.terminal_id,
            kind: e.kind.as_str(),
            card_key: &e.card_key,
            card_masked: &e.card_masked,
            amount: e.amount.minor(),
            currency: currency.code(),
            clerk: e.clerk.as_deref(),
            metadata: &metadata,
            ref_id: ref_id.as_deref(),
            parent_id: e.parent_id.as_deref(),
            created_at: &created,
        };
        let hash = content.hash(&prev_hash);
        tx.prepare_cached(
            "INSERT INTO entries(seq, id, terminal_id, kind, card_key, card_masked, card_token,
                amount, currency, clerk, metadata, ref_id, parent_id, created_at, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .and_then(|mut st| {
            st.execute(params![
                seq,
                e.id,
                self.terminal_id,
                e.kind.as_str(),
                e.card_key,
                e.card_masked,
                e.card_token,
                e.amount.minor(),
                currency.code(),
                e.clerk,
                metadata,
                ref_id,
                e.parent_id,
                created,
                prev_hash,
                hash
            ])
        })
        .map_err(|e| self.err(e))?;
        tx.prepare_cached(
            "INSERT INTO entry_state(entry_id, state, card_id, updated_at) VALUES (?1, 'recorded', ?2, ?3)",
        )
        .and_then(|mut st| st.execute(params![e.id, e.card_id, created]))
        .map_err(|e| self.err(e))?;
        tx.prepare_cached(
            "INSERT INTO meta(key, value) VALUES ('head', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
        .and_then(|mut st| st.execute(params![format!("{seq}:{hash}")]))
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Entry {
            seq,
            id: e.id,
            terminal_id: self.terminal_id.clone(),
            kind: e.kind,
            card_key: e.card_key,
            card: e.card_masked,
            card_token: e.card_token,
            card_id: e.card_id,
            amount: e.amount,
            clerk: e.clerk,
            metadata: e.metadata,
            ref_id,
            parent_id: e.parent_id,
            created_at: parse_ts(&created),
            hash,
            prev_hash,
            state: EntryState::Recorded,
            reason: None,
            attempts: 0,
            next_attempt_at: None,
            server_transaction_id: None,
            balance_after: None,
            last_error: None,
            updated_at: parse_ts(&created),
            failures: 0,
            first_failure_at: None,
        })
    }

    const SELECT: &'static str =
        "SELECT e.seq, e.id, e.terminal_id, e.kind, e.card_key, e.card_masked,
        e.card_token, s.card_id, e.amount, e.currency, e.clerk, e.metadata, e.ref_id, e.parent_id,
        e.created_at, e.hash, e.prev_hash, s.state, s.reason, s.attempts, s.next_attempt_at,
        s.server_transaction_id, s.balance_after, s.last_error, s.updated_at, s.failures,
        s.first_failure_at
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
            metadata: serde_json::from_str(&metadata).unwrap_or_default(),
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
            balance_after: r.get(22)?,
            last_error: r.get(23)?,
            updated_at: parse_ts(&r.get::<_, String>(24)?),
            failures: r.get(25)?,
            first_failure_at: r.get::<_, Option<String>>(26)?.map(|s| parse_ts(&s)),
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

    /// Entries in journal order, optionally only from `since` on, at most `limit`.
    pub fn list(
        &self,
        since: Option<DateTime<Utc>>,
        limit: Option<u32>,
    ) -> Result<Vec<Entry>, JournalError> {
        let db = self.db();
        let sql = format!(
            "{} WHERE e.created_at >= ?1 ORDER BY e.seq LIMIT ?2",
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

    fn set_state(
        &self,
        id: &str,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<(), JournalError> {
        let db = self.db();
        let n = db.execute(sql, args).map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(JournalError::NotFound(id.to_string()));
        }
        Ok(())
    }

    /// About to send: counts the attempt (durably, before the request leaves).
    pub fn mark_sent(&self, id: &str, now: DateTime<Utc>) -> Result<(), JournalError> {
        let db = self.db();
        let n = db
            .prepare_cached(
                "UPDATE entry_state SET state = 'sent', attempts = attempts + 1, updated_at = ?2
                 WHERE entry_id = ?1 AND state IN ('recorded', 'sent')",
            )
            .and_then(|mut st| st.execute(params![id, ts(now)]))
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(JournalError::WrongState(id.to_string()));
        }
        Ok(())
    }

    /// The card's available balance after the entry, as read back from Dintero.
    pub fn set_balance_after(&self, id: &str, minor: i64) -> Result<(), JournalError> {
        self.set_state(
            id,
            "UPDATE entry_state SET balance_after = ?2 WHERE entry_id = ?1",
            &[&id, &minor],
        )
    }

    /// The card's Dintero id, once known.
    pub fn set_card_id(&self, id: &str, card_id: &str) -> Result<(), JournalError> {
        self.set_state(
            id,
            "UPDATE entry_state SET card_id = ?2 WHERE entry_id = ?1",
            &[&id, &card_id],
        )
    }

    /// Dintero applied it. The printed token is scrubbed from the entry.
    pub fn confirm(
        &self,
        id: &str,
        server_transaction_id: Option<&str>,
        balance_after: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.close(id, |tx| {
            tx.execute(
                "UPDATE entry_state SET state = 'confirmed', server_transaction_id = ?2,
                    balance_after = ?3, next_attempt_at = NULL, last_error = NULL, updated_at = ?4
                 WHERE entry_id = ?1 AND state IN ('recorded', 'sent')",
                params![id, server_transaction_id, balance_after, ts(now)],
            )
        })
    }

    /// Dintero refused it; nothing was applied. The token is scrubbed too.
    pub fn refuse(&self, id: &str, reason: &str, now: DateTime<Utc>) -> Result<(), JournalError> {
        self.finish(id, "refused", reason, now)
    }

    /// A person must look (a conflict, or money at risk).
    pub fn needs_attention(
        &self,
        id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.finish(id, "needs_attention", reason, now)
    }

    fn finish(
        &self,
        id: &str,
        state: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.close(id, |tx| {
            tx.execute(
                "UPDATE entry_state SET state = ?2, reason = ?3, next_attempt_at = NULL, updated_at = ?4
                 WHERE entry_id = ?1 AND state IN ('recorded', 'sent')",
                params![id, state, reason, ts(now)],
            )
        })
    }

    /// Moves an open entry to a final state (`update` must touch only an open entry and
    /// say how many rows it changed) and scrubs its printed token, in one transaction.
    fn close(
        &self,
        id: &str,
        update: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<usize>,
    ) -> Result<(), JournalError> {
        let mut db = self.db();
        let tx = db.transaction().map_err(|e| self.err(e))?;
        if update(&tx).map_err(|e| self.err(e))? == 0 {
            return Err(JournalError::WrongState(id.to_string()));
        }
        tx.execute(
            "UPDATE entries SET card_token = NULL WHERE id = ?1",
            params![id],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Not applied yet (or not known to be): try again at `at`.
    pub fn retry_later(
        &self,
        id: &str,
        at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.retry(id, at, error, now, false)
    }

    /// Like [`Journal::retry_later`], for a failure where Dintero answered (unreadable,
    /// 5xx, 429): also counted, and the first such failure's time kept.
    pub fn retry_after_failure(
        &self,
        id: &str,
        at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.retry(id, at, error, now, true)
    }

    fn retry(
        &self,
        id: &str,
        at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
        counted: bool,
    ) -> Result<(), JournalError> {
        self.set_state(
            id,
            "UPDATE entry_state SET next_attempt_at = ?2, last_error = ?3, updated_at = ?4,
                 failures = failures + ?5,
                 first_failure_at = CASE WHEN ?5 = 1 THEN COALESCE(first_failure_at, ?4)
                                         ELSE first_failure_at END
             WHERE entry_id = ?1",
            &[&id, &ts(at), &error, &ts(now), &i64::from(counted)],
        )
    }

    /// The network is back: every waiting entry may go now.
    pub fn clear_waits(&self) -> Result<(), JournalError> {
        let db = self.db();
        db.execute(
            "UPDATE entry_state SET next_attempt_at = NULL WHERE state IN ('recorded', 'sent')",
            [],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A manager resolved an entry that needed attention.
    pub fn resolve_attention(
        &self,
        id: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        let db = self.db();
        let n = db
            .execute(
                "UPDATE entry_state SET state = 'refused', reason = reason || ' — resolved: ' || ?2,
                    updated_at = ?3
                 WHERE entry_id = ?1 AND state = 'needs_attention'",
                params![id, note, ts(now)],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(JournalError::WrongState(id.to_string()));
        }
        Ok(())
    }

    /// Pending and needs-attention counts, and the oldest pending entry's time.
    pub fn counts(&self) -> Result<Counts, JournalError> {
        let db = self.db();
        db.query_row(
            "SELECT
                SUM(CASE WHEN s.state IN ('recorded','sent') THEN 1 ELSE 0 END),
                MIN(CASE WHEN s.state IN ('recorded','sent') THEN e.created_at END),
                SUM(CASE WHEN s.state = 'needs_attention' THEN 1 ELSE 0 END)
             FROM entry_state s JOIN entries e ON e.id = s.entry_id
             WHERE s.state IN ('recorded','sent','needs_attention')",
            [],
            |r| {
                Ok(Counts {
                    pending: r.get::<_, Option<i64>>(0)?.unwrap_or(0) as u64,
                    oldest_pending_at: r.get::<_, Option<String>>(1)?.map(|s| parse_ts(&s)),
                    needs_attention: r.get::<_, Option<i64>>(2)?.unwrap_or(0) as u64,
                })
            },
        )
        .map_err(|e| self.err(e))
    }

    /// Remembers a card's balance as last seen.
    pub fn cache_card(&self, card_key: &str, c: &CachedCard) -> Result<(), JournalError> {
        let db = self.db();
        db.execute(
            "INSERT INTO card_cache(card_key, card_id, card_masked, status, available, currency, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(card_key) DO UPDATE SET card_id = excluded.card_id,
                card_masked = excluded.card_masked, status = excluded.status,
                available = excluded.available, currency = excluded.currency,
                fetched_at = excluded.fetched_at",
            params![card_key, c.card_id, c.card, c.status, c.available, c.currency, ts(c.fetched_at)],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A card's last known balance.
    pub fn cached_card(&self, card_key: &str) -> Result<Option<CachedCard>, JournalError> {
        let db = self.db();
        db.query_row(
            "SELECT card_id, card_masked, status, available, currency, fetched_at
             FROM card_cache WHERE card_key = ?1",
            params![card_key],
            |r| {
                Ok(CachedCard {
                    card_id: r.get(0)?,
                    card: r.get(1)?,
                    status: r.get(2)?,
                    available: r.get(3)?,
                    currency: r.get(4)?,
                    fetched_at: parse_ts(&r.get::<_, String>(5)?),
                })
            },
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Sum of offline redemptions not yet confirmed, in minor units (for the offline cap).
    pub fn outstanding_offline_redemptions(&self) -> Result<i64, JournalError> {
        let db = self.db();
        db.query_row(
            "SELECT COALESCE(SUM(e.amount), 0) FROM entries e JOIN entry_state s ON s.entry_id = e.id
             WHERE e.kind = 'redeem' AND s.state IN ('recorded', 'sent')
               AND json_extract(e.metadata, '$.offline') = 1",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))
    }

    /// Checks the hash chain: finds an edited, removed or reordered entry.
    pub fn verify(&self) -> Result<VerifyReport, JournalError> {
        let db = self.db();
        let mut st = db
            .prepare(
                "SELECT seq, id, terminal_id, kind, card_key, card_masked, amount, currency, clerk,
                    metadata, ref_id, parent_id, created_at, prev_hash, hash
                 FROM entries ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        let mut problems = Vec::new();
        let mut expected_prev = GENESIS.to_string();
        let mut expected_seq = 1;
        let mut count = 0u64;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            count += 1;
            let get_s = |i: usize| r.get::<_, String>(i).unwrap_or_default();
            let get_o = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
            let seq: i64 = r.get(0).unwrap_or(-1);
            let (id, terminal, kind, key, masked) =
                (get_s(1), get_s(2), get_s(3), get_s(4), get_s(5));
            let amount: i64 = r.get(6).unwrap_or(-1);
            let (currency, clerk, metadata) = (get_s(7), get_o(8), get_s(9));
            let (ref_id, parent, created) = (get_o(10), get_o(11), get_s(12));
            let (prev, hash) = (get_s(13), get_s(14));
            if seq != expected_seq {
                problems.push(format!(
                    "entry {id}: sequence {seq} where {expected_seq} was expected (an entry was removed or reordered)"
                ));
            }
            if prev != expected_prev {
                problems.push(format!(
                    "entry {id} (seq {seq}): does not follow the entry before it (removed or reordered)"
                ));
            }
            let content = Content {
                seq,
                id: &id,
                terminal_id: &terminal,
                kind: &kind,
                card_key: &key,
                card_masked: &masked,
                amount,
                currency: &currency,
                clerk: clerk.as_deref(),
                metadata: &metadata,
                ref_id: ref_id.as_deref(),
                parent_id: parent.as_deref(),
                created_at: &created,
            };
            if content.hash(&prev) != hash {
                problems.push(format!("entry {id} (seq {seq}): its content was changed"));
            }
            expected_prev = hash;
            expected_seq = seq + 1;
        }
        drop(rows);
        drop(st);
        let head: Option<String> = db
            .query_row("SELECT value FROM meta WHERE key = 'head'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let last = format!("{}:{}", expected_seq - 1, expected_prev);
        match head {
            Some(h) if h != last => problems.push(format!(
                "the journal's head says {h} but its last entry is {last} (entries at the end were removed)"
            )),
            None if count > 0 => problems.push("the journal's head record is missing".into()),
            _ => {}
        }
        Ok(VerifyReport {
            ok: problems.is_empty(),
            entries: count,
            problems,
        })
    }
}

/// The immutable content an entry's hash covers.
struct Content<'a> {
    seq: i64,
    id: &'a str,
    terminal_id: &'a str,
    kind: &'a str,
    card_key: &'a str,
    card_masked: &'a str,
    amount: i64,
    currency: &'a str,
    clerk: Option<&'a str>,
    metadata: &'a str,
    ref_id: Option<&'a str>,
    parent_id: Option<&'a str>,
    created_at: &'a str,
}

impl Content<'_> {
    fn hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        field(prev);
        field(&self.seq.to_string());
        field(self.id);
        field(self.terminal_id);
        field(self.kind);
        field(self.card_key);
        field(self.card_masked);
        field(&self.amount.to_string());
        field(self.currency);
        field(self.clerk.unwrap_or("\u{0}"));
        field(self.metadata);
        field(self.ref_id.unwrap_or("\u{0}"));
        field(self.parent_id.unwrap_or("\u{0}"));
        field(self.created_at);
        hex(&h.finalize())
    }
}

fn parse_kind(s: &str) -> OperationKind {
    OperationKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(OperationKind::Balance)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
