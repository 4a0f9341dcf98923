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
