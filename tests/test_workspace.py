"""The SQLite workspace store, against a real database file."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from validators import ingest
from validators import workspace as store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "support_desk.csv"


def _create(conn: sqlite3.Connection) -> tuple[str, list]:
    data = SAMPLE.read_bytes()
    ds = ingest.load_bytes(data, SAMPLE.name)
    ws_id = store.create(conn, SAMPLE.name, data, ds.examples, {"model": "gpt-4o-mini", "api_key": "sk-nope"}, {"columns": ds.columns})
    return ws_id, ds.examples


def test_db_path_from_env_creates_folder(ftprep_db: Path) -> None:
    assert store.db_path() == ftprep_db
    assert ftprep_db.parent.is_dir()


def test_wal_mode_and_sync(ftprep_db: Path) -> None:
    conn = store.connect()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] in (1, 2)  # NORMAL or FULL


def test_create_load_roundtrip(ftprep_db: Path) -> None:
    conn = store.connect()
    ws_id, examples = _create(conn)
    assert len(ws_id) >= 22 and ws_id.replace("-", "").replace("_", "").isalnum()
    ws = store.load(conn, ws_id)
    assert ws is not None and ws.name == "support_desk.csv" and ws.data == SAMPLE.read_bytes()
    assert ws.examples == examples  # rows, record, kind, dropped, origin, problem, raw all survive
    assert ws.options == {"model": "gpt-4o-mini"}  # unknown keys (an API key) are never stored
    assert store.load(conn, "not-a-real-id") is None


def test_ids_are_unguessable_and_distinct(ftprep_db: Path) -> None:
    conn = store.connect()
    ids = {store.create(conn, "x.csv", b"", []) for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 22 for i in ids)  # 16 random bytes


def test_edit_undo_and_history(ftprep_db: Path) -> None:
    conn = store.connect()
    ws_id, examples = _create(conn)
    before = examples[3]  # row 5, empty answer
    fixed = replace(before, record={"messages": [{"role": "user", "content": "Do you ship to Norway?"}, {"role": "assistant", "content": "Yes."}]})
    v1 = store.update_examples(conn, ws_id, [fixed], [before], "Edited example 4")
    assert v1 == 1
    assert store.load(conn, ws_id).examples[3] == fixed
    assert [h["label"] for h in store.history(conn, ws_id)] == ["Edited example 4"]
    label, restored = store.undo(conn, ws_id)
    assert label == "Edited example 4" and restored == [before]
    assert store.load(conn, ws_id).examples[3] == before
    assert store.undo(conn, ws_id) is None
    assert store.version(conn, ws_id) == 2


def test_edit_survives_reopening(ftprep_db: Path) -> None:
    conn = store.connect()
    ws_id, examples = _create(conn)
    dropped = replace(examples[30], dropped="left out by the user")
    store.update_examples(conn, ws_id, [dropped], [examples[30]], "Leave out")
    conn.close()
    again = store.connect()
    ws = store.load(again, ws_id)
    assert ws.examples[30].dropped == "left out by the user"
    assert again.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_list_only_given_ids_and_delete(ftprep_db: Path) -> None:
    conn = store.connect()
    mine, _ = _create(conn)
    other, _ = _create(conn)
    listed = store.list_workspaces(conn, [mine])
    assert [w["id"] for w in listed] == [mine] and listed[0]["examples"] == 61
    assert store.delete(conn, mine)
    assert store.load(conn, mine) is None and store.history(conn, mine) == []
    assert conn.execute("SELECT COUNT(*) FROM example WHERE ws = ?", (mine,)).fetchone()[0] == 0
    assert store.load(conn, other) is not None
    assert not store.delete(conn, mine)


def test_options_and_replace(ftprep_db: Path) -> None:
    conn = store.connect()
    ws_id, examples = _create(conn)
    opts = store.set_options(conn, ws_id, epochs=4, threshold=0.9, secret="x")
    assert opts == {"model": "gpt-4o-mini", "epochs": 4, "threshold": 0.9}
    store.update_examples(conn, ws_id, [replace(examples[0], dropped="x")], [examples[0]], "drop")
    store.replace_examples(conn, ws_id, examples[:5])
    ws = store.load(conn, ws_id)
    assert len(ws.examples) == 5 and store.history(conn, ws_id) == []
