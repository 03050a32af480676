// A card's balance (token, and its PIN when the card has one).

import { invoke } from "../api.js";
import { h } from "../dom.js";
import { formatAge, formatDateTime } from "../i18n.js";
import { S, money, t } from "../app.js";
import { acceptsCard, cardField, formScreen, pinField } from "../components.js";

function balanceView(b) {
  const rows = [[t("balance.status"), t(`card_status.${b.status}`)]];
  if (b.available) {
    rows.unshift([t("balance.available"), money(b.available)]);
    rows.push([t("balance.balance"), money(b.balance)]);
    if (b.pending && b.pending.amount > 0) rows.push([t("balance.pending"), money(b.pending)]);
  }
  rows.push([t("balance.expires"), b.expires_at ? formatDateTime(b.expires_at, S.locale) : t("balance.never")]);
  return h(
    "section",
    { id: "result", class: "result done" },
    h("h2", { id: "balance-available" }, b.available ? money(b.available) : t("balance.hidden")),
    h("p", { class: "muted" }, b.card),
    b.last_known_at ? h("p", { class: "warn", id: "balance-stale" }, t("balance.last_known", { age: formatAge(b.last_known_age_secs ?? 0, S.locale) })) : null,
    h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  );
}

export function balanceScreen(scan) {
  const card = cardField();
  const pin = pinField();
  const ctl = formScreen("balance.title", [card, pin], "balance.submit", async ({ out }) => {
    const b = await invoke("balance", { card: card.value(), pinCode: pin.input.value || null });
    pin.input.value = "";
    out.replaceChildren(balanceView(b));
  });
  return acceptsCard(ctl, card, pin.input, scan);
}
