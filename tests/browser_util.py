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
