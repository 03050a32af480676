#![allow(clippy::float_arithmetic)] // pixel geometry of the sheet crops; no money here
//! Printed card batches from the real `giftpos` binary (training mode, embedded sandbox):
//! every card's QR and Code 128 decode to its token (zbarimg, one card cell at a time as
//! a scanner sees it), the files are private and never overwritten, and the tokens and
//! PINs appear nowhere else.

use std::path::Path;
use std::process::{Command, Output};

use crate::common;
use common::clean;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

fn giftpos(home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home);
    cmd.args(args).output().unwrap()
}

/// Decodes every symbol in one card cell (row, column) of a sheet page.
fn decode_cell(pdf: &Path, page: usize, row: usize, col: usize, dir: &Path) -> Vec<String> {
    let dpi = 200.0_f64;
    let px = |mm: f64| ((mm / 25.4) * dpi).round() as i64;
    let (x, y) = (px(10.0 + col as f64 * 95.0), px(10.0 + row as f64 * 54.0));
    let prefix = dir.join(format!("cell-{page}-{row}-{col}"));
    let ok = Command::new("pdftoppm")
        .args([
            "-r",
            "200",
            "-png",
            "-singlefile",
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
        ])
        .args([
            "-x",
            &x.to_string(),
            "-y",
            &y.to_string(),
            "-W",
            &px(93.0).to_string(),
            "-H",
            &px(52.0).to_string(),
        ])
        .arg(pdf)
        .arg(&prefix)
        .status()
        .expect("pdftoppm");
    assert!(ok.success());
    let out = Command::new("zbarimg")
        .args(["-q", prefix.with_extension("png").to_str().unwrap()])
        .output()
        .expect("zbarimg");
    let mut got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    got.sort();
    got
}

#[test]
fn every_card_on_the_sheets_decodes_to_its_token_and_the_secrets_stay_in_the_files() {
    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("batch");
    let out = giftpos(
        home.path(),
        &[
            "batch",
            "create",
            "--count",
            "12",
            "--id-prefix",
            "hq-test",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(out_dir.join("cards.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 12);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], format!("hq-test-{:06}", i + 1));
        assert_eq!((r[1].len(), r[2].len()), (16, 4));
    }
    use std::os::unix::fs::PermissionsExt;
    for f in ["cards.csv", "sheets-0001.pdf"] {
        let mode = std::fs::metadata(out_dir.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    // Ten cards on page 1, two on page 2.
    let pdf = out_dir.join("sheets-0001.pdf");
    for (i, r) in rows.iter().enumerate() {
        let (page, slot) = (i / 10 + 1, i % 10);
        let got = decode_cell(&pdf, page, slot / 2, slot % 2, home.path());
        assert_eq!(
            got,
            vec![format!("CODE-128:{}", r[1]), format!("QR-Code:{}", r[1])],
            "card {}",
            r[0]
        );
    }
    // The PINs are printed in their own panel, and the cards are inactive stock.
    let text = String::from_utf8(
        Command::new("pdftotext")
            .args([pdf.to_str().unwrap(), "-"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(text.contains("PIN") && text.contains(rows[0][2]));
    let sold = giftpos(home.path(), &["balance", rows[0][1], "--json"]);
    assert!(String::from_utf8_lossy(&sold.stdout).contains("\"status\":\"inactive\""));

    // Never overwritten.
    let again = giftpos(
        home.path(),
        &[
            "batch",
            "create",
            "--count",
            "1",
            "--id-prefix",
            "hq-test2",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("cards.csv")).unwrap(),
        csv
    );

    // The tokens and PINs are nowhere but in those files: not in the journal, not on the
    // command's output.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let journal_dir = home.path().join("data/giftpos/training");
    for r in &rows {
        assert!(!said.contains(r[1]));
        for f in ["journal.db", "journal.db-wal"] {
            let bytes = std::fs::read(journal_dir.join(f)).unwrap_or_default();
            assert!(
                !bytes.windows(16).any(|w| w == r[1].as_bytes()),
                "{} in {f}",
                r[0]
            );
        }
    }
}
