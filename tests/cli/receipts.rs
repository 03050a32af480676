//! Receipts and the end-of-day report from the real `giftpos` binary, read back with
//! real tools (pdftotext, pdftoppm + zbarimg), and printed through a real CUPS server
//! with a PDF printer (cups-pdf), which the test starts if none runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use common::clean;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

fn giftpos(home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home);
    cmd.args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn sell(home: &Path, token: &str) -> String {
    let out = giftpos(
        home,
        &[
            "activate",
            token,
            "--amount",
            "500",
            "--transaction-id",
            "T12345678.demo-paid-500",
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)["result"]["operation_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn pdftotext(f: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", f.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_sale_prints_a_receipt_with_balance_training_mark_and_a_qr_that_opens_the_entry() {
    let home = tempfile::tempdir().unwrap();
    let id = sell(home.path(), "9578000000001007");
    let pdf = home.path().join("r.pdf");
    let out = giftpos(
        home.path(),
        &["receipt", &id, "--out", pdf.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = pdftotext(&pdf);
    for want in [
        "TRAINING",
        "Gift card sold",
        "************1007",
        "Amount NOK 500.00",
        "Balance after NOK 500.00",
        "T12345678.demo-paid-500",
        &id,
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(
        !text.contains("9578000000001007"),
        "the full card number is never printed"
    );
    // The QR, rendered and decoded, names the entry; the journal has it.
    let ok = Command::new("pdftoppm")
        .args([
            "-r",
            "200",
            "-png",
            pdf.to_str().unwrap(),
            home.path().join("p").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let png = home.path().join("p-1.png");
    let z = Command::new("zbarimg")
        .args(["-q", "--raw", png.to_str().unwrap()])
        .output()
        .unwrap();
    let payload = String::from_utf8(z.stdout).unwrap().trim().to_string();
    assert_eq!(payload, format!("giftpos:entry:{id}"));
    let show = json(&giftpos(home.path(), &["journal", "show", &id, "--json"]));
    assert_eq!(show["result"]["id"], id.as_str());
    // Never overwrites.
    let again = giftpos(
        home.path(),
        &["receipt", &id, "--out", pdf.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(2));

    let z = home.path().join("z.pdf");
    let out = giftpos(
        home.path(),
        &["report", "day", "--out", z.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = pdftotext(&z);
    assert!(
        text.contains("End-of-day report") && text.contains("NOK 500.00"),
        "{text}"
    );
}

/// The home directory CUPS's PDF printer writes into (the job owner's, from passwd).
fn cups_pdf_dir() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "getent passwd \"$(id -un)\" | cut -d: -f6"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("PDF")
}

#[test]
fn a_receipt_prints_through_a_real_cups_server_and_a_printer_error_keeps_it_saved() {
    let running = Command::new("lpstat")
        .arg("-r")
        .output()
        .expect("lpstat (cups-client)");
    let started_here = !String::from_utf8_lossy(&running.stdout).contains("is running");
    if started_here {
        assert!(
            Command::new("cupsd")
                .status()
                .expect("cupsd (cups)")
                .success()
        );
        let until = Instant::now() + Duration::from_secs(20);
        while !String::from_utf8_lossy(&Command::new("lpstat").arg("-r").output().unwrap().stdout)
            .contains("is running")
        {
            assert!(Instant::now() < until, "cupsd did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let added = Command::new("lpadmin")
        .args([
            "-p",
            "giftpos-test-pdf",
            "-v",
            "cups-pdf:/",
            "-E",
            "-m",
            "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd",
        ])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let home = tempfile::tempdir().unwrap();
    let id = sell(home.path(), "9578000000001008");
    let cfg = home.path().join("printer.toml");
    std::fs::write(&cfg, "[printer]\nname = \"giftpos-test-pdf\"\n").unwrap();
    let out = giftpos(
        home.path(),
        &["--config", cfg.to_str().unwrap(), "receipt", &id, "--print"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("printed as job giftpos-test-pdf-"), "{said}");
    // The job arrives as a PDF from cups-pdf.
    let dir = cups_pdf_dir();
    let until = Instant::now() + Duration::from_secs(30);
    let printed = loop {
        let found = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .find(|p| p.to_string_lossy().contains(&id))
            })
            .ok()
            .flatten();
        if let Some(p) = found {
            break p;
        }
        assert!(
            Instant::now() < until,
            "no printed job for {id} in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(pdftotext(&printed).contains("************1008"));
    let _ = std::fs::remove_file(&printed);

    // A printer that does not exist: reported, and the receipt stays saved for a reprint.
    std::fs::write(&cfg, "[printer]\nname = \"no-such-printer\"\n").unwrap();
    let out = giftpos(
        home.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "receipt",
            &id,
            "--print",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("reprint"),
        "{v}"
    );
    assert!(
        home.path()
            .join(format!("data/giftpos/receipts/receipt-{id}.pdf"))
            .exists()
    );

    let _ = Command::new("lpadmin")
        .args(["-x", "giftpos-test-pdf"])
        .status();
    if started_here {
        let _ = Command::new("pkill").args(["-x", "cupsd"]).status();
    }
}

#[test]
fn the_end_of_day_report_follows_the_terminals_time_zone() {
    let home = tempfile::tempdir().unwrap();
    sell(home.path(), "9578000000001009");
    let today_in = |tz: &str| {
        let out = Command::new("date")
            .env("TZ", tz)
            .arg("+%F")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    // UTC+14 and UTC-11 are 25 hours apart: their dates always differ.
    let (east, west) = ("Pacific/Kiritimati", "Pacific/Pago_Pago");
    let day = today_in(east);
    assert_ne!(day, today_in(west));
    let report = |tz: &str, name: &str| {
        let out_file = home.path().join(name);
        let mut cmd = Command::new(BIN);
        clean(&mut cmd, home.path());
        let out = cmd
            .env("TZ", tz)
            .args([
                "report",
                "day",
                "--date",
                &day,
                "--out",
                out_file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(report(east, "east.pdf").contains("(1 entries)"));
    assert!(report(west, "west.pdf").contains("(0 entries)"));
}
