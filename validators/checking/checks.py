"""The whole check in one call: format, semantics, tokens, cost, duplicates.

Both faces use :func:`run`: the CLI on a file, the browser on the workspace's current
examples, so the same data gives the same answers in both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import catalog
from ..counting import cost, open_tokenizers, reserved_tokens, tokens
from ..model import Dataset, Example, Finding, finding
from . import duplicates, forked, gc_pause, pii, schema_check, semantic, sieve

Progress = Callable[[float, str], None]


@dataclass
class CheckResult:
    examples: list[Example]
    model: catalog.ModelInfo
    findings: list[Finding]
    counts: tokens.TokenCounts
    estimate: cost.Estimate
    dupes: duplicates.DuplicateGroups
    options: dict[str, Any] = field(default_factory=dict)
    # the message texts gathered for the control-token check, kept for the first to_json only
    # (init=False: a result copied with dataclasses.replace after an edit gathers afresh)
    control_texts: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def error_examples(self) -> set[int]:
        return {f.example for f in self.errors if f.example is not None}

    def live(self) -> list[Example]:
        return [e for e in self.examples if not e.dropped]

    def over_limit(self) -> list[int]:
        # NumPy finds the few over the limit: reading 100,000 counts one by one as NumPy scalars took 20 ms
        over = np.flatnonzero(self.counts.total[: len(self.examples)] > self.model.limit).tolist()
        return [self.examples[i].index for i in over if not self.examples[i].dropped]

    def usable_mask(self) -> np.ndarray:
        return usable_mask(self.examples)

    def _open_json(self, live_mask: np.ndarray) -> dict[str, Any]:
        """Extra token facts: images not counted; for an open model, its tokenizer and what is trained."""
        out: dict[str, Any] = {}
        gathered, self.control_texts = self.control_texts, None
        if isinstance(gathered, ControlAnswers):
            out["control_tokens_by_target"] = gathered.rows
        else:
            out["control_tokens_by_target"] = reserved_tokens.by_target(self.examples, self.model, gathered)
        if self.counts.images_uncounted is not None:
            out["images_not_counted"] = int(self.counts.images_uncounted[live_mask].sum())
        if self.counts.is_open:
            tok = open_tokenizers.load(self.model.name)
            out.update(tokenizer=tok.source, generation_markers=tok.markers, max_seq_length=self.model.limit,
                       trained_total=int(self.counts.assistant[live_mask].sum()), not_counted=sorted(self.counts.problems))
        return out

    def to_json(self) -> dict[str, Any]:
        with gc_pause.paused():
            return self._to_json()

    def _to_json(self) -> dict[str, Any]:
        live_mask = self.usable_mask()
        # tolist first: Python numbers, not 100,000 NumPy scalars made one by one (half the time)
        totals = self.counts.total.tolist()
        per = totals if self.counts.counted.all() else [t if ok else None for t, ok in zip(totals, self.counts.counted.tolist())]
        live_tokens = self.counts.total[live_mask]
        return {
            "examples": len(self.examples),
            "usable_examples": int(len(self.examples) - len(self.error_examples() | {e.index for e in self.examples if e.dropped})),
            "model": self.model.name,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "tokens": {
                "encoding": self.counts.encoding,
                "per_example": per,
                "total": int(live_tokens.sum()),
                "assistant_total": int(self.counts.assistant[live_mask].sum()),
                "billing": self.estimate.billing_tokens,
                "limit": self.model.limit,
                "over_limit": self.over_limit(),
                "stats": tokens.stats(live_tokens),
                **self._open_json(live_mask),
            },
            "epochs": self.estimate.epochs,
            "charged_tokens": self.estimate.charged_tokens,
            "price_per_million": self.estimate.price_per_million,
            "cost_usd": round(self.estimate.cost_usd, 4),
            "duplicates": self.dupes.to_dict(),
        }


def usable_mask(examples: list[Example]) -> np.ndarray:
    """True for each example that goes to the export (read, and not left out): the ones
    whose tokens are billed and shown."""
    return np.fromiter((not e.dropped and e.record is not None for e in examples), dtype=bool, count=len(examples))


# (examples, threshold, prompt_replies) -> the groups duplicates.find(near=True) gives
DuplicateSearch = Callable[[list[Example], float, dict[int, tuple[str, str]]], "duplicates.DuplicateGroups | None"]
# (examples, prompt_replies) -> the findings semantic.check_dataset gives
DatasetCheck = Callable[[list[Example], dict[int, tuple[str, str]]], list[Finding]]


def run(
    examples: list[Example],
    model: str | None = None,
    epochs: int | None = None,
    price: float | None = None,
    threshold: float = duplicates.DEFAULT_THRESHOLD,
    near: bool = True,
    read_findings: list[Finding] | None = None,
    progress: Progress | None = None,
    signature_cache: duplicates.SignatureCache | None = None,
    columns: dict[str, str] | None = None,
    max_seq_length: int | None = None,
    duplicate_search: DuplicateSearch | None = None,
    dataset_check: DatasetCheck | None = None,
) -> CheckResult:
    """Check ``examples`` for ``model``; ``price`` overrides the catalogue's training price;
    ``columns`` (:func:`semantic.column_names`) lets findings name the user's columns.
    ``model`` may name an open base model (then ``max_seq_length`` is the limit).
    ``duplicate_search``: the near-duplicate search to use in this process instead of
    :func:`duplicates.find` (same answer): the browser's session passes its memo
    (``dup_index.DupIndex.find``), so the first check leaves it knowing every example and the
    refresh after the first edit redoes one example instead of searching everything again.
    ``dataset_check``: likewise for :func:`semantic.check_dataset` (``SemanticIndex.findings``)."""
    with gc_pause.paused():  # millions of long-lived objects: see validators/checking/gc_pause.py
        return _run(examples, model, epochs, price, threshold, near, read_findings, progress, signature_cache, columns, max_seq_length,
                    duplicate_search, dataset_check)


def _run(
    examples: list[Example], model: str | None, epochs: int | None, price: float | None, threshold: float, near: bool,
    read_findings: list[Finding] | None, progress: Progress | None, signature_cache: duplicates.SignatureCache | None,
    columns: dict[str, str] | None, max_seq_length: int | None, duplicate_search: DuplicateSearch | None = None,
    dataset_check: DatasetCheck | None = None,
) -> CheckResult:
    info = open_tokenizers.model_info(model, max_seq_length)
    say = progress or (lambda _f, _s: None)
    child = _fork_counting(examples, info)
    if child is not None:  # its findings end with the duplicates' (worked out while the child still ran)
        findings, counts, dupes, control = _run_split(examples, info, threshold, near, read_findings, say, signature_cache, columns, child)
    else:
        findings, counts, dupes, control = _run_threads(examples, info, threshold, near, read_findings, say, signature_cache, columns,
                                                        duplicate_search if near else None, dataset_check)
        findings += duplicate_findings(examples, dupes)
    est = cost.estimate(counts.total[usable_mask(examples)], info.limit, info.training if price is None else price, epochs)
    sort_findings(findings)
    say(1.0, "Done")
    result = CheckResult(examples, info, findings, counts, est, dupes,
                         {"epochs": epochs, "price": price, "threshold": threshold, "columns": columns or {},
                          "max_seq_length": max_seq_length})
    result.control_texts = control
    return result


_Parts = tuple[list[Finding], tokens.TokenCounts, duplicates.DuplicateGroups, Any]


def _run_threads(
    examples: list[Example], info: catalog.ModelInfo, threshold: float, near: bool, read_findings: list[Finding] | None,
    say: Progress, signature_cache: duplicates.SignatureCache | None, columns: dict[str, str] | None,
    duplicate_search: DuplicateSearch | None = None, dataset_check: DatasetCheck | None = None,
) -> _Parts:
    """The check in this process, with worker processes for encoding and the personal-data
    regexes (the browser's way, and wherever forking is not safe)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        # tiktoken and NumPy release the GIL while they work, so token counting and the
        # near-duplicate search run on the second core beside the Python checks.  Progress
        # is reported from this thread only (Streamlit widgets live in the script thread).
        # Large data: token counting and the personal-data scan each run in a worker process
        # (started from the pool thread / from here) while this thread does the Python checks.
        counting = pool.submit(tokens.count, examples, info.encoding)
        per_example = ExampleChecks(examples, columns)  # starts the personal-data scan (issue 5)
        say(0.05, "Comparing examples")
        prompt_replies = semantic.prompt_replies(examples)
        if duplicate_search is not None:
            searching = pool.submit(duplicate_search, examples, threshold, prompt_replies)
        else:
            searching = pool.submit(duplicates.find, examples, threshold, near, None, prompt_replies, signature_cache)
        say(0.25, "Checking the format")
        findings: list[Finding] = list(read_findings or [])
        say(0.4, "Checking each example")
        findings += per_example.content()
        findings += (dataset_check or semantic.check_dataset)(examples, prompt_replies)
        findings += per_example.personal()
        say(0.6, f"Counting tokens with {info.name}'s tokenizer" if info.encoding.startswith(open_tokenizers.PREFIX) else f"Counting tokens ({info.encoding})")
        counts = counting.result()
        say(0.8, "Looking for duplicates")
        dupes = searching.result()
    control = _gather_control(examples, info)
    findings += per_example.token_findings(counts, range(len(examples)), info, control)
    return findings, counts, dupes, control


@dataclass
class ControlAnswers:
    """The control-token findings and the table by destination, worked out by the forked
    child (:func:`_count_and_scan`) so ``to_json`` need not gather the texts again."""

    findings: list[Finding]
    rows: list[dict[str, Any]]


@dataclass
class _Counted:
    """What the forked child sends back: token counts, personal data, control tokens, and
    the JSON Schema findings (moved there to even out the two processes' work)."""

    counts: tokens.TokenCounts
    personal: list[Finding]
    control: ControlAnswers
    schema: list[Finding]


def _count_and_scan(examples: list[Example], info: catalog.ModelInfo, workers: bool = False) -> _Counted:
    """Token counts, the personal-data scan, the control-token scan and the JSON Schema
    check of every example, in this process (``workers=False``: it is the forked child,
    itself the second core)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        # tiktoken releases the GIL while it encodes: the encoding thread takes a core the
        # moment the other process waits, so the two processes even out by themselves.
        counting = pool.submit(tokens.count, examples, info.encoding, workers=workers)
        with sieve.together(_sieve_patterns(info)):  # one RE2 pass for both scans
            scan = pii.check_later(examples, workers=workers)
            personal = scan()
            gathered = _gather_control(examples, info, scan.gathered())
        control = ControlAnswers(reserved_tokens.check(examples, info, gathered), reserved_tokens.by_target(examples, info, gathered))
        schema = schema_check.check_schema(examples)
        return _Counted(counting.result(), personal, control, schema)


def _sieve_patterns(info: catalog.ModelInfo) -> list[str]:
    """The personal-data and control-token sieves' patterns, for one shared pass."""
    try:
        control = reserved_tokens.sieve_pattern(info)
    except Exception:  # noqa: BLE001 - a destination's list unavailable: each scan sieves on its own
        control = None
    return [pii.PREFILTER] + ([control] if control else [])


def _fork_counting(examples: list[Example], info: catalog.ModelInfo) -> forked.Job | None:
    """:func:`_count_and_scan` started in a forked child, when forking is safe and worth it
    (large data, tiktoken: an open model's tokenizer keeps its own worker); else ``None``."""
    if info.encoding.startswith(open_tokenizers.PREFIX) or not forked.usable(len(examples)):
        return None
    try:
        return forked.start(lambda: _count_and_scan(examples, info))
    except forked.ForkError:
        return None


def _run_split(
    examples: list[Example], info: catalog.ModelInfo, threshold: float, near: bool, read_findings: list[Finding] | None,
    say: Progress, signature_cache: duplicates.SignatureCache | None, columns: dict[str, str] | None,
    child: forked.Job,
) -> _Parts:
    try:
        return _split_parts(examples, info, threshold, near, read_findings, say, signature_cache, columns, child)
    except BaseException:
        child.cancel()  # this side failed: no child left behind, blocked on a full pipe
        raise


def _split_parts(
    examples: list[Example], info: catalog.ModelInfo, threshold: float, near: bool, read_findings: list[Finding] | None,
    say: Progress, signature_cache: duplicates.SignatureCache | None, columns: dict[str, str] | None,
    child: forked.Job,
) -> _Parts:
    """The check with the counting, the scans and the JSON Schema in a forked child
    (:func:`_fork_counting`) while this process runs the semantic checks and the duplicate
    search.  The findings are put together in the order :func:`_run_threads` makes them."""
    say(0.05, "Comparing examples")
    prompt_replies = semantic.prompt_replies(examples)
    say(0.25, "Checking the format")
    findings: list[Finding] = list(read_findings or [])
    say(0.4, "Checking each example")
    per_example = ExampleChecks(examples, columns, personal=lambda: got.personal)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # NumPy releases the GIL in the MinHash passes: those threads (two, so both cores can
        # take them once the child is done) run the moment the child waits or ends, so the
        # two processes even out by themselves.
        searching = pool.submit(duplicates.find, examples, threshold, near, None, prompt_replies, signature_cache, min(2, forked.cores()))
        semantics = per_example.semantics()
        dataset = semantic.check_dataset(examples, prompt_replies)
        say(0.6, "Looking for duplicates")
        dupes = searching.result()
    duplicated = duplicate_findings(examples, dupes)  # before the wait: the child may still be counting
    del prompt_replies  # 200,000 normalised texts freed now, while the child counts, not on the way to the answer
    say(0.8, f"Counting tokens ({info.encoding})")
    try:
        got = child()
    except forked.ForkError:
        got = _count_and_scan(examples, info, workers=True)  # the child failed: the same work here
    findings += got.schema + semantics  # in content()'s order
    findings += dataset
    findings += per_example.personal()
    findings += per_example.token_findings(got.counts, range(len(examples)), info, got.control)
    findings += duplicated  # last, as run() adds them on the other path (the sort keeps ties in order)
    return findings, got.counts, dupes, got.control


def _gather_control(examples: list[Example], info: catalog.ModelInfo, given: Any = None) -> Any:
    """The message texts, sieved once for every destination's control strings: the
    control-token check and ``to_json``'s table by destination both read them; ``given``:
    the same texts gathered by the personal-data scan (``check_later(...).gathered``)."""
    try:
        return reserved_tokens.gather(examples, info, given)
    except Exception:  # noqa: BLE001 - a destination's list unavailable: each scan gathers its own, as before
        return None


def _count_findings(examples: list[Example], counts: tokens.TokenCounts, positions: Sequence[int], info: catalog.ModelInfo,
                    control: Any = None) -> list[Finding]:
    """Examples the chat template refused, images not counted, and control tokens in user text;
    ``positions`` says where each of ``examples`` sits in ``counts``."""
    out = []
    for ex in examples:
        why = counts.problems.get(ex.index)
        if why is not None:
            out.append(finding("warning", "template_refused", f"cannot be formatted with {info.name}'s chat template, so it is not counted "
                               f"and the trainer would stop on it: {why}. Fix the example, or leave it out.", ex))
    if counts.images_uncounted is not None:
        for ex, p in _nonzero(examples, positions, counts.images_uncounted):
            n = counts.images_uncounted[p]
            if not ex.dropped:
                if counts.is_open:
                    out.append(finding("warning", "image_not_counted", f"has {int(n)} image(s): they are not counted, because each open vision model "
                                       f"has its own image tokens and {info.name}'s chat template here renders text only.", ex))
                    continue
                out.append(finding("warning", "image_not_counted", f"has {int(n)} image(s) at a web address in high or auto detail: their size "
                                   "is unknown without downloading them, so their tokens are not counted (low detail would be 85 each).", ex))
    out += control.findings if isinstance(control, ControlAnswers) else reserved_tokens.check(examples, info, control)
    return out


def _nonzero(examples: list[Example], positions: Sequence[int], values: np.ndarray) -> list[tuple[Example, int]]:
    """(example, position) where ``values[position]`` is nonzero, in order: NumPy finds the
    few positions, instead of reading 100,000 array items one by one in Python."""
    if isinstance(positions, range) and positions.step == 1 and len(positions) == len(examples):
        return [(examples[i], positions.start + i) for i in np.flatnonzero(values[positions.start : positions.stop]).tolist()]
    return [(ex, p) for ex, p in zip(examples, positions) if values[p]]


class ExampleChecks:
    """Every per-example check, declared once (``codes.Scope.EXAMPLE``): the format, the
    semantics, personal data and secrets, the token limit.  :func:`run` uses it on the whole
    dataset (in steps, so the steps overlap token counting); the browser's incremental
    re-check uses it through :func:`check_examples` on the examples an edit changed.  One
    path, so an edited example gets exactly the findings a full check would give it."""

    def __init__(self, examples: list[Example], columns: dict[str, str] | None = None,
                 personal: Callable[[], list[Finding]] | None = None) -> None:
        self.examples = examples
        self.columns = columns  # the user's column names, for the findings' sentences
        # large data: a worker process, started now; or the forked child's answer (``personal``)
        self._personal = personal or pii.check_later(examples)

    def content(self) -> list[Finding]:
        """The format and the semantics of each example (plain Python, this thread)."""
        return schema_check.check_schema(self.examples) + self.semantics()

    def semantics(self) -> list[Finding]:
        """The semantics of each example (:meth:`content` without the JSON Schema)."""
        return semantic.check_examples(self.examples, self.columns)

    def personal(self) -> list[Finding]:
        """Personal data and secrets (waits for the scan started in ``__init__``)."""
        return self._personal()

    def token_findings(self, counts: tokens.TokenCounts, positions: Sequence[int], info: catalog.ModelInfo, control: Any = None) -> list[Finding]:
        """Over the model's limit, refused by the chat template, images not counted, control
        tokens; ``positions`` says where each example sits in ``counts``."""
        over = [
            finding("warning", "over_token_limit", open_tokenizers.over_limit_message(ex, info, int(counts.total[p])), ex)
            for ex, p in _nonzero(self.examples, positions, counts.total > info.limit) if not ex.dropped
        ]
        return over + _count_findings(self.examples, counts, positions, info, control)

    def all(self, counts: tokens.TokenCounts, positions: Sequence[int], info: catalog.ModelInfo) -> list[Finding]:
        return self.content() + self.personal() + self.token_findings(counts, positions, info)


def check_examples(
    examples: list[Example], counts: tokens.TokenCounts, positions: Sequence[int], info: catalog.ModelInfo,
    columns: dict[str, str] | None = None,
) -> list[Finding]:
    """The per-example findings of ``examples``, which sit at ``positions`` in the dataset's
    ``counts`` (for ``info``); ``columns`` as for :func:`run`."""
    return ExampleChecks(examples, columns).all(counts, positions, info)


def sort_findings(findings: list[Finding]) -> None:
    """Errors first, then by example and message: the order every report shows."""
    findings.sort(key=lambda f: (f.severity != "error", f.example or 0, f.message_index or 0))


def duplicate_findings(examples: list[Example], dupes: duplicates.DuplicateGroups) -> list[Finding]:
    by_index = {e.index: e for e in examples}
    out = []
    for kind, groups in (("exact", dupes.exact), ("near", dupes.near)):
        for group in groups:
            first = by_index[group[0]]
            for other in group[1:]:
                word = "is an exact duplicate" if kind == "exact" else "is a near duplicate"
                out.append(finding("warning", f"{kind}_duplicate", f"{word} of example {first.index} (row {first.row}). Keep one: on the Duplicates page, or leave duplicates out when you export.", by_index[other]))
    return out


def check_dataset(ds: Dataset, **options: Any) -> CheckResult:
    columns = semantic.column_names(ds.mapping) if ds.layout == "table" else {}
    return run(ds.examples, read_findings=ds.read_findings, columns=columns, **options)
