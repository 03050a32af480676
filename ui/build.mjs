// Copies the UI's static files into dist/ (what Tauri embeds). No bundler yet: the UI is
// plain ES modules and CSS. Only changed files are written, so an unchanged UI does not
// make cargo rebuild the app.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync, existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = join(here, "dist");

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

mkdirSync(dist, { recursive: true });
const wanted = new Set();
let written = 0;
function put(from, rel) {
  wanted.add(rel);
  const out = join(dist, rel);
  const data = readFileSync(from);
  if (existsSync(out) && readFileSync(out).equals(data)) return;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, data);
  written++;
}
for (const f of files(src)) put(f, relative(src, f));
// Tauri's public JS API (pinned in package.json): the ES modules the page imports.
const api = join(here, "node_modules", "@tauri-apps", "api");
for (const f of ["core.js", "event.js", "external/tslib/tslib.es6.js", "LICENSE-MIT", "LICENSE-APACHE-2.0"]) {
  put(join(api, f), join("vendor", "tauri-api", f));
}
for (const f of files(dist)) {
  if (!wanted.has(relative(dist, f))) {
    rmSync(f);
    written++;
  }
}
console.log(`ui: dist/ up to date (${written} file(s) changed)`);
