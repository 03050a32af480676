// The clerk's UI: sign-in, Sell, Balance, Redeem, Top-up, History (with void/refund
// behind a manager's approval), Settings, and the status bar. Keyboard first: F1–F6 (or
// 1–6 on the menu) open screens, Enter confirms, Esc goes back; every target is large
// enough for touch. Scans (serial events or keyboard-wedge bursts) are routed here and
// never typed into a field.
//
// This file starts the page. The parts: app.js (shared state), api.js (Tauri),
// router.js (screens, menu, sign-out), components.js, screens/*.js (one per screen),
// status.js (the status bar), input.js (scans, keys, idle sign-out).

import { invoke, listen } from "./api.js";
import { h } from "./dom.js";
import { errorText, translator } from "./i18n.js";
import { $, S, t } from "./app.js";
import { handleWedge, onKeyDown, routeScan, watchIdle, wedge } from "./input.js";
import { renderChrome, showScreen } from "./router.js";
import { refreshStatus, renderStatus } from "./status.js";

function showFatal(err) {
  const e = errorText(S.locale, err);
  $("screen").replaceChildren(h("section", { class: "card fatal", id: "fatal", dataset: { code: e.code } }, h("h1", {}, t("app.cannot_start")), h("p", {}, e.what), h("p", {}, e.next), h("small", {}, e.code)));
  return `ERROR ${e.code}`;
}

function reportErrors() {
  const send = (what) => {
    const message = String(what).slice(0, 2000);
    invoke("ui_error", { message }).catch(() => {});
  };
  window.addEventListener("error", (e) => send(`${e.message} (${e.filename}:${e.lineno}:${e.colno})`));
  window.addEventListener("unhandledrejection", (e) => {
    const r = e.reason;
    send(`unhandled rejection: ${r?.message ?? String(r)}${r?.stack ? ` (${r.stack})` : ""}`);
  });
}

async function start() {
  let state;
  try {
    S.info = await invoke("app_info");
    S.locale = S.info.locale;
    S.t = translator(S.locale);
    document.documentElement.lang = S.locale === "nb" ? "nb" : "en";
    $("training").textContent = t("app.training");
    $("training").hidden = !S.info.training;
    S.clerk = await invoke("whoami");
    renderChrome();
    showScreen(S.clerk ? "home" : "signin");
    state = S.info.training ? "TRAINING" : "LIVE";
    document.addEventListener("keydown", onKeyDown, true);
    watchIdle();
    document.addEventListener("pointerdown", () => handleWedge(wedge.tick(Number.POSITIVE_INFINITY)), true);
    setInterval(() => handleWedge(wedge.tick(performance.now())), 20);
    const unlisten = [
      await listen("scan", (s) => {
        S.lastActivity = performance.now();
        routeScan(s, null);
      }),
      await listen("sync", (ev) => {
        if (ev.event === "entry") {
          S.watch.get(ev.id)?.(ev.state);
          S.screen?.onSync?.(ev);
        }
        refreshStatus();
      }),
      await listen("scanner", () => refreshStatus()),
    ];
    window.addEventListener("pagehide", () => unlisten.forEach((stop) => stop()));
  } catch (err) {
    state = showFatal(err);
  }
  const status = await refreshStatus();
  // The bar is redrawn every second from what the core last said; the core is asked
  // again on its events (above), after each action, and at most every 15 s otherwise.
  setInterval(renderStatus, 1000);
  setInterval(refreshStatus, 15_000);
  document.body.dataset.ready = "true";
  await invoke("ui_ready", { uiState: `${state} | ${status}` });
}

// Errors in the page reach the log file, where IT looks (not only the webview's console).
reportErrors();
start();
