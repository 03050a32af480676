#!/usr/bin/env bash
# The installers, as IT gets them: builds and signs the packages (scripts/package),
# verifies both signatures with the script IT runs, checks that a tampered package and a
# package with another key's signature fail, installs the .deb (dpkg -i when root, else
# into a throwaway root with dpkg -x), and runs the installed `giftpos doctor --json` and
# the installed app under Xvfb once. Called by scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "package test FAILED: $*" >&2; exit 1; }

scripts/package
DEB="$(ls artifacts/*.deb)"
RPM="$(ls artifacts/*.rpm)"
KEYS=artifacts/keys
WORK="$(mktemp -d)"
INSTALLED=""
cleanup() {
  if [ -n "$INSTALLED" ]; then dpkg -P giftpos >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# What the package holds.
# (Read whole first: `grep -q` stops reading early, and under pipefail the writer's
# SIGPIPE would fail the check at random.)
info="$(dpkg-deb --info "$DEB")"
grep -q "Maintainer: giftpos team" <<<"$info" || fail "no maintainer in the .deb"
grep -q "Depends:.*libwebkit2gtk-4.1-0" <<<"$info" || fail "the .deb does not depend on WebKitGTK"
if grep -q "appindicator" <<<"$info"; then fail "the .deb depends on an appindicator library it never uses"; fi
contents="$(dpkg-deb --contents "$DEB")"
for f in usr/bin/giftpos usr/bin/giftpos-terminal usr/share/applications/giftpos.desktop \
  usr/share/giftpos/config.example.toml etc/xdg/autostart/giftpos-terminal.desktop \
  usr/lib/systemd/user/giftpos-terminal.service; do
  grep -Eq " (\./)?$f\$" <<<"$contents" || fail "$f is not in the .deb"
done
if grep -Eq "usr/bin/bare-window" <<<"$contents"; then fail "the benchmark's bare window is in the .deb"; fi

# Both signatures verify; a tampered package and a foreign signature do not.
scripts/verify-package "$DEB" "$KEYS/updater.pub" "$KEYS/deb-signing.asc" || fail "the .deb's signatures do not verify"
scripts/verify-package "$RPM" "$KEYS/updater.pub" || fail "the .rpm's signature does not verify"
cp "$DEB" "$WORK/tampered.deb"
cp "$DEB.sig" "$WORK/tampered.deb.sig"
size=$(stat -c %s "$WORK/tampered.deb")
printf '\xff' | dd of="$WORK/tampered.deb" bs=1 seek=$((size - 200)) conv=notrunc status=none
if scripts/verify-package "$WORK/tampered.deb" "$KEYS/updater.pub" "$KEYS/deb-signing.asc"; then
  fail "a tampered .deb passed verification"
fi
out="$(scripts/verify-package "$WORK/tampered.deb" "$KEYS/updater.pub" "$KEYS/deb-signing.asc" || true)"
grep -q "FAIL updater signature" <<<"$out" || fail "the tampered .deb's updater signature was not refused"
grep -q "FAIL deb origin signature" <<<"$out" || fail "the tampered .deb's GPG signature was not refused"
cp "$DEB" "$WORK/unsigned.deb"
if scripts/verify-package "$WORK/unsigned.deb" "$KEYS/updater.pub" "$KEYS/deb-signing.asc"; then
  fail "a .deb without an updater signature passed verification"
fi

# Install, then run what was installed.
if [ "$(id -u)" -eq 0 ]; then
  dpkg -i "$DEB" >/dev/null
  INSTALLED=1
  ROOT=""
else
  dpkg -x "$DEB" "$WORK/root"
  ROOT="$WORK/root"
fi
# It starts with the till: the XDG autostart entry (the default) runs the installed app;
# the systemd user unit (the alternative) restarts it when it fails, and is valid.
grep -qx "Exec=/usr/bin/giftpos-terminal" "$ROOT/etc/xdg/autostart/giftpos-terminal.desktop" \
  || fail "the autostart entry does not start the app"
unit="$ROOT/usr/lib/systemd/user/giftpos-terminal.service"
grep -qx "Restart=on-failure" "$unit" || fail "the user unit does not restart the app"
if [ -n "${INSTALLED:-}" ] && command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze refuses the user unit"
fi
home="$WORK/home"
mkdir -p "$home"
run_clean() {
  env -i PATH=/usr/bin:/bin HOME="$home" XDG_DATA_HOME="$home/data" XDG_CONFIG_HOME="$home/config" \
    GIFTPOS_SYSTEM_CONFIG="$home/none.toml" "$@"
}
report="$(run_clean "$ROOT/usr/bin/giftpos" doctor --json || true)"
python3 - "$report" <<'PY' || fail "giftpos doctor --json is incomplete"
import json, sys
r = json.loads(sys.argv[1])["result"]
names = {c["name"] for c in r["checks"]}
want = {"config", "credentials", "data_dir", "journal", "scanner", "printer", "api_reachable", "token", "checkout_token", "dintero_answers", "payments", "clock"}
assert want <= names, want - names
for c in r["checks"]:
    assert c["status"] in ("ok", "warn", "fail", "skipped"), c
    assert c["status"] in ("ok", "skipped") or c.get("fix"), c
print(f"installed doctor: {len(r['checks'])} checks, ok={r['ok']}")
PY
app_out="$(run_clean GIFTPOS_EXIT_WHEN_READY=1 timeout 120 xvfb-run -a -s "-screen 0 1280x800x24" \
  "$ROOT/usr/bin/giftpos-terminal" 2>&1 || true)"
grep -q "ui ready in .* TRAINING" <<<"$app_out" || fail "the installed app did not come up: $app_out"
echo "package test: ok ($(basename "$DEB"), $(stat -c %s "$DEB") bytes)"
