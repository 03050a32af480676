// node --test ui/test
import { test } from "node:test";
import assert from "node:assert/strict";
import { KEYS, errorText, formatMoney, minorToDecimal, translator } from "../src/i18n.js";

test("English and Norwegian have the same words", () => {
  assert.deepEqual([...KEYS.nb].sort(), [...KEYS.en].sort());
});

test("amounts are exact decimal strings made from integer minor units", () => {
  assert.equal(minorToDecimal(12345, 2), "123.45");
  assert.equal(minorToDecimal(5, 2), "0.05");
  assert.equal(minorToDecimal(0, 2), "0.00");
  assert.equal(minorToDecimal(1000, 0), "1000");
  assert.equal(minorToDecimal(-250, 2), "-2.50");
  // Beyond what a double holds exactly, still exact.
  assert.equal(minorToDecimal(Number.MAX_SAFE_INTEGER, 2), "90071992547409.91");
  assert.throws(() => minorToDecimal(1.5, 2), TypeError);
});

test("money is formatted per locale and currency", () => {
  const en = formatMoney({ amount: 123450, currency: "NOK" }, "en", 2);
  assert.match(en, /^NOK\s1,234\.50$/);
  const nb = formatMoney({ amount: 123450, currency: "NOK" }, "nb", 2);
  assert.match(nb, /1\s234,50/);
  assert.match(nb, /NOK/);
  assert.match(formatMoney({ amount: 500, currency: "JPY" }, "en", 0), /500$/);
});

test("errors are chosen by code, never by the server's text, and say what to do", () => {
  const e = errorText("nb", { code: "insufficient_funds", message: "raw server text 500" });
  assert.equal(e.what, "Det er ikke nok penger på kortet.");
  assert.match(e.next, /mindre beløp/);
  assert.ok(!JSON.stringify(e).includes("raw server text"));
  // An unknown code, or a non-error, still gets a clerk-readable message.
  assert.equal(errorText("en", { code: "something_new" }).what, "Something went wrong in the terminal.");
  assert.equal(errorText("en", "boom").code, "internal");
});

test("the translator fills parameters and falls back to English", () => {
  const t = translator("nb");
  assert.equal(t("status.pending", { n: 3 }), "Venter på synk: 3");
  assert.equal(translator("xx")("nav.sell"), "Sell card");
});

test("a card refusal carries Dintero's own words; other errors never show raw text", () => {
  const refused = errorText("nb", { code: "card_refused", message: "Dintero refused this for the card: PIN mismatch" });
  assert.equal(refused.what, "Dintero avviste dette for kortet.");
  assert.equal(refused.quote, "Dintero refused this for the card: PIN mismatch");
  assert.equal(errorText("en", { code: "insufficient_funds", message: "raw" }).quote, undefined);
  assert.match(errorText("en", { code: "dintero_unreadable" }).what, /call IT/);
});
