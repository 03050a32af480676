//! The machine's clock. What a clock is (`Clock`, and `ManualClock` for tests) is in
//! `giftpos-core`; reading the real one is IO, so it lives here.

use chrono::{DateTime, Utc};
pub use giftpos_core::clock::{Clock, ManualClock};

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
