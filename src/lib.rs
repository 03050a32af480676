//! `giftpos`: the command line for IT, scripts and support. Every command calls the same
//! application API as the terminal app (`giftpos_app::Terminal`); `--json` prints one
//! JSON object on stdout; the exit code says what happened (see `README.md`).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use giftpos_app::config::{self, LoadOptions};
use giftpos_app::doctor::{self, CheckStatus};
use giftpos_app::{Activation, AppError, BalanceView, ErrorCode, OperationResult, Terminal};
use giftpos_core::{Currency, Locale, Money, Pin};
use giftpos_dintero::SystemClock;
use giftpos_sandbox::{Faults, Sandbox, SandboxConfig};
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(
    name = "giftpos",
    version,
    about = "giftpos: sell, check, redeem and top up Dintero gift cards from the command line",
    after_help = "Exit codes: 0 done, 1 internal error, 2 bad input, 3 refused by Dintero, \
                  4 saved and waiting to sync, 5 Dintero unreachable (nothing recorded), \
                  6 configuration error.\n\
                  With no Dintero credentials configured, commands run in TRAINING mode on \
                  an embedded sandbox."
)]
struct Cli {
    /// A config file read after /etc/giftpos/config.toml and the user's file.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a local Dintero sandbox (auth + wallets) until stopped.
    Sandbox(SandboxArgs),
    /// Show a card's balance (the PIN reveals the amounts).
    Balance {
        token: String,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Sell a printed card: activate it with an amount and the payment's transaction id.
    Activate {
        token: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Defaults to the terminal's currency.
        #[arg(long)]
        currency: Option<String>,
        /// The `dintero_transaction_id` of the payment that sold the card.
        #[arg(long = "transaction-id")]
        transaction_id: String,
        #[arg(long = "customer-id")]
        customer_id: Option<String>,
        /// RFC 3339, e.g. 2027-12-31T23:59:59Z.
        #[arg(long = "expires-at")]
        expires_at: Option<String>,
        /// A manager lets the sale through although its payment cannot be verified: the
        /// manager's number here, their PIN on standard input, and `--reason`.
        #[arg(long = "override-by", requires = "reason")]
        override_by: Option<String>,
        /// Why the payment cannot be verified (recorded on the entry, the receipt and the
        /// Z-report).
        #[arg(long, requires = "override_by")]
        reason: Option<String>,
    },
    /// Sell a printed card: take payment through Dintero Checkout (`--pay dintero`: the
    /// customer pays at the printed URL / QR code) or name a payment taken elsewhere
    /// (`--transaction-id`), then activate the card with that transaction id.
    Sell {
        token: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// `dintero`: a Checkout session the customer pays on their phone.
        #[arg(long, value_parser = ["dintero"], required_unless_present = "transaction_id")]
        pay: Option<String>,
        /// The `dintero_transaction_id` of a payment taken elsewhere.
        #[arg(long = "transaction-id", conflicts_with = "pay")]
        transaction_id: Option<String>,
        /// Wait for the payment (at most this many seconds; default 900) and activate.
        /// Without it the URL is printed and the journal finishes the sale once paid.
        #[arg(long, num_args = 0..=1, default_missing_value = "900")]
        wait: Option<u64>,
    },
    /// Take back an unused card sold through Dintero Checkout: its balance is drawn to
    /// zero and the payment refunded. Refused when the card has been used.
    Return {
        token: String,
        #[arg(long = "approved-by")]
        approved_by: String,
    },
    /// Redeem an amount: a pending drawdown, then its capture.
    Redeem {
        token: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Reserve an amount on the card (a pending drawdown, checking the PIN), as the app's
    /// Redeem screen does before "Complete sale". Prints the reservation's operation id.
    Reserve {
        token: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        #[command(flatten)]
        pin: PinArgs,
    },
    /// Complete a reservation: capture all of it, or less with --amount (the rest is
    /// released, so nothing stays reserved on the card).
    Complete {
        /// The reservation's operation id (from `giftpos reserve`).
        reservation: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
    },
    /// Cancel a reservation: the reserved amount is released.
    Cancel {
        /// The reservation's operation id (from `giftpos reserve`).
        reservation: String,
    },
    /// Load more money onto an activated card.
    Topup {
        token: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
    /// Check configuration, credentials, reachability, token, data dir and clock.
    Doctor,
    /// Show the terminal's configuration (never secrets).
    Info,
    /// Send what the journal holds to Dintero: once, or continuously until stopped.
    Sync {
        /// One pass over everything waiting (backoff waits are skipped), then exit.
        #[arg(long)]
        once: bool,
    },
    /// Read and check the journal.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// A journal entry's receipt as PDF (80 mm): written to --out, and/or printed.
    Receipt {
        entry_id: String,
        /// Write the PDF here (created, never overwritten).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Save it under the receipts folder and print it on the configured printer.
        #[arg(long)]
        print: bool,
    },
    /// Reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Printed card batches for head office.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Test a barcode reader at the till without the app.
    #[command(subcommand)]
    Scanner(ScannerCommand),
    /// Check the configured update endpoint; download, verify the signature, and install
    /// (or stage) a newer release. A tampered or unsigned package is refused (exit 3).
    Update,
    /// The clerks and managers who sign in at this till (PINs kept only as argon2
    /// hashes).
    #[command(subcommand)]
    Clerk(ClerkCommand),
    /// Undo a journal entry: void a pending redemption, or record the compensating
    /// operation for a confirmed one. Needs the approving manager.
    Void {
        entry_id: String,
        #[arg(long = "approved-by")]
        approved_by: String,
    },
}

#[derive(Subcommand, Debug)]
enum ClerkCommand {
    /// Add a clerk, or change a clerk's name, role and PIN. The PIN (4–8 digits) is read
    /// from the first line of standard input.
    Add {
        number: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["clerk", "manager"], default_value = "clerk")]
        role: String,
    },
    /// Clerk numbers, names and roles.
    List,
    /// Remove a clerk.
    Remove { number: String },
}

#[derive(Subcommand, Debug)]
enum BatchCommand {
    /// Make N inactive cards at Dintero and write print-ready sheets (QR, Code 128, PIN
    /// panel) and a CSV for the card manufacturer into --out. The tokens and PINs exist
    /// only in those files.
    Create {
        #[arg(long)]
        count: usize,
        /// digits:N, alnum:N or dincard, optionally PREFIX+… (default digits:16).
        #[arg(long = "token-format", default_value = "digits:16")]
        token_format: String,
        /// Default digits:4.
        #[arg(long = "pin-format", default_value = "digits:4")]
        pin_format: String,
        /// Card ids are PREFIX-000001…; default batch-<UTC time>.
        #[arg(long = "id-prefix")]
        id_prefix: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ReportCommand {
    /// The end-of-day (Z) report: totals per operation and currency, voids and refunds
    /// with the approving manager, what is still pending or needs attention.
    Day {
        /// YYYY-MM-DD in the terminal's local time; default today.
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// The payments used for card sales on a day, as CSV: each card with its payment,
    /// what the payment holds at Dintero, and whether the cards exceed it; overrides with
    /// who and why.
    Payments {
        /// YYYY-MM-DD in the terminal's local time; default today.
        #[arg(long)]
        date: Option<String>,
        /// Write the CSV here (created 0600, never overwritten); default standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ScannerCommand {
    /// Serial ports the system lists (USB readers in serial mode appear here).
    List,
    /// Print each decoded scan, and disconnects/reconnects, until stopped.
    Listen {
        /// The reader's port; default: `[scanner] port` from the configuration.
        #[arg(long)]
        port: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum JournalCommand {
    /// Entries in order, with their sync state.
    List {
        /// At most this many, newest last.
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One entry with everything known about it.
    Show { entry_id: String },
    /// Every entry as CSV or JSON (never card tokens or PINs).
    Export {
        #[arg(long, value_parser = ["csv", "json"], default_value = "csv")]
        format: String,
        /// Write here (created 0600) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the hash chain: finds edited, removed or reordered entries.
    Verify,
    /// Settle an entry that needs attention (a manager's decision): it is recorded as not
    /// applied, with the note, and the card's later entries sync again.
    Resolve {
        entry_id: String,
        #[arg(long = "approved-by")]
        approved_by: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Args, Debug)]
struct PinArgs {
    /// The card's PIN. Visible to other users in the process list: prefer --pin-stdin.
    #[arg(long, conflicts_with = "pin_stdin")]
    pin: Option<String>,
    /// Read the PIN from the first line of standard input.
    #[arg(long = "pin-stdin")]
    pin_stdin: bool,
}

#[derive(Args, Debug)]
struct SandboxArgs {
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Keep the sandbox's state in this file across restarts.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// A fault to inject: latency=MS, drop-before, drop-after, 5xx, 429 or malformed,
    /// with :count=N, :path=TEXT, :percent=N, :status=5xx, :retry-after=S. Repeatable.
    /// Change faults while running with PUT /_sandbox/faults.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<String>,
    /// Start with no demo cards.
    #[arg(long = "no-demo")]
    no_demo: bool,
    /// Lifetime of the access tokens it issues, in seconds.
    #[arg(long = "token-ttl", default_value_t = 3600)]
    token_ttl: u64,
}

/// What a command prints on success.
enum Output {
    Balance(BalanceView),
    Operation(OperationResult),
    Reservation(giftpos_app::terminal::Reservation),
    Doctor(doctor::DoctorReport),
    Info(giftpos_app::TerminalInfo),
    Sync(SyncReport),
    Entries(Vec<giftpos_journal::Entry>),
    Entry(Box<giftpos_journal::Entry>),
    Verify(giftpos_journal::VerifyReport),
    Update(giftpos_app::update::UpdateOutcome),
    Payment(giftpos_app::terminal::PaymentSession),
    Exported(String),
}

#[derive(Serialize)]
struct SyncReport {
    sent: usize,
    status: giftpos_app::sync::SyncStatus,
}

impl Output {
    /// Exit code of a successful command: 4 when something is saved but not yet synced,
    /// or a journal check failed.
    fn exit_code(&self) -> u8 {
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

/// Runs the CLI with the process's arguments.
pub fn main() -> ExitCode {
    main_with_args(std::env::args_os().collect())
}

/// Runs the CLI with these arguments (the first is the program's name). The terminal
/// app's binary calls this for `giftpos-terminal --cli …`.
pub fn main_with_args(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if args.iter().any(|a| a == "--json") && e.use_stderr() => {
            let msg = e.render().to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            return print_err(true, None, &AppError::new(ErrorCode::InvalidInput, first));
        }
        Err(e) => e.exit(),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("giftpos: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let json = cli.json;
    rt.block_on(run(cli, json))
}

/// The human log on stderr: quiet unless asked (-v info, -vv debug).
fn stderr_level(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    }
}

/// stderr only, for commands that run before (or without) a configuration.
fn init_stderr_logging(verbose: u8) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GIFTPOS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(stderr_level(verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn run(cli: Cli, json: bool) -> ExitCode {
    let loaded = config::load(&LoadOptions::from_process(cli.config.clone()));
    // The JSON log file once the configuration says where; stderr alone before that.
    let _log = match (&cli.command, &loaded) {
        (Command::Sandbox(_), _) | (_, Err(_)) => {
            init_stderr_logging(cli.verbose);
            None
        }
        (_, Ok(cfg)) => Some(giftpos_app::logging::init(
            &cfg.log_dir,
            &cfg.log_level,
            stderr_level(cli.verbose),
        )),
    };
    if let Command::Sandbox(args) = cli.command {
        return run_sandbox(args, json).await;
    }
    if let Command::Scanner(cmd) = cli.command {
        return run_scanner(cmd, loaded, json).await;
    }
    let clock = Arc::new(SystemClock);
    if let Command::Update = cli.command {
        let outcome = match loaded {
            Ok(cfg) => giftpos_app::update::check(&cfg.update, env!("CARGO_PKG_VERSION")).await,
            Err(e) => Err(e.into()),
        };
        return match outcome {
            Ok(o) => {
                print_ok(json, false, &Output::Update(o));
                ExitCode::from(0)
            }
            Err(e) => print_err(json, None, &e),
        };
    }
    if let Command::Doctor = cli.command {
        let report = doctor::run(loaded, clock).await;
        let ok = report.ok;
        let training = report.training;
        print_ok(json, training, &Output::Doctor(report));
        return ExitCode::from(if ok { 0 } else { 6 });
    }
    let outcome = async {
        let till = Arc::new(Terminal::open(loaded?, clock).await?);
        let out = execute(&till, cli.command).await;
        Ok::<_, AppError>((till.is_training(), out))
    }
    .await;
    match outcome {
        Ok((training, Ok(out))) => {
            print_ok(json, training, &out);
            ExitCode::from(out.exit_code())
        }
        Ok((training, Err(e))) => print_err(json, Some(training), &e),
        Err(e) => print_err(json, None, &e),
    }
}

async fn execute(till: &Arc<Terminal>, command: Command) -> Result<Output, AppError> {
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
                    let pin = read_pin(&PinArgs {
                        pin: None,
                        pin_stdin: true,
                    })?
                    .ok_or_else(|| {
                        AppError::new(ErrorCode::InvalidPinEntry, "the manager's PIN is needed")
                    })?;
                    till.activate_with_override(sale, &manager, &pin, &reason)
                        .await?
                }
                _ => till.activate(sale).await?,
            };
            Ok(Output::Operation(r))
        }
        Command::Redeem { token, amount, pin } => {
            let token = till.parse_token(&token)?;
            let amount = till.parse_amount(&amount)?;
            let pin = read_pin(&pin)?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidPinEntry,
                    "redeeming needs the card's PIN (--pin or --pin-stdin)",
                )
            })?;
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
        Command::Topup { token, amount } => {
            let token = till.parse_token(&token)?;
            let amount = till.parse_amount(&amount)?;
            Ok(Output::Operation(till.top_up(&token, amount).await?))
        }
        Command::Info => Ok(Output::Info(till.info())),
        Command::Sync { once: true } => {
            let sent = till.engine().drain(true).await?;
            Ok(Output::Sync(SyncReport {
                sent,
                status: till.sync_status()?,
            }))
        }
        Command::Sync { once: false } => {
            let engine = till.engine().clone();
            let mut events = engine.subscribe();
            let stop = Arc::new(tokio::sync::Notify::new());
            let task = tokio::spawn(engine.clone().run(stop.clone()));
            // The running sync is what IT monitors: its metrics, when configured.
            let metrics_stop = Arc::new(tokio::sync::Notify::new());
            if let Some(addr) = till
                .start_metrics(giftpos_app::metrics::Extra::default, metrics_stop.clone())
                .await?
            {
                eprintln!("giftpos: metrics on http://{addr}/metrics");
            }
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
            stop.notify_one();
            metrics_stop.notify_waiters();
            let _ = task.await;
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
        Command::Journal(JournalCommand::Export { format, out }) => {
            let all = till.journal_entries(None)?;
            let text = if format == "json" {
                serde_json::to_string_pretty(&all).map_err(|e| AppError::internal(e.to_string()))?
            } else {
                export_csv(&all)
            };
            match out {
                Some(path) => {
                    write_private(&path, text.as_bytes())?;
                    Ok(Output::Exported(format!(
                        "{} entries written to {}",
                        all.len(),
                        path.display()
                    )))
                }
                None => Ok(Output::Exported(text)),
            }
        }
        Command::Journal(JournalCommand::Resolve {
            entry_id,
            approved_by,
            note,
        }) => Ok(Output::Entry(Box::new(till.resolve(
            &entry_id,
            &approved_by,
            &note,
        )?))),
        Command::Journal(JournalCommand::Verify) => Ok(Output::Verify(till.verify_journal()?)),
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
                let pdf = giftpos_print::render_receipt(&till.receipt(&entry_id)?);
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
            let csv = giftpos_print::payments_csv(&report);
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
        Command::Report(ReportCommand::Day { date, out }) => {
            let date = report_date(date)?;
            let mut report = till.day_report(date)?;
            till.check_report_payments(&mut report).await;
            let n = report.entries.len();
            write_private(&out, &giftpos_print::render_day_report(&report))?;
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
        } => Ok(Output::Operation(till.undo(&entry_id, &approved_by).await?)),
        Command::Sell {
            token,
            amount,
            pay,
            transaction_id,
            wait,
        } => {
            let token = till.parse_token(&token)?;
            let amount = till.parse_amount(&amount)?;
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
            eprintln!("pay at: {}", p.url);
            eprintln!("{}", giftpos_print::qr_text(&p.url));
            match wait {
                Some(secs) => Ok(Output::Operation(
                    till.finish_payment(&p.operation_id, std::time::Duration::from_secs(secs))
                        .await?,
                )),
                None => Ok(Output::Payment(p)),
            }
        }
        Command::Return { token, approved_by } => {
            let token = till.parse_token(&token)?;
            Ok(Output::Operation(
                till.return_card(&token, &approved_by).await?,
            ))
        }
        Command::Clerk(ClerkCommand::Add { number, name, role }) => {
            let pin = read_pin(&PinArgs {
                pin: None,
                pin_stdin: true,
            })?
            .ok_or_else(|| AppError::new(ErrorCode::InvalidPinEntry, "no PIN on stdin"))?;
            let role = giftpos_app::Role::parse(&role)?;
            let c = till.clerks()?.upsert(&number, &name, role, &pin)?;
            Ok(Output::Exported(format!(
                "clerk {} ({}, {}) saved",
                c.number,
                c.name,
                c.role.as_str()
            )))
        }
        Command::Clerk(ClerkCommand::List) => Ok(Output::Exported(
            till.clerks()?
                .list()?
                .iter()
                .map(|c| format!("{}\t{}\t{}", c.number, c.role.as_str(), c.name))
                .collect::<Vec<_>>()
                .join("\n"),
        )),
        Command::Clerk(ClerkCommand::Remove { number }) => {
            till.clerks()?.remove(&number)?;
            Ok(Output::Exported(format!("clerk {number} removed")))
        }
        Command::Doctor | Command::Sandbox(_) | Command::Scanner(_) | Command::Update => {
            Err(AppError::internal("dispatched elsewhere"))
        }
    }
}

fn read_pin(args: &PinArgs) -> Result<Option<Pin>, AppError> {
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

const TRAINING_BANNER: &str = "TRAINING — embedded sandbox, no real money";

#[derive(Serialize)]
struct JsonOk<'a, T: Serialize> {
    ok: bool,
    training: bool,
    mode: &'static str,
    result: &'a T,
}

fn mode_name(training: bool) -> &'static str {
    if training { "TRAINING" } else { "LIVE" }
}

fn print_json<T: Serialize>(v: &T) {
    match serde_json::to_string(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("giftpos: cannot encode the answer: {e}"),
    }
}

fn print_ok(json: bool, training: bool, out: &Output) {
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
        }
        Output::Operation(o) => {
            let verb = match o.kind {
                giftpos_core::OperationKind::Activate => "Activated",
                giftpos_core::OperationKind::Redeem => "Redeemed",
                giftpos_core::OperationKind::TopUp => "Topped up",
                giftpos_core::OperationKind::Void => "Cancelled",
                _ => "Done",
            };
            println!("{verb} {}", o.card);
            println!("  amount      {}", o.amount.display(loc));
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
            if v.ok {
                println!("journal intact: {} entries, hash chain verified", v.entries);
            } else {
                println!("JOURNAL TAMPERED OR DAMAGED ({} entries):", v.entries);
                for p in &v.problems {
                    println!("  - {p}");
                }
            }
        }
        Output::Payment(p) => {
            println!(
                "payment {} for card {} waits for the customer: {}",
                p.amount.display(loc),
                p.card,
                p.url
            );
            println!(
                "entry {}: the card is activated by sync once paid",
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
                U::Staged { version, file } => {
                    println!("update {version} verified and staged: {file}")
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
        }
    }
}

fn print_entry_line(e: &giftpos_journal::Entry, loc: Locale) {
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
    if let Some(r) = &e.reason {
        println!("       reason: {r}");
    }
}

/// CSV for accounting: one row per entry, no token, no PIN.
/// `--date YYYY-MM-DD`, default today (local time).
fn report_date(date: Option<String>) -> Result<chrono::NaiveDate, AppError> {
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

fn export_csv(all: &[giftpos_journal::Entry]) -> String {
    let mut out = String::from(
        "seq,id,created_at,terminal_id,kind,card,card_id,amount_minor,currency,clerk,state,reason,ref_id,server_transaction_id,dintero_transaction_id,parent_id\n",
    );
    let field = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    for e in all {
        let cols = [
            e.seq.to_string(),
            e.id.clone(),
            e.created_at.to_rfc3339(),
            e.terminal_id.clone(),
            e.kind.as_str().to_string(),
            e.card.clone(),
            e.card_id.clone().unwrap_or_default(),
            e.amount.minor().to_string(),
            e.amount.currency().code().to_string(),
            e.clerk.clone().unwrap_or_default(),
            e.state.as_str().to_string(),
            e.reason.clone().unwrap_or_default(),
            e.ref_id.clone().unwrap_or_default(),
            e.server_transaction_id.clone().unwrap_or_default(),
            e.metadata
                .get("dintero_transaction_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            e.parent_id.clone().unwrap_or_default(),
        ];
        let row: Vec<String> = cols.iter().map(|c| field(c)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// Creates `path` readable by its owner only; refuses to overwrite.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), AppError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!("cannot create {}: {e}", path.display()),
        )
    })?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))
}

#[derive(Serialize)]
struct JsonErr<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    training: Option<bool>,
    error: JsonErrBody<'a>,
}

#[derive(Serialize)]
struct JsonErrBody<'a> {
    code: ErrorCode,
    class: giftpos_app::ErrorClass,
    message: &'a str,
    hint: &'static str,
    exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
}

fn print_err(json: bool, training: Option<bool>, e: &AppError) -> ExitCode {
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

async fn run_sandbox(args: SandboxArgs, json: bool) -> ExitCode {
    let mut faults = Faults::default();
    for f in &args.faults {
        if let Err(e) = faults.add(f) {
            return print_err(json, None, &AppError::new(ErrorCode::InvalidInput, e));
        }
    }
    let cfg = SandboxConfig {
        state_file: args.state.clone(),
        faults,
        seed_demo: !args.no_demo,
        token_ttl_secs: args.token_ttl,
        ..SandboxConfig::default()
    };
    let sb = match Sandbox::start(args.listen, cfg, Arc::new(SystemClock)).await {
        Ok(sb) => sb,
        Err(e) => return print_err(json, None, &AppError::new(ErrorCode::Config, e.to_string())),
    };
    let env = sb.client_env();
    if json {
        let env: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone().into()))
            .collect();
        print_json(&serde_json::json!({"ok": true, "sandbox": sb.base_url(), "env": env}));
    } else {
        println!(
            "Dintero sandbox listening on {} (sandbox credentials, no real money)",
            sb.base_url()
        );
        println!("Point giftpos at it from another shell:");
        for (k, v) in &env {
            println!("  export {k}={v}");
        }
        println!("Stop with Ctrl-C.");
    }
    wait_for_stop().await;
    sb.stop().await;
    ExitCode::SUCCESS
}

async fn run_scanner(
    cmd: ScannerCommand,
    loaded: Result<config::Config, config::ConfigError>,
    json: bool,
) -> ExitCode {
    let port = match cmd {
        ScannerCommand::List => {
            let ports = giftpos_scanner::list_ports();
            if json {
                print_json(&serde_json::json!({"ok": true, "ports": ports}));
            } else if ports.is_empty() {
                println!("no serial ports found (a keyboard-wedge reader needs none)");
            } else {
                for p in ports {
                    println!("{p}");
                }
            }
            return ExitCode::SUCCESS;
        }
        ScannerCommand::Listen { port } => port,
    };
    let cfg = match loaded {
        Ok(c) => c,
        Err(e) => return print_err(json, None, &e.into()),
    };
    let mut serial = cfg.scanner.clone();
    if let Some(p) = port {
        serial.port = p;
    } else if !cfg.scanner_configured {
        return print_err(
            json,
            None,
            &AppError::new(
                ErrorCode::Config,
                "no scanner port: give --port or set [scanner] port",
            ),
        );
    }
    let reader = match giftpos_scanner::Reader::start(serial) {
        Ok(r) => r,
        Err(e) => return print_err(json, None, &AppError::new(ErrorCode::Config, e.to_string())),
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            wait_for_stop().await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let formats = cfg.token_formats.clone();
    let _ = tokio::task::spawn_blocking(move || {
        use giftpos_scanner::ScannerEvent as E;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok(ev) = reader
                .events()
                .recv_timeout(std::time::Duration::from_millis(100))
            else {
                continue;
            };
            let line = match ev {
                E::Connected { port } => serde_json::json!({"event": "connected", "port": port}),
                E::Disconnected { port, reason } => {
                    serde_json::json!({"event": "disconnected", "port": port, "reason": reason})
                }
                E::Frame { frame, .. } => {
                    let scan = giftpos_scanner::classify(&frame.text, &formats).view();
                    serde_json::json!({"event": "scan", "symbology": frame.symbology, "scan": scan})
                }
                E::Discarded { reason, bytes } => {
                    serde_json::json!({"event": "discarded", "reason": reason, "bytes": bytes})
                }
            };
            if json {
                println!("{line}");
            } else {
                println!("{}", human_scan_line(&line));
            }
        }
    })
    .await;
    ExitCode::SUCCESS
}

fn human_scan_line(v: &serde_json::Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    match v["event"].as_str() {
        Some("connected") => format!("scanner connected on {}", s("port")),
        Some("disconnected") => format!(
            "SCANNER DISCONNECTED ({}); waiting for it to return",
            s("reason")
        ),
        Some("scan") => match v["scan"]["kind"].as_str() {
            Some("card") => format!("gift card {}", v["scan"]["card"].as_str().unwrap_or("")),
            Some("receipt") => format!(
                "receipt of journal entry {}",
                v["scan"]["entry_id"].as_str().unwrap_or("")
            ),
            Some("near_miss") => format!(
                "almost a gift card: {}",
                v["scan"]["message"].as_str().unwrap_or("")
            ),
            _ => "not a gift card".to_string(),
        },
        _ => format!("discarded {} bytes ({})", v["bytes"], s("reason")),
    }
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
