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

async function start() {
  let state;
  try {
    state = showInfo(await invoke("app_info"));
  } catch (err) {
    state = showError(err);
  }
  await invoke("ui_ready", { uiState: state });
}

start();
