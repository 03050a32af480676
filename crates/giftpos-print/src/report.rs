//! The end-of-day (Z) report (A4 PDF) and its CSV sections: totals per operation,
//! voids and refunds with their manager, payments used for card sales, what is pending,
//! split purchases, tenders and the cash each clerk took.

use chrono::{DateTime, FixedOffset, NaiveDate};
use giftpos_core::{Locale, Money, OperationKind};
use serde::Serialize;

use super::{operation_name, pdf};

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
