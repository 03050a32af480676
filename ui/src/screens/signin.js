// Sign-in: a clerk's number and PIN.

import { invoke } from "../api.js";
import { h } from "../dom.js";
import { S, renderChrome, showScreen, t } from "../app.js";
import { busy, errorBox, field, pinField, screenFrame } from "../components.js";
import { refreshStatus } from "../status.js";

export function signInScreen() {
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
