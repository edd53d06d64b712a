"""The release build in the real window: the shared E2E fixtures with $ONEDECK_APP pointing at
target/release/onedeck (`make test-release` sets it after `make package` built it)."""

import importlib.util
from pathlib import Path

# tests/e2e/conftest.py under another module name (this file is `conftest` too).
_spec = importlib.util.spec_from_file_location(
    "e2e_conftest", Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"
)
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

app = _shared.app
app_binary = _shared.app_binary
tauri_driver = _shared.tauri_driver
