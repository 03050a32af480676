//! A clerk's actions from what was typed or scanned: one call per action, the same for
//! the page (through the shell) and the CLI. Each call parses and trims its input,
//! checks who acts, asks for the manager's approval the action needs (the action is
//! named here, never by the adapter) and runs the typed use case on [`Terminal`].
//!
//! Who acts: at the till ([`Terminal::at_till`]), a signed-in clerk — each call is their
//! activity, and an idle clerk is signed out here; at the console
//! ([`Terminal::at_console`], the CLI), the operator the data folder's permissions let
//! in, with no clerk signed in. Either way, money moves only with a payment or a named
//! manager's approval.

use std::time::Duration;

use giftpos_core::{CardToken, Currency, Money, OperationKind, Pin};

use super::sale::check_reason;
use super::session::ACTING;
use super::views::{
    Activation, BalanceView, OperationResult, PaymentView, Reservation, SettingsView,
};
use super::{HistoryItem, Printed, Terminal, check_transaction_id};
use crate::approval::{Approval, ManagerAction};
use crate::clerks::{Clerk, Role};
use crate::error::{AppError, ErrorCode};
use crate::tender::Payment;

/// A manager approving on the clerk's screen or at the console: their number and PIN
/// as typed. The PIN is checked (with the sign-in lockout) and never kept.
#[derive(Clone, Default)]
pub struct ManagerInput {
    pub number: String,
    pub pin: String,
}

impl std::fmt::Debug for ManagerInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagerInput")
            .field("number", &self.number)
            .field("pin", &"…")
            .finish()
    }
}

/// A manager letting a sale or top-up through whose payment cannot be verified: who,
/// and why (kept on the entry, printed on the receipt and the Z-report).
#[derive(Debug, Clone, Default)]
pub struct OverrideInput {
    pub manager: ManagerInput,
    pub reason: String,
}

/// A sale or a top-up as given: the card (a scan handle or a typed number), the amount
/// in the terminal's locale, and what pays — a tender (none: Dintero), the Dintero
/// payment's reference, a card terminal's reference — or a manager's override.
#[derive(Clone, Default)]
pub struct SellInput {
    pub card: String,
    pub amount: String,
    /// ISO 4217; none: the terminal's currency.
    pub currency: Option<String>,
    pub tender: Option<String>,
    pub transaction_id: Option<String>,
    pub reference: Option<String>,
    /// A sale only: the customer the card is sold to.
    pub customer_id: Option<String>,
    /// A sale only: when the card expires (RFC 3339).
    pub expires_at: Option<String>,
    /// Instead of a verified payment: a manager's override.
    pub approval: Option<OverrideInput>,
}

impl std::fmt::Debug for SellInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A typed card number is a whole token: only its last four are shown.
        let card: String = self.card.trim().chars().rev().take(4).collect();
        let card: String = format!("…{}", card.chars().rev().collect::<String>());
        f.debug_struct("SellInput")
            .field("card", &card)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("tender", &self.tender)
            .field("transaction_id", &self.transaction_id)
            .field("reference", &self.reference)
            .field("customer_id", &self.customer_id)
            .field("expires_at", &self.expires_at)
            .field("approval", &self.approval)
            .finish()
    }
}

/// The terminal as one person at it acts: a signed-in clerk at the till, or the operator
/// at the console.
#[derive(Debug)]
pub struct Till<'a> {
    terminal: &'a Terminal,
    clerk: Option<Clerk>,
}

impl Terminal {
    /// The till, for the signed-in clerk: `not_signed_in` when nobody is (or the clerk
    /// was idle too long). Taking it counts as the clerk's activity.
    pub fn at_till(&self) -> Result<Till<'_>, AppError> {
        let clerk = self.clerk_action()?;
        Ok(Till {
            terminal: self,
            clerk: Some(clerk),
        })
    }

    /// The console (the CLI): no clerk signs in there; the data folder's permissions
    /// decide who may run it, and managers approve with their number and PIN.
    pub fn at_console(&self) -> Till<'_> {
        Till {
            terminal: self,
            clerk: None,
        }
    }

    /// Signs a clerk in with the number and PIN they typed (surrounding blanks dropped).
    pub fn sign_in_typed(&self, number: &str, pin: &str) -> Result<Clerk, AppError> {
        self.sign_in(number.trim(), &Pin::parse(pin)?)
    }
}

impl Till<'_> {
    /// The clerk acting, at the till.
    pub fn clerk(&self) -> Option<&Clerk> {
        self.clerk.as_ref()
    }

    /// The terminal behind the till.
    pub fn terminal(&self) -> &Terminal {
        self.terminal
    }

    /// A card's balance: amounts with the PIN, the status alone without it.
    pub async fn balance(&self, card: &str, pin: Option<&str>) -> Result<BalanceView, AppError> {
        let token = self.card(card)?;
        let pin = pin.map(Pin::parse).transpose()?;
        self.terminal.balance(&token, pin.as_ref()).await
    }

    /// Sells a printed card: paid (a verified Dintero payment, or a tender IT allows),
    /// or let through by a manager's override.
    pub async fn sell(&self, input: SellInput) -> Result<OperationResult, AppError> {
        self.acting(async { self.load(OperationKind::Activate, input).await })
            .await
    }

    /// Loads more money onto a sold card, paid like a sale.
    pub async fn top_up(&self, input: SellInput) -> Result<OperationResult, AppError> {
        self.acting(async { self.load(OperationKind::TopUp, input).await })
            .await
    }

    /// Reserves `amount` on the card (checked with its PIN) until complete or cancel.
    pub async fn reserve(
        &self,
        card: &str,
        amount: &str,
        pin: &str,
    ) -> Result<Reservation, AppError> {
        self.acting(async {
            let (token, amount) = (self.card(card)?, self.amount(amount)?);
            let pin = Pin::parse(pin)?;
            self.terminal.reserve(&token, amount, &pin).await
        })
        .await
    }

    /// Redeems in one go: reserve, then complete.
    pub async fn redeem(
        &self,
        card: &str,
        amount: &str,
        pin: &str,
    ) -> Result<OperationResult, AppError> {
        self.acting(async {
            let (token, amount) = (self.card(card)?, self.amount(amount)?);
            let pin = Pin::parse(pin)?;
            self.terminal.redeem(&token, amount, &pin).await
        })
        .await
    }

    /// Completes a reservation, for all of it or (`amount`) part of it.
    pub async fn complete(
        &self,
        reservation: &str,
        amount: Option<&str>,
    ) -> Result<OperationResult, AppError> {
        self.acting(async {
            let r = self.terminal.reservation(reservation.trim())?;
            let amount = amount.map(|a| self.amount(a)).transpose()?;
            self.terminal.complete(&r, amount).await
        })
        .await
    }

    /// Cancels a reservation: the card's money is released.
    pub async fn cancel(&self, reservation: &str) -> Result<OperationResult, AppError> {
        self.acting(async {
            let r = self.terminal.reservation(reservation.trim())?;
            self.terminal.cancel(&r).await
        })
        .await
    }

    /// Voids or refunds an entry: a manager approves.
    pub async fn undo(
        &self,
        entry_id: &str,
        manager: &ManagerInput,
    ) -> Result<OperationResult, AppError> {
        self.acting(async {
            let (id, a) = self.approved_for(entry_id, manager, ManagerAction::Void)?;
            self.terminal.undo(&id, &a).await
        })
        .await
    }

    /// Takes back an unused card sold through Checkout (by its sale): a manager
    /// approves; the payment is refunded.
    pub async fn return_sale(
        &self,
        entry_id: &str,
        manager: &ManagerInput,
    ) -> Result<OperationResult, AppError> {
        self.acting(async {
            let (id, a) = self.approved_for(entry_id, manager, ManagerAction::Return)?;
            self.terminal.return_sale(&id, &a).await
        })
        .await
    }

    /// Takes back an unused card (by the card): a manager approves.
    pub async fn return_card(
        &self,
        card: &str,
        manager: &ManagerInput,
    ) -> Result<OperationResult, AppError> {
        self.acting(async {
            let token = self.card(card)?;
            let a = self.approve(manager, ManagerAction::Return)?;
            self.terminal.return_card(&token, &a).await
        })
        .await
    }

    /// A Checkout payment for a sale (or, `top_up`, a top-up), waiting for the
    /// customer, with its QR code.
    pub async fn start_payment(
        &self,
        card: &str,
        amount: &str,
        top_up: bool,
    ) -> Result<PaymentView, AppError> {
        self.acting(async {
            let (token, amount) = (self.card(card)?, self.amount(amount)?);
            let session = if top_up {
                self.terminal.start_top_up_payment(&token, amount).await?
            } else {
                self.terminal.start_payment(&token, amount).await?
            };
            Ok(PaymentView::from(session))
        })
        .await
    }

    /// Pay the rest with Dintero: the customer's card (checked with its PIN) pays what
    /// it holds of `total`, the customer the rest, in one Checkout payment.
    pub async fn start_pay_rest(
        &self,
        card: &str,
        pin: &str,
        total: &str,
    ) -> Result<PaymentView, AppError> {
        self.acting(async {
            let (token, total) = (self.card(card)?, self.amount(total)?);
            let pin = Pin::parse(pin)?;
            let session = self.terminal.start_pay_rest(&token, &pin, total).await?;
            Ok(PaymentView::from(session))
        })
        .await
    }

    /// Waits (up to `wait`) for the customer to pay, then loads the card.
    pub async fn finish_payment(
        &self,
        operation_id: &str,
        wait: Duration,
    ) -> Result<OperationResult, AppError> {
        self.acting(async {
            self.terminal
                .finish_payment(operation_id.trim(), wait)
                .await
        })
        .await
    }

    /// The customer did not pay: the payment is cancelled, nothing is loaded.
    pub async fn cancel_payment(&self, operation_id: &str) -> Result<(), AppError> {
        self.acting(async { self.terminal.cancel_payment(operation_id.trim()).await })
            .await
    }

    /// Today's operations and those still open, newest first.
    pub fn history(&self) -> Result<Vec<HistoryItem>, AppError> {
        self.terminal.history(None)
    }

    pub fn history_entry(&self, entry_id: &str) -> Result<HistoryItem, AppError> {
        self.terminal.history_entry(entry_id.trim())
    }

    /// Prints an entry's receipt (and saves it for a reprint).
    pub fn print_receipt(&self, entry_id: &str) -> Result<Printed, AppError> {
        self.terminal.print_receipt(entry_id.trim())
    }

    /// The read-only Settings screen.
    pub async fn settings(&self) -> SettingsView {
        self.terminal.settings_view().await
    }

    /// A manager settles an entry that needs attention, saying what happened instead.
    pub fn resolve(
        &self,
        entry_id: &str,
        manager: &ManagerInput,
        note: &str,
    ) -> Result<giftpos_journal::Entry, AppError> {
        if note.trim().is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "resolving needs a note: what happened instead",
            ));
        }
        let (id, a) = self.approved_for(entry_id, manager, ManagerAction::Resolve)?;
        self.terminal.resolve(&id, &a, note)
    }

    /// Adds a clerk or manager (or changes one): with a manager's approval, by IT
    /// (root), or the very first one.
    pub fn add_clerk(
        &self,
        number: &str,
        name: &str,
        role: &str,
        pin: &str,
        manager: Option<&ManagerInput>,
    ) -> Result<Clerk, AppError> {
        let role = Role::parse(role)?;
        let pin = Pin::parse(pin)?;
        let a = manager
            .map(|m| self.approve(m, ManagerAction::ManageClerks))
            .transpose()?;
        self.terminal
            .add_clerk(number.trim(), name.trim(), role, &pin, a.as_ref())
    }

    /// Removes a clerk, approved like adding one.
    pub fn remove_clerk(
        &self,
        number: &str,
        manager: Option<&ManagerInput>,
    ) -> Result<(), AppError> {
        let a = manager
            .map(|m| self.approve(m, ManagerAction::ManageClerks))
            .transpose()?;
        self.terminal.remove_clerk(number.trim(), a.as_ref())
    }

    /// A manager lets the app leave kiosk mode: the approval, for the log.
    pub fn leave_kiosk(&self, manager: &ManagerInput) -> Result<Approval, AppError> {
        self.approve(manager, ManagerAction::LeaveKiosk)
    }

    /// A manager's approval of `action`, from their number and PIN as typed.
    pub fn approve(
        &self,
        manager: &ManagerInput,
        action: ManagerAction,
    ) -> Result<Approval, AppError> {
        self.terminal
            .approve(&manager.number, &Pin::parse(&manager.pin)?, action)
    }

    /// Runs `f` as this till's clerk: what it records names them.
    async fn acting<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        let clerk = self.clerk.as_ref().map(|c| c.number.clone());
        ACTING.scope(clerk, f).await
    }

    /// A manager's approval of `action` on an entry: the entry first, so a manager's
    /// PIN is not tried for an entry that is not there. Returns the entry's id.
    fn approved_for(
        &self,
        entry_id: &str,
        manager: &ManagerInput,
        action: ManagerAction,
    ) -> Result<(String, Approval), AppError> {
        let id = self.terminal.journal_entry(entry_id.trim())?.id;
        Ok((id, self.approve(manager, action)?))
    }

    fn card(&self, input: &str) -> Result<CardToken, AppError> {
        self.terminal.card_input(input.trim())
    }

    fn amount(&self, input: &str) -> Result<Money, AppError> {
        self.terminal.parse_amount(input)
    }

    /// A sale or a top-up: the card, then the amount, then what pays (so a wrong amount
    /// is named before the payment), then the manager — whose PIN is not tried for an
    /// input that would be refused anyway (a reason, a reference).
    async fn load(&self, kind: OperationKind, s: SellInput) -> Result<OperationResult, AppError> {
        let token = self.card(&s.card)?;
        let amount = match s.currency.as_deref().map(str::trim) {
            // A sale may name its card's currency (Dintero refuses a card in another);
            // a top-up is always in the terminal's.
            Some(c) if kind == OperationKind::Activate => {
                let cfg = self.terminal.config();
                Money::parse_positive(&s.amount, Currency::parse(c)?, cfg.locale)?
            }
            Some(_) => {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    "a top-up is in the terminal's currency: give no currency",
                ));
            }
            None => self.amount(&s.amount)?,
        };
        let expires_at = s.expires_at.as_deref().map(rfc3339).transpose()?;
        let transaction_id = s
            .transaction_id
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let sale = |transaction_id: Option<String>| Activation {
            token: token.clone(),
            amount,
            transaction_id: transaction_id.unwrap_or_default(),
            customer_id: s.customer_id.clone(),
            expires_at,
        };
        if let Some(o) = &s.approval {
            // What would be refused anyway is refused before the manager's PIN is tried.
            check_reason(&o.reason)?;
            if kind == OperationKind::Activate || transaction_id.is_some() {
                check_transaction_id(transaction_id.as_deref().unwrap_or_default())?;
            }
            let a = self.approve(&o.manager, ManagerAction::PaymentOverride)?;
            return match kind {
                OperationKind::Activate => {
                    let sale = sale(transaction_id);
                    self.terminal
                        .activate_with_override(sale, &a, &o.reason)
                        .await
                }
                _ => {
                    self.terminal
                        .top_up_with_override(&token, amount, &a, &o.reason, transaction_id)
                        .await
                }
            };
        }
        let payment = Payment::from_input(
            s.tender.as_deref(),
            transaction_id.as_deref(),
            s.reference.as_deref(),
        )?;
        self.terminal.load_paid(kind, &sale(None), payment).await
    }
}

/// `2027-12-31T23:59:59Z`.
fn rfc3339(s: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.with_timezone(&chrono::Utc))
        .map_err(|_| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!("expiry '{s}' is not RFC 3339 (e.g. 2027-12-31T23:59:59Z)"),
            )
        })
}
