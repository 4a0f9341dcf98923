"""A worker process that scans large data for personal data and secrets on another core.

The scan is pure-Python regular expressions, which hold the GIL: in a thread it would only
take turns with the other checks.  Protocol: the parent writes the texts as UTF-8, joined by
``pii._SEP``; the worker answers with one JSON list of ``[kind, detail, start, end]`` hits
(character offsets in the joined text).  Run as ``python -m validators.pii_worker``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # so ``-m validators.pii_worker`` imports this copy


class WorkerError(RuntimeError):
    """The worker could not be started or did not answer properly."""


class Scan:
    """A scan running in a worker process; :meth:`hits` waits for its answer."""

    def __init__(self, texts: list[str], sep: str, timeout: float = 600) -> None:
        self.timeout = timeout
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "validators.pii_worker"], cwd=ROOT,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise WorkerError(str(exc)) from exc
        self.writer = threading.Thread(target=_write, args=(self.proc, texts, sep), daemon=True)
        self.writer.start()

    def hits(self) -> list[tuple[str, str, int, int]]:
        try:
            out = self.proc.stdout.read()  # type: ignore[union-attr]
            self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            self.proc.kill()
            raise WorkerError("personal-data worker timed out") from exc
        self.writer.join()
        if self.proc.returncode != 0:
            raise WorkerError(f"personal-data worker failed ({self.proc.returncode}): {self.proc.stderr.read()[-500:]!r}")  # type: ignore[union-attr]
        try:
            return [tuple(h) for h in json.loads(out)]
        except ValueError as exc:
            raise WorkerError("personal-data worker gave no answer") from exc


def _write(proc: subprocess.Popen[bytes], texts: list[str], sep: str) -> None:
    glue = sep.encode("utf-8")
    try:
        for i, text in enumerate(texts):
            if i:
                proc.stdin.write(glue)  # type: ignore[union-attr]
            proc.stdin.write(text.encode("utf-8", "surrogatepass"))  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    except (BrokenPipeError, OSError):
        pass  # the worker died; Scan.hits reports it


def main() -> None:
    from .pii import _scan_joined

    text = sys.stdin.buffer.read().decode("utf-8", "surrogatepass")
    hits: list[Any] = [[h.kind, h.detail, h.start, h.end] for h in _scan_joined(text)]
    sys.stdout.write(json.dumps(hits))


if __name__ == "__main__":
    main()
