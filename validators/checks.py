"""The whole check in one call: format, semantics, tokens, cost, duplicates.

Both faces use :func:`run`: the CLI on a file, the browser on the workspace's current
examples, so the same data gives the same answers in both.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import catalog, cost, duplicates, pii, schema_check, semantic, tokens
from .model import Dataset, Example, Finding, finding

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
        return [e.index for e, t in zip(self.examples, self.counts.total) if not e.dropped and t > self.model.limit]

    def usable_mask(self) -> np.ndarray:
        return usable_mask(self.examples)

    def to_json(self) -> dict[str, Any]:
        live_mask = self.usable_mask()
        per = [int(t) if ok else None for t, ok in zip(self.counts.total, self.counts.counted)]
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
) -> CheckResult:
    """Check ``examples`` for ``model``; ``price`` overrides the catalogue's training price;
    ``columns`` (:func:`semantic.column_names`) lets findings name the user's columns."""
    info = catalog.model(model)
    say = progress or (lambda _f, _s: None)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # tiktoken and NumPy release the GIL while they work, so token counting and the
        # near-duplicate search run on the second core beside the Python checks.  Progress
        # is reported from this thread only (Streamlit widgets live in the script thread).
        # Large data: token counting and the personal-data scan each run in a worker process
        # (started from the pool thread / from here) while this thread does the Python checks.
        counting = pool.submit(tokens.count, examples, info.encoding)
        personal = pii.check_later(examples)  # issue 5: personal data and secrets
        say(0.05, "Comparing examples")
        prompt_replies = semantic.prompt_replies(examples)
        searching = pool.submit(duplicates.find, examples, threshold, near, None, prompt_replies, signature_cache)
        say(0.25, "Checking the format")
        findings: list[Finding] = list(read_findings or [])
        findings += schema_check.check_schema(examples)
        say(0.4, "Checking each example")
        for ex in examples:
            findings += semantic.check_example(ex, columns)
        findings += semantic.check_dataset(examples, prompt_replies)
        findings += personal()
        say(0.6, f"Counting tokens ({info.encoding})")
        counts = counting.result()
        say(0.8, "Looking for duplicates")
        dupes = searching.result()
    for ex, t in zip(examples, counts.total):
        if not ex.dropped and t > info.limit:
            findings.append(finding("warning", "over_token_limit", f"has {int(t):,} tokens, over the {info.limit:,}-token limit of {info.name}; the end would be cut off in training. Drop it or trim its earliest turns.", ex))
    est = cost.estimate(counts.total[usable_mask(examples)], info.limit, info.training if price is None else price, epochs)
    findings += _duplicate_findings(examples, dupes)
    findings.sort(key=lambda f: (f.severity != "error", f.example or 0, f.message_index or 0))
    say(1.0, "Done")
    return CheckResult(examples, info, findings, counts, est, dupes, {"epochs": epochs, "price": price, "threshold": threshold, "columns": columns or {}})


def _duplicate_findings(examples: list[Example], dupes: duplicates.DuplicateGroups) -> list[Finding]:
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
