//! The commands the page may call (`COMMANDS`, `ui/src/contract.json`): each takes the
//! page's raw input and makes one call into `Terminal`, with what the customer's screen
//! should show.

use giftpos_app::terminal::{
    Background, CustomerView, PaymentView, Printed, ScanResult, SettingsView,
};
use giftpos_app::{
    BalanceView, Clerk, HistoryItem, ManagerInput, OperationResult, OverrideInput, Reservation,
    SellInput, Terminal, TerminalInfo,
};
use tauri::{AppHandle, Runtime, State};

use super::{AppState, Res};
use crate::windows::{thank_customer, to_customer};

/// Leaves kiosk mode (a manager's number and PIN): the app exits, the till shows the
/// desktop (or the session's next program).
#[tauri::command]
pub(crate) fn leave_kiosk<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    manager: String,
    manager_pin: String,
) -> Res<()> {
    let m = state
        .at_till()?
        .leave_kiosk(&manager_input(manager, manager_pin))?;
    tracing::warn!(manager = %m.manager(), "kiosk mode left by a manager");
    state
        .leaving
        .store(true, std::sync::atomic::Ordering::SeqCst);
    app.exit(0);
    Ok(())
}

#[tauri::command]
pub(crate) fn app_info(state: State<'_, AppState>) -> Res<TerminalInfo> {
    state.terminal().map(Terminal::info)
}

#[tauri::command]
pub(crate) fn sync_status(state: State<'_, AppState>) -> Res<giftpos_app::sync::SyncStatus> {
    state.terminal()?.sync_status()
}

#[tauri::command]
pub(crate) fn scanner_state(state: State<'_, AppState>) -> Option<giftpos_app::ReaderState> {
    state
        .background
        .as_ref()
        .and_then(Background::scanner_state)
}

#[tauri::command]
pub(crate) fn sign_in(state: State<'_, AppState>, number: String, pin_code: String) -> Res<Clerk> {
    state.terminal()?.sign_in_typed(&number, &pin_code)
}

#[tauri::command]
pub(crate) fn sign_out(state: State<'_, AppState>) -> Res<()> {
    state.terminal().map(Terminal::sign_out)
}

#[tauri::command]
pub(crate) fn whoami(state: State<'_, AppState>) -> Res<Option<Clerk>> {
    Ok(state.terminal()?.signed_in().ok())
}

/// The clerk touched the screen or the keyboard (or work is in flight): their idle
/// time starts again. Refused as `not_signed_in` once `Terminal` signed them out.
#[tauri::command]
pub(crate) fn activity(state: State<'_, AppState>) -> Res<()> {
    state.at_till().map(|_| ())
}

#[tauri::command]
pub(crate) fn scan(state: State<'_, AppState>, text: String) -> Res<ScanResult> {
    Ok(state.terminal()?.scan(&text))
}

#[tauri::command]
pub(crate) async fn balance(
    state: State<'_, AppState>,
    card: String,
    pin_code: Option<String>,
) -> Res<BalanceView> {
    state.at_till()?.balance(&card, pin_code.as_deref()).await
}

#[tauri::command]
pub(crate) async fn sell<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: Option<String>,
    tender: Option<String>,
    reference: Option<String>,
) -> Res<OperationResult> {
    let input = paid(card, amount, transaction_id, tender, reference);
    let r = state.at_till()?.sell(input).await;
    thank_customer(&app, r)
}

/// A sale or top-up as the page gave it.
fn paid(
    card: String,
    amount: String,
    transaction_id: Option<String>,
    tender: Option<String>,
    reference: Option<String>,
) -> SellInput {
    SellInput {
        card,
        amount,
        tender,
        transaction_id,
        reference,
        ..SellInput::default()
    }
}

/// A sale or top-up whose payment cannot be shown, let through by a manager.
fn overridden(
    card: String,
    amount: String,
    transaction_id: Option<String>,
    manager: String,
    manager_pin: String,
    reason: String,
) -> SellInput {
    SellInput {
        card,
        amount,
        transaction_id,
        approval: Some(OverrideInput {
            manager: ManagerInput {
                number: manager,
                pin: manager_pin,
            },
            reason,
        }),
        ..SellInput::default()
    }
}

/// A sale whose payment cannot be verified, let through by a manager with a reason.
#[tauri::command]
pub(crate) async fn sell_override(
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: String,
    manager: String,
    manager_pin: String,
    reason: String,
) -> Res<OperationResult> {
    let input = overridden(
        card,
        amount,
        Some(transaction_id),
        manager,
        manager_pin,
        reason,
    );
    state.at_till()?.sell(input).await
}

#[tauri::command]
pub(crate) async fn top_up<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: Option<String>,
    tender: Option<String>,
    reference: Option<String>,
) -> Res<OperationResult> {
    let input = paid(card, amount, transaction_id, tender, reference);
    let r = state.at_till()?.top_up(input).await;
    thank_customer(&app, r)
}

/// A top-up no payment can be shown for, let through by a manager with a reason.
#[tauri::command]
pub(crate) async fn top_up_override(
    state: State<'_, AppState>,
    card: String,
    amount: String,
    transaction_id: Option<String>,
    manager: String,
    manager_pin: String,
    reason: String,
) -> Res<OperationResult> {
    let input = overridden(card, amount, transaction_id, manager, manager_pin, reason);
    state.at_till()?.top_up(input).await
}

#[tauri::command]
pub(crate) async fn reserve(
    state: State<'_, AppState>,
    card: String,
    amount: String,
    pin_code: String,
) -> Res<Reservation> {
    state.at_till()?.reserve(&card, &amount, &pin_code).await
}

#[tauri::command]
pub(crate) async fn complete(
    state: State<'_, AppState>,
    operation_id: String,
    amount: Option<String>,
) -> Res<OperationResult> {
    state
        .at_till()?
        .complete(&operation_id, amount.as_deref())
        .await
}

#[tauri::command]
pub(crate) async fn cancel(
    state: State<'_, AppState>,
    operation_id: String,
) -> Res<OperationResult> {
    state.at_till()?.cancel(&operation_id).await
}

fn manager_input(number: String, pin: String) -> ManagerInput {
    ManagerInput { number, pin }
}

/// Void or refund: needs a manager's number and PIN, given on the approval dialog.
#[tauri::command]
pub(crate) async fn undo(
    state: State<'_, AppState>,
    entry_id: String,
    manager: String,
    manager_pin: String,
) -> Res<OperationResult> {
    let m = manager_input(manager, manager_pin);
    state.at_till()?.undo(&entry_id, &m).await
}

#[tauri::command]
pub(crate) fn history(state: State<'_, AppState>) -> Res<Vec<HistoryItem>> {
    state.at_till()?.history()
}

#[tauri::command]
pub(crate) fn history_entry(state: State<'_, AppState>, entry_id: String) -> Res<HistoryItem> {
    state.at_till()?.history_entry(&entry_id)
}

#[tauri::command]
pub(crate) fn print_receipt(state: State<'_, AppState>, entry_id: String) -> Res<Printed> {
    state.at_till()?.print_receipt(&entry_id)
}

#[tauri::command]
pub(crate) async fn start_payment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    amount: String,
    top_up: Option<bool>,
) -> Res<PaymentView> {
    let till = state.at_till()?;
    let view = till
        .start_payment(&card, &amount, top_up == Some(true))
        .await?;
    to_customer(&app, CustomerView::pay(&view));
    Ok(view)
}

/// Pay the rest with Dintero: the customer's card (checked with its PIN) pays what it
/// holds of `total` inside one Checkout payment, the customer pays the rest by QR code.
#[tauri::command]
pub(crate) async fn start_pay_rest<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    card: String,
    pin_code: String,
    total: String,
) -> Res<PaymentView> {
    let till = state.at_till()?;
    let view = till.start_pay_rest(&card, &pin_code, &total).await?;
    to_customer(&app, CustomerView::pay(&view));
    Ok(view)
}

/// Waits (up to 15 minutes) for the customer to pay, then activates the card.
#[tauri::command]
pub(crate) async fn finish_payment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    operation_id: String,
) -> Res<OperationResult> {
    let wait = std::time::Duration::from_secs(900);
    let r = state.at_till()?.finish_payment(&operation_id, wait).await;
    thank_customer(&app, r)
}

#[tauri::command]
pub(crate) async fn cancel_payment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    operation_id: String,
) -> Res<()> {
    to_customer(&app, CustomerView::idle());
    state.at_till()?.cancel_payment(&operation_id).await
}

/// Return of an unused card sold through Checkout: needs a manager.
#[tauri::command]
pub(crate) async fn return_sale(
    state: State<'_, AppState>,
    entry_id: String,
    manager: String,
    manager_pin: String,
) -> Res<OperationResult> {
    let m = manager_input(manager, manager_pin);
    state.at_till()?.return_sale(&entry_id, &m).await
}

/// The Settings screen: the configuration and the doctor's checks.
#[tauri::command]
pub(crate) async fn settings(state: State<'_, AppState>) -> Res<SettingsView> {
    Ok(state.at_till()?.settings().await)
}

/// An error in a page (`onerror`, `unhandledrejection`): to the log, where IT looks.
/// Shortened; pages put no PIN or token in their errors.
#[tauri::command]
pub(crate) fn ui_error(message: String) {
    let message: String = message.chars().take(2000).collect();
    tracing::error!(target: "giftpos_ui", "page error: {message}");
}

/// The UI calls this once it is interactive. With `GIFTPOS_EXIT_WHEN_READY=1` the app
/// then exits: the smoke test and the cold-start benchmark use it.
#[tauri::command]
pub(crate) fn ui_ready<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    ui_state: String,
) {
    let ms = state.started.elapsed().as_millis();
    tracing::info!(ms, ui_state, "UI ready");
    println!("giftpos-terminal: ui ready in {ms} ms: {ui_state}");
    if std::env::var_os("GIFTPOS_EXIT_WHEN_READY").is_some() {
        app.exit(0);
    }
}
