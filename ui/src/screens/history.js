// History: today's entries and their states; details, receipts, and undo or return
// behind a manager's approval (what may be undone is the core's decision).

import { invoke } from "../api.js";
import { h } from "../dom.js";
import { formatDateTime, formatTime } from "../i18n.js";
import { S, money, t } from "../app.js";
import { askManager, errorBox, receiptButton, screenFrame, stateLine } from "../components.js";

function undoEntry(item, refresh) {
  const what = `${t(`kind.${item.kind}`)} ${money(item.amount)} · ${item.card}`;
  askManager(what, async (manager, managerPin) => {
    const res = await invoke("undo", { entryId: item.id, manager, managerPin });
    await refresh(res.operation_id);
  });
}

export function historyScreen(openId) {
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
