//! A clerk's actions from raw input (`Terminal::at_till`, `Till`): who may act and which
//! approval each action needs are decided by the application, whatever the adapter sends.

use crate::common;

use common::*;
use giftpos_app::{ErrorCode, ManagerInput, OverrideInput, SellInput};
use giftpos_core::Pin;
use giftpos_journal::EntryState;

fn manager(number: &str, pin: &str) -> ManagerInput {
    ManagerInput {
        number: number.into(),
        pin: pin.into(),
    }
}

fn overridden(card: &str, amount: &str, by: ManagerInput) -> SellInput {
    SellInput {
        card: card.into(),
        amount: amount.into(),
        transaction_id: Some("  T99999999.elsewhere  ".into()),
        approval: Some(OverrideInput {
            manager: by,
            reason: "paid at the other till".into(),
        }),
        ..SellInput::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_till_is_the_signed_in_clerks_and_decides_who_approves() {
    let sb = sandbox_at("127.0.0.1:0", None).await;
    let dir = tempfile::tempdir().unwrap();
    let t = terminal(&sb, dir.path()).await;
    let cards = stock(&t, "till", 2).await;
    let clerk_pin = Pin::parse("1111").unwrap();
    t.add_clerk("1", "Clerk", giftpos_app::Role::Clerk, &clerk_pin, None)
        .unwrap();
    t.add_clerk(
        "9",
        "Manager",
        giftpos_app::Role::Manager,
        &Pin::parse("9999").unwrap(),
        None,
    )
    .unwrap();

    // Nobody signed in: the till is closed, whatever the page asks for.
    let e = t.at_till().unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSignedIn, "{e}");

    let clerk = t.sign_in_typed(" 1 ", " 1111\n").unwrap();
    assert_eq!(clerk.number, "1");
    let till = t.at_till().unwrap();
    assert_eq!(till.clerk().map(|c| c.number.as_str()), Some("1"));

    // No payment: nothing is recorded.
    let unpaid = SellInput {
        card: cards[0].0.clone(),
        amount: "250".into(),
        ..SellInput::default()
    };
    let e = till.sell(unpaid).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PaymentRequired, "{e}");

    // A clerk cannot approve their own override.
    let e = till
        .sell(overridden(&cards[0].0, "250", manager("1", "1111")))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ManagerRequired, "{e}");

    // A wrong amount is named before the manager's PIN is tried: a typo does not count
    // towards the manager's lockout.
    let e = till
        .sell(overridden(&cards[0].0, "two hundred", manager("9", "0000")))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidAmount, "{e}");
    // So is a missing reason, and a void of an entry that is not there.
    let mut no_reason = overridden(&cards[0].0, "250", manager("9", "0000"));
    if let Some(o) = no_reason.approval.as_mut() {
        o.reason = "  ".into();
    }
    let e = till.sell(no_reason).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
    let e = till
        .undo("no-such-entry", &manager("9", "0000"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
    // A top-up is in the terminal's currency.
    let e = till
        .top_up(SellInput {
            currency: Some("SEK".into()),
            ..overridden(&cards[1].0, "100", manager("9", "9999"))
        })
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
    assert!(
        t.journal_entries(None).unwrap().is_empty(),
        "nothing recorded"
    );

    // Someone else signs in while clerk 1's till is in use: what clerk 1 does is still
    // recorded as theirs.
    t.add_clerk(
        "2",
        "Clerk",
        giftpos_app::Role::Clerk,
        &Pin::parse("2222").unwrap(),
        None,
    )
    .unwrap();
    t.sign_in_typed("2", "2222").unwrap();

    // The manager's override: the input trimmed, the manager and the clerk recorded.
    let done = till
        .sell(overridden(
            &format!(" {} ", cards[0].0),
            " 250 ",
            manager("9", "9999"),
        ))
        .await
        .unwrap();
    assert_eq!(done.state, EntryState::Confirmed);
    assert_eq!(done.amount.minor(), 25_000);
    let entry = t.journal_entry(&done.operation_id).unwrap();
    assert_eq!(entry.clerk.as_deref(), Some("1"));
    assert_eq!(entry.metadata.override_by.as_deref(), Some("9"));
    assert_eq!(
        entry.metadata.dintero_transaction_id.as_deref(),
        Some("T99999999.elsewhere")
    );

    // Void needs a manager; the clerk's own number and PIN are refused.
    let e = till
        .undo(&done.operation_id, &manager("1", "1111"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ManagerRequired, "{e}");
    let voided = till
        .undo(&done.operation_id, &manager("9", "9999"))
        .await
        .unwrap();
    assert_eq!(voided.state, EntryState::Confirmed);

    assert_eq!(
        t.journal_entry(&voided.operation_id)
            .unwrap()
            .clerk
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        t.at_till().unwrap().clerk().map(|c| c.number.as_str()),
        Some("2")
    );

    // Signed out: the till closes again.
    t.sign_out();
    assert_eq!(t.at_till().unwrap_err().code, ErrorCode::NotSignedIn);
}
