//! `verify`: the hash chain (archives and the live journal as one) checked for an
//! edited, removed or reordered entry. What a hash covers is `hash.rs`.

use rusqlite::OptionalExtension;

use super::{GENESIS, Journal};
use crate::hash::Content;
use crate::types::{JournalError, VerifyReport};

impl Journal {
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
        // The file itself first (open skips this for a large journal).
        let check: String = db
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if check != "ok" {
            problems.push(format!("the database file is damaged: {check}"));
        }
        let mut expected_prev = GENESIS.to_string();
        let mut expected_seq = 1;
        let mut count = 0u64;
        // The archives first, as one chain with the live journal.
        for a in self.listed_archives(&db)? {
            if a.first_seq != expected_seq || a.first_prev_hash != expected_prev {
                problems.push(format!(
                    "archive {} does not follow what comes before it",
                    a.file.display()
                ));
            }
            count += crate::archive::verify_archive(&a, &mut problems);
            expected_prev = a.last_hash.clone();
            expected_seq = a.last_seq + 1;
        }
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
            anchors_checked: 0,
            anchor_sources: Vec::new(),
        })
    }
}
