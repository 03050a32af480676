// Shared parts of every screen: the error box, fields (card, PIN, amount with keypad),
// a busy button, an operation's result with its receipt button, the form screen with
// Enter moving through fields, the manager's approval dialog, and toasts.

import { invoke } from "./api.js";
import { h } from "./dom.js";
import { errorText, formatAge } from "./i18n.js";
import { $, S, money, showScreen, t } from "./app.js";
import { refreshStatus } from "./status.js";

export function errorBox() {
  const box = h("div", { id: "error", class: "error-box", role: "alert", hidden: true });
  return {
    el: box,
    show(err) {
      const e = errorText(S.locale, err);
      const wait = err?.retry_after_secs ? ` (${formatAge(err.retry_after_secs, S.locale)})` : "";
      box.replaceChildren(
        h("strong", { class: "what" }, e.what + wait),
        ...(e.quote ? [h("q", { class: "dintero" }, e.quote)] : []),
        h("span", { class: "next" }, `${t("common.next_step")}: ${e.next}`),
        h("small", { class: "code" }, e.code),
      );
      box.dataset.code = e.code;
      box.hidden = false;
    },
    note(text) {
      box.replaceChildren(h("strong", { class: "what" }, text));
      box.dataset.code = "";
      box.hidden = false;
    },
    clear() {
      box.hidden = true;
      box.replaceChildren();
      box.dataset.code = "";
    },
  };
}

export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), input, hint ? h("small", { class: "hint" }, hint) : null);
}

/** The card: a scan fills it (as a handle, shown masked); typing replaces the scan. */
export function cardField() {
  const input = h("input", { id: "card", autocomplete: "off", inputmode: "numeric", spellcheck: "false", dataset: { scan: "card" } });
  let handle = null;
  input.addEventListener("input", () => {
    handle = null;
    input.classList.remove("scanned");
  });
  return {
    el: field(t("field.card"), input, t("field.card_hint")),
    input,
    fill(scan) {
      handle = scan.handle;
      input.value = scan.card;
      input.classList.add("scanned");
    },
    value: () => handle ?? input.value.trim(),
    clear() {
      handle = null;
      input.value = "";
      input.classList.remove("scanned");
    },
  };
}

export function pinField(id = "pin", label = t("field.pin")) {
  const input = h("input", { id, type: "password", inputmode: "numeric", autocomplete: "off", maxlength: 64 });
  return { el: field(label, input), input };
}

/**
 * How a sale or top-up is paid: the tenders IT allows at this till (`S.info.tenders`).
 * Dintero: the payment's reference (scanned or typed, verified by the core); cash; the
 * store's card terminal with its receipt's reference. `args()` is what the core takes.
 */
export function paymentField() {
  const tenders = S.info?.tenders?.length ? S.info.tenders : ["dintero"];
  const tender = h(
    "select",
    { id: "tender" },
    ...tenders.map((x) => h("option", { value: x }, t(`tender.${x}`))),
  );
  const txid = h("input", { id: "txid", autocomplete: "off", spellcheck: "false", dataset: { scan: "text" } });
  const ref = h("input", { id: "tender-ref", autocomplete: "off", spellcheck: "false", maxlength: 64, dataset: { scan: "text" } });
  const txidField = field(t("field.txid"), txid, t("field.txid_hint"));
  const refField = field(t("field.tender_ref"), ref, t("field.tender_ref_hint"));
  const show = () => {
    txidField.hidden = tender.value !== "dintero";
    refField.hidden = tender.value !== "card_terminal";
  };
  tender.addEventListener("change", show);
  show();
  const el = h("div", { class: "payment-field" }, tenders.length > 1 ? field(t("field.tender"), tender) : null, txidField, refField);
  return {
    el,
    txid,
    args: () => ({ transactionId: txid.value, tender: tender.value, reference: ref.value }),
  };
}

/**
 * Pay with Dintero (Checkout): `start()` starts the session (`start_payment` for a
 * sale or top-up, `start_pay_rest` for a purchase with a gift card in it), shows its URL as a QR code for the customer's phone with a
 * Cancel, and shows the result once the payment is through (the core loads the card
 * exactly once). `ctl` is the screen's form controller.
 */
export async function payWithDintero(ctl, start, doneKey) {
  ctl.err.clear();
  let p;
  try {
    p = await start();
  } catch (e) {
    return ctl.err.show(e);
  }
  ctl.form.hidden = true;
  const err = errorBox();
  const cancel = h("button", { id: "payment-cancel", type: "button", class: "danger" }, t("pay.cancel"));
  cancel.onclick = () => invoke("cancel_payment", { operationId: p.operation_id }).catch((e) => err.show(e));
  const qr = h("img", { id: "payment-qr", class: "qr", alt: p.url, src: `data:image/svg+xml;base64,${btoa(p.qr_svg)}` });
  ctl.out.replaceChildren(
    h(
      "section",
      { id: "payment", class: "result pending", dataset: { url: p.url } },
      h("h2", {}, t("pay.title")),
      p.gift_card_part
        ? h("p", { id: "payment-split", class: "hint" }, t("pay.split", { total: money(p.amount), card: money(p.gift_card_part), rest: money(p.rest) }))
        : h("p", { class: "hint" }, t("pay.hint", { amount: money(p.amount) })),
      qr,
      h("p", { id: "payment-url", class: "muted" }, p.url),
      h("div", { class: "actions" }, cancel),
      err.el,
    ),
  );
  cancel.focus();
  try {
    showResult(ctl, await invoke("finish_payment", { operationId: p.operation_id }), doneKey);
  } catch (e) {
    ctl.out.replaceChildren();
    ctl.form.hidden = false;
    ctl.err.show(e);
  }
}

/** Amount: preset buttons, an on-screen keypad, and the keyboard's number keys. */
export function amountField(presets = [100, 200, 500, 1000]) {
  const input = h("input", { id: "amount", inputmode: "decimal", autocomplete: "off" });
  const set = (v) => {
    input.value = v;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  };
  const dec = S.locale === "nb" ? "," : ".";
  const press = (k) => {
    if (k === "C") return set("");
    if (k === "⌫") return set(input.value.slice(0, -1));
    return set(input.value + k);
  };
  const keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", dec, "0", "⌫"];
  return {
    el: h(
      "div",
      { class: "amount" },
      field(t("field.amount"), input),
      h(
        "div",
        { class: "presets" },
        presets.map((p) => h("button", { type: "button", class: "preset", dataset: { amount: p }, onclick: () => set(String(p)) }, money({ amount: p * 10 ** (S.info?.currency_exponent ?? 2), currency: S.info?.currency ?? "NOK" }))),
      ),
      h(
        "div",
        { class: "keypad", "aria-label": "keypad" },
        keys.map((k) => h("button", { type: "button", class: "key", tabindex: "-1", onclick: () => press(k) }, k)),
        h("button", { type: "button", class: "key wide", tabindex: "-1", onclick: () => press("C") }, t("keypad.clear")),
      ),
    ),
    input,
    set,
  };
}

export async function busy(button, work) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = t("common.working");
  S.working++;
  try {
    return await work();
  } finally {
    S.working--;
    S.lastActivity = performance.now();
    button.disabled = false;
    button.textContent = label;
  }
}

export function stateLine(state) {
  return h("span", { class: `state state-${state}`, dataset: { state } }, t(`state.${state}`));
}

/** "Print receipt": saves the PDF, prints it when a printer is configured, says which. */
export function receiptButton(id, entryId, err) {
  const button = h("button", { id, type: "button", class: "secondary" }, t("result.receipt"));
  const printed = h("p", { id: "receipt-result", class: "muted" });
  button.onclick = () =>
    busy(button, async () => {
      err.clear();
      try {
        const p = await invoke("print_receipt", { entryId });
        printed.textContent = p.print_job ? t("result.receipt_printed", { job: p.print_job }) : t("result.receipt_saved", { path: p.saved_to });
      } catch (e) {
        err.show(e);
      }
    });
  return [button, printed];
}

/** The outcome of an operation: done or saved — will sync, the new balance, a receipt. */
export function resultView(res, doneKey) {
  const queued = res.queued;
  const headline = h("h2", { id: "result-state", dataset: { state: res.state } }, queued ? t("result.saved") : `${t(doneKey)} — ${t("result.done")}`);
  const rows = [
    [t("result.card"), res.card],
    [t("result.amount"), money(res.amount)],
    [t("result.new_balance"), res.available_after ? money(res.available_after) : "—"],
    [t("result.entry"), res.operation_id],
  ];
  // Pay the rest: the gift card's part of the total, and what was paid besides.
  const split = res.gift_card_part
    ? [
        [t("result.gift_card_part"), money(res.gift_card_part), "result-gift-card"],
        [t("result.rest"), money({ amount: res.amount.amount - res.gift_card_part.amount, currency: res.amount.currency }), "result-rest"],
      ]
    : [];
  const balanceCell = h("dd", { id: "result-balance" }, rows[2][1]);
  const dl = h(
    "dl",
    {},
    rows.map(([k, v], i) => [h("dt", {}, k), i === 2 ? balanceCell : h("dd", {}, v)]),
    split.map(([k, v, id]) => [h("dt", {}, k), h("dd", { id }, v)]),
  );
  const err = errorBox();
  const [receipt, printed] = receiptButton("receipt", res.operation_id, err);
  const next = h("button", { id: "next", type: "button", class: "primary" }, t("result.next"));
  const el = h(
    "section",
    { id: "result", class: `result ${queued ? "queued" : "done"}` },
    headline,
    queued ? h("p", { class: "hint" }, t("result.saved_hint")) : null,
    // Done, but a manager must act on something around it (money still held).
    res.attention ? h("p", { id: "result-attention", class: "error", role: "alert" }, `${t("result.attention")} ${res.attention}`) : null,
    dl,
    h("div", { class: "actions" }, next, receipt),
    printed,
    err.el,
  );
  if (queued) {
    S.watch.set(res.operation_id, (state) => {
      // Sending again and again is still "saved — will sync" for the clerk.
      if (state === "recorded" || state === "sent") return;
      headline.dataset.state = state;
      if (state === "confirmed") {
        headline.textContent = `${t(doneKey)} — ${t("result.confirmed_now")}`;
        el.classList.replace("queued", "done");
      } else {
        headline.textContent = t(`state.${state}`);
      }
    });
  }
  return { el, next };
}

export function screenFrame(titleKey, ...body) {
  return h("section", { class: "screen card" }, h("h1", {}, t(titleKey)), ...body);
}

/** A form screen: fields in order; Enter moves to the next empty field, then submits. */
export function formScreen(titleKey, fields, submitKey, run, extra = []) {
  const err = errorBox();
  const submit = h("button", { id: "submit", type: "submit", class: "primary" }, t(submitKey));
  const form = h("form", { class: "op" }, fields.map((f) => f.el), ...extra, h("div", { class: "actions" }, submit), err.el);
  const out = h("div", { id: "outcome" });
  const el = screenFrame(titleKey, form, out);
  const inputs = () => [...form.querySelectorAll("input")];
  form.onsubmit = (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      err.clear();
      try {
        await run({ form, out, err });
      } catch (e) {
        err.show(e);
      }
    });
  };
  return {
    el,
    err,
    form,
    out,
    enter() {
      const focused = document.activeElement;
      if (focused instanceof HTMLButtonElement) return focused.click();
      const list = inputs();
      const i = list.indexOf(focused);
      const nextEmpty = list.slice(i + 1).find((x) => !x.value);
      if (i >= 0 && nextEmpty) nextEmpty.focus();
      else form.requestSubmit();
    },
  };
}

/** A screen with a card field: a scan fills it and moves on to `next`; a scan after the
 * result is shown starts the screen afresh with that card. */
export function acceptsCard(ctl, card, next, scan) {
  ctl.focus = card.input;
  ctl.takesCard = (s) => {
    if (ctl.form.hidden) return showScreen(ctl.name, s);
    card.fill(s);
    ctl.out.replaceChildren();
    next.focus();
  };
  if (scan) ctl.takesCard(scan);
  return ctl;
}

export function showResult(ctl, res, doneKey) {
  // What waits to sync may have changed: the status bar asks the core now.
  refreshStatus().catch(() => {});
  ctl.form.hidden = true;
  const r = resultView(res, doneKey);
  r.next.onclick = () => showScreen(ctl.name);
  ctl.out.replaceChildren(r.el);
  r.next.focus();
}

/**
 * The manager's approval over the clerk's screen: a manager types their number and PIN,
 * and `approve(manager, pin)` runs with them. A refusal (wrong PIN, not a manager) is
 * shown in the dialog, which stays open for another try; Esc or Cancel closes it.
 */
export function askManager(what, approve, opts = {}) {
  const number = h("input", { id: "approve-number", inputmode: "numeric", autocomplete: "off" });
  const pin = pinField("approve-pin", t("approve.pin"));
  const reason = opts.reason ? h("input", { id: "approve-reason", autocomplete: "off", maxlength: "200" }) : null;
  const submit = h("button", { id: "approve-submit", type: "submit", class: "primary" }, t("approve.submit"));
  const cancel = h("button", { id: "approve-cancel", type: "button", class: "secondary" }, t("approve.cancel"));
  const err = errorBox();
  const form = h("form", { class: "dialog card", role: "dialog", "aria-modal": "true" }, h("h2", {}, t("approve.title")), h("p", {}, t("approve.text", { what })), field(t("approve.number"), number), pin.el, ...(reason ? [field(t("approve.reason"), reason)] : []), h("div", { class: "actions" }, submit, cancel), err.el);
  const overlay = h("div", { id: "dialog", class: "overlay" }, form);
  const close = () => {
    overlay.remove();
    S.dialog = null;
  };
  S.dialog = {
    esc: close,
    enter: () => (document.activeElement === number ? pin.input.focus() : form.requestSubmit()),
  };
  cancel.onclick = close;
  form.onsubmit = (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      err.clear();
      try {
        await approve(number.value.trim(), pin.input.value, reason ? reason.value : undefined);
        close();
      } catch (e) {
        pin.input.value = "";
        err.show(e);
        pin.input.focus();
      }
    });
  };
  document.body.append(overlay);
  number.focus();
}

export function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 4000);
}

/** An amount as the clerk would type it (for "whole balance"). */
export function decimalText(m) {
  const exp = S.info?.currency_exponent ?? 2;
  const digits = String(m.amount).padStart(exp + 1, "0");
  if (exp === 0) return digits;
  const sep = S.locale === "nb" ? "," : ".";
  return `${digits.slice(0, -exp)}${sep}${digits.slice(-exp)}`;
}
