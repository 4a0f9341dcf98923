"""Time the app as a user sees it: a real headless Chromium against ``streamlit run app.py``.

    python bench/bench_browser.py 100000          # the 100k-example file (~134 MB)
    python bench/bench_browser.py 512mb           # ~380k examples, just under 512 MB
    python bench/bench_browser.py 100000 --upload-only   # only the upload, its phases and memory

Generates the file with bench/make_data.py (cached in /tmp), starts the real app on a free
port with a temporary FTPREP_DB, uploads the file in Chromium (1400×900) and measures, each
time until the page's own state says it is done (the app idle, the heading or the message
a step shows; never a fixed pause):

* upload → loaded page, sampling the progress bar every ~0.5 s in the page itself: stalls
  (value and text unchanged for more than 2 s) and moments the bar is not shown; when the
  bar's text changed to each step (the transfer of the file ends when "Reading" shows); and
  upload → checked (the sidebar shows its figures: a large file is checked in the background);
* every page's first and second visit, and every view Validate offers (flagged, only
  errors, all examples, its second page, the multi-turn tab), Duplicates' near tab,
  Export's other target / de-duplication choice;
* a grid edit until "Saved your edit" shows, a one-click fix, undo, and the pages that
  refresh after an edit;
* the server's memory (its own process and its workers) and the SQLite store's size on
  disk against the upload's size.

Prints one table with the issue's target for each step.  Heavy: run it on its own.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.browser_util import ARGS, CHROMIUM, PAINTED, commit_cell, open_select, running_app, type_into_first_row  # noqa: E402

LIMIT_BYTES = 511_000_000  # OpenAI's upload limit is 512 MB: stay under it
STEP_MS = int(os.environ.get("BENCH_STEP_MS", "900000"))  # a baseline step can take minutes; every wait is for a state
SPY = os.environ.get("BENCH_PYSPY", "")  # a folder: each first visit's server stacks (py-spy, every thread) are written there

# Counts the script runs the page showed ending, and samples the progress bar every 0.5 s.
INSTRUMENT = """() => {
  if (window.__bench) return;
  window.__bench = {runs: 0, samples: [], sampling: false};
  const app = () => document.querySelector('[data-testid="stApp"]');
  // The runs the page showed ending (a change into 'notRunning'), for the table only: the bench
  // waits for the server's own "script finished" (Browser.runs), since a run whose messages arrive
  // together is drawn in one render and may never show as running here.
  new MutationObserver(records => {
    const byApp = new Map();
    for (const r of records) {
      if (!byApp.has(r.target)) byApp.set(r.target, []);
      byApp.get(r.target).push(r.oldValue);
    }
    for (const [app, olds] of byApp) {
      const values = [...olds, app.getAttribute('data-test-script-state')];  // each record's new value is the next one's old
      for (let i = 0; i + 1 < values.length; i++)
        if (values[i] !== 'notRunning' && values[i + 1] === 'notRunning') window.__bench.runs += 1;
    }
  }).observe(document.body, {attributes: true, attributeOldValue: true, subtree: true,
                             attributeFilter: ['data-test-script-state']});
  setInterval(() => {
    if (!window.__bench.sampling) return;
    const bars = [...document.querySelectorAll('[data-testid="stProgress"], [data-testid="stFileUploaderFile"] [role="progressbar"]')];
    const bar = bars.find(b => b.offsetParent !== null);
    const inner = bar ? (bar.querySelector('[role="progressbar"]') || bar) : null;
    const spin = [...document.querySelectorAll('[data-testid="stSpinner"]')].some(s => s.offsetParent !== null);
    window.__bench.samples.push({t: performance.now(), bar: !!bar, value: inner ? inner.getAttribute('aria-valuenow') : null,
      text: bar ? bar.textContent.trim().slice(0, 80) : '', spinner: spin});
  }, 500);
}"""
IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning';
}"""


def bench_file(arg: str) -> Path:
    """The generated upload: N examples, or ``512mb`` (examples up to just under 512 MB)."""
    import make_data

    big = arg.lower() == "512mb"
    n = 450_000 if big else int(arg)
    path = Path(tempfile.gettempdir()) / f"bench_browser_{'512mb' if big else n}.jsonl"
    if path.exists():
        return path
    part = path.with_suffix(".part")
    size = 0
    with part.open("w", encoding="utf-8") as f:
        for row in make_data.generate(n):
            line = json.dumps(row, ensure_ascii=False) + "\n"
            size += len(line.encode("utf-8"))
            if big and size > LIMIT_BYTES:
                break
            f.write(line)
    part.rename(path)
    return path


class Browser:
    """One Chromium page on the app, with the run counter and progress sampler installed.
    It keeps the websocket's last frames (time, direction, size), so a step that gets no
    answer can say whether the click reached the server and whether the server replied."""

    def __init__(self, page, url: str, pid: int = 0, out: Path | None = None) -> None:
        self.page, self.url, self.pid, self.out = page, url, pid, out
        self.frames: collections.deque[tuple[float, str, int]] = collections.deque(maxlen=60)
        self.acted = 0.0
        self.finished = 0  # the page's runs the server said it finished
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        done = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}  # a page's run; not a fragment's timer

        def size(payload) -> int:
            return len(payload) if isinstance(payload, (bytes, str)) else 0

        def received(payload) -> None:
            self.frames.append((time.perf_counter(), "received", size(payload)))
            if isinstance(payload, bytes):
                with contextlib.suppress(Exception):  # not a ForwardMsg: not a run's end
                    msg = ForwardMsg.FromString(payload)
                    if msg.WhichOneof("type") == "script_finished" and msg.script_finished in done:
                        self.finished += 1

        ws.on("framesent", lambda f: self.frames.append((time.perf_counter(), "sent", size(f))))
        ws.on("framereceived", received)

    def instrument(self) -> None:
        self.page.evaluate(INSTRUMENT)

    def runs(self) -> int:
        """Runs the server finished, read from the websocket (the server's own "script finished").

        Not from the page's ``data-test-script-state``: when a run's messages reach the browser
        together (the server busy), React draws its start and its end in one render, the attribute
        never leaves "notRunning", and a bench waiting for it waited for ever on an idle server (the
        512 MB Validate "hang": the page showed the new view, the counter had not moved)."""
        return self.finished

    def idle(self) -> None:
        self.page.wait_for_function(IDLE, timeout=STEP_MS)
        self.page.evaluate(PAINTED)

    def after_run(self, before: int) -> None:
        """Wait until a script run started after ``before`` runs has finished and painted."""
        from playwright.sync_api import TimeoutError as PageTimeout

        deadline = time.perf_counter() + STEP_MS / 1000
        while self.finished <= before:  # polled: the websocket's frames are delivered while Playwright waits
            if time.perf_counter() > deadline:
                self.diagnose(before)
                raise PageTimeout(f"no run finished within {STEP_MS} ms")
            self.page.wait_for_timeout(10)
        self.idle()

    def diagnose(self, before: int) -> None:
        """A step got no answer within BENCH_STEP_MS: say what the page, the websocket and the
        server's threads were doing (bench_hang.txt, bench_hang.png, beside the screenshots)."""
        import subprocess

        out = self.out or Path(tempfile.gettempdir())
        state = self.page.evaluate("""() => { const a = document.querySelector('[data-testid="stApp"]');
            return {script: a && a.getAttribute('data-test-script-state'), connection: a && a.getAttribute('data-test-connection-state'),
                    runs: window.__bench.runs, checked: [...document.querySelectorAll('[data-testid="stRadio"] input:checked')].map(i => i.value)}; }""")
        lines = [f"runs before the step: {before}, finished since: {self.finished - before}; page: {json.dumps(state)}",
                 "websocket frames (s after the step began, direction, bytes):"]
        lines += [f"  {t - self.acted:+.2f} {way} {n}" for t, way, n in self.frames]
        if self.pid:
            dump = subprocess.run(["py-spy", "dump", "-p", str(self.pid)], capture_output=True, text=True, timeout=120)
            lines += ["server threads (py-spy dump):", dump.stdout or dump.stderr]
        (out / "bench_hang.txt").write_text("\n".join(lines))
        self.page.screenshot(path=str(out / "bench_hang.png"), full_page=True)
        print("\n".join(lines[:80]), flush=True)

    def timed(self, act, done) -> float:
        """Seconds from ``act()`` until a new run has ended and ``done()`` returned."""
        before = self.runs()
        start = self.acted = time.perf_counter()
        act()
        self.after_run(before)
        done()
        self.idle()
        return time.perf_counter() - start

    def visit(self, title: str) -> float:
        page = self.page
        return self.timed(lambda: page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click(),
                          lambda: page.get_by_role("heading", name=title).first.wait_for(timeout=STEP_MS))


def progress_report(samples: list[dict], start_ms: float, end_ms: float) -> dict[str, object]:
    """Stalls (> 2 s unchanged) and gaps (no bar shown) between the upload and the loaded page."""
    inside = [s for s in samples if start_ms <= s["t"] <= end_ms]
    stalls: list[tuple[float, float, str]] = []
    gaps: list[tuple[float, float]] = []
    run_start, last = None, None
    gap_start = None
    for s in inside + [{"t": end_ms, "bar": None, "value": None, "text": None, "spinner": False}]:
        key = (s["value"], s["text"]) if s["bar"] else None
        if s["bar"] is not None and not s["bar"]:
            gap_start = s["t"] if gap_start is None else gap_start
        elif gap_start is not None:
            gaps.append(((gap_start - start_ms) / 1000, (s["t"] - gap_start) / 1000))
            gap_start = None
        if key != last:
            if last is not None and run_start is not None and s["t"] - run_start > 2000:
                stalls.append(((run_start - start_ms) / 1000, (s["t"] - run_start) / 1000, str(last[1])[:50]))
            run_start, last = s["t"], key
    # The first ~1 s before the browser draws the bar, and the last sample after it went, are not gaps.
    gaps = [g for g in gaps if g[0] > 1.0 and g[0] + g[1] < (end_ms - start_ms) / 1000 - 0.6]
    return {"samples": len(inside), "stalls": stalls, "gaps": gaps,
            "spinner_s": sum(0.5 for s in inside if s["spinner"] and not s["bar"])}


@contextlib.contextmanager
def spied(pid: int, name: str) -> Iterator[None]:
    """With ``BENCH_PYSPY`` set: py-spy samples the server's threads (idle ones too) while the
    step runs, as collapsed stacks in ``$BENCH_PYSPY/<name>.txt`` (where a slow step's time goes)."""
    if not SPY:
        yield
        return
    import signal
    import subprocess

    Path(SPY).mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(["py-spy", "record", "-p", str(pid), "-r", "100", "--nonblocking", "-t", "-i", "-f", "raw", "-o", str(Path(SPY) / f"{name}.txt")],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert spy.stdout is not None
    for line in spy.stdout:  # it says so once it samples (or ends: not allowed to attach)
        if "Sampling process" in line:
            break
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)


def memory_mb(pid: int) -> tuple[float, float, float]:
    """(RSS, peak RSS) of the server, and the RSS of its child processes (workers)."""
    def field(p: int, name: str) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(c) for c in (task / "children").read_text().split()]
    return field(pid, "VmRSS"), field(pid, "VmHWM"), sum(field(k, "VmRSS") for k in kids)


def store_mb(db: Path) -> tuple[float, dict[str, float]]:
    """The store's files on disk (db + WAL), and the bytes of each table's payload."""
    import sqlite3

    total = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6
    conn = sqlite3.connect(str(db), timeout=60)
    try:
        parts = {
            "upload blob": conn.execute("SELECT coalesce(sum(length(data)), 0) FROM upload").fetchone()[0] / 1e6,
            "example chunks": conn.execute("SELECT coalesce(sum(length(body)), 0) FROM chunk").fetchone()[0] / 1e6,
            "undo history": conn.execute("SELECT coalesce(sum(length(before)), 0) FROM history").fetchone()[0] / 1e6,
        }
    finally:
        conn.close()
    return total, parts


def grid_edit(b: Browser, text: str) -> float:
    """Edit the first grid row's assistant cell the way the tests do (tests/browser_util.py);
    seconds from committing the cell until the page says it saved the edit."""
    page = b.page
    type_into_first_row(page, "assistant", text)
    start = time.perf_counter()
    before = b.runs()
    commit_cell(page)
    from playwright.sync_api import TimeoutError as PageTimeout

    try:  # a lost grid edit fails the tests (edit_and_confirm); here it is said, not hidden
        page.get_by_text("Saved your edit to example").first.wait_for(timeout=120_000)
    except PageTimeout:
        return float("nan")
    b.after_run(before)
    b.idle()
    return time.perf_counter() - start


def pick_radio(b: Browser, label: str) -> float:
    page = b.page
    return b.timed(lambda: page.locator('[data-testid="stRadio"]').get_by_text(label, exact=True).click(),
                   lambda: page.locator('[data-testid="stRadio"] input:checked').first.wait_for(timeout=STEP_MS))


def pick_select(b: Browser, label: str, option: str) -> float:
    """Open the select the way the tests do; seconds from clicking ``option`` until the run ends."""
    page = b.page
    item = open_select(page, page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first, option)
    return b.timed(lambda: item.click(), lambda: None)


def click_tab(b: Browser, starts: str) -> float:
    """A tab switch is drawn by the browser alone (no script run): until its panel shows."""
    page = b.page
    start = time.perf_counter()
    tab = page.get_by_role("tab").filter(has_text=starts).first
    tab.click()
    page.wait_for_function("(t) => [...document.querySelectorAll('[role=tab]')].some(e => e.textContent.startsWith(t) && e.getAttribute('aria-selected') === 'true')",
                           arg=starts, timeout=STEP_MS)
    page.evaluate(PAINTED)
    return time.perf_counter() - start


def click_button(b: Browser, name: str, says: str) -> float:
    page = b.page
    button = page.get_by_role("button", name=name).first
    button.scroll_into_view_if_needed()
    return b.timed(lambda: button.click(), lambda: page.get_by_text(says).first.wait_for(timeout=STEP_MS))


def next_grid_page(b: Browser) -> float:
    page = b.page
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Page (of").first
    box.scroll_into_view_if_needed()
    field = box.locator("input")
    field.fill("2")
    return b.timed(lambda: field.press("Enter"), lambda: None)


def run(arg: str, upload_only: bool = False) -> None:
    from playwright.sync_api import sync_playwright

    path = bench_file(arg)
    upload_mb = path.stat().st_size / 1e6
    examples = sum(1 for _ in path.open("rb"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_browser_"))
    rows: list[tuple[str, str, str]] = []
    big = upload_mb > 300
    page_first, page_again = ("≤ 2 s", "≤ 2 s") if big else ("≤ 2 s", "≤ 1 s")

    def row(step: str, value: str, target: str = "") -> None:
        rows.append((step, value, target))
        print(f"{step:<58} {value:>12}  {target}", flush=True)

    print(f"{path.name}: {examples:,} examples, {upload_mb:.0f} MB; load {os.getloadavg()[0]:.1f}", flush=True)
    with running_app(tmp) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(STEP_MS)
        b = Browser(page, app.url, app.proc.pid, tmp)  # before the page opens its websocket
        page.goto(f"{app.url}/upload")
        page.get_by_role("heading", name="Upload").first.wait_for()
        b.idle()
        b.instrument()
        idle_rss = memory_mb(app.proc.pid)[0]

        # -- upload → loaded page, with the progress bar sampled in the page
        page.evaluate("() => { window.__bench.samples = []; window.__bench.sampling = true; }")
        t0_ms = page.evaluate("() => performance.now()")
        start = time.perf_counter()
        page.locator("input[type=file]").set_input_files(str(path))
        page.get_by_text("File loaded.").wait_for(timeout=STEP_MS)
        b.idle()
        loaded = time.perf_counter() - start
        t1_ms = page.evaluate("() => { window.__bench.sampling = false; return performance.now(); }")
        prog = progress_report(page.evaluate("() => window.__bench.samples"), t0_ms, t1_ms)
        row("upload → loaded page", f"{loaded:.1f} s", "≤ 60 s" if big else "≤ 15 s")
        stalls = "; ".join(f"{d:.1f} s at {at:.0f} s ({txt})" for at, d, txt in prog["stalls"]) or "none"
        gaps = "; ".join(f"{d:.1f} s at {at:.0f} s" for at, d in prog["gaps"]) or "none"
        row("  progress bar stalls > 2 s", stalls, "none")
        row("  progress bar not shown", gaps, "none")
        rss, peak, kids = memory_mb(app.proc.pid)
        if upload_only:
            page.screenshot(path=str(tmp / "upload_loaded.png"), full_page=True)  # the bar of the check, if it goes on
        row("  when the bar said", phases(page.evaluate("() => window.__bench.samples"), t0_ms, t1_ms))
        row("server memory after loading (RSS / peak / workers)", f"{rss:.0f} / {peak:.0f} / {kids:.0f} MB",
            f"idle {idle_rss:.0f} MB")
        page.locator('[data-testid="stSidebar"] [data-testid="stMetric"]').filter(has_text="Errors").first.wait_for(timeout=STEP_MS)
        b.idle()
        row("upload → checked (the sidebar's figures)", f"{time.perf_counter() - start:.1f} s")
        rss, peak, kids = memory_mb(app.proc.pid)
        row("server memory after the check (RSS / peak / workers)", f"{rss:.0f} / {peak:.0f} / {kids:.0f} MB")
        if upload_only:
            page.screenshot(path=str(tmp / "upload_checked.png"), full_page=True)
            total, parts = store_mb(tmp / "ws.sqlite3")
            row("store on disk (db + WAL) / upload", f"{total:.0f} / {upload_mb:.0f} MB = {total / upload_mb:.2f}×", "≤ 1 copy")
            browser.close()
            _table(rows, path, examples, upload_mb)
            print(f"screenshots in {tmp}")
            return

        # -- every page, first and second visit
        for title in ["Validate", "Tokens", "Cost", "Duplicates", "Export", "Upload"]:
            with spied(app.proc.pid, f"first_{title.lower()}"):
                secs = b.visit(title)
            row(f"{title}: first visit", f"{secs:.2f} s", page_first)
            page.screenshot(path=str(tmp / f"first_{title.lower()}.png"), full_page=True)  # to look at, as a user would
        for title in ["Validate", "Tokens", "Cost", "Duplicates", "Export", "Upload"]:
            row(f"{title}: second visit", f"{b.visit(title):.2f} s", page_again)

        # -- every view of Validate, twice
        b.visit("Validate")
        for again in ("", " (again)"):
            for view in ("Only errors", "All examples", "Flagged examples"):
                row(f"Validate: show {view}{again}", f"{pick_radio(b, view):.2f} s", page_again if again else page_first)
        pick_radio(b, "All examples")
        row("Validate (All examples): next page of the grid", f"{next_grid_page(b):.2f} s", page_first)
        row("Validate: Multi-turn tab", f"{click_tab(b, 'Multi-turn'):.2f} s", page_first)
        click_tab(b, "Single-turn")
        pick_radio(b, "Flagged examples")

        # -- edits
        with spied(app.proc.pid, "grid_edit"):
            secs = grid_edit(b, "An edited answer from the bench.")
        if secs != secs:
            page.screenshot(path=str(tmp / "lost_edit.png"))
            b.idle()
            secs = grid_edit(b, "An edited answer from the bench, again.")
        row("grid edit until saved", f"{secs:.2f} s" if secs == secs else "lost twice", page_first)
        with spied(app.proc.pid, "fix"):
            secs = click_button(b, 'Trim whitespace', 'Trim whitespace:')
        row("one-click fix: Trim whitespace", f"{secs:.2f} s", page_first)
        with spied(app.proc.pid, "undo"):
            secs = click_button(b, 'Undo last change', 'Undone:')
        row("undo", f"{secs:.2f} s", page_first)
        for title in ["Tokens", "Cost", "Duplicates", "Export", "Validate"]:
            with spied(app.proc.pid, f"after_{title.lower()}"):
                secs = b.visit(title)
            row(f"after the edits: {title}", f"{secs:.2f} s", page_first)

        # -- the other views: Duplicates' near tab, Export's choices
        b.visit("Duplicates")
        row("Duplicates: Near tab", f"{click_tab(b, 'Near'):.2f} s", page_first)
        b.visit("Export")
        with spied(app.proc.pid, "export_trl"):
            secs = pick_select(b, 'Export for', 'Hugging Face TRL (messages)')
        row("Export: another target (TRL)", f"{secs:.2f} s", page_first)
        with spied(app.proc.pid, "export_dedupe"):
            secs = pick_select(b, 'Duplicates', 'Leave out exact and near duplicates')
        row("Export: leave out exact and near duplicates", f"{secs:.2f} s", page_first)

        row("script runs finished (server) / ended as the page showed them", f"{b.finished} / {page.evaluate('() => window.__bench.runs')}")
        rss, peak, kids = memory_mb(app.proc.pid)
        row("server memory at the end (RSS / peak / workers)", f"{rss:.0f} / {peak:.0f} / {kids:.0f} MB")
        total, parts = store_mb(tmp / "ws.sqlite3")
        row("store on disk (db + WAL) / upload", f"{total:.0f} / {upload_mb:.0f} MB = {total / upload_mb:.2f}×", "≤ 1 copy" if big else "")
        row("  of which", ", ".join(f"{k} {v:.0f} MB" for k, v in parts.items()))
        page.screenshot(path=str(tmp / "last.png"))
        print(f"screenshots in {tmp}")
        browser.close()

    _table(rows, path, examples, upload_mb)


def _table(rows: list[tuple[str, str, str]], path: Path, examples: int, upload_mb: float) -> None:
    print(f"\n{path.name}: {examples:,} examples, {upload_mb:.0f} MB; load average at the end {os.getloadavg()[0]:.1f}")
    print("\n| step | measured | target |\n|---|---:|---|")
    for step, value, target in rows:
        print(f"| {step} | {value} | {target} |")


def phases(samples: list[dict], start_ms: float, end_ms: float) -> str:
    """Seconds after the upload began at which the bar's text first named each step."""
    seen: dict[str, float] = {}
    for s in samples:
        if start_ms <= s["t"] <= end_ms and s["bar"]:
            word = (s["text"] or "").split(" ")[0].rstrip("…")
            seen.setdefault(word, (s["t"] - start_ms) / 1000)
    return ", ".join(f"{w} {t:.1f} s" for w, t in seen.items() if w) or "no bar seen"


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    run(args[0] if args else "100000", upload_only="--upload-only" in sys.argv)
