"""A worker process that scans large data for personal data and secrets on another core.

The scan is pure-Python regular expressions, which hold the GIL: in a thread it would only
take turns with the other checks.  Protocol: the parent writes the texts as UTF-8, joined by
``pii._SEP``; the worker answers with one JSON list of ``[kind, detail, start, end]`` hits
(character offsets in the joined text).  Run as ``python -m validators.checking.pii_worker``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from ..counting.worker_process import WorkerError, WorkerProcess

__all__ = ["Scan", "WorkerError"]


class Scan(WorkerProcess):
    """A scan running in a worker process; :meth:`hits` waits for its answer."""

    def __init__(self, texts: list[str], sep: str, timeout: float = 600) -> None:
        super().__init__("validators.checking.pii_worker")
        self.timeout = timeout
        self.feed(_joined(texts, sep))

    def hits(self) -> list[tuple[str, str, int, int]]:
        try:
            return [tuple(h) for h in json.loads(self.output(self.timeout))]
        except ValueError as exc:
            raise WorkerError("personal-data worker gave no answer") from exc


def _joined(texts: list[str], sep: str) -> Iterator[bytes]:
    """The texts as UTF-8, ``sep`` between them, piece by piece (no joined copy here)."""
    glue = sep.encode("utf-8")
    for i, text in enumerate(texts):
        if i:
            yield glue
        yield text.encode("utf-8", "surrogatepass")


def main() -> None:
    from .pii import _scan_joined

    text = sys.stdin.buffer.read().decode("utf-8", "surrogatepass")
    hits: list[Any] = [[h.kind, h.detail, h.start, h.end] for h in _scan_joined(text)]
    sys.stdout.write(json.dumps(hits))


if __name__ == "__main__":
    main()
