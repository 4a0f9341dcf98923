"""The duplicate search again after a few edits, redoing only what the edits changed.

Why: a workspace of 100,000 examples is searched once by :func:`duplicates.find` (seconds),
then edited one example at a time; searching everything again after each edit rescanned
every text (normalised text, digest, MinHash band keys, exact Jaccard of every candidate
pair).  :class:`DupIndex` keeps, per position of the last search, the example object, its
text's code (one small number per distinct digest) and whether it has text, so a search
finds the edited positions by comparing object identities (one vectorised pass) and redoes
only those; per code its LSH band keys, and per band every code sorted by its key (a new
text is merged in, not the whole band sorted again); and the exact Jaccard similarity of
the candidate pairs of the last search.  Exact groups, the examples kept for the near
search and the buckets of each band are then array operations over every example, with
Python only for the examples in a group or a bucket (at 381,725 examples the refresh after
one edit went from 1-1.8 s of Python loops, sorts and dictionary look-ups to a fraction of that).

The answer is :func:`duplicates.find`'s, group for group and similarity for similarity:
the same steps in the same order on the same inputs, only memoised
(``tests/test_incremental.py`` compares the two after random edits).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from ..model import Example
from . import minhash
from .duplicates import (
    NUM_PERM,
    SHINGLE_WORDS,
    DuplicateGroups,
    SignatureCache,
    _digest,
    comparable_text,
    lsh_params,
)

U64 = np.uint64


class Texts:
    """The comparable texts of the examples at ``positions``, made when one is asked for: only the
    texts of new digests and of new candidate pairs are ever needed."""

    def __init__(self, examples: list[Example], positions: np.ndarray, prompt_replies: dict[int, tuple[str, str]]) -> None:
        self.examples, self.positions, self.pr = examples, positions, prompt_replies

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> str:
        e = self.examples[int(self.positions[i])]
        return comparable_text(e, self.pr.get(e.index))


class DupIndex:
    """Memoised inputs of the duplicate search of one workspace (see the module docstring)."""

    def __init__(self, signature_cache: SignatureCache | None = None) -> None:
        self._sigs: SignatureCache = signature_cache if signature_cache is not None else {}
        # per position of the last search's list
        self._objs: list[Example] = []  # held, so that no other object can take one of their ids
        self._ids = np.empty(0, dtype=np.uint64)
        self._code = np.empty(0, dtype=np.int64)  # the text's code; -1: not searched (unreadable, left out)
        self._full = np.empty(0, dtype=bool)  # the text is not empty
        self._number = np.empty(0, dtype=np.int64)  # the example number
        # per code (a distinct text digest)
        self._code_of: dict[bytes, int] = {}
        self._params: tuple[int, int] | None = None
        self._keys = np.empty((0, 0), dtype=U64)  # its LSH band keys (valid where ``_banded``)
        self._banded = np.empty(0, dtype=bool)
        self._any = np.empty(0, dtype=bool)  # the text has at least one shingle (a non-zero signature)
        self._sorted: list[np.ndarray] = []  # per band: the banded codes in order of their key
        self._jaccard: dict[tuple[int, int], float] = {}  # (code a, code b) → exact Jaccard, last search's pairs
        self._lock = threading.Lock()  # a background refresh and a page's own may search at once

    def _scan(self, examples: list[Example], pr: dict[int, tuple[str, str]]) -> None:
        """Bring the per-position arrays up to ``examples``: only positions holding another object
        than last time are worked out (comparable text, digest, code)."""
        n = len(examples)
        ids = np.fromiter(map(id, examples), dtype=np.uint64, count=n)
        if n != len(self._ids):
            self._ids = np.zeros(n, dtype=np.uint64)
            self._code, self._full = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
            self._number = np.zeros(n, dtype=np.int64)
        changed = np.flatnonzero(ids != self._ids).tolist()
        code_of = self._code_of
        for p in changed:
            e = examples[p]
            self._number[p] = e.index
            if e.record is None or e.dropped:
                self._code[p], self._full[p] = -1, False
                continue
            text = comparable_text(e, pr.get(e.index))
            self._code[p] = code_of.setdefault(_digest(text), len(code_of))
            self._full[p] = bool(text)
        self._ids, self._objs = ids, list(examples)

    def _exact(self) -> tuple[list[list[int]], np.ndarray]:
        """:func:`duplicates.exact_groups` from the codes (groups in order of their first example,
        each in file order), and the positions of every group's later examples."""
        live = np.flatnonzero(self._code >= 0)
        codes = self._code[live]
        many = np.bincount(codes, minlength=len(self._code_of))[codes] > 1
        pos, codes = live[many], codes[many]
        if not pos.size:
            return [], pos
        order = np.lexsort((pos, codes))
        pos, codes = pos[order], codes[order]
        start = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
        later = np.ones(pos.size, dtype=bool)
        later[start] = False
        groups = np.split(self._number[pos], start[1:])
        firsts = pos[start]
        return [groups[g].tolist() for g in np.argsort(firsts, kind="stable").tolist()], pos[later]

    def _band(self, texts: Texts, codes: np.ndarray, bands: int, rows: int) -> None:
        """Band keys for the codes not banded yet (signed now), merged into each band's key order."""
        if self._params != (bands, rows):
            self._params = (bands, rows)
            self._keys, self._banded = np.empty((0, bands), dtype=U64), np.empty(0, dtype=bool)
            self._any, self._sorted = np.empty(0, dtype=bool), [np.empty(0, dtype=np.int64) for _ in range(bands)]
        total = len(self._code_of)
        if total > len(self._banded):  # room for the codes made since
            grow = total - len(self._banded)
            self._keys = np.concatenate((self._keys, np.zeros((grow, bands), dtype=U64)))
            self._banded = np.concatenate((self._banded, np.zeros(grow, dtype=bool)))
            self._any = np.concatenate((self._any, np.zeros(grow, dtype=bool)))
        todo = np.flatnonzero(~self._banded[codes])
        if not todo.size:
            return
        digests = list(self._code_of)
        new = codes[todo]
        missing = [(digests[c], int(i)) for c, i in zip(new.tolist(), todo.tolist()) if digests[c] not in self._sigs]
        if missing:
            fresh = minhash.all_signatures([texts[i] for _d, i in missing], NUM_PERM, SHINGLE_WORDS)
            self._sigs.update(zip((d for d, _i in missing), fresh))
        sig = np.stack([self._sigs[digests[c]] for c in new.tolist()])
        keys = minhash.band_keys(sig, bands, rows)
        self._keys[new], self._any[new], self._banded[new] = keys, sig.any(axis=1), True
        order = np.argsort(new)  # ties in a band are ordered by position later: any order will do
        new, keys = new[order], keys[order]
        for b in range(bands):
            have = self._sorted[b]
            by_key = np.argsort(keys[:, b], kind="stable")
            at = np.searchsorted(self._keys[have, b], keys[by_key, b], side="right")
            self._sorted[b] = np.insert(have, at, new[by_key])

    def _pairs(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`minhash.pairs_from_keys` of the kept texts with a shingle (``codes``, one per kept
        text, in file order): each band's buckets from the stored key order, only the texts in a
        bucket of two or more sorted by position."""
        where = np.full(len(self._banded), -1, dtype=np.int64)
        where[codes] = np.arange(codes.size)
        where[codes[~self._any[codes]]] = -1  # no shingle: never a candidate
        firsts, seconds = [], []
        for b, ordered in enumerate(self._sorted):
            q = where[ordered]
            shown = q >= 0
            k, q = self._keys[ordered[shown], b], q[shown]
            same = k[1:] == k[:-1]
            if not same.any():
                continue
            inrun = np.zeros(k.size, dtype=bool)
            inrun[1:] |= same
            inrun[:-1] |= same
            k, q = k[inrun], q[inrun]
            o = np.lexsort((q, k))
            sk, order = k[o], q[o]
            minhash.bucket_pairs(order, sk[1:] == sk[:-1], firsts, seconds)
        return minhash.unique_pairs(firsts, seconds)

    def _similarities(self, texts: Texts, codes: list[int], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """:func:`minhash.exact_jaccard` of each pair, from the last search where the pair of texts was seen."""
        pairs = [(codes[x], codes[y]) for x, y in zip(a.tolist(), b.tolist())]
        known = self._jaccard
        todo = [i for i, p in enumerate(pairs) if p not in known]
        fresh: dict[tuple[int, int], float] = {}
        if todo:
            at = np.array(todo, dtype=np.int64)
            fresh = dict(zip((pairs[i] for i in todo), minhash.exact_jaccard(texts, a[at], b[at], SHINGLE_WORDS).tolist()))
        self._jaccard = {p: known[p] if p in known else fresh[p] for p in pairs}
        return np.fromiter((self._jaccard[p] for p in pairs), dtype=np.float64, count=len(pairs))

    def find(self, examples: list[Example], threshold: float, prompt_replies: dict[int, tuple[str, str]] | None = None,
             wanted: Callable[[], bool] | None = None) -> DuplicateGroups | None:
        """:func:`duplicates.find` (``near=True``) of ``examples``, redoing only what changed since the last call.
        ``wanted``: asked between the steps; False (a newer edit came) stops there and returns None
        (what was learnt about each position so far is kept: it is still right)."""
        with self._lock:
            return self._find(examples, threshold, prompt_replies or {}, wanted or (lambda: True))

    def _find(self, examples: list[Example], threshold: float, pr: dict[int, tuple[str, str]],
              wanted: Callable[[], bool]) -> DuplicateGroups | None:
        self._scan(examples, pr)
        if not wanted():
            return None
        exact, later = self._exact()
        result = DuplicateGroups(exact=exact)
        searched = self._code >= 0
        if int(searched.sum()) < 2:
            return result
        kept = searched & self._full
        kept[later] = False
        keep = np.flatnonzero(kept)
        if keep.size < 2:
            return result
        bands, rows = lsh_params(threshold)
        texts = Texts(examples, keep, pr)
        codes = self._code[keep]
        self._band(texts, codes, bands, rows)
        if not wanted():
            return None
        found, sims = self._near(texts, codes, threshold)
        index_of = self._number[keep].tolist()
        result.near = sorted(sorted(index_of[p] for p in g) for g in found)
        result.similarity = {(index_of[a], index_of[b]): s for (a, b), s in sims.items()}
        return result

    def _near(self, texts: Texts, codes: np.ndarray, threshold: float) -> tuple[list[list[int]], dict[tuple[int, int], float]]:
        """:func:`minhash.near_duplicates` with ``texts``, on the stored band keys and similarities."""
        a, b = self._pairs(codes)
        sims = self._similarities(texts, codes.tolist() if a.size else [], a, b)
        ok = sims >= threshold
        a, b, sims = a[ok], b[ok], sims[ok]
        found, kept = minhash.representative_groups(a, b, sims)
        minhash._rescue(texts, a, b, found, kept, threshold, SHINGLE_WORDS)
        groups_out: dict[int, list[int]] = {}
        for member, rep in found.items():
            groups_out.setdefault(rep, [rep]).append(member)
        return sorted(sorted(g) for g in groups_out.values()), {(found[m], m): kept[(found[m], m)] for m in found}
