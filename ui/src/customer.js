// The customer's screen: a second window for a monitor facing the customer
// (`[terminal] customer_display = true`). While a payment is open it shows the amount
// and the payment's QR code, so nobody leans over the counter to scan the clerk's
// screen; after a sale, thanks and the card's balance; otherwise the store's name.
// It only listens: the core sends it `customer` events.

import { invoke, listen } from "./api.js";
import { h } from "./dom.js";
import { formatMoney, translator } from "./i18n.js";

let info = null;
let t = translator("en");
let idleTimer = null;
const money = (m) => formatMoney(m, info?.locale ?? "en", info?.currency_exponent ?? 2);

function render(v) {
  const root = document.getElementById("customer");
  root.dataset.state = v.state;
  clearTimeout(idleTimer);
  if (v.state === "pay") {
    root.replaceChildren(
      h("h1", {}, t("customer.pay")),
      v.gift_card ? h("p", { id: "customer-gift-card" }, t("customer.gift_card_pays", { amount: money(v.gift_card) })) : null,
      h("p", { id: "customer-amount", class: "big" }, money(v.amount)),
      h("img", { id: "customer-qr", class: "qr", alt: "", src: `data:image/svg+xml;base64,${btoa(v.qr_svg)}` }),
      h("p", { class: "hint" }, t("customer.scan")),
    );
  } else if (v.state === "thanks") {
    root.replaceChildren(
      h("h1", {}, t("customer.thanks")),
      h("p", { id: "customer-amount" }, money(v.amount)),
      v.gift_card ? h("p", { id: "customer-gift-card" }, t("customer.gift_card_paid", { amount: money(v.gift_card) })) : null,
      v.balance ? h("p", { id: "customer-balance", class: "big" }, t("customer.balance", { amount: money(v.balance) })) : null,
    );
    // Back to the store's name after a while.
    idleTimer = setTimeout(() => render({ state: "idle" }), 20000);
  } else {
    root.replaceChildren(h("h1", { id: "customer-welcome" }, info?.store_name ?? "giftpos"));
  }
}

async function start() {
  info = await invoke("app_info").catch(() => null);
  t = translator(info?.locale ?? "en");
  document.documentElement.lang = info?.locale === "nb" ? "nb" : "en";
  render({ state: "idle" });
  const stop = await listen("customer", render);
  window.addEventListener("pagehide", stop);
  document.body.dataset.ready = "true";
}

window.addEventListener("error", (e) => {
  const message = `customer display: ${e.message}`;
  invoke("ui_error", { message }).catch(() => {});
});
start();
