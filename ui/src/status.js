// The status bar: online or not, what waits to sync, the scanner, who is signed in.

import { invoke } from "./api.js";
import { h } from "./dom.js";
import { formatAge } from "./i18n.js";
import { $, S, t } from "./app.js";

export async function refreshStatus() {
  const parts = [];
  try {
    const s = await invoke("sync_status");
    parts.push(h("span", { id: "net", class: s.online ? "ok" : "bad", dataset: { online: String(s.online) } }, s.online ? t("status.online") : t("status.offline")));
    const oldest = s.oldest_pending_age_secs == null ? "" : ` (${t("status.oldest", { age: formatAge(s.oldest_pending_age_secs, S.locale) })})`;
    parts.push(h("span", { id: "pending", dataset: { pending: String(s.pending) } }, t("status.pending", { n: s.pending }) + oldest));
    if (s.needs_attention > 0) parts.push(h("span", { id: "attention", class: "bad" }, t("status.attention", { n: s.needs_attention })));
    if (s.unreadable) parts.push(h("span", { id: "unreadable", class: "bad", title: s.unreadable }, t("status.unreadable")));
  } catch (_) {
    parts.push(h("span", { id: "net", class: "bad" }, "—"));
  }
  const sc = await invoke("scanner_state").catch(() => null);
  if (sc) parts.push(h("span", { id: "scanner", class: sc.connected ? "ok" : "bad", title: sc.port, dataset: { connected: String(sc.connected) } }, sc.connected ? t("status.scanner_ok") : t("status.scanner_lost")));
  else parts.push(h("span", { id: "scanner" }, t("status.scanner_keyboard")));
  parts.push(h("span", { id: "clerk" }, S.clerk ? t("status.clerk", { name: `${S.clerk.name} (${S.clerk.number})` }) : t("status.not_signed_in")));
  if (S.info) parts.push(h("span", { id: "terminal", class: "where" }, `${S.info.store_name} · ${S.info.terminal_id}`));
  $("statusbar").replaceChildren(...parts);
  return parts.map((p) => p.textContent).join(" | ");
}
