//! Appending: an entry inserted with the chain's head moved, in one transaction —
//! synced (`append`), made durable by the `mark_sent` that follows (`append_to_send`), or
//! many at once (`append_batch`).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Journal, parse_ts, ts};
use crate::GENESIS;
use crate::hash::Content;
use crate::types::{Entry, EntryState, JournalError, NewEntry};

/// What an insert made: sequence number, hash, `ref_id`, creation time, previous hash.
type Inserted = (i64, String, Option<String>, String, String);

impl Journal {
    /// Appends an entry durably (one fsync'd transaction). Returns it with its sequence
    /// number and hash.
    pub fn append(&self, e: NewEntry, now: DateTime<Utc>) -> Result<Entry, JournalError> {
        self.not_failed()?;
        let row = self.insert_chained(&mut self.db(), &e, now)?;
        Ok(appended(e, row, &self.terminal_id))
    }

    /// Appends an entry that is sent at once, without a sync of its own: the
    /// [`Journal::mark_sent`] that must come before its request leaves is a synced commit
    /// after it, and makes both durable with one fsync. An entry that is *not* sent at
    /// once (saved to sync later, which the clerk is told) must use [`Journal::append`].
    pub fn append_to_send(&self, e: NewEntry, now: DateTime<Utc>) -> Result<Entry, JournalError> {
        let row = self.lazily(|db| Ok(self.insert_chained(db, &e, now)))??;
        Ok(appended(e, row, &self.terminal_id))
    }

    /// One entry inserted and the chain's head moved, in one transaction.
    fn insert_chained(
        &self,
        db: &mut Connection,
        e: &NewEntry,
        now: DateTime<Utc>,
    ) -> Result<Inserted, JournalError> {
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let head = self.head(&tx)?;
        let (seq, hash, ref_id, created, prev_hash) = self.insert(&tx, head, e, now)?;
        self.set_head(&tx, seq, &hash)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok((seq, hash, ref_id, created, prev_hash))
    }

    /// Appends many entries in one transaction (one fsync), chained as one by one:
    /// imports and the scale benchmark. Returns how many.
    pub fn append_batch(
        &self,
        entries: Vec<(NewEntry, DateTime<Utc>)>,
    ) -> Result<usize, JournalError> {
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let mut head = self.head(&tx)?;
        let n = entries.len();
        for (e, at) in &entries {
            let (seq, hash, ..) = self.insert(&tx, head.clone(), e, *at)?;
            head = (seq, hash);
        }
        self.set_head(&tx, head.0, &head.1)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// The chain's head: the last sequence number and hash (the last archive's when
    /// every entry was archived).
    pub(crate) fn head(
        &self,
        tx: &rusqlite::Transaction<'_>,
    ) -> Result<(i64, String), JournalError> {
        let live = tx
            .prepare_cached("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")
            .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(|e| self.err(e))?;
        if let Some(h) = live {
            return Ok(h);
        }
        Ok(tx
            .prepare_cached(
                "SELECT last_seq, last_hash FROM archives ORDER BY last_seq DESC LIMIT 1",
            )
            .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(|e| self.err(e))?
            .unwrap_or((0, GENESIS.to_string())))
    }

    fn set_head(
        &self,
        tx: &rusqlite::Transaction<'_>,
        seq: i64,
        hash: &str,
    ) -> Result<(), JournalError> {
        tx.prepare_cached(
            "INSERT INTO meta(key, value) VALUES ('head', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
        .and_then(|mut st| st.execute(params![format!("{seq}:{hash}")]))
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Inserts one entry after `head`; returns its sequence, hash, ref_id, time and the
    /// hash before it.
    #[allow(clippy::type_complexity)]
    fn insert(
        &self,
        tx: &rusqlite::Transaction<'_>,
        (prev_seq, prev_hash): (i64, String),
        e: &NewEntry,
        now: DateTime<Utc>,
    ) -> Result<(i64, String, Option<String>, String, String), JournalError> {
        let seq = prev_seq + 1;
        let ref_id = self.ref_id_for(e.kind, &e.id);
        let metadata = e.metadata.to_stored();
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
        Ok((seq, hash, ref_id, created, prev_hash))
    }
}

fn appended(
    e: NewEntry,
    (seq, hash, ref_id, created, prev_hash): Inserted,
    terminal_id: &str,
) -> Entry {
    Entry {
        seq,
        id: e.id,
        terminal_id: terminal_id.to_string(),
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
        gift_card_part: None,
        paid_with: None,
        accepted_request: None,
    }
}
