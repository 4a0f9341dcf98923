"""When each process of a forked `check` starts and ends each stage: the critical path.

    python bench/timeline.py /tmp/bench_100000.jsonl

Runs `python -m validators check FILE --json` in this process with the stages wrapped
(a log line per stage end: process, thread, start and end seconds since this process was
started by the OS), then prints one line per stage, sorted by start, per process.
Dev tool: it only wraps functions, the answers are the CLI's.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LOG = f"/tmp/timeline_{os.getpid()}.log"


def _boot() -> float:
    """Seconds from this process's start (by the OS) to now, on the perf_counter clock."""
    ticks = os.sysconf("SC_CLK_TCK")
    start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.perf_counter() - (uptime - start)


T0 = _boot()


def wrap(owner: object, name: str, label: str | None = None) -> None:
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def timed(*a, **k):
        s, c = time.perf_counter(), time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            e, c = time.perf_counter(), time.thread_time() - c
            with open(LOG, "a") as f:
                f.write(f"{os.getpid()}\t{threading.current_thread().name}\t{label or name}\t{s - T0:.3f}\t{e - T0:.3f}\t{c:.3f}\n")

    setattr(owner, name, timed)


def main() -> None:
    t_import = time.perf_counter()
    from validators import cli  # noqa: F401
    from validators.checking import checks, duplicates, minhash, pii, schema_check, semantic
    from validators.counting import tokens
    from validators.reading import ingest

    imported = time.perf_counter()
    wrap(ingest, "load_file", "read")
    wrap(semantic, "prompt_replies")
    wrap(checks.ExampleChecks, "semantics")
    wrap(semantic, "check_dataset")
    wrap(duplicates, "find", "duplicates.find")
    wrap(duplicates.Comparable, "digests")
    wrap(minhash, "all_signatures")
    wrap(minhash, "near_duplicates")
    wrap(tokens, "count", "tokens.count")
    wrap(tokens, "_lengths", "tokens.encode")
    wrap(tokens, "_gather", "tokens._gather")
    wrap(tokens, "get_encoding", "tokens.get_encoding")
    wrap(pii, "check_later")
    wrap(checks, "_gather_control")
    wrap(schema_check, "check_schema")
    wrap(checks, "_count_and_scan", "child work")
    wrap(checks.forked.Job, "__call__", "wait for child")
    wrap(checks.CheckResult, "to_json")
    wrap(checks, "sort_findings")
    wrap(checks, "duplicate_findings")
    wrap(cli.json_text, "dumps", "json_text.dumps")
    wrap(checks.ExampleChecks, "token_findings")
    wrap(checks.forked, "_trim", "malloc_trim")
    wrap(checks.forked.os, "fork", "os.fork")
    wrap(checks, "usable_mask")
    wrap(checks.ExampleChecks, "personal")
    wrap(cli, "_load", "cli._load")
    wrap(checks, "check_dataset", "checks.check_dataset")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        cli.main(["check", sys.argv[1], "--json"])
    end = time.perf_counter()
    checks.forked.reap()  # the child, reaped after the answer: its CPU seconds counted below
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = [line.split("\t") for line in Path(LOG).read_text().splitlines()]
    os.unlink(LOG)
    print(f"imports {t_import - T0:.3f} -> {imported - T0:.3f}; end {end - T0:.3f}; CPU s: this process {own.ru_utime + own.ru_stime:.2f}, "
          f"its child {kids.ru_utime + kids.ru_stime:.2f}")
    print("who    thread       stage                    start ->     end  (wall) [thread CPU]")
    parent = str(os.getpid())
    for pid, thread, label, s, e, c in sorted(rows, key=lambda r: (r[0] != parent, float(r[3]))):
        who = "parent" if pid == parent else "child "
        print(f"{who} {thread[:12]:12} {label:22} {float(s):7.2f} -> {float(e):7.2f}  ({float(e) - float(s):5.2f}) [{float(c):5.2f}]")


if __name__ == "__main__":
    main()
