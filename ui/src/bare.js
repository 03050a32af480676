// The bare window of the startup benchmark: says it is ready, through Tauri's public API.
import { invoke } from "./vendor/tauri-api/core.js";
invoke("ui_ready", { uiState: "BARE" });
