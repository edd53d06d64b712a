#!/usr/bin/env bash
# Runs CMD... with a real, unlocked Secret Service (GNOME Keyring) on a private D-Bus session bus,
# so the vault's keyring tests use the same code path as a desktop session.
#
#   scripts/with-keyring.sh cargo test -p onedeck-vault
#
# Everything lives in a temp dir that is removed afterwards: the keyring file ($XDG_DATA_HOME/
# keyrings), the daemon's control socket ($XDG_RUNTIME_DIR/keyring), XDG config and cache dirs.
# HOME is left alone so cargo and rustup keep finding their homes. Needs the Debian packages
# dbus (dbus-run-session) and gnome-keyring.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "with-keyring.sh: $tool not found; install the Debian packages dbus and gnome-keyring" >&2
        exit 127
    fi
done

scratch="$(mktemp -d "${TMPDIR:-/tmp}/onedeck-keyring.XXXXXX")"
# The daemon exits when its private bus goes away (dbus-run-session ends it), so only files remain.
# A WebKit app started inside the session activates xdg-document-portal, which mounts a FUSE file
# system at $XDG_RUNTIME_DIR/doc; unmount whatever is left under the scratch dir before removing it,
# and never let clean-up change the command's exit status.
cleanup() {
    local status=$?
    set +e
    if command -v findmnt >/dev/null 2>&1; then
        findmnt -rn -o TARGET | grep -F "$scratch" | sort -r | while read -r mnt; do
            fusermount -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
        done || true
    fi
    rm -rf "$scratch" 2>/dev/null || echo "with-keyring.sh: could not remove $scratch" >&2
    exit "$status"
}
trap cleanup EXIT
mkdir -p "$scratch/data" "$scratch/config" "$scratch/cache" "$scratch/runtime"
chmod 700 "$scratch/runtime"

export XDG_DATA_HOME="$scratch/data"
export XDG_CONFIG_HOME="$scratch/config"
export XDG_CACHE_HOME="$scratch/cache"
export XDG_RUNTIME_DIR="$scratch/runtime"

# Inside the private bus: start the daemon with a fresh login keyring unlocked by a throwaway
# password (read from stdin, never on a command line), wait until it owns the Secret Service
# name (else D-Bus activation could start a second, locked daemon), then run the command.
dbus-run-session -- bash -c '
    set -euo pipefail
    printf %s "onedeck-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    for _ in $(seq 50); do
        if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
            | grep -q "boolean true"; then
            exec "$@"
        fi
        sleep 0.1
    done
    echo "with-keyring.sh: gnome-keyring-daemon did not take the Secret Service name within 5 s" >&2
    exit 1
' with-keyring "$@"
