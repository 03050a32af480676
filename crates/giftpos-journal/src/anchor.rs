//! Anchors: the chain's head (`seq:hash`) kept outside `journal.db`, where whoever can
//! write the file cannot rewrite it — journald (which IT forwards), the printed
//! Z-report. The hash chain alone finds an accident; an attacker with write access to
//! the file edits an entry and recomputes every hash after it. An anchor taken before
//! the edit then disagrees with the rewritten chain, and [`Journal::check_anchors`]
//! names where.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::Journal;
use crate::archive::Line;
use crate::types::JournalError;

/// One anchor: the hash the chain had at `seq`, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    /// Where it was read (journald with its time, a file and line).
    pub source: String,
}

impl Anchor {
    /// `seq:hash` as written (`GIFTPOS_JOURNAL_HEAD`, the Z-report); `None` otherwise.
    pub fn parse(text: &str, source: impl Into<String>) -> Option<Anchor> {
        let (seq, hash) = text.trim().split_once(':')?;
        let seq: i64 = seq.trim().parse().ok().filter(|s| *s >= 0)?;
        let hash = hash.trim().to_ascii_lowercase();
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Anchor {
            seq,
            hash,
            source: source.into(),
        })
    }

    /// As written.
    pub fn text(seq: i64, hash: &str) -> String {
        format!("{seq}:{hash}")
    }
}

/// What comparing the chain with its anchors found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnchorReport {
    /// Anchors compared.
    pub checked: u64,
    /// The last sequence number at which the chain agrees with an anchor (0: none).
    pub agrees_to: i64,
    pub problems: Vec<String>,
}

impl Journal {
    /// The chain's head now: the last entry's sequence number and hash (live, or the
    /// last archived), or `None` for an empty journal.
    pub fn head_anchor(&self) -> Result<Option<(i64, String)>, JournalError> {
        // An anchor names only what is on the disk: an entry appended to be sent (not
        // yet synced) must not be anchored and then lost to a power cut.
        self.make_durable()?;
        let mut db = self.db();
        let tx = db.transaction().map_err(|e| self.err(e))?;
        let (seq, hash) = self.head(&tx)?;
        Ok((seq > 0).then_some((seq, hash)))
    }

    /// Compares the chain (archives and the live journal) with `anchors`: two anchors
    /// that disagree with each other, an anchored entry whose hash is not what was
    /// anchored (the chain was rewritten at or before it), or an anchored entry that is
    /// gone (the end was cut off) are each named, with the range the change lies in.
    pub fn check_anchors(&self, anchors: &[Anchor]) -> Result<AnchorReport, JournalError> {
        let mut report = AnchorReport::default();
        let mut by_seq: BTreeMap<i64, &Anchor> = BTreeMap::new();
        for a in anchors {
            match by_seq.get(&a.seq) {
                Some(b) if b.hash != a.hash => report.problems.push(format!(
                    "two anchors for seq {} disagree: {} ({}) and {} ({}): one of them was forged",
                    a.seq,
                    short(&b.hash),
                    b.source,
                    short(&a.hash),
                    a.source
                )),
                Some(_) => {}
                None => {
                    by_seq.insert(a.seq, a);
                }
            }
        }
        let wanted: BTreeSet<i64> = by_seq.keys().copied().collect();
        let recorded = self.hashes_at(&wanted)?;
        let head = self.head_anchor()?.map_or(0, |(s, _)| s);
        let mut agrees_to = 0;
        for (seq, a) in &by_seq {
            report.checked += 1;
            match recorded.get(seq) {
                Some(h) if *h == a.hash => agrees_to = *seq,
                Some(h) => {
                    report.problems.push(format!(
                        "the chain disagrees with the anchor for seq {seq} ({}): it has {} where {} was anchored; an entry from seq {} to {seq} was changed, removed or inserted, and the hashes after it recomputed",
                        a.source,
                        short(h),
                        short(&a.hash),
                        agrees_to + 1
                    ));
                    break;
                }
                None => {
                    report.problems.push(format!(
                        "seq {seq} was anchored ({}) but the journal ends at seq {head}: entries at the end were removed",
                        a.source
                    ));
                    break;
                }
            }
        }
        report.agrees_to = agrees_to;
        Ok(report)
    }

    /// The recorded hashes at `seqs`, from the archives and the live journal.
    fn hashes_at(&self, seqs: &BTreeSet<i64>) -> Result<BTreeMap<i64, String>, JournalError> {
        let mut out = BTreeMap::new();
        if seqs.is_empty() {
            return Ok(out);
        }
        let db = self.db();
        for a in self.listed_archives(&db)? {
            if seqs.range(a.first_seq..=a.last_seq).next().is_none() {
                continue;
            }
            let Ok(f) = std::fs::File::open(&a.file) else {
                continue;
            };
            let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(f));
            for l in reader.lines().skip(1).map_while(Result::ok) {
                if let Ok(line) = serde_json::from_str::<Line>(&l)
                    && seqs.contains(&line.seq)
                {
                    out.insert(line.seq, line.hash);
                }
            }
        }
        let mut st = db
            .prepare_cached("SELECT hash FROM entries WHERE seq = ?1")
            .map_err(|e| self.err(e))?;
        for s in seqs {
            if out.contains_key(s) {
                continue;
            }
            if let Some(h) = st
                .query_row(params![s], |r| r.get::<_, String>(0))
                .optional()
                .map_err(|e| self.err(e))?
            {
                out.insert(*s, h);
            }
        }
        Ok(out)
    }
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}
