"""Checks the Debian package that `make package` builds: binary, desktop entry, icons."""

import glob
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


@pytest.fixture(scope="module")
def deb() -> Path:
    debs = sorted(glob.glob(str(TARGET / "release" / "bundle" / "deb" / "*.deb")), key=os.path.getmtime)
    if not debs:
        pytest.fail("no .deb under target/release/bundle/deb: run `make package`")
    return Path(debs[-1])


@pytest.fixture(scope="module")
def unpacked(deb, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deb")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True, text=True).stdout.strip()


def test_control_fields(deb):
    # The bundler derives the package name from productName "OneDeck".
    assert field(deb, "Package") == "one-deck"
    assert field(deb, "Version").startswith("0.1.0")
    depends = field(deb, "Depends")
    assert "libwebkit2gtk-4.1-0" in depends, depends


def test_binary_is_an_executable_elf(unpacked):
    binary = unpacked / "usr" / "bin" / "onedeck"
    assert binary.is_file()
    assert os.access(binary, os.X_OK)
    assert binary.read_bytes()[:4] == b"\x7fELF"


def test_desktop_entry(unpacked):
    entries = list((unpacked / "usr" / "share" / "applications").glob("*.desktop"))
    assert len(entries) == 1, entries
    text = entries[0].read_text()
    assert "Name=OneDeck" in text
    assert "Exec=onedeck" in text
    assert "Type=Application" in text
    icon = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("Icon="))
    assert list((unpacked / "usr" / "share" / "icons" / "hicolor").glob(f"*/apps/{icon}.png")), icon


def test_icons_in_hicolor_sizes(unpacked):
    sizes = {p.parts[-3] for p in (unpacked / "usr" / "share" / "icons" / "hicolor").glob("*/apps/*.png")}
    assert {"32x32", "128x128"} <= sizes, sizes
    for png in (unpacked / "usr" / "share" / "icons" / "hicolor").glob("*/apps/*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
