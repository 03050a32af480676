//! The barcode reader on its own — `giftpos scanner list|listen`: IT trying a reader at
//! the till without the app (no journal, no clerk). What a scan is, is decided here as
//! for the app: the adapters print the events.

use std::time::Duration;

use giftpos_scanner::{Reader, ScannerEvent};
use serde_json::{Value, json};

use crate::config::Config;
use crate::error::{AppError, ErrorCode};

/// The serial ports this machine has (a keyboard-wedge reader needs none).
pub fn list_ports() -> Vec<String> {
    giftpos_scanner::list_ports()
}

/// A reader opened on its own, classifying what it reads as the app would.
#[derive(Debug)]
pub struct Listener {
    reader: Reader,
}

/// Opens the configured reader, or the one on `port`.
pub fn listen(cfg: &Config, port: Option<String>) -> Result<Listener, AppError> {
    let mut serial = cfg.scanner.clone();
    match port {
        Some(p) => serial.port = p,
        None if !cfg.scanner_configured => {
            return Err(AppError::new(
                ErrorCode::Config,
                "no scanner port: give --port or set [scanner] port",
            ));
        }
        None => {}
    }
    let reader = Reader::start(serial, cfg.token_formats.clone())
        .map_err(|e| AppError::new(ErrorCode::Config, e.to_string()))?;
    Ok(Listener { reader })
}

impl Listener {
    /// The next event, waiting at most `wait`: connected, disconnected (why), a scan
    /// (its symbology and what it is: a card, a receipt, a near miss) or bytes discarded.
    pub fn next(&self, wait: Duration) -> Option<Value> {
        let ev = self.reader.events().recv_timeout(wait).ok()?;
        Some(match ev {
            ScannerEvent::Connected { port } => json!({"event": "connected", "port": port}),
            ScannerEvent::Disconnected { port, reason } => {
                json!({"event": "disconnected", "port": port, "reason": reason})
            }
            ScannerEvent::Scan {
                scan, symbology, ..
            } => json!({"event": "scan", "symbology": symbology, "scan": scan.view()}),
            ScannerEvent::Discarded { reason, bytes } => {
                json!({"event": "discarded", "reason": reason, "bytes": bytes})
            }
        })
    }
}
