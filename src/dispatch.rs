//! Each command onto the application API (`Terminal`).

use std::io::BufRead;
use std::sync::Arc;

use giftpos_app::approval::ManagerAction;
use giftpos_app::batch::BatchOptions;
use giftpos_app::terminal::BackgroundParts;
use giftpos_app::{AppError, ErrorCode, ManagerInput, OverrideInput, SellInput, Terminal, Till};

use super::wait_for_stop;
use crate::args::{BatchCommand, ClerkCommand, Command, JournalCommand, PinArgs, ReportCommand};
use crate::output::{Output, SyncReport};

pub(crate) async fn execute(till: &Arc<Terminal>, command: Command) -> Result<Output, AppError> {
    let console = till.at_console();
    match command {
        Command::Balance { token, pin } => {
            let pin = read_pin(&pin)?;
            Ok(Output::Balance(
                console.balance(&token, pin.as_deref()).await?,
            ))
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
            let approval = payment_override(override_by, reason)?;
            let sale = SellInput {
                card: token,
                amount,
                currency,
                transaction_id: Some(transaction_id),
                customer_id,
                expires_at,
                approval,
                ..SellInput::default()
            };
            Ok(Output::Operation(console.sell(sale).await?))
        }
        Command::Redeem {
            token,
            amount,
            pin,
            pay_rest,
            wait,
        } => {
            let pin = needed_pin(&pin, "the card's PIN (--pin or --pin-stdin)")?;
            if pay_rest.is_some() {
                let p = console.start_pay_rest(&token, &pin, &amount).await?;
                return pay_at(&console, p.payment, wait).await;
            }
            Ok(Output::Operation(
                console.redeem(&token, &amount, &pin).await?,
            ))
        }
        Command::Reserve { token, amount, pin } => {
            let pin = needed_pin(&pin, "the card's PIN (--pin or --pin-stdin)")?;
            Ok(Output::Reservation(
                console.reserve(&token, &amount, &pin).await?,
            ))
        }
        Command::Complete {
            reservation,
            amount,
        } => Ok(Output::Operation(
            console.complete(&reservation, amount.as_deref()).await?,
        )),
        Command::Cancel { reservation } => {
            Ok(Output::Operation(console.cancel(&reservation).await?))
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
            if pay.as_deref() == Some("dintero") {
                let p = console.start_payment(&token, &amount, true).await?;
                return pay_at(&console, p.payment, wait).await;
            }
            // Nothing is recorded without a payment: a Dintero reference, a tender, or
            // a manager's override.
            let approval = payment_override(override_by, reason)?;
            let top_up = SellInput {
                card: token,
                amount,
                tender: pay,
                transaction_id,
                reference,
                approval,
                ..SellInput::default()
            };
            Ok(Output::Operation(console.top_up(top_up).await?))
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
            let m = manager_pin(&approved_by, ManagerAction::Resolve)?;
            Ok(Output::Entry(Box::new(
                console.resolve(&entry_id, &m, &note)?,
            )))
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
            let csv = till.payments_csv(date).await?;
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
            let csv = till.tenders_csv(date)?;
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
            let (pdf, n) = till.day_report_pdf(date).await?;
            write_private(&out, &pdf)?;
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
            let opts = BatchOptions::from_input(count, &token_format, &pin_format, id_prefix)?;
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
            let m = manager_pin(&approved_by, ManagerAction::Void)?;
            Ok(Output::Operation(console.undo(&entry_id, &m).await?))
        }
        Command::Sell {
            token,
            amount,
            pay,
            transaction_id,
            reference,
            wait,
        } => {
            if pay.as_deref() == Some("dintero") && transaction_id.is_none() {
                let p = console.start_payment(&token, &amount, false).await?;
                return pay_at(&console, p.payment, wait).await;
            }
            let sale = SellInput {
                card: token,
                amount,
                tender: pay,
                transaction_id,
                reference,
                ..SellInput::default()
            };
            Ok(Output::Operation(console.sell(sale).await?))
        }
        Command::Return { token, approved_by } => {
            let m = manager_pin(&approved_by, ManagerAction::Return)?;
            Ok(Output::Operation(console.return_card(&token, &m).await?))
        }
        Command::Clerk(ClerkCommand::Add {
            number,
            name,
            role,
            approved_by,
        }) => {
            let m = approved_by
                .map(|m| manager_pin(&m, ManagerAction::ManageClerks))
                .transpose()?;
            let pin = needed_pin(
                &PinArgs {
                    pin: None,
                    pin_stdin: true,
                },
                "a new clerk's PIN on standard input",
            )?;
            let c = console.add_clerk(&number, &name, &role, &pin, m.as_ref())?;
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
            let m = approved_by
                .map(|m| manager_pin(&m, ManagerAction::ManageClerks))
                .transpose()?;
            console.remove_clerk(&number, m.as_ref())?;
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
    console: &Till<'_>,
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
            console
                .finish_payment(&p.operation_id, std::time::Duration::from_secs(secs))
                .await?,
        )),
        None => Ok(Output::Payment(p)),
    }
}

/// A manager approving `action` at the console: their number from `--approved-by`, their
/// PIN from the next line of standard input (checked by `Terminal`). A number alone is
/// refused before anything is recorded.
fn manager_pin(manager: &str, action: ManagerAction) -> Result<ManagerInput, AppError> {
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
    Ok(ManagerInput {
        number: manager.to_string(),
        pin,
    })
}

/// `--override-by N --reason …`: the manager's override of an unverifiable payment.
fn payment_override(
    manager: Option<String>,
    reason: Option<String>,
) -> Result<Option<OverrideInput>, AppError> {
    let (Some(manager), Some(reason)) = (manager, reason) else {
        return Ok(None);
    };
    Ok(Some(OverrideInput {
        manager: manager_pin(&manager, ManagerAction::PaymentOverride)?,
        reason,
    }))
}

/// A PIN the command cannot go without (`what`: which, and where it is given).
fn needed_pin(args: &PinArgs, what: &str) -> Result<String, AppError> {
    read_pin(args)?
        .ok_or_else(|| AppError::new(ErrorCode::InvalidPinEntry, format!("{what} is needed")))
}

/// The PIN as typed (`--pin`, or a line of standard input): `Terminal` checks it.
pub(crate) fn read_pin(args: &PinArgs) -> Result<Option<String>, AppError> {
    if args.pin_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            AppError::new(
                ErrorCode::InvalidPinEntry,
                format!("cannot read the PIN: {e}"),
            )
        })?;
        if line.trim().is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidPinEntry,
                "no PIN on standard input",
            ));
        }
        return Ok(Some(line));
    }
    Ok(args.pin.clone())
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
