"""Shared pieces of the real-browser tests: Debian's Chromium, a real `streamlit run app.py`.

The tests must pass on a busy two-core machine, so they wait for the page's own state
(``IDLE``: the attributes Streamlit's own end-to-end tests wait on; the text a step shows
when it is done) and never for a fixed time.  Screenshots are written to a temporary folder,
or to ``docs/screenshots`` when ``FTPREP_SCREENSHOTS=1`` (to refresh the README's images).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
NEEDS_CHROMIUM = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# True when the browser is connected and no script run is going on or requested.
IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning';
}"""
# Resolves after the browser has painted twice: a resized canvas grid has redrawn.
PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
STEP_MS = 120_000  # the longest one step may take on a loaded machine before the test fails
COLUMN_PX = {"example": 70, "row": 90, "system": 110, "user": 200, "assistant": 220}  # pages/validate.py COL_WIDTHS
ROW_PX = 35


def settle(page, timeout: int = STEP_MS) -> None:
    """Wait until the app is idle.  After an action, also wait for what it shows when done
    (its confirmation text, the new page's heading): a run may not have started yet."""
    page.wait_for_function(IDLE, timeout=timeout)


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots only when asked, so tests leave a checkout clean."""
    folder = ROOT / "docs" / "screenshots" if os.environ.get("FTPREP_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``check`` until it is true (for state outside a page: a server, a file).  The
    only place in the tests that pauses, and only between polls."""
    deadline = time.monotonic() + timeout_s
    pause = 0.05
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout_s:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


class Server:
    """A running app: its URL and process (for memory figures)."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the server process so far, in MB."""
        return self._status_mb("VmHWM")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

    def _status_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")


@contextmanager
def running_app(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start ``streamlit run app.py`` on a free port with its own workspace database."""
    port = free_port()
    env = {**os.environ, "FTPREP_DB": str(tmp_path / "ws.sqlite3"), **(extra_env or {})}
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if proc.poll() is not None:
                pytest.fail("streamlit exited: " + log_path.read_text(errors="replace")[-2000:])
            try:
                return urllib.request.urlopen(f"{url}/_stcore/health", timeout=5).read() == b"ok"
            except OSError:
                return False

        try:
            wait_until(healthy, 180, "the streamlit server to start")
        except BaseException:
            proc.kill()
            raise
        try:
            yield Server(url, proc, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---------------------------------------------------------------- steps a user takes
# Shared by the browser tests and bench/bench_browser.py, so the bench times exactly what
# the tests prove works (one way to open a select, one way to edit a grid cell).


def open_page(page, title: str) -> None:
    """Click ``title`` in the sidebar and wait for its heading and the app to be idle."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).first.wait_for()
    settle(page)


def expect_metric(page, label: str, value: str) -> None:
    """The main area's metric ``label`` shows ``value`` (waits while a run updates it)."""
    from playwright.sync_api import expect

    metric = page.locator('[data-testid="stMain"] [data-testid="stMetric"]').filter(has_text=label).first
    expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text(value, timeout=STEP_MS)


def open_select(page, box, option: str):
    """Open the select ``box`` until ``option`` is listed, and return that option (the caller
    clicks it).  A busy page can swallow the first click, and a rerun can replace the select
    while it is scrolled to (the locator then finds the new one)."""
    item = page.get_by_role("option", name=option, exact=True)
    for attempt in range(3):
        try:
            box.scroll_into_view_if_needed()
            box.click()
            item.wait_for(timeout=10_000)
            return item
        except Exception:
            if attempt == 2:
                raise
            settle(page)
    return item


def pick_option(page, box, option: str) -> None:
    """Open a select, click ``option`` and wait for the run it starts to end."""
    open_select(page, box, option).click()
    settle(page)


def type_into_first_row(page, column: str, text: str) -> None:
    """Open the editor of the grid's first row in ``column`` and type ``text``, not committed yet.

    Double-click opens the editor on that cell; retried when a busy machine swallows it.
    (Not click + Enter: an Enter that lands after a late-opening editor commits it and
    moves down, and the text went into the second row: seen once in 20 loaded runs.)"""
    from playwright.sync_api import expect

    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    left = sum(px for name, px in COLUMN_PX.items() if list(COLUMN_PX).index(name) < list(COLUMN_PX).index(column))
    editor = page.locator("textarea.gdg-input")
    for attempt in range(3):
        page.mouse.dblclick(box["x"] + left + COLUMN_PX[column] / 2, box["y"] + ROW_PX + ROW_PX / 2)
        try:
            editor.wait_for(timeout=15_000)
            break
        except Exception:
            if attempt == 2:
                raise
    page.keyboard.type(text, delay=5)
    expect(editor).to_have_value(text)
    # Enter only once the browser has painted the typed text: pressed in the same frame as the
    # last keystroke it closed the editor with nothing sent to the server (4 of 40 loaded runs,
    # no script run after the edit); after a paint, 0 of 40.
    page.evaluate(PAINTED)


def commit_cell(page) -> None:
    """Press Enter in the open cell editor and wait until it has closed (the grid has the value)."""
    from playwright.sync_api import expect

    page.keyboard.press("Enter")
    expect(page.locator("textarea.gdg-input")).to_have_count(0)


def edit_first_row(page, column: str, text: str) -> None:
    """Select the cell of the grid's first row in ``column``, open its editor, type, commit."""
    type_into_first_row(page, column, text)
    commit_cell(page)


def edit_and_confirm(page, column: str, text: str, example: int) -> None:
    """Edit the grid's first row and wait for the page to confirm the save, on the first try:
    an edit that is not confirmed fails the test (no retry; a lost edit is a bug)."""
    edit_first_row(page, column, text)
    page.get_by_text(f"Saved your edit to example {example}").wait_for()
