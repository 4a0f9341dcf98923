"""A large upload in real headless Chromium: the page opens before the check is done.

From ``INCREMENTAL_MIN`` examples on, the Upload page shows the file once it is read and
saved, and the check goes on in the background (``Session.start_check``) with its bar on the
page.  This proves the user sees the same answers as without it: a page opened while the
check runs waits for it and shows the CLI's figures, the sidebar fills in by itself, and the
workspace comes back after a reload.  Waits only for the page's own state.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_util import ARGS, CHROMIUM, NEEDS_CHROMIUM, ROOT, STEP_MS, expect_metric, open_page, running_app, settle, shots_dir
from validators.session import INCREMENTAL_MIN

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]

N = INCREMENTAL_MIN + 500


def chats(path: Path) -> Path:
    """N short chats; every 500th has an empty answer (an error the check reports)."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(N):
            answer = "" if i % 500 == 7 else f"Parcel {i} leaves the warehouse within {i % 5 + 1} working days."
            msgs = [{"role": "user", "content": f"When does my parcel number {i} arrive?"}, {"role": "assistant", "content": answer}]
            f.write(json.dumps({"messages": msgs}) + "\n")
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_app(tmp_path) as app:
        yield app.url


def test_a_large_upload_opens_first_and_is_checked_in_the_background(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    path = chats(tmp_path / "parcels.jsonl")
    cli = subprocess.run([sys.executable, "-m", "validators", "check", "--json", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    errors = str(len(json.loads(cli.stdout)["errors"]))
    assert errors != "0"
    expect.set_options(timeout=STEP_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(STEP_MS)
        page.goto(f"{server}/upload")
        page.get_by_role("heading", name="Upload").first.wait_for()
        page.locator("input[type=file]").set_input_files(str(path))
        page.get_by_text("File loaded.").wait_for()
        page.get_by_text(f"parcels.jsonl: {N:,} examples (jsonl file)").wait_for()  # the preview, whether or not the check is done
        page.screenshot(path=str(shots_dir(tmp_path) / "upload_large.png"), full_page=True)

        open_page(page, "Validate")  # straight away: it waits for the background check
        expect_metric(page, "Errors", errors)
        open_page(page, "Upload")
        sidebar = page.locator('[data-testid="stSidebar"] [data-testid="stMetric"]').filter(has_text="Errors").first
        expect(sidebar.locator('[data-testid="stMetricValue"]')).to_have_text(errors)
        expect(page.get_by_text("Checking the examples")).to_have_count(0)  # no bar left once it is done

        page.reload()  # the workspace is in the store: a new session opens and checks it again
        page.get_by_role("heading", name="Upload").first.wait_for()
        expect(sidebar.locator('[data-testid="stMetricValue"]')).to_have_text(errors)
        settle(page)
        browser.close()
