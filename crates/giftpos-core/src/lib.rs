//! The giftpos domain: money, card tokens, card states and the operations a terminal
//! performs. This crate does no IO — no network, no files, no reading of the clock (it
//! only names what a clock is: `Clock`) — so every rule here can be tested as a pure
//! function.
//!
//! ```
//! use giftpos_core::{Currency, Locale, Money};
//! let nok = Currency::parse("NOK").unwrap();
//! let m = Money::parse("1 234,50", nok, Locale::Nb).unwrap();
//! assert_eq!(m.minor(), 123_450);
//! assert_eq!(m.format(Locale::En), "1,234.50");
//! ```

pub mod card;
pub mod clock;
pub mod money;
pub mod operation;
pub mod receipt;
pub mod secret;
pub mod token;

pub use card::CardStatus;
pub use clock::{Clock, ManualClock};
pub use money::{Currency, Locale, Money, MoneyError};
pub use operation::OperationKind;
pub use receipt::{RECEIPT_PREFIX, receipt_payload};
pub use secret::{Pin, PinError, Secret};
pub use token::{CardToken, TokenError, TokenFormat};
