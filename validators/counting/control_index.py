"""The Tokens page's control-token table, kept current edit by edit.

Why: :func:`reserved_tokens.by_target` scans every message text of every example (about a
second at 100,000 examples), and it ran again after each edit, so the Tokens page waited
for it after every change.  :class:`ControlIndex` keeps, per example *object*, which
control strings of each destination it holds (an edit or a fix makes a new object, so
only those are scanned again), and builds the table from them in file order.

The table is :func:`reserved_tokens.by_target`'s, row for row: the same texts
(``_Texts``, sieve included) and the same patterns, only gathered per example
(``tests/test_incremental.py`` compares the two after random edits).
"""

from __future__ import annotations

import threading
from typing import Any

from ..model import Example
from .reserved_tokens import _pattern, _Texts, target_sets

Hits = tuple[frozenset[str], ...] | None  # per destination with a list: the strings found; None: none anywhere


class ControlIndex:
    """Per example object, the control strings found for each destination (see the module docstring)."""

    def __init__(self) -> None:
        self._sets: list[tuple[str, str, tuple[str, ...] | None]] | None = None
        self._hits: dict[int, tuple[Example, Hits]] = {}
        self._lock = threading.Lock()  # the background warm-up and a page may ask at once

    def rows(self, examples: list[Example], active: Any) -> list[dict[str, Any]]:
        """:func:`reserved_tokens.by_target` (``examples``, ``active``), scanning only new example objects."""
        with self._lock:
            sets = target_sets(active)
            if sets != self._sets:
                self._sets, self._hits = sets, {}
            lists = [tokens for _, _, tokens in sets if tokens is not None]  # one per row that scans
            usable = [e for e in examples if e.record is not None and not e.dropped]
            fresh = [e for e in usable if (self._hits.get(e.index) or (None,))[0] is not e]
            if fresh:
                self._scan(fresh, lists)
            return self._table(usable, sets)

    def _scan(self, fresh: list[Example], lists: list[tuple[str, ...]]) -> None:
        texts = _Texts(fresh, [tokens for tokens in lists if tokens])
        found: dict[int, list[set[str]]] = {}
        for j, tokens in enumerate(lists):
            pattern = _pattern(tokens)
            if pattern is None:
                continue
            for i in texts.picked:
                hits = {m.group(0) for m in pattern.finditer(texts.texts[i])}
                if hits:
                    found.setdefault(texts.owner[i], [set() for _ in lists])[j] |= hits
        for e in fresh:
            got = found.get(e.index)
            self._hits[e.index] = (e, tuple(frozenset(h) for h in got) if got else None)

    def _table(self, usable: list[Example], sets: list[tuple[str, str, tuple[str, ...] | None]]) -> list[dict[str, Any]]:
        with_hits = [(e.index, hits) for e in usable if (hits := self._hits[e.index][1]) is not None]
        rows = []
        j = 0
        for targets_, whose, tokens in sets:
            if tokens is None:
                rows.append({"targets": targets_, "control strings of": whose, "found": "", "examples": None})
                continue
            found: set[str] = set()
            numbers: list[int] = []
            for n, hits in with_hits:
                if hits[j]:
                    found |= hits[j]
                    numbers.append(n)
            strings = sorted(found)
            rows.append({"targets": targets_, "control strings of": whose, "found": ", ".join(strings[:8]) + (" …" if len(strings) > 8 else ""),
                         "examples": len(numbers), "example numbers": numbers[:50]})
            j += 1
        return rows
