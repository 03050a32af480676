//! The Tauri shell: set-up, state, one-line commands onto the application API
//! (`giftpos_app::Terminal`), and the core's events (scans, sync) turned into Tauri
//! events. Nothing here decides anything about gift cards.
//!
//! The commands and the shapes they return are listed in `ui/src/contract.json`; the
//! build script grants exactly those commands, and `src-tauri/tests/contract.rs` checks the Rust
//! types against it.

use std::sync::Arc;
use std::time::Instant;

use giftpos_app::SystemClock;
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::terminal::{Background, BackgroundEvent, BackgroundParts};
use giftpos_app::{AppError, Terminal, Till};
use tauri::{AppHandle, Emitter, Manager, Runtime};

pub use giftpos_app::terminal::SettingsView;

/// The commands the UI may call, named once: this makes both `COMMANDS` and the
/// handler the app registers, and the contract test holds `COMMANDS` to
/// `ui/src/contract.json` (from which the build script grants them to the page).
macro_rules! commands {
    ($($name:ident),* $(,)?) => {
        /// The commands the UI may call (the same list as `ui/src/contract.json`).
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$name),*]
        }
    };
}

commands!(
    app_info,
    ui_ready,
    sync_status,
    scanner_state,
    sign_in,
    sign_out,
    whoami,
    activity,
    scan,
    balance,
    sell,
    sell_override,
    top_up,
    top_up_override,
    reserve,
    complete,
    cancel,
    undo,
    history,
    history_entry,
    print_receipt,
    settings,
    start_payment,
    start_pay_rest,
    finish_payment,
    cancel_payment,
    return_sale,
    leave_kiosk,
    ui_error,
);

/// The events the UI listens to.
pub const EVENTS: &[&str] = &["scan", "sync", "scanner", "customer"];

type Res<T> = Result<T, AppError>;

mod commands;
mod windows;
pub use giftpos_app::terminal::{CustomerView, PaymentView};
use windows::{open_customer_display, restart_when_replaced, software_drawing};

/// What the shell holds: the terminal, or why it could not open (shown by the UI), and
/// its background (sync loop, serial reader, update check, metrics).
struct AppState {
    terminal: Result<Arc<Terminal>, AppError>,
    _log: Option<giftpos_app::logging::LogGuard>,
    background: Option<Background>,
    started: Instant,
    /// Kiosk mode: the window may close only after a manager let the app go.
    kiosk: bool,
    leaving: std::sync::atomic::AtomicBool,
}

impl AppState {
    /// The terminal, or why it could not open.
    fn terminal(&self) -> Res<&Terminal> {
        self.terminal.as_deref().map_err(Clone::clone)
    }

    /// The till, for the signed-in clerk (`Terminal` decides: `not_signed_in`, idle).
    fn at_till(&self) -> Res<Till<'_>> {
        self.terminal()?.at_till()
    }
}

/// Sends the background's events to the page: `sync`, `scan` and `scanner`.
fn forward_events<R: Runtime>(app: AppHandle<R>, bg: &Background) {
    let mut rx = bg.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            let sent = match rx.recv().await {
                Ok(BackgroundEvent::Sync(ev)) => app.emit("sync", ev),
                Ok(BackgroundEvent::Scan(scan)) => app.emit("scan", scan),
                Ok(BackgroundEvent::Scanner(st)) => app.emit("scanner", st),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Ok(()),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if let Err(e) = sent {
                tracing::warn!("event not sent to the page: {e}");
            }
        }
    });
}

/// Builds and runs the app.
pub fn run() {
    let builder = tauri::Builder::default()
        // First: a second launch focuses the running window and exits, so there is never
        // a second sync loop or a second reader on the (exclusive) serial port. Through
        // the session's D-Bus; without one the app starts normally.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("a second launch: focusing the running window");
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }));
    let result = build(builder, LoadOptions::from_process(None)).run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("giftpos-terminal: {e}");
        std::process::exit(1);
    }
}

/// The app on any Tauri runtime, configured from `config`: the real runtime (`run`) or
/// Tauri's mock runtime in the shell's tests.
pub fn build<R: Runtime>(builder: tauri::Builder<R>, config: LoadOptions) -> tauri::Builder<R> {
    let started = Instant::now();
    builder
        .setup(move |app| {
            let cfg = config::load(&config);
            let cfg_kiosk = cfg.as_ref().map(|c| c.kiosk).map_err(|_| ());
            let log = cfg
                .as_ref()
                .ok()
                .map(|c| giftpos_app::logging::init(&c.log_dir, &c.log_level, "warn"));
            // The terminal, and for as long as the app runs its background: the journal
            // syncing, the serial reader, update checks, fleet metrics.
            let (terminal, background) = tauri::async_runtime::block_on(async {
                match Terminal::open(cfg?, Arc::new(SystemClock))
                    .await
                    .map(Arc::new)
                {
                    Ok(t) => {
                        let bg = t.start_background(BackgroundParts::all()).await;
                        Ok((t, bg))
                    }
                    Err(e) => Err(e),
                }
            })
            .map_or_else(|e| (Err(e), None), |(t, bg)| (Ok(t), Some(bg)));
            match &background {
                Some(bg) => forward_events(app.handle().clone(), bg),
                None => {
                    if let Err(e) = &terminal {
                        tracing::error!(code = e.code.as_str(), "terminal could not open: {e}");
                    }
                }
            }
            if terminal.as_ref().is_ok_and(|t| t.config().customer_display) {
                // Drawn as WebKit does by default: switching a window made here to
                // software drawing stalls its page under WebDriver (seen with WebKitGTK
                // 2.50); the customer's screen is optional and off by default.
                open_customer_display(app.handle());
            }
            if !terminal.as_ref().is_ok_and(|t| t.config().gpu)
                && let Some(w) = app.get_webview_window("main")
            {
                software_drawing(&w);
            }
            // From IT's configuration alone, and closed when it cannot be read: a till
            // whose terminal cannot open (a corrupt journal, a full disk) stays a kiosk
            // and shows the error.
            let kiosk = match &cfg_kiosk {
                Ok(k) => *k,
                Err(()) => config::kiosk_fail_closed(&config),
            };
            if kiosk && let Some(w) = app.get_webview_window("main") {
                // A till, not a desktop window: the whole screen, no frame, no resizing
                // or closing by the clerk.
                let _ = w.set_decorations(false);
                let _ = w.set_resizable(false);
                let _ = w.set_closable(false);
                // Also the monitor's size and origin: without a window manager (a bare X
                // server, some kiosk compositors) a fullscreen request alone does nothing.
                if let Ok(Some(m)) = w.current_monitor().or_else(|_| w.primary_monitor()) {
                    let _ = w.set_position(*m.position());
                    let _ = w.set_size(*m.size());
                }
                let _ = w.set_fullscreen(true);
            }
            app.manage(AppState {
                terminal,
                _log: log,
                background,
                started,
                kiosk,
                leaving: std::sync::atomic::AtomicBool::new(false),
            });
            restart_when_replaced(app.handle().clone());
            Ok(())
        })
        .invoke_handler(handler())
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let state = window.state::<AppState>();
                if state.kiosk && !state.leaving.load(std::sync::atomic::Ordering::SeqCst) {
                    tracing::info!("kiosk mode: closing the window needs a manager");
                    api.prevent_close();
                }
            }
        })
}
