// The only door to the Rust core: giftpos's own Tauri commands and events, as listed in
// contract.json, through Tauri's public JS API (`@tauri-apps/api`, pinned in
// package.json; `build.mjs` copies its ES modules into dist/vendor/tauri-api/).

import { invoke as tauriInvoke } from "./vendor/tauri-api/core.js";
import { listen as tauriListen } from "./vendor/tauri-api/event.js";

/** Calls a command; rejects with the AppError ({code, message}) the core returned. */
export function invoke(command, args = {}) {
  return tauriInvoke(command, args);
}

/**
 * Listens to an event from the core; the handler gets its payload. Resolves to the
 * function that stops listening (the page calls them all when it goes away).
 */
export async function listen(event, handler) {
  return tauriListen(event, (e) => handler(e.payload));
}
