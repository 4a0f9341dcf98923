"""Time the browser workflow's server side at scale: page switches and one edit.

    python bench/bench_ui.py 100000
    python bench/bench_ui.py 512mb            # bench_browser.py's file of 381,725 examples, just under 512 MB
    python bench/bench_ui.py --scaling 10000 40000   # every step at two sizes: flags a step that grows faster than the data

Generates N examples with bench/make_data.py, stores them as a workspace (a temporary
FTPREP_DB), then drives app.py with streamlit.testing.v1.AppTest: the first open (load
from SQLite + full check), a switch to every page, one cell edit on Validate, and the
pages again after the edit.  Each figure is the wall time of one script run, which is
what the server spends before the browser can draw the answer.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAGES = ["validate", "tokens", "cost", "duplicates", "export", "upload"]


PROFILE = [w for w in os.environ.get("BENCH_PROFILE", "").split(",") if w]  # steps to profile (words in their label)


STEP = ["start"]  # the step running now, for the garbage-collection report
_GC_START: list[float] = []


def _gc_report(phase: str, info: dict) -> None:
    """With ``BENCH_GC=1``: every collection of Python's cyclic collector over 0.1 s, and the step it fell in."""
    if phase == "start":
        _GC_START[:] = [time.perf_counter()]
    elif _GC_START and time.perf_counter() - _GC_START[0] > 0.1:
        print(f"   gc generation {info['generation']}: {time.perf_counter() - _GC_START[0]:.2f} s during {STEP[0]}", flush=True)


if os.environ.get("BENCH_GC"):
    import gc
    gc.callbacks.append(_gc_report)


def timed(label: str, fn, rows: list[tuple[str, float]]) -> object:
    """Run one step and print its wall time; with ``BENCH_PROFILE=edit,undo`` the steps whose
    label holds one of those words also print their top functions (in the thread AppTest runs
    the page's script in, which starts during the step)."""
    prof = None
    if any(w in label for w in PROFILE):
        import cProfile
        import threading
        prof = cProfile.Profile()

        def start(*_: object) -> None:  # the first event of a new thread: profile that thread
            sys.setprofile(None)
            prof.enable()
        threading.setprofile(start)
    STEP[0] = label
    start = time.perf_counter()
    out = fn()
    rows.append((label, time.perf_counter() - start))
    print(f"{label:<48} {rows[-1][1]:7.2f} s", flush=True)
    if prof is not None:
        import pstats
        import threading
        threading.setprofile(None)  # type: ignore[arg-type]
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    return out


def memory_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak (Linux), in MB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return float("nan"), float("nan")
    kb = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))}
    return kb.get("VmRSS", 0) / 1024, kb.get("VmHWM", 0) / 1024


def main(n: int | str) -> list[tuple[str, float]]:
    os.environ["FTPREP_DB"] = str(Path(tempfile.mkdtemp(prefix="bench_ui_")) / "ws.sqlite3")
    import make_data
    from streamlit.testing.v1 import AppTest

    from validators import session as live_mod
    from validators.reading import ingest

    rows: list[tuple[str, float]] = []
    if isinstance(n, str):  # "512mb": the browser bench's file, so both benches measure the same data
        import bench_browser
        path = bench_browser.bench_file(n)
    else:
        path = Path(tempfile.gettempdir()) / f"bench_ui_{n}.jsonl"
        if not path.exists():
            make_data.write(make_data.generate(n), path)
    data = path.read_bytes()
    ds = timed(f"read {len(data) / 1e6:.0f} MB ({len(data.splitlines()):,} examples)", lambda: ingest.load_bytes(data, path.name), rows)
    ws = timed("store the workspace in SQLite", lambda ds=ds: live_mod.create_workspace(path.name, data, ds, {}), rows)
    del ds

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params["ws"] = ws
    timed("first open: load from SQLite + full check", at.run, rows)
    # The Session then counts the other tokenizers and normalises the texts in a
    # background thread (while the user reads the first page); wait for it so the page
    # switches below are measured as a user who looked at the page that long sees them.
    timed("background warm-up after the first open (not blocking)", lambda: live_mod._WARMER.submit(lambda: None).result(), rows)
    for page in PAGES:
        timed(f"switch to {page}", lambda p=page: at.switch_page(f"pages/{p}.py").run(), rows)
    for page in PAGES:
        timed(f"switch to {page} (again)", lambda p=page: at.switch_page(f"pages/{p}.py").run(), rows)

    at.switch_page("pages/export.py").run()
    for label, key, value in (("another target", "exp_target", "trl"), ("leave out exact duplicates", "exp_dedupe", "exact"),
                              ("validation split 0.1", "exp_split", 0.1)):
        widget = at.slider(key=key) if key == "exp_split" else at.selectbox(key=key)
        timed(f"Export: {label}", lambda w=widget, v=value: w.set_value(v).run(), rows)
    assert not at.exception, at.exception
    at.switch_page("pages/validate.py").run()
    for view in ("Only errors", "All examples", "Flagged examples"):
        timed(f"Validate: show {view}", lambda v=view: at.radio(key="val_show").set_value(v).run(), rows)
    editor = at.data_editor[0]
    first = int(editor.value["example"][0])
    at.session_state[editor.key] = {"edited_rows": {0: {"assistant": "An edited answer."}}, "added_rows": [], "deleted_rows": []}
    timed(f"one edit on Validate (example {first}), saved + re-checked", at.run, rows)
    assert not at.exception, at.exception
    assert any("Saved your edit" in s.value for s in at.success), "the edit did not land"
    for page in PAGES:
        timed(f"after the edit: switch to {page}", lambda p=page: at.switch_page(f"pages/{p}.py").run(), rows)
    at.switch_page("pages/validate.py").run()
    timed("bulk fix: trim whitespace (all examples)", lambda: at.button(key="fix_trim_whitespace").click().run(), rows)
    timed("undo", lambda: at.button(key="undo").click().run(), rows)
    assert not at.exception, at.exception

    rss, peak = memory_mb()
    print(f"server memory at the end (RSS / peak)            {rss:,.0f} / {peak:,.0f} MB", flush=True)
    if os.environ.get("BENCH_TRIM"):  # how much of the RSS is freed memory the C allocator still holds
        import ctypes
        import gc
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        print(f"after gc + malloc_trim: RSS {memory_mb()[0]:,.0f} MB", flush=True)
    print("\n| step | seconds |\n|---|---:|")
    for label, secs in rows:
        print(f"| {label} | {secs:.2f} |")
    return rows


def scaling(small: int, large: int) -> None:
    """The guard against quadratic steps: every step at two sizes, each in a fresh process
    (so the first size's caches do not help the second).  A step whose time grows much
    faster than the data (ratio well above the size ratio) is flagged: a set rebuilt per
    element, a whole-dataset pass per row."""
    import json
    import subprocess

    runs = []
    for n in (small, large):
        code = f"import json, sys; sys.argv = ['bench_ui']; import bench_ui; print('ROWS=' + json.dumps(bench_ui.main({n})))"
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", capture_output=True, text=True, check=True).stdout
        runs.append([(label.replace(f"{n:,}", "N"), secs) for label, secs in json.loads(out.split("ROWS=")[-1])])
    grow = large / small
    print(f"\n| step | {small:,} | {large:,} | ratio (data ×{grow:g}) |\n|---|---:|---:|---:|")
    flagged = []
    for (label, a), (_, b) in zip(runs[0], runs[1], strict=True):
        ratio = b / a if a > 0.02 else float("nan")
        mark = ""
        if b > 0.5 and ratio > 2 * grow:  # linear would be ×grow; quadratic ×grow²
            mark = " **grows faster than the data**"
            flagged.append(label)
        print(f"| {label} | {a:.2f} | {b:.2f} | {ratio:.1f}{mark} |")
    print("\nno step grows faster than the data" if not flagged else f"\nfaster than linear: {', '.join(flagged)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--scaling":
        scaling(int(sys.argv[2]) if len(sys.argv) > 2 else 10_000, int(sys.argv[3]) if len(sys.argv) > 3 else 40_000)
    else:
        arg = sys.argv[1] if len(sys.argv) > 1 else "100000"
        main(arg if not arg.isdigit() else int(arg))
