"""The SQLite workspace store, against a real database file."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from validators.reading import ingest
from validators.storing import workspace as store

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
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental: deleted workspaces give space back


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
    assert conn.execute("SELECT COUNT(*) FROM chunk WHERE ws = ?", (mine,)).fetchone()[0] == 0
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


# ---------------------------------------------------------------- optimistic concurrency (issue 12, item 2)


def _merged(ex):
    """What "Merge consecutive turns" does to a conversation: fewer messages, new positions."""
    msgs = ex.record["messages"]
    return replace(ex, record={"messages": [msgs[0], {"role": "assistant", "content": "merged reply"}]})


def test_two_writers_stale_edit_is_refused(ftprep_db: Path) -> None:
    first = store.connect()
    ws_id, examples = _create(first)
    second = store.connect()  # another writer (another tab's server thread, another process)
    seen = store.load(second, ws_id).examples[4]
    tag = store.etag(seen)
    # Writer A changes example 5 first.
    store.update_examples(first, ws_id, [_merged(examples[4])], [examples[4]], "Merge", expect={5: store.etag(examples[4])})
    # Writer B still holds the old example 5 and its version: refused, nothing written.
    mine = replace(seen, record={"messages": [{"role": "user", "content": "stale"}, {"role": "assistant", "content": "stale"}]})
    with pytest.raises(store.StaleEdit) as err:
        store.update_examples(second, ws_id, [mine], [seen], "Edit", expect={5: tag})
    assert [e.index for e in err.value.fresh] == [5]
    assert err.value.fresh[0].record["messages"][-1]["content"] == "merged reply"  # the fresh example, for the page
    now = store.load(first, ws_id)
    assert now.examples[4].record["messages"][-1]["content"] == "merged reply" and now.version == 1
    assert [h["label"] for h in store.history(first, ws_id)] == ["Merge"]
    # B's edit made on the fresh version goes through; an edit of another example was never stale.
    store.update_examples(second, ws_id, [mine], [now.examples[4]], "Edit", expect={5: store.etag(now.examples[4])})
    other = store.load(second, ws_id).examples[6]
    store.update_examples(second, ws_id, [replace(other, dropped="x")], [other], "Drop", expect={7: tag_of(other)})
    with pytest.raises(store.StaleEdit):  # a copy of the whole workspace that is behind is refused too
        store.update_examples(first, ws_id, [examples[0]], [examples[0]], "Bulk", expect_version=1)


def tag_of(ex) -> str:
    return store.etag(ex)


def test_etag_is_stable_through_the_store(ftprep_db: Path) -> None:
    conn = store.connect()
    ws_id, examples = _create(conn)
    assert [store.etag(e) for e in store.load(conn, ws_id).examples] == [store.etag(e) for e in examples]
    assert store.etag(examples[0]) != store.etag(examples[1])


# ---------------------------------------------------------------- huge numbers (item 10)


def test_number_too_large_for_a_float_is_kept_and_reported(ftprep_db: Path) -> None:
    from validators.checking import checks

    lines = [
        '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello there","weight":1e400}]}',
        '{"messages":[{"role":"user","content":"hi 2"},{"role":"assistant","content":"hello again"}]}',
        '{"messages":[{"role":"user","content":"hi 3"},{"role":"assistant","content":"and again"}],"x":-1e999}',
    ]
    data = "\n".join(lines).encode()
    ds = ingest.load_bytes(data, "big.jsonl")
    conn = store.connect()
    ws_id = store.create(conn, "big.jsonl", data, ds.examples)  # raised ValueError (allow_nan=False) before
    ws = store.load(conn, ws_id)
    assert len(ws.examples) == 3 and ws.examples[0].record["messages"][1]["weight"] == float("inf")
    res = checks.run(ws.examples)
    assert {(f.example, f.code) for f in res.errors} >= {(1, "invalid_weight"), (3, "extra_key")}
    assert 2 not in res.error_examples()


# ---------------------------------------------------------------- compact store, migration, retention (item 7)


def _wordy_csv(rows: int, seed: int = 3) -> bytes:
    """A support-desk-like CSV: random sentences over a 3,000-word vocabulary (compresses
    like real prose, unlike a repeated row)."""
    import random

    rng = random.Random(seed)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(3000)]

    def sentence(n: int) -> str:
        return " ".join(rng.choice(vocab) for _ in range(n)).capitalize() + "."

    lines = ["question,answer"] + [f'"{sentence(rng.randint(6, 20))}?","{sentence(rng.randint(20, 80))}"' for _ in range(rows)]
    return "\n".join(lines).encode()


def test_store_is_compact(ftprep_db: Path) -> None:
    data = _wordy_csv(6000)
    ds = ingest.load_bytes(data, "wordy.csv")
    conn = store.connect()
    store.create(conn, "wordy.csv", data, ds.examples)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ratio = ftprep_db.stat().st_size / len(data)
    print(f"store/upload size ratio: {ratio:.2f} ({len(data) / 1e6:.1f} MB upload)")
    assert ratio < 1.3, ratio  # was ~4.5 with one JSON row per example and the raw upload


def test_zlib_blobs_of_older_stores_read_as_before(ftprep_db: Path) -> None:
    """New workspaces are written with Zstandard; an upload and chunks that an older version
    wrote with zlib (and the chunks an edit rewrites with zlib) read back the same."""
    import json
    import zlib

    conn = store.connect()
    data = _wordy_csv(600)
    ds = ingest.load_bytes(data, "wordy.csv")
    ws_id = store.create(conn, "wordy.csv", data, ds.examples)
    assert conn.execute("SELECT codec FROM upload WHERE ws = ?", (ws_id,)).fetchone()[0] == "zstd"
    for size in (0, 1, 4096, len(data) // 2, len(data), len(data) + 10):
        assert store.upload_head(conn, ws_id, size) == data[:size]
    new = store.load(conn, ws_id)
    assert new is not None and new.data == data and new.examples == ds.examples
    old_chunks = [(zlib.compress(json.dumps(json.loads(store._inflate(b))).encode(), 1), no)
                  for no, b in conn.execute("SELECT no, body FROM chunk WHERE ws = ?", (ws_id,)).fetchall()]
    conn.executemany("UPDATE chunk SET body = ? WHERE no = ? AND ws = '" + ws_id + "'", old_chunks)
    conn.execute("UPDATE upload SET data = ?, codec = 'zlib' WHERE ws = ?", (zlib.compress(data, 1), ws_id))
    old = store.load(conn, ws_id)
    assert old is not None and old.data == data and old.examples == ds.examples
    assert store.upload_head(conn, ws_id, 100) == data[:100]


def test_chunk_json_keeps_what_orjson_cannot_write() -> None:
    """A float past JSON's range (1e400 reads as infinity) and a null take the standard path."""
    import json

    for value in ([{"r": {"w": float("inf")}}], [{"r": None}], [{"r": {"content": "é ✓ 日本"}}], [{"r": 2**70}]):
        assert json.loads(store._chunk_json(value)) == value


def test_old_store_is_migrated(ftprep_db: Path) -> None:
    """A store written before compression (one JSON row per example) opens with its examples."""
    import json

    data = SAMPLE.read_bytes()
    ds = ingest.load_bytes(data, SAMPLE.name)
    ftprep_db.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(str(ftprep_db), isolation_level=None)
    old.executescript("""
        CREATE TABLE workspace (id TEXT PRIMARY KEY, name TEXT NOT NULL, options TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, updated REAL NOT NULL);
        CREATE TABLE upload (ws TEXT PRIMARY KEY, data BLOB NOT NULL, meta TEXT NOT NULL);
        CREATE TABLE example (ws TEXT NOT NULL, idx INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (ws, idx)) WITHOUT ROWID;
        CREATE TABLE history (seq INTEGER PRIMARY KEY AUTOINCREMENT, ws TEXT NOT NULL, label TEXT NOT NULL, summary TEXT NOT NULL, changed INTEGER NOT NULL, before TEXT NOT NULL, at REAL NOT NULL);
    """)
    old.execute("INSERT INTO workspace VALUES ('old', 'x.csv', '{}', 1, 0, 0)")
    old.execute("INSERT INTO upload VALUES ('old', ?, '{}')", (data,))
    long_form = [{"index": e.index, "rows": list(e.rows), "record": e.record, "kind": e.kind, "raw": e.raw,
                  "problem": e.problem, "dropped": e.dropped, "origin": e.origin} for e in ds.examples]
    old.executemany("INSERT INTO example VALUES ('old', ?, ?)", ((d["index"], json.dumps(d)) for d in long_form))
    old.execute("INSERT INTO history (ws, label, summary, changed, before, at) VALUES ('old', 'Edit', 'Edit', 1, ?, 0)", (json.dumps(long_form[:1]),))
    old.close()
    conn = store.connect()
    ws = store.load(conn, "old")
    assert ws is not None and ws.examples == ds.examples and ws.data == data
    assert store.list_workspaces(conn, ["old"])[0]["examples"] == 61
    assert store.undo(conn, "old")[1] == ds.examples[:1]  # the old history still undoes


def test_retention_deletes_the_right_workspaces(ftprep_db: Path) -> None:
    conn = store.connect()
    day = 86400.0
    ids = {}
    for name, age_days in (("ancient", 40), ("old", 20), ("recent", 2), ("open", 50), ("new", 0)):
        data = _wordy_csv(400, seed=len(name))
        ids[name] = store.create(conn, name, data, ingest.load_bytes(data, "w.csv").examples)
        conn.execute("UPDATE workspace SET updated = ? WHERE id = ?", (1_000_000 * day - age_days * day, ids[name]))
    now = 1_000_000 * day
    sizes = {ws: size for ws, _, size in store.sizes(conn)}
    # Age: only the one unchanged for more than 30 days and not open right now goes.
    gone = store.enforce_retention(conn, store.Retention(days=30, max_mb=0), keep={ids["open"]}, now=now)
    assert gone == [ids["ancient"]]
    # Size: the least recently changed idle ones go first, until the rest fits.
    cap = (sizes[ids["recent"]] + sizes[ids["new"]] + sizes[ids["open"]]) / 1e6
    gone = store.enforce_retention(conn, store.Retention(days=0, max_mb=cap), keep={ids["open"]}, now=now)
    assert gone == [ids["old"]]
    assert {w for w, _, _ in store.sizes(conn)} == {ids["open"], ids["recent"], ids["new"]}
    assert store.load(conn, ids["recent"]) is not None and store.load(conn, ids["old"]) is None


def test_retention_policy_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTPREP_RETENTION_DAYS", "7")
    monkeypatch.setenv("FTPREP_MAX_STORE_MB", "500")
    policy = store.Retention.from_env()
    assert policy == store.Retention(7, 500) and "for 7 days" in policy.describe()
    monkeypatch.setenv("FTPREP_RETENTION_DAYS", "nonsense")
    assert store.Retention.from_env().days == 30
    monkeypatch.setenv("FTPREP_RETENTION_DAYS", "0")
    assert "until you delete it" in store.Retention.from_env().describe()


# ---------------------------------------------------------------- round trip (property)


_scalar = hs.none() | hs.booleans() | hs.integers(-10**30, 10**30) | hs.floats(allow_nan=False) | hs.text(max_size=30)
_json = hs.recursive(_scalar, lambda inner: hs.lists(inner, max_size=4) | hs.dictionaries(hs.text(max_size=8), inner, max_size=4), max_leaves=12)
_message = hs.fixed_dictionaries({"role": hs.sampled_from(["user", "assistant", "system", "bot"]), "content": hs.text(max_size=40)},
                                 optional={"weight": hs.sampled_from([0, 1, float("inf")]), "extra": _json})
_record = hs.none() | hs.fixed_dictionaries({"messages": hs.lists(_message, max_size=5)}) | hs.dictionaries(hs.text(max_size=8), _json, max_size=3)


@hs.composite
def _examples(draw: hs.DrawFn) -> list:
    from validators.model import Example

    n = draw(hs.integers(0, 600))  # spans several chunks of 256
    records = draw(hs.lists(_record, min_size=min(n, 3), max_size=min(n, 3)))
    out = []
    for i in range(1, n + 1):
        rec = records[i % len(records)] if records else None
        out.append(Example(i, (i + 1,), rec, raw=None if rec is not None else draw(hs.text(max_size=10)),
                           problem=None if rec is not None else "bad", dropped=draw(hs.sampled_from([None, "left out"])),
                           origin=draw(hs.sampled_from(["row", "line", "item"]))))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(examples=_examples(), pick=hs.lists(hs.integers(0, 10**6), max_size=5))
def test_store_round_trip_property(ftprep_db: Path, examples: list, pick: list) -> None:
    """Whatever the examples hold (odd keys, huge numbers, infinity, any text), they come back
    equal; an edit of any of them and its undo land in the right chunk, and etags are stable."""
    conn = store.connect()
    ws_id = store.create(conn, "p.jsonl", b"data", examples)
    assert store.load(conn, ws_id).examples == examples
    if examples:
        chosen = sorted({examples[p % len(examples)].index for p in pick}) or [examples[-1].index]
        before = [examples[i - 1] for i in chosen]
        after = [replace(e, dropped="edited") for e in before]
        store.update_examples(conn, ws_id, after, before, "edit", expect={e.index: store.etag(e) for e in before})
        now = store.load(conn, ws_id).examples
        assert [e.index for e in now] == [e.index for e in examples]
        assert all(now[e.index - 1].dropped == "edited" for e in after)
        store.undo(conn, ws_id)
        assert store.load(conn, ws_id).examples == examples
    store.delete(conn, ws_id)
