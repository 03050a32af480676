//! Demo data: printed stock waiting to be sold and live cards with balances. The README
//! lists these tokens and PINs for training.

use chrono::{DateTime, TimeZone, Utc};

use crate::store::Store;

/// The state a demo card starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoState {
    /// Printed stock: inactive, no balance. Sell it.
    Stock,
    /// Active with this balance in NOK øre.
    Active(i64),
    /// Active with a balance, but expired on 2025-01-01.
    Expired(i64),
    /// Active with a balance, valid only from 2099-01-01.
    NotYetValid(i64),
}

/// One demo card.
#[derive(Debug, Clone, Copy)]
pub struct DemoCard {
    pub card_id: &'static str,
    pub token: &'static str,
    pub pin: &'static str,
    pub state: DemoState,
}

const fn stock(card_id: &'static str, token: &'static str, pin: &'static str) -> DemoCard {
    DemoCard {
        card_id,
        token,
        pin,
        state: DemoState::Stock,
    }
}

/// Every demo card. Tokens follow the two default formats: 16 digits, and `DINCARD:` + a
/// UUID.
pub const DEMO_CARDS: &[DemoCard] = &[
    stock("demo-stock-01", "9578000000001001", "4001"),
    stock("demo-stock-02", "9578000000001002", "4002"),
    stock("demo-stock-03", "9578000000001003", "4003"),
    stock("demo-stock-04", "9578000000001004", "4004"),
    stock("demo-stock-05", "9578000000001005", "4005"),
    stock("demo-stock-06", "9578000000001006", "4006"),
    stock("demo-stock-07", "9578000000001007", "4007"),
    stock("demo-stock-08", "9578000000001008", "4008"),
    stock("demo-stock-09", "9578000000001009", "4009"),
    stock("demo-stock-10", "9578000000001010", "4010"),
    stock(
        "demo-stock-u1",
        "DINCARD:00000000-0000-4000-8000-000000000001",
        "5001",
    ),
    stock(
        "demo-stock-u2",
        "DINCARD:00000000-0000-4000-8000-000000000002",
        "5002",
    ),
    DemoCard {
        card_id: "demo-live-500",
        token: "9578000000002001",
        pin: "6001",
        state: DemoState::Active(50_000),
    },
    DemoCard {
        card_id: "demo-live-1000",
        token: "9578000000002002",
        pin: "6002",
        state: DemoState::Active(100_000),
    },
    DemoCard {
        card_id: "demo-live-50",
        token: "9578000000002003",
        pin: "6003",
        state: DemoState::Active(5_000),
    },
    DemoCard {
        card_id: "demo-expired",
        token: "9578000000003001",
        pin: "7001",
        state: DemoState::Expired(20_000),
    },
    DemoCard {
        card_id: "demo-future",
        token: "9578000000003002",
        pin: "7002",
        state: DemoState::NotYetValid(20_000),
    },
];

/// Puts the demo cards into `store`.
/// Demo payments taken "elsewhere", so training can sell cards against real-looking
/// references (`dintero_transaction_id`) and see each verification check.
pub const DEMO_PAYMENTS: &[(&str, i64, &str)] = &[
    ("T12345678.demo-paid-500", 50_000, "CAPTURED"),
    ("T12345678.demo-paid-1000", 100_000, "CAPTURED"),
    ("T12345678.demo-authorized-300", 30_000, "AUTHORIZED"),
    ("T12345678.demo-on-hold-500", 50_000, "ON_HOLD"),
    ("T12345678.demo-declined-500", 50_000, "DECLINED"),
    ("T12345678.demo-refunded-500", 50_000, "REFUNDED"),
    ("T12345678.demo-sek-500", 50_000, "CAPTURED"),
];

pub fn seed(store: &mut Store, now: DateTime<Utc>) {
    for (id, amount, status) in DEMO_PAYMENTS {
        let _ = store.checkout.register(
            now,
            crate::checkout::ExternalPayment {
                id: (*id).into(),
                amount: *amount,
                currency: if id.contains("-sek-") { "SEK" } else { "NOK" }.into(),
                status: (*status).into(),
                captured: None,
                refunded: None,
            },
        );
    }
    let expired = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single();
    let future = Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).single();
    for c in DEMO_CARDS {
        let prefix = if c.token.starts_with("DINCARD:") {
            8
        } else {
            0
        };
        let (activation, from, until) = match c.state {
            DemoState::Stock => (None, None, None),
            DemoState::Active(a) => (Some((a, "NOK")), None, None),
            DemoState::Expired(a) => (
                Some((a, "NOK")),
                expired.map(|e| e - chrono::Duration::days(365)),
                expired,
            ),
            DemoState::NotYetValid(a) => (Some((a, "NOK")), future, None),
        };
        store.insert_card(
            now,
            c.card_id,
            c.token,
            prefix,
            Some(c.pin),
            activation,
            from,
            until,
        );
    }
}
