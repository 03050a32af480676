// Settings: the effective configuration and the doctor's checks (read-only); leaving
// kiosk mode with a manager.

import { invoke } from "../api.js";
import { h } from "../dom.js";
import { S, t } from "../app.js";
import { askManager, errorBox, screenFrame } from "../components.js";

export function settingsScreen() {
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
