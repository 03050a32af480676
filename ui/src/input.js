// Input that is not typing into a field: scans (serial events and keyboard-wedge
// bursts) routed to the screen that takes them, function keys, Enter and Esc, and
// signing an idle clerk out.

import { invoke } from "./api.js";
import { h, insertText } from "./dom.js";
import { idleState } from "./idle.js";
import { createWedge } from "./wedge.js";
import { S, t } from "./app.js";
import { toast } from "./components.js";
import { SCREENS, showScreen, signOut } from "./router.js";

/** How often the page tells the core the clerk is active (at most). */
const REPORT_MS = 10_000;

/**
 * Idle sign-out (`[terminal] idle_sign_out_secs`) is enforced by the core: it signs an
 * idle clerk out and refuses their next command. The page reports the clerk's input
 * (and work in flight) to it, shows the countdown in the last 30 s, and follows the
 * core when it has signed the clerk out. Only real input counts; the core keeps the
 * clerk signed in while a payment is being made.
 */
export function watchIdle() {
  const banner = h("div", { id: "idle", class: "idle-banner", role: "status", hidden: true });
  document.body.append(banner);
  // The countdown runs from the last activity the core was told of, so the two agree.
  const report = () => {
    const limit = (S.info?.idle_sign_out_secs ?? 0) * 1000;
    const every = limit ? Math.min(REPORT_MS, limit / 4) : REPORT_MS;
    if (!S.clerk || performance.now() - S.lastActivity < every) return;
    S.lastActivity = performance.now();
    invoke("activity").catch((e) => {
      if (e?.code === "not_signed_in") signedOutByCore();
    });
  };
  for (const ev of ["keydown", "pointerdown", "wheel"]) document.addEventListener(ev, report, true);
  const signedOutByCore = async () => {
    if (!S.clerk) return;
    await signOut().catch(() => {});
    toast(t("idle.signed_out"));
  };
  let checked = 0;
  setInterval(async () => {
    const limit = (S.info?.idle_sign_out_secs ?? 0) * 1000;
    const working = S.working > 0 || !!document.getElementById("payment") || !!S.dialog;
    const st = S.clerk ? idleState(performance.now(), S.lastActivity, limit, working) : { action: "none" };
    if (st.action === "warn") {
      banner.textContent = t("idle.warning", { n: st.secondsLeft });
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    if (st.action === "sign_out") {
      S.lastActivity = performance.now();
      await signOut().catch(() => {});
      toast(t("idle.signed_out"));
    } else if (S.clerk && !document.getElementById("payment") && performance.now() - checked > 5_000) {
      // The core decides: when it has signed the clerk out, the page follows.
      checked = performance.now();
      const who = await invoke("whoami").catch(() => S.clerk);
      if (!who) await signedOutByCore();
    }
  }, 500);
}

/** A classified scan, from the serial reader or a keyboard-wedge burst. */
export function routeScan(scan, rawText) {
  if (!S.clerk || S.dialog) return;
  if (scan.kind === "card") {
    if (S.screen?.takesCard) S.screen.takesCard(scan);
    else showScreen("balance", scan);
  } else if (scan.kind === "receipt") {
    showScreen("history", scan.entry_id);
  } else if (rawText && document.activeElement?.dataset?.scan === "text") {
    // A payment reference scanned into the field made for it.
    insertText(document.activeElement, rawText);
  } else {
    toast(scan.kind === "near_miss" ? t("scan.near_miss") : t("scan.not_a_gift_card"));
  }
}

export const wedge = createWedge();

export function handleWedge(actions) {
  for (const a of actions) {
    if (a.type === "scan") {
      invoke("scan", { text: a.text })
        .then((s) => routeScan(s, a.text))
        .catch(() => toast(t("scan.not_a_gift_card")));
    } else if (a.type === "type") {
      if (!insertText(document.activeElement, a.text)) S.screen?.typed?.(a.text);
    } else if (a.type === "enter") {
      (S.dialog ?? S.screen)?.enter?.();
    }
  }
}

export function onKeyDown(ev) {
  if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
  const f = /^F([1-6])$/.exec(ev.key);
  if (f && S.clerk && !S.dialog) {
    ev.preventDefault();
    showScreen(SCREENS[Number(f[1]) - 1]);
    return;
  }
  if (ev.key === "Escape") {
    ev.preventDefault();
    handleWedge(wedge.key(ev.key, performance.now()));
    if (S.dialog) S.dialog.esc();
    else if (S.clerk && S.screen?.name !== "home") showScreen("home");
    return;
  }
  if (ev.key.length === 1 || ev.key === "Enter") ev.preventDefault();
  handleWedge(wedge.key(ev.key, performance.now()));
}
