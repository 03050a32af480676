//! Barcode readers for the till: a serial reader on its own thread ([`serial`]), the pure
//! frame decoder that turns its bytes into scans ([`frame`]), and what a scan means
//! ([`classify`]). Keyboard-wedge readers are told from typing in the UI
//! (`ui/src/wedge.js`).

pub mod classify;
pub mod frame;
pub mod serial;

pub use classify::{RECEIPT_PREFIX, Scan, ScanView, classify, receipt_payload};
pub use frame::{Decoded, DiscardReason, Frame, FrameConfig, FrameDecoder, Terminator};
pub use serial::{Reader, ReaderState, ScannerEvent, SerialConfig, list_ports};

/// The fuzz targets' bodies (see `fuzz/`), also replayed over the corpus by a test.
pub mod fuzzing {
    use std::time::{Duration, Instant};

    use giftpos_core::TokenFormat;

    use crate::frame::{FrameConfig, FrameDecoder, Terminator};

    /// Feeds arbitrary bytes, cut at arbitrary points, to a decoder of each terminator.
    pub fn decode(data: &[u8]) {
        let t0 = Instant::now();
        for term in [
            Terminator::Auto,
            Terminator::Cr,
            Terminator::Lf,
            Terminator::Crlf,
            Terminator::Tab,
            Terminator::Etx,
        ] {
            let mut d = FrameDecoder::new(FrameConfig {
                terminator: term,
                max_len: 64,
                ..FrameConfig::default()
            });
            for (i, chunk) in data
                .chunks(1 + usize::from(data.first().copied().unwrap_or(0) % 7))
                .enumerate()
            {
                let _ = d.push(chunk, t0 + Duration::from_millis(i as u64 * 50));
            }
            let _ = d.tick(t0 + Duration::from_secs(3600));
        }
    }

    /// Classifies arbitrary text against the default formats.
    pub fn classify(data: &[u8]) {
        if let Ok(s) = std::str::from_utf8(data) {
            let formats = [TokenFormat::numeric16(), TokenFormat::dincard_uuid()];
            let scan = crate::classify(s, &formats);
            let _ = scan.view();
        }
    }
}
