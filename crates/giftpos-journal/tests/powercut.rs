//! The journal's fsync ordering on a filesystem that forgets what was not synced
//! (`giftpos-lazyfs`, FUSE; root): what returned durably survives a power cut, what was
//! only appended to be sent does not until its `mark_sent`, and folders made through
//! `durable` keep their names where plain ones lose them.

use std::path::Path;

use chrono::Utc;
use giftpos_core::{Currency, Money, OperationKind};
use giftpos_journal::{EntryState, Journal, NewEntry, durable};

// The mounts are served by a copy of this binary (see giftpos_lazyfs::serve_here).
giftpos_lazyfs::serve_here!();

fn mount(disk: &Path, at: &Path) -> giftpos_lazyfs::Mounted {
    giftpos_lazyfs::mount(disk, at)
        .unwrap_or_else(|e| panic!("these tests need FUSE (/dev/fuse, root): {e}"))
}

fn entry(j: &Journal, id: &str) -> NewEntry {
    NewEntry {
        id: id.into(),
        kind: OperationKind::TopUp,
        card_token: Some("9578000000001001".into()),
        card_masked: "************1001".into(),
        card_id: None,
        card_key: j.card_key("9578000000001001"),
        amount: Money::from_minor(500, Currency::parse("NOK").unwrap()).unwrap(),
        clerk: None,
        metadata: Default::default(),
        parent_id: None,
    }
}

#[test]
fn what_returned_durably_survives_a_cut_and_an_entry_to_send_waits_for_its_mark() {
    let disk = tempfile::tempdir().unwrap();
    let at = tempfile::tempdir().unwrap();
    let path = at.path().join("data/journal.db");

    let fs = mount(disk.path(), at.path());
    let j = Journal::open(&path, "till-p").unwrap();
    j.append(entry(&j, "saved"), Utc::now()).unwrap();
    j.append_to_send(entry(&j, "to-send"), Utc::now()).unwrap();
    j.append_to_send(entry(&j, "sent"), Utc::now()).unwrap();
    j.mark_sent("sent", Utc::now()).unwrap();
    j.append_to_send(entry(&j, "after"), Utc::now()).unwrap();
    // The power goes with the journal open (a clean close would checkpoint it all).
    fs.cut(false).unwrap();
    drop(j);

    let fs = mount(disk.path(), at.path());
    let j = Journal::open(&path, "till-p").unwrap();
    let state = |id: &str| j.get(id).unwrap().map(|e| e.state);
    assert_eq!(state("saved"), Some(EntryState::Recorded));
    // Appended before the mark that synced the log: carried by it.
    assert_eq!(state("to-send"), Some(EntryState::Recorded));
    assert_eq!(state("sent"), Some(EntryState::Sent));
    // Appended to be sent, never marked: nothing was sent, nothing is promised.
    assert_eq!(state("after"), None);
    assert!(j.verify().unwrap().ok);
    drop(j);
    fs.unmount().unwrap();
}

#[test]
fn folders_and_files_made_durably_survive_a_cut_and_plain_ones_do_not() {
    use std::io::Write;
    let disk = tempfile::tempdir().unwrap();
    let at = tempfile::tempdir().unwrap();
    let fs = mount(disk.path(), at.path());
    durable::create_dir_all(&at.path().join("data/archive"), 0o700).unwrap();
    durable::replace(&at.path().join("data/archive/a.gz"), b"entries", 0o600).unwrap();
    std::fs::create_dir_all(at.path().join("plain/receipts")).unwrap();
    let mut f = std::fs::File::create(at.path().join("plain/receipts/r.pdf")).unwrap();
    f.write_all(b"%PDF").unwrap();
    f.sync_all().unwrap();
    fs.cut(false).unwrap();
    assert_eq!(
        std::fs::read(disk.path().join("data/archive/a.gz")).unwrap(),
        b"entries"
    );
    assert!(
        !disk.path().join("plain").exists(),
        "a folder whose parent was not synced is lost with what is in it"
    );
}
