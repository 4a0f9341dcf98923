"""Workspaces held in memory are bounded (issue 12, item 7): least recently used evicted,
by count and by approximate size; an evicted workspace is really freed and re-read on demand."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from validators import session as live_mod
from validators.reading import ingest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "support_desk.csv"


def _workspaces(n: int) -> list[str]:
    data = SAMPLE.read_bytes()
    ds = ingest.load_bytes(data, SAMPLE.name)
    return [live_mod.create_workspace(f"w{i}.csv", data, ds, {}) for i in range(n)]


def test_evicted_workspaces_are_freed(ftprep_db: Path) -> None:
    cache = live_mod.SessionCache(max_count=2, max_mb=1000)
    refs = []
    for wid in _workspaces(5):
        live = live_mod.open_workspace(wid)
        assert live is not None
        refs.append(weakref.ref(live))
        cache.put(("db", wid), live)
        del live
    gc.collect()
    assert len(cache) == 2
    assert [r() is not None for r in refs] == [False, False, False, True, True]  # only the two most recent live on


def test_recently_used_survives_and_size_bound(ftprep_db: Path) -> None:
    ids = _workspaces(3)
    cache = live_mod.SessionCache(max_count=2, max_mb=1000)
    for wid in ids[:2]:
        cache.put(("db", wid), live_mod.open_workspace(wid))
    assert cache.get(("db", ids[0])) is not None  # used again: now the most recent
    cache.put(("db", ids[2]), live_mod.open_workspace(ids[2]))
    assert cache.ids() == {ids[0], ids[2]}
    one = live_mod.open_workspace(ids[1])
    assert one is not None and one.approx_bytes > 0
    small = live_mod.SessionCache(max_count=10, max_mb=1)
    small.max_bytes = int(one.approx_bytes * 1.5)  # room for one workspace, not two
    for wid in ids:
        small.put(("db", wid), live_mod.open_workspace(wid))
    assert small.ids() == {ids[2]}  # the one just used is always kept


def test_cache_bounds_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTPREP_CACHE_WORKSPACES", "3")
    monkeypatch.setenv("FTPREP_CACHE_MB", "64")
    cache = live_mod.SessionCache()
    assert cache.max_count == 3 and cache.max_bytes == 64_000_000
    monkeypatch.setenv("FTPREP_CACHE_WORKSPACES", "-1")
    assert live_mod.SessionCache().max_count == 8


def test_app_holds_at_most_the_configured_workspaces(ftprep_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import state

    monkeypatch.setenv("FTPREP_CACHE_WORKSPACES", "2")
    st.cache_resource.clear()
    try:
        opened = []
        for _ in range(4):  # four sessions, each with its own upload
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
            at.button(key="sample_go").click().run()
            assert not at.exception
            opened.append(at.session_state["ws"])
        held = state._registry()
        assert len(held) == 2 and held.ids() == set(opened[-2:])
        # An evicted workspace opens again from the store, with its examples.
        again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        again.query_params["ws"] = opened[0]
        again.run()
        assert not again.exception and {m.label: m.value for m in again.sidebar.metric}["Examples"] == "61"
        assert opened[0] in held.ids() and len(held) == 2
    finally:
        st.cache_resource.clear()


def test_sidebar_says_how_long_work_is_kept(ftprep_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTPREP_RETENTION_DAYS", "14")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert any("kept on this server for 14 days after its last change" in c.value for c in at.sidebar.caption)


def test_app_applies_retention_at_upload(ftprep_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from validators.storing import workspace as store

    monkeypatch.setenv("FTPREP_RETENTION_DAYS", "1")
    old, recent = _workspaces(2)
    conn = store.connect()
    conn.execute("UPDATE workspace SET updated = updated - 2 * 86400 WHERE id = ?", (old,))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.button(key="sample_go").click().run()
    assert not at.exception
    assert store.load(conn, old) is None and store.load(conn, recent) is not None
    assert store.load(conn, at.session_state["ws"]) is not None
