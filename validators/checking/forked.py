"""Half of a large check in a forked copy of this process, so both cores do Python work.

Token counting, the personal-data scan and the control-token scan each walk every message
in Python; worker processes fed through a pipe took only the encoding and the regexes off
this process, and the gathering (most of the Python time) stayed here.  A fork shares the
parsed examples for free (copy-on-write): the child walks them, counts, scans, and sends
back only the answers (pickled: arrays of counts and a few findings) while this process
runs the format, semantic and duplicate checks.

Forking is safe only when this process runs no other thread (a thread's locks would be
copied held), so :func:`usable` says no in the browser's server, in a thread, on a
single core and on systems without ``fork``; callers then do the work themselves, and
also when the child fails (:class:`ForkError`): the same answers either way.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

MIN_EXAMPLES = 20_000  # below this, the fork and the copied pages cost more than the second core saves


class ForkError(RuntimeError):
    """The child could not be started, or died without an answer."""


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def usable(n_examples: int) -> bool:
    """Whether to fork for ``n_examples``: large data, two cores, and no other thread alive.

    Linux only: macOS has ``fork`` but its system libraries (Accelerate under NumPy, the
    Objective-C runtime) are not safe in a forked child, which is why Python itself starts
    processes with ``spawn`` there.
    """
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and n_examples >= MIN_EXAMPLES and cores() >= 2
            and threading.current_thread() is threading.main_thread() and threading.active_count() == 1)


class Job:
    """A forked child at work: call it to wait for its value; :meth:`cancel` stops it."""

    def __init__(self, pid: int, read_end: int) -> None:
        self.pid, self.read_end = pid, read_end
        self.done = False  # waited for or cancelled: the pipe is closed and the child reaped

    def __call__(self) -> Any:
        """The child's value (or :class:`ForkError`), once it has exited."""
        self.done = True
        with os.fdopen(self.read_end, "rb") as pipe:
            data = pipe.read()
        try:
            ok, value = pickle.loads(data)
        except Exception as exc:  # noqa: BLE001 - an empty or cut answer: the child died
            _, status = os.waitpid(self.pid, 0)
            raise ForkError(f"the forked check gave no answer (status {status})") from exc
        _reap_soon(self.pid)
        if not ok:
            raise ForkError(value)
        return value

    def cancel(self) -> None:
        """Stop the child and reap it (the caller failed and will not wait for the answer)."""
        if self.done:
            return
        self.done = True
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        os.close(self.read_end)


_exiting: list[int] = []  # children that gave their answer and were still exiting


def _reap_soon(pid: int) -> None:
    """Reap a child that has sent its answer, without waiting while the system tears down
    its copy of this process (25 ms at 100,000 examples, on the way to the answer): if it
    has not quite exited, it is reaped at the next :func:`start` or at exit."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    if not done:
        _exiting.append(pid)


@atexit.register
def reap() -> None:
    """Reap the children left exiting (each has already answered)."""
    while _exiting:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(_exiting.pop(), 0)


def start(work: Callable[[], Any]) -> Job:
    """Run ``work()`` in a forked child now; call the returned job to wait for its value
    (or :class:`ForkError`)."""
    reap()
    _trim()
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(read_end)
        os.close(write_end)
        raise ForkError(str(exc)) from exc
    if pid == 0:  # the child: never returns
        _child(work, read_end, write_end)
    os.close(write_end)
    return Job(pid, read_end)


def _trim() -> None:
    """Hand the allocator's free pages back to the system before forking (glibc only).

    Reading a large file frees as much as it keeps (the file's text, its lines), and that
    free memory stays resident in holes of the heap.  Forked, those pages are shared, and
    every allocation either process then makes in a hole copies a page: hundreds of
    megabytes at 100,000 examples.  Trimmed, new allocations land on fresh pages instead."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim, the fork works the same


def _child(work: Callable[[], Any], read_end: int, write_end: int) -> None:
    code = 0
    try:
        os.close(read_end)
        try:
            data = pickle.dumps((True, work()), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which does the work itself
            data = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        code = 1
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers a second time
