#!/usr/bin/env bash
# Installs whatever OneDeck needs and is missing, and says what it installs. Idempotent: a second
# run installs nothing. Usage: scripts/ensure-deps.sh build|test
#   build: what building and running the app needs (Debian -dev packages, npm packages)
#   test:  that plus what every test needs (Xvfb, WebKitWebDriver, Chromium, gnome-keyring, QEMU,
#          xmllint, the Python test venv, tauri-driver)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-build}
case "$mode" in build|test) ;; *) echo "usage: $0 build|test" >&2; exit 2 ;; esac

say() { printf 'ensure-deps: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
build_pkgs=(libwebkit2gtk-4.1-dev librsvg2-dev file build-essential pkg-config)
# qemu-system-x86 conflicts with the newer qemu-utils some base images ship; apt replaces it.
# xdotool answers the screenshot's save dialog in E2E tests; xclip reads the clipboard back;
# virt-viewer's remote-viewer is the SPICE hand-off's real peer (openssl encrypts a test's ticket);
# openssh-server's sshd runs inside the SSH tests' own network namespaces (never as a service).
test_pkgs=(xvfb xauth webkit2gtk-driver imagemagick gnome-keyring dbus dbus-x11 libsecret-tools
  qemu-system-x86 chromium libxml2-utils python3-venv iproute2 xdotool xclip virt-viewer openssl
  openssh-server openssh-client)
pkgs=("${build_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        say "not root and no sudo: install these yourself: ${missing[*]}"; exit 1; fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # No package may start a system service while it installs (Debian's policy-rc.d): the tests
    # run sshd in their own namespaces, not on this machine's port 22.
    policy=/usr/sbin/policy-rc.d
    made_policy=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy"
      made_policy=1
    fi
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
      [ -n "$made_policy" ] && $sudo rm -f "$policy"; exit 1; }
    [ -n "$made_policy" ] && $sudo rm -f "$policy"
  else
    say "Debian packages: all present"
  fi
else
  say "no dpkg: not a Debian-like system; install the equivalents of: ${pkgs[*]} (see README.md)"
fi

# --- npm packages (exactly the lockfile) ----------------------------------------------------------
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci in ui/)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
else
  say "npm packages: up to date"
fi

[ "$mode" = build ] && exit 0

# --- Python test tools ---------------------------------------------------------------------------
venv=.venv
stamp=$venv/.requirements.sha256
want=$(sha256sum tests/python/requirements.txt | cut -d' ' -f1)
if [ ! -x $venv/bin/python ] || [ "$(cat $stamp 2>/dev/null)" != "$want" ]; then
  say "installing Python test tools into $venv (tests/python/requirements.txt)"
  [ -x $venv/bin/python ] || python3 -m venv $venv
  $venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
  echo "$want" > $stamp
else
  say "Python test tools: up to date"
fi

# --- cargo tools ---------------------------------------------------------------------------------
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  say "installing tauri-driver (cargo install --locked)"
  cargo install tauri-driver --locked --version '^2.1' --quiet
else
  say "tauri-driver: present"
fi
