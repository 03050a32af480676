//! Receipts and reports read back with real tools: `pdftotext` for the words, and
//! `pdftoppm` + `zbarimg` for the QR code.

use std::path::Path;
use std::process::Command;

use chrono::{FixedOffset, NaiveDate, TimeZone};
use giftpos_core::{Currency, Locale, Money, OperationKind};
use giftpos_print::{DayReport, Receipt, ReportEntry, render_day_report, render_receipt};

fn nok(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("NOK").unwrap()).unwrap()
}

fn receipt(locale: Locale, confirmed: bool, training: bool) -> Receipt {
    Receipt {
        store: "Oslo S".into(),
        terminal_id: "till-2".into(),
        clerk: Some("clerk-7".into()),
        time: FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 21, 15, 5, 0)
            .unwrap(),
        kind: OperationKind::Activate,
        card: "************1001".into(),
        amount: nok(123_450),
        balance_after: Some(nok(123_450)),
        transaction_id: None,
        dintero_transaction_id: Some("T12345678.pay-42".into()),
        payment_override: None,
        tender: None,
        split: None,
        entry_id: "0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f".into(),
        confirmed,
        training,
        locale,
    }
}

fn text_of(pdf: &[u8], dir: &Path) -> String {
    let f = dir.join("doc.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", f.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils; scripts/setup installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn qr_of(pdf: &[u8], dir: &Path) -> String {
    let f = dir.join("qr.pdf");
    std::fs::write(&f, pdf).unwrap();
    let prefix = dir.join("page");
    let ok = Command::new("pdftoppm")
        .args([
            "-r",
            "200",
            "-png",
            f.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ])
        .status()
        .expect("pdftoppm");
    assert!(ok.success());
    let png = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "png"))
        .unwrap();
    let out = Command::new("zbarimg")
        .args(["-q", "--raw", png.to_str().unwrap()])
        .output()
        .expect("zbarimg (zbar-tools; scripts/setup installs it)");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_receipt_says_what_happened_with_the_balance_and_the_card_masked() {
    let dir = tempfile::tempdir().unwrap();
    let text = text_of(
        &render_receipt(&receipt(Locale::En, true, false)),
        dir.path(),
    );
    for want in [
        "GIFT CARD RECEIPT",
        "Gift card sold",
        "Oslo S",
        "till-2",
        "clerk-7",
        "2026-11-21 15:05 (UTC+01:00)",
        "************1001",
        "NOK 1,234.50",
        "Balance after NOK 1,234.50",
        "T12345678.pay-42",
        "0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("TRAINING") && !text.contains("NOT YET"));
}

#[test]
fn the_qr_code_decodes_to_the_entry_and_the_scanner_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let payload = qr_of(
        &render_receipt(&receipt(Locale::En, true, false)),
        dir.path(),
    );
    assert_eq!(
        payload,
        "giftpos:entry:0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f"
    );
    // Scanned back through the scanner's classification: it names the entry.
    let formats = [giftpos_core::TokenFormat::numeric16()];
    assert_eq!(
        giftpos_scanner::classify(&payload, &formats),
        giftpos_scanner::Scan::Receipt {
            entry_id: "0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f".into()
        }
    );
}

#[test]
fn queued_and_training_receipts_say_so_plainly_in_norwegian_too() {
    let dir = tempfile::tempdir().unwrap();
    let en = text_of(
        &render_receipt(&receipt(Locale::En, false, true)),
        dir.path(),
    );
    assert!(en.contains("TRAINING - NOT A REAL TRANSACTION"), "{en}");
    assert!(en.contains("NOT YET CONFIRMED BY DINTERO"), "{en}");
    let nb = text_of(
        &render_receipt(&receipt(Locale::Nb, false, false)),
        dir.path(),
    );
    for want in [
        "KVITTERING GAVEKORT",
        "Gavekort solgt",
        "Beløp 1 234,50 NOK",
        "IKKE BEKREFTET AV DINTERO ENNÅ",
        "Lagret på terminalen",
    ] {
        assert!(nb.contains(want), "missing {want:?} in:\n{nb}");
    }
}

#[test]
fn the_day_report_sums_per_operation_and_lists_voids_and_open_entries() {
    let dir = tempfile::tempdir().unwrap();
    let at = |h| {
        FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 21, h, 0, 0)
            .unwrap()
    };
    let e = |h, kind, amount, state: &str, approved: Option<&str>| ReportEntry {
        time: at(h),
        kind,
        card: "************1001".into(),
        amount: nok(amount),
        state: state.into(),
        approved_by: approved.map(str::to_string),
        reason: (state == "needs_attention")
            .then(|| "refused after sync: NOK 40.00 at risk".to_string()),
        entry_id: format!("e{h}"),
        payment: (kind == OperationKind::Activate).then(|| "T12345678.pay-9".to_string()),
        payment_override: None,
        tender: (kind == OperationKind::Activate).then(|| "cash".to_string()),
        clerk: Some("1".into()),
        gift_card_part: None,
    };
    let report = DayReport {
        journal_head: Some(format!("42:{}", "0123456789abcdef".repeat(4))),
        store: "Oslo S".into(),
        terminal_id: "till-2".into(),
        date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        entries: vec![
            e(9, OperationKind::Activate, 50_000, "confirmed", None),
            e(10, OperationKind::Activate, 25_000, "confirmed", None),
            e(11, OperationKind::Capture, 12_050, "confirmed", None),
            e(
                12,
                OperationKind::Refund,
                12_050,
                "confirmed",
                Some("manager-1"),
            ),
            e(13, OperationKind::TopUp, 10_000, "sent", None),
            e(14, OperationKind::Redeem, 4_000, "needs_attention", None),
        ],
        training: false,
        locale: Locale::En,
        payment_holds: vec![("T12345678.pay-9".into(), 40_000)],
    };
    let t = giftpos_print::totals(&report.entries);
    assert_eq!(t[0].kind, OperationKind::Activate);
    assert_eq!((t[0].count, t[0].sum.minor()), (2, 75_000));
    let text = text_of(&render_day_report(&report), dir.path());
    for want in [
        "End-of-day report (Z) 2026-11-21",
        "Gift card sold",
        "NOK 750.00",
        "approved by manager-1",
        "Pending or needing attention",
        "SENT",
        "NEEDS_ATTENTION",
        "NOK 40.00 at risk",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Pay the rest with Dintero: the receipt shows the total, the gift card's part, the
/// rest and how it was paid, and the card's balance after; the Z-report lists the
/// purchase with the card's part and sums them.
#[test]
fn a_split_purchase_shows_the_card_part_the_rest_and_the_balance() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = receipt(Locale::En, true, false);
    r.kind = OperationKind::Payment;
    r.amount = nok(40_000);
    r.balance_after = Some(nok(0));
    r.dintero_transaction_id = None;
    r.transaction_id = Some("T12345678.tx-7".into());
    r.split = Some(giftpos_print::Split {
        gift_card: nok(5_000),
        rest: nok(35_000),
        rest_paid_with: Some("payex.creditcard".into()),
    });
    let text = text_of(&render_receipt(&r), dir.path());
    for want in [
        "Purchase, paid with gift card",
        "Amount NOK 400.00",
        "Gift card    NOK 50.00",
        "Rest         NOK 350.00 (card)",
        "Balance after NOK 0.00",
        "T12345678.tx-7",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }

    let at = FixedOffset::east_opt(3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .unwrap();
    let entry = ReportEntry {
        time: at,
        kind: OperationKind::Payment,
        card: "************2003".into(),
        amount: nok(40_000),
        state: "confirmed".into(),
        approved_by: None,
        reason: None,
        entry_id: "e1".into(),
        payment: None,
        payment_override: None,
        tender: None,
        clerk: Some("1".into()),
        gift_card_part: Some(nok(5_000)),
    };
    let report = DayReport {
        journal_head: None,
        store: "Oslo S".into(),
        terminal_id: "till-2".into(),
        date: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        entries: vec![entry],
        training: false,
        locale: Locale::En,
        payment_holds: Vec::new(),
    };
    let text = text_of(&render_day_report(&report), dir.path());
    for want in [
        "Purchases paid with gift cards in Dintero payments",
        "of which gift card NOK 50.00",
        "total NOK 400.00: from gift cards NOK 50.00, paid the rest NOK 350.00",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
}
