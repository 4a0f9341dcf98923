"""On-disk indexes for a check that streams a file too large for memory.

One SQLite file in a temporary folder holds what the whole-file checks need to see at
once: content digests (exact duplicates), MinHash band keys (near-duplicate candidates),
normalised prompts and replies (conflicting answers), system prompts, the normalised texts
that near-duplicate candidates are confirmed on, and every finding with its sort key.
Memory stays bounded whatever the size of the file: SQLite sorts and groups on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Finding
from .stream_columns import Columns

SCHEMA = """
CREATE TABLE findings (sev INTEGER, ex INTEGER, mi INTEGER, stage INTEGER, seq INTEGER, data TEXT);
CREATE TABLE texts (digest BLOB, ex INTEGER);
CREATE TABLE fulltext (ex INTEGER PRIMARY KEY, text TEXT);
CREATE TABLE bands (band INTEGER, key INTEGER, ex INTEGER);
CREATE TABLE prompts (prompt BLOB, reply BLOB, ex INTEGER, row INTEGER);
CREATE TABLE systems (digest BLOB);
CREATE TABLE nosystem (ex INTEGER, row INTEGER);
CREATE TABLE flagged (ex INTEGER, row INTEGER, kind TEXT, record TEXT);
CREATE TABLE leftout (row INTEGER, reason TEXT);
"""
CACHE_MIB = 64


def cache_mib() -> int:
    """SQLite's memory budget for the index, in MiB: its page cache, and each sort (SQLite
    sorts in memory up to the cache size, then on disk).  Both fill as the file grows, up to
    this budget and no further; ``FTPREP_STREAM_CACHE_MIB`` sets it (a test sets it low so
    that two small files both fill it)."""
    return max(1, int(os.environ.get("FTPREP_STREAM_CACHE_MIB", CACHE_MIB)))


# Stages keep the in-memory order of findings that share (severity, example, message):
# read, format + semantics, file-level, personal data, token limit, duplicates.
READ, CONTENT, DATASET, PERSONAL, TOKENS, DUPLICATES = range(6)


class Index:
    """The temporary database and per-example columns of one streaming run, in one
    temporary folder that :meth:`close` removes (the callers close it on errors too)."""

    def __init__(self, folder: str | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ftprep-stream-", dir=folder))
        try:
            self.columns = Columns(self.dir)
            self.db = sqlite3.connect(self.dir / "index.sqlite3", isolation_level=None)
            self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE; "
                                  f"PRAGMA cache_size=-{cache_mib() * 1024};")
            self.db.executescript(SCHEMA)
            self.db.execute("BEGIN")
        except BaseException:
            if hasattr(self, "columns"):
                self.columns.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.seq = 0

    def close(self) -> None:
        self.columns.close()
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ writing
    def add_findings(self, stage: int, findings: list[Finding]) -> None:
        rows = []
        for f in findings:
            self.seq += 1
            rows.append((f.severity != "error", f.example or 0, f.message_index or 0, stage, self.seq, json.dumps(f.to_dict(), ensure_ascii=False)))
        self.db.executemany("INSERT INTO findings VALUES (?,?,?,?,?,?)", rows)

    def add_bands(self, ex: np.ndarray, keys: np.ndarray) -> None:
        """LSH band keys (``keys[band, i]`` for example ``ex[i]``)."""
        for band in range(keys.shape[0]):
            self.db.executemany("INSERT INTO bands VALUES (?,?,?)", zip([band] * len(ex), keys[band].tolist(), ex.tolist()))

    def commit(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("BEGIN")

    # ------------------------------------------------------------ reading
    def exact_groups(self) -> list[list[int]]:
        """Examples with the same digest, each group in file order, groups by first member."""
        self.db.execute("CREATE INDEX texts_by_digest ON texts (digest, ex)")
        cur = self.db.execute(
            "SELECT g.first, t.ex FROM texts t JOIN (SELECT digest, min(ex) AS first FROM texts GROUP BY digest HAVING count(*) > 1) g"
            " ON t.digest = g.digest ORDER BY g.first, t.ex")
        groups: list[list[int]] = []
        last = None
        for first, ex in cur:
            if first != last:
                groups.append([])
                last = first
            groups[-1].append(ex)
        return groups

    def candidate_pairs(self, repeats: set[int], batch: int = 200_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Pairs (a < b) sharing a band bucket: each member with its bucket's first member and
        with its predecessor, exact repeats left out (as minhash.candidate_pairs does)."""
        self.db.execute("CREATE TEMP TABLE repeats (ex INTEGER PRIMARY KEY)")
        self.db.executemany("INSERT INTO repeats VALUES (?)", ((r,) for r in sorted(repeats)))
        # One ordered pass over the (band, key, ex) index: a bucket's members come in file
        # order, so its first member and each one's predecessor are window values, and a
        # member of a bucket of one has no predecessor.  No join (the join of every band
        # row with the shared buckets is what SQLite planned as nested loops), no sort
        # but the UNION's, over the candidates only.
        self.db.execute("CREATE INDEX bands_by_key ON bands (band, key, ex)")
        cur = self.db.execute(
            "WITH m AS MATERIALIZED (SELECT f, p, ex FROM (SELECT ex, first_value(ex) OVER w AS f, lag(ex) OVER w AS p"
            "  FROM bands WHERE ex NOT IN (SELECT ex FROM repeats) WINDOW w AS (PARTITION BY band, key ORDER BY ex))"
            "  WHERE p IS NOT NULL)"
            " SELECT f, ex FROM m UNION SELECT p, ex FROM m")
        while rows := cur.fetchmany(batch):
            arr = np.asarray(rows, dtype=np.int64)
            yield arr[:, 0], arr[:, 1]

    def conflicts(self) -> sqlite3.Cursor:
        """(first example, number of different replies, example) of every prompt met with
        more than one reply, by group (first member) then file order.

        The index on (prompt, reply, ex) makes the grouping one ordered pass and each
        group's members one look-up.  Without it SQLite planned the join as a scan of every
        prompt for every conflicting group: quadratic, the phase a 5 GB file never left
        (issue 13)."""
        self.db.execute("CREATE INDEX IF NOT EXISTS prompts_by_prompt ON prompts (prompt, reply, ex)")
        return self.db.execute(
            "SELECT g.first, g.n, p.ex FROM prompts p JOIN (SELECT prompt, min(ex) AS first, count(DISTINCT reply) AS n"
            " FROM prompts GROUP BY prompt HAVING n > 1) g ON p.prompt = g.prompt ORDER BY g.first, p.ex")

    def findings(self, where: str = "", args: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
        """Findings as dicts, in the order a report lists them."""
        cur = self.db.execute(f"SELECT data FROM findings {where} ORDER BY sev, ex, mi, stage, seq", args)
        for (data,) in cur:
            yield json.loads(data)

    def count(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        return int(self.db.execute(sql, args).fetchone()[0])
