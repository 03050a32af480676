// node --test ui/test
import { test } from "node:test";
import assert from "node:assert/strict";
import { createWedge } from "../src/wedge.js";

const feed = (w, keys, start, step) => {
  const out = [];
  let t = start;
  for (const k of keys) {
    out.push(...w.key(k, t));
    t += step;
  }
  return { out, t };
};

test("a fast burst ending in Enter is a scan and nothing leaks", () => {
  const w = createWedge();
  const { out } = feed(w, [..."9578000000001001", "Enter"], 1000, 8);
  assert.deepEqual(out, [{ type: "scan", text: "9578000000001001" }]);
  assert.equal(w.holding(), false);
});

test("a person typing gets every key, in order", () => {
  const w = createWedge();
  const typed = [];
  let t = 0;
  for (const k of "500") {
    for (const e of w.key(k, t)) typed.push(e);
    t += 180;
    for (const e of w.tick(t)) typed.push(e);
  }
  for (const e of w.key("Enter", t)) typed.push(e);
  assert.deepEqual(typed, [
    { type: "type", text: "5" },
    { type: "type", text: "0" },
    { type: "type", text: "0" },
    { type: "enter" },
  ]);
});

test("a short fast burst with Enter is typing, not a scan", () => {
  const w = createWedge();
  const { out } = feed(w, ["1", "2", "Enter"], 0, 5);
  assert.deepEqual(out, [{ type: "type", text: "12" }, { type: "enter" }]);
});

test("a slow Enter after a fast burst is not a scan", () => {
  const w = createWedge();
  const { out, t } = feed(w, [..."123456"], 0, 5);
  const later = [...out, ...w.key("Enter", t + 400)];
  assert.deepEqual(later, [{ type: "type", text: "123456" }, { type: "enter" }]);
});

test("a scan that takes too long overall is released as typing", () => {
  const w = createWedge({ maxTotalMs: 100 });
  const { out } = feed(w, [..."9578000000001001", "Enter"], 0, 20);
  assert.deepEqual(out, [{ type: "type", text: "9578000000001001" }, { type: "enter" }]);
});

test("control keys end holding and pass through", () => {
  const w = createWedge();
  const out = [...w.key("4", 0), ...w.key("Tab", 10)];
  assert.deepEqual(out, [{ type: "type", text: "4" }, { type: "key", key: "Tab" }]);
});

test("two scans back to back", () => {
  const w = createWedge();
  const a = feed(w, [..."1111222233334444", "Enter"], 0, 5);
  const b = feed(w, [..."5555666677778888", "Enter"], a.t + 200, 5);
  assert.deepEqual([...a.out, ...b.out], [
    { type: "scan", text: "1111222233334444" },
    { type: "scan", text: "5555666677778888" },
  ]);
});
