//! Writes a sample receipt (TRAINING, not yet confirmed) to the path given, to look at.
fn main() {
    use giftpos_core::{Currency, Locale, Money, OperationKind};
    let nok = Currency::parse("NOK").expect("NOK");
    let r = giftpos_print::Receipt {
        store: "Oslo S".into(),
        terminal_id: "till-2".into(),
        clerk: Some("clerk-7".into()),
        time: chrono::Local::now().fixed_offset(),
        kind: OperationKind::Activate,
        card: "************1001".into(),
        amount: Money::from_minor(50_000, nok).expect("amount"),
        balance_after: Some(Money::from_minor(50_000, nok).expect("amount")),
        transaction_id: None,
        dintero_transaction_id: Some("T12345678.pay-42".into()),
        payment_override: None,
        tender: None,
        split: None,
        entry_id: "0b7c7c1e-8a52-4a1f-9f39-0c7b1c1d2e3f".into(),
        confirmed: false,
        training: true,
        locale: Locale::En,
    };
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "receipt.pdf".into());
    std::fs::write(out, giftpos_print::render_receipt(&r)).expect("write");
}
