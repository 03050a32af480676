//! The till's state for fleet monitoring, in Prometheus' text format (OpenMetrics), made
//! with the kept `prometheus-client` crate: the sync backlog (count, oldest age, amount per
//! currency), entries needing attention, Dintero's reachability and the last contact,
//! unreadable answers, the scanner, the printer, whether a clerk is signed in, and the
//! version and mode as labels. Served on a loopback address (`[metrics] listen`) and/or
//! written atomically into node_exporter's textfile-collector directory
//! (`[metrics] textfile_dir`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::Notify;

use crate::error::{AppError, ErrorCode};

/// What the shell or the CLI knows beside the terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra {
    /// The serial reader: `None` when none is configured.
    pub scanner_connected: Option<bool>,
}

type Labels = Vec<(String, String)>;

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let g: Gauge = Gauge::default();
    g.set(value);
    registry.register(name, help, g);
}

/// What the metrics say, taken from the terminal (`Terminal::metrics_snapshot`): this
/// module knows the format, not the terminal.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub training: bool,
    pub terminal_id: String,
    pub status: crate::sync::SyncStatus,
    /// Minor units waiting to sync, per currency code.
    pub pending_by_currency: BTreeMap<String, i64>,
    pub unreadable_answers: usize,
    pub printer_configured: bool,
    pub clerk_signed_in: bool,
    pub extra: Extra,
}

/// The metrics now, as text.
pub fn render(s: &Snapshot) -> Result<String, AppError> {
    let mut r = Registry::default();
    let status = &s.status;
    let extra = s.extra;
    let now = chrono::Utc::now();
    let info = Family::<Labels, Gauge>::default();
    info.get_or_create(&vec![
        ("version".into(), env!("CARGO_PKG_VERSION").into()),
        (
            "mode".into(),
            if s.training { "training" } else { "live" }.into(),
        ),
        ("terminal".into(), s.terminal_id.clone()),
    ])
    .set(1);
    r.register(
        "giftpos_info",
        "The till: version, mode and terminal id",
        info,
    );
    gauge(
        &mut r,
        "giftpos_sync_pending_entries",
        "Journal entries waiting to sync to Dintero",
        status.pending as i64,
    );
    gauge(
        &mut r,
        "giftpos_sync_oldest_pending_age_seconds",
        "Age of the oldest entry waiting to sync (0 when none waits)",
        status.oldest_pending_age_secs.unwrap_or(0),
    );
    let amounts = Family::<Labels, Gauge>::default();
    for (currency, minor) in &s.pending_by_currency {
        amounts
            .get_or_create(&vec![("currency".into(), currency.clone())])
            .set(*minor);
    }
    r.register(
        "giftpos_sync_pending_amount_minor",
        "Amount in entries waiting to sync, in minor units, per currency",
        amounts,
    );
    gauge(
        &mut r,
        "giftpos_needs_attention_entries",
        "Journal entries a manager must settle",
        status.needs_attention as i64,
    );
    gauge(
        &mut r,
        "giftpos_dintero_online",
        "1 while Dintero can be reached",
        i64::from(status.online),
    );
    gauge(
        &mut r,
        "giftpos_dintero_last_contact_timestamp_seconds",
        "When Dintero last answered (Unix time; 0: not since start)",
        status.last_contact.map(|c| c.timestamp()).unwrap_or(0),
    );
    gauge(
        &mut r,
        "giftpos_dintero_unreadable_answers",
        "Operations whose last answer from Dintero could not be read (call IT; a readable answer clears each)",
        (s.unreadable_answers as i64).max(i64::from(status.unreadable.is_some())),
    );
    gauge(
        &mut r,
        "giftpos_scanner_configured",
        "1 when a serial barcode reader is configured",
        i64::from(extra.scanner_connected.is_some()),
    );
    gauge(
        &mut r,
        "giftpos_scanner_connected",
        "1 while the configured serial barcode reader is connected",
        i64::from(extra.scanner_connected == Some(true)),
    );
    gauge(
        &mut r,
        "giftpos_printer_configured",
        "1 when a receipt printer is configured (receipts are always saved as PDF)",
        i64::from(s.printer_configured),
    );
    gauge(
        &mut r,
        "giftpos_clerk_signed_in",
        "1 while a clerk is signed in",
        i64::from(s.clerk_signed_in),
    );
    gauge(
        &mut r,
        "giftpos_scrape_timestamp_seconds",
        "When these figures were taken (Unix time)",
        now.timestamp(),
    );
    let mut out = String::new();
    encode(&mut out, &r).map_err(|e| AppError::internal(format!("metrics: {e}")))?;
    Ok(out)
}

/// Writes the metrics into node_exporter's textfile-collector directory, atomically (a
/// temporary file renamed over `giftpos.prom`, so a scrape never reads half a file).
pub fn write_textfile(dir: &Path, text: &str) -> Result<(), AppError> {
    let io = |e: std::io::Error| {
        AppError::new(
            ErrorCode::Internal,
            format!("cannot write metrics into {}: {e}", dir.display()),
        )
    };
    let tmp = dir.join(".giftpos.prom.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    // node_exporter reads it as its own user; the figures hold no card or secret.
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(io)?;
    std::fs::rename(&tmp, dir.join("giftpos.prom")).map_err(io)
}

/// A source of the current metrics text.
pub type Source = Arc<dyn Fn() -> Result<String, AppError> + Send + Sync>;

/// Serves `GET /metrics` on `addr` (loopback only, checked by the configuration) until
/// `stop` is notified. Returns the address it listens on.
pub async fn serve(
    addr: SocketAddr,
    source: Source,
    stop: Arc<Notify>,
) -> Result<SocketAddr, AppError> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        AppError::new(
            ErrorCode::Config,
            format!("metrics: cannot listen on {addr}: {e}"),
        )
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| AppError::internal(e.to_string()))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let source = source.clone();
            async move {
                match source() {
                    Ok(text) => (
                        StatusCode::OK,
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.notified().await })
            .await;
    });
    tracing::info!(%local, "metrics served");
    Ok(local)
}

/// Writes the textfile every `every` until `stop` is notified.
pub async fn textfile_loop(
    dir: std::path::PathBuf,
    source: Source,
    every: std::time::Duration,
    stop: Arc<Notify>,
) {
    loop {
        match source().and_then(|t| write_textfile(&dir, &t)) {
            Ok(()) => {}
            Err(e) => tracing::warn!("{e}"),
        }
        tokio::select! {
            _ = stop.notified() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
