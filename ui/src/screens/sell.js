// Selling a card: the card, the amount and the payment behind it — a Dintero payment's
// reference (verified, or a manager's override), cash or the store's card terminal
// where IT allows them, or Pay with Dintero (a QR code).

import { invoke } from "../api.js";
import { h } from "../dom.js";
import { t } from "../app.js";
import { acceptsCard, amountField, askManager, busy, cardField, formScreen, payWithDintero, paymentField, showResult } from "../components.js";

export function sellScreen(scan) {
  const card = cardField();
  const amount = amountField();
  const payment = paymentField();
  const payDintero = h("button", { id: "pay-dintero", type: "button", class: "secondary" }, t("sell.pay_dintero"));
  const ctl = formScreen(
    "sell.title",
    [card, amount, { el: payment.el }],
    "sell.submit",
    async () => {
      const args = { card: card.value(), amount: amount.input.value, ...payment.args() };
      try {
        showResult(ctl, await invoke("sell", args), "sell.done");
      } catch (e) {
        if (e?.code !== "payment_unverified") throw e;
        // The payment could not be verified: a manager may let the sale through, with
        // a reason (recorded on the entry, the receipt and the Z-report).
        ctl.err.show(e);
        const override = h("button", { id: "override", type: "button", class: "secondary" }, t("sell.override"));
        override.onclick = () =>
          askManager(
            `${t("sell.override_what")} (${args.transactionId})`,
            async (manager, managerPin, reason) =>
              showResult(
                ctl,
                await invoke("sell_override", { card: args.card, amount: args.amount, transactionId: args.transactionId, manager, managerPin, reason }),
                "sell.done",
              ),
            { reason: true },
          );
        ctl.err.el.append(override);
      }
    },
  );
  ctl.form.querySelector(".actions").append(payDintero);
  // Pay through Dintero Checkout: the session's URL as a QR code for the customer's
  // phone; the card is activated once the payment is through.
  payDintero.onclick = () =>
    busy(payDintero, () => payWithDintero(ctl, () => invoke("start_payment", { card: card.value(), amount: amount.input.value }), "sell.done"));
  return acceptsCard(ctl, card, amount.input, scan);
}
