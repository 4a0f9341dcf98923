"""The user story in real headless Chromium against `streamlit run app.py`.

Upload a CSV, fix a flagged row in the grid editor, reload, see the fix, download the JSONL
and check it with the project's own validator.  Takes a full-page screenshot of every page
(into a temporary folder; into docs/screenshots/ with ``FTPREP_SCREENSHOTS=1``).  Every step
waits for what the page shows when it is done, never for a fixed time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_util import (
    ARGS,
    CHROMIUM,
    NEEDS_CHROMIUM,
    PAINTED,
    ROOT,
    STEP_MS,
    edit_and_confirm,
    expect_metric,
    open_page,
    running_app,
    settle,
    shots_dir,
)

ANSWER = "Yes, we ship to Norway within 5 working days."

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real Streamlit server on a free port with its own workspace database."""
    with running_app(tmp_path) as app:
        yield app.url


def shot(page, folder: Path, name: str) -> None:
    """Full-page screenshot: Streamlit scrolls inside its main section, so grow the viewport."""
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]'); return m ? m.scrollHeight : 1000 }")
    page.set_viewport_size({"width": 1400, "height": max(900, min(int(height) + 40, 6000))})
    settle(page)
    page.evaluate(PAINTED)  # the grids have redrawn at the new size
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.evaluate(PAINTED)


def test_upload_fix_reload_export(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = shots_dir(tmp_path)
    expect.set_options(timeout=STEP_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(STEP_MS)  # a loaded machine: each wait is for a state, bounded generously
        page.goto(f"{server}/upload")
        page.get_by_role("heading", name="Upload").first.wait_for()
        page.locator("input[type=file]").set_input_files(str(ROOT / "sample_data" / "support_desk.csv"))
        page.get_by_text("File loaded.").wait_for()
        settle(page)
        assert "ws=" in page.url and "/upload" in page.url
        shot(page, shots, "upload")

        open_page(page, "Validate")
        expect_metric(page, "Errors", "2")
        shot(page, shots, "validate")
        edit_and_confirm(page, "assistant", ANSWER, 4)  # example 4 (row 5): the empty answer
        settle(page)
        expect_metric(page, "Errors", "1")

        page.reload()  # a reload is a new session: the URL alone brings the workspace back
        page.get_by_role("heading", name="Validate").first.wait_for()
        settle(page)
        expect_metric(page, "Errors", "1")
        page.get_by_text("All examples").click()
        expect(page.get_by_text(ANSWER).first).to_be_attached()  # the grid lists the saved answer
        settle(page)

        for title in ("Tokens", "Cost", "Duplicates"):
            open_page(page, title)
            assert "ws=" in page.url
            if title == "Duplicates":  # show the near-duplicate groups, with their marked words
                page.get_by_role("tab", name="Near (2)").click()
                page.get_by_text("similarity").first.wait_for()
            shot(page, shots, title.lower())

        open_page(page, "Export")
        expect_metric(page, "Rows left out", "1")  # the empty row 32; row 5 was fixed
        shot(page, shots, "export")
        with page.expect_download() as info:
            page.get_by_role("button", name="Download JSONL").click()
        path = tmp_path / "export.jsonl"
        info.value.save_as(path)
        browser.close()

    # one full-page screenshot per page (docs/screenshots also holds other tests' images when FTPREP_SCREENSHOTS=1)
    assert {f"{n}.png" for n in ("upload", "validate", "tokens", "cost", "duplicates", "export")} <= {f.name for f in shots.iterdir()}
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 60 and any(ANSWER in line for line in lines)
    check = subprocess.run([sys.executable, "-m", "validators", "check", "--json", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = json.loads(check.stdout)
    assert report["errors"] == [], report["errors"]
    assert report["examples"] == 60
