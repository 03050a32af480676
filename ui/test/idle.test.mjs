// node --test ui/test
import { test } from "node:test";
import assert from "node:assert/strict";
import { idleState } from "../src/idle.js";

test("idle sign-out counts down in the last 30 s and never interrupts work", () => {
  const limit = 300_000;
  assert.deepEqual(idleState(1_000, 0, limit, false), { action: "none" });
  assert.deepEqual(idleState(269_999, 0, limit, false), { action: "none" });
  assert.deepEqual(idleState(270_000, 0, limit, false), { action: "warn", secondsLeft: 30 });
  assert.deepEqual(idleState(299_001, 0, limit, false), { action: "warn", secondsLeft: 1 });
  assert.deepEqual(idleState(300_000, 0, limit, false), { action: "sign_out" });
  assert.deepEqual(idleState(900_000, 0, limit, true), { action: "none" }, "work in flight");
  assert.deepEqual(idleState(900_000, 0, 0, false), { action: "none" }, "0: never");
});
