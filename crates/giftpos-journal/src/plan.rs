//! What to send next: a pure function of the open entries, the cards already in flight,
//! the time, and how many may go at once. Table-tested below.
//!
//! Rules: one card's entries go strictly in journal order (activation before top-up
//! before redemption), one at a time; different cards go concurrently up to `limit`; a
//! card whose head entry needs attention waits for a person; an entry told to wait
//! (backoff, `Retry-After`) holds its card until then. Oldest cards first.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::{Entry, EntryState};

/// The part of an entry the plan looks at (borrowed: planning allocates nothing per
/// entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub card_key: &'a str,
    pub state: EntryState,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl<'a> From<&'a Entry> for PlanItem<'a> {
    fn from(e: &'a Entry) -> Self {
        PlanItem {
            seq: e.seq,
            id: &e.id,
            card_key: &e.card_key,
            state: e.state,
            next_attempt_at: e.next_attempt_at,
        }
    }
}

/// The ids to send now, oldest card first. `items` must be in journal order.
pub fn plan(
    items: &[PlanItem<'_>],
    in_flight: &HashSet<String>,
    now: DateTime<Utc>,
    limit: usize,
) -> Vec<String> {
    let mut seen_cards: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    let free = limit.saturating_sub(in_flight.len());
    for item in items {
        if out.len() >= free {
            break;
        }
        // Only a card's first open entry can go; later ones wait behind it.
        if !seen_cards.insert(item.card_key) {
            continue;
        }
        if in_flight.contains(item.card_key) || !item.state.is_open() {
            continue;
        }
        if item.next_attempt_at.is_some_and(|t| t > now) {
            continue;
        }
        out.push(item.id.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    const IDS: [&str; 5] = ["e0", "e1", "e2", "e3", "e4"];

    fn item(
        seq: i64,
        card: &'static str,
        state: EntryState,
        wait_until: Option<i64>,
    ) -> PlanItem<'static> {
        PlanItem {
            seq,
            id: IDS[seq as usize],
            card_key: card,
            state,
            next_attempt_at: wait_until.map(t),
        }
    }

    use EntryState::*;

    #[test]
    fn table() {
        struct Case {
            name: &'static str,
            items: Vec<PlanItem<'static>>,
            in_flight: Vec<&'static str>,
            limit: usize,
            want: Vec<&'static str>,
        }
        let cases = vec![
            Case {
                name: "one card goes in order, one at a time",
                items: vec![item(1, "a", Recorded, None), item(2, "a", Recorded, None)],
                in_flight: vec![],
                limit: 10,
                want: vec!["e1"],
            },
            Case {
                name: "different cards go together",
                items: vec![
                    item(1, "a", Recorded, None),
                    item(2, "b", Sent, None),
                    item(3, "a", Recorded, None),
                    item(4, "c", Recorded, None),
                ],
                in_flight: vec![],
                limit: 10,
                want: vec!["e1", "e2", "e4"],
            },
            Case {
                name: "the limit counts what is in flight",
                items: vec![
                    item(1, "a", Recorded, None),
                    item(2, "b", Recorded, None),
                    item(3, "c", Recorded, None),
                ],
                in_flight: vec!["x"],
                limit: 2,
                want: vec!["e1"],
            },
            Case {
                name: "a card in flight sends nothing more",
                items: vec![item(1, "a", Sent, None), item(2, "b", Recorded, None)],
                in_flight: vec!["a"],
                limit: 10,
                want: vec!["e2"],
            },
            Case {
                name: "needs-attention holds its card, not others",
                items: vec![
                    item(1, "a", NeedsAttention, None),
                    item(2, "a", Recorded, None),
                    item(3, "b", Recorded, None),
                ],
                in_flight: vec![],
                limit: 10,
                want: vec!["e3"],
            },
            Case {
                name: "a wait holds the card until its time",
                items: vec![
                    item(1, "a", Sent, Some(60)),
                    item(2, "a", Recorded, None),
                    item(3, "b", Sent, Some(-1)),
                ],
                in_flight: vec![],
                limit: 10,
                want: vec!["e3"],
            },
            Case {
                name: "nothing open, nothing to do",
                items: vec![],
                in_flight: vec![],
                limit: 10,
                want: vec![],
            },
        ];
        for c in cases {
            let in_flight = c.in_flight.iter().map(|s| s.to_string()).collect();
            let got = plan(&c.items, &in_flight, t(0), c.limit);
            assert_eq!(got, c.want, "{}", c.name);
        }
    }
}
