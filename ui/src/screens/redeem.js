// Redeeming: reserve the amount, then complete the sale (or cancel and release it).

import { invoke } from "../api.js";
import { h } from "../dom.js";
import { money, t } from "../app.js";
import { acceptsCard, amountField, busy, cardField, decimalText, errorBox, formScreen, payWithDintero, pinField, showResult } from "../components.js";

export function redeemScreen(scan) {
  const card = cardField();
  const pin = pinField();
  const amount = amountField([50, 100, 200, 500]);
  const full = h("button", { id: "redeem-full", type: "button", class: "secondary" }, t("redeem.full"));
  // The amount is then the purchase's total: the card pays what it holds, the customer
  // the rest, in one Dintero payment (Dintero draws the card).
  const payRest = h("button", { id: "pay-rest", type: "button", class: "secondary" }, t("redeem.pay_rest"));
  const ctl = formScreen("redeem.title", [card, pin, amount], "redeem.submit", async ({ out }) => {
    const r = await invoke("reserve", { card: card.value(), amount: amount.input.value, pinCode: pin.input.value });
    pin.input.value = "";
    ctl.form.hidden = true;
    const complete = h("button", { id: "complete", type: "button", class: "primary" }, t("redeem.complete"));
    const cancel = h("button", { id: "cancel", type: "button", class: "danger" }, t("redeem.cancel"));
    const err = errorBox();
    const settle = (button, call, doneKey) =>
      busy(button, async () => {
        err.clear();
        try {
          showResult(ctl, await call(), doneKey);
        } catch (e) {
          err.show(e);
        }
      });
    complete.onclick = () => settle(complete, () => invoke("complete", { operationId: r.operation_id }), "redeem.completed");
    cancel.onclick = () => settle(cancel, () => invoke("cancel", { operationId: r.operation_id }), "redeem.cancelled");
    out.replaceChildren(
      h(
        "section",
        { id: "reservation", class: "result pending" },
        h("h2", { id: "reserved" }, t(r.queued ? "redeem.reserved_offline" : "redeem.reserved", { amount: money(r.amount), card: r.card })),
        h("div", { class: "actions" }, complete, cancel),
        err.el,
      ),
    );
    complete.focus();
  }, [full, payRest]);
  payRest.onclick = () =>
    busy(payRest, async () => {
      const pinCode = pin.input.value;
      pin.input.value = "";
      await payWithDintero(ctl, () => invoke("start_pay_rest", { card: card.value(), pinCode, total: amount.input.value }), "redeem.paid_rest");
    });
  full.onclick = () =>
    busy(full, async () => {
      ctl.err.clear();
      try {
        const b = await invoke("balance", { card: card.value(), pinCode: pin.input.value || null });
        if (b.available) amount.set(decimalText(b.available));
      } catch (e) {
        ctl.err.show(e);
      }
    });
  return acceptsCard(ctl, card, pin.input, scan);
}
