// The clerk's UI talks to the Rust core only through giftpos's own Tauri commands.
const invoke = (cmd, args) => window.__TAURI_INTERNALS__.invoke(cmd, args);

const el = (tag, text) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
};

function showInfo(info) {
  document.getElementById("training").hidden = !info.training;
  document.getElementById("terminal").textContent = `${info.store_name} · ${info.terminal_id}`;
  const status = document.getElementById("status");
  status.replaceChildren();
  status.append(el("h1", "Ready"));
  const dl = el("dl");
  for (const [k, v] of [
    ["Mode", info.training ? "TRAINING (embedded sandbox)" : "Live"],
    ["Terminal", info.terminal_id],
    ["Currency", info.currency],
    ["Dintero", `${info.api_base} · ${info.account_id}`],
    ["Version", info.version],
  ]) {
    dl.append(el("dt", k), el("dd", v));
  }
  status.append(dl);
  return info.training ? "TRAINING" : "LIVE";
}

function showError(err) {
  const status = document.getElementById("status");
  status.classList.add("error");
  status.replaceChildren(el("h1", "The terminal cannot start"), el("p", err.message), el("p", err.hint ?? ""));
  return `ERROR ${err.code}`;
}

// The status bar: online or not, what waits to sync, the scanner. Polled once a second.
async function refreshStatus() {
  const bar = document.getElementById("statusbar");
  const parts = [];
  try {
    const s = await invoke("sync_status");
    const net = el("span", s.online ? "Online" : "OFFLINE");
    if (!s.online) net.className = "bad";
    parts.push(net);
    const age = s.oldest_pending_age_secs == null ? "" : ` (oldest ${Math.round(s.oldest_pending_age_secs / 60)} min)`;
    parts.push(el("span", `Waiting to sync: ${s.pending}${age}`));
    if (s.needs_attention > 0) {
      const a = el("span", `Needs attention: ${s.needs_attention}`);
      a.className = "bad";
      parts.push(a);
    }
  } catch (_) {
    parts.push(el("span", "Sync status unavailable"));
  }
  const sc = await invoke("scanner_state").catch(() => null);
  if (sc) {
    const s = el("span", sc.connected ? `Scanner connected (${sc.port})` : `SCANNER DISCONNECTED (${sc.port})`);
    if (!sc.connected) s.className = "bad";
    parts.push(s);
  } else {
    parts.push(el("span", "Scanner: keyboard"));
  }
  bar.replaceChildren(...parts);
  return parts.map((p) => p.textContent).join(" | ");
}

async function start() {
  let state;
  try {
    state = showInfo(await invoke("app_info"));
  } catch (err) {
    state = showError(err);
  }
  const status = await refreshStatus();
  setInterval(refreshStatus, 1000);
  await invoke("ui_ready", { uiState: `${state} | ${status}` });
}

start();
