// Topping a card up: paid like a sale — a Dintero payment's reference (verified), cash
// or the store's card terminal where IT allows them, or a manager's override with a
// reason when no payment can be shown.

import { invoke } from "../api.js";
import { h } from "../dom.js";
import { t } from "../app.js";
import { acceptsCard, amountField, askManager, busy, cardField, formScreen, payWithDintero, paymentField, showResult } from "../components.js";

export function topUpScreen(scan) {
  const card = cardField();
  const amount = amountField();
  const payment = paymentField();
  const ctl = formScreen("topup.title", [card, amount, { el: payment.el }], "topup.submit", async () => {
    const args = { card: card.value(), amount: amount.input.value, ...payment.args() };
    try {
      showResult(ctl, await invoke("top_up", args), "topup.done");
    } catch (e) {
      if (e?.code !== "payment_unverified" && e?.code !== "tender_not_allowed") throw e;
      ctl.err.show(e);
      const override = h("button", { id: "override", type: "button", class: "secondary" }, t("sell.override"));
      override.onclick = () =>
        askManager(
          t("topup.override_what"),
          async (manager, managerPin, reason) =>
            showResult(
              ctl,
              await invoke("top_up_override", {
                card: args.card,
                amount: args.amount,
                transactionId: args.tender === "dintero" ? args.transactionId : null,
                manager,
                managerPin,
                reason,
              }),
              "topup.done",
            ),
          { reason: true },
        );
      ctl.err.el.append(override);
    }
  });
  // Pay with Dintero (a QR code for the customer's phone), as on Sell.
  const payDintero = h("button", { id: "pay-dintero", type: "button", class: "secondary" }, t("sell.pay_dintero"));
  ctl.form.querySelector(".actions").append(payDintero);
  payDintero.onclick = () =>
    busy(payDintero, () => payWithDintero(ctl, () => invoke("start_payment", { card: card.value(), amount: amount.input.value, topUp: true }), "topup.done"));
  return acceptsCard(ctl, card, amount.input, scan);
}
