//! Thermal receipts in ESC/POS, what nearly every till printer speaks: the receipt's
//! lines (the same as the PDF's) in code page 865 for Norwegian letters, the receipt's QR
//! code as a raster image (`GS v 0`, which every ESC/POS printer prints, unlike the
//! native QR command), then a cut. Built with the `escpos` crate into bytes; sent over
//! TCP (port 9100) or to a device file (a USB printer's `/dev/usb/lp0`, a serial port).

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{JustifyMode, PageCode, Protocol};

use crate::pdf::{Line, Qr, Style};
use crate::{PrintError, Receipt, receipt_lines, receipt_qr_payload};

/// The roll's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 58 mm: 32 characters, 384 dots.
    Mm58,
    /// 80 mm: 48 characters, 576 dots.
    Mm80,
}

impl Paper {
    pub fn from_mm(mm: u64) -> Option<Paper> {
        match mm {
            58 => Some(Paper::Mm58),
            80 => Some(Paper::Mm80),
            _ => None,
        }
    }
    fn chars(self) -> u8 {
        match self {
            Paper::Mm58 => 32,
            Paper::Mm80 => 48,
        }
    }
    fn dots(self) -> usize {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }
}

/// Where the printer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `host:port`, usually port 9100.
    Tcp(String),
    /// A device file: `/dev/usb/lp0`, a serial port (set up by IT), a pty in tests.
    Device(PathBuf),
}

impl Target {
    /// `tcp://host:port` or a path.
    pub fn parse(s: &str) -> Option<Target> {
        let s = s.trim();
        if let Some(addr) = s.strip_prefix("tcp://") {
            let (host, port) = addr.rsplit_once(':')?;
            (!host.is_empty() && port.parse::<u16>().is_ok()).then(|| Target::Tcp(addr.into()))
        } else if s.starts_with('/') {
            Some(Target::Device(PathBuf::from(s)))
        } else {
            None
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(a) => write!(f, "tcp://{a}"),
            Target::Device(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The bytes the printer is sent, kept instead of written (the `escpos` crate builds
/// them; sending is ours, with timeouts and the paper check).
#[derive(Clone, Default)]
struct Capture(Rc<RefCell<Vec<u8>>>);

impl Driver for Capture {
    fn name(&self) -> String {
        "capture".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// A receipt as ESC/POS bytes for `paper`.
pub fn receipt_escpos(r: &Receipt, paper: Paper) -> Result<Vec<u8>, PrintError> {
    let capture = Capture::default();
    let err = |e: escpos::errors::PrinterError| PrintError::Refused(format!("ESC/POS: {e}"));
    let options = PrinterOptions::new(Some(PageCode::PC865), None, paper.chars());
    let mut p = Printer::new(capture.clone(), Protocol::default(), Some(options));
    p.init().map_err(err)?;
    p.page_code(PageCode::PC865).map_err(err)?;
    for line in receipt_lines(r) {
        match line.style {
            Style::Gap => {
                p.feed().map_err(err)?;
            }
            Style::Text => {
                p.writeln(&fit(&line, paper)).map_err(err)?;
            }
            Style::Bold => {
                p.bold(true).map_err(err)?;
                p.writeln(&fit(&line, paper)).map_err(err)?;
                p.bold(false).map_err(err)?;
            }
            Style::Big => {
                p.bold(true).map_err(err)?;
                p.size(2, 2).map_err(err)?;
                p.writeln(&line.text).map_err(err)?;
                p.reset_size().map_err(err)?;
                p.bold(false).map_err(err)?;
            }
        }
    }
    if let Some(qr) = Qr::new(&receipt_qr_payload(&r.entry_id)) {
        p.justify(JustifyMode::CENTER).map_err(err)?;
        p.custom(&raster(&qr, paper)).map_err(err)?;
        p.feed().map_err(err)?;
        p.justify(JustifyMode::LEFT).map_err(err)?;
    }
    p.feeds(3).map_err(err)?;
    p.print_cut().map_err(err)?;
    Ok(capture.0.take())
}

/// A line as it fits the roll: the printer would wrap anyway; cutting at the roll's width
/// keeps key/value lines readable.
fn fit(line: &Line, paper: Paper) -> String {
    let width = usize::from(paper.chars());
    let chars: Vec<char> = line.text.chars().collect();
    chars
        .chunks(width)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The QR code as a `GS v 0` raster image: each module 6 dots on 80 mm paper, 4 on
/// 58 mm, with a quiet zone of four modules.
fn raster(qr: &Qr, paper: Paper) -> Vec<u8> {
    let scale = if paper == Paper::Mm80 { 6 } else { 4 };
    let quiet = 4;
    let side = (qr.width + 2 * quiet) * scale;
    let side = side.min(paper.dots());
    let row_bytes = side.div_ceil(8);
    let mut cmd = vec![
        0x1d,
        b'v',
        b'0',
        0,
        (row_bytes & 0xff) as u8,
        (row_bytes >> 8) as u8,
        (side & 0xff) as u8,
        (side >> 8) as u8,
    ];
    for y in 0..side {
        let mut row = vec![0u8; row_bytes];
        for (x, byte) in (0..side).map(|x| (x, x / 8)) {
            let (mx, my) = (
                (x / scale).wrapping_sub(quiet),
                (y / scale).wrapping_sub(quiet),
            );
            let dark = mx < qr.width && my < qr.width && qr.dark[my * qr.width + mx];
            if dark {
                row[byte] |= 0x80 >> (x % 8);
            }
        }
        cmd.extend_from_slice(&row);
    }
    cmd
}

/// DLE EOT 4: the paper roll sensor.
const PAPER_STATUS: [u8; 3] = [0x10, 0x04, 0x04];

/// Sends `bytes` to the printer. Over TCP the paper sensor is asked first (a printer that
/// does not answer within `timeout` is trusted): out of paper or unreachable is an error,
/// and the caller keeps the receipt for a reprint.
pub fn send_escpos(bytes: &[u8], target: &Target, timeout: Duration) -> Result<(), PrintError> {
    let offline = |detail: String| PrintError::Offline {
        target: target.to_string(),
        detail,
    };
    match target {
        Target::Tcp(addr) => {
            let sock = addr
                .to_socket_addrs()
                .map_err(|e| offline(e.to_string()))?
                .next()
                .ok_or_else(|| offline("no address".into()))?;
            let mut s =
                TcpStream::connect_timeout(&sock, timeout).map_err(|e| offline(e.to_string()))?;
            s.set_read_timeout(Some(timeout))
                .and_then(|()| s.set_write_timeout(Some(timeout)))
                .map_err(|e| offline(e.to_string()))?;
            s.write_all(&PAPER_STATUS)
                .map_err(|e| offline(e.to_string()))?;
            let mut status = [0u8; 1];
            // n = 4: bits 5 and 6 set mean the paper is out (bits 2–3: near its end).
            if let Ok(1) = s.read(&mut status)
                && status[0] & 0x60 != 0
            {
                return Err(PrintError::PaperOut(target.to_string()));
            }
            s.write_all(bytes).map_err(|e| offline(e.to_string()))?;
            s.flush().map_err(|e| offline(e.to_string()))?;
            let _ = s.shutdown(std::net::Shutdown::Write);
            Ok(())
        }
        Target::Device(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| offline(e.to_string()))?;
            f.write_all(bytes).map_err(|e| offline(e.to_string()))?;
            f.flush().map_err(|e| offline(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            Target::parse("tcp://10.0.0.5:9100"),
            Some(Target::Tcp("10.0.0.5:9100".into()))
        );
        assert_eq!(
            Target::parse("/dev/usb/lp0"),
            Some(Target::Device("/dev/usb/lp0".into()))
        );
        assert_eq!(Target::parse("tcp://printer"), None);
        assert_eq!(Target::parse("printer:9100"), None);
        assert_eq!(Paper::from_mm(58), Some(Paper::Mm58));
        assert_eq!(Paper::from_mm(70), None);
    }

    #[test]
    fn the_raster_is_square_and_fits_the_roll() {
        let qr = Qr::new("giftpos:entry:0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f").unwrap();
        for paper in [Paper::Mm58, Paper::Mm80] {
            let r = raster(&qr, paper);
            let (w, h) = (
                usize::from(r[4]) + 256 * usize::from(r[5]),
                usize::from(r[6]) + 256 * usize::from(r[7]),
            );
            assert_eq!(&r[..4], &[0x1d, b'v', b'0', 0]);
            assert!(h <= paper.dots() && w * 8 >= h);
            assert_eq!(r.len(), 8 + w * h);
        }
    }
}
