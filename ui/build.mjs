// Copies the UI's static files into dist/ (what Tauri embeds). No bundler yet: the UI is
// plain ES modules and CSS.
import { cpSync, rmSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
rmSync(join(here, "dist"), { recursive: true, force: true });
mkdirSync(join(here, "dist"));
cpSync(join(here, "src"), join(here, "dist"), { recursive: true });
console.log("ui: built dist/");
