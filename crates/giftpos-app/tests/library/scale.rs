//! A journal synthesized at 100,000 entries (years of sales, a valid hash chain) opens
//! and answers the status bar, History, one card's entries, the last entries and
//! `journal verify` correctly. Correctness only: the figures are `scripts/bench`'s.

use giftpos_testkit::scale as synth;

use std::sync::Arc;

use giftpos_app::Terminal;
use giftpos_app::config::{self, LoadOptions};
use giftpos_dintero::SystemClock;
use giftpos_journal::EntryState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_of_100k_entries_opens_and_answers_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        env: [
            (
                "GIFTPOS_DATA_DIR".to_string(),
                dir.path().display().to_string(),
            ),
            ("GIFTPOS_TERMINAL_ID".to_string(), "till-scale".to_string()),
        ]
        .into_iter()
        .collect(),
        privileged: true,
        ..LoadOptions::default()
    };
    let cfg = config::load(&opts).unwrap();
    let path = cfg.journal_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let n = 100_000;
    let synth = synth::synthesize(&path, &cfg.terminal_id, n, chrono::Utc::now());
    let t = Terminal::open(cfg, Arc::new(SystemClock)).await.unwrap();

    let status = t.sync_status().unwrap();
    assert_eq!(status.pending, synth.pending);
    assert_eq!(status.needs_attention, synth.needs_attention);

    // Today's History: today's entries (the open ones are among them), attention first.
    let history = t.history(None).unwrap();
    assert_eq!(history.len(), synth.today, "today's entries");
    assert!(
        history[..synth.needs_attention as usize]
            .iter()
            .all(|h| h.state == EntryState::NeedsAttention)
    );

    let last = t.journal_entries(Some(5)).unwrap();
    assert_eq!(last.len(), 5);
    assert_eq!(last.last().unwrap().seq, n as i64);
    assert!(last.windows(2).all(|w| w[0].seq + 1 == w[1].seq));

    let card = t.journal().by_card(&synth.card_key).unwrap();
    assert_eq!(card.len(), synth.card_entries);
    assert!(card.windows(2).all(|w| w[0].seq < w[1].seq));

    let v = t.verify_journal().unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.entries, n as u64);
}
