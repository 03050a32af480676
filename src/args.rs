//! The command line's arguments (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "giftpos",
    version,
    about = "giftpos: sell, check, redeem and top up Dintero gift cards from the command line",
    after_help = "Exit codes: 0 done, 1 internal error, 2 bad input, 3 refused by Dintero, \
                  4 saved and waiting to sync, 5 Dintero unreachable (nothing recorded), \
                  6 configuration error, 7 Dintero's answer could not be read.\n\
                  With no Dintero credentials configured, commands run in TRAINING mode on \
                  an embedded sandbox."
)]
pub(crate) struct Cli {
    /// A config file read after /etc/giftpos/config.toml and the user's file.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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
    /// customer pays at the printed URL / QR code), name a Dintero payment taken before
    /// (`--transaction-id`), or take cash or the store's card terminal where IT allows
    /// them (`--pay cash`, `--pay card-terminal --reference R`).
    Sell {
        token: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// `dintero`: a Checkout session the customer pays on their phone; `cash`;
        /// `card-terminal` (with `--reference`).
        #[arg(long, value_parser = ["dintero", "cash", "card-terminal"], required_unless_present = "transaction_id")]
        pay: Option<String>,
        /// The `dintero_transaction_id` of a payment taken elsewhere.
        #[arg(long = "transaction-id", conflicts_with = "pay")]
        transaction_id: Option<String>,
        /// The card terminal's receipt reference (`--pay card-terminal`).
        #[arg(long)]
        reference: Option<String>,
        /// Wait for the payment (at most this many seconds; default 900) and activate.
        /// Without it the URL is printed and the journal finishes the sale once paid.
        #[arg(long, num_args = 0..=1, default_missing_value = "900")]
        wait: Option<u64>,
    },
    /// Take back an unused card sold through Dintero Checkout: its balance is drawn to
    /// zero and the payment refunded. Refused when the card has been used.
    Return {
        token: String,
        /// The approving manager's number; their PIN is read from standard input.
        #[arg(long = "approved-by")]
        approved_by: String,
    },
    /// Redeem an amount: a pending drawdown, then its capture. With `--pay-rest
    /// dintero`, `--amount` is the purchase's total: one Dintero Checkout payment in
    /// which the card pays what it holds and the customer pays the rest at the printed
    /// URL / QR code (Dintero draws the card).
    Redeem {
        token: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        #[command(flatten)]
        pin: PinArgs,
        /// `dintero`: pay the rest of the total through Dintero Checkout.
        #[arg(long = "pay-rest", value_parser = ["dintero"])]
        pay_rest: Option<String>,
        /// With `--pay-rest`: wait for the payment (at most this many seconds; default
        /// 900). Without it the URL is printed and the journal finishes it once paid.
        #[arg(long, num_args = 0..=1, default_missing_value = "900", requires = "pay_rest")]
        wait: Option<u64>,
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
        /// The `dintero_transaction_id` of the payment for the top-up (verified).
        #[arg(long = "transaction-id", conflicts_with = "pay")]
        transaction_id: Option<String>,
        /// `dintero`: a Checkout session the customer pays on their phone; `cash`, or
        /// `card-terminal` (with `--reference`), where IT allows them.
        #[arg(long, value_parser = ["dintero", "cash", "card-terminal"])]
        pay: Option<String>,
        /// The card terminal's receipt reference (`--pay card-terminal`).
        #[arg(long)]
        reference: Option<String>,
        /// A manager lets the top-up through without a payment that can be shown: the
        /// manager's number here, their PIN on standard input, and `--reason`.
        #[arg(long = "override-by", requires = "reason", conflicts_with = "pay")]
        override_by: Option<String>,
        #[arg(long, requires = "override_by")]
        reason: Option<String>,
        /// With `--pay dintero`: wait for the payment (at most this many seconds;
        /// default 900) and load the card. Without it the URL is printed and the journal
        /// loads the card once paid.
        #[arg(long, num_args = 0..=1, default_missing_value = "900", requires = "pay")]
        wait: Option<u64>,
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
    /// Check the configured update endpoint and report a newer release (`apply`, as
    /// root, installs it). A tampered or unsigned package is refused (exit 3).
    Update {
        #[command(subcommand)]
        action: Option<UpdateCommand>,
    },
    /// The clerks and managers who sign in at this till (PINs kept only as argon2
    /// hashes).
    #[command(subcommand)]
    Clerk(ClerkCommand),
    /// Undo a journal entry: void a pending redemption, or record the compensating
    /// operation for a confirmed one. Needs the approving manager.
    Void {
        entry_id: String,
        /// The approving manager's number; their PIN is read from standard input.
        #[arg(long = "approved-by")]
        approved_by: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ClerkCommand {
    /// Add a clerk, or change a clerk's name, role and PIN. The PIN (4–8 digits) is read
    /// from the first line of standard input; with `--approved-by N` the manager's PIN
    /// comes first, then the new PIN. Needs a manager, or root (IT), or no clerks yet.
    Add {
        number: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["clerk", "manager"], default_value = "clerk")]
        role: String,
        #[arg(long = "approved-by")]
        approved_by: Option<String>,
    },
    /// Clerk numbers, names and roles.
    List,
    /// Remove a clerk (a manager's approval, their PIN on standard input, or root).
    Remove {
        number: String,
        #[arg(long = "approved-by")]
        approved_by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum BatchCommand {
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
pub(crate) enum ReportCommand {
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
    /// How gift cards sold and topped up on a day were paid, as CSV: each with its
    /// tender (Dintero, cash, card terminal, a manager's override) and clerk.
    Tenders {
        /// YYYY-MM-DD in the terminal's local time; default today.
        #[arg(long)]
        date: Option<String>,
        /// Write the CSV here (created 0600, never overwritten); default standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ScannerCommand {
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
pub(crate) enum JournalCommand {
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
    /// Check the hash chain, archives included: finds edited, removed or reordered
    /// entries.
    Verify {
        /// Also compare the chain with its anchors: journald's, and any FILE of
        /// `seq:hash` lines copied from printed Z-reports (repeatable).
        #[arg(long, value_name = "FILE", num_args = 0..)]
        anchors: Option<Vec<std::path::PathBuf>>,
    },
    /// Move confirmed and refused entries from before DATE (YYYY-MM-DD, local) to a
    /// compressed, verifiable archive file under the data dir's `archive/`. Nothing open
    /// or needing attention is archived; the chain continues across the boundary.
    Archive {
        #[arg(long)]
        before: chrono::NaiveDate,
    },
    /// Settle an entry that needs attention (a manager's decision): it is recorded as not
    /// applied, with the note, and the card's later entries sync again.
    Resolve {
        entry_id: String,
        /// The approving manager's number; their PIN is read from standard input.
        #[arg(long = "approved-by")]
        approved_by: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Args, Debug)]
pub(crate) struct PinArgs {
    /// The card's PIN. Visible to other users in the process list: prefer --pin-stdin.
    #[arg(long, conflicts_with = "pin_stdin")]
    pub(crate) pin: Option<String>,
    /// Read the PIN from the first line of standard input.
    #[arg(long = "pin-stdin")]
    pub(crate) pin_stdin: bool,
}

#[derive(Args, Debug)]
pub(crate) struct SandboxArgs {
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) listen: SocketAddr,
    /// Keep the sandbox's state in this file across restarts.
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// A fault to inject: latency=MS, drop-before, drop-after, 5xx, 429 or malformed,
    /// with :count=N, :path=TEXT, :percent=N, :status=5xx, :retry-after=S. Repeatable.
    /// Change faults while running with PUT /_sandbox/faults.
    #[arg(long = "fault", value_name = "SPEC")]
    pub(crate) faults: Vec<String>,
    /// Start with no demo cards.
    #[arg(long = "no-demo")]
    pub(crate) no_demo: bool,
    /// Lifetime of the access tokens it issues, in seconds.
    #[arg(long = "token-ttl", default_value_t = 3600)]
    pub(crate) token_ttl: u64,
    /// Serve HTTPS with a certificate from a CA made at start; its PEM is written to
    /// --ca-out for the terminal's GIFTPOS_CA_FILE.
    #[arg(long)]
    pub(crate) tls: bool,
    /// Where --tls writes the CA's certificate.
    #[arg(
        long = "ca-out",
        value_name = "FILE",
        default_value = "giftpos-sandbox-ca.pem"
    )]
    pub(crate) ca_out: PathBuf,
    /// Close connections idle this many seconds, as real servers do at some limit.
    #[arg(long = "idle-timeout", value_name = "SECS")]
    pub(crate) idle_timeout: Option<u64>,
    /// Where Dintero's contract is silent, the reading to play, e.g.
    /// `gift_card_drawn=capture` (default: `gift_card_drawn=authorization`).
    #[arg(long, value_name = "KEY=VALUE,…", value_parser = giftpos_sandbox::Readings::parse)]
    pub(crate) readings: Option<giftpos_sandbox::Readings>,
    /// Serve training mode's sandbox (the one the app embeds, with its saved state)
    /// until stopped: giftpos commands in training use it, so a payer page they print
    /// stays open after they exit.
    #[arg(long, conflicts_with_all = ["state", "tls", "faults", "no_demo"])]
    pub(crate) training: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UpdateCommand {
    /// Root only (giftpos-update.timer runs it): download a newer release from IT's
    /// endpoint into a folder only root can enter, verify its signature against this
    /// build's key, and install that copy when it is newer than the installed one.
    Apply {
        #[arg(long, default_value = "/var/cache/giftpos/updates")]
        dir: std::path::PathBuf,
    },
}
