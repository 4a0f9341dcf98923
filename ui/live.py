"""A workspace held in memory with its check result, kept current edit by edit.

Plain Python (no Streamlit): ``ui/state.py`` caches one :class:`Live` per workspace id with
``st.cache_resource``, so moving between pages never re-reads the upload or re-runs the
check.  A full check of 100,000 examples takes seconds, so an edit re-checks only the
examples it changed (schema, semantic, tokens, cost) and patches the findings; the
dataset-wide parts (duplicates, conflicting answers) are marked ``stale`` and recomputed
when a page needs them (Duplicates, Export).  Small datasets are simply re-checked whole.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from validators import catalog, checks, codes, cost, duplicates, open_tokenizers, semantic, tokens
from validators import workspace as store
from validators.fixes import FixResult
from validators.model import Example, Finding

INCREMENTAL_MIN = 5000  # below this many examples a full re-check is fast enough and exact

Progress = Callable[[float, str], None]

_WARMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftprep-warm")
_DB_LOCK = threading.RLock()
_CONNS: dict[str, tuple[Any, tuple[int, int]]] = {}


class StoreMissing(Exception):
    """The database file was deleted or replaced while the server was running."""


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


@contextmanager
def db() -> Iterator[Any]:
    """One shared connection per database file, used by one thread at a time.

    If the file was deleted (or swapped) under the running server, the old connection would
    go on writing into a file nobody can see, and every edit from then on would vanish at
    the next restart: instead the connection is dropped and :class:`StoreMissing` raised,
    so the page can say what happened; the next request starts a fresh, empty store."""
    path = str(store.db_path().resolve())
    with _DB_LOCK:
        held = _CONNS.get(path)
        if held is not None and _identity(path) != held[1]:
            del _CONNS[path]
            held[0].close()
            raise StoreMissing(path)
        if held is None:
            conn = store.connect(path)
            held = _CONNS[path] = (conn, _identity(path) or (0, 0))
        yield held[0]


def findings_from(meta: dict[str, Any]) -> list[Finding]:
    return [Finding(**f) for f in meta.get("read_findings", [])]


def meta_of(ds: Any) -> dict[str, Any]:
    """What a workspace keeps about how its file was read (for re-checks and the report)."""
    return {
        "columns": list(ds.columns), "layout": ds.layout, "format": ds.source_format, "encoding": ds.encoding,
        "mapping": dict(ds.mapping), "source_rows": list(ds.source_rows),
        "read_findings": [f.to_dict() for f in ds.read_findings],
    }


class Live:
    """One workspace's examples and check result, shared by every page and tab showing it."""

    def __init__(self, ws: store.Workspace) -> None:
        self.id = ws.id
        self.name = ws.name
        self.options = ws.options
        self.meta = ws.meta
        self.version = ws.version
        self.examples = ws.examples
        # Rough size in memory, check result included, for the cache's budget: measured ~1 KB of
        # objects per example plus about twice its text, doubled once the check has run.
        self.approx_bytes = 4 * ws.stored_chars + 2000 * len(ws.examples)
        self.result: checks.CheckResult | None = None
        self.stale = False
        self.lock = threading.RLock()
        self._pos = {e.index: p for p, e in enumerate(self.examples)}
        self._pr: dict[int, tuple[str, str]] | None = None  # normalised prompt/reply, kept per edit
        self._sigs: duplicates.SignatureCache = {}  # MinHash signature per text digest: an edit re-hashes one text
        self._other: dict[str, tokens.TokenCounts] = {}  # counts for the other models' tokenizers
        self._warming: dict[str, Future[tokens.TokenCounts]] = {}

    # -- reading ------------------------------------------------------------------------
    @property
    def source_rows(self) -> tuple[int, ...]:
        return tuple(self.meta.get("source_rows") or [r for e in self.examples for r in e.rows])

    def data(self) -> bytes:
        """The uploaded bytes, read from the store only when a page asks (preview, re-map)."""
        with db() as conn:
            ws = store.load(conn, self.id, with_examples=False, with_data=True)
        return ws.data if ws else b""

    def model(self) -> catalog.ModelInfo:
        return open_tokenizers.model_info(self.options.get("model"), self.options.get("max_seq_length"))

    def check(self, progress: Progress | None = None, full: bool = False) -> checks.CheckResult:
        """The current check result.  A full run happens the first time, after an option
        changed, or with ``full=True`` when edits left the dataset-wide parts stale."""
        with self.lock:
            if self.result is None:
                self.result = checks.run(
                    self.examples, model=self.options.get("model"), epochs=self.options.get("epochs"),
                    price=self.options.get("price"), threshold=self.options.get("threshold") or 0.8,
                    read_findings=findings_from(self.meta), progress=progress, signature_cache=self._sigs,
                    columns=semantic.column_names(self.meta.get("mapping")) if self.meta.get("layout") == "table" else None,
                    max_seq_length=self.options.get("max_seq_length"),
                )
                self.stale = False
                self._warm_other_encodings()
            elif full and self.stale:
                self.result = self._refresh_dataset_parts(self.result, progress)
                self.stale = False
            return self.result

    def counts_for(self, encoding: str) -> tokens.TokenCounts:
        """Token counts with ``encoding`` (the Cost page prices every model on its own
        tokenizer): counted once per workspace, then patched edit by edit like the rest."""
        res = self.check()
        if encoding == res.counts.encoding:
            return res.counts
        pending = self._warming.get(encoding)
        if pending is not None and encoding not in self._other:
            pending.result()
        with self.lock:
            if encoding not in self._other:
                self._other[encoding] = tokens.count(self.examples, encoding)
            return self._other[encoding]

    def _warm_other_encodings(self) -> None:
        """Count the other tokenizers in the background on large data, so the Cost page's
        first visit does not wait; a result is kept only if no edit happened meanwhile."""
        if len(self.examples) < INCREMENTAL_MIN or self.result is None:
            return
        active = self.result.counts.encoding
        for enc in sorted({m.encoding for m in catalog.models().values()} - {active} - set(self._other) - set(self._warming)):
            snapshot, version = list(self.examples), self.version

            def work(enc: str = enc, snapshot: list[Example] = snapshot, version: int = version) -> tokens.TokenCounts:
                counts = tokens.count(snapshot, enc)
                tokens.count(snapshot[:1], enc)  # large inputs are counted in a worker process: load the BPE here too, for edits
                with self.lock:
                    if self.version == version and enc not in self._other:
                        self._other[enc] = counts
                return counts

            self._warming[enc] = _WARMER.submit(work)
        _WARMER.submit(self._warm_prompt_replies, list(self.examples), self.version)

    def _warm_prompt_replies(self, snapshot: list[Example], version: int) -> None:
        """The normalised texts the duplicate search needs, ready before the first refresh."""
        pr = semantic.prompt_replies(snapshot)
        with self.lock:
            if self.version == version and self._pr is None:
                self._pr = pr

    def _prompt_replies(self) -> dict[int, tuple[str, str]]:
        if self._pr is None:
            self._pr = semantic.prompt_replies(self.examples)
        return self._pr

    def _refresh_dataset_parts(self, res: checks.CheckResult, progress: Progress | None) -> checks.CheckResult:
        """After patched edits: redo only what depends on the whole dataset (duplicates,
        conflicting answers, system-prompt and size findings); per-example parts are current."""
        say = progress or (lambda _f, _s: None)
        say(0.1, "Comparing examples")
        pr = self._prompt_replies()
        say(0.3, "Looking for duplicates")
        dupes = duplicates.find(self.examples, self.options.get("threshold") or 0.8, True, None, pr, self._sigs)
        say(0.9, "Checking the dataset as a whole")
        found = [f for f in res.findings if not codes.is_dataset_wide(f.code)]
        found += semantic.check_dataset(self.examples, pr) + checks.duplicate_findings(self.examples, dupes)
        checks.sort_findings(found)
        say(1.0, "Done")
        return replace(res, findings=found, dupes=dupes)

    def example(self, index: int) -> Example:
        return self.examples[self._pos[index]]

    def has(self, index: int) -> bool:
        return index in self._pos

    # -- changing -----------------------------------------------------------------------
    def apply(self, new: list[Example], label: str, summary: str = "", base: Mapping[int, str] | None = None) -> int:
        """Persist the changed examples (with undo) in one transaction, then patch the result.

        ``base`` maps each example index to the :func:`~validators.workspace.etag` of the
        example the user edited (taken when the page was drawn).  If any of them has changed
        since (another tab merged turns, say), :class:`~validators.workspace.StaleEdit` is
        raised and nothing is written: an edit is never applied by position to newer data."""
        with self.lock:
            before = [self.example(e.index) for e in new]
            if base:
                if any(i not in self._pos for i in base):
                    raise store.StaleEdit([])  # the example is gone (the file was read again)
                stale = [self.example(i) for i, tag in base.items() if store.etag(self.example(i)) != tag]
                if stale:
                    raise store.StaleEdit(stale)
            with db() as conn:
                self.version = store.update_examples(conn, self.id, new, before, label, summary, base, self.version)
            self._replace(new)
            return len(new)

    def etags(self, numbers: list[int]) -> dict[int, str]:
        """The current version of each of these examples, to send along with an edit."""
        return {n: store.etag(self.example(n)) for n in numbers}

    def apply_fix(self, fix: FixResult, label: str) -> int:
        """A bulk fix's result: only the examples it changed are written and re-checked."""
        changed = set(fix.changed)
        new = [e for e in fix.examples if e.index in changed]
        return self.apply(new, label, fix.summary) if new else 0

    def undo(self) -> str | None:
        with self.lock, db() as conn:
            done = store.undo(conn, self.id, self.version)
            if done is None:
                return None
            self.version = store.version(conn, self.id) or self.version
            self._replace(done[1])
            return done[0]

    def set_options(self, **options: Any) -> None:
        """Model / epochs / price / threshold changed: persist, then re-check whole."""
        with self.lock, db() as conn:
            self.options = store.set_options(conn, self.id, **options)
            self.version = store.version(conn, self.id) or self.version
            self.result = None

    def _replace(self, new: list[Example]) -> None:
        positions = [self._pos[e.index] for e in new]
        for enc, counts in self._other.items():
            _patch_counts(counts, new, positions, enc)
        for e in new:
            self.examples[self._pos[e.index]] = e
            if self._pr is not None:
                if e.record is not None and not e.dropped:
                    self._pr[e.index] = semantic.prompt_and_reply(e)
                else:
                    self._pr.pop(e.index, None)
        if self.result is None:
            return
        if len(self.examples) < INCREMENTAL_MIN:
            self.result = None
            return
        self.result = patch(self.result, self.examples, [self._pos[e.index] for e in new], self.options.get("price"))
        self.stale = True  # duplicates / conflicts refresh lazily (Duplicates and Export pages)

    @property
    def exact(self) -> bool:
        """True when every number shown is from a full check (nothing patched since)."""
        return self.result is not None and not self.stale


def _patch_counts(counts: tokens.TokenCounts, changed: list[Example], positions: list[int], encoding: str) -> None:
    fresh = tokens.count(changed, encoding)
    for k, p in enumerate(positions):
        counts.total[p] = fresh.total[k]
        counts.assistant[p] = fresh.assistant[k]
        counts.counted[p] = fresh.counted[k]
        if counts.images_uncounted is not None and fresh.images_uncounted is not None:
            counts.images_uncounted[p] = fresh.images_uncounted[k]
    for e in changed:  # an open model's template may now accept (or refuse) an edited example
        counts.problems.pop(e.index, None)
    counts.problems.update(fresh.problems)


def patch(result: checks.CheckResult, examples: list[Example], positions: list[int], price: float | None) -> checks.CheckResult:
    """``result`` with the examples at ``positions`` re-checked and re-counted: their
    per-example findings come from :func:`validators.checks.check_examples`, the same path
    a full check takes; findings from reading the file and dataset-wide ones are kept (the
    latter are refreshed when a page needs them)."""
    info = result.model
    changed = [examples[p] for p in positions]
    numbers = {e.index for e in changed}
    counts = result.counts
    _patch_counts(counts, changed, positions, info.encoding)
    kept = [f for f in result.findings if f.example not in numbers or not codes.is_per_example(f.code)]
    kept += checks.check_examples(changed, counts, positions, info, result.options.get("columns"))
    checks.sort_findings(kept)
    est = cost.estimate(counts.total[checks.usable_mask(examples)], info.limit, info.training if price is None else price, result.options.get("epochs"))
    return replace(result, examples=examples, findings=kept, counts=counts, estimate=est)


_FRESH: OrderedDict[str, Live] = OrderedDict()  # just created, not yet opened: handed over, not re-read


def open_workspace(ws_id: str) -> Live | None:
    with _DB_LOCK:
        fresh = _FRESH.pop(ws_id, None)
    if fresh is not None and current_version(ws_id) == fresh.version:
        return fresh
    with db() as conn:
        ws = store.load(conn, ws_id, with_data=False)  # the upload is read only when a page needs it
    return Live(ws) if ws else None


def current_version(ws_id: str) -> int | None:
    with db() as conn:
        return store.version(conn, ws_id)


def create_workspace(name: str, data: bytes, ds: Any, options: dict[str, Any]) -> str:
    """Store a new workspace.  Its examples are handed to the first :func:`open_workspace`
    as they are, instead of being read back from the store: a second copy of a large upload
    in memory was most of the upload's peak."""
    with db() as conn:
        wid = store.create(conn, name, data, ds.examples, options, meta_of(ds))
    same = json.loads(json.dumps([store.clean_options(options), meta_of(ds)]))  # exactly what a reload would give
    ws = store.Workspace(wid, name, b"", same[0], same[1], 0, ds.examples, stored_chars=len(data))
    with _DB_LOCK:
        _FRESH[wid] = Live(ws)
        while len(_FRESH) > 2:
            _FRESH.popitem(last=False)
    return wid


def remap(live: Live, ds: Any, options: dict[str, Any]) -> None:
    """The user changed the mapping / sheet / default prompt: replace every example."""
    with live.lock, db() as conn:
        live.version = store.replace_examples(conn, live.id, ds.examples, options, meta_of(ds))
        live.options, live.meta, live.examples = options, meta_of(ds), ds.examples
        live._pos = {e.index: p for p, e in enumerate(live.examples)}
        live._pr = None
        live._other, live._warming = {}, {}
        live.result = None


def delete_workspace(ws_id: str) -> bool:
    with db() as conn:
        return store.delete(conn, ws_id)


def history(ws_id: str) -> list[dict[str, Any]]:
    with db() as conn:
        return store.history(conn, ws_id)


def sample_path(name: str) -> Path:
    return Path(__file__).resolve().parent.parent / "sample_data" / name


# ---------------------------------------------------------------- memory and disk bounds


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


class LiveCache:
    """The workspaces held in memory, least recently used evicted first.

    Bounded by count (``FTPREP_CACHE_WORKSPACES``, default 8) and by approximate size
    (``FTPREP_CACHE_MB``, default 2048): without a bound every workspace ever opened stayed
    in memory until the server stopped.  An evicted workspace is simply read again from the
    store when a page next asks for it; the one just used is always kept."""

    def __init__(self, max_count: int | None = None, max_mb: int | None = None) -> None:
        self.max_count = max_count or _env_int("FTPREP_CACHE_WORKSPACES", 8)
        self.max_bytes = (max_mb or _env_int("FTPREP_CACHE_MB", 2048)) * 1_000_000
        self._items: OrderedDict[tuple[str, str], Live] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Live | None:
        with self._lock:
            live = self._items.get(key)
            if live is not None:
                self._items.move_to_end(key)
            return live

    def put(self, key: tuple[str, str], live: Live) -> None:
        with self._lock:
            self._items[key] = live
            self._items.move_to_end(key)
            while len(self._items) > 1 and (len(self._items) > self.max_count or self.total_bytes() > self.max_bytes):
                self._items.popitem(last=False)

    def pop(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._items.pop(key, None)

    def ids(self) -> set[str]:
        with self._lock:
            return {k[1] for k in self._items}

    def total_bytes(self) -> int:
        return sum(live.approx_bytes for live in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def tidy_store(keep: set[str]) -> list[str]:
    """Apply the operator's retention policy (age, total size); ``keep`` is never deleted."""
    with db() as conn:
        return store.enforce_retention(conn, store.Retention.from_env(), keep)
