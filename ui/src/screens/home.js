// The menu: one tile per screen, 1–6 on the keyboard.

import { h } from "../dom.js";
import { SCREENS, showScreen, t } from "../app.js";

export function homeScreen() {
  const el = h(
    "section",
    { class: "home" },
    SCREENS.map((s, i) => h("button", { type: "button", class: "tile", id: `home-${s}`, onclick: () => showScreen(s) }, h("span", { class: "key-hint" }, String(i + 1)), t(`nav.${s === "topup" ? "topup" : s}`))),
  );
  return {
    el,
    typed(text) {
      const i = Number.parseInt(text, 10);
      if (i >= 1 && i <= SCREENS.length) showScreen(SCREENS[i - 1]);
    },
  };
}
