// The page's modules import downwards only: no module imports one that imports it
// back, directly or through others (the router registers the screens; screens and
// components navigate through app.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const src = join(dirname(fileURLToPath(import.meta.url)), "../src");
const modules = readdirSync(src, { recursive: true }).filter((f) => f.endsWith(".js"));
const graph = new Map(
  modules.map((m) => {
    const text = readFileSync(join(src, m), "utf8");
    const deps = [...text.matchAll(/^import [^;]*? from "(\.[^"]+)";/gms)]
      .map(([, rel]) => normalize(join(dirname(m), rel)))
      .filter((d) => modules.includes(d));
    return [m, deps];
  }),
);

test("no import circles among the page's modules", () => {
  const state = new Map(); // module -> "open" | "done"
  const stack = [];
  const visit = (m) => {
    if (state.get(m) === "done") return;
    if (state.get(m) === "open") {
      assert.fail(`import circle: ${[...stack.slice(stack.indexOf(m)), m].join(" → ")}`);
    }
    state.set(m, "open");
    stack.push(m);
    for (const d of graph.get(m) ?? []) visit(d);
    stack.pop();
    state.set(m, "done");
  };
  for (const m of graph.keys()) visit(m);
  assert.ok(graph.size > 10, `read ${graph.size} modules`);
});
