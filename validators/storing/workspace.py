"""Workspaces: the upload, its options, the current examples and the undo history, on disk.

One SQLite file (``FTPREP_DB``, default ``./data/workspaces.sqlite3``) in WAL mode holds
every workspace, keyed by an unguessable id (``secrets.token_urlsafe(16)``) that the app
carries in the URL.  Every edit is committed in its own transaction before the caller
returns, so a page that confirms an edit has it on disk: a reload, a new tab or a server
restart brings it back.  No API key is ever passed to, or stored by, this module.

Plain Python (no Streamlit), so the tests and the CLI can use it directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Example, compact

try:
    import orjson as _orjson
except ImportError:  # optional: the standard json module writes the same chunks, slower
    _orjson = None  # type: ignore[assignment]

DEFAULT_DB = "./data/workspaces.sqlite3"
ID_BYTES = 16
CHUNK = 256  # examples per stored chunk: compresses well, and an edit rewrites ~256 examples, not all
LEVEL = 6  # zlib level for example chunks rewritten by an edit (a few at a time)
# Every chunk of a new or re-read workspace, and the upload itself (up to 512 MB, written
# once), are compressed with Zstandard at level 1 (through pyarrow, already a dependency):
# for the 134 MB bench upload 0.46 CPU seconds and 32 MB, against zlib level 1's 1.2 s and
# 36 MB, and it decompresses 3× faster.  Edits rewrite a few chunks with zlib (LEVEL); a
# blob says which by its first bytes (Zstandard's magic number), so old stores read as before.
ZSTD_LEVEL = 1
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WAL_KEEP_BYTES = 16 * 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspace (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    options TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    examples INTEGER NOT NULL DEFAULT 0
);
-- The upload and how it was read live apart from the small, often-updated workspace row:
-- SQLite rewrites a whole row on UPDATE, and bumping the version must not copy 100 MB.
-- codec: '' (stored as uploaded), 'zlib' or 'zstd'.
CREATE TABLE IF NOT EXISTS upload (
    ws TEXT PRIMARY KEY REFERENCES workspace(id) ON DELETE CASCADE,
    data BLOB NOT NULL,
    meta TEXT NOT NULL,
    codec TEXT NOT NULL DEFAULT ''
);
-- Examples, CHUNK at a time: JSON lists of compact example objects, compressed (zstd or zlib).
CREATE TABLE IF NOT EXISTS chunk (
    ws TEXT NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,
    no INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (ws, no)
);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ws TEXT NOT NULL REFERENCES workspace(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    summary TEXT NOT NULL,
    changed INTEGER NOT NULL,
    before BLOB NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS history_ws ON history(ws, seq);
"""

# Options a workspace keeps; anything else passed in is ignored (so a key can never slip in).
OPTION_KEYS = ("sheet", "mapping", "default_system", "model", "epochs", "price", "threshold", "encoding", "max_seq_length", "reading")


class StaleEdit(Exception):
    """An edit made on an older version of an example (another tab or window changed it
    since): refused, never applied by position.  ``fresh`` holds those examples as they are now."""

    def __init__(self, fresh: list[Example]) -> None:
        self.fresh = fresh
        numbers = ", ".join(str(e.index) for e in fresh) or "?"
        super().__init__(f"example {numbers} changed since this edit was started")


@dataclass
class Workspace:
    """A loaded workspace: what was uploaded, how it is read, and its examples now."""

    id: str
    name: str
    data: bytes
    options: dict[str, Any]
    meta: dict[str, Any]
    version: int
    examples: list[Example] = field(default_factory=list)
    stored_chars: int = 0  # length of the examples' JSON text: a cheap guide to their size in memory


def db_path() -> Path:
    """The database file, from ``FTPREP_DB``; its folder is created on first use."""
    path = Path(os.environ.get("FTPREP_DB") or DEFAULT_DB)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def connect(path: str | Path | None = None) -> sqlite3.Connection:
    """Open the store in WAL mode with synchronous=FULL: a confirmed edit survives a crash.
    A new file gets incremental auto-vacuum, so deleted workspaces give their space back."""
    conn = sqlite3.connect(str(path or db_path()), timeout=30, isolation_level=None, check_same_thread=False)
    if conn.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new file (setting it on an old one writes)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    # After a checkpoint the WAL file is cut back to this size: it otherwise keeps the size of
    # the largest transaction, i.e. a second copy of the largest upload, for good.
    conn.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    _migrate_columns(conn)
    conn.executescript(SCHEMA)
    _migrate_rows(conn)
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _migrate_columns(conn: sqlite3.Connection) -> None:
    """Stores written before examples were compressed lack two columns: add them."""
    if "id" in _columns(conn, "workspace") and "examples" not in _columns(conn, "workspace"):
        conn.execute("ALTER TABLE workspace ADD COLUMN examples INTEGER NOT NULL DEFAULT 0")
    if "ws" in _columns(conn, "upload") and "codec" not in _columns(conn, "upload"):
        conn.execute("ALTER TABLE upload ADD COLUMN codec TEXT NOT NULL DEFAULT ''")


def _migrate_rows(conn: sqlite3.Connection) -> None:
    """Move examples from the old one-JSON-row-per-example table into compressed chunks,
    one workspace per transaction (a crash midway leaves each workspace in one format)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'example'").fetchone():
        return
    for (ws_id,) in conn.execute("SELECT DISTINCT ws FROM example").fetchall():
        with transaction(conn):
            rows = conn.execute("SELECT body FROM example WHERE ws = ? ORDER BY idx", (ws_id,)).fetchall()
            examples = [example_from_dict(json.loads(b)) for (b,) in rows]
            _write_chunks(conn, ws_id, examples)
            conn.execute("UPDATE workspace SET examples = ? WHERE id = ?", (len(examples), ws_id))
            conn.execute("DELETE FROM example WHERE ws = ?", (ws_id,))
    conn.execute("DROP TABLE IF EXISTS example")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT: the change is on disk when the ``with`` block ends."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def new_id() -> str:
    """22 URL-safe characters from 16 random bytes: not guessable, not enumerable."""
    return secrets.token_urlsafe(ID_BYTES)


def example_to_dict(ex: Example) -> dict[str, Any]:
    """Compact form: short keys, and fields at their defaults left out."""
    d: dict[str, Any] = {"i": ex.index, "s": list(ex.rows), "r": ex.record}
    for key, value, default in (("k", ex.kind, "sft"), ("w", ex.raw, None), ("p", ex.problem, None),
                                ("x", ex.dropped, None), ("o", ex.origin, "row"), ("c", ex.dropped_code, None)):
        if value != default:
            d[key] = value
    return d


def example_from_dict(d: dict[str, Any]) -> Example:
    """Reads the compact form and the long one that stores before version 2 wrote."""
    if "i" in d:
        return Example(d["i"], tuple(d["s"]), compact(d["r"]), d.get("k", "sft"), d.get("w"), d.get("p"), d.get("x"),
                       dropped_code=d.get("c"), origin=d.get("o", "row"))
    return Example(
        index=d["index"], rows=tuple(d["rows"]), record=d["record"], kind=d.get("kind", "sft"), raw=d.get("raw"),
        problem=d.get("problem"), dropped=d.get("dropped"), origin=d.get("origin", "row"),
        dropped_code=d.get("dropped_code"),
    )


def _json(value: Any) -> str:
    # allow_nan: a number too large for a float (1e400 reads as infinity) is kept as the
    # user wrote it in effect, so the check can report its row; strict JSON would refuse
    # the whole upload.  Only this store reads the text back (Python reads Infinity).
    return json.dumps(value, ensure_ascii=False, allow_nan=True, separators=(",", ":"))


def etag(ex: Example) -> str:
    """The example's version: a digest of its content.  An edit carries the etag of the
    example it was made on; the store refuses it when the example has changed since."""
    return hashlib.blake2b(_json(example_to_dict(ex)).encode(), digest_size=12).hexdigest()


def _pack(value: Any, level: int = LEVEL) -> bytes:
    return zlib.compress(_json(value).encode(), level)


def _unpack(blob: bytes | str) -> Any:
    """Compressed JSON, or the plain JSON text older stores wrote."""
    return json.loads(blob if isinstance(blob, str) else _inflate(blob))


def _zstd() -> Any:
    import pyarrow as pa

    return pa.Codec("zstd", compression_level=ZSTD_LEVEL)


def _deflate_bulk(raw: bytes) -> bytes:
    """Zstandard at level 1: what a whole new workspace is written with."""
    return _zstd().compress(raw, asbytes=True)


def _inflate(blob: bytes) -> bytes:
    """A chunk or upload blob, whichever codec wrote it (Zstandard's frames say so)."""
    if bytes(blob[:4]) == ZSTD_MAGIC:
        import pyarrow as pa

        return pa.CompressedInputStream(pa.BufferReader(blob), "zstd").read()
    return zlib.decompress(blob)


def _chunk_json(ds: list[dict[str, Any]]) -> bytes:
    """The JSON of one chunk: ``orjson`` (5× faster) where it writes exactly what the store
    reads back, else :func:`_json`.  orjson writes null for a float that JSON cannot hold
    (1e400 reads as infinity), so any chunk with a null in it takes the standard path."""
    if _orjson is not None:
        try:
            out = _orjson.dumps(ds)
        except (TypeError, _orjson.JSONEncodeError):  # keys that are not text, integers past 64 bits, lone surrogates
            out = None
        if out is not None and b"null" not in out:
            return out
    return _json(ds).encode()


def _chunk_of(index: int) -> int:
    return index // CHUNK


def _write_chunks(conn: sqlite3.Connection, ws_id: str, examples: list[Example]) -> None:
    conn.executemany("INSERT OR REPLACE INTO chunk (ws, no, body) VALUES (?, ?, ?)", _bulk_chunks(ws_id, examples))


def _bulk_chunks(ws_id: str, examples: list[Example]) -> Iterator[tuple[str, int, bytes]]:
    """(ws, chunk number, compressed body) for every chunk, built one chunk at a time (the
    JSON text of a 500 MB upload's examples is never all in memory at once)."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for e in examples:
        groups.setdefault(_chunk_of(e.index), []).append(example_to_dict(e))
    codec = _zstd()
    for no, ds in groups.items():
        yield ws_id, no, codec.compress(_chunk_json(ds), asbytes=True)


def _read_chunk(conn: sqlite3.Connection, ws_id: str, no: int) -> list[dict[str, Any]]:
    row = conn.execute("SELECT body FROM chunk WHERE ws = ? AND no = ?", (ws_id, no)).fetchone()
    return _unpack(row[0]) if row else []


def _rewrite(conn: sqlite3.Connection, ws_id: str, changed: list[Example]) -> None:
    """Replace these examples (by index) in their chunks: read, patch, compress, write."""
    by_chunk: dict[int, dict[int, Example]] = {}
    for e in changed:
        by_chunk.setdefault(_chunk_of(e.index), {})[e.index] = e
    for no, new in by_chunk.items():
        ds = _read_chunk(conn, ws_id, no)
        ds = [example_to_dict(new.pop(d["i"])) if d["i"] in new else d for d in ds]
        ds += [example_to_dict(e) for e in new.values()]  # not there before (should not happen): keep, never drop
        ds.sort(key=lambda d: d["i"])
        conn.execute("INSERT OR REPLACE INTO chunk (ws, no, body) VALUES (?, ?, ?)", (ws_id, no, _pack(ds)))


def _current(conn: sqlite3.Connection, ws_id: str, indexes: Iterable[int]) -> dict[int, Example]:
    wanted = set(indexes)
    out: dict[int, Example] = {}
    for no in {_chunk_of(i) for i in wanted}:
        out.update({d["i"]: example_from_dict(d) for d in _read_chunk(conn, ws_id, no) if d["i"] in wanted})
    return out


def _pack_upload(data: bytes) -> tuple[bytes, str]:
    """The upload, compressed when that saves at least a tenth (an .xlsx is already zipped)."""
    packed = _deflate_bulk(data)
    return (packed, "zstd") if len(packed) < 0.9 * len(data) else (data, "")


def _unpack_upload(data: bytes, codec: str) -> bytes:
    return _inflate(data) if codec in ("zlib", "zstd") and data else data


def clean_options(options: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (options or {}).items() if k in OPTION_KEYS}


def create(
    conn: sqlite3.Connection, name: str, data: bytes, examples: list[Example],
    options: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
) -> str:
    """Store a new workspace (upload bytes, options, examples) and return its id."""
    ws_id = new_id()
    now = time.time()
    # The upload is compressed in a helper thread (Zstandard lets go of the GIL) while this
    # one turns the examples into chunks: the two largest parts of saving, side by side.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftprep-pack") as pool:
        packing = pool.submit(_pack_upload, data)
        chunks = list(_bulk_chunks(ws_id, examples))
        packed, codec = packing.result()
    with transaction(conn):
        conn.execute(
            "INSERT INTO workspace (id, name, options, version, created, updated, examples) VALUES (?, ?, ?, 0, ?, ?, ?)",
            (ws_id, name, json.dumps(clean_options(options)), now, now, len(examples)),
        )
        conn.execute("INSERT INTO upload (ws, data, meta, codec) VALUES (?, ?, ?, ?)", (ws_id, packed, _json(meta or {}), codec))
        conn.executemany("INSERT INTO chunk (ws, no, body) VALUES (?, ?, ?)", chunks)
    _shrink_wal(conn)
    return ws_id


def _shrink_wal(conn: sqlite3.Connection) -> None:
    """After a large write: copy the WAL into the database and cut it back, so the disk
    holds the upload once, not a second time in the WAL until the next write.  Skipped
    (nothing lost, the WAL is cut at a later write) while another process is reading."""
    with suppress(sqlite3.OperationalError):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def load(conn: sqlite3.Connection, ws_id: str, with_examples: bool = True, with_data: bool = True) -> Workspace | None:
    """The workspace with this id, or ``None`` when there is none (deleted, mistyped)."""
    row = conn.execute(
        f"SELECT w.id, w.name, {'u.data' if with_data else 'NULL'}, w.options, u.meta, w.version, u.codec "
        "FROM workspace w JOIN upload u ON u.ws = w.id WHERE w.id = ?", (ws_id,)
    ).fetchone()
    if row is None:
        return None
    data = bytes(row[2] or b"")
    ws = Workspace(row[0], row[1], _unpack_upload(data, row[6]), json.loads(row[3]), json.loads(row[4]), row[5])
    if with_examples:
        for (body,) in conn.execute("SELECT body FROM chunk WHERE ws = ? ORDER BY no", (ws_id,)):
            text = _inflate(body)
            ws.stored_chars += len(text)
            ws.examples += [example_from_dict(d) for d in json.loads(text)]
    return ws


def upload_head(conn: sqlite3.Connection, ws_id: str, size: int) -> bytes:
    """The first ``size`` bytes of the upload (fewer when it is shorter), read and
    decompressed only that far: a preview of a 500 MB upload must not read all of it."""
    row = conn.execute("SELECT rowid, codec FROM upload WHERE ws = ?", (ws_id,)).fetchone()
    if row is None:
        return b""
    if row[1] == "zstd":
        return _zstd_head(conn, row[0], size)
    out = bytearray()
    unzip = zlib.decompressobj() if row[1] == "zlib" else None
    with conn.blobopen("upload", "data", row[0], readonly=True) as blob:
        while len(out) < size:
            piece = blob.read(1 << 20)
            if not piece:
                break
            out += unzip.decompress(piece, size - len(out)) if unzip else piece
            if unzip is not None and unzip.unconsumed_tail:
                break  # enough: the rest would only be thrown away
    return bytes(out[:size])


def _zstd_head(conn: sqlite3.Connection, rowid: int, size: int) -> bytes:
    """The first ``size`` bytes of a Zstandard upload: its compressed start is read a
    growing piece at a time until it holds that many bytes (or is the whole blob)."""
    import pyarrow as pa

    with conn.blobopen("upload", "data", rowid, readonly=True) as blob:
        whole = len(blob)
        take = min(whole, max(size // 2, 1 << 16))
        while True:
            blob.seek(0)
            stream = pa.CompressedInputStream(pa.BufferReader(blob.read(take)), "zstd")
            with suppress(OSError):  # the piece ends inside a frame: more of it is needed
                out = stream.read(size)
                if len(out) >= size or take >= whole:
                    return bytes(out[:size])
            if take >= whole:
                return b""
            take = min(whole, take * 2)


def version(conn: sqlite3.Connection, ws_id: str) -> int | None:
    row = conn.execute("SELECT version FROM workspace WHERE id = ?", (ws_id,)).fetchone()
    return None if row is None else row[0]


def list_workspaces(conn: sqlite3.Connection, ids: Iterable[str]) -> list[dict[str, Any]]:
    """Name, size and age of the given ids only: the caller passes the ids its own browser
    session created, so nobody can enumerate other people's workspaces."""
    out = []
    for ws_id in ids:
        row = conn.execute("SELECT id, name, updated, examples FROM workspace WHERE id = ?", (ws_id,)).fetchone()
        if row:
            out.append({"id": row[0], "name": row[1], "updated": row[2], "examples": row[3]})
    return out


def delete(conn: sqlite3.Connection, ws_id: str) -> bool:
    """Remove the workspace, its examples and its history; True when something was deleted."""
    with transaction(conn):
        conn.execute("DELETE FROM history WHERE ws = ?", (ws_id,))
        conn.execute("DELETE FROM chunk WHERE ws = ?", (ws_id,))
        conn.execute("DELETE FROM upload WHERE ws = ?", (ws_id,))
        cur = conn.execute("DELETE FROM workspace WHERE id = ?", (ws_id,))
    return cur.rowcount > 0


def _bump(conn: sqlite3.Connection, ws_id: str) -> int:
    conn.execute("UPDATE workspace SET version = version + 1, updated = ? WHERE id = ?", (time.time(), ws_id))
    return conn.execute("SELECT version FROM workspace WHERE id = ?", (ws_id,)).fetchone()[0]


def _check_fresh(conn: sqlite3.Connection, ws_id: str, expect: Mapping[int, str] | None, expect_version: int | None) -> None:
    """Optimistic concurrency, inside the write transaction: refuse the edit when the
    workspace or any example it was made on has changed since."""
    if expect_version is not None:
        now = version(conn, ws_id)
        if now != expect_version:
            raise StaleEdit(list(_current(conn, ws_id, expect or {}).values()))
    if expect:
        current = _current(conn, ws_id, expect)
        stale = [current[i] for i, tag in expect.items() if i in current and etag(current[i]) != tag]
        if stale or len(current) < len(expect):
            raise StaleEdit(stale)


def update_examples(
    conn: sqlite3.Connection, ws_id: str, changed: list[Example], before: list[Example], label: str, summary: str = "",
    expect: Mapping[int, str] | None = None, expect_version: int | None = None,
) -> int:
    """Write the changed examples and push their previous versions on the undo stack, in one
    transaction.  ``expect`` maps example index → the :func:`etag` the edit was made on;
    ``expect_version`` is the workspace version the caller's copy reflects.  When either no
    longer holds, :class:`StaleEdit` is raised and nothing is written.  Returns the new version."""
    with transaction(conn):
        _check_fresh(conn, ws_id, expect, expect_version)
        _rewrite(conn, ws_id, changed)
        _push(conn, ws_id, label, summary or label, before)
        return _bump(conn, ws_id)


def _push(conn: sqlite3.Connection, ws_id: str, label: str, summary: str, before: list[Example]) -> None:
    conn.execute(
        "INSERT INTO history (ws, label, summary, changed, before, at) VALUES (?, ?, ?, ?, ?, ?)",
        (ws_id, label, summary, len(before), _pack([example_to_dict(e) for e in before]), time.time()),
    )


def undo(conn: sqlite3.Connection, ws_id: str, expect_version: int | None = None) -> tuple[str, list[Example]] | None:
    """Put back the examples the last change replaced; returns (label, restored examples),
    or ``None`` when there is nothing to undo."""
    with transaction(conn):
        _check_fresh(conn, ws_id, None, expect_version)
        row = conn.execute("SELECT seq, label, before FROM history WHERE ws = ? ORDER BY seq DESC LIMIT 1", (ws_id,)).fetchone()
        if row is None:
            return None
        restored = [example_from_dict(d) for d in _unpack(row[2])]
        _rewrite(conn, ws_id, restored)
        conn.execute("DELETE FROM history WHERE seq = ?", (row[0],))
        _bump(conn, ws_id)
    return row[1], restored


def history(conn: sqlite3.Connection, ws_id: str) -> list[dict[str, Any]]:
    """Every change still applied, oldest first (for the validation report)."""
    rows = conn.execute("SELECT seq, label, summary, changed, at FROM history WHERE ws = ? ORDER BY seq", (ws_id,))
    return [{"step": s, "label": la, "summary": su, "examples_changed": c, "at": at} for s, la, su, c, at in rows]


def set_options(conn: sqlite3.Connection, ws_id: str, **options: Any) -> dict[str, Any]:
    """Merge options (model, epochs, price, threshold, …) into the workspace and bump its version."""
    with transaction(conn):
        row = conn.execute("SELECT options FROM workspace WHERE id = ?", (ws_id,)).fetchone()
        if row is None:
            raise KeyError(ws_id)
        merged = {**json.loads(row[0]), **clean_options(options)}
        conn.execute("UPDATE workspace SET options = ? WHERE id = ?", (json.dumps(merged), ws_id))
        _bump(conn, ws_id)
    return merged


def replace_examples(
    conn: sqlite3.Connection, ws_id: str, examples: list[Example], options: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> int:
    """Re-read with a new mapping: all examples replaced, history cleared (it described the old ones)."""
    with transaction(conn):
        conn.execute("DELETE FROM chunk WHERE ws = ?", (ws_id,))
        conn.execute("DELETE FROM history WHERE ws = ?", (ws_id,))
        _write_chunks(conn, ws_id, examples)
        conn.execute("UPDATE workspace SET examples = ? WHERE id = ?", (len(examples), ws_id))
        if options is not None:
            conn.execute("UPDATE workspace SET options = ? WHERE id = ?", (json.dumps(clean_options(options)), ws_id))
        if meta is not None:
            conn.execute("UPDATE upload SET meta = ? WHERE ws = ?", (_json(meta), ws_id))
        version = _bump(conn, ws_id)
    _shrink_wal(conn)
    return version


# ---------------------------------------------------------------- retention


@dataclass(frozen=True)
class Retention:
    """How long, and how much, the server keeps: set by the operator with
    ``FTPREP_RETENTION_DAYS`` (0: no age limit) and ``FTPREP_MAX_STORE_MB`` (0: no size limit)."""

    days: float = 30.0
    max_mb: float = 2048.0

    @classmethod
    def from_env(cls) -> Retention:
        return cls(_env_number("FTPREP_RETENTION_DAYS", cls.days), _env_number("FTPREP_MAX_STORE_MB", cls.max_mb))

    def describe(self) -> str:
        """One sentence for the page: how long work is kept."""
        age = f"for {self.days:g} days after its last change" if self.days > 0 else "until you delete it"
        sooner = " (sooner if the server runs short of room)" if self.max_mb > 0 else ""
        return f"Your work is kept on this server {age}{sooner}. Download your export to keep it for good."


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value >= 0 and value == value and value != float("inf") else default


def sizes(conn: sqlite3.Connection) -> list[tuple[str, float, int]]:
    """(id, last change, bytes stored) for every workspace, least recently changed first."""
    return conn.execute(
        "SELECT w.id, w.updated, COALESCE(length(u.data), 0)"
        " + COALESCE((SELECT SUM(length(body)) FROM chunk c WHERE c.ws = w.id), 0)"
        " + COALESCE((SELECT SUM(length(before)) FROM history h WHERE h.ws = w.id), 0)"
        " FROM workspace w LEFT JOIN upload u ON u.ws = w.id ORDER BY w.updated, w.id"
    ).fetchall()


def enforce_retention(
    conn: sqlite3.Connection, policy: Retention | None = None, keep: Iterable[str] = (), now: float | None = None,
) -> list[str]:
    """Delete workspaces unchanged for longer than the policy's days, then the least recently
    changed ones until the store fits its size limit; ``keep`` (workspaces open right now)
    are never deleted.  Frees the space on disk.  Returns the ids deleted, oldest first."""
    policy = policy or Retention.from_env()
    now = time.time() if now is None else now
    keep = set(keep)
    rows = sizes(conn)
    total = sum(r[2] for r in rows)
    gone: list[str] = []
    for ws_id, updated, size in rows:
        too_old = policy.days > 0 and now - updated > policy.days * 86400
        too_big = policy.max_mb > 0 and total > policy.max_mb * 1e6
        if (too_old or too_big) and ws_id not in keep and delete(conn, ws_id):
            gone.append(ws_id)
            total -= size
    if gone:
        conn.execute("PRAGMA incremental_vacuum")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return gone


def all_text(conn: sqlite3.Connection) -> Iterator[str]:
    """Everything the store holds, decompressed, as text: for audits such as "no API key was
    ever written" (a scan of the file's raw bytes cannot see inside compressed chunks)."""
    for row in conn.execute("SELECT id, name, options FROM workspace"):
        yield "\n".join(map(str, row))
    for data, meta, codec in conn.execute("SELECT data, meta, codec FROM upload"):
        yield meta
        yield _unpack_upload(bytes(data), codec).decode("utf-8", "replace")
    for (body,) in conn.execute("SELECT body FROM chunk"):
        yield _inflate(body).decode()
    for label, summary, before in conn.execute("SELECT label, summary, before FROM history"):
        yield f"{label}\n{summary}\n" + (before if isinstance(before, str) else zlib.decompress(before).decode())
