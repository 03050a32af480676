// The only door to the Rust core: giftpos's own Tauri commands and events, as listed in
// contract.json. No Tauri JS package is needed: the IPC bridge Tauri injects is used
// directly, the same two calls @tauri-apps/api makes.

const bridge = () => {
  const b = window.__TAURI_INTERNALS__;
  if (!b) throw new Error("not running inside the giftpos app");
  return b;
};

/** Calls a command; rejects with the AppError ({code, message}) the core returned. */
export function invoke(command, args = {}) {
  return bridge().invoke(command, args);
}

/** Listens to an event from the core; the handler gets its payload. */
export async function listen(event, handler) {
  const b = bridge();
  const callback = b.transformCallback((e) => handler(e.payload));
  await b.invoke("plugin:event|listen", { event, target: { kind: "Any" }, handler: callback });
}
