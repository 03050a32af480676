//! The Dintero client for gift-card terminals: auth (client credentials), the Wallets
//! and Checkout endpoints the terminal uses, with typed errors that say whether a retry
//! is safe. One home per API: [`client`]'s `wallets.rs` and `checkout.rs` beside the
//! transport in `client/mod.rs`; [`wire`]'s `wallets.rs` and `checkout.rs` beside what
//! both share.
//!
//! [`wire`] holds the JSON shapes and the error codes we agreed on where Dintero is
//! silent; the sandbox (`giftpos-sandbox`) serves the same types, so the protocol is
//! written down once. [`lenient`] reads answers tolerantly.
//!
//! Nothing here logs a PIN, a full card token, an access token or the client secret:
//! spans carry the operation name and HTTP status only.

pub mod client;
pub mod clock;
pub mod error;
pub mod lenient;
pub mod wire;

pub use client::{ClientConfig, DinteroClient, Probe};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Call, DinteroError, RetryAdvice};
