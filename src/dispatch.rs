//! Each command onto the application API (`Terminal`).

use std::io::BufRead;
use std::sync::Arc;

use giftpos_app::approval::{Approval, ManagerAction};
use giftpos_app::tender::Payment;
use giftpos_app::terminal::BackgroundParts;
use giftpos_app::{Activation, AppError, ErrorCode, Terminal};
use giftpos_app::{Currency, Money, Pin};

use super::wait_for_stop;
use crate::args::{BatchCommand, ClerkCommand, Command, JournalCommand, PinArgs, ReportCommand};
use crate::output::{Output, SyncReport};

pub(crate) async fn execute(till: &Arc<Terminal>, command: Command) -> Result<Output, AppError> {
    let cfg = till.config();
    match command {
        Command::Balance { token, pin } => {
            let token = till.parse_token(&token)?;
            let pin = read_pin(&pin)?;
            Ok(Output::Balance(till.balance(&token, pin.as_ref()).await?))
        }
        Command::Activate {
            token,
            amount,
            currency,
            transaction_id,
            customer_id,
            expires_at,
            override_by,
            reason,
        } => {
            let token = till.parse_token(&token)?;
            let currency = match currency {
                Some(c) => Currency::parse(&c)?,
                None => cfg.currency,
            };
            let amount = Money::parse_positive(&amount, currency, cfg.locale)?;
            let expires_at = expires_at
                .map(|s| {
                    chrono::DateTime::parse_from_rfc3339(&s)
                        .map(|d| d.with_timezone(&chrono::Utc))
                        .map_err(|_| {
                            AppError::new(
                                ErrorCode::InvalidInput,
                                format!(
                                    "--expires-at '{s}' is not RFC 3339 (e.g. 2027-12-31T23:59:59Z)"
                                ),
                            )
                        })
                })
                .transpose()?;
            let sale = Activation {
                token,
                amount,
                transaction_id,
                customer_id,
                expires_at,
            };
            let r = match (override_by, reason) {
                (Some(manager), Some(reason)) => {
                    let a = approval(till, &manager, ManagerAction::PaymentOverride)?;
                    till.activate_with_override(sale, &a, &reason).await?
                }
                _ => till.activate(sale).await?,
            };
            Ok(Output::Operation(r))
        }
        Command::Redeem {
            token,
            amount,
            pin,
            pay_rest,
            wait,
        } => {
            let token = till.parse_token(&token)?;
            let amount = till.parse_amount(&amount)?;
            let pin = read_pin(&pin)?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidPinEntry,
                    "redeeming needs the card's PIN (--pin or --pin-stdin)",
                )
            })?;
            if pay_rest.is_some() {
                let p = till.start_pay_rest(&token, &pin, amount).await?;
                return pay_at(till, p, wait).await;
            }
            Ok(Output::Operation(till.redeem(&token, amount, &pin).await?))
        }
        Command::Reserve { token, amount, pin } => {
            let token = till.parse_token(&token)?;
            let amount = till.parse_amount(&amount)?;
            let pin = read_pin(&pin)?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidPinEntry,
                    "reserving needs the card's PIN (--pin or --pin-stdin)",
                )
            })?;
            Ok(Output::Reservation(
                till.reserve(&token, amount, &pin).await?,
            ))
        }
        Command::Complete {
            reservation,
            amount,
        } => {
            let r = till.reservation(&reservation)?;
            let amount = amount.map(|a| till.parse_amount(&a)).transpose()?;
            Ok(Output::Operation(till.complete(&r, amount).await?))
        }
        Command::Cancel { reservation } => {
            let r = till.reservation(&reservation)?;
            Ok(Output::Operation(till.cancel(&r).await?))
        }
        Command::Topup {
            token,
            amount,
            transaction_id,
            pay,
            reference,
            override_by,
            reason,
            wait,
        } => {
            let token = till.parse_token(&token)?;
            let amount = till.parse_amount(&amount)?;
            if pay.as_deref() == Some("dintero") {
                let p = till.start_top_up_payment(&token, amount).await?;
                return pay_at(till, p, wait).await;
            }
            if let (Some(manager), Some(reason)) = (override_by, reason) {
                let a = approval(till, &manager, ManagerAction::PaymentOverride)?;
                return Ok(Output::Operation(
                    till.top_up_with_override(&token, amount, &a, &reason, transaction_id)
                        .await?,
                ));
            }
            // Nothing is recorded without a payment: a Dintero reference, or a tender.
            let payment = Payment::from_input(
                pay.as_deref(),
                transaction_id.as_deref(),
                reference.as_deref(),
            )?;
            Ok(Output::Operation(
                till.top_up(&token, amount, payment).await?,
            ))
        }
        Command::Info => Ok(Output::Info(till.info())),
        Command::Sync { once: true } => {
            let sent = till.sync_now().await?;
            Ok(Output::Sync(SyncReport {
                sent,
                status: till.sync_status()?,
            }))
        }
        Command::Sync { once: false } => {
            // The sync loop and, when configured, the metrics IT monitors; never the
            // scanner (the app may hold the port). A metrics port in use (the app serves
            // them) is logged and the sync goes on.
            let bg = till
                .start_background(BackgroundParts {
                    sync: true,
                    metrics: true,
                    ..BackgroundParts::default()
                })
                .await;
            if let Some(addr) = bg.metrics_addr() {
                eprintln!("giftpos: metrics on http://{addr}/metrics");
            }
            let mut events = bg.subscribe();
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Ok(ev) => match serde_json::to_string(&ev) {
                            Ok(line) => println!("{line}"),
                            Err(e) => eprintln!("giftpos: {e}"),
                        },
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            eprintln!("giftpos: {n} events skipped");
                        }
                        Err(_) => break,
                    },
                    _ = wait_for_stop() => break,
                }
            }
            bg.stop().await;
            Ok(Output::Sync(SyncReport {
                sent: 0,
                status: till.sync_status()?,
            }))
        }
        Command::Journal(JournalCommand::List { limit }) => Ok(Output::Entries(
            till.journal_entries(limit.map(|n| n as usize))?,
        )),
        Command::Journal(JournalCommand::Show { entry_id }) => {
            Ok(Output::Entry(Box::new(till.journal_entry(&entry_id)?)))
        }
        Command::Journal(JournalCommand::Export { format, out }) => match out {
            Some(path) => {
                let mut file = create_private(&path)?;
                let n = till.export_journal(&mut file, &format)?;
                Ok(Output::Exported(format!(
                    "{n} entries written to {}",
                    path.display()
                )))
            }
            None => {
                let mut text = Vec::new();
                till.export_journal(&mut text, &format)?;
                Ok(Output::Exported(
                    String::from_utf8_lossy(&text).trim_end().to_string(),
                ))
            }
        },
        Command::Journal(JournalCommand::Resolve {
            entry_id,
            approved_by,
            note,
        }) => {
            let a = approval(till, &approved_by, ManagerAction::Resolve)?;
            Ok(Output::Entry(Box::new(till.resolve(&entry_id, &a, &note)?)))
        }
        Command::Journal(JournalCommand::Verify { anchors: None }) => {
            Ok(Output::Verify(till.verify_journal()?))
        }
        Command::Journal(JournalCommand::Verify {
            anchors: Some(files),
        }) => Ok(Output::Verify(till.verify_journal_anchored(&files)?)),
        Command::Journal(JournalCommand::Archive { before }) => {
            Ok(Output::Exported(match till.archive_journal(before)? {
                Some(a) => format!(
                    "{} entries (seq {}–{}) archived to {}",
                    a.entries,
                    a.first_seq,
                    a.last_seq,
                    a.file.display()
                ),
                None => "nothing to archive before that date".into(),
            }))
        }
        Command::Receipt {
            entry_id,
            out,
            print,
        } => {
            if out.is_none() && !print {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    "give --out FILE.pdf and/or --print",
                ));
            }
            let mut said = Vec::new();
            if let Some(path) = out {
                let pdf = till.receipt_pdf(&entry_id)?;
                write_private(&path, &pdf)?;
                said.push(format!("receipt written to {}", path.display()));
            }
            if print {
                let p = till.print_receipt(&entry_id)?;
                said.push(format!("receipt saved to {}", p.saved_to));
                if let Some(job) = p.print_job {
                    said.push(format!("printed as job {job}"));
                }
                if let Some(err) = p.printer_error {
                    return Err(AppError::new(
                        ErrorCode::Internal,
                        format!(
                            "the printer did not take the receipt ({err}); it is saved at {} for a reprint",
                            p.saved_to
                        ),
                    ));
                }
            }
            Ok(Output::Exported(said.join("\n")))
        }
        Command::Report(ReportCommand::Payments { date, out }) => {
            let date = report_date(date)?;
            let mut report = till.day_report(date)?;
            till.check_report_payments(&mut report).await;
            let csv = till.payments_csv(&report);
            match out {
                Some(path) => {
                    write_private(&path, csv.as_bytes())?;
                    Ok(Output::Exported(format!(
                        "payments for {date} written to {}",
                        path.display()
                    )))
                }
                None => Ok(Output::Exported(csv)),
            }
        }
        Command::Report(ReportCommand::Tenders { date, out }) => {
            let date = report_date(date)?;
            let csv = till.tenders_csv(&till.day_report(date)?);
            match out {
                Some(path) => {
                    write_private(&path, csv.as_bytes())?;
                    Ok(Output::Exported(format!(
                        "tenders for {date} written to {}",
                        path.display()
                    )))
                }
                None => Ok(Output::Exported(csv)),
            }
        }
        Command::Report(ReportCommand::Day { date, out }) => {
            let date = report_date(date)?;
            let mut report = till.day_report(date)?;
            till.check_report_payments(&mut report).await;
            let n = report.entries.len();
            write_private(&out, &till.day_report_pdf(&report))?;
            Ok(Output::Exported(format!(
                "end-of-day report for {date} ({n} entries) written to {}",
                out.display()
            )))
        }
        Command::Batch(BatchCommand::Create {
            count,
            token_format,
            pin_format,
            id_prefix,
            out,
        }) => {
            let opts = giftpos_app::batch::BatchOptions {
                count,
                token_format: giftpos_app::batch::parse_format(&token_format)?,
                pin_format: giftpos_app::batch::parse_format(&pin_format)?,
                id_prefix: id_prefix.unwrap_or_else(|| {
                    format!("batch-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"))
                }),
                chunk: 500,
            };
            let s = till.create_card_batch(&opts, &out).await?;
            Ok(Output::Exported(format!(
                "{} cards: {} and {} sheet file(s) in {}",
                s.cards,
                s.csv,
                s.sheets.len(),
                out.display()
            )))
        }
        Command::Void {
            entry_id,
            approved_by,
        } => {
            let a = approval(till, &approved_by, ManagerAction::Void)?;
            Ok(Output::Operation(till.undo(&entry_id, &a).await?))
        }
        Command::Sell {
            token,
            amount,
            pay,
            transaction_id,
            reference,
            wait,
        } => {
            let token = till.parse_token(&token)?;
            let amount = till.parse_amount(&amount)?;
            if matches!(pay.as_deref(), Some("cash" | "card-terminal")) {
                let payment = Payment::from_input(pay.as_deref(), None, reference.as_deref())?;
                return Ok(Output::Operation(
                    till.sell_paid(&token, amount, payment).await?,
                ));
            }
            if let Some(transaction_id) = transaction_id {
                return Ok(Output::Operation(
                    till.activate(Activation {
                        token,
                        amount,
                        transaction_id,
                        customer_id: None,
                        expires_at: None,
                    })
                    .await?,
                ));
            }
            debug_assert_eq!(pay.as_deref(), Some("dintero"));
            let p = till.start_payment(&token, amount).await?;
            pay_at(till, p, wait).await
        }
        Command::Return { token, approved_by } => {
            let token = till.parse_token(&token)?;
            let a = approval(till, &approved_by, ManagerAction::Return)?;
            Ok(Output::Operation(till.return_card(&token, &a).await?))
        }
        Command::Clerk(ClerkCommand::Add {
            number,
            name,
            role,
            approved_by,
        }) => {
            let a = approved_by
                .map(|m| approval(till, &m, ManagerAction::ManageClerks))
                .transpose()?;
            let pin = read_pin(&PinArgs {
                pin: None,
                pin_stdin: true,
            })?
            .ok_or_else(|| AppError::new(ErrorCode::InvalidPinEntry, "no PIN on stdin"))?;
            let role = giftpos_app::Role::parse(&role)?;
            let c = till.add_clerk(&number, &name, role, &pin, a.as_ref())?;
            Ok(Output::Exported(format!(
                "clerk {} ({}, {}) saved",
                c.number,
                c.name,
                c.role.as_str()
            )))
        }
        Command::Clerk(ClerkCommand::List) => Ok(Output::Exported(
            till.list_clerks()?
                .iter()
                .map(|c| format!("{}\t{}\t{}", c.number, c.role.as_str(), c.name))
                .collect::<Vec<_>>()
                .join("\n"),
        )),
        Command::Clerk(ClerkCommand::Remove {
            number,
            approved_by,
        }) => {
            let a = approved_by
                .map(|m| approval(till, &m, ManagerAction::ManageClerks))
                .transpose()?;
            till.remove_clerk(&number, a.as_ref())?;
            Ok(Output::Exported(format!("clerk {number} removed")))
        }
        Command::Doctor | Command::Sandbox(_) | Command::Scanner(_) | Command::Update { .. } => {
            Err(AppError::internal("dispatched elsewhere"))
        }
    }
}

/// Prints where the customer pays (the URL and its QR code on stderr), then follows the
/// payment for `wait` seconds, or leaves it to the journal.
async fn pay_at(
    till: &Terminal,
    p: giftpos_app::terminal::PaymentSession,
    wait: Option<u64>,
) -> Result<Output, AppError> {
    if let (Some(part), Some(rest)) = (p.gift_card_part, p.rest) {
        let loc = giftpos_app::Locale::En;
        eprintln!(
            "total {}: gift card {} pays {}, the customer pays {}",
            p.amount.display(loc),
            p.card,
            part.display(loc),
            rest.display(loc)
        );
    }
    eprintln!("pay at: {}", p.url);
    eprintln!("{}", p.qr_text());
    match wait {
        Some(secs) => Ok(Output::Operation(
            till.finish_payment(&p.operation_id, std::time::Duration::from_secs(secs))
                .await?,
        )),
        None => Ok(Output::Payment(p)),
    }
}

/// A manager's approval for `action`: their number from `--approved-by`, their PIN from
/// the next line of standard input. A number alone is refused before anything is
/// recorded.
fn approval(till: &Terminal, manager: &str, action: ManagerAction) -> Result<Approval, AppError> {
    let pin = read_pin(&PinArgs {
        pin: None,
        pin_stdin: true,
    })
    .map_err(|e| {
        AppError::new(
            ErrorCode::ManagerRequired,
            format!(
                "manager {manager}'s PIN is needed on standard input to approve {} ({e})",
                action.as_str()
            ),
        )
    })?
    .ok_or_else(|| AppError::new(ErrorCode::ManagerRequired, "the manager's PIN is needed"))?;
    till.approve(manager, &pin, action)
}

pub(crate) fn read_pin(args: &PinArgs) -> Result<Option<Pin>, AppError> {
    if args.pin_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            AppError::new(
                ErrorCode::InvalidPinEntry,
                format!("cannot read the PIN: {e}"),
            )
        })?;
        return Ok(Some(Pin::parse(&line)?));
    }
    Ok(args.pin.as_deref().map(Pin::parse).transpose()?)
}

/// `--date YYYY-MM-DD`, default today (local time).
pub(crate) fn report_date(date: Option<String>) -> Result<chrono::NaiveDate, AppError> {
    match date {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!("--date '{d}' is not YYYY-MM-DD"),
            )
        }),
        None => Ok(chrono::Local::now().date_naive()),
    }
}

/// Creates `path` readable by its owner only; refuses to overwrite.
pub(crate) fn create_private(path: &std::path::Path) -> Result<std::fs::File, AppError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).map_err(|e| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!("cannot create {}: {e}", path.display()),
        )
    })
}

/// Writes `bytes` to a new file readable by its owner only; refuses to overwrite.
pub(crate) fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), AppError> {
    use std::io::Write;
    let mut f = create_private(path)?;
    // Synced, and its name with it (a power cut must not take a file the clerk was
    // told is saved).
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .and_then(|_| std::fs::File::open(dir)?.sync_all())
        .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))
}
