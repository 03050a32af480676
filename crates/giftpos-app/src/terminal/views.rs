//! What the terminal shows and takes: the views both adapters print (the UI through
//! the shell, the CLI as text or JSON) and the inputs of its use cases.

use chrono::{DateTime, Utc};
use giftpos_core::{CardStatus, CardToken, Currency, Locale, Money, OperationKind};
use giftpos_journal::EntryState;
use serde::Serialize;

/// What the UI and the CLI show about the terminal itself.
#[derive(Debug, Clone, Serialize)]
pub struct TerminalInfo {
    pub training: bool,
    pub terminal_id: String,
    pub store_name: String,
    pub currency: Currency,
    /// Digits after the decimal separator in `currency` (amounts travel as minor units).
    pub currency_exponent: u8,
    pub locale: Locale,
    pub api_base: String,
    pub account_id: String,
    pub journal: String,
    pub version: &'static str,
    /// The UI signs an idle clerk out after this many seconds (0: never).
    pub idle_sign_out_secs: u64,
    /// Kiosk mode: leaving the app needs a manager.
    pub kiosk: bool,
    /// Which file or environment variable set each configured key (`section.key`);
    /// keys not listed have their defaults.
    pub set_by: std::collections::BTreeMap<String, String>,
    /// How a card sale or top-up may be paid here (`[payments] tenders`).
    pub tenders: Vec<crate::tender::Tender>,
}

/// A card's balance as the clerk sees it.
#[derive(Debug, Clone, Serialize)]
pub struct BalanceView {
    pub training: bool,
    pub card: String,
    pub card_id: String,
    pub status: CardStatus,
    /// Absent when the card has a PIN and none was given.
    pub available: Option<Money>,
    pub balance: Option<Money>,
    pub pending: Option<Money>,
    pub active_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when Dintero could not be reached: the balance last seen, and when.
    pub last_known_at: Option<DateTime<Utc>>,
    pub last_known_age_secs: Option<i64>,
}

/// The outcome of an operation that changed (or will change) a card.
#[derive(Debug, Clone, Serialize)]
pub struct OperationResult {
    pub training: bool,
    /// The journal entry's id.
    pub operation_id: String,
    pub kind: OperationKind,
    /// `confirmed` (done) or `recorded`/`sent` (saved — will sync).
    pub state: EntryState,
    /// True when saved to the journal and waiting to sync.
    pub queued: bool,
    pub card: String,
    pub card_id: Option<String>,
    pub amount: Money,
    /// Dintero's transaction id (none for an activation).
    pub transaction_id: Option<String>,
    /// The payment that sold the card (activation only).
    pub dintero_transaction_id: Option<String>,
    pub status: Option<CardStatus>,
    pub available_after: Option<Money>,
    /// A purchase paid through Dintero with the customer's gift card in it: the card's
    /// part (the rest was paid another way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_card_part: Option<Money>,
    /// Done, but something around it needs a manager (the rest of a partial capture
    /// Dintero would not release): what and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
}

/// A pending drawdown waiting for "complete sale" or "cancel".
#[derive(Debug, Clone, Serialize)]
pub struct Reservation {
    pub training: bool,
    /// The journal entry of the reservation.
    pub operation_id: String,
    pub card: String,
    pub card_id: Option<String>,
    pub transaction_id: Option<String>,
    pub amount: Money,
    /// Accepted offline within the configured caps; it syncs later.
    pub queued: bool,
}

/// Selling a card.
#[derive(Debug, Clone)]
pub struct Activation {
    pub token: CardToken,
    pub amount: Money,
    /// The payment's `dintero_transaction_id`.
    pub transaction_id: String,
    pub customer_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A scan as the UI receives it: what it is, and for a card a handle that stands for
/// the whole token, so the card number itself never reaches the page.
#[derive(Debug, Clone, Serialize)]
pub struct ScanResult {
    #[serde(flatten)]
    pub view: giftpos_scanner::ScanView,
    /// For a card: pass this back as the card (`scan:…`).
    pub handle: Option<String>,
}

/// One line of the read-only Settings screen.
#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
}

/// What the Settings screen shows: the effective settings and the doctor's checks.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsView {
    pub settings: Vec<Setting>,
    pub doctor: crate::doctor::DoctorReport,
}

/// A Dintero Checkout payment waiting for the customer.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentSession {
    pub training: bool,
    /// The journal entry of the payment (also the order's `merchant_reference`).
    pub operation_id: String,
    pub session_id: String,
    /// The page the customer opens (shown as a QR code).
    pub url: String,
    pub card: String,
    /// What the customer pays in all (for a split: the purchase's total).
    pub amount: Money,
    /// Pay the rest: what the customer's gift card is expected to pay (what it held
    /// when checked; Dintero's transaction says what it did), and the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_card_part: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest: Option<Money>,
}

impl PaymentSession {
    /// The payer page's QR code for a terminal (text blocks).
    pub fn qr_text(&self) -> String {
        giftpos_print::qr_text(&self.url)
    }

    /// The payer page's QR code for a screen (SVG).
    pub fn qr_svg(&self) -> String {
        giftpos_print::qr_svg(&self.url)
    }
}

/// A Checkout payment waiting for the customer, with its URL as a QR code (SVG).
#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    #[serde(flatten)]
    pub payment: PaymentSession,
    pub qr_svg: String,
}

impl From<PaymentSession> for PaymentView {
    fn from(payment: PaymentSession) -> PaymentView {
        PaymentView {
            qr_svg: payment.qr_svg(),
            payment,
        }
    }
}

/// What the customer's screen shows (`[terminal] customer_display`).
#[derive(Debug, Clone, Serialize)]
pub struct CustomerView {
    /// `idle` (the store's name), `pay` (the amount and the payment's QR code) or
    /// `thanks` (the amount and the card's balance).
    pub state: &'static str,
    pub amount: Option<Money>,
    pub qr_svg: Option<String>,
    pub balance: Option<Money>,
    /// Pay the rest: what the customer's gift card pays of the total (`amount` is then
    /// what is left for the customer to pay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_card: Option<Money>,
}

impl CustomerView {
    /// Nothing going on: the store's name.
    pub fn idle() -> CustomerView {
        CustomerView {
            state: "idle",
            amount: None,
            qr_svg: None,
            balance: None,
            gift_card: None,
        }
    }

    /// A payment to make: what is left for the customer to pay (and, paying the rest,
    /// what their gift card pays), with the QR code.
    pub fn pay(view: &PaymentView) -> CustomerView {
        CustomerView {
            state: "pay",
            amount: view.payment.rest.or(Some(view.payment.amount)),
            qr_svg: Some(view.qr_svg.clone()),
            balance: None,
            gift_card: view.payment.gift_card_part,
        }
    }

    /// Done: the amount and the card's balance after it.
    pub fn thanks(r: &OperationResult) -> CustomerView {
        CustomerView {
            state: "thanks",
            amount: Some(r.amount),
            qr_svg: None,
            balance: r.available_after,
            gift_card: r.gift_card_part,
        }
    }
}
