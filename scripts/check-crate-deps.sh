#!/usr/bin/env bash
# Fails if any library crate under crates/ pulls in tauri, gtk or webkit: logic must build and
# test without a display or a webview (docs/ARCHITECTURE.md). crates/fuzz is outside the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for manifest in crates/*/Cargo.toml; do
  [ "$manifest" = crates/fuzz/Cargo.toml ] && continue
  name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)
  hits=$(cargo tree -p "$name" -e normal,build --prefix none 2>/dev/null | grep -Ei '^(tauri|gtk|webkit|wry|tao)[-a-z0-9]* ' | sort -u || true)
  if [ -n "$hits" ]; then
    echo "check-crate-deps: $name depends on UI crates:"; echo "$hits" | sed 's/^/  /'; status=1
  else
    echo "check-crate-deps: $name: no tauri/gtk/webkit"
  fi
done
exit $status
