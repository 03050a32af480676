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
for (const f of files(src)) {
  const rel = relative(src, f);
  wanted.add(rel);
  const out = join(dist, rel);
  const data = readFileSync(f);
  if (existsSync(out) && readFileSync(out).equals(data)) continue;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, data);
  written++;
}
for (const f of files(dist)) {
  if (!wanted.has(relative(dist, f))) {
    rmSync(f);
    written++;
  }
}
console.log(`ui: dist/ up to date (${written} file(s) changed)`);
