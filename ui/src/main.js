// The clerk's UI: sign-in, Sell, Balance, Redeem, Top-up, History (with void/refund
// behind a manager's approval), Settings, and the status bar. Keyboard first: F1–F6 (or
// 1–6 on the menu) open screens, Enter confirms, Esc goes back; every target is large
// enough for touch. Scans (serial events or keyboard-wedge bursts) are routed here and
// never typed into a field.

import { invoke, listen } from "./api.js";
import { idleState } from "./idle.js";
import { h, insertText } from "./dom.js";
import { errorText, formatAge, formatDateTime, formatMoney, formatTime, translator } from "./i18n.js";
import { createWedge } from "./wedge.js";

const S = {
  working: 0, // operations in flight (idle sign-out never interrupts them)
  lastActivity: performance.now(),
  info: null,
  locale: "en",
  t: translator("en"),
  clerk: null,
  screen: null, // the current screen's controller
  watch: new Map(), // entry id -> callback(state) while shown on screen
};
const t = (k, p) => S.t(k, p);
const money = (m) => formatMoney(m, S.locale, S.info?.currency_exponent ?? 2);
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- shared parts

function errorBox() {
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

function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), input, hint ? h("small", { class: "hint" }, hint) : null);
}

/** The card: a scan fills it (as a handle, shown masked); typing replaces the scan. */
function cardField() {
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

function pinField(id = "pin", label = t("field.pin")) {
  const input = h("input", { id, type: "password", inputmode: "numeric", autocomplete: "off", maxlength: 64 });
  return { el: field(label, input), input };
}

/** Amount: preset buttons, an on-screen keypad, and the keyboard's number keys. */
function amountField(presets = [100, 200, 500, 1000]) {
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

async function busy(button, work) {
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

async function signOut() {
  await invoke("sign_out");
  S.clerk = null;
  renderChrome();
  showScreen("signin");
  refreshStatus();
}

/** Signs an idle clerk out, with a countdown in the last 30 s (`[terminal] idle_sign_out_secs`). */
function watchIdle() {
  const banner = h("div", { id: "idle", class: "idle-banner", role: "status", hidden: true });
  document.body.append(banner);
  const active = () => (S.lastActivity = performance.now());
  for (const ev of ["keydown", "pointerdown", "wheel"]) document.addEventListener(ev, active, true);
  setInterval(async () => {
    const limit = (S.info?.idle_sign_out_secs ?? 0) * 1000;
    const working = S.working > 0 || !!document.getElementById("payment") || !!S.dialog;
    const st = S.clerk ? idleState(performance.now(), S.lastActivity, limit, working) : { action: "none" };
    if (st.action === "warn") {
      banner.textContent = t("idle.warning", { n: st.secondsLeft });
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    if (st.action === "sign_out") {
      active();
      await signOut().catch(() => {});
      toast(t("idle.signed_out"));
    }
  }, 500);
}

function stateLine(state) {
  return h("span", { class: `state state-${state}`, dataset: { state } }, t(`state.${state}`));
}

/** "Print receipt": saves the PDF, prints it when a printer is configured, says which. */
function receiptButton(id, entryId, err) {
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
function resultView(res, doneKey) {
  const queued = res.queued;
  const headline = h("h2", { id: "result-state", dataset: { state: res.state } }, queued ? t("result.saved") : `${t(doneKey)} — ${t("result.done")}`);
  const rows = [
    [t("result.card"), res.card],
    [t("result.amount"), money(res.amount)],
    [t("result.new_balance"), res.available_after ? money(res.available_after) : "—"],
    [t("result.entry"), res.operation_id],
  ];
  const balanceCell = h("dd", { id: "result-balance" }, rows[2][1]);
  const dl = h("dl", {}, rows.map(([k, v], i) => [h("dt", {}, k), i === 2 ? balanceCell : h("dd", {}, v)]));
  const err = errorBox();
  const [receipt, printed] = receiptButton("receipt", res.operation_id, err);
  const next = h("button", { id: "next", type: "button", class: "primary" }, t("result.next"));
  const el = h(
    "section",
    { id: "result", class: `result ${queued ? "queued" : "done"}` },
    headline,
    queued ? h("p", { class: "hint" }, t("result.saved_hint")) : null,
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

// ---------------------------------------------------------------- screens

const SCREENS = ["sell", "balance", "redeem", "topup", "history", "settings"];

function showScreen(name, arg) {
  S.watch.clear();
  const make = { signin: signInScreen, home: homeScreen, sell: sellScreen, balance: balanceScreen, redeem: redeemScreen, topup: topUpScreen, history: historyScreen, settings: settingsScreen }[name];
  const ctl = make(arg);
  ctl.name = name;
  S.screen = ctl;
  const main = $("screen");
  main.replaceChildren(ctl.el);
  main.dataset.screen = name;
  for (const b of document.querySelectorAll("nav button[data-screen]")) b.classList.toggle("current", b.dataset.screen === name);
  (ctl.focus ?? main.querySelector("input, button"))?.focus();
  return ctl;
}

function screenFrame(titleKey, ...body) {
  return h("section", { class: "screen card" }, h("h1", {}, t(titleKey)), ...body);
}

function signInScreen() {
  const number = h("input", { id: "signin-number", inputmode: "numeric", autocomplete: "off" });
  const pin = pinField("signin-pin", t("signin.pin"));
  const err = errorBox();
  const submit = h("button", { id: "signin-submit", type: "submit", class: "primary" }, t("signin.submit"));
  const form = h(
    "form",
    { class: "signin" },
    field(t("signin.number"), number),
    pin.el,
    submit,
    S.info?.training ? h("p", { class: "hint" }, t("signin.training_hint")) : null,
    err.el,
  );
  form.onsubmit = (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      err.clear();
      try {
        S.clerk = await invoke("sign_in", { number: number.value.trim(), pinCode: pin.input.value });
        pin.input.value = "";
        renderChrome();
        showScreen("home");
        refreshStatus();
      } catch (e) {
        pin.input.value = "";
        err.show(e);
        pin.input.focus();
      }
    });
  };
  return { el: screenFrame("signin.title", form), focus: number, enter: () => form.requestSubmit() };
}

function homeScreen() {
  const el = h(
    "section",
    { class: "home" },
    SCREENS.map((s, i) => h("button", { type: "button", class: "tile", id: `home-${s}`, onclick: () => showScreen(s) }, h("span", { class: "key-hint" }, String(i + 1)), t(`nav.${s === "topup" ? "topup" : s}`))),
  );
  return {
    el,
    typed(text) {
      const i = Number.parseInt(text, 10);
      if (i >= 1 && i <= SCREENS.length) showScreen(SCREENS[i - 1]);
    },
  };
}

/** A form screen: fields in order; Enter moves to the next empty field, then submits. */
function formScreen(titleKey, fields, submitKey, run, extra = []) {
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
function acceptsCard(ctl, card, next, scan) {
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

function showResult(ctl, res, doneKey) {
  ctl.form.hidden = true;
  const r = resultView(res, doneKey);
  r.next.onclick = () => showScreen(ctl.name);
  ctl.out.replaceChildren(r.el);
  r.next.focus();
}

function sellScreen(scan) {
  const card = cardField();
  const amount = amountField();
  const txid = h("input", { id: "txid", autocomplete: "off", spellcheck: "false", dataset: { scan: "text" } });
  const payDintero = h("button", { id: "pay-dintero", type: "button", class: "secondary" }, t("sell.pay_dintero"));
  const ctl = formScreen(
    "sell.title",
    [card, amount, { el: field(t("field.txid"), txid, t("field.txid_hint")) }],
    "sell.submit",
    async () => {
      const args = { card: card.value(), amount: amount.input.value, transactionId: txid.value };
      try {
        showResult(ctl, await invoke("sell", args), "sell.done");
      } catch (e) {
        if (e?.code !== "payment_unverified") throw e;
        // The payment could not be verified: a manager may let the sale through, with
        // a reason (recorded on the entry, the receipt and the Z-report).
        ctl.err.show(e);
        const override = h("button", { id: "override", type: "button", class: "secondary" }, t("sell.override"));
        override.onclick = () =>
          askManager(
            `${t("sell.override_what")} (${args.transactionId})`,
            async (manager, managerPin, reason) =>
              showResult(
                ctl,
                await invoke("sell_override", { card: args.card, amount: args.amount, transactionId: args.transactionId, manager, managerPin, reason }),
                "sell.done",
              ),
            { reason: true },
          );
        ctl.err.el.append(override);
      }
    },
  );
  ctl.form.querySelector(".actions").append(payDintero);
  // Pay through Dintero Checkout: the session's URL as a QR code for the customer's
  // phone; the card is activated once the payment is through.
  payDintero.onclick = () =>
    busy(payDintero, async () => {
      ctl.err.clear();
      let p;
      try {
        p = await invoke("start_payment", { card: card.value(), amount: amount.input.value });
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
          h("p", { class: "hint" }, t("pay.hint", { amount: money(p.amount) })),
          qr,
          h("p", { id: "payment-url", class: "muted" }, p.url),
          h("div", { class: "actions" }, cancel),
          err.el,
        ),
      );
      cancel.focus();
      try {
        showResult(ctl, await invoke("finish_payment", { operationId: p.operation_id }), "sell.done");
      } catch (e) {
        ctl.out.replaceChildren();
        ctl.form.hidden = false;
        ctl.err.show(e);
      }
    });
  return acceptsCard(ctl, card, amount.input, scan);
}

function balanceView(b) {
  const rows = [[t("balance.status"), t(`card_status.${b.status}`)]];
  if (b.available) {
    rows.unshift([t("balance.available"), money(b.available)]);
    rows.push([t("balance.balance"), money(b.balance)]);
    if (b.pending && b.pending.amount > 0) rows.push([t("balance.pending"), money(b.pending)]);
  }
  rows.push([t("balance.expires"), b.expires_at ? formatDateTime(b.expires_at, S.locale) : t("balance.never")]);
  return h(
    "section",
    { id: "result", class: "result done" },
    h("h2", { id: "balance-available" }, b.available ? money(b.available) : t("balance.hidden")),
    h("p", { class: "muted" }, b.card),
    b.last_known_at ? h("p", { class: "warn", id: "balance-stale" }, t("balance.last_known", { age: formatAge(b.last_known_age_secs ?? 0, S.locale) })) : null,
    h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  );
}

function balanceScreen(scan) {
  const card = cardField();
  const pin = pinField();
  const ctl = formScreen("balance.title", [card, pin], "balance.submit", async ({ out }) => {
    const b = await invoke("balance", { card: card.value(), pinCode: pin.input.value || null });
    pin.input.value = "";
    out.replaceChildren(balanceView(b));
  });
  return acceptsCard(ctl, card, pin.input, scan);
}

function redeemScreen(scan) {
  const card = cardField();
  const pin = pinField();
  const amount = amountField([50, 100, 200, 500]);
  const full = h("button", { id: "redeem-full", type: "button", class: "secondary" }, t("redeem.full"));
  const ctl = formScreen("redeem.title", [card, pin, amount], "redeem.submit", async ({ out }) => {
    const r = await invoke("reserve", { card: card.value(), amount: amount.input.value, pinCode: pin.input.value });
    pin.input.value = "";
    ctl.form.hidden = true;
    const complete = h("button", { id: "complete", type: "button", class: "primary" }, t("redeem.complete"));
    const cancel = h("button", { id: "cancel", type: "button", class: "danger" }, t("redeem.cancel"));
    const err = errorBox();
    const settle = (button, call, doneKey) =>
      busy(button, async () => {
        err.clear();
        try {
          showResult(ctl, await call(), doneKey);
        } catch (e) {
          err.show(e);
        }
      });
    complete.onclick = () => settle(complete, () => invoke("complete", { operationId: r.operation_id }), "redeem.completed");
    cancel.onclick = () => settle(cancel, () => invoke("cancel", { operationId: r.operation_id }), "redeem.cancelled");
    out.replaceChildren(
      h(
        "section",
        { id: "reservation", class: "result pending" },
        h("h2", { id: "reserved" }, t(r.queued ? "redeem.reserved_offline" : "redeem.reserved", { amount: money(r.amount), card: r.card })),
        h("div", { class: "actions" }, complete, cancel),
        err.el,
      ),
    );
    complete.focus();
  }, [full]);
  full.onclick = () =>
    busy(full, async () => {
      ctl.err.clear();
      try {
        const b = await invoke("balance", { card: card.value(), pinCode: pin.input.value || null });
        if (b.available) amount.set(decimalText(b.available));
      } catch (e) {
        ctl.err.show(e);
      }
    });
  return acceptsCard(ctl, card, pin.input, scan);
}

/** An amount as the clerk would type it (for "whole balance"). */
function decimalText(m) {
  const exp = S.info?.currency_exponent ?? 2;
  const digits = String(m.amount).padStart(exp + 1, "0");
  if (exp === 0) return digits;
  const sep = S.locale === "nb" ? "," : ".";
  return `${digits.slice(0, -exp)}${sep}${digits.slice(-exp)}`;
}

function topUpScreen(scan) {
  const card = cardField();
  const amount = amountField();
  const ctl = formScreen("topup.title", [card, amount], "topup.submit", async () => {
    const res = await invoke("top_up", { card: card.value(), amount: amount.input.value });
    showResult(ctl, res, "topup.done");
  });
  return acceptsCard(ctl, card, amount.input, scan);
}

/**
 * The manager's approval over the clerk's screen: a manager types their number and PIN,
 * and `approve(manager, pin)` runs with them. A refusal (wrong PIN, not a manager) is
 * shown in the dialog, which stays open for another try; Esc or Cancel closes it.
 */
function askManager(what, approve, opts = {}) {
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

function undoEntry(item, refresh) {
  const what = `${t(`kind.${item.kind}`)} ${money(item.amount)} · ${item.card}`;
  askManager(what, async (manager, managerPin) => {
    const res = await invoke("undo", { entryId: item.id, manager, managerPin });
    await refresh(res.operation_id);
  });
}

function historyScreen(openId) {
  const filter = h(
    "select",
    { id: "filter" },
    ["all", "pending", "needs_attention", "confirmed", "refused"].map((f) => h("option", { value: f }, t(`history.${f}`))),
  );
  const list = h("div", { id: "history", class: "history" });
  const detail = h("section", { id: "detail", class: "detail card", hidden: true });
  // The list takes the whole width until an entry's details open beside it.
  const split = h("div", { class: "split" }, list, detail);
  const err = errorBox();
  let items = [];
  const matches = (it) => {
    const f = filter.value;
    return f === "all" || (f === "pending" ? it.pending : it.state === f);
  };
  const row = (it) =>
    h(
      "button",
      { type: "button", class: `entry state-${it.state}`, dataset: { id: it.id, state: it.state }, onclick: () => show(it.id) },
      h("span", { class: "time" }, formatTime(it.created_at, S.locale)),
      h("span", { class: "kind" }, t(`kind.${it.kind}`)),
      h("span", { class: "card-no" }, it.card),
      h("span", { class: "amount" }, money(it.amount)),
      stateLine(it.state),
    );
  const render = () => {
    const shown = items.filter(matches);
    list.replaceChildren(...(shown.length ? shown.map(row) : [h("p", { class: "muted" }, t("history.empty"))]));
  };
  const show = (id) => {
    const it = items.find((x) => x.id === id);
    if (!it) return;
    const rows = [
      [t("history.time"), formatDateTime(it.created_at, S.locale)],
      [t("result.card"), it.card],
      [t("result.amount"), money(it.amount)],
      [t("result.new_balance"), it.balance_after ? money(it.balance_after) : "—"],
      [t("history.clerk"), it.clerk ?? "—"],
      [t("history.approved_by"), it.approved_by ?? "—"],
      [t("history.transaction"), it.transaction_id ?? "—"],
      [t("history.payment"), it.dintero_transaction_id ?? "—"],
      [t("history.reason"), it.reason ?? "—"],
      [t("history.attempts"), String(it.attempts)],
      [t("result.entry"), it.id],
    ];
    // What may be undone or returned is the core's decision (it refuses the rest too).
    const undoable = it.can_undo;
    const undo = h("button", { id: "undo", type: "button", class: "danger", hidden: !undoable }, t("history.undo"));
    undo.onclick = () => undoEntry(it, async (newId) => load(newId));
    const returnable = it.can_return;
    const ret = h("button", { id: "return", type: "button", class: "danger", hidden: !returnable }, t("history.return"));
    ret.onclick = () =>
      askManager(`${t("history.return")} ${money(it.amount)} · ${it.card}`, async (manager, managerPin) => {
        const res = await invoke("return_sale", { entryId: it.id, manager, managerPin });
        await load(res.operation_id);
      });
    const [receipt, printed] = receiptButton("detail-receipt", it.id, err);
    detail.replaceChildren(
      h("h2", {}, `${t(`kind.${it.kind}`)} · `, stateLine(it.state)),
      h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("div", { class: "actions" }, receipt, undo, ret),
      printed,
    );
    detail.dataset.id = it.id;
    detail.hidden = false;
    split.classList.add("with-detail");
    for (const b of list.querySelectorAll(".entry")) b.classList.toggle("selected", b.dataset.id === id);
  };
  const load = async (openAfter) => {
    err.clear();
    try {
      items = await invoke("history");
      // A scanned receipt may name an older entry than today's list holds.
      if (openAfter && !items.some((x) => x.id === openAfter)) items.unshift(await invoke("history_entry", { entryId: openAfter }));
      render();
      const id = openAfter ?? detail.dataset.id;
      if (id) show(id);
    } catch (e) {
      err.show(e);
    }
  };
  filter.onchange = render;
  const el = screenFrame("history.title", h("label", { class: "filter" }, t("history.filter"), filter), err.el, split);
  load(openId);
  return { el, focus: filter, onSync: () => load(), open: (id) => load(id) };
}

function settingsScreen() {
  const body = h("div", { id: "settings" }, h("p", { class: "muted" }, t("common.working")));
  const err = errorBox();
  invoke("settings")
    .then((v) => {
      body.replaceChildren(
        h("p", { class: "muted" }, t("settings.readonly")),
        h("dl", { class: "settings" }, v.settings.map((s) => [h("dt", {}, s.key), h("dd", {}, s.value)])),
        h("h2", {}, t("settings.doctor")),
        h(
          "ul",
          { id: "doctor", class: "checks" },
          v.doctor.checks.map((c) => h("li", { class: `check check-${c.status}`, dataset: { status: c.status } }, h("strong", {}, `${c.status.toUpperCase()} ${c.name}`), " — ", c.detail, c.fix ? h("div", { class: "fix" }, c.fix) : null)),
        ),
      );
    })
    .catch((e) => err.show(e));
  // Kiosk mode: only a manager lets the app go (the window cannot be closed otherwise).
  const leave = h("button", { id: "leave-kiosk", type: "button", class: "danger", hidden: !S.info?.kiosk }, t("kiosk.leave"));
  leave.onclick = () => askManager(t("kiosk.leave_what"), (manager, managerPin) => invoke("leave_kiosk", { manager, managerPin }));
  return { el: screenFrame("settings.title", err.el, h("div", { class: "actions" }, leave), body) };
}

// ---------------------------------------------------------------- chrome, scans, keys

function renderChrome() {
  const nav = $("nav");
  if (!S.clerk) {
    nav.replaceChildren();
    return;
  }
  nav.replaceChildren(
    ...SCREENS.map((s, i) => h("button", { type: "button", id: `nav-${s}`, dataset: { screen: s }, onclick: () => showScreen(s) }, h("span", { class: "key-hint" }, `F${i + 1}`), t(`nav.${s}`))),
    h(
      "button",
      {
        type: "button",
        id: "sign-out",
        class: "signout",
        onclick: () => signOut(),
      },
      t("nav.sign_out"),
    ),
  );
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 4000);
}

/** A classified scan, from the serial reader or a keyboard-wedge burst. */
function routeScan(scan, rawText) {
  if (!S.clerk || S.dialog) return;
  if (scan.kind === "card") {
    if (S.screen?.takesCard) S.screen.takesCard(scan);
    else showScreen("balance", scan);
  } else if (scan.kind === "receipt") {
    showScreen("history", scan.entry_id);
  } else if (rawText && document.activeElement?.dataset?.scan === "text") {
    // A payment reference scanned into the field made for it.
    insertText(document.activeElement, rawText);
  } else {
    toast(scan.kind === "near_miss" ? t("scan.near_miss") : t("scan.not_a_gift_card"));
  }
}

const wedge = createWedge();

function handleWedge(actions) {
  for (const a of actions) {
    if (a.type === "scan") {
      invoke("scan", { text: a.text })
        .then((s) => routeScan(s, a.text))
        .catch(() => toast(t("scan.not_a_gift_card")));
    } else if (a.type === "type") {
      if (!insertText(document.activeElement, a.text)) S.screen?.typed?.(a.text);
    } else if (a.type === "enter") {
      (S.dialog ?? S.screen)?.enter?.();
    }
  }
}

function onKeyDown(ev) {
  if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
  const f = /^F([1-6])$/.exec(ev.key);
  if (f && S.clerk && !S.dialog) {
    ev.preventDefault();
    showScreen(SCREENS[Number(f[1]) - 1]);
    return;
  }
  if (ev.key === "Escape") {
    ev.preventDefault();
    handleWedge(wedge.key(ev.key, performance.now()));
    if (S.dialog) S.dialog.esc();
    else if (S.clerk && S.screen?.name !== "home") showScreen("home");
    return;
  }
  if (ev.key.length === 1 || ev.key === "Enter") ev.preventDefault();
  handleWedge(wedge.key(ev.key, performance.now()));
}

// ---------------------------------------------------------------- status bar

async function refreshStatus() {
  const parts = [];
  try {
    const s = await invoke("sync_status");
    parts.push(h("span", { id: "net", class: s.online ? "ok" : "bad", dataset: { online: String(s.online) } }, s.online ? t("status.online") : t("status.offline")));
    const oldest = s.oldest_pending_age_secs == null ? "" : ` (${t("status.oldest", { age: formatAge(s.oldest_pending_age_secs, S.locale) })})`;
    parts.push(h("span", { id: "pending", dataset: { pending: String(s.pending) } }, t("status.pending", { n: s.pending }) + oldest));
    if (s.needs_attention > 0) parts.push(h("span", { id: "attention", class: "bad" }, t("status.attention", { n: s.needs_attention })));
    if (s.unreadable) parts.push(h("span", { id: "unreadable", class: "bad", title: s.unreadable }, t("status.unreadable")));
  } catch (_) {
    parts.push(h("span", { id: "net", class: "bad" }, "—"));
  }
  const sc = await invoke("scanner_state").catch(() => null);
  if (sc) parts.push(h("span", { id: "scanner", class: sc.connected ? "ok" : "bad", title: sc.port, dataset: { connected: String(sc.connected) } }, sc.connected ? t("status.scanner_ok") : t("status.scanner_lost")));
  else parts.push(h("span", { id: "scanner" }, t("status.scanner_keyboard")));
  parts.push(h("span", { id: "clerk" }, S.clerk ? t("status.clerk", { name: `${S.clerk.name} (${S.clerk.number})` }) : t("status.not_signed_in")));
  if (S.info) parts.push(h("span", { id: "terminal", class: "where" }, `${S.info.store_name} · ${S.info.terminal_id}`));
  $("statusbar").replaceChildren(...parts);
  return parts.map((p) => p.textContent).join(" | ");
}

// ---------------------------------------------------------------- start

function showFatal(err) {
  const e = errorText(S.locale, err);
  $("screen").replaceChildren(h("section", { class: "card fatal", id: "fatal", dataset: { code: e.code } }, h("h1", {}, t("app.cannot_start")), h("p", {}, e.what), h("p", {}, e.next), h("small", {}, e.code)));
  return `ERROR ${e.code}`;
}

async function start() {
  let state;
  try {
    S.info = await invoke("app_info");
    S.locale = S.info.locale;
    S.t = translator(S.locale);
    document.documentElement.lang = S.locale === "nb" ? "nb" : "en";
    $("training").textContent = t("app.training");
    $("training").hidden = !S.info.training;
    S.clerk = await invoke("whoami");
    renderChrome();
    showScreen(S.clerk ? "home" : "signin");
    state = S.info.training ? "TRAINING" : "LIVE";
    document.addEventListener("keydown", onKeyDown, true);
    watchIdle();
    document.addEventListener("pointerdown", () => handleWedge(wedge.tick(Number.POSITIVE_INFINITY)), true);
    setInterval(() => handleWedge(wedge.tick(performance.now())), 20);
    const unlisten = [
      await listen("scan", (s) => {
        S.lastActivity = performance.now();
        routeScan(s, null);
      }),
      await listen("sync", (ev) => {
        if (ev.event === "entry") {
          S.watch.get(ev.id)?.(ev.state);
          S.screen?.onSync?.(ev);
        }
        refreshStatus();
      }),
      await listen("scanner", () => refreshStatus()),
    ];
    window.addEventListener("pagehide", () => unlisten.forEach((stop) => stop()));
  } catch (err) {
    state = showFatal(err);
  }
  const status = await refreshStatus();
  setInterval(refreshStatus, 1000);
  document.body.dataset.ready = "true";
  await invoke("ui_ready", { uiState: `${state} | ${status}` });
}

start();
