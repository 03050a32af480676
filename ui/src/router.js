// Which screen is shown, the menu and signing out.

import { invoke } from "./api.js";
import { h } from "./dom.js";
import { $, S, SCREENS, registerNavigation, t } from "./app.js";
import { refreshStatus } from "./status.js";
import { balanceScreen } from "./screens/balance.js";
import { historyScreen } from "./screens/history.js";
import { homeScreen } from "./screens/home.js";
import { redeemScreen } from "./screens/redeem.js";
import { sellScreen } from "./screens/sell.js";
import { settingsScreen } from "./screens/settings.js";
import { signInScreen } from "./screens/signin.js";
import { topUpScreen } from "./screens/topup.js";

export { SCREENS };

export function showScreen(name, arg) {
  S.watch.clear();
  const make = { signin: signInScreen, home: homeScreen, sell: sellScreen, balance: balanceScreen, redeem: redeemScreen, topup: topUpScreen, history: historyScreen, settings: settingsScreen }[name];
  const ctl = make(arg);
  ctl.name = name;
  S.screen = ctl;
  const main = $("screen");
  main.replaceChildren(ctl.el);
  main.dataset.screen = name;
  for (const b of document.querySelectorAll("nav button[data-screen]")) b.classList.toggle("current", b.dataset.screen === name);
  (ctl.focus ?? main.querySelector("input, button"))?.focus();
  return ctl;
}

export async function signOut() {
  await invoke("sign_out");
  S.clerk = null;
  renderChrome();
  showScreen("signin");
  refreshStatus();
}

export function renderChrome() {
  const nav = $("nav");
  if (!S.clerk) {
    nav.replaceChildren();
    return;
  }
  nav.replaceChildren(
    ...SCREENS.map((s, i) => h("button", { type: "button", id: `nav-${s}`, dataset: { screen: s }, onclick: () => showScreen(s) }, h("span", { class: "key-hint" }, `F${i + 1}`), t(`nav.${s}`))),
    h(
      "button",
      {
        type: "button",
        id: "sign-out",
        class: "signout",
        onclick: () => signOut(),
      },
      t("nav.sign_out"),
    ),
  );
}

// Screens and components navigate through app.js, which calls these.
registerNavigation(showScreen, renderChrome);
