//! The Tauri shell: set-up, state, and one-line commands onto the application API
//! (`giftpos_app::Terminal`). Nothing here decides anything about gift cards.

use std::sync::Arc;
use std::time::Instant;

use giftpos_app::config::{self, LoadOptions};
use giftpos_app::{AppError, Terminal, TerminalInfo};
use giftpos_dintero::SystemClock;
use tauri::{Manager, State};

/// What the shell holds: the terminal, or why it could not open (shown by the UI), and
/// the serial barcode reader when one is configured.
struct AppState {
    terminal: Result<Terminal, AppError>,
    _log: Option<giftpos_app::logging::LogGuard>,
    scanner: Option<Arc<std::sync::Mutex<giftpos_scanner::ReaderState>>>,
    started: Instant,
}

#[tauri::command]
fn app_info(state: State<'_, AppState>) -> Result<TerminalInfo, AppError> {
    state
        .terminal
        .as_ref()
        .map(Terminal::info)
        .map_err(Clone::clone)
}

#[tauri::command]
fn sync_status(state: State<'_, AppState>) -> Result<giftpos_app::sync::SyncStatus, AppError> {
    state.terminal.as_ref().map_err(Clone::clone)?.sync_status()
}

#[tauri::command]
fn scanner_state(state: State<'_, AppState>) -> Option<giftpos_scanner::ReaderState> {
    state
        .scanner
        .as_ref()
        .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
}

/// Starts the configured serial reader; its state is mirrored for `scanner_state`.
/// (Scans reach the screens with the clerk's UI.)
fn start_scanner(t: &Terminal) -> Option<Arc<std::sync::Mutex<giftpos_scanner::ReaderState>>> {
    let cfg = t.config();
    if !cfg.scanner_configured {
        return None;
    }
    let reader = match giftpos_scanner::Reader::start(cfg.scanner.clone()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("scanner not started: {e}");
            return None;
        }
    };
    let shared = Arc::new(std::sync::Mutex::new(reader.state()));
    let mirror = shared.clone();
    std::thread::spawn(move || {
        loop {
            let _ = reader
                .events()
                .recv_timeout(std::time::Duration::from_millis(250));
            *mirror.lock().unwrap_or_else(|p| p.into_inner()) = reader.state();
        }
    });
    Some(shared)
}

/// The UI calls this once it is interactive. With `GIFTPOS_EXIT_WHEN_READY=1` the app
/// then exits: the smoke test and the cold-start benchmark use it.
#[tauri::command]
fn ui_ready(app: tauri::AppHandle, state: State<'_, AppState>, ui_state: String) {
    let ms = state.started.elapsed().as_millis();
    tracing::info!(ms, ui_state, "UI ready");
    if std::env::var_os("GIFTPOS_EXIT_WHEN_READY").is_some() {
        println!("giftpos-terminal: ui ready in {ms} ms: {ui_state}");
        app.exit(0);
    }
}

/// Builds and runs the app.
pub fn run() {
    let started = Instant::now();
    let result = tauri::Builder::default()
        .setup(move |app| {
            let cfg = config::load(&LoadOptions::from_process(None));
            let log = cfg
                .as_ref()
                .ok()
                .map(|c| giftpos_app::logging::init(&c.log_dir, &c.log_level, "warn"));
            let terminal = tauri::async_runtime::block_on(async {
                Terminal::open(cfg?, Arc::new(SystemClock)).await
            });
            let scanner = terminal.as_ref().ok().and_then(start_scanner);
            match &terminal {
                // The journal syncs in the background for as long as the app runs.
                Ok(t) => {
                    let engine = t.engine().clone();
                    tauri::async_runtime::spawn(engine.run(Arc::new(tokio::sync::Notify::new())));
                }
                Err(e) => tracing::error!(code = e.code.as_str(), "terminal could not open: {e}"),
            }
            app.manage(AppState {
                terminal,
                _log: log,
                scanner,
                started,
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_info,
            ui_ready,
            sync_status,
            scanner_state
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("giftpos-terminal: {e}");
        std::process::exit(1);
    }
}
