//! What a command prints: one JSON object with `--json`, else lines for people; and the
//! exit code.

use std::process::ExitCode;

use giftpos_app::doctor::CheckStatus;
use giftpos_app::{AppError, BalanceView, ErrorCode, OperationResult, doctor};
use giftpos_app::{Locale, Money};
use serde::Serialize;

/// What a command prints on success.
pub(crate) enum Output {
    Balance(BalanceView),
    Operation(OperationResult),
    Reservation(giftpos_app::terminal::Reservation),
    Doctor(doctor::DoctorReport),
    Info(giftpos_app::TerminalInfo),
    Sync(SyncReport),
    Entries(Vec<giftpos_app::Entry>),
    Entry(Box<giftpos_app::Entry>),
    Verify(giftpos_app::VerifyReport),
    Update(giftpos_app::update::UpdateOutcome),
    Payment(giftpos_app::terminal::PaymentSession),
    Exported(String),
}

#[derive(Serialize)]
pub(crate) struct SyncReport {
    pub(crate) sent: usize,
    pub(crate) status: giftpos_app::sync::SyncStatus,
}

impl Output {
    /// Exit code of a successful command: 4 when something is saved but not yet synced,
    /// or a journal check failed.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Output::Operation(o) if o.queued => 4,
            Output::Reservation(r) if r.queued => 4,
            Output::Payment(_) => 4,
            Output::Sync(r) if r.status.pending > 0 || r.status.needs_attention > 0 => 4,
            Output::Verify(v) if !v.ok => 1,
            _ => 0,
        }
    }
}

pub(crate) const TRAINING_BANNER: &str = "TRAINING — embedded sandbox, no real money";

#[derive(Serialize)]
pub(crate) struct JsonOk<'a, T: Serialize> {
    pub(crate) ok: bool,
    pub(crate) training: bool,
    pub(crate) mode: &'static str,
    pub(crate) result: &'a T,
}

pub(crate) fn mode_name(training: bool) -> &'static str {
    if training { "TRAINING" } else { "LIVE" }
}

pub(crate) fn print_json<T: Serialize>(v: &T) {
    match serde_json::to_string(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("giftpos: cannot encode the answer: {e}"),
    }
}

pub(crate) fn print_ok(json: bool, training: bool, out: &Output) {
    if json {
        let result = match out {
            Output::Balance(b) => serde_json::to_value(b),
            Output::Operation(o) => serde_json::to_value(o),
            Output::Reservation(r) => serde_json::to_value(r),
            Output::Doctor(d) => serde_json::to_value(d),
            Output::Info(i) => serde_json::to_value(i),
            Output::Sync(r) => serde_json::to_value(r),
            Output::Entries(e) => serde_json::to_value(e),
            Output::Entry(e) => serde_json::to_value(e),
            Output::Verify(v) => serde_json::to_value(v),
            Output::Update(u) => serde_json::to_value(u),
            Output::Payment(p) => serde_json::to_value(p),
            Output::Exported(t) => Ok(serde_json::Value::String(t.clone())),
        };
        print_json(&JsonOk {
            ok: true,
            training,
            mode: mode_name(training),
            result: &result.unwrap_or(serde_json::Value::Null),
        });
        return;
    }
    if training {
        println!("{TRAINING_BANNER}");
    }
    let loc = Locale::En;
    let money = |m: &Option<Money>| m.map(|m| m.display(loc)).unwrap_or_else(|| "—".into());
    match out {
        Output::Balance(b) => {
            println!("Card {}", b.card);
            println!("  status      {}", b.status);
            match (b.available, b.last_known_at) {
                (Some(a), Some(at)) => println!(
                    "  available   {} — LAST KNOWN, as of {} ({} min ago; Dintero unreachable)",
                    a.display(loc),
                    at.format("%Y-%m-%d %H:%M UTC"),
                    b.last_known_age_secs.unwrap_or(0) / 60
                ),
                (Some(a), None) => println!("  available   {}", a.display(loc)),
                (None, _) => println!("  available   (give the PIN to see the balance)"),
            }
            if b.pending.is_some_and(|p| !p.is_zero()) {
                println!("  reserved    {}", money(&b.pending));
            }
            if let Some(e) = b.expires_at {
                println!("  expires     {}", e.format("%Y-%m-%d"));
            }
        }
        Output::Operation(o) if o.queued => {
            println!(
                "SAVED — WILL SYNC: {} {} for {}",
                o.kind,
                o.amount.display(loc),
                o.card
            );
            println!("  Dintero could not be reached; this is in the journal and will be sent");
            println!("  exactly once when the network returns. It is not applied yet.");
            println!("  operation   {}", o.operation_id);
            if let Some(why) = &o.attention {
                println!("  ATTENTION   {why}");
            }
        }
        Output::Operation(o) => {
            let verb = match o.kind {
                giftpos_app::OperationKind::Activate => "Activated",
                giftpos_app::OperationKind::Redeem => "Redeemed",
                giftpos_app::OperationKind::TopUp => "Topped up",
                giftpos_app::OperationKind::Void => "Cancelled",
                giftpos_app::OperationKind::Payment => "Paid, with gift card",
                _ => "Done",
            };
            println!("{verb} {}", o.card);
            println!("  amount      {}", o.amount.display(loc));
            if let Some(part) = o.gift_card_part {
                println!("  gift card   {}", part.display(loc));
                if let Ok(rest) = o.amount.checked_sub(part) {
                    println!("  rest        {}", rest.display(loc));
                }
            }
            println!("  available   {}", money(&o.available_after));
            if let Some(s) = &o.status {
                println!("  status      {s}");
            }
            if let Some(t) = &o.dintero_transaction_id {
                println!("  payment     {t}");
            }
            if let Some(t) = &o.transaction_id {
                println!("  transaction {t}");
            }
            println!("  operation   {}", o.operation_id);
        }
        Output::Reservation(r) => {
            println!(
                "{} {} on {}",
                if r.queued {
                    "RESERVED OFFLINE (within the caps) — WILL SYNC:"
                } else {
                    "Reserved"
                },
                r.amount.display(loc),
                r.card
            );
            if let Some(t) = &r.transaction_id {
                println!("  transaction {t}");
            }
            println!("  reservation {}", r.operation_id);
            println!(
                "  next: giftpos complete {} [--amount A]  or  giftpos cancel {}",
                r.operation_id, r.operation_id
            );
        }
        Output::Doctor(d) => {
            for c in &d.checks {
                let mark = match c.status {
                    CheckStatus::Ok => "ok  ",
                    CheckStatus::Warn => "WARN",
                    CheckStatus::Fail => "FAIL",
                    CheckStatus::Skipped => "skip",
                };
                println!("[{mark}] {:<14} {}", c.name, c.detail);
                if let Some(f) = &c.fix {
                    println!("       {:<14} fix: {f}", "");
                }
            }
            println!(
                "{}",
                if d.ok {
                    "All checks passed."
                } else {
                    "Some checks failed."
                }
            );
        }
        Output::Sync(r) => {
            let st = &r.status;
            println!(
                "{} · sent {} · pending {} · needs attention {}",
                if st.online { "online" } else { "OFFLINE" },
                r.sent,
                st.pending,
                st.needs_attention
            );
            if let Some(age) = st.oldest_pending_age_secs {
                println!("  oldest pending entry waits for {age} s");
            }
        }
        Output::Entries(all) => {
            for e in all {
                print_entry_line(e, loc);
            }
            println!("{} entries", all.len());
        }
        Output::Entry(e) => {
            print_entry_line(e, loc);
            if let Ok(v) = serde_json::to_string_pretty(e.as_ref()) {
                println!("{v}");
            }
        }
        Output::Verify(v) => {
            for s in &v.anchor_sources {
                println!("anchors     {s}");
            }
            if v.ok && v.anchors_checked > 0 {
                println!(
                    "journal intact: {} entries, hash chain verified, {} anchors agree",
                    v.entries, v.anchors_checked
                );
            } else if v.ok {
                println!("journal intact: {} entries, hash chain verified", v.entries);
            } else {
                println!("JOURNAL TAMPERED OR DAMAGED ({} entries):", v.entries);
                for p in &v.problems {
                    println!("  - {p}");
                }
            }
        }
        Output::Payment(p) if p.gift_card_part.is_some() => {
            println!(
                "payment {} (gift card {} first) waits for the customer: {}",
                p.amount.display(loc),
                p.card,
                p.url
            );
            println!(
                "entry {}: sync records the payment and the card's part once paid",
                p.operation_id
            );
        }
        Output::Payment(p) => {
            println!(
                "payment {} for card {} waits for the customer: {}",
                p.amount.display(loc),
                p.card,
                p.url
            );
            println!(
                "entry {}: sync activates (or tops up) the card once paid",
                p.operation_id
            );
        }
        Output::Update(u) => {
            use giftpos_app::update::UpdateOutcome as U;
            match u {
                U::Disabled => println!("updates: no endpoint configured ([update] endpoint)"),
                U::UpToDate { current, latest } => {
                    println!("up to date: {current} (newest published {latest})")
                }
                U::Available { version } => {
                    println!(
                        "update {version} is published; root's giftpos-update.timer installs it"
                    )
                }
                U::Installed { version, file } => {
                    println!("update {version} verified and installed from {file}")
                }
            }
        }
        Output::Exported(t) => println!("{t}"),
        Output::Info(i) => {
            println!("terminal    {} ({})", i.terminal_id, i.store_name);
            println!("mode        {}", mode_name(i.training));
            println!("api         {} account {}", i.api_base, i.account_id);
            println!("currency    {} locale {}", i.currency, i.locale.tag());
            println!("journal     {}", i.journal);
            println!("version     {}", i.version);
            if !i.set_by.is_empty() {
                println!(
                    "configured  (key, who may set it, set by; every other key has its default)"
                );
                for (key, src) in &i.set_by {
                    let rule = giftpos_app::config::KEYS
                        .iter()
                        .find(|k| k.name == key)
                        .map_or("", |k| k.rule.as_str());
                    println!("  {key:<36} {rule:<9} {src}");
                }
            }
        }
    }
}

pub(crate) fn print_entry_line(e: &giftpos_app::Entry, loc: Locale) {
    println!(
        "{:>5}  {}  {:<8} {:<16} {:>14}  {:<15} {}",
        e.seq,
        e.created_at.format("%Y-%m-%d %H:%M:%S"),
        e.kind.as_str(),
        e.card,
        e.amount.display(loc),
        e.state.as_str(),
        e.id
    );
    if let Some(part) = e.gift_card_part {
        println!(
            "       of which from gift card {}: {}",
            e.card,
            part.display(loc)
        );
    }
    if let Some(r) = &e.reason {
        println!("       reason: {r}");
    }
}

#[derive(Serialize)]
pub(crate) struct JsonErr<'a> {
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) training: Option<bool>,
    pub(crate) error: JsonErrBody<'a>,
}

#[derive(Serialize)]
pub(crate) struct JsonErrBody<'a> {
    pub(crate) code: ErrorCode,
    pub(crate) class: giftpos_app::ErrorClass,
    pub(crate) message: &'a str,
    pub(crate) hint: &'static str,
    pub(crate) exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) retry_after_secs: Option<u64>,
}

pub(crate) fn print_err(json: bool, training: Option<bool>, e: &AppError) -> ExitCode {
    let exit = e.class().exit_code();
    if json {
        print_json(&JsonErr {
            ok: false,
            training,
            error: JsonErrBody {
                code: e.code,
                class: e.class(),
                message: &e.message,
                hint: e.hint(),
                exit_code: exit,
                retry_after_secs: e.retry_after_secs,
            },
        });
    } else {
        if training == Some(true) {
            eprintln!("{TRAINING_BANNER}");
        }
        eprintln!("giftpos: {} [{}]", e.message, e.code.as_str());
        eprintln!("  what to do: {}", e.hint());
    }
    ExitCode::from(exit as u8)
}
