"""The release build in the real window: the shared E2E fixtures with $ONEDECK_APP pointing at
target/release/onedeck (`make test-release` sets it after `make package` built it)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from conftest import app, app_binary, tauri_driver  # noqa: E402,F401
