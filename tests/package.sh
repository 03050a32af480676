#!/usr/bin/env bash
# The installers, as IT gets them: builds and signs the packages (scripts/package),
# verifies both signatures with the script IT runs, checks that a tampered package and a
# package with another key's signature fail, installs the .deb (dpkg -i when root, else
# into a throwaway root with dpkg -x), and runs the installed `giftpos doctor --json` and
# the installed app under Xvfb once. Called by scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "package test FAILED: $*" >&2; exit 1; }
# Changes the byte at offset $2 (default: the middle) of a file to another value (its
# size stays).
flip_byte() {
  local size at b flip
  size=$(stat -c %s "$1")
  at="${2:-$((size / 2))}"
  b="$(od -An -tx1 -j "$at" -N1 "$1" | tr -d ' ')"
  if [ "$b" = "00" ]; then flip='\x01'; else flip='\x00'; fi
  printf "$flip" | dd of="$1" bs=1 seek="$at" conv=notrunc status=none
}
# A newer build of the same package: $DEB repacked with version $1, into $WORK; prints
# its path.
repack() {
  rm -rf "$WORK/repack"
  dpkg-deb -R "$DEB" "$WORK/repack"
  sed -i "s/^Version: .*/Version: $1/" "$WORK/repack/DEBIAN/control"
  dpkg-deb -b "$WORK/repack" "$WORK/giftpos_$1_amd64.deb" >/dev/null
  echo "$WORK/giftpos_$1_amd64.deb"
}

WORK="$(mktemp -d)"
# The throwaway updater key stays with the test, to sign newer builds for the staged
# update service.
export GIFTPOS_TEST_KEYS="$WORK/test-keys"
scripts/package
DEB="$(ls artifacts/*.deb)"
RPM="$(ls artifacts/*.rpm)"
KEYS=artifacts/keys
INSTALLED=""
cleanup() {
  # (Each may find nothing to do; under `set -e` that must not end the cleanup.)
  if [ -n "${RACER:-}" ]; then kill "$RACER" 2>/dev/null || true; fi
  if [ -n "${HTTP_PID:-}" ]; then kill "$HTTP_PID" 2>/dev/null || true; fi
  if [ -n "${SYSCONF:-}" ]; then
    rm -f /etc/giftpos/config.toml
    if [ -e "$WORK/config.toml.before" ]; then cp -a "$WORK/config.toml.before" /etc/giftpos/config.toml; fi
  fi
  if [ -n "$INSTALLED" ]; then
    dpkg -P giftpos >/dev/null 2>&1 || true
    rm -rf /var/cache/giftpos
  fi
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
  usr/lib/systemd/user/giftpos-terminal.service usr/lib/systemd/system/giftpos-update.timer \
  usr/lib/systemd/system/giftpos-update.service; do
  grep -Eq " (\./)?$f\$" <<<"$contents" || fail "$f is not in the .deb"
done
if grep -Eq "usr/bin/bare-window" <<<"$contents"; then fail "the benchmark's bare window is in the .deb"; fi

# Both signatures verify; a tampered package and a foreign signature do not.
scripts/verify-package "$DEB" "$KEYS/updater.pub" "$KEYS/deb-signing.asc" || fail "the .deb's signatures do not verify"
scripts/verify-package "$RPM" "$KEYS/updater.pub" || fail "the .rpm's signature does not verify"
cp "$DEB" "$WORK/tampered.deb"
cp "$DEB.sig" "$WORK/tampered.deb.sig"
# (A byte that surely changes: writing 0xff over a 0xff changed nothing, 1 run in 256.)
flip_byte "$WORK/tampered.deb" $(($(stat -c %s "$WORK/tampered.deb") - 200))
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
# The signed APT repository: its Release verifies against the published keyring; as root,
# apt installs the package from it and upgrades to a newer build, and refuses the
# repository with a tampered Release or a tampered package.
KEYRING="$PWD/$KEYS/giftpos-archive-keyring.gpg"
REPO="$WORK/apt"
cp -a artifacts/apt "$REPO"
gpgv --keyring "$KEYRING" "$REPO/dists/stable/InRelease" 2>/dev/null || fail "the repository's InRelease does not verify"
gpgv --keyring "$KEYRING" "$REPO/dists/stable/Release.gpg" "$REPO/dists/stable/Release" 2>/dev/null \
  || fail "the repository's Release.gpg does not verify"
grep -q "^Signed-By: /usr/share/keyrings/giftpos-archive-keyring.gpg" "$REPO/giftpos.sources" \
  || fail "no sources entry for IT"
if [ "$(id -u)" -eq 0 ]; then
  # A repository of our own for the upgrade (adding a build needs the signing key, which
  # only the release machine has): scripts/apt-repo with a throwaway key.
  export GNUPGHOME="$WORK/gnupg"
  mkdir -m 700 "$GNUPGHOME"
  gpg --batch --quiet --passphrase '' --quick-gen-key "giftpos apt test <apt-test@giftpos.invalid>" ed25519 sign 1d
  TKEY="$(gpg --list-keys --with-colons | awk -F: '/^fpr/ {print $10; exit}')"
  gpg --export "$TKEY" > "$WORK/test-keyring.gpg"
  TREPO="$WORK/apt-test"
  scripts/apt-repo "$TREPO" "$TKEY" "$DEB"
  mkdir -p "$WORK/apt-lists/partial" "$WORK/apt-cache/archives/partial"
  echo "deb [signed-by=$WORK/test-keyring.gpg] file://$TREPO stable main" > "$WORK/giftpos.list"
  apt_() {
    apt-get -q -o Dir::Etc::SourceList="$WORK/giftpos.list" -o Dir::Etc::SourceParts=/nonexistent \
      -o Dir::State::Lists="$WORK/apt-lists" -o Dir::Cache="$WORK/apt-cache" \
      -o APT::Sandbox::User=root "$@"
  }
  version() { dpkg-query -W -f='${Version}' giftpos 2>/dev/null || true; }
  # A newer build of the same package, added to the repository.
  newer() { scripts/apt-repo "$TREPO" "$TKEY" "$(repack "$1")"; }
  base="$(dpkg-deb -f "$DEB" Version)"
  dpkg -P giftpos >/dev/null 2>&1 || true
  apt_ update --error-on=any >/dev/null || fail "apt-get update refuses the signed repository"
  DEBIAN_FRONTEND=noninteractive apt_ install -y giftpos >/dev/null || fail "apt-get install giftpos failed"
  INSTALLED=1
  [ "$(version)" = "$base" ] || fail "apt installed $(version), not $base"
  newer "$base+test1"
  apt_ update --error-on=any >/dev/null || fail "apt-get update after a new build failed"
  DEBIAN_FRONTEND=noninteractive apt_ install -y --only-upgrade giftpos >/dev/null || fail "apt-get upgrade failed"
  [ "$(version)" = "$base+test1" ] || fail "apt did not upgrade to $base+test1 (has $(version))"
  # A tampered Release is refused.
  cp "$TREPO/dists/stable/InRelease" "$WORK/InRelease.good"
  sed -i 's/^Description: giftpos/Description: g1ftpos/' "$TREPO/dists/stable/InRelease"
  if apt_ update --error-on=any >/dev/null 2>&1; then fail "apt accepted a tampered InRelease"; fi
  cp "$WORK/InRelease.good" "$TREPO/dists/stable/InRelease"
  apt_ update --error-on=any >/dev/null || fail "apt-get update after restoring InRelease failed"
  # A tampered package is refused (its hash no longer matches the signed index).
  newer "$base+test2"
  apt_ update --error-on=any >/dev/null || fail "apt-get update after the second build failed"
  pooled="$(find "$TREPO/pool" -name "giftpos_${base}+test2_amd64.deb")"
  [ -n "$pooled" ] || fail "the second build is not in the pool"
  flip_byte "$pooled"
  rm -f "$WORK"/apt-cache/archives/*.deb
  if DEBIAN_FRONTEND=noninteractive apt_ install -y --only-upgrade giftpos >/dev/null 2>&1; then
    fail "apt installed a tampered package"
  fi
  [ "$(version)" = "$base+test1" ] || fail "a tampered package changed the installed version ($(version))"
  echo "package test: apt installed $base, upgraded to $base+test1, refused a tampered Release and package"

  # Unattended updates are root's alone (docs/threat-model.md, "Updates"): the installed
  # root timer and service, and the service's command as systemd runs it (no desktop
  # session, no person) against the endpoint IT names in /etc/giftpos/config.toml (a
  # loopback server here). Root downloads into a folder only root can enter, verifies,
  # and installs that copy: a signed newer release is installed; a tampered, an unsigned,
  # an older and an oversized one are refused; nothing a local user writes is read.
  for u in giftpos-update.timer giftpos-update.service; do
    [ -f "/usr/lib/systemd/system/$u" ] || fail "$u is not installed"
  done
  [ ! -e /usr/lib/systemd/system/giftpos-update.path ] || fail "the old path unit (a drop box for any user) is installed"
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /usr/lib/systemd/system/giftpos-update.timer /usr/lib/systemd/system/giftpos-update.service \
      || fail "systemd-analyze refuses the update units"
  fi
  grep -qx "TimeoutStartSec=30min" /usr/lib/systemd/system/giftpos-update.service || fail "a stalled update run is not stopped"
  if grep -q "^Restart=" /usr/lib/systemd/system/giftpos-update.service; then fail "the update service restarts in a loop"; fi
  CACHE=/var/cache/giftpos/updates
  [ "$(stat -c '%a %U' "$CACHE" 2>/dev/null)" = "700 root" ] || fail "the package did not make $CACHE root's alone (0700)"
  [ ! -e /var/lib/giftpos/updates ] || fail "the old world-writable drop box is still there"
  if grep -rIEn "1777|0777|o\+w|a\+w|chmod [0-7]*[2367]( |$)|DirectoryMode=[0-7]*[2367]$" packaging/ src-tauri/tauri.conf.json; then
    fail "something in packaging/ makes a world-writable folder"
  fi
  run_service() {
    local cmd
    cmd="$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/giftpos-update.service)"
    # shellcheck disable=SC2086
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $cmd
  }
  TAURI="$HOME/.cache/giftpos-tauri-cli/node_modules/.bin/tauri"
  sign() {
    TAURI_SIGNING_PRIVATE_KEY="$(cat "$GIFTPOS_TEST_KEYS/updater.key")" \
      TAURI_SIGNING_PRIVATE_KEY_PASSWORD=giftpos-test "$TAURI" signer sign "$1" >/dev/null
  }
  WWW="$WORK/www"
  mkdir -p "$WWW"
  PORT=$((20000 + RANDOM % 20000))
  python3 -m http.server --bind 127.0.0.1 "$PORT" --directory "$WWW" >/dev/null 2>&1 &
  HTTP_PID=$!
  mkdir -p /etc/giftpos
  [ ! -e /etc/giftpos/config.toml ] || cp -a /etc/giftpos/config.toml "$WORK/config.toml.before"
  SYSCONF=1
  printf '[update]\nendpoint = "http://127.0.0.1:%s/latest.json"\n' "$PORT" > /etc/giftpos/config.toml
  chmod 644 /etc/giftpos/config.toml
  publish() { # version [tamper|unsigned|huge]
    local f sig=""
    f="$(repack "$1")"
    [ "${2:-}" = unsigned ] || { sign "$f"; sig="$(cat "$f.sig")"; }
    [ "${2:-}" = tamper ] && flip_byte "$f"
    [ "${2:-}" = huge ] && truncate -s 300M "$f"
    cp "$f" "$WWW/pkg-$1.deb"
    printf '{"version":"%s","platforms":{"linux-x86_64-deb":{"url":"http://127.0.0.1:%s/pkg-%s.deb","signature":"%s"}}}\n' \
      "$1" "$PORT" "$1" "$sig" > "$WWW/latest.json"
  }
  for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/')" 2>/dev/null && break
    sleep 0.1
  done
  # A local user's attacks, as that user: nothing can be written where root downloads,
  # no drop box exists, and whatever they leave elsewhere is never read. A writer races
  # the whole run.
  id -u giftpos-attacker >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin giftpos-attacker
  as_user() { setpriv --reuid=giftpos-attacker --regid=giftpos-attacker --clear-groups "$@"; }
  as_user sh -c "echo x > $CACHE/evil.deb" 2>/dev/null && fail "a local user wrote into $CACHE"
  as_user mkdir -p /var/lib/giftpos/updates 2>/dev/null && fail "a local user made the old drop box again"
  as_user mkfifo "$CACHE/fifo.deb" 2>/dev/null && fail "a local user made a FIFO in $CACHE"
  as_user ls "$CACHE" >/dev/null 2>&1 && fail "a local user can list $CACHE"
  # (setpriv itself in the background, so that $! is the racer and it can be stopped.)
  setpriv --reuid=giftpos-attacker --regid=giftpos-attacker --clear-groups \
    sh -c "while :; do for n in a b c; do cp /bin/true $CACHE/\$n.deb 2>/dev/null; ln -sf /etc/shadow $CACHE/\$n 2>/dev/null; done; done" &
  RACER=$!
  publish "$base+test3"
  run_service >/dev/null || fail "the update service did not install a signed, newer release"
  [ "$(version)" = "$base+test3" ] || fail "the signed update was not installed (has $(version))"
  [ -z "$(find "$CACHE" -mindepth 1)" ] || fail "the update service left files in $CACHE"
  for bad in "$base+test4 tamper" "$base+test5 unsigned" "$base+test2" "$base+test6 huge"; do
    # shellcheck disable=SC2086
    publish $bad
    if run_service >/dev/null 2>&1 && [ "$(version)" != "$base+test3" ]; then
      fail "the update service installed a bad release ($bad)"
    fi
    [ "$(version)" = "$base+test3" ] || fail "a bad release ($bad) changed the installed version to $(version)"
  done
  out="$(run_service 2>&1 || true)"
  grep -q "larger than 256 MiB" <<<"$out" || fail "an oversized package was not refused by its size: $out"
  # Later updates are not stopped by any of it.
  publish "$base+test7"
  run_service >/dev/null || fail "the update service stopped installing after the attacks"
  [ "$(version)" = "$base+test7" ] || fail "a later update was not installed (has $(version))"
  kill "$RACER" 2>/dev/null || true
  wait "$RACER" 2>/dev/null || true
  RACER=""
  [ "$(stat -c '%a %U' "$CACHE")" = "700 root" ] || fail "$CACHE changed hands"
  # The app as a clerk's user: IT's file moved by GIFTPOS_SYSTEM_CONFIG is a test build's
  # hook only; the release reads /etc/giftpos/config.toml whatever the variable says.
  uhome="$WORK/uhome"
  mkdir -p "$uhome"
  chown giftpos-attacker "$uhome"
  printf '[payments]\nverify = "off"\n' > "$WORK/loose.toml"
  chmod 644 "$WORK/loose.toml"
  chmod 755 "$WORK"
  info="$(as_user env -i PATH=/usr/bin:/bin HOME="$uhome" GIFTPOS_SYSTEM_CONFIG="$WORK/loose.toml" /usr/bin/giftpos info --json || true)"
  grep -q '"payments.verify"' <<<"$info" && fail "the release read GIFTPOS_SYSTEM_CONFIG: $info"
  grep -q '"ok":true' <<<"$info" || fail "the installed giftpos info failed as a user: $info"
  echo "package test: root's update service installed signed releases and refused a tampered, an unsigned, an older and an oversized one; a local user could neither write where root downloads nor stop later updates"
else
  echo "package test: not root: the repository's signatures verified; apt install/upgrade is tested as root (CI)"
fi
echo "package test: ok ($(basename "$DEB"), $(stat -c %s "$DEB") bytes)"
