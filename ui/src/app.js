// The UI's shared state, in one place: what the terminal is (info, words, money format),
// who is signed in, the screen shown, and what is in flight. Screens read it; only the
// modules named beside each field change it.

import { formatMoney, translator } from "./i18n.js";

export const S = {
  working: 0, // operations in flight (components.busy; idle sign-out never interrupts them)
  lastActivity: performance.now(), // input.js, components.busy
  info: null, // main.js: app_info
  locale: "en", // main.js
  t: translator("en"), // main.js
  clerk: null, // screens/signin.js, router.signOut
  screen: null, // router.showScreen: the current screen's controller
  dialog: null, // components.askManager: the manager's dialog while open
  watch: new Map(), // components.resultView: entry id -> callback(state) while shown
};
export const t = (k, p) => S.t(k, p);
export const money = (m) => formatMoney(m, S.locale, S.info?.currency_exponent ?? 2);
export const $ = (id) => document.getElementById(id);

// Navigation, as the router registers it (router.js): screens and components go
// through these, so nothing below the router imports it (no import circles).
export const SCREENS = ["sell", "balance", "redeem", "topup", "history", "settings"];
const nav = { show: null, chrome: null };
export function registerNavigation(show, chrome) {
  nav.show = show;
  nav.chrome = chrome;
}
export const showScreen = (name, arg) => nav.show(name, arg);
export const renderChrome = () => nav.chrome();
