//! A serial barcode reader on its own thread: each frame is classified here (a card, a
//! receipt of ours, a near miss, nothing of ours) and goes into a bounded channel as a
//! [`Scan`] — the frame's text never leaves this crate. An unplugged reader is reported
//! and reopened, with backoff, until it returns.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use giftpos_core::TokenFormat;

use crate::classify::{Scan, classify};
use crate::frame::{Decoded, DiscardReason, FrameConfig, FrameDecoder};

/// Line settings of the reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialConfig {
    pub port: String,
    pub baud: u32,
    /// 5 to 8.
    pub data_bits: u8,
    /// `none`, `odd` or `even`.
    pub parity: String,
    /// 1 or 2.
    pub stop_bits: u8,
    /// `none`, `software` or `hardware`.
    pub flow_control: String,
    pub frame: FrameConfig,
}

impl Default for SerialConfig {
    fn default() -> Self {
        SerialConfig {
            port: "/dev/ttyACM0".into(),
            baud: 9600,
            data_bits: 8,
            parity: "none".into(),
            stop_bits: 1,
            flow_control: "none".into(),
            frame: FrameConfig::default(),
        }
    }
}

/// A setting the port cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scanner setting `{key}`: {message}")]
pub struct SettingError {
    pub key: &'static str,
    pub message: String,
}

impl SerialConfig {
    /// Checks the settings before any port is opened.
    pub fn validate(&self) -> Result<(), SettingError> {
        let bad = |key, message: &str| {
            Err(SettingError {
                key,
                message: message.into(),
            })
        };
        if self.baud == 0 {
            return bad("baud", "must be above 0, e.g. 9600");
        }
        if !(5..=8).contains(&self.data_bits) {
            return bad("data_bits", "must be 5, 6, 7 or 8");
        }
        if !matches!(self.parity.as_str(), "none" | "odd" | "even") {
            return bad("parity", "must be none, odd or even");
        }
        if !matches!(self.stop_bits, 1 | 2) {
            return bad("stop_bits", "must be 1 or 2");
        }
        if !matches!(self.flow_control.as_str(), "none" | "software" | "hardware") {
            return bad("flow_control", "must be none, software or hardware");
        }
        if self.frame.max_len == 0 {
            return bad("max_frame_len", "must be above 0");
        }
        Ok(())
    }

    fn builder(&self) -> serialport::SerialPortBuilder {
        use serialport::{DataBits, FlowControl, Parity, StopBits};
        serialport::new(&self.port, self.baud)
            .data_bits(match self.data_bits {
                5 => DataBits::Five,
                6 => DataBits::Six,
                7 => DataBits::Seven,
                _ => DataBits::Eight,
            })
            .parity(match self.parity.as_str() {
                "odd" => Parity::Odd,
                "even" => Parity::Even,
                _ => Parity::None,
            })
            .stop_bits(if self.stop_bits == 2 {
                StopBits::Two
            } else {
                StopBits::One
            })
            .flow_control(match self.flow_control.as_str() {
                "software" => FlowControl::Software,
                "hardware" => FlowControl::Hardware,
                _ => FlowControl::None,
            })
            .timeout(READ_TIMEOUT)
    }
}

/// What the reader reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    Connected {
        port: String,
    },
    Disconnected {
        port: String,
        reason: String,
    },
    /// A frame read and classified: what it is, its AIM symbology identifier when the
    /// reader sends one (`]C0` Code 128, `]Q1` QR), when its last byte arrived.
    Scan {
        scan: Scan,
        symbology: Option<String>,
        at: Instant,
    },
    Discarded {
        reason: DiscardReason,
        bytes: usize,
    },
}

/// Whether the reader is there, for the status bar and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderState {
    pub port: String,
    pub connected: bool,
    pub last_error: Option<String>,
    /// Events dropped because nobody read them (the channel was full).
    pub dropped: u64,
}

/// How long one read waits before the decoder's timeout is checked.
const READ_TIMEOUT: Duration = Duration::from_millis(20);
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(2);
const CHANNEL: usize = 256;

/// A running reader. Dropping it stops the thread.
#[derive(Debug)]
pub struct Reader {
    events: Receiver<ScannerEvent>,
    state: Arc<Mutex<ReaderState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Starts reading `cfg.port` on a thread of its own; cards are told by `formats`.
    pub fn start(cfg: SerialConfig, formats: Vec<TokenFormat>) -> Result<Reader, SettingError> {
        cfg.validate()?;
        let (tx, rx) = sync_channel(CHANNEL);
        let state = Arc::new(Mutex::new(ReaderState {
            port: cfg.port.clone(),
            connected: false,
            last_error: None,
            dropped: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::Builder::new()
                .name("giftpos-scanner".into())
                .spawn(move || run(cfg, &formats, tx, state, stop))
                .map_err(|e| SettingError {
                    key: "port",
                    message: format!("cannot start the reader thread: {e}"),
                })?
        };
        Ok(Reader {
            events: rx,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// The events, in order.
    pub fn events(&self) -> &Receiver<ScannerEvent> {
        &self.events
    }

    pub fn state(&self) -> ReaderState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn send(tx: &SyncSender<ScannerEvent>, state: &Mutex<ReaderState>, ev: ScannerEvent) {
    match tx.try_send(ev) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => {
            state.lock().unwrap_or_else(|p| p.into_inner()).dropped += 1;
            tracing::warn!("scanner events are not being read; one was dropped");
        }
    }
}

fn set_state(state: &Mutex<ReaderState>, connected: bool, error: Option<String>) {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.connected = connected;
    if error.is_some() {
        s.last_error = error;
    }
}

fn run(
    cfg: SerialConfig,
    formats: &[TokenFormat],
    tx: SyncSender<ScannerEvent>,
    state: Arc<Mutex<ReaderState>>,
    stop: Arc<AtomicBool>,
) {
    let mut backoff = BACKOFF_START;
    let mut told_absent = false;
    while !stop.load(Ordering::Relaxed) {
        let mut port = match cfg.builder().open_native() {
            Ok(p) => p,
            Err(e) => {
                if !told_absent {
                    disconnected(&cfg, &tx, &state, format!("cannot open {}: {e}", cfg.port));
                    told_absent = true;
                }
                sleep_unless_stopped(backoff, &stop);
                backoff = (backoff * 2).min(BACKOFF_CAP);
                continue;
            }
        };
        backoff = BACKOFF_START;
        set_state(&state, true, None);
        tracing::info!(port = %cfg.port, "scanner connected");
        send(
            &tx,
            &state,
            ScannerEvent::Connected {
                port: cfg.port.clone(),
            },
        );
        let mut decoder = FrameDecoder::new(cfg.frame.clone());
        let mut buf = [0u8; 512];
        let reason = loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match port.read(&mut buf) {
                Ok(0) => break "the reader closed the connection".to_string(),
                Ok(n) => {
                    let now = Instant::now();
                    for d in decoder.push(&buf[..n], now) {
                        send(&tx, &state, event(d, formats, now));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    if let Some(d) = decoder.tick(Instant::now()) {
                        send(&tx, &state, event(d, formats, Instant::now()));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break e.to_string(),
            }
        };
        drop(port);
        disconnected(&cfg, &tx, &state, reason);
        told_absent = true;
        sleep_unless_stopped(BACKOFF_START, &stop);
    }
}

fn disconnected(
    cfg: &SerialConfig,
    tx: &SyncSender<ScannerEvent>,
    state: &Mutex<ReaderState>,
    reason: String,
) {
    tracing::warn!(port = %cfg.port, "scanner not available: {reason}; retrying");
    set_state(state, false, Some(reason.clone()));
    send(
        tx,
        state,
        ScannerEvent::Disconnected {
            port: cfg.port.clone(),
            reason,
        },
    );
}

fn event(d: Decoded, formats: &[TokenFormat], at: Instant) -> ScannerEvent {
    match d {
        Decoded::Frame(frame) => ScannerEvent::Scan {
            scan: classify(&frame.text, formats),
            symbology: frame.symbology,
            at,
        },
        Decoded::Discarded { reason, bytes } => {
            tracing::warn!(?reason, bytes, "scanner bytes discarded");
            ScannerEvent::Discarded { reason, bytes }
        }
    }
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Serial ports the system lists (ptys are not listed).
pub fn list_ports() -> Vec<String> {
    serialport::available_ports()
        .map(|v| v.into_iter().map(|p| p.port_name).collect())
        .unwrap_or_default()
}
