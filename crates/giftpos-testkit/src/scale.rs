//! A journal as a till has it after years: `n` entries with a valid hash chain, about
//! 200 a day up to now (the last day is today), a realistic mix (sales, top-ups,
//! reservations with their captures, voids), almost all confirmed, a few still waiting
//! to sync, a few needing a manager, a few refused. Shared by the scale test and the
//! scale benchmark.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use giftpos_core::{Currency, Money, OperationKind};
use giftpos_journal::{EntryMeta, Journal, NewEntry};

/// What was made: a card with entries, and how many are open.
#[derive(Debug)]
pub struct Synth {
    pub card_key: String,
    pub card_entries: usize,
    pub pending: u64,
    pub needs_attention: u64,
    pub today: usize,
}

pub const PENDING: u64 = 20;
pub const ATTENTION: u64 = 3;
const PER_DAY: i64 = 200;

/// Writes `n` entries into the journal at `path` (created), ending at `now`.
pub fn synthesize(path: &Path, terminal: &str, n: usize, now: DateTime<Utc>) -> Synth {
    let journal = Journal::open(path, terminal).expect("journal");
    let nok = Currency::parse("NOK").unwrap();
    let step = Duration::seconds(86_400 / PER_DAY);
    let start = now - step * i32::try_from(n).unwrap();
    let cards = (n / 8).max(1);
    let mut batch = Vec::with_capacity(10_000);
    let mut last_reserve: Option<String> = None;
    let mut today = 0;
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let token = |c: usize| format!("9578{c:012}");
    for i in 0..n {
        let at = start + step * i32::try_from(i + 1).unwrap();
        if at >= midnight {
            today += 1;
        }
        let card = i % cards;
        let tok = token(card);
        let (kind, parent, meta) = match i % 20 {
            0 => (
                OperationKind::Activate,
                None,
                EntryMeta {
                    dintero_transaction_id: Some(format!("T12345678.pay-{i}")),
                    ..EntryMeta::default()
                },
            ),
            1 | 2 => (OperationKind::TopUp, None, EntryMeta::default()),
            // A reservation, then the sale that captures it.
            r if r % 2 == 1 && r < 19 => (OperationKind::Redeem, None, EntryMeta::default()),
            r if r < 19 => (
                OperationKind::Capture,
                last_reserve.take(),
                EntryMeta::default(),
            ),
            _ => (
                OperationKind::Refund,
                None,
                EntryMeta {
                    approved_by: Some("9".into()),
                    ..EntryMeta::default()
                },
            ),
        };
        let id = format!("{i:08x}-0000-4000-8000-000000000000");
        if kind == OperationKind::Redeem {
            last_reserve = Some(id.clone());
        }
        batch.push((
            NewEntry {
                id,
                kind,
                card_token: Some(tok.clone()),
                card_masked: format!("************{}", &tok[12..]),
                card_id: Some(format!("card-{card}")),
                card_key: journal.card_key(&tok),
                amount: Money::from_minor(1_000 + (i % 50) as i64 * 100, nok).unwrap(),
                clerk: Some("1".into()),
                metadata: meta,
                parent_id: parent,
            },
            at,
        ));
        if batch.len() == 10_000 {
            journal
                .append_batch(std::mem::take(&mut batch))
                .expect("append");
        }
    }
    journal.append_batch(batch).expect("append");
    drop(journal);
    // States are not chained: set them as sync would have left them.
    let db = rusqlite::Connection::open(path).unwrap();
    let total = n as i64;
    db.execute_batch(&format!(
        "BEGIN;
         UPDATE entry_state SET state = 'confirmed', attempts = 1
           WHERE entry_id IN (SELECT id FROM entries WHERE seq <= {confirmed});
         UPDATE entries SET card_token = NULL WHERE seq <= {confirmed};
         UPDATE entry_state SET state = 'refused', reason = 'insufficient funds'
           WHERE entry_id IN (SELECT id FROM entries WHERE seq % 997 = 0 AND seq <= {confirmed});
         UPDATE entry_state SET state = 'needs_attention', reason = 'conflict'
           WHERE entry_id IN (SELECT id FROM entries WHERE seq > {confirmed} AND seq <= {attention});
         COMMIT;",
        confirmed = total - PENDING as i64 - ATTENTION as i64,
        attention = total - PENDING as i64,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let card_key = {
        let j = Journal::open(path, terminal).unwrap();
        j.card_key(&token(1))
    };
    let card_entries = (0..n).filter(|i| i % cards == 1).count();
    Synth {
        card_key,
        card_entries,
        pending: PENDING.min(n as u64),
        needs_attention: ATTENTION,
        today,
    }
}
