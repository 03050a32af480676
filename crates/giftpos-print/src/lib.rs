//! Receipts (80 mm roll) and end-of-day reports (A4) as PDF, and printing them through
//! CUPS. Rendering is pure (data in, PDF bytes out); only [`print`] runs a command.
//!
//! Geometry is in points and uses floating point; money never does — amounts arrive as
//! `Money` and are formatted as text.

#![allow(clippy::float_arithmetic)]

mod escpos;
mod pdf;
mod report;

pub use escpos::{Paper, Target, receipt_escpos, send_escpos};
pub use report::{
    ClerkCash, DayReport, ReportEntry, TenderTotal, Total, csv_field, payments, payments_csv,
    render_day_report, tender_name, tender_totals, tenders_csv, totals,
};

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, FixedOffset};
use giftpos_core::{Locale, Money, OperationKind};
use serde::Serialize;

/// What a receipt shows.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub store: String,
    pub terminal_id: String,
    pub clerk: Option<String>,
    /// In the store's time zone (the caller converts).
    pub time: DateTime<FixedOffset>,
    pub kind: OperationKind,
    pub card: String,
    pub amount: Money,
    pub balance_after: Option<Money>,
    /// Dintero's transaction id for this operation.
    pub transaction_id: Option<String>,
    /// The payment that sold the card (activation).
    pub dintero_transaction_id: Option<String>,
    /// A sale whose payment was not verified, let through by a manager: who and why.
    pub payment_override: Option<(String, String)>,
    /// Paid at the till, not through Dintero: the tender (`cash`, `card_terminal`) and
    /// the card terminal's reference.
    pub tender: Option<(String, Option<String>)>,
    /// A purchase paid through Dintero with the customer's gift card in it: the card's
    /// part, the rest and how it was paid (`amount` is the total).
    pub split: Option<Split>,
    pub entry_id: String,
    /// Confirmed by Dintero; false: saved, waiting to sync.
    pub confirmed: bool,
    pub training: bool,
    pub locale: Locale,
}

/// A total paid partly with a gift card and the rest another way (split tender).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    pub gift_card: Money,
    pub rest: Money,
    /// Dintero's payment product type of the rest (`payex.creditcard`; `dintero.zero`
    /// when the card paid everything).
    pub rest_paid_with: Option<String>,
}

struct Words {
    title: &'static str,
    store: &'static str,
    terminal: &'static str,
    clerk: &'static str,
    time: &'static str,
    card: &'static str,
    amount: &'static str,
    balance: &'static str,
    reference: &'static str,
    payment: &'static str,
    entry: &'static str,
    training: &'static str,
    queued: [&'static str; 3],
    scan: &'static str,
}

fn words(l: Locale) -> Words {
    match l {
        Locale::En => Words {
            title: "GIFT CARD RECEIPT",
            store: "Store",
            terminal: "Terminal",
            clerk: "Clerk",
            time: "Time",
            card: "Card",
            amount: "Amount",
            balance: "Balance after",
            reference: "Dintero ref.",
            payment: "Payment",
            entry: "Entry",
            training: "TRAINING - NOT A REAL TRANSACTION",
            queued: [
                "NOT YET CONFIRMED BY DINTERO.",
                "Saved on this terminal; it will be sent",
                "when the network returns.",
            ],
            scan: "Scan to open this entry",
        },
        Locale::Nb => Words {
            title: "KVITTERING GAVEKORT",
            store: "Butikk",
            terminal: "Terminal",
            clerk: "Kasserer",
            time: "Tid",
            card: "Kort",
            amount: "Beløp",
            balance: "Saldo etter",
            reference: "Dintero-ref.",
            payment: "Betaling",
            entry: "Post",
            training: "OPPLÆRING - IKKE EN EKTE TRANSAKSJON",
            queued: [
                "IKKE BEKREFTET AV DINTERO ENNÅ.",
                "Lagret på terminalen; sendes når",
                "nettet er tilbake.",
            ],
            scan: "Skann for å åpne posten",
        },
    }
}

fn operation_name(k: OperationKind, l: Locale) -> &'static str {
    match (l, k) {
        (Locale::En, OperationKind::Activate) => "Gift card sold",
        (Locale::En, OperationKind::TopUp) => "Top-up",
        (Locale::En, OperationKind::Redeem) => "Redemption (reserved)",
        (Locale::En, OperationKind::Capture) => "Redemption",
        (Locale::En, OperationKind::Void) => "Reservation cancelled",
        (Locale::En, OperationKind::Refund) => "Refund to card",
        (Locale::En, OperationKind::Balance) => "Balance",
        (Locale::En, OperationKind::Payment) => "Payment (Dintero)",
        (Locale::En, OperationKind::PaymentRefund) => "Payment refunded (Dintero)",
        (Locale::Nb, OperationKind::Activate) => "Gavekort solgt",
        (Locale::Nb, OperationKind::TopUp) => "Påfylling",
        (Locale::Nb, OperationKind::Redeem) => "Innløsning (reservert)",
        (Locale::Nb, OperationKind::Capture) => "Innløsning",
        (Locale::Nb, OperationKind::Void) => "Reservasjon kansellert",
        (Locale::Nb, OperationKind::Refund) => "Tilbakebetaling til kort",
        (Locale::Nb, OperationKind::Balance) => "Saldo",
        (Locale::Nb, OperationKind::Payment) => "Betaling (Dintero)",
        (Locale::Nb, OperationKind::PaymentRefund) => "Betaling refundert (Dintero)",
    }
}

/// The QR payload on a receipt: scanning it opens the journal entry.
pub fn receipt_qr_payload(entry_id: &str) -> String {
    giftpos_core::receipt_payload(entry_id)
}

/// Renders a receipt for an 80 mm roll (72 mm printable), as tall as it needs.
pub fn render_receipt(r: &Receipt) -> Vec<u8> {
    let qr = pdf::Qr::new(&receipt_qr_payload(&r.entry_id));
    pdf::receipt(&receipt_lines(r), qr.as_ref())
}

/// What a receipt says, line by line: the same on paper from a thermal printer and in
/// the PDF.
pub(crate) fn receipt_lines(r: &Receipt) -> Vec<pdf::Line> {
    let w = words(r.locale);
    let loc = r.locale;
    let mut lines: Vec<pdf::Line> = Vec::new();
    if r.training {
        lines.push(pdf::Line::bold(w.training));
    }
    lines.push(pdf::Line::big(w.title));
    lines.push(pdf::Line::bold(match (&r.split, loc) {
        (Some(_), Locale::Nb) => "Kjøp, betalt med gavekort",
        (Some(_), _) => "Purchase, paid with gift card",
        (None, _) => operation_name(r.kind, loc),
    }));
    lines.push(pdf::Line::gap());
    let kv = |k: &str, v: &str| pdf::Line::text(&format!("{k:<13}{v}"));
    lines.push(kv(w.store, &r.store));
    lines.push(kv(w.terminal, &r.terminal_id));
    if let Some(c) = &r.clerk {
        lines.push(kv(w.clerk, c));
    }
    lines.push(kv(
        w.time,
        &r.time.format("%Y-%m-%d %H:%M (UTC%:z)").to_string(),
    ));
    lines.push(kv(w.card, &r.card));
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::big(&format!(
        "{} {}",
        w.amount,
        r.amount.display(loc).replace('\u{a0}', " ")
    )));
    if let Some(split) = &r.split {
        let (card, rest) = match loc {
            Locale::Nb => ("Gavekort", "Resten"),
            _ => ("Gift card", "Rest"),
        };
        let how = split
            .rest_paid_with
            .as_deref()
            .map(|t| paid_with_name(t, loc));
        lines.push(kv(card, &money_text(&split.gift_card, loc)));
        let rest_text = match how {
            Some(h) => format!("{} ({h})", money_text(&split.rest, loc)),
            None => money_text(&split.rest, loc),
        };
        lines.push(kv(rest, &rest_text));
    }
    if let Some(b) = r.balance_after {
        lines.push(pdf::Line::bold(&format!(
            "{} {}",
            w.balance,
            b.display(loc).replace('\u{a0}', " ")
        )));
    }
    if !r.confirmed {
        lines.push(pdf::Line::gap());
        for q in w.queued {
            lines.push(pdf::Line::bold(q));
        }
    }
    lines.push(pdf::Line::gap());
    if let Some(t) = &r.transaction_id {
        lines.push(kv(w.reference, t));
    }
    if let Some(p) = &r.dintero_transaction_id {
        lines.push(kv(w.payment, p));
    }
    if let Some((tender, reference)) = &r.tender {
        let name = tender_name(tender, loc);
        let text = match reference {
            Some(x) => format!("{name} {x}"),
            None => name.to_string(),
        };
        lines.push(kv(w.payment, &text));
    }
    if let Some((by, why)) = &r.payment_override {
        let (head, who) = match loc {
            Locale::Nb => ("Betalingen er ikke bekreftet:", "overstyrt av leder"),
            _ => ("Payment not verified:", "override by manager"),
        };
        lines.push(pdf::Line::bold(head));
        lines.push(pdf::Line::text(&format!("{who} {by}")));
        let chars: Vec<char> = why.chars().collect();
        for chunk in chars.chunks(38) {
            lines.push(pdf::Line::text(&chunk.iter().collect::<String>()));
        }
    }
    lines.push(pdf::Line::text(w.entry));
    lines.push(pdf::Line::text(&r.entry_id));
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::text(w.scan));
    lines
}

fn money_text(m: &Money, loc: Locale) -> String {
    m.display(loc).replace('\u{a0}', " ")
}

/// How the rest of a split was paid, as printed: Dintero's payment product type made
/// readable (`payex.creditcard` → `card`); one we do not know is printed as it is.
pub fn paid_with_name(product_type: &str, loc: Locale) -> &str {
    match (product_type, loc) {
        ("dintero.zero", Locale::Nb) => "ingenting igjen",
        ("dintero.zero", _) => "nothing left",
        (t, Locale::Nb) if t.ends_with(".creditcard") => "kort",
        (t, _) if t.ends_with(".creditcard") => "card",
        (t, _) if t.ends_with(".vipps") || t == "vipps" => "Vipps",
        ("klarna.klarna", _) => "Klarna",
        (t, _) => t,
    }
}

/// A card of a printed batch: the token and PIN exist only in the files made from these.
#[derive(Clone)]
pub struct PrintedCard {
    pub card_id: String,
    pub token: String,
    pub pin: String,
}

impl std::fmt::Debug for PrintedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrintedCard({}, <redacted>)", self.card_id)
    }
}

/// Cards per printed A4 sheet.
pub const CARDS_PER_SHEET: usize = pdf::CARDS_PER_PAGE;

/// Print-ready A4 sheets for a run of cards (one PDF; callers stream a large batch as
/// several files of bounded size).
pub fn render_card_sheets(cards: &[PrintedCard], title: &str) -> Vec<u8> {
    let sheet: Vec<pdf::SheetCard<'_>> = cards
        .iter()
        .map(|c| pdf::SheetCard {
            card_id: &c.card_id,
            token: &c.token,
            pin: &c.pin,
        })
        .collect();
    pdf::card_sheets(&sheet, title)
}

/// Why printing failed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the print command could not run: {0}")]
    Spawn(String),
    #[error("the printer refused the job: {0}")]
    Refused(String),
    #[error("the printer cannot be reached at {target}: {detail}")]
    Offline { target: String, detail: String },
    #[error("the printer at {0} is out of paper")]
    PaperOut(String),
}

/// Sends a PDF to a CUPS printer with `lp` (the default printer when `printer` is None).
/// Returns the job id CUPS gave it.
pub fn print(file: &Path, printer: Option<&str>) -> Result<String, PrintError> {
    let mut cmd = Command::new("lp");
    if let Some(p) = printer {
        cmd.args(["-d", p]);
    }
    let out = cmd
        .arg(file)
        .output()
        .map_err(|e| PrintError::Spawn(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(PrintError::Refused(if err.is_empty() {
            stdout
        } else {
            err
        }));
    }
    // "request id is ReceiptPDF-12 (1 file(s))"
    Ok(stdout
        .split_whitespace()
        .nth(3)
        .unwrap_or(&stdout)
        .to_string())
}

/// A QR code as text for a terminal (two modules per character, with a quiet zone): the
/// CLI prints a payment URL with it.
pub fn qr_text(payload: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(payload.as_bytes()) else {
        return String::new();
    };
    let width = code.width();
    let dark = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && code[(x as usize, y as usize)] == qrcode::Color::Dark
    };
    let quiet = 2;
    let mut out = String::new();
    let size = width as i64;
    let mut y = -quiet;
    while y < size + quiet {
        for x in -quiet..size + quiet {
            // Light on dark terminals and dark on light ones both scan when the code is
            // drawn dark-on-light: full blocks are the light modules.
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => ' ',
                (true, false) => '▄',
                (false, true) => '▀',
                (false, false) => '█',
            });
        }
        out.push('\n');
        y += 2;
    }
    out
}

/// A QR code as SVG (one path of dark modules on white, with a quiet zone): the app shows
/// a payment URL with it for the customer's phone.
pub fn qr_svg(payload: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(payload.as_bytes()) else {
        return String::new();
    };
    let w = code.width();
    let quiet = 4;
    let size = w + 2 * quiet;
    let mut path = String::new();
    for y in 0..w {
        for x in 0..w {
            if code[(x, y)] == qrcode::Color::Dark {
                path.push_str(&format!("M{} {}h1v1h-1z", x + quiet, y + quiet));
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}
