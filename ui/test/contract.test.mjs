// The UI against its contract with the Rust shell (ui/src/contract.json; the Rust side
// is checked against the same file in src-tauri/tests/contract.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { ERROR_CODES } from "../src/i18n.js";

const src = new URL("../src/", import.meta.url);
const contract = JSON.parse(readFileSync(new URL("contract.json", src), "utf8"));
// Every module of the page, screens/ included.
const modules = readdirSync(src, { recursive: true }).filter((f) => f.endsWith(".js"));
const code = modules.map((f) => readFileSync(new URL(f, src), "utf8")).join("\n");

test("the UI calls only contract commands, with the contract's argument names", () => {
  const calls = [...code.matchAll(/invoke\("([a-z_]+)"(?:,\s*\{([^}]*)\})?/g)];
  assert.ok(calls.length >= 15, `found ${calls.length} calls`);
  for (const [, name, args] of calls) {
    const spec = contract.commands[name];
    assert.ok(spec, `invoke("${name}") is not in contract.json`);
    const used = (args ?? "")
      .split(",")
      .map((a) => a.split(":")[0].trim())
      .filter(Boolean);
    for (const a of used) assert.ok(spec.args.includes(a), `${name}: argument ${a} is not in the contract`);
  }
  // Every contract command is used by the UI.
  const names = new Set(calls.map((c) => c[1]));
  for (const name of Object.keys(contract.commands)) assert.ok(names.has(name), `contract command ${name} is never called`);
});

test("the UI listens only to contract events", () => {
  const events = [...code.matchAll(/listen\("([a-z_]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(events)].sort(), Object.keys(contract.events).sort());
});

test("every error code the core can return has clerk words", () => {
  assert.deepEqual([...ERROR_CODES].sort(), [...contract.error_codes].sort());
});

test("the page reaches Tauri only through its public API, never its internals", () => {
  for (const name of modules) {
    const text = readFileSync(new URL(name, src), "utf8");
    assert.ok(!text.includes("__TAURI_INTERNALS__"), `${name} uses Tauri's internals`);
    assert.ok(!text.includes("plugin:event"), `${name} calls the event plugin by hand`);
  }
  const api = readFileSync(new URL("api.js", src), "utf8");
  assert.match(api, /from "\.\/vendor\/tauri-api\/core\.js"/);
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  assert.match(pkg.dependencies["@tauri-apps/api"], /^\d+\.\d+\.\d+$/, "pinned exactly");
});

test("main.js is a small entry point: one module per screen", () => {
  const main = readFileSync(new URL("main.js", src), "utf8");
  assert.ok(main.split("\n").length < 120, "main.js only starts the page");
  for (const screen of ["signin", "home", "sell", "balance", "redeem", "topup", "history", "settings"]) {
    assert.ok(modules.includes(`screens/${screen}.js`), `screens/${screen}.js`);
  }
});
