"""A ``python -m validators.<worker>`` child process fed from a writer thread.

The token counter and the personal-data scan both send their large inputs to such a
process, so the work runs on the second core while this process does the Python checks
(pure-Python work in a thread would hold the GIL).  Writing happens in a thread so a full
pipe never blocks the caller; :meth:`WorkerProcess.output` waits for the answer.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # so ``-m validators.…`` imports this copy


class WorkerError(RuntimeError):
    """The worker could not be started or did not answer properly."""


class WorkerProcess:
    """Started at construction (so it can load what it needs while the caller prepares the
    input); :meth:`feed` sends the input, :meth:`output` returns its whole stdout."""

    def __init__(self, module: str, *args: str) -> None:
        self.name = module.rsplit(".", 1)[-1]
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise WorkerError(str(exc)) from exc
        self.writer: threading.Thread | None = None

    def feed(self, pieces: Iterable[bytes]) -> None:
        """Write ``pieces`` to the worker's stdin from a thread, then close it."""
        self.writer = threading.Thread(target=self._write, args=(pieces,), daemon=True)
        self.writer.start()

    def _write(self, pieces: Iterable[bytes]) -> None:
        try:
            for piece in pieces:
                self.proc.stdin.write(piece)  # type: ignore[union-attr]
            self.proc.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass  # the worker died; output() reports it

    def output(self, timeout: float = 600) -> bytes:
        """The worker's stdout once it has exited successfully."""
        try:
            out = self.proc.stdout.read()  # type: ignore[union-attr]
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.proc.kill()
            raise WorkerError(f"{self.name} timed out") from exc
        if self.writer is not None:
            self.writer.join()
        if self.proc.returncode != 0:
            raise WorkerError(f"{self.name} failed ({self.proc.returncode}): {self.proc.stderr.read()[-500:]!r}")  # type: ignore[union-attr]
        return out

    def close(self) -> None:
        """Not needed after all: stop it."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
