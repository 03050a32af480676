//! The journal on a real SQLite file: durability, states, token scrubbing, tamper
//! evidence, a corrupt file, a full disk.

use chrono::{TimeZone, Utc};
use giftpos_core::{Currency, Money, OperationKind};
use giftpos_journal::{EntryState, Journal, JournalError, NewEntry};
use rusqlite::Connection;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
}

fn entry(j: &Journal, id: &str, kind: OperationKind, token: &str, amount: i64) -> NewEntry {
    let metadata = giftpos_journal::EntryMeta {
        dintero_transaction_id: Some("T1.pay".into()),
        ..Default::default()
    };
    NewEntry {
        id: id.into(),
        kind,
        card_token: Some(token.into()),
        card_masked: format!("************{}", &token[12..]),
        card_id: None,
        card_key: j.card_key(token),
        amount: Money::from_minor(amount, Currency::parse("NOK").unwrap()).unwrap(),
        clerk: Some("clerk-7".into()),
        metadata,
        parent_id: None,
    }
}

fn journal(dir: &tempfile::TempDir) -> Journal {
    Journal::open(&dir.path().join("journal.db"), "till-1").unwrap()
}

#[test]
fn appends_are_durable_ordered_and_chained() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let a = j
        .append(
            entry(&j, "a", OperationKind::Activate, "9578000000001001", 50_000),
            now(),
        )
        .unwrap();
    let b = j
        .append(
            entry(&j, "b", OperationKind::TopUp, "9578000000001001", 2_000),
            now(),
        )
        .unwrap();
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(b.prev_hash, a.hash);
    assert_eq!(a.ref_id, None, "activation has no ref_id");
    assert_eq!(b.ref_id.as_deref(), Some("till-1:b"));
    assert_eq!(a.state, EntryState::Recorded);
    assert_eq!(a.card_key, b.card_key);
    drop(j);
    let j = journal(&dir);
    let all = j.list(None, None).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].card_token.as_deref(), Some("9578000000001001"));
    assert!(j.verify().unwrap().ok);
    let c = j
        .append(
            entry(&j, "c", OperationKind::TopUp, "9578000000001002", 1),
            now(),
        )
        .unwrap();
    assert_eq!(c.seq, 3);
    assert_ne!(c.card_key, a.card_key);
}

#[test]
fn states_move_forward_and_confirmation_scrubs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    j.append(
        entry(&j, "a", OperationKind::Activate, "9578000000001001", 50_000),
        now(),
    )
    .unwrap();
    j.append(
        entry(&j, "r", OperationKind::Redeem, "9578000000001002", 100),
        now(),
    )
    .unwrap();
    j.mark_sent("a", now()).unwrap();
    j.mark_sent("a", now()).unwrap();
    j.set_card_id("a", "card-1").unwrap();
    let counts = j.counts().unwrap();
    assert_eq!((counts.pending, counts.needs_attention), (2, 0));
    j.confirm("a", None, Some(50_000), now()).unwrap();
    let a = j.get("a").unwrap().unwrap();
    assert_eq!(
        (a.state, a.attempts, a.balance_after.map(|m| m.minor())),
        (EntryState::Confirmed, 2, Some(50_000))
    );
    assert_eq!(a.card_token, None, "the token is gone once confirmed");
    assert_eq!(a.card_id.as_deref(), Some("card-1"));
    assert!(matches!(
        j.confirm("a", None, None, now()),
        Err(JournalError::WrongState(_))
    ));
    j.needs_attention(
        "r",
        "refused after sync: insufficient funds (NOK 1.00 at risk)",
        now(),
    )
    .unwrap();
    let r = j.get("r").unwrap().unwrap();
    assert_eq!(r.state, EntryState::NeedsAttention);
    assert_eq!(r.card_token, None);
    assert_eq!(j.counts().unwrap().needs_attention, 1);
    // Nothing in the file still holds the full tokens.
    drop(j);
    // Old page versions live in the WAL until a checkpoint; after it, none remain.
    let conn = Connection::open(dir.path().join("journal.db")).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    let raw = std::fs::read(dir.path().join("journal.db")).unwrap();
    assert!(!contains(&raw, b"9578000000001001") && !contains(&raw, b"9578000000001002"));
}

#[test]
fn only_what_was_never_sent_can_be_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    for id in ["never", "sent"] {
        j.append(
            entry(&j, id, OperationKind::Redeem, "9578000000001001", 100),
            now(),
        )
        .unwrap();
    }
    j.mark_sent("sent", now()).unwrap();
    j.withdraw("never", "an earlier entry needs attention", now())
        .unwrap();
    let never = j.get("never").unwrap().unwrap();
    assert_eq!(never.state, EntryState::Refused);
    assert_eq!(never.card_token, None);
    // Once sent, Dintero may have it: only sync may close it.
    assert!(matches!(
        j.withdraw("sent", "too late", now()),
        Err(JournalError::WrongState(_))
    ));
    assert_eq!(j.get("sent").unwrap().unwrap().state, EntryState::Sent);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn tampered(edit: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
        j.append(
            entry(
                &j,
                id,
                OperationKind::TopUp,
                "9578000000001001",
                100 + i as i64,
            ),
            now(),
        )
        .unwrap();
    }
    assert!(j.verify().unwrap().ok);
    drop(j);
    let conn = Connection::open(dir.path().join("journal.db")).unwrap();
    conn.execute_batch(edit).unwrap();
    drop(conn);
    let report = journal(&dir).verify().unwrap();
    assert!(!report.ok, "{edit} went unnoticed");
    report.problems
}

#[test]
fn verify_finds_edited_removed_and_reordered_entries() {
    let p = tampered("UPDATE entries SET amount = 99999 WHERE id = 'b'");
    assert!(
        p.iter()
            .any(|m| m.contains("entry b") && m.contains("changed")),
        "{p:?}"
    );
    let p = tampered(
        "DELETE FROM entry_state WHERE entry_id = 'b'; DELETE FROM entries WHERE id = 'b'",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("entry c") && m.contains("removed")),
        "{p:?}"
    );
    let p = tampered(
        "DELETE FROM entry_state WHERE entry_id = 'd'; DELETE FROM entries WHERE id = 'd'",
    );
    assert!(p.iter().any(|m| m.contains("head")), "{p:?}");
    let p = tampered(
        "UPDATE entries SET seq = 100 WHERE id = 'b'; UPDATE entries SET seq = 2 WHERE id = 'c';
         UPDATE entries SET seq = 3 WHERE id = 'b';",
    );
    assert!(!p.is_empty());
}

#[test]
fn a_corrupt_journal_is_refused_by_name_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let garbage = b"this is not an SQLite database, it is a till receipt".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    let err = Journal::open(&path, "till-1").unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("journal.db"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "not overwritten or repaired"
    );
}

#[test]
fn a_full_disk_refuses_the_append_and_keeps_what_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    j.append(
        entry(&j, "kept", OperationKind::TopUp, "9578000000001001", 100),
        now(),
    )
    .unwrap();
    j.set_size_limit(1).unwrap();
    let mut last = Ok(());
    for i in 0..200 {
        if let Err(e) = j.append(
            entry(
                &j,
                &format!("n{i}"),
                OperationKind::TopUp,
                "9578000000001001",
                1,
            ),
            now(),
        ) {
            last = Err(e);
            break;
        }
    }
    let err = last.unwrap_err();
    assert!(matches!(err, JournalError::Full { .. }), "{err:?}");
    assert!(err.to_string().contains("full"));
    assert!(j.get("kept").unwrap().is_some());
    assert!(
        j.verify().unwrap().ok,
        "a refused append leaves the chain whole"
    );
}

#[test]
fn last_known_balances_are_cached_per_card() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let key = j.card_key("9578000000002001");
    assert!(j.cached_card(&key).unwrap().is_none());
    let c = giftpos_journal::CachedCard {
        card_id: "demo-live-500".into(),
        card: "************2001".into(),
        status: "unused".into(),
        available: Some(50_000),
        currency: Some("NOK".into()),
        fetched_at: now(),
    };
    j.cache_card(&key, &c).unwrap();
    assert_eq!(
        j.cached_card(&key).unwrap().unwrap().available,
        Some(50_000)
    );
}

/// Retention: final entries before a date move to an archive file; the chain continues
/// across the boundary, `verify` checks the archive and the live journal together (and
/// finds a changed archive), nothing open or still a live entry's parent is archived.
#[test]
fn archived_entries_keep_the_chain_verifiable_across_the_boundary() {
    use chrono::Duration;
    let dir = tempfile::tempdir().unwrap();
    let j = journal(&dir);
    let day = |d: i64| now() - Duration::days(30 - d);
    let token = "9578000000001001";
    // Days 0–9: final entries; day 5 holds a reservation a day-20 capture settles; day 12
    // an entry still waiting to sync; day 15 a final one after it.
    for d in 0..10 {
        let mut e = entry(&j, &format!("e{d}"), OperationKind::TopUp, token, 1_000);
        if d == 5 {
            e.kind = OperationKind::Redeem;
        }
        j.append(e, day(d)).unwrap();
        j.confirm(&format!("e{d}"), None, Some(1_000), day(d))
            .unwrap();
    }
    j.append(entry(&j, "open", OperationKind::TopUp, token, 500), day(12))
        .unwrap();
    j.append(entry(&j, "late", OperationKind::TopUp, token, 500), day(15))
        .unwrap();
    j.confirm("late", None, None, day(15)).unwrap();
    let mut capture = entry(&j, "cap", OperationKind::Capture, token, 1_000);
    capture.parent_id = Some("e5".into());
    j.append(capture, day(20)).unwrap();
    j.confirm("cap", None, None, day(20)).unwrap();

    let archive_dir = dir.path().join("archive");
    // Before day 16: stops at e5 (the live capture names it), so e0–e4 move.
    let a = j
        .archive(day(16), &archive_dir)
        .unwrap()
        .expect("something archived");
    assert_eq!((a.first_seq, a.last_seq, a.entries), (1, 5, 5));
    assert!(a.file.exists());
    assert_eq!(j.list(None, None).unwrap().first().unwrap().seq, 6);
    assert!(
        j.get("e0").unwrap().is_none(),
        "archived entries leave the live journal"
    );
    // …and can still be read, as they ended.
    let archived = j.archived_entries().unwrap();
    assert_eq!(
        archived.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["e0", "e1", "e2", "e3", "e4"]
    );
    assert!(archived.iter().all(|e| e.state == EntryState::Confirmed
        && e.amount.minor() == 1_000
        && e.kind == OperationKind::TopUp));
    let v = j.verify().unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(
        v.entries, 13,
        "archive and live journal counted as one chain"
    );

    // Nothing more may move: e5 is still a parent, `open` is open.
    assert!(j.archive(day(16), &archive_dir).unwrap().is_none());

    // The chain goes on after the boundary, and survives reopening.
    j.append(
        entry(&j, "after", OperationKind::TopUp, token, 100),
        day(25),
    )
    .unwrap();
    drop(j);
    let j = journal(&dir);
    let v = j.verify().unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.entries, 14);

    // A changed archive is found, by name.
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&a.file).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let edited = text.replacen("\"amount\":1000", "\"amount\":9000", 1);
    assert_ne!(edited, text);
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&a.file).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(&mut gz, edited.as_bytes()).unwrap();
    gz.finish().unwrap();
    let v = j.verify().unwrap();
    assert!(!v.ok);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("archive") && p.contains("content was changed")),
        "{:?}",
        v.problems
    );
    // A missing archive is named too.
    std::fs::remove_file(&a.file).unwrap();
    let v = j.verify().unwrap();
    assert!(
        v.problems.iter().any(|p| p.contains("cannot be read")),
        "{:?}",
        v.problems
    );
}

/// The hash chain alone cannot tell a journal rewritten by someone who can write the
/// file (here: the same entries appended again, one amount changed, into a new file put
/// in its place — every hash recomputed). Anchors taken before the rewrite can.
#[test]
fn anchors_find_a_rewritten_chain_that_verifies_on_its_own() {
    use giftpos_journal::Anchor;
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    let tokens = ["9578000000002001", "9578000000002002"];
    let write = |path: &std::path::Path, cheat: bool| {
        let j = Journal::open(path, "till-1").unwrap();
        for i in 0..6 {
            let amount = if cheat && i == 2 { 1 } else { 10_000 + i };
            let e = entry(
                &j,
                &format!("e{i}"),
                OperationKind::TopUp,
                tokens[i as usize % 2],
                amount,
            );
            j.append(e, now).unwrap();
        }
        j
    };
    let path = dir.path().join("journal.db");
    let j = write(&path, false);
    let anchor = |seq: i64, j: &Journal| {
        let e = j
            .list(None, None)
            .unwrap()
            .into_iter()
            .find(|e| e.seq == seq)
            .unwrap();
        Anchor::parse(&Anchor::text(seq, &e.hash), format!("test {seq}")).unwrap()
    };
    let anchors = vec![anchor(2, &j), anchor(5, &j)];
    let (head_seq, head_hash) = j.head_anchor().unwrap().unwrap();
    assert_eq!(head_seq, 6);
    let head = Anchor::parse(&Anchor::text(head_seq, &head_hash), "head").unwrap();
    assert!(j.check_anchors(&anchors).unwrap().problems.is_empty());
    drop(j);
    // The rewrite.
    let forged = dir.path().join("forged.db");
    drop(write(&forged, true));
    std::fs::rename(&forged, &path).unwrap();
    let j = Journal::open(&path, "till-1").unwrap();
    assert!(
        j.verify().unwrap().ok,
        "the rewritten chain verifies on its own"
    );
    let r = j.check_anchors(&anchors).unwrap();
    // (A new file has its own card-key secret, so the rewrite differs from seq 1.)
    assert_eq!(r.agrees_to, 0);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(
        r.problems[0].contains("seq 2") && r.problems[0].contains("from seq 1 to 2"),
        "{:?}",
        r.problems
    );
    // A forged anchor beside a true one for the same entry is named.
    let mut forged = anchor(5, &j);
    forged.source = "a later forgery".into();
    let r = j.check_anchors(&[anchors[1].clone(), forged]).unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("disagree")),
        "{:?}",
        r.problems
    );
    drop(j);
    // Entries cut off the end: the anchored head is gone.
    let short = dir.path().join("short.db");
    {
        let s = Journal::open(&short, "till-1").unwrap();
        for i in 0..4 {
            s.append(
                entry(
                    &s,
                    &format!("e{i}"),
                    OperationKind::TopUp,
                    tokens[i % 2],
                    10_000 + i as i64,
                ),
                now,
            )
            .unwrap();
        }
    }
    let s = Journal::open(&short, "till-1").unwrap();
    let r = s.check_anchors(&[head]).unwrap();
    assert!(
        r.problems[0].contains("journal ends at seq 4"),
        "{:?}",
        r.problems
    );
}
