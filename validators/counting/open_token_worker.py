"""A worker process that counts examples with an open base model's tokenizer and template.

Rendering a chat template and tokenizing is Python-bound (about 1 ms per example), so on
large data half of the examples are sent here and counted on the second core while the
parent counts the other half.  Protocol: the parent writes one JSON line per example,
``[messages, tools]``; the worker answers one JSON object ``{"total": [...], "trained":
[...], "problems": {"position": "reason"}}``.  Run as ``python -m
validators.counting.open_token_worker MODEL``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from .worker_process import WorkerError, WorkerProcess

__all__ = ["Worker", "WorkerError"]


class Worker(WorkerProcess):
    """Started at once, so the tokenizer loads while the parent gathers the examples."""

    def __init__(self, model: str) -> None:
        super().__init__("validators.counting.open_token_worker", model)

    def count(self, items: list[tuple[list[dict[str, Any]], Any]], timeout: float = 1800) -> dict[str, Any]:
        self.feed(_lines(items))
        answer = json.loads(self.output(timeout))
        if len(answer.get("total", [])) != len(items):
            raise WorkerError(f"open token worker answered {len(answer.get('total', []))} counts for {len(items)} examples")
        return answer


def _lines(items: list[tuple[list[dict[str, Any]], Any]]) -> Iterator[bytes]:
    for messages, tools in items:
        yield (json.dumps([messages, tools], ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")


def main(model: str) -> None:
    from . import open_tokenizers

    tok = open_tokenizers.load(model)  # before reading: overlaps the parent's work
    total, trained, problems = [], [], {}
    for pos, line in enumerate(sys.stdin.buffer):
        messages, tools = json.loads(line.decode("utf-8", "surrogatepass"))
        try:
            t, n = tok.count(messages, tools)
        except Exception as exc:  # noqa: BLE001 - the parent turns it into a finding
            t, n = 0, 0
            problems[str(pos)] = open_tokenizers.reason(exc)
        total.append(t)
        trained.append(n)
    sys.stdout.write(json.dumps({"total": total, "trained": trained, "problems": problems}))


if __name__ == "__main__":
    main(sys.argv[1])
