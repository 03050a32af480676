//! Receipts (80 mm roll) and end-of-day reports (A4) as PDF, and printing them through
//! CUPS. Rendering is pure (data in, PDF bytes out); only [`print`] runs a command.
//!
//! Geometry is in points and uses floating point; money never does — amounts arrive as
//! `Money` and are formatted as text.

#![allow(clippy::float_arithmetic)]

mod escpos;
mod pdf;

pub use escpos::{Paper, Target, receipt_escpos, send_escpos};

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, FixedOffset, NaiveDate};
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
    giftpos_scanner::receipt_payload(entry_id)
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

/// One day's entries, for the Z-report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportEntry {
    /// In the store's time zone.
    pub time: DateTime<FixedOffset>,
    pub kind: OperationKind,
    pub card: String,
    pub amount: Money,
    /// `confirmed`, `recorded`, `sent`, `refused` or `needs_attention`.
    pub state: String,
    pub approved_by: Option<String>,
    pub reason: Option<String>,
    pub entry_id: String,
    /// A sale's payment (`dintero_transaction_id`).
    pub payment: Option<String>,
    /// A sale a manager let through unverified: who and why.
    pub payment_override: Option<(String, String)>,
    /// How a sale or top-up was paid: `dintero`, `cash`, `card_terminal` or
    /// `override`; `None` for what is not paid for (a redemption, a void).
    pub tender: Option<String>,
    /// The clerk who recorded it (none: the command line).
    pub clerk: Option<String>,
    /// A purchase paid through Dintero with a gift card in it: the card's part.
    pub gift_card_part: Option<Money>,
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

/// A tender's name as printed.
pub fn tender_name(tender: &str, loc: Locale) -> &str {
    match (tender, loc) {
        ("cash", Locale::Nb) => "kontant",
        ("cash", _) => "cash",
        ("card_terminal", Locale::Nb) => "kortterminal",
        ("card_terminal", _) => "card terminal",
        ("override", Locale::Nb) => "overstyrt av leder",
        ("override", _) => "manager override",
        ("dintero", _) => "Dintero",
        (other, _) => other,
    }
}

/// What one tender paid: `(tender, count, sum)`.
pub type TenderTotal = (String, u32, Money);
/// The cash one clerk took: `(clerk, sum)`.
pub type ClerkCash = (String, Money);

/// Totals of what was paid for gift cards, by tender, and the cash each clerk took
/// (what a drawer should hold), refused entries left out.
pub fn tender_totals(entries: &[ReportEntry]) -> (Vec<TenderTotal>, Vec<ClerkCash>) {
    let mut by_tender: Vec<TenderTotal> = Vec::new();
    let mut cash: Vec<ClerkCash> = Vec::new();
    for e in entries.iter().filter(|e| e.state != "refused") {
        let Some(t) = &e.tender else { continue };
        match by_tender
            .iter_mut()
            .find(|(x, _, s)| x == t && s.currency() == e.amount.currency())
        {
            Some((_, n, s)) => {
                *n += 1;
                *s = s.checked_add(e.amount).unwrap_or(*s);
            }
            None => by_tender.push((t.clone(), 1, e.amount)),
        }
        if t == "cash" {
            let who = e.clerk.clone().unwrap_or_else(|| "-".into());
            match cash
                .iter_mut()
                .find(|(c, s)| *c == who && s.currency() == e.amount.currency())
            {
                Some((_, s)) => *s = s.checked_add(e.amount).unwrap_or(*s),
                None => cash.push((who, e.amount)),
            }
        }
    }
    by_tender.sort_by(|a, b| a.0.cmp(&b.0));
    cash.sort_by(|a, b| a.0.cmp(&b.0));
    (by_tender, cash)
}

/// The tenders section as CSV (`giftpos report tenders`): one row per card sold or
/// loaded, with how it was paid and by which clerk.
pub fn tenders_csv(r: &DayReport) -> String {
    let mut out = String::from(
        "time,clerk,operation,card,amount_minor,currency,tender,payment,state,entry_id\n",
    );
    for e in r.entries.iter().filter(|e| e.tender.is_some()) {
        out.push_str(
            &[
                e.time.to_rfc3339(),
                csv_field(e.clerk.as_deref().unwrap_or("")),
                e.kind.as_str().to_string(),
                csv_field(&e.card),
                e.amount.minor().to_string(),
                e.amount.currency().code().to_string(),
                e.tender.clone().unwrap_or_default(),
                csv_field(e.payment.as_deref().unwrap_or("")),
                e.state.clone(),
                e.entry_id.clone(),
            ]
            .join(","),
        );
        out.push('\n');
    }
    out
}

/// The payments used for card sales in a report: each with the cards sold against it.
pub fn payments(entries: &[ReportEntry]) -> Vec<(String, Vec<&ReportEntry>)> {
    let mut out: Vec<(String, Vec<&ReportEntry>)> = Vec::new();
    for e in entries
        .iter()
        .filter(|e| e.kind == OperationKind::Activate && e.state != "refused")
    {
        let Some(p) = &e.payment else { continue };
        match out.iter_mut().find(|(id, _)| id == p) {
            Some((_, cards)) => cards.push(e),
            None => out.push((p.clone(), vec![e])),
        }
    }
    out
}

/// What the end-of-day report covers.
#[derive(Debug, Clone)]
pub struct DayReport {
    pub store: String,
    pub terminal_id: String,
    /// The store's local date.
    pub date: NaiveDate,
    pub entries: Vec<ReportEntry>,
    pub training: bool,
    pub locale: Locale,
    /// What Dintero says each sale's payment holds (minor units), where it could be
    /// read: a payment whose cards exceed it is flagged.
    pub payment_holds: Vec<(String, i64)>,
    /// The journal's head when the report was made (`seq:hash`): an anchor kept on
    /// paper, which `giftpos journal verify --anchors FILE` compares the chain with.
    pub journal_head: Option<String>,
}

impl DayReport {
    /// What a payment holds, if known.
    pub fn holds(&self, payment: &str) -> Option<i64> {
        self.payment_holds
            .iter()
            .find(|(p, _)| p == payment)
            .map(|(_, h)| *h)
    }
}

/// One CSV field: quoted (quotes doubled) when it holds a comma, a quote or a newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The payments section as CSV (`giftpos report payments`): one row per card sold, with
/// its payment, what the payment holds, the cards' total and whether they exceed it.
pub fn payments_csv(r: &DayReport) -> String {
    let mut out = String::from(
        "payment,payment_holds_minor,cards_total_minor,exceeds,entry_id,time,card,amount_minor,currency,state,override_by,override_reason\n",
    );
    for (id, cards) in payments(&r.entries) {
        let total: i64 = cards.iter().map(|e| e.amount.minor()).sum();
        let holds = r.holds(&id);
        let exceeds = holds.is_some_and(|h| total > h);
        for e in cards {
            let (by, why) = e.payment_override.clone().unwrap_or_default();
            let cols = [
                id.clone(),
                holds.map(|h| h.to_string()).unwrap_or_default(),
                total.to_string(),
                exceeds.to_string(),
                e.entry_id.clone(),
                e.time.to_rfc3339(),
                e.card.clone(),
                e.amount.minor().to_string(),
                e.amount.currency().code().to_string(),
                e.state.clone(),
                by,
                why,
            ];
            let row: Vec<String> = cols.iter().map(|c| csv_field(c)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

/// A report line's totals per operation and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Total {
    pub kind: OperationKind,
    pub currency: String,
    pub count: u64,
    pub sum: Money,
}

/// Confirmed totals per kind and currency, in a stable order.
pub fn totals(entries: &[ReportEntry]) -> Vec<Total> {
    let mut out: Vec<Total> = Vec::new();
    for e in entries.iter().filter(|e| e.state == "confirmed") {
        let cur = e.amount.currency().code().to_string();
        match out
            .iter_mut()
            .find(|t| t.kind == e.kind && t.currency == cur)
        {
            Some(t) => {
                t.count += 1;
                t.sum = t.sum.checked_add(e.amount).unwrap_or(t.sum);
            }
            None => out.push(Total {
                kind: e.kind,
                currency: cur,
                count: 1,
                sum: e.amount,
            }),
        }
    }
    out.sort_by_key(|t| (t.kind.as_str(), t.currency.clone()));
    out
}

/// Renders the end-of-day (Z) report: totals per operation and currency, voids and
/// refunds with the approving manager, and what is still pending or needs attention.
pub fn render_day_report(r: &DayReport) -> Vec<u8> {
    let loc = r.locale;
    let money = |m: &Money| m.display(loc).replace('\u{a0}', " ");
    let mut lines = Vec::new();
    if r.training {
        lines.push(pdf::Line::bold("TRAINING - NOT REAL TRANSACTIONS"));
    }
    lines.push(pdf::Line::big(&format!("End-of-day report (Z) {}", r.date)));
    lines.push(pdf::Line::text(&format!(
        "Store {}   Terminal {}   Entries {}",
        r.store,
        r.terminal_id,
        r.entries.len()
    )));
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::bold("Confirmed totals"));
    let t = totals(&r.entries);
    if t.is_empty() {
        lines.push(pdf::Line::text("  none"));
    }
    for x in &t {
        lines.push(pdf::Line::text(&format!(
            "  {:<22} {:>5} x   {:>18}",
            operation_name(x.kind, loc),
            x.count,
            money(&x.sum)
        )));
    }
    // One row per entry: time, operation, card, amount, then what this section adds.
    let row = |e: &ReportEntry, tail: &str| {
        pdf::Line::text(&format!(
            "  {} {:<22} {:<18} {:>14}  {tail}",
            e.time.format("%H:%M"),
            operation_name(e.kind, loc),
            e.card,
            money(&e.amount),
        ))
    };
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::bold("Voids and refunds"));
    let undone: Vec<&ReportEntry> = r
        .entries
        .iter()
        .filter(|e| {
            matches!(e.kind, OperationKind::Void | OperationKind::Refund) || e.approved_by.is_some()
        })
        .collect();
    if undone.is_empty() {
        lines.push(pdf::Line::text("  none"));
    }
    for e in undone {
        let by = format!("approved by {}", e.approved_by.as_deref().unwrap_or("-"));
        lines.push(row(e, &by));
    }
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::bold("Payments used for card sales"));
    let paid = payments(&r.entries);
    if paid.is_empty() {
        lines.push(pdf::Line::text("  none"));
    }
    for (id, cards) in &paid {
        let total: i64 = cards.iter().map(|e| e.amount.minor()).sum();
        let note = match r.holds(id) {
            Some(h) if total > h => {
                format!("   EXCEEDS the payment: cards {total}, payment holds {h} (minor units)")
            }
            Some(_) => String::new(),
            None => "   (not read from Dintero)".into(),
        };
        lines.push(pdf::Line::text(&format!("  {id}{note}")));
        for e in cards {
            let tail = match &e.payment_override {
                Some((by, why)) => format!("override by {by}: {why}"),
                None => e.state.clone(),
            };
            lines.push(row(e, &tail));
        }
    }
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::bold("Pending or needing attention"));
    let open: Vec<&ReportEntry> = r
        .entries
        .iter()
        .filter(|e| e.state != "confirmed" && e.state != "refused")
        .collect();
    if open.is_empty() {
        lines.push(pdf::Line::text("  none"));
    }
    for e in open {
        lines.push(row(e, &e.state.to_uppercase()));
        if let Some(reason) = &e.reason {
            lines.push(pdf::Line::text(&format!("        {reason}")));
        }
    }
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::bold(
        "Purchases paid with gift cards in Dintero payments",
    ));
    let splits: Vec<&ReportEntry> = r
        .entries
        .iter()
        .filter(|e| e.state == "confirmed" && e.gift_card_part.is_some_and(|p| p.minor() > 0))
        .collect();
    if splits.is_empty() {
        lines.push(pdf::Line::text("  none"));
    }
    for e in &splits {
        let part = e.gift_card_part.unwrap_or(e.amount);
        lines.push(row(e, &format!("of which gift card {}", money(&part))));
    }
    let mut currencies: Vec<giftpos_core::Currency> = Vec::new();
    for e in &splits {
        if !currencies.contains(&e.amount.currency()) {
            currencies.push(e.amount.currency());
        }
    }
    for cur in currencies {
        let sum = |f: &dyn Fn(&ReportEntry) -> i64| -> i64 {
            splits
                .iter()
                .filter(|e| e.amount.currency() == cur)
                .map(|e| f(e))
                .sum()
        };
        let total = sum(&|e| e.amount.minor());
        let card = sum(&|e| e.gift_card_part.map(|m| m.minor()).unwrap_or(0));
        let m = |x: i64| {
            Money::from_minor(x, cur)
                .map(|m| money(&m))
                .unwrap_or_default()
        };
        lines.push(pdf::Line::text(&format!(
            "  total {}: from gift cards {}, paid the rest {}",
            m(total),
            m(card),
            m(total - card)
        )));
    }
    lines.push(pdf::Line::gap());
    lines.push(pdf::Line::bold("Gift cards paid, by tender"));
    let (by_tender, cash) = tender_totals(&r.entries);
    if by_tender.is_empty() {
        lines.push(pdf::Line::text("  none"));
    }
    for (t, n, sum) in &by_tender {
        lines.push(pdf::Line::text(&format!(
            "  {:<22} {:>5} x   {:>18}",
            tender_name(t, loc),
            n,
            money(sum)
        )));
    }
    if !cash.is_empty() {
        lines.push(pdf::Line::bold(
            "Cash taken for gift cards, by clerk (the drawer)",
        ));
        for (clerk, sum) in &cash {
            lines.push(pdf::Line::text(&format!(
                "  clerk {:<16} {:>18}",
                clerk,
                money(sum)
            )));
        }
    }
    if let Some(head) = &r.journal_head {
        lines.push(pdf::Line::gap());
        lines.push(pdf::Line::bold("Journal anchor (keep this page)"));
        lines.push(pdf::Line::text(&format!("  {head}")));
    }
    pdf::a4(&lines)
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
