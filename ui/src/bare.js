// The benchmarks' bare window: report back once the page is interactive, nothing more.
window.__TAURI_INTERNALS__.invoke("ui_ready", { uiState: "BARE" });
