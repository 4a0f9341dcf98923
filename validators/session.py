"""The workspace facade: what the pages (and tests) use to read, check, fix and export.

One :class:`Session` per workspace holds its examples, typed :class:`Options`, the check
result kept current edit by edit, fixes and undo, the duplicate choice, the export, the
left-out report and the validation report.  Plain Python (no Streamlit): ``ui/state.py``
keeps one :class:`Session` per workspace in a :class:`SessionCache` per server, so moving
between pages never re-reads the upload or re-runs the check.  Pages import nothing else
from ``validators``: the reference data and one-click fixes they offer are re-exported
here (see ``__all__``), so the boundary is one import (``tests/test_architecture.py``).

A full check of 100,000 examples takes seconds, so an edit re-checks only the
examples it changed (schema, semantic, tokens, cost) and patches the findings; the
dataset-wide parts (duplicates, conflicting answers) are marked ``stale`` and recomputed
when a page needs them (Duplicates, Export).  Small datasets are simply re-checked whole.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from validators import catalog, codes

# Pages import only this module from ``validators``: the types they show, the reference data
# their pickers offer, and the one-click fixes they run are re-exported here by name.
from validators.catalog import ModelInfo, default_model, default_target, models, service_rows
from validators.catalog import model as find_model
from validators.checking import checks, duplicates, gc_pause, semantic, sieve
from validators.checking.checks import CheckResult
from validators.checking.dup_index import DupIndex
from validators.checking.fixes import (
    FixResult,
    break_control_tokens,
    drop_empty_messages,
    drop_over_limit,
    drop_unusable,
    fill_default_system,
    fix_mojibake,
    merge_consecutive,
    restore,
    system_first,
    trim_over_limit,
    trim_whitespace,
)
from validators.checking.pii import redact_pii
from validators.checking.semantic_index import SemanticIndex
from validators.counting import cost, open_tokenizers, tokens
from validators.counting.control_index import ControlIndex
from validators.counting.cost import base_prices, breakeven
from validators.counting.cost import estimate as estimate_cost
from validators.counting.open_tokenizers import DEFAULT_MAX_SEQ_LENGTH, OFFLINE, OpenTokenizerError, cut_message, example_messages, is_open
from validators.counting.open_tokenizers import load as load_tokenizer
from validators.counting.reserved_tokens import by_target as control_tokens_by_target
from validators.counting.reserved_tokens import message_texts, special_tokens
from validators.counting.tokens import count_one, stats
from validators.errors import InputError
from validators.exporting import export, matrix, report
from validators.exporting.export import DEDUPE_MODES, ExportResult
from validators.exporting.next_steps import base_model, for_export
from validators.exporting.targets import TARGETS, facts, preview
from validators.exporting.targets import get as get_target
from validators.model import Example, Finding, learn_per_object
from validators.reading import ingest
from validators.reading.ingest import load_bytes, with_progress
from validators.reading.readers import sheet_names
from validators.storing import workspace as store
from validators.storing.workspace import StaleEdit

INCREMENTAL_MIN = 5000  # below this many examples a full re-check is fast enough and exact
DUP_CODE = codes.LeftOut.DUPLICATE.value  # what pages decide by (``Example.dropped_code``)
DUP_REASON = "duplicate of example"  # the start of the sentence people read in the left-out report

__all__ = [
    # the workspace
    "Options", "Session", "SessionCache", "StoreMissing", "StaleEdit", "InputError", "INCREMENTAL_MIN", "DUP_CODE", "DUP_REASON",
    "open_workspace", "create_workspace", "remap", "delete_workspace", "current_version", "history", "list_workspaces",
    "retention_note", "tidy_store", "cache_key", "sample_path", "findings_from", "load_bytes", "with_progress", "sheet_names",
    "EXAMPLE_TESTS",
    # types shown by the pages
    "CheckResult", "ExportResult", "ModelInfo", "Example", "Finding",
    # reference data for the pickers
    "TARGETS", "DEDUPE_MODES", "facts", "preview", "models", "find_model", "default_model", "default_target", "service_rows",
    "base_prices", "breakeven", "estimate_cost", "base_model", "for_export", "is_open", "load_tokenizer", "cut_message",
    "example_messages", "DEFAULT_MAX_SEQ_LENGTH", "OFFLINE", "OpenTokenizerError", "special_tokens", "control_tokens_by_target",
    "count_one", "stats",
    # the one-click fixes
    "trim_whitespace", "system_first", "merge_consecutive", "drop_empty_messages", "fill_default_system", "drop_unusable",
    "drop_over_limit", "trim_over_limit", "redact_pii", "fix_mojibake", "break_control_tokens", "restore",
]

Progress = Callable[[float, str], None]

_WARMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftprep-warm")
# After an edit: the dataset-wide refresh and the control-token table, on their own thread so
# they never queue behind the first open's warm-up (other tokenizers' counts: tens of seconds at 100k).
_REFRESHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftprep-refresh")
_DB_LOCK = threading.RLock()
_CONNS: dict[str, tuple[Any, tuple[int, int]]] = {}


# Questions the pages ask of every example (``ui/views.py`` registers "editable as one grid row"
# by name): each example's answer is kept per example object (:class:`ExampleTest`) and worked
# out ahead in the background after the first check, so a page's first visit and each edit ask
# only the examples it has not seen (one pass over 380,000 examples took a second or more).
EXAMPLE_TESTS: dict[str, Callable[[Example], bool]] = {}


class PageDraws:
    """Which threads are drawing a page now, so the background warm-up can step aside for them.

    Why: the warm-up after a large file's first check (the grid's tests, the control-token
    table, the export's lines: seconds of Python over 380,000 examples) shares the interpreter
    with the page the user opens next; measured in the browser at 512 MB, Tokens' first visit
    took 2.3-2.9 s instead of ~0.7 s, its script waiting for the interpreter at every message it
    sent.  The warm-up works in chunks and, between two, waits while a page is drawn
    (:meth:`pause`, at most ``limit`` seconds, so many sessions drawing never starve it).  A
    page that itself waits for background work says so (:meth:`waiting`): the warm-up must not
    wait for a page that waits for it."""

    def __init__(self) -> None:
        self._drawing: set[int] = set()
        self._idle = threading.Condition()

    @contextmanager
    def drawing(self) -> Iterator[None]:
        """Around one run of a page (the UI wraps each script run in it)."""
        me = threading.get_ident()
        with self._idle:
            mine = me not in self._drawing
            self._drawing.add(me)
        try:
            yield
        finally:
            if mine:
                self._done(me)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a page's wait for background work: it draws nothing meanwhile."""
        me = threading.get_ident()
        with self._idle:
            was = me in self._drawing
        if was:
            self._done(me)
        try:
            yield
        finally:
            if was:
                with self._idle:
                    self._drawing.add(me)

    def _done(self, me: int) -> None:
        with self._idle:
            self._drawing.discard(me)
            if not self._drawing:
                self._idle.notify_all()

    def busy(self) -> bool:
        return bool(self._drawing)

    def pause(self, limit: float = 3.0) -> float:
        """Called by background work between two chunks: return once no page is drawn, or after
        ``limit`` seconds at most; the seconds waited."""
        if not self._drawing or threading.get_ident() in self._drawing:
            return 0.0
        began = time.monotonic()
        with self._idle:
            self._idle.wait_for(lambda: not self._drawing, timeout=limit)
        return time.monotonic() - began


PAGES = PageDraws()
CHUNK = 5_000  # examples the warm-up handles between two looks at PAGES (~0.05 s of Python, more on a busy machine)
ASIDE_S = 3.0  # seconds one warm-up may step aside for pages in all (see StepAside): the first few visits


class StepAside:
    """How long one background warm-up may still wait for pages, in all.

    Why a budget: right after a large file's check the pages' first visits must not share the
    interpreter with it (they come at once, one after another), but someone clicking from page
    to page for a minute must not hold it back for a minute either: measured in the browser at
    512 MB, a warm-up that stepped aside for every page had not written the export's lines 40 s
    after the check, and the Export page then wrote them itself (4.7 s).  Once the budget is
    spent the warm-up simply shares the interpreter, as before."""

    def __init__(self, seconds: float = ASIDE_S) -> None:
        self.left = seconds

    def pause(self) -> None:
        if self.left > 0:
            self.left -= PAGES.pause(limit=min(self.left, 3.0))


def sieve_chunk(examples: list[Example], sample: int = 500) -> int:
    """Examples per chunk of the control-token scan: enough text (twice ``sieve.MIN_CHARS``, from the
    first ``sample`` examples' average) that each chunk is sieved the way one scan of all would be."""
    chars = sum(len(t) for e in examples[:sample] for m in e.messages if isinstance(m, dict) for t in message_texts(m))
    per = max(1.0, chars / max(1, min(sample, len(examples))))
    return max(CHUNK, int(2 * sieve.MIN_CHARS / per) + 1)


def chunks(examples: list[Example], aside: StepAside | None = None, size: int | None = None) -> Iterator[list[Example]]:
    """``examples`` in slices of ``size`` (:data:`CHUNK`), stepping aside for pages (``aside``,
    else a budget of its own) before each one after the first."""
    size, aside = size or CHUNK, aside or StepAside()
    for start in range(0, len(examples), size):
        if start:
            aside.pause()
        yield examples[start:start + size]


class ExampleTest:
    """The numbers of the examples ``test`` holds for, each answer kept per example object."""

    def __init__(self, test: Callable[[Example], bool]) -> None:
        self.test = test
        self._tested: dict[int, Example] = {}  # example number → the object last asked
        self._holds: set[int] = set()
        self._lock = threading.Lock()  # the warm-up and a page may ask at once: one asks, the other waits

    def numbers(self, examples: list[Example], background: StepAside | None = None) -> frozenset[int]:
        """``background``: the warm-up asks, chunk by chunk, stepping aside while a page is drawn
        (the lock is let go between chunks: a page asking meanwhile answers the rest itself)."""
        if background is not None:
            for part in chunks(examples, background):
                with self._lock:
                    self._learn(part)
        with self._lock:
            tested = self._tested
            self._learn(examples)
            if len(tested) != len(examples):  # examples gone (the file was read again): ask afresh
                self._tested, self._holds = {}, set()
                return frozenset(e.index for e in examples if self.test(e))
            return frozenset(self._holds)

    def _learn(self, examples: list[Example]) -> None:
        learn_per_object(examples, self._tested, self._holds, self.test)


def freeze_heap() -> None:
    """Leave every object alive now out of the cyclic collector's full passes (``gc.freeze``).

    Why: a 512 MB workspace is tens of millions of dicts, lists and strings, all long-lived; a
    full collection walks every one of them (1.5-2 s holding the interpreter) and lands on
    whichever click allocates next (measured: 1.6 s of Validate's first visit, three of them
    while storing an upload).  Records, findings and indexes are trees, so reference counting
    still frees them when they go; only objects in a reference cycle would stay, and a
    workspace that leaves the memory cache is handed back to the collector (:func:`thaw_heap`)."""
    gc.freeze()


def thaw_heap() -> None:
    """Hand every frozen object back to the collector (a workspace left the memory cache or was
    replaced: whatever of it sits in a reference cycle can then be freed)."""
    gc.unfreeze()


@dataclass(frozen=True)
class Options:
    """What a workspace keeps besides its examples (``workspace.OPTION_KEYS``), with the
    defaults every reader used to spell out (``.get("threshold") or 0.8``) written once."""

    model: str | None = None  # None: the catalogue's default model
    epochs: int | None = None  # None: the provider's auto heuristic
    price: float | None = None  # USD per 1M training tokens; None: the catalogue's
    threshold: float = 0.8  # Jaccard similarity for near duplicates
    max_seq_length: int | None = None  # an open base model's trainer cut-off
    default_system: str | None = None
    sheet: str | None = None
    mapping: dict[str, Any] | None = None
    encoding: str | None = None
    reading: dict[str, Any] = field(default_factory=dict)  # CSV header / join-lines choices

    @classmethod
    def of(cls, raw: Options | Mapping[str, Any] | None) -> Options:
        """From the stored JSON (or a caller's dict): unknown keys dropped, empty ones defaulted."""
        if isinstance(raw, Options):
            return raw
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in (raw or {}).items() if k in known and v is not None}
        if not given.get("threshold"):
            given.pop("threshold", None)
        given["reading"] = dict(given.get("reading") or {})
        return cls(**given)

    def to_dict(self) -> dict[str, Any]:
        """What the store keeps: the options that are set."""
        return {k: v for k, v in asdict(self).items() if v is not None and v != {}}

    def but(self, **changes: Any) -> Options:
        return Options.of({**self.to_dict(), **changes})


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


class Session:
    """One workspace's examples and check result, shared by every page and tab showing it."""

    def __init__(self, ws: store.Workspace) -> None:
        self.id = ws.id
        self.name = ws.name
        self.options = Options.of(ws.options)
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
        # normalised prompt/reply, kept per edit; emptied once the duplicate and semantic memos are built
        # (a missing entry is worked out from the example wherever the table is read)
        self._pr: dict[int, tuple[str, str]] | None = None
        self._sigs: duplicates.SignatureCache = {}  # MinHash signature per text digest: an edit re-hashes one text
        self._dups = DupIndex(self._sigs)  # the duplicate search after an edit redoes only the edited examples
        self._semantic = SemanticIndex()  # so do the system-prompt and conflicting-answer findings
        self._tests: dict[str, ExampleTest] = {}  # the pages' questions of every example (EXAMPLE_TESTS)
        self._control_index = ControlIndex()  # the control-token table after an edit rescans only the edited examples
        self._control_model: str | None = None  # the model whose control strings the index has scanned every text for
        self._other: dict[str, tokens.TokenCounts] = {}  # counts for the other models' tokenizers
        self._warming: dict[str, Future[tokens.TokenCounts]] = {}
        self._render = export.RenderCache()  # the Export page's lines, per example object and target
        self._pending: dict[str, tuple[int, Future[None]]] = {}  # background work started after an edit: version, future
        self._control: dict[tuple[int, str], list[dict[str, Any]]] = {}  # the Tokens page's table, latest version only
        self._first: FirstCheck | None = None  # the first check, when it runs in the background (start_check)

    # -- reading ------------------------------------------------------------------------
    @property
    def source_rows(self) -> tuple[int, ...]:
        return tuple(self.meta.get("source_rows") or [r for e in self.examples for r in e.rows])

    def data(self) -> bytes:
        """The uploaded bytes, read from the store only when a page asks (preview, re-map)."""
        with db() as conn:
            ws = store.load(conn, self.id, with_examples=False, with_data=True)
        return ws.data if ws else b""

    def data_head(self, size: int) -> bytes:
        """The first ``size`` bytes of the upload, read and decompressed only that far (a
        preview of a 500 MB upload must not read all of it on every run of the page)."""
        with db() as conn:
            return store.upload_head(conn, self.id, size)

    def holding(self, name: str, examples: list[Example] | None = None, background: StepAside | None = None) -> frozenset[int]:
        """The numbers of the examples for which the registered test ``name`` holds
        (:data:`EXAMPLE_TESTS`): only examples not asked before are asked (an edit makes a new object)."""
        with self.lock:
            memo = self._tests.get(name)
            if memo is None:
                memo = self._tests[name] = ExampleTest(EXAMPLE_TESTS[name])
            snapshot = list(self.examples) if examples is None else examples
        return memo.numbers(snapshot, background)  # the warm-up holds the memo's lock one chunk at a time, never across a pause

    def model(self) -> catalog.ModelInfo:
        return open_tokenizers.model_info(self.options.model, self.options.max_seq_length)

    def check(self, progress: Progress | None = None, full: bool = False) -> checks.CheckResult:
        """The current check result.  A full run happens the first time, after an option
        changed, or with ``full=True`` when edits left the dataset-wide parts stale."""
        self._await_first_check(progress)
        if full:
            self._await("refresh")
        with self.lock:
            if self.result is None:
                self.result = checks.run(
                    self.examples, model=self.options.model, epochs=self.options.epochs,
                    price=self.options.price, threshold=self.options.threshold,
                    read_findings=findings_from(self.meta), progress=progress, signature_cache=self._sigs,
                    columns=semantic.column_names(self.meta.get("mapping")) if self.meta.get("layout") == "table" else None,
                    max_seq_length=self.options.max_seq_length,
                    # the memos learn every example now: the first edit's refresh redoes one
                    duplicate_search=self._dups.find, dataset_check=self._semantic.findings,
                )
                self.stale = False
                if len(self.examples) >= INCREMENTAL_MIN:
                    freeze_heap()  # the examples and the check result stay as long as the workspace is open
                self._warm_other_encodings()
            elif full and self.stale:
                self.result = self._refresh_dataset_parts(self.result, progress)
                self.stale = False
            return self.result

    # -- the first check, in the background (loading) -----------------------------------
    def start_check(self) -> None:
        """Start the first check in a helper thread and return at once: the Upload page shows
        the loaded file while the check runs (its bar follows :meth:`check_progress`), and a
        page that needs the result waits for it in :meth:`check`, with the same bar moving."""
        with self.lock:
            if self.result is not None or self._first is not None:
                return
            self._first = FirstCheck(self)

    def checking(self) -> bool:
        """True while the background first check runs (the sidebar and the Upload page ask)."""
        first = self._first
        return first is not None and not first.done.is_set()

    def check_progress(self) -> tuple[float, str]:
        """(fraction, text) of the background check, creeping between its own reports and
        counting the seconds, so a bar drawn from it never stands still."""
        first = self._first
        return first.shown() if first is not None else (1.0, "Checked")

    def _await_first_check(self, progress: Progress | None) -> None:
        """Wait for a background first check (not from its own thread), relaying its progress;
        once it is over the normal path runs (a failed one is then run, and raises, here)."""
        first = self._first
        if first is None or first.thread is threading.current_thread():
            return
        while not _wait(first.done, ingest.TICK_S):
            if progress is not None:
                progress(*first.shown())
        self._first = None

    def counts_for(self, encoding: str) -> tokens.TokenCounts:
        """Token counts with ``encoding`` (the Cost page prices every model on its own
        tokenizer): counted once per workspace, then patched edit by edit like the rest."""
        res = self.check()
        if encoding == res.counts.encoding:
            return res.counts
        pending = self._warming.get(encoding)
        if pending is not None and encoding not in self._other:
            with PAGES.waiting():
                pending.result()
        with self.lock:
            if encoding not in self._other:
                self._other[encoding] = tokens.count(self.examples, encoding)
            return self._other[encoding]

    def counts_if_ready(self, encoding: str) -> tokens.TokenCounts | None:
        """Like :meth:`counts_for`, but ``None`` while the background count for ``encoding`` is
        still running: the Cost page shows the models that are ready instead of waiting."""
        pending = self._warming.get(encoding)
        if pending is not None and not pending.done() and encoding not in self._other and encoding != self.check().counts.encoding:
            return None
        return self.counts_for(encoding)

    def _warm_other_encodings(self) -> None:
        """Count the other tokenizers in the background on large data, so the Cost page's
        first visit does not wait; a result is kept only if no edit happened meanwhile."""
        if len(self.examples) < INCREMENTAL_MIN or self.result is None:
            return
        snapshot = list(self.examples)
        aside = StepAside()  # the first visits right after the check come first, for a few seconds in all
        for name in EXAMPLE_TESTS:  # Validate's grid first: the page people open first after the check
            _WARMER.submit(self.holding, name, snapshot, aside)
        # The Tokens and Export pages' tables next (a second or two each): the Cost page shows
        # the models already counted and fills in the rest, so the tokenizers can come after.
        self._pending["control"] = (self.version, _WARMER.submit(self._warm_control, self.result, self.version, aside))
        self._pending["export"] = (self.version, _WARMER.submit(self._warm_export, self.result, aside))
        # Then the duplicate search's memo (texts normalised, digests, band keys), so the refresh
        # after the first edit redoes one example; the Cost page shows counts as they come.
        _WARMER.submit(self._warm_prompt_replies, list(self.examples), self.version)
        _WARMER.submit(freeze_heap)  # the indexes just built are long-lived too
        active = self.result.counts.encoding
        # The check counted in a worker process: load the active tokenizer here too, so the first
        # edit does not wait half a second for it (an edit is re-counted in this process).
        _WARMER.submit(_load_tokenizer, self.examples[:1], active)
        for enc in sorted({m.encoding for m in catalog.models().values()} - {active} - set(self._other) - set(self._warming)):
            snapshot, version = list(self.examples), self.version

            def work(enc: str = enc, snapshot: list[Example] = snapshot, version: int = version) -> tokens.TokenCounts:
                counts = tokens.count(snapshot, enc)
                tokens.count(snapshot[:1], enc)  # large inputs are counted in a worker process: load the BPE here too, for edits
                with self.lock:
                    if enc not in self._other and len(snapshot) == len(self.examples):
                        # Edited meanwhile: the examples that changed are counted again, the rest
                        # kept (throwing it all away made the Cost page count 100,000 examples again).
                        changed = [p for p, (a, b) in enumerate(zip(snapshot, self.examples)) if a is not b] if self.version != version else []
                        if changed:
                            _patch_counts(counts, [self.examples[p] for p in changed], changed, enc)
                        self._other[enc] = counts
                return counts

            self._warming[enc] = _WARMER.submit(work)
        _WARMER.submit(freeze_heap)

    def _warm_control(self, res: checks.CheckResult, version: int, aside: StepAside | None = None) -> None:
        """The Tokens page's control-token table, ready before its first visit; scanned chunk by
        chunk, stepping aside for pages (after an edit the chunks hold only the edited texts that
        are new, unless the first scan has not finished: then this one goes on with it)."""
        with self.lock:
            if self.version != version or (version, res.model.name) in self._control:
                return
            snapshot = list(res.examples)
        if self._control_model != res.model.name:  # every text still to scan (after an edit only the edited ones: one call)
            size = sieve_chunk(snapshot)  # large enough for the scan's fast sieve: smaller chunks scanned every text with `re`
            for part in chunks(snapshot, aside, size):  # each chunk's new texts scanned and kept; the table below scans nothing new
                self._control_index.rows(part, res.model)
        rows = self._control_index.rows(snapshot, res.model)
        self._control_model = res.model.name
        with self.lock:
            if self.version == version:
                self._control = {(version, res.model.name): rows}

    def _warm_export(self, res: checks.CheckResult, aside: StepAside | None = None) -> None:
        """Render the default target's lines into the Export page's cache, so its first visit
        only joins bytes.  Lines of examples edited meanwhile are simply rendered again there."""
        with contextlib.suppress(Exception):  # a warm-up only: the page's own build says what is wrong
            target, errors = get_target(default_target()), res.error_examples()
            for part in chunks(res.examples, aside):  # the lines, chunk by chunk; the build below renders nothing new
                self._render.lines([e for e in part if e.record is not None and not e.dropped and e.index not in errors], target)
            export.build(res, target.name, 0.0, "none", 0, self.source_rows, self._render)

    def _warm_prompt_replies(self, snapshot: list[Example], version: int) -> None:
        """The duplicate and semantic memos brought up to every example before the first refresh.
        The browser's first check already taught them (``checks.run(duplicate_search=...,
        dataset_check=...)``), so this is a look over the examples; where it did not, each
        example's texts are worked out from the example itself, as the normalised table would."""
        del version  # kept per example object: what the memos learn stays right after an edit
        with contextlib.suppress(Exception), gc_pause.paused():  # a warm-up only: the refresh itself says what is wrong
            self._dups.find(snapshot, self.options.threshold, {})  # digests and band keys, so an edit's refresh redoes one example
            self._semantic.findings(snapshot, {})  # each example's system prompt, prompt and reply, grouped
            with self.lock:
                # Both memos hold what they need of every example now: the normalised texts (as
                # large as the data, 500 MB at 380,000 examples) need not be made or kept.  An
                # empty table means "work it out from the example" everywhere it is read; edits add theirs.
                self._pr = {}

    def _prompt_replies(self) -> dict[int, tuple[str, str]]:
        if self._pr is None:
            self._pr = semantic.prompt_replies(self.examples)
        return self._pr

    def _refresh_dataset_parts(self, res: checks.CheckResult, progress: Progress | None,
                               examples: list[Example] | None = None,
                               pr: dict[int, tuple[str, str]] | None = None,
                               wanted: Callable[[], bool] | None = None) -> checks.CheckResult:
        """After patched edits: redo only what depends on the whole dataset (duplicates,
        conflicting answers, system-prompt and size findings); per-example parts are current.
        ``examples`` and ``pr``: a snapshot to work on (the background refresh), else the live ones.
        ``wanted``: asked between the duplicate search's steps and after it; False (a newer edit came,
        a fix then an undo at 380,000 examples) stops there and returns ``res`` as it was, for the
        caller to drop (the refresh of the newer version waits behind it)."""
        say = progress or (lambda _f, _s: None)
        say(0.1, "Comparing examples")
        examples = self.examples if examples is None else examples
        pr = self._prompt_replies() if pr is None else pr
        say(0.3, "Looking for duplicates")
        with gc_pause.paused():  # 100k long-lived examples: see validators/checking/gc_pause.py
            dupes = self._dups.find(examples, self.options.threshold, pr, wanted)
            if dupes is None or (wanted is not None and not wanted()):
                return res
            say(0.9, "Checking the dataset as a whole")
            found = [f for f in res.findings if not codes.is_dataset_wide(f.code)]
            found += self._semantic.findings(examples, pr) + checks.duplicate_findings(examples, dupes)
            checks.sort_findings(found)
        say(1.0, "Done")
        return replace(res, findings=found, dupes=dupes)

    def example(self, index: int) -> Example:
        return self.examples[self._pos[index]]

    def position(self, index: int) -> int:
        """Where example ``index`` sits in :attr:`examples` (and in the check result's arrays)."""
        return self._pos[index]

    def has(self, index: int) -> bool:
        return index in self._pos

    # -- changing -----------------------------------------------------------------------
    def apply(self, new: list[Example], label: str, summary: str = "", base: Mapping[int, str] | None = None) -> int:
        """Persist the changed examples (with undo) in one transaction, then patch the result.

        ``base`` maps each example index to the :func:`~validators.storing.workspace.etag` of the
        example the user edited (taken when the page was drawn).  If any of them has changed
        since (another tab merged turns, say), :class:`~validators.storing.workspace.StaleEdit` is
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
            self.options = Options.of(store.set_options(conn, self.id, **options))
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
        self.result = patch(self.result, self.examples, [self._pos[e.index] for e in new], self.options.price)
        self.stale = True  # duplicates / conflicts: refreshed in the background, or by the page that needs them
        self._refresh_soon()

    def _refresh_soon(self) -> None:
        """Start the dataset-wide refresh right after an edit, on a snapshot, in the background.

        Why: at 100k examples it takes seconds, and the Duplicates page (or an export leaving
        duplicates out) would wait for it on the next visit; started now, it runs while the
        user reads the grid.  Its answer is kept only if no edit came meanwhile (same version,
        same result object), so it is exactly what the page's own refresh would compute."""
        version, res = self.version, self.result

        def work() -> None:
            with self.lock:
                if self.version != version or not self.stale or self.result is not res:
                    return
                snapshot = list(self.examples)
                pr = dict(self._pr) if self._pr is not None else {}
            # Without the warm-up's table (not made yet, or let go once the memos held it) the
            # memos work out only the edited examples' texts from the examples themselves;
            # normalising every example here took 1.6 s at 100k before the first edit's answer.
            fresh = self._refresh_dataset_parts(res, None, snapshot, pr, lambda: self.version == version)  # type: ignore[arg-type]
            with self.lock:
                if self.version == version and self.stale and self.result is res:
                    self.result, self.stale = fresh, False

        # The duplicate groups first (the Duplicates page and a de-duplicated export wait for them),
        # then the Tokens page's control-token table (that page shows the rest meanwhile).
        self._pending["refresh"] = (version, _REFRESHER.submit(work))
        self._pending["control"] = (version, _REFRESHER.submit(self._warm_control, res, version))

    def control_rows(self, res: checks.CheckResult) -> list[dict[str, Any]]:
        """The control-token table (one row per destination) for this version and model: one
        pass over every text, done once per version, in the background right after an edit."""
        key = (self.version, res.model.name)
        if key not in self._control:
            self._await("control")
        rows = self._control.get(key)
        if rows is None:
            rows = self._control_index.rows(res.examples, res.model)
            self._control_model = res.model.name
            self._control = {key: rows}
        return rows

    def control_rows_if_ready(self, res: checks.CheckResult) -> list[dict[str, Any]] | None:
        """:meth:`control_rows`, or ``None`` while the background pass that makes them is still queued
        or running: the Tokens page shows everything else at once and fills the table in (one pass
        over 380,000 texts is seconds, and it comes right after the first check)."""
        rows = self._control.get((self.version, res.model.name))
        if rows is not None:
            return rows
        return self.control_rows(res) if self.ready("control") else None

    def export_ready(self, dedupe: str) -> bool:
        """False while what an export with ``dedupe`` needs is still worked out in the background: the
        default target's lines (after the first check), and the duplicate groups after edits when
        the export leaves duplicates out.  The Export page says so and fills in when it is ready."""
        if not self.ready("export"):
            return False
        return dedupe == "none" or not self.stale or self.ready("refresh")

    def groups_ready(self) -> bool:
        """False while the duplicate groups are still searched again in the background after edits
        (right after the first check of a large file that search can wait for the warm-up's first
        one): the Duplicates page says so and fills the groups in when they are ready."""
        return not self.stale or self.ready("refresh")

    def ready(self, name: str) -> bool:
        """False while the background work ``name`` ("refresh", "control", "export") of this
        version is queued or running."""
        pending = self._pending.get(name)
        return pending is None or pending[0] != self.version or pending[1].done()

    def _await(self, name: str) -> None:
        """Wait for the background work ``name`` ("refresh", "control", "export") of this version if it is
        already running, rather than doing it twice at once (never while holding the lock: it
        needs it to hand its answer over); one still queued behind other background work is
        cancelled, and the caller does the work at once instead."""
        pending = self._pending.get(name)
        if pending is None or pending[0] != self.version or pending[1].done():
            return
        if not pending[1].cancel():
            with contextlib.suppress(Exception), PAGES.waiting():  # it failed: the caller's own refresh says why
                pending[1].result()

    # -- duplicates, export and reports ---------------------------------------------------
    def duplicates_left_out(self) -> int:
        """How many examples the duplicate choice left out (they carry :data:`DUP_CODE`)."""
        return sum(1 for e in self.examples if e.dropped and e.dropped_code == DUP_CODE)

    def keep_all_duplicates(self) -> str:
        """Bring back every example the duplicate choice left out."""
        back = {e.index for e in self.examples if e.dropped and e.dropped_code == DUP_CODE}
        fix = restore(self.examples, back)
        self.apply_fix(fix, "Keep all duplicates")
        return fix.summary

    def keep_one_per_group(self, groups: list[list[int]], chosen: Mapping[int, int]) -> str:
        """Keep ``chosen[g]`` (default: the first) of each group ``g`` and leave out the rest,
        each with a reason naming the example it duplicates."""
        drop: dict[int, str] = {}
        for g, group in enumerate(groups):
            kept = self.example(chosen.get(g, group[0]))
            for n in group:
                if n != kept.index:
                    drop.setdefault(n, f"{DUP_REASON} {kept.index} (row {kept.row})")
        new = [replace(self.example(n), dropped=why, dropped_code=DUP_CODE) for n, why in drop.items() if not self.example(n).dropped]
        if new:
            self.apply(new, "Keep one per duplicate group", f"Left out {len(new)} duplicate example(s).")
        return f"Left out {len(new)} duplicate example(s); kept one per group."

    def dedupe_default(self, choice: str | None) -> tuple[str, str]:
        """The export's duplicate mode following the Duplicates page's ``choice``
        (``"keep_one"`` / ``"keep_all"`` / None), and a sentence saying so.  "Keep one per
        group" left out the others of every exact and near group, so the export starts from
        leaving out exact and near duplicates; "Keep all" (or no choice yet) keeps them."""
        left = self.duplicates_left_out()
        if choice == "keep_all":
            return "none", "As chosen on the Duplicates page: keep all duplicates."
        if choice == "keep_one" or left:
            return "near", f"As chosen on the Duplicates page: one example kept per group ({left:,} left out there)."
        return "none", "No choice made on the Duplicates page yet: duplicates are kept."

    def export(self, target: str, split: float, dedupe: str, seed: int = 0) -> ExportResult:
        """The export files for these settings.  Errors are always current; the duplicate
        groups are refreshed first only when the export removes them."""
        self._await("export")  # the default target's lines, rendered in the background after the first check
        return export.build(self.check(full=dedupe != "none"), target, split, dedupe, seed, self.source_rows, self._render)

    def target_matrix(self) -> dict[str, Any]:
        """Which targets would accept this data (an export built per target)."""
        return matrix.target_matrix(self.check())

    def history(self) -> list[dict[str, Any]]:
        """The fixes and edits applied, oldest first (for the validation report)."""
        return history(self.id)

    def validation_report(self, out: ExportResult) -> bytes:
        """The validation report of this export, as the CLI's ``--report-dir`` writes it."""
        return report.validation_report(self.name, self.meta.get("format"), self.source_rows, self.history(), self.check(), out)

    def findings_csv(self) -> bytes:
        return report.findings_csv(self.check())

    def report_names(self) -> tuple[str, str]:
        """(validation report, findings CSV) download names."""
        return report.file_names(self.name)

    @property
    def exact(self) -> bool:
        """True when every number shown is from a full check (nothing patched since)."""
        return self.result is not None and not self.stale


def _wait(event: threading.Event, seconds: float) -> bool:
    with PAGES.waiting():
        return event.wait(seconds)


def _load_tokenizer(sample: list[Example], encoding: str) -> None:
    """Count ``sample`` with ``encoding`` once, so the tokenizer is loaded in this process (a warm-up)."""
    with contextlib.suppress(Exception):  # a warm-up only: an edit's own count says what is wrong
        tokens.count(sample, encoding)


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
    per-example findings come from :func:`validators.checking.checks.check_examples`, the same path
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


class FirstCheck:
    """A workspace's first check running in its own thread, and how far it has got."""

    def __init__(self, live: Session) -> None:
        self.began = self.since = time.monotonic()
        self.latest = (0.0, "Checking the examples")
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(live,), name="ftprep-first-check", daemon=True)
        self.thread.start()

    def _run(self, live: Session) -> None:
        try:
            live.check(progress=self._report)
        except Exception:  # noqa: BLE001 - said by the page: its own check() runs again and raises
            pass
        finally:
            self.done.set()

    def _report(self, fraction: float, text: str) -> None:
        if fraction != self.latest[0]:
            self.since = time.monotonic()
        self.latest = (fraction, text)

    def shown(self) -> tuple[float, str]:
        """The bar's value and text: :func:`ingest.with_progress`'s creep and seconds."""
        real, said = self.latest
        now = time.monotonic()
        creep = min((now - self.since) * ingest.CREEP, (1.0 - real) * 0.9)
        return min(real + creep, 1.0), f"{said}… {now - self.began:.0f} s"


_FRESH: OrderedDict[str, Session] = OrderedDict()  # just created, not yet opened: handed over, not re-read


def open_workspace(ws_id: str) -> Session | None:
    with _DB_LOCK:
        fresh = _FRESH.pop(ws_id, None)
    if fresh is not None and current_version(ws_id) == fresh.version:
        return fresh
    with db() as conn:
        ws = store.load(conn, ws_id, with_data=False)  # the upload is read only when a page needs it
    return Session(ws) if ws else None


def current_version(ws_id: str) -> int | None:
    with db() as conn:
        return store.version(conn, ws_id)


def create_workspace(name: str, data: bytes, ds: Any, options: Options | Mapping[str, Any]) -> str:
    """Store a new workspace.  Its examples are handed to the first :func:`open_workspace`
    as they are, instead of being read back from the store: a second copy of a large upload
    in memory was most of the upload's peak."""
    options = Options.of(options).to_dict()
    if len(ds.examples) >= INCREMENTAL_MIN:
        freeze_heap()  # the examples just read stay: storing them must not walk them all again and again
    with db() as conn:
        wid = store.create(conn, name, data, ds.examples, options, meta_of(ds))
    same = json.loads(json.dumps([store.clean_options(options), meta_of(ds)]))  # exactly what a reload would give
    ws = store.Workspace(wid, name, b"", same[0], same[1], 0, ds.examples, stored_chars=len(data))
    with _DB_LOCK:
        _FRESH[wid] = Session(ws)
        while len(_FRESH) > 2:
            _FRESH.popitem(last=False)
    return wid


def remap(live: Session, ds: Any, options: Options | Mapping[str, Any]) -> None:
    """The user changed the mapping / sheet / default prompt: replace every example."""
    options = Options.of(options)
    thaw_heap()  # the examples replaced may go
    with live.lock, db() as conn:
        live.version = store.replace_examples(conn, live.id, ds.examples, options.to_dict(), meta_of(ds))
        live.options, live.meta, live.examples = options, meta_of(ds), ds.examples
        live._pos = {e.index: p for p, e in enumerate(live.examples)}
        live._pr = None
        live._semantic = SemanticIndex()
        live._tests = {}
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


class SessionCache:
    """The workspaces held in memory, least recently used evicted first.

    Bounded by count (``FTPREP_CACHE_WORKSPACES``, default 8) and by approximate size
    (``FTPREP_CACHE_MB``, default 2048): without a bound every workspace ever opened stayed
    in memory until the server stopped.  An evicted workspace is simply read again from the
    store when a page next asks for it; the one just used is always kept."""

    def __init__(self, max_count: int | None = None, max_mb: int | None = None) -> None:
        self.max_count = max_count or _env_int("FTPREP_CACHE_WORKSPACES", 8)
        self.max_bytes = (max_mb or _env_int("FTPREP_CACHE_MB", 2048)) * 1_000_000
        self._items: OrderedDict[tuple[str, str], Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Session | None:
        with self._lock:
            live = self._items.get(key)
            if live is not None:
                self._items.move_to_end(key)
            return live

    def put(self, key: tuple[str, str], live: Session) -> None:
        with self._lock:
            self._items[key] = live
            self._items.move_to_end(key)
            while len(self._items) > 1 and (len(self._items) > self.max_count or self.total_bytes() > self.max_bytes):
                self._items.popitem(last=False)
                thaw_heap()

    def pop(self, key: tuple[str, str]) -> None:
        with self._lock:
            if self._items.pop(key, None) is not None:
                thaw_heap()

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


def retention_note() -> str:
    """The operator's retention policy in one sentence, for the pages."""
    return store.Retention.from_env().describe()


def list_workspaces(ids: list[str]) -> list[dict[str, Any]]:
    """Name and size of these workspaces (the sidebar's "Your other workspaces")."""
    with db() as conn:
        return store.list_workspaces(conn, ids)


def cache_key(ws_id: str) -> tuple[str, str]:
    """The key of a workspace in a :class:`SessionCache`: its database file and id."""
    return str(store.db_path().resolve()), ws_id

