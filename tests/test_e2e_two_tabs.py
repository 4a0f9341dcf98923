"""Issue 12, item 2 in real headless Chromium: two tabs on one workspace.  Tab A merges
consecutive turns; tab B, still showing the old messages, edits message 5 and saves.  The
stale save must be refused with a plain message, the fresh example shown, and nothing
written by position onto the merged conversation."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser_util import ARGS, CHROMIUM, NEEDS_CHROMIUM, ROOT, running_app, settle, shots_dir
from validators.storing import workspace as store

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]


def example_box(page, number: int):
    """The expander of one example in the per-message editor, opened."""
    title = page.locator("summary").filter(has_text=re.compile(rf"Example {number} \(row"))
    box = page.locator('[data-testid="stExpander"]').filter(has=title).first
    if box.locator("details").get_attribute("open") is None:
        title.first.click()
    box.get_by_role("button", name="Save this example").wait_for()
    return box


def shot(page, folder: Path, name: str) -> None:
    """Full page: Streamlit scrolls inside its main section, so grow the viewport to fit it."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(900, min(int(height) + 40, 6000))})
    settle(page)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def multi_turn_tab(page) -> None:
    page.get_by_role("tab", name="Multi-turn and other").click()
    settle(page)


def test_stale_save_from_second_tab_is_refused(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with running_app(tmp_path) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab_a = context.new_page()
        tab_a.goto(f"{app.url}/upload")
        tab_a.locator("input[type=file]").set_input_files(str(ROOT / "sample_data" / "multi_turn.csv"))
        tab_a.get_by_text("File loaded.").wait_for(timeout=60_000)
        settle(tab_a)
        ws = parse_qs(urlparse(tab_a.url).query)["ws"][0]
        tab_a.goto(f"{app.url}/validate?ws={ws}")
        tab_a.get_by_role("heading", name="Validate").first.wait_for()
        settle(tab_a)

        tab_b = context.new_page()  # a second tab on the same workspace
        tab_b.goto(f"{app.url}/validate?ws={ws}")
        tab_b.get_by_role("heading", name="Validate").first.wait_for()
        settle(tab_b)
        multi_turn_tab(tab_b)
        box_b = example_box(tab_b, 2)
        fifth = box_b.get_by_label("Message 5 (user)")
        expect(fifth).to_have_value("The little carry bag.")
        fifth.fill("The little carry bag, please hurry.")  # typed, not saved yet
        expect(fifth).to_have_value("The little carry bag, please hurry.")

        tab_a.get_by_role("button", name="Merge consecutive turns").click()
        tab_a.get_by_text("Merge consecutive turns: Merged consecutive").wait_for(timeout=60_000)
        conn = store.connect(Path(tmp_path / "ws.sqlite3"))
        merged = store.load(conn, ws).examples[1].record["messages"]
        assert len(merged) == 5 and merged[4]["role"] == "assistant"

        box_b.get_by_role("button", name="Save this example").click()
        tab_b.get_by_text("was changed in another tab or window").wait_for(timeout=60_000)
        settle(tab_b)
        assert tab_b.get_by_text("Saved your edit").count() == 0
        assert store.load(conn, ws).examples[1].record["messages"] == merged  # nothing applied by position
        multi_turn_tab(tab_b)
        fresh = example_box(tab_b, 2)
        expect(fresh.get_by_label("Message 5 (assistant)")).to_have_value(merged[4]["content"])  # the fresh example
        assert tab_b.get_by_text("The little carry bag, please hurry.").count() >= 1  # the unsaved text, to copy
        shot(tab_b, shots_dir(tmp_path), "validate_stale_edit_refused")
        browser.close()
