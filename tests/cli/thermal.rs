//! Thermal receipts as a till prints them: the real `giftpos` binary sends ESC/POS to a
//! printer on loopback TCP (port 9100's protocol) and to a kernel pty (a serial or USB
//! printer's device file, through socat). The test is the printer: it interprets the
//! byte stream (text in code page 865, raster images, the cut) into text and images,
//! checks the amount, the masked card, the balance and the Norwegian letters as text,
//! and reads the QR code from the raster image with zbarimg.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common;
use common::clean;

const BIN: &str = env!("CARGO_BIN_EXE_giftpos");

fn giftpos(home: &Path, config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd, home);
    cmd.env("GIFTPOS_CONFIG", config)
        .args(args)
        .output()
        .unwrap()
}

fn sell(home: &Path, config: &Path) -> String {
    let out = giftpos(
        home,
        config,
        &[
            "activate",
            "9578000000001001",
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
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["result"]["operation_id"].as_str().unwrap().to_string()
}

/// `giftpos receipt ENTRY --print` as IT runs it.
fn print(home: &Path, config: &Path, entry: &str) -> Output {
    giftpos(home, config, &["receipt", entry, "--print", "--json"])
}

/// Prints `entry`'s receipt and expects it printed.
fn printed(home: &Path, config: &Path, entry: &str) {
    let out = print(home, config, entry);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// What a printer made of the stream.
#[derive(Debug, Default)]
struct Printout {
    text: String,
    /// (bytes per row, rows, the packed bits: 1 is black).
    rasters: Vec<(usize, usize, Vec<u8>)>,
    cut: bool,
    status_requests: usize,
}

/// Code page 865 (Nordic) for the bytes above 0x7f a receipt uses.
fn pc865(b: u8) -> char {
    match b {
        0x86 => 'å',
        0x8f => 'Å',
        0x91 => 'æ',
        0x92 => 'Æ',
        0x9b => 'ø',
        0x9d => 'Ø',
        0x94 => 'ö',
        0x84 => 'ä',
        0x81 => 'ü',
        _ => panic!("byte {b:#04x} is not a letter a receipt prints"),
    }
}

/// Interprets ESC/POS up to and including the cut. Every command the terminal sends is
/// known here: anything else fails the test.
fn interpret(bytes: &[u8]) -> Printout {
    let mut p = Printout::default();
    let mut i = 0;
    let arg = |i: usize| {
        bytes
            .get(i)
            .copied()
            .unwrap_or_else(|| panic!("truncated at {i}"))
    };
    while i < bytes.len() && !p.cut {
        match bytes[i] {
            0x1b => match arg(i + 1) {
                b'@' | b'2' => i += 2, // initialise, default line spacing
                b'd' => {
                    // feed n lines
                    for _ in 0..arg(i + 2) {
                        p.text.push('\n');
                    }
                    i += 3;
                }
                b't' | b'E' | b'a' | b'-' | b'3' | b'!' => i += 3, // page, bold, justify, …
                c => panic!("unknown ESC {c:#04x} at {i}"),
            },
            0x1d => match arg(i + 1) {
                b'!' => i += 3, // character size
                b'v' => {
                    assert_eq!(arg(i + 2), b'0');
                    let w = usize::from(arg(i + 4)) + 256 * usize::from(arg(i + 5));
                    let h = usize::from(arg(i + 6)) + 256 * usize::from(arg(i + 7));
                    let data = bytes[i + 8..i + 8 + w * h].to_vec();
                    p.rasters.push((w, h, data));
                    i += 8 + w * h;
                }
                b'V' => {
                    p.cut = true;
                    i += if arg(i + 2) == b'A' || arg(i + 2) == b'B' {
                        4
                    } else {
                        3
                    };
                }
                c => panic!("unknown GS {c:#04x} at {i}"),
            },
            0x10 => {
                assert_eq!(arg(i + 1), 0x04, "DLE EOT");
                p.status_requests += 1;
                i += 3;
            }
            b'\n' => {
                p.text.push('\n');
                i += 1;
            }
            b if (0x20..0x7f).contains(&b) => {
                p.text.push(char::from(b));
                i += 1;
            }
            b if b >= 0x80 => {
                p.text.push(pc865(b));
                i += 1;
            }
            b => panic!("unexpected byte {b:#04x} at {i}"),
        }
    }
    p
}

/// The raster as a PBM file (the same packed bits), read by zbarimg.
fn qr_of(p: &Printout, dir: &Path) -> String {
    assert_eq!(
        p.rasters.len(),
        1,
        "one raster image: the receipt's QR code"
    );
    let (w, h, data) = &p.rasters[0];
    let file = dir.join("qr.pbm");
    let mut pbm = format!("P4\n{} {}\n", w * 8, h).into_bytes();
    pbm.extend_from_slice(data);
    std::fs::write(&file, pbm).unwrap();
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", file.to_str().unwrap()])
        .output()
        .expect("zbarimg (scripts/setup installs zbar-tools)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn check_receipt(p: &Printout, entry: &str, dir: &Path) {
    assert!(p.cut, "the receipt is cut");
    let t = &p.text;
    assert!(
        t.contains("Bodø Øst"),
        "Norwegian letters through code page 865:\n{t}"
    );
    assert!(t.contains("************1001"), "the card, masked:\n{t}");
    assert!(
        !t.contains("9578000000001001"),
        "never the whole token:\n{t}"
    );
    assert!(t.contains("500,00"), "the amount:\n{t}");
    assert!(
        t.contains("Saldo") && t.matches("500,00").count() >= 2,
        "the balance after:\n{t}"
    );
    assert_eq!(qr_of(p, dir), format!("giftpos:entry:{entry}"));
}

/// A network printer on `listener` for one job: answers the paper sensor with `status`
/// and returns what it was sent after that.
fn network_printer(listener: TcpListener, status: u8) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut asked = [0u8; 3];
        s.read_exact(&mut asked).unwrap();
        assert_eq!(asked, [0x10, 0x04, 0x04], "the paper sensor is asked first");
        s.write_all(&[status]).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        rest
    })
}

fn config(dir: &Path, device: &str, paper: u32) -> std::path::PathBuf {
    let file = dir.join("thermal.toml");
    std::fs::write(
        &file,
        format!(
            "[terminal]\nstore_name = \"Bodø Øst\"\nlocale = \"nb\"\n\n[printer]\nkind = \"escpos\"\ndevice = \"{device}\"\npaper_mm = {paper}\n"
        ),
    )
    .unwrap();
    file
}

#[test]
fn a_receipt_prints_over_tcp_9100_with_its_text_and_qr_code() {
    let home = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = config(home.path(), &format!("tcp://{addr}"), 80);
    let entry = sell(home.path(), &cfg);
    let printer = network_printer(listener, 0x12); // paper present
    printed(home.path(), &cfg, &entry);
    let p = interpret(&printer.join().unwrap());
    check_receipt(&p, &entry, home.path());
}

#[test]
fn a_receipt_prints_to_a_device_file_on_58_mm_paper() {
    let home = tempfile::tempdir().unwrap();
    let (mut socat, a, b) = common::pty_pair(home.path(), "lpA", "lpB");
    let cfg = config(home.path(), a.to_str().unwrap(), 58);
    let entry = sell(home.path(), &cfg);
    // The printer's side of the pty, read until the cut.
    let mut dev = std::fs::File::open(&b).unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == [0x1d, b'V', b'A', 0]) {
            let n = dev.read(&mut buf).unwrap();
            assert!(n > 0, "the stream ended before the cut");
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    printed(home.path(), &cfg, &entry);
    let p = interpret(&reader.join().unwrap());
    check_receipt(&p, &entry, home.path());
    // 58 mm: the image fits 384 dots.
    assert!(p.rasters[0].0 * 8 <= 384);
    socat.kill().unwrap();
    socat.wait().unwrap();
}

#[test]
fn paper_out_and_an_unreachable_printer_are_reported_and_the_receipt_is_kept() {
    let home = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = config(home.path(), &format!("tcp://{addr}"), 80);
    let entry = sell(home.path(), &cfg);
    let printer = network_printer(listener, 0x12 | 0x60); // paper end
    let out = print(home.path(), &cfg, &entry);
    assert_ne!(out.status.code(), Some(0));
    let msg = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        msg.contains("out of paper") && msg.contains("reprint"),
        "{msg}"
    );
    assert!(
        printer.join().unwrap().is_empty(),
        "nothing printed on an empty roll"
    );
    let v: Value = serde_json::from_str(&msg).unwrap();
    let text = v["error"]["message"].as_str().unwrap();
    let kept = text
        .split("saved at ")
        .nth(1)
        .and_then(|r| r.split(" for a reprint").next())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        Path::new(kept).exists(),
        "the receipt is kept for a reprint: {kept}"
    );

    // Nobody listening: the printer is offline, said as such.
    let cfg = config(home.path(), "tcp://127.0.0.1:9", 80);
    let out = print(home.path(), &cfg, &entry);
    assert_ne!(out.status.code(), Some(0));
    let msg = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        msg.contains("cannot be reached") && msg.contains("reprint"),
        "{msg}"
    );
}
