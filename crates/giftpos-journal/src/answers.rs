//! Dintero's answers that could not be read, remembered per operation until a readable
//! one clears them (`unreadable_answers`): what the doctor and the metrics name.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Journal, ts};
use crate::types::JournalError;

/// An operation whose last answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnreadableAnswer {
    /// The client's operation name, e.g. `wallets.info`.
    pub op: String,
    /// What could not be read: the field by its path, or that it is not JSON.
    pub what: String,
    pub at: DateTime<Utc>,
}

impl Journal {
    /// Remembers that `op`'s answer could not be read (`what`), or forgets it once one
    /// could (`None`). Only a change is written, and not synced (a diagnosis, noted
    /// again at the next unreadable answer).
    pub fn note_answer(
        &self,
        op: &str,
        what: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), JournalError> {
        self.lazily(|db| match what {
            Some(w) => db.execute(
                "INSERT INTO unreadable_answers(op, what, at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(op) DO UPDATE SET what = excluded.what, at = excluded.at",
                params![op, w, ts(now)],
            ),
            None => db.execute("DELETE FROM unreadable_answers WHERE op = ?1", params![op]),
        })
        .map(|_| ())
    }

    /// The operations whose last answer could not be read, by operation.
    pub fn unreadable_answers(&self) -> Result<Vec<UnreadableAnswer>, JournalError> {
        let db = self.db();
        let mut st = db
            .prepare_cached("SELECT op, what, at FROM unreadable_answers ORDER BY op")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let at: String = r.get(2)?;
                Ok(UnreadableAnswer {
                    op: r.get(0)?,
                    what: r.get(1)?,
                    at: DateTime::parse_from_rfc3339(&at)
                        .map(|d| d.with_timezone(&Utc))
                        .unwrap_or_default(),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
