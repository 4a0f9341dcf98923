"""Shared fixtures (keep small; others may append theirs below)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ftprep_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace database file in tmp_path, used by the store and the app."""
    path = tmp_path / "ws" / "workspaces.sqlite3"
    monkeypatch.setenv("FTPREP_DB", str(path))
    return path


@pytest.fixture(autouse=True, scope="session")
def _scan_streamlit_components_once():
    """Every ``AppTest.run`` makes Streamlit scan the metadata of every installed package for
    v2 components (0.2 s each with the training stack installed, hundreds of runs).  The
    installed packages cannot change during a test session, so the scan runs once; the app
    under test gets the very same answer."""
    from streamlit.components.v2 import manifest_scanner

    original = manifest_scanner.scan_component_manifests
    found = original()
    manifest_scanner.scan_component_manifests = lambda max_workers=None: list(found)
    yield
    manifest_scanner.scan_component_manifests = original
