//! The commands the page may call (`COMMANDS`, `ui/src/contract.json`): each takes the
//! page's raw input and makes one call into `Terminal`, with what the customer's screen
//! should show.

use giftpos_app::Pin;
use giftpos_app::approval::ManagerAction;
use giftpos_app::tender::Payment;
use giftpos_app::terminal::{Background, Printed, ScanResult, SettingsView};
use giftpos_app::{
    BalanceView, Clerk, HistoryItem, OperationResult, Reservation, Terminal, TerminalInfo,
};
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use super::{AppState, Res};
use crate::windows::{CustomerView, thank_customer, to_customer};

pub(crate) fn pin(p: &str) -> Res<Pin> {
    Ok(Pin::parse(p)?)
}

/// Leaves kiosk mode (a manager's number and PIN): the app exits, the till shows the
/// desktop (or the session's next program).
#[tauri::command]
pub(crate) fn leave_kiosk<R: Runtime>(
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
pub(crate) fn app_info(state: State<'_, AppState>) -> Res<TerminalInfo> {
    state.till().map(Terminal::info)
}

#[tauri::command]
pub(crate) fn sync_status(state: State<'_, AppState>) -> Res<giftpos_app::sync::SyncStatus> {
    state.till()?.sync_status()
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
    state.till()?.sign_in(&number, &pin(&pin_code)?)
}

#[tauri::command]
pub(crate) fn sign_out(state: State<'_, AppState>) -> Res<()> {
    state.till().map(Terminal::sign_out)
}

#[tauri::command]
pub(crate) fn whoami(state: State<'_, AppState>) -> Res<Option<Clerk>> {
    Ok(state.till()?.signed_in().ok())
}

/// The clerk touched the screen or the keyboard (or work is in flight): their idle
/// time starts again. Refused as `not_signed_in` once `Terminal` signed them out.
#[tauri::command]
pub(crate) fn activity(state: State<'_, AppState>) -> Res<()> {
    state.till()?.clerk_action().map(|_| ())
}

#[tauri::command]
pub(crate) fn scan(state: State<'_, AppState>, text: String) -> Res<ScanResult> {
    Ok(state.till()?.scan(&text))
}

#[tauri::command]
pub(crate) async fn balance(
    state: State<'_, AppState>,
    card: String,
    pin_code: Option<String>,
) -> Res<BalanceView> {
    let t = state.clerk_till()?;
    let p = pin_code.as_deref().map(pin).transpose()?;
    t.balance(&t.card_input(&card)?, p.as_ref()).await
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
) -> Res<(giftpos_app::CardToken, giftpos_app::Money, Payment)> {
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
pub(crate) async fn sell_override(
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
pub(crate) async fn top_up<R: Runtime>(
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
pub(crate) async fn top_up_override(
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
pub(crate) async fn reserve(
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
pub(crate) async fn complete(
    state: State<'_, AppState>,
    operation_id: String,
    amount: Option<String>,
) -> Res<OperationResult> {
    let t = state.clerk_till()?;
    let amount = amount.as_deref().map(|a| t.parse_amount(a)).transpose()?;
    t.complete(&t.reservation(&operation_id)?, amount).await
}

#[tauri::command]
pub(crate) async fn cancel(
    state: State<'_, AppState>,
    operation_id: String,
) -> Res<OperationResult> {
    let t = state.clerk_till()?;
    t.cancel(&t.reservation(&operation_id)?).await
}

/// Void or refund: needs a manager's number and PIN, given on the approval dialog.
#[tauri::command]
pub(crate) async fn undo(
    state: State<'_, AppState>,
    entry_id: String,
    manager: String,
    manager_pin: String,
) -> Res<OperationResult> {
    let (t, a) = state.manager_till(&manager, &manager_pin, ManagerAction::Void)?;
    t.undo(&entry_id, &a).await
}

#[tauri::command]
pub(crate) fn history(state: State<'_, AppState>) -> Res<Vec<HistoryItem>> {
    state.clerk_till()?.history(None)
}

#[tauri::command]
pub(crate) fn history_entry(state: State<'_, AppState>, entry_id: String) -> Res<HistoryItem> {
    state.clerk_till()?.history_entry(&entry_id)
}

#[tauri::command]
pub(crate) fn print_receipt(state: State<'_, AppState>, entry_id: String) -> Res<Printed> {
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
pub(crate) async fn start_payment<R: Runtime>(
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
        qr_svg: payment.qr_svg(),
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
pub(crate) async fn start_pay_rest<R: Runtime>(
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
pub(crate) async fn finish_payment<R: Runtime>(
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
pub(crate) async fn cancel_payment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    operation_id: String,
) -> Res<()> {
    to_customer(&app, CustomerView::idle());
    state.clerk_till()?.cancel_payment(&operation_id).await
}

/// Return of an unused card sold through Checkout: needs a manager.
#[tauri::command]
pub(crate) async fn return_sale(
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
pub(crate) async fn settings(state: State<'_, AppState>) -> Res<SettingsView> {
    Ok(state.clerk_till()?.settings_view().await)
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
