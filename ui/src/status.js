// The status bar: online or not, what waits to sync, the scanner, who is signed in.

import { invoke } from "./api.js";
import { h } from "./dom.js";
import { formatAge } from "./i18n.js";
import { $, S, t } from "./app.js";

// What the core last said, and when (the age of what waits is counted on locally).
const last = { sync: null, scanner: null, at: 0 };

/**
 * Asks the core for the sync and scanner state (two IPC calls), then draws the bar.
 * Called when the core says something changed (sync and scanner events), after a
 * clerk's action, and on a slow fallback timer — never twice a second.
 */
export async function refreshStatus() {
  last.sync = await invoke("sync_status").catch(() => null);
  last.scanner = await invoke("scanner_state").catch(() => null);
  last.at = performance.now();
  return renderStatus();
}

/** Draws the bar from what the core last said (no IPC): run every second. */
export function renderStatus() {
  const parts = [];
  const s = last.sync;
  if (s) {
    parts.push(h("span", { id: "net", class: s.online ? "ok" : "bad", dataset: { online: String(s.online) } }, s.online ? t("status.online") : t("status.offline")));
    const since = Math.floor((performance.now() - last.at) / 1000);
    const oldest = s.oldest_pending_age_secs == null ? "" : ` (${t("status.oldest", { age: formatAge(s.oldest_pending_age_secs + since, S.locale) })})`;
    parts.push(h("span", { id: "pending", dataset: { pending: String(s.pending) } }, t("status.pending", { n: s.pending }) + oldest));
    if (s.needs_attention > 0) parts.push(h("span", { id: "attention", class: "bad" }, t("status.attention", { n: s.needs_attention })));
    if (s.unreadable) parts.push(h("span", { id: "unreadable", class: "bad", title: s.unreadable }, t("status.unreadable")));
  } else {
    parts.push(h("span", { id: "net", class: "bad" }, "—"));
  }
  const sc = last.scanner;
  if (sc) parts.push(h("span", { id: "scanner", class: sc.connected ? "ok" : "bad", title: sc.port, dataset: { connected: String(sc.connected) } }, sc.connected ? t("status.scanner_ok") : t("status.scanner_lost")));
  else parts.push(h("span", { id: "scanner" }, t("status.scanner_keyboard")));
  parts.push(h("span", { id: "clerk" }, S.clerk ? t("status.clerk", { name: `${S.clerk.name} (${S.clerk.number})` }) : t("status.not_signed_in")));
  if (S.info) parts.push(h("span", { id: "terminal", class: "where" }, `${S.info.store_name} · ${S.info.terminal_id}`));
  $("statusbar").replaceChildren(...parts);
  return parts.map((p) => p.textContent).join(" | ");
}
