//! Where an entry stands while it syncs (`entry_state`, beside the immutable content):
//! sent, confirmed, refused, needing attention, waiting to retry; the counts for the
//! status bar; the card cache for offline balances.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Journal, parse_ts, ts};
use crate::types::{CachedCard, Counts, JournalError};

impl Journal {
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

    /// About to send: counts the attempt (durably, before the request leaves; with the
    /// entry itself when it was appended with `append_to_send`).
    pub fn mark_sent(&self, id: &str, now: DateTime<Utc>) -> Result<(), JournalError> {
        let n = self.durably(|db| {
            db.prepare_cached(
                "UPDATE entry_state SET state = 'sent', attempts = attempts + 1, updated_at = ?2
                 WHERE entry_id = ?1 AND state IN ('recorded', 'sent')",
            )
            .and_then(|mut st| st.execute(params![id, ts(now)]))
        })?;
        if n == 0 {
            return Err(JournalError::WrongState(id.to_string()));
        }
        Ok(())
    }

    /// The card's available balance after the entry, as read back from Dintero. Not
    /// synced: a receipt's balance line, read again from Dintero if a power cut takes it.
    pub fn set_balance_after(&self, id: &str, minor: i64) -> Result<(), JournalError> {
        self.set_lazily(
            id,
            "UPDATE entry_state SET balance_after = ?2 WHERE entry_id = ?1",
            &minor,
        )
    }

    /// What a gift card paid of a Checkout payment (split tender), and how the rest was
    /// paid (Dintero's payment product type), as Dintero's transaction says.
    pub fn set_split(
        &self,
        id: &str,
        gift_card_minor: i64,
        paid_with: Option<&str>,
    ) -> Result<(), JournalError> {
        self.set_state(
            id,
            "UPDATE entry_state SET gift_card_part = ?2, paid_with = ?3 WHERE entry_id = ?1",
            &[&id, &gift_card_minor, &paid_with],
        )
    }

    /// Dintero accepted the entry's capture or refund (202) with this
    /// `event-request-id`.
    pub fn set_accepted_request(&self, id: &str, request_id: &str) -> Result<(), JournalError> {
        self.set_state(
            id,
            "UPDATE entry_state SET accepted_request = ?2 WHERE entry_id = ?1",
            &[&id, &request_id],
        )
    }

    /// The card's Dintero id, once known. Not synced by itself: it is read while an
    /// entry is reconciled, and the entry's own outcome (a synced commit) follows.
    pub fn set_card_id(&self, id: &str, card_id: &str) -> Result<(), JournalError> {
        self.set_lazily(
            id,
            "UPDATE entry_state SET card_id = ?2 WHERE entry_id = ?1",
            &card_id,
        )
    }

    /// One unsynced update of an entry's state (`?1` its id, `?2` the value).
    fn set_lazily(
        &self,
        id: &str,
        sql: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<(), JournalError> {
        if self.lazily(|db| db.execute(sql, params![id, value]))? == 0 {
            return Err(JournalError::NotFound(id.to_string()));
        }
        Ok(())
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

    /// Withdrawn before anything was sent (the clerk was told it did not happen):
    /// closed as refused with `reason` — only while no attempt was ever made
    /// (`WrongState` once one was: then Dintero may have it, and sync decides).
    pub fn withdraw(&self, id: &str, reason: &str, now: DateTime<Utc>) -> Result<(), JournalError> {
        self.close(id, |tx| {
            tx.execute(
                "UPDATE entry_state SET state = 'refused', reason = ?2, next_attempt_at = NULL,
                    updated_at = ?3
                 WHERE entry_id = ?1 AND state = 'recorded' AND attempts = 0",
                params![id, reason, ts(now)],
            )
        })
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
        // Durable (group commit): answers arriving together share one fsync.
        let changed = self.durably(|db| {
            let tx = db.transaction()?;
            if update(&tx)? == 0 {
                return Ok(false);
            }
            tx.execute(
                "UPDATE entries SET card_token = NULL WHERE id = ?1",
                params![id],
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        if !changed {
            return Err(JournalError::WrongState(id.to_string()));
        }
        Ok(())
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

    /// Remembers a card's balance as last seen. Not synced: a cache (a power cut may
    /// take its last update; the balance shown offline says how old it is).
    pub fn cache_card(&self, card_key: &str, c: &CachedCard) -> Result<(), JournalError> {
        self.lazily(|db| db.execute(
            "INSERT INTO card_cache(card_key, card_id, card_masked, status, available, currency, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(card_key) DO UPDATE SET card_id = excluded.card_id,
                card_masked = excluded.card_masked, status = excluded.status,
                available = excluded.available, currency = excluded.currency,
                fetched_at = excluded.fetched_at",
            params![card_key, c.card_id, c.card, c.status, c.available, c.currency, ts(c.fetched_at)],
        ))?;
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
}
