//! The Tauri shell: set-up, state, one-line commands onto the application API
//! (`giftpos_app::Terminal`), and the core's events (scans, sync) turned into Tauri
//! events. Nothing here decides anything about gift cards.
//!
//! The commands and the shapes they return are listed in `ui/src/contract.json`; the
//! build script grants exactly those commands, and `tests/contract.rs` checks the Rust
//! types against it.

use std::sync::Arc;
use std::time::Instant;

use giftpos_app::approval::{Approval, ManagerAction};
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::tender::Payment;
use giftpos_app::terminal::{Background, BackgroundEvent, BackgroundParts, Printed, ScanResult};
use giftpos_app::{
    AppError, BalanceView, Clerk, HistoryItem, OperationResult, Reservation, Terminal, TerminalInfo,
};
use giftpos_core::Pin;
use giftpos_dintero::SystemClock;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

pub use giftpos_app::terminal::SettingsView;

/// The commands the UI may call (the same list as `ui/src/contract.json`).
pub const COMMANDS: &[&str] = &[
    "app_info",
    "ui_ready",
    "sync_status",
    "scanner_state",
    "sign_in",
    "sign_out",
    "whoami",
    "activity",
    "scan",
    "balance",
    "sell",
    "sell_override",
    "top_up",
    "top_up_override",
    "reserve",
    "complete",
    "cancel",
    "undo",
    "history",
    "history_entry",
    "print_receipt",
    "settings",
    "start_payment",
    "start_pay_rest",
    "finish_payment",
    "cancel_payment",
    "return_sale",
    "leave_kiosk",
    "ui_error",
];

/// The events the UI listens to.
pub const EVENTS: &[&str] = &["scan", "sync", "scanner", "customer"];

type Res<T> = Result<T, AppError>;

mod windows;
pub use windows::CustomerView;
use windows::{
    open_customer_display, restart_when_replaced, software_drawing, thank_customer, to_customer,
};

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
    fn till(&self) -> Res<&Terminal> {
        self.terminal.as_deref().map_err(Clone::clone)
    }

    /// The terminal, for an operation only a signed-in clerk may do.
    /// Each one counts as the clerk's activity; an idle clerk is signed out by
    /// `Terminal`, not by the page.
    fn clerk_till(&self) -> Res<&Terminal> {
        let t = self.till()?;
        t.clerk_action()?;
        Ok(t)
    }

    /// The terminal and the manager approving on the dialog, for what needs one.
    fn manager_till(
        &self,
        manager: &str,
        manager_pin: &str,
        action: ManagerAction,
    ) -> Res<(&Terminal, Approval)> {
        let t = self.clerk_till()?;
        Ok((t, t.approve(manager, &pin(manager_pin)?, action)?))
    }
}

fn pin(p: &str) -> Res<Pin> {
    Ok(Pin::parse(p)?)
}

/// Leaves kiosk mode (a manager's number and PIN): the app exits, the till shows the
/// desktop (or the session's next program).
#[tauri::command]
fn leave_kiosk<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    manager: String,
    manager_pin: String,
) -> Res<()> {
    let (_, m) = state.manager_till(&manager, &manager_pin, ManagerAction::LeaveKiosk)?;
    tracing::warn!(manager = %m.manager(), "kiosk mode left by a manager");
    state
        .leaving
        .store(true, std::sync::atomic::Ordering::SeqCst);
    app.exit(0);
    Ok(())
}

#[tauri::command]
fn app_info(state: State<'_, AppState>) -> Res<TerminalInfo> {
    state.till().map(Terminal::info)
}

#[tauri::command]
fn sync_status(state: State<'_, AppState>) -> Res<giftpos_app::sync::SyncStatus> {
    state.till()?.sync_status()
}

#[tauri::command]
fn scanner_state(state: State<'_, AppState>) -> Option<giftpos_scanner::ReaderState> {
    state
        .background
        .as_ref()
        .and_then(Background::scanner_state)
}

#[tauri::command]
fn sign_in(state: State<'_, AppState>, number: String, pin_code: String) -> Res<Clerk> {
    state.till()?.sign_in(&number, &pin(&pin_code)?)
}

#[tauri::command]
fn sign_out(state: State<'_, AppState>) -> Res<()> {
    state.till().map(Terminal::sign_out)
}

#[tauri::command]
fn whoami(state: State<'_, AppState>) -> Res<Option<Clerk>> {
    Ok(state.till()?.signed_in().ok())
}

/// The clerk touched the screen or the keyboard (or work is in flight): their idle
/// time starts again. Refused as `not_signed_in` once `Terminal` signed them out.
#[tauri::command]
fn activity(state: State<'_, AppState>) -> Res<()> {
    state.till()?.clerk_action().map(|_| ())
}

#[tauri::command]
fn scan(state: State<'_, AppState>, text: String) -> Res<ScanResult> {
    Ok(state.till()?.scan(&text))
}

#[tauri::command]
async fn balance(
    state: State<'_, AppState>,
    card: String,
    pin_code: Option<String>,
) -> Res<BalanceView> {
    let t = state.clerk_till()?;
    let p = pin_code.as_deref().map(pin).transpose()?;
    t.balance(&t.card_input(&card)?, p.as_ref()).await
}

#[tauri::command]
async fn sell<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: Option<String>,
    tender: Option<String>,
    reference: Option<String>,
) -> Res<OperationResult> {
    let t = state.clerk_till()?;
    let (token, amount, payment) = paid(t, &card, &amount, tender, transaction_id, reference)?;
    let r = t.sell_paid(&token, amount, payment).await;
    thank_customer(&app, r)
}

/// The card, the amount and what pays for them, as the page gave them: the amount
/// checked before the payment, so a wrong amount is named first.
fn paid(
    t: &Terminal,
    card: &str,
    amount: &str,
    tender: Option<String>,
    transaction_id: Option<String>,
    reference: Option<String>,
) -> Res<(giftpos_core::CardToken, giftpos_core::Money, Payment)> {
    let (token, amount) = (t.card_input(card)?, t.parse_amount(amount)?);
    let payment = Payment::from_input(
        tender.as_deref(),
        transaction_id.as_deref(),
        reference.as_deref(),
    )?;
    Ok((token, amount, payment))
}

/// A sale whose payment cannot be verified, let through by a manager with a reason.
#[tauri::command]
async fn sell_override(
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: String,
    manager: String,
    manager_pin: String,
    reason: String,
) -> Res<OperationResult> {
    let (t, approval) =
        state.manager_till(&manager, &manager_pin, ManagerAction::PaymentOverride)?;
    let sale = giftpos_app::Activation {
        token: t.card_input(&card)?,
        amount: t.parse_amount(&amount)?,
        transaction_id: transaction_id.trim().to_string(),
        customer_id: None,
        expires_at: None,
    };
    t.activate_with_override(sale, &approval, &reason).await
}

#[tauri::command]
async fn top_up<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: Option<String>,
    tender: Option<String>,
    reference: Option<String>,
) -> Res<OperationResult> {
    let t = state.clerk_till()?;
    let (token, amount, payment) = paid(t, &card, &amount, tender, transaction_id, reference)?;
    let r = t.top_up(&token, amount, payment).await;
    thank_customer(&app, r)
}

/// A top-up no payment can be shown for, let through by a manager with a reason.
#[tauri::command]
async fn top_up_override(
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: Option<String>,
    manager: String,
    manager_pin: String,
    reason: String,
) -> Res<OperationResult> {
    let (t, approval) =
        state.manager_till(&manager, &manager_pin, ManagerAction::PaymentOverride)?;
    t.top_up_with_override(
        &t.card_input(&card)?,
        t.parse_amount(&amount)?,
        &approval,
        &reason,
        transaction_id,
    )
    .await
}

#[tauri::command]
async fn reserve(
    state: State<'_, AppState>,
    card: String,
    amount: String,
    pin_code: String,
) -> Res<Reservation> {
    let t = state.clerk_till()?;
    t.reserve(
        &t.card_input(&card)?,
        t.parse_amount(&amount)?,
        &pin(&pin_code)?,
    )
    .await
}

#[tauri::command]
async fn complete(
    state: State<'_, AppState>,
    operation_id: String,
    amount: Option<String>,
) -> Res<OperationResult> {
    let t = state.clerk_till()?;
    let amount = amount.as_deref().map(|a| t.parse_amount(a)).transpose()?;
    t.complete(&t.reservation(&operation_id)?, amount).await
}

#[tauri::command]
async fn cancel(state: State<'_, AppState>, operation_id: String) -> Res<OperationResult> {
    let t = state.clerk_till()?;
    t.cancel(&t.reservation(&operation_id)?).await
}

/// Void or refund: needs a manager's number and PIN, given on the approval dialog.
#[tauri::command]
async fn undo(
    state: State<'_, AppState>,
    entry_id: String,
    manager: String,
    manager_pin: String,
) -> Res<OperationResult> {
    let (t, a) = state.manager_till(&manager, &manager_pin, ManagerAction::Void)?;
    t.undo(&entry_id, &a).await
}

#[tauri::command]
fn history(state: State<'_, AppState>) -> Res<Vec<HistoryItem>> {
    state.clerk_till()?.history(None)
}

#[tauri::command]
fn history_entry(state: State<'_, AppState>, entry_id: String) -> Res<HistoryItem> {
    state.clerk_till()?.history_entry(&entry_id)
}

#[tauri::command]
fn print_receipt(state: State<'_, AppState>, entry_id: String) -> Res<Printed> {
    state.clerk_till()?.print_receipt(&entry_id)
}

/// A Checkout payment waiting for the customer, with its URL as a QR code (SVG).
#[derive(Debug, Serialize)]
pub struct PaymentView {
    #[serde(flatten)]
    pub payment: giftpos_app::terminal::PaymentSession,
    pub qr_svg: String,
}

#[tauri::command]
async fn start_payment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    amount: String,
    top_up: Option<bool>,
) -> Res<PaymentView> {
    let t = state.clerk_till()?;
    let (token, amount) = (t.card_input(&card)?, t.parse_amount(&amount)?);
    let payment = if top_up == Some(true) {
        t.start_top_up_payment(&token, amount).await?
    } else {
        t.start_payment(&token, amount).await?
    };
    Ok(show_payment(&app, payment))
}

/// The payment's QR code for the clerk's screen and the customer's: the customer sees
/// what is left for them to pay (and, paying the rest, what their gift card pays).
fn show_payment<R: Runtime>(
    app: &AppHandle<R>,
    payment: giftpos_app::terminal::PaymentSession,
) -> PaymentView {
    let view = PaymentView {
        qr_svg: giftpos_print::qr_svg(&payment.url),
        payment,
    };
    to_customer(
        app,
        CustomerView {
            state: "pay",
            amount: view.payment.rest.or(Some(view.payment.amount)),
            qr_svg: Some(view.qr_svg.clone()),
            balance: None,
            gift_card: view.payment.gift_card_part,
        },
    );
    view
}

/// Pay the rest with Dintero: the customer's card (checked with its PIN) pays what it
/// holds of `total` inside one Checkout payment, the customer pays the rest by QR code.
#[tauri::command]
async fn start_pay_rest<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    pin_code: String,
    total: String,
) -> Res<PaymentView> {
    let t = state.clerk_till()?;
    let (token, total) = (t.card_input(&card)?, t.parse_amount(&total)?);
    let payment = t.start_pay_rest(&token, &pin(&pin_code)?, total).await?;
    Ok(show_payment(&app, payment))
}

/// Waits (up to 15 minutes) for the customer to pay, then activates the card.
#[tauri::command]
async fn finish_payment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    operation_id: String,
) -> Res<OperationResult> {
    let wait = std::time::Duration::from_secs(900);
    let r = state
        .clerk_till()?
        .finish_payment(&operation_id, wait)
        .await;
    thank_customer(&app, r)
}

#[tauri::command]
async fn cancel_payment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    operation_id: String,
) -> Res<()> {
    to_customer(&app, CustomerView::idle());
    state.clerk_till()?.cancel_payment(&operation_id).await
}

/// Return of an unused card sold through Checkout: needs a manager.
#[tauri::command]
async fn return_sale(
    state: State<'_, AppState>,
    entry_id: String,
    manager: String,
    manager_pin: String,
) -> Res<OperationResult> {
    let (t, a) = state.manager_till(&manager, &manager_pin, ManagerAction::Return)?;
    t.return_sale(&entry_id, &a).await
}

/// The Settings screen: the configuration and the doctor's checks.
#[tauri::command]
async fn settings(state: State<'_, AppState>) -> Res<SettingsView> {
    Ok(state.clerk_till()?.settings_view().await)
}

/// An error in a page (`onerror`, `unhandledrejection`): to the log, where IT looks.
/// Shortened; pages put no PIN or token in their errors.
#[tauri::command]
fn ui_error(message: String) {
    let message: String = message.chars().take(2000).collect();
    tracing::error!(target: "giftpos_ui", "page error: {message}");
}

/// The UI calls this once it is interactive. With `GIFTPOS_EXIT_WHEN_READY=1` the app
/// then exits: the smoke test and the cold-start benchmark use it.
#[tauri::command]
fn ui_ready<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, ui_state: String) {
    let ms = state.started.elapsed().as_millis();
    tracing::info!(ms, ui_state, "UI ready");
    println!("giftpos-terminal: ui ready in {ms} ms: {ui_state}");
    if std::env::var_os("GIFTPOS_EXIT_WHEN_READY").is_some() {
        app.exit(0);
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
        .invoke_handler(tauri::generate_handler![
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
            ui_error
        ])
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
