// Topping a card up.

import { invoke } from "../api.js";
import { acceptsCard, amountField, cardField, formScreen, showResult } from "../components.js";

export function topUpScreen(scan) {
  const card = cardField();
  const amount = amountField();
  const ctl = formScreen("topup.title", [card, amount], "topup.submit", async () => {
    const res = await invoke("top_up", { card: card.value(), amount: amount.input.value });
    showResult(ctl, res, "topup.done");
  });
  return acceptsCard(ctl, card, amount.input, scan);
}
