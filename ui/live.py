"""A workspace held in memory with its check result, kept current edit by edit.

Plain Python (no Streamlit): ``ui/state.py`` caches one :class:`Live` per workspace id with
``st.cache_resource``, so moving between pages never re-reads the upload or re-runs the
check.  A full check of 100,000 examples takes seconds, so an edit re-checks only the
examples it changed (schema, semantic, tokens, cost) and patches the findings; the
dataset-wide parts (duplicates, conflicting answers) are marked ``stale`` and recomputed
when a page needs them (Duplicates, Export).  Small datasets are simply re-checked whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from validators import catalog, checks, cost, duplicates, schema_check, semantic, tokens
from validators import workspace as store
from validators.fixes import FixResult
from validators.model import Example, Finding, finding

INCREMENTAL_MIN = 5000  # below this many examples a full re-check is fast enough and exact
# Findings that depend on the whole dataset (semantic.check_dataset and the duplicate search).
DATASET_CODES = {
    "conflicting_answers", "exact_duplicate", "near_duplicate", "too_few_examples", "few_examples", "no_system_prompt",
    "missing_system", "many_system_prompts",
}

Progress = Callable[[float, str], None]

_WARMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ftprep-warm")
_DB_LOCK = threading.RLock()
_CONNS: dict[str, Any] = {}


@contextmanager
def db() -> Iterator[Any]:
    """One shared connection per database file, used by one thread at a time."""
    path = str(store.db_path().resolve())
    with _DB_LOCK:
        conn = _CONNS.get(path)
        if conn is None:
            conn = _CONNS[path] = store.connect(path)
        yield conn


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
        return catalog.model(self.options.get("model"))

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
        found = [f for f in res.findings if f.code not in DATASET_CODES]
        found += semantic.check_dataset(self.examples, pr) + checks._duplicate_findings(self.examples, dupes)
        found.sort(key=lambda f: (f.severity != "error", f.example or 0, f.message_index or 0))
        say(1.0, "Done")
        return replace(res, findings=found, dupes=dupes)

    def example(self, index: int) -> Example:
        return self.examples[self._pos[index]]

    # -- changing -----------------------------------------------------------------------
    def apply(self, new: list[Example], label: str, summary: str = "") -> int:
        """Persist the changed examples (with undo) in one transaction, then patch the result."""
        with self.lock:
            before = [self.example(e.index) for e in new]
            with db() as conn:
                self.version = store.update_examples(conn, self.id, new, before, label, summary)
            self._replace(new)
            return len(new)

    def apply_fix(self, fix: FixResult, label: str) -> int:
        """A bulk fix's result: only the examples it changed are written and re-checked."""
        changed = set(fix.changed)
        new = [e for e in fix.examples if e.index in changed]
        return self.apply(new, label, fix.summary) if new else 0

    def undo(self) -> str | None:
        with self.lock, db() as conn:
            done = store.undo(conn, self.id)
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


def example_findings(ex: Example, limit: int, model_name: str, total: int, columns: dict[str, str] | None = None) -> list[Finding]:
    """Per-example findings: schema + semantic + over the token limit."""
    out = schema_check.check_schema([ex]) + semantic.check_example(ex, columns)
    if not ex.dropped and total > limit:
        out.append(finding("warning", "over_token_limit", f"has {total:,} tokens, over the {limit:,}-token limit of {model_name}; the end would be cut off in training. Drop it or trim its earliest turns.", ex))
    return out


def patch(result: checks.CheckResult, examples: list[Example], positions: list[int], price: float | None) -> checks.CheckResult:
    """``result`` with the examples at ``positions`` re-checked and re-counted."""
    info = result.model
    changed = [examples[p] for p in positions]
    numbers = {e.index for e in changed}
    counts = result.counts
    _patch_counts(counts, changed, positions, info.encoding)
    kept = [f for f in result.findings if f.example not in numbers or f.code in DATASET_CODES]
    for p, e in zip(positions, changed):
        kept += example_findings(e, info.limit, info.name, int(counts.total[p]), result.options.get("columns"))
    kept.sort(key=lambda f: (f.severity != "error", f.example or 0, f.message_index or 0))
    est = cost.estimate(counts.total[checks.usable_mask(examples)], info.limit, info.training if price is None else price, result.options.get("epochs"))
    return replace(result, examples=examples, findings=kept, counts=counts, estimate=est)


def open_workspace(ws_id: str) -> Live | None:
    with db() as conn:
        ws = store.load(conn, ws_id, with_data=False)  # the upload is read only when a page needs it
    return Live(ws) if ws else None


def current_version(ws_id: str) -> int | None:
    with db() as conn:
        return store.version(conn, ws_id)


def create_workspace(name: str, data: bytes, ds: Any, options: dict[str, Any]) -> str:
    with db() as conn:
        return store.create(conn, name, data, ds.examples, options, meta_of(ds))


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
