// Keyboard-wedge barcode readers type like a keyboard, only faster. This tells a burst of
// fast keystrokes ending in Enter (a scan) from a person typing, so a scan never leaks
// into whatever field had focus, and typing still works everywhere.
//
// Printable keys are held back briefly. If the next key comes within `maxGapMs`, holding
// continues; Enter after at least `minLength` held keys within `maxTotalMs` is a scan.
// When the gap runs out (a person typing), the held keys are released to the field.
// Times are passed in (milliseconds), so the logic is tested without a browser.

export const DEFAULTS = Object.freeze({ maxGapMs: 50, minLength: 4, maxTotalMs: 1500 });

export function createWedge(options = {}) {
  const o = { ...DEFAULTS, ...options };
  let held = "";
  let first = 0;
  let last = 0;

  const release = () => {
    const text = held;
    held = "";
    return text ? [{ type: "type", text }] : [];
  };

  return {
    /** A keydown: `key` as KeyboardEvent.key, `t` in ms. Returns what to do. */
    key(key, t) {
      const out = [];
      if (held && t - last > o.maxGapMs) out.push(...release());
      if (key === "Enter") {
        if (held.length >= o.minLength && t - first <= o.maxTotalMs && t - last <= o.maxGapMs) {
          out.push({ type: "scan", text: held });
          held = "";
          return out;
        }
        out.push(...release(), { type: "enter" });
        return out;
      }
      if (key.length !== 1) {
        // Tab, arrows, Escape…: a person. Give back what was held, then the key.
        out.push(...release(), { type: "key", key });
        return out;
      }
      if (!held) first = t;
      held += key;
      last = t;
      return out;
    },
    /** Called on a timer: releases held keys once the gap has passed. */
    tick(t) {
      return held && t - last > o.maxGapMs ? release() : [];
    },
    /** Whether keys are being held (the caller keeps them out of the field meanwhile). */
    holding() {
      return held.length > 0;
    },
  };
}
