//! The giftpos application API: the one surface that the Tauri shell, the `giftpos` CLI
//! and the tests call. It owns configuration, training mode, the operations a clerk
//! performs, and diagnostics. It knows nothing of Tauri or of the command line.
//!
//! ```no_run
//! # async fn demo() -> Result<(), giftpos_app::AppError> {
//! use std::sync::Arc;
//! use giftpos_app::{config, Terminal};
//! let cfg = config::load(&config::LoadOptions::from_process(None))?;
//! let till = Terminal::open(cfg, Arc::new(giftpos_dintero::SystemClock)).await?;
//! let card = till.parse_token("9578000000002001")?;
//! let pin = giftpos_core::Pin::parse("6001")?;
//! let view = till.balance(&card, Some(&pin)).await?;
//! println!("{:?}", view.available);
//! # Ok(()) }
//! ```

pub mod anchor;
pub mod approval;
pub mod batch;
pub mod clerks;
pub mod config;
pub mod doctor;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod payments;
pub mod private;
pub mod scanner;
pub mod sync;
pub mod tender;
pub mod terminal;
pub mod training;
pub mod update;

pub use clerks::{Clerk, Role};
pub use error::{AppError, ErrorClass, ErrorCode};
pub use terminal::{
    Activation, BalanceView, HistoryItem, ManagerInput, OperationResult, OverrideInput,
    Reservation, SellInput, Terminal, TerminalInfo, Till,
};

// The values the adapters (the CLI, the shell) hand to `Terminal` and get back: they
// depend on this crate alone.
pub use giftpos_core::{CardToken, Currency, Locale, Money, OperationKind, Pin};
pub use giftpos_dintero::SystemClock;
pub use giftpos_journal::{Entry, VerifyReport};
pub use giftpos_print::DayReport;
pub use giftpos_scanner::ReaderState;
