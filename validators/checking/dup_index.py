"""The duplicate search again after a few edits, redoing only what the edits changed.

Why: a workspace of 100,000 examples is searched once by :func:`duplicates.find` (seconds),
then edited one example at a time; searching everything again after each edit rescanned
every text (normalised text, digest, MinHash band keys, exact Jaccard of every candidate
pair).  :class:`DupIndex` keeps, per example *object*, its comparable text and digest
(an edit or a fix makes a new object, so only those are redone), per text digest its LSH
band keys, and the exact Jaccard similarity of the candidate pairs of the last search.
What remains per search is vectorised over every example (one ``argsort`` per band) or a
dictionary look-up per example.

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
    exact_groups,
    lsh_params,
)

U64 = np.uint64


class Texts:
    """The comparable texts of ``examples``, made when one is asked for (by position): only the
    texts of new digests and of new candidate pairs are ever needed."""

    def __init__(self, examples: list[Example], prompt_replies: dict[int, tuple[str, str]]) -> None:
        self.examples, self.pr = examples, prompt_replies

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> str:
        e = self.examples[i]
        return comparable_text(e, self.pr.get(e.index))


class DupIndex:
    """Memoised inputs of the duplicate search of one workspace (see the module docstring)."""

    def __init__(self, signature_cache: SignatureCache | None = None) -> None:
        self._sigs: SignatureCache = signature_cache if signature_cache is not None else {}
        self._text: dict[int, tuple[Example, bytes, bool]] = {}  # example number → (object, digest, has text)
        self._params: tuple[int, int] | None = None
        self._row: dict[bytes, int] = {}  # digest → row of the band-key matrix
        self._keys = np.empty((0, 0), dtype=U64)  # one row per digest: its LSH band keys
        self._any = np.empty(0, dtype=bool)  # the text has at least one shingle (a non-zero signature)
        self._jaccard: dict[tuple[bytes, bytes], float] = {}  # (digest a, digest b) → exact Jaccard, last search's pairs
        self._lock = threading.Lock()  # a background refresh and a page's own may search at once

    def digests(self, live: list[Example], prompt_replies: dict[int, tuple[str, str]]) -> tuple[list[bytes], list[bool]]:
        """Each example's text digest and whether its text is not empty, computed only for
        objects not seen before (the texts themselves are not kept: as much memory as the data)."""
        keys: list[bytes] = []
        full: list[bool] = []
        memo = self._text
        for e in live:
            hit = memo.get(e.index)
            if hit is None or hit[0] is not e:
                text = comparable_text(e, prompt_replies.get(e.index))
                hit = memo[e.index] = (e, _digest(text), bool(text))
            keys.append(hit[1])
            full.append(hit[2])
        return keys, full

    def _band_rows(self, texts: Texts, keys: list[bytes], bands: int, rows: int) -> np.ndarray:
        """The band-key matrix's row of each digest; digests not seen before are signed and banded now."""
        if self._params != (bands, rows):
            self._params, self._row = (bands, rows), {}
            self._keys, self._any = np.empty((0, bands), dtype=U64), np.empty(0, dtype=bool)
        todo: dict[bytes, int] = {}  # digest → its first position in ``keys``
        for i, key in enumerate(keys):
            if key not in self._row and key not in todo:
                todo[key] = i
        if todo:
            missing = [k for k in todo if k not in self._sigs]
            if missing:
                fresh = minhash.all_signatures([texts[todo[k]] for k in missing], NUM_PERM, SHINGLE_WORDS)
                self._sigs.update(zip(missing, fresh))
            sig = np.stack([self._sigs[k] for k in todo])
            start = len(self._row)
            self._row.update((k, start + i) for i, k in enumerate(todo))
            self._keys = np.concatenate((self._keys, minhash.band_keys(sig, bands, rows)))
            self._any = np.concatenate((self._any, sig.any(axis=1)))
        return np.fromiter((self._row[k] for k in keys), dtype=np.int64, count=len(keys))

    def _similarities(self, texts: Texts, digests: list[bytes], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """:func:`minhash.exact_jaccard` of each pair, from the last search where the pair of texts was seen."""
        pairs = [(digests[x], digests[y]) for x, y in zip(a.tolist(), b.tolist())]
        known = self._jaccard
        todo = [i for i, p in enumerate(pairs) if p not in known]
        fresh: dict[tuple[bytes, bytes], float] = {}
        if todo:
            at = np.array(todo, dtype=np.int64)
            fresh = dict(zip((pairs[i] for i in todo), minhash.exact_jaccard(texts, a[at], b[at], SHINGLE_WORDS).tolist()))
        self._jaccard = {p: known[p] if p in known else fresh[p] for p in pairs}
        return np.fromiter((self._jaccard[p] for p in pairs), dtype=np.float64, count=len(pairs))

    def find(self, examples: list[Example], threshold: float, prompt_replies: dict[int, tuple[str, str]] | None = None,
             wanted: Callable[[], bool] | None = None) -> DuplicateGroups | None:
        """:func:`duplicates.find` (``near=True``) of ``examples``, redoing only what changed since the last call.
        ``wanted``: asked between the steps; False (a newer edit came) stops there and returns None
        (what was learnt about each example object so far is kept: it is still right)."""
        with self._lock:
            return self._find(examples, threshold, prompt_replies or {}, wanted or (lambda: True))

    def _find(self, examples: list[Example], threshold: float, pr: dict[int, tuple[str, str]],
              wanted: Callable[[], bool]) -> DuplicateGroups | None:
        live = [e for e in examples if e.record is not None and not e.dropped]
        keys, full = self.digests(live, pr)
        if not wanted():
            return None
        exact = exact_groups(live, [], keys)  # the texts are not needed when the digests are given
        result = DuplicateGroups(exact=exact)
        if len(live) < 2:
            return result
        repeats = {i for g in exact for i in g[1:]}
        keep = [i for i, (e, t) in enumerate(zip(live, full)) if e.index not in repeats and t]
        if len(keep) < 2:
            return result
        bands, rows = lsh_params(threshold)
        kept_texts = Texts([live[i] for i in keep], pr)
        kept_keys = [keys[i] for i in keep]
        at = self._band_rows(kept_texts, kept_keys, bands, rows)
        if not wanted():
            return None
        found, sims = self._near(kept_texts, kept_keys, at, threshold)
        index_of = [live[i].index for i in keep]
        result.near = sorted(sorted(index_of[p] for p in g) for g in found)
        result.similarity = {(index_of[a], index_of[b]): s for (a, b), s in sims.items()}
        return result

    def _near(self, texts: Texts, digests: list[bytes], at: np.ndarray, threshold: float,
              ) -> tuple[list[list[int]], dict[tuple[int, int], float]]:
        """:func:`minhash.near_duplicates` with ``texts``, on the stored band keys and similarities."""
        live = np.flatnonzero(self._any[at])
        a, b = minhash.pairs_from_keys(self._keys[at[live]])
        a, b = live[a], live[b]
        sims = self._similarities(texts, digests, a, b)
        ok = sims >= threshold
        a, b, sims = a[ok], b[ok], sims[ok]
        found, kept = minhash.representative_groups(a, b, sims)
        minhash._rescue(texts, a, b, found, kept, threshold, SHINGLE_WORDS)
        groups_out: dict[int, list[int]] = {}
        for member, rep in found.items():
            groups_out.setdefault(rep, [rep]).append(member)
        return sorted(sorted(g) for g in groups_out.values()), {(found[m], m): kept[(found[m], m)] for m in found}
