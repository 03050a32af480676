//! What runs beside the clerk: the sync loop, the configured serial reader, the update
//! check and the metrics. Started once by whoever owns the terminal (the app; `giftpos
//! sync` for the sync loop and metrics alone), with its events out on one channel, and
//! stopped when the [`Background`] handle is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use super::{ScanResult, Terminal};
use crate::sync::SyncEvent;

/// What to start. The app starts everything; `giftpos sync` the sync loop and metrics
/// (never the scanner: the app may hold the port).
#[derive(Debug, Clone, Copy, Default)]
pub struct BackgroundParts {
    pub sync: bool,
    pub scanner: bool,
    pub updates: bool,
    pub metrics: bool,
}

impl BackgroundParts {
    /// Only the sync loop and its keep-warm (`giftpos sync`, tests, benchmarks).
    pub fn sync_only() -> Self {
        BackgroundParts {
            sync: true,
            ..BackgroundParts::default()
        }
    }

    /// Everything the app runs.
    pub fn all() -> Self {
        BackgroundParts {
            sync: true,
            scanner: true,
            updates: true,
            metrics: true,
        }
    }
}

/// An event from the background, for the page (`sync`, `scan`, `scanner`) or `giftpos
/// sync`'s output.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum BackgroundEvent {
    Sync(SyncEvent),
    /// A frame from the serial reader, already classified.
    Scan(ScanResult),
    /// The serial reader connected or lost its port.
    Scanner(giftpos_scanner::ReaderState),
}

/// The running background. Dropping it stops the sync loop, the update check, the
/// metrics and the reader (which lets go of the serial port).
pub struct Background {
    events: broadcast::Sender<BackgroundEvent>,
    /// Subscribed before anything started: the first subscriber hears every event.
    first: Mutex<Option<broadcast::Receiver<BackgroundEvent>>>,
    scanner: Option<Arc<Mutex<giftpos_scanner::ReaderState>>>,
    metrics_addr: Option<std::net::SocketAddr>,
    /// The sync loop's own stop (a permit is kept if it is mid-round).
    stop_sync: Arc<Notify>,
    /// The metrics server's and textfile writer's.
    stop_metrics: Arc<Notify>,
    stop_reader: Arc<AtomicBool>,
    sync_task: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// The events: the first subscriber gets every one since the start, later ones
    /// those from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<BackgroundEvent> {
        self.first
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| self.events.subscribe())
    }

    /// The serial reader's state, when one is configured and started.
    pub fn scanner_state(&self) -> Option<giftpos_scanner::ReaderState> {
        self.scanner
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Where `GET /metrics` is served, when `[metrics] listen` is set.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// Stops everything, letting the sync loop finish the round it is in.
    pub async fn stop(mut self) {
        self.signal_stop();
        if let Some(t) = self.sync_task.take() {
            let _ = t.await;
        }
    }

    fn signal_stop(&self) {
        self.stop_reader.store(true, Ordering::SeqCst);
        self.stop_sync.notify_one();
        self.stop_metrics.notify_waiters();
    }
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("scanner", &self.scanner_state())
            .field("metrics_addr", &self.metrics_addr)
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.signal_stop();
        for t in self.tasks.iter().chain(&self.sync_task) {
            t.abort();
        }
    }
}

impl Terminal {
    /// Starts the background parts on the current Tokio runtime. A part that cannot start (a scanner port
    /// that is not there, a metrics address in use) is logged and the rest run: none of
    /// them may keep the clerk from selling.
    pub async fn start_background(self: &Arc<Self>, parts: BackgroundParts) -> Background {
        let (events, first) = broadcast::channel(256);
        let stop_sync = Arc::new(Notify::new());
        let stop_metrics = Arc::new(Notify::new());
        let stop_reader = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let mut sync_task = None;
        if parts.sync {
            // Subscribed before the loop starts, so its first status is heard.
            let mut rx = self.engine.subscribe();
            let engine = self.engine.clone();
            sync_task = Some(tokio::spawn(engine.run(stop_sync.clone())));
            let tx = events.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(ev) => {
                            let _ = tx.send(BackgroundEvent::Sync(ev));
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(n, "sync events skipped");
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            }));
        }
        if parts.sync
            && let Some(every) = self.cfg.keep_warm
        {
            // While a clerk is signed in: tokens renewed ahead of expiry (connections
            // stay open at the transport), so a clerk's operation after idle pays only
            // its own round trips. Nobody at the till: not a single request.
            let client = self.client.clone();
            let signed_in = self.signed_in.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if signed_in.load(std::sync::atomic::Ordering::Relaxed)
                        && let Err(e) = client.keep_warm().await
                    {
                        tracing::debug!("keep-warm: {e}");
                    }
                    tokio::time::sleep(every).await;
                }
            }));
        }
        let scanner = if parts.scanner {
            self.start_reader(events.clone(), stop_reader.clone())
        } else {
            None
        };
        if parts.updates && self.cfg.update.endpoint.is_some() {
            let settings = self.cfg.update.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    match crate::update::check(&settings, env!("CARGO_PKG_VERSION")).await {
                        Ok(outcome) => tracing::info!(?outcome, "update check"),
                        Err(e) => tracing::warn!(code = e.code.as_str(), "update check: {e}"),
                    }
                    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
                }
            }));
        }
        let mut metrics_addr = None;
        if parts.metrics {
            let reader = scanner.clone();
            let extra = move || crate::metrics::Extra {
                scanner_connected: reader
                    .as_ref()
                    .map(|r| r.lock().map(|s| s.connected).unwrap_or(false)),
            };
            match self.start_metrics(extra, stop_metrics.clone()).await {
                Ok(addr) => metrics_addr = addr,
                Err(e) => tracing::error!(code = e.code.as_str(), "metrics not served: {e}"),
            }
        }
        Background {
            events,
            first: Mutex::new(Some(first)),
            scanner,
            metrics_addr,
            stop_sync,
            stop_metrics,
            stop_reader,
            sync_task,
            tasks,
        }
    }

    /// The configured serial reader on its own thread: each frame classified and sent
    /// as a [`BackgroundEvent::Scan`], connects and disconnects as `Scanner`.
    fn start_reader(
        self: &Arc<Self>,
        tx: broadcast::Sender<BackgroundEvent>,
        stop: Arc<AtomicBool>,
    ) -> Option<Arc<Mutex<giftpos_scanner::ReaderState>>> {
        use std::sync::mpsc::RecvTimeoutError;
        if !self.cfg.scanner_configured {
            return None;
        }
        let reader = match giftpos_scanner::Reader::start(
            self.cfg.scanner.clone(),
            self.cfg.token_formats.clone(),
        ) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("scanner not started: {e}");
                return None;
            }
        };
        let shared = Arc::new(Mutex::new(reader.state()));
        let mirror = shared.clone();
        let me = self.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let ev = reader.events().recv_timeout(Duration::from_millis(250));
                let st = reader.state();
                *mirror.lock().unwrap_or_else(|p| p.into_inner()) = st.clone();
                match ev {
                    Ok(giftpos_scanner::ScannerEvent::Scan { scan, .. }) => {
                        let _ = tx.send(BackgroundEvent::Scan(me.scanned(scan)));
                    }
                    Ok(_) => {
                        let _ = tx.send(BackgroundEvent::Scanner(st));
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        Some(shared)
    }
}
