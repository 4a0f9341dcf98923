"""Mapping columns in a real browser (Chromium against `streamlit run app.py`).

(a) A file whose headers say nothing (``col1,col2``) and whose cells mislead the content
inference: the user picks the question and answer columns on the page, fixes a row and
downloads a correct JSONL.  (b) A one-message-per-row file whose speaker labels are not
role names: the user relabels them on the page and the download has the right roles.
Screenshots go to a temporary folder (``FTPREP_SHOTS`` to keep them elsewhere).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_util import (
    ARGS,
    CHROMIUM,
    NEEDS_CHROMIUM,
    ROOT,
    edit_and_confirm,
    expect_metric,
    open_page,
    pick_option,
    running_app,
    settle,
)

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]

FIX = "We are open nine to five on weekdays."
QUESTIONS = [f"please tell me about topic number {i} and what it means for my account and my orders" for i in range(12)]
ANSWERS = [f"Topic {i} is fine." for i in range(12)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_app(tmp_path) as app:
        yield app.url


def shots_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("FTPREP_SHOTS") or tmp_path / "shots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def shot(page, folder: Path, name: str) -> None:
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]'); return m ? m.scrollHeight : 1000 }")
    page.set_viewport_size({"width": 1400, "height": max(900, min(int(height) + 40, 6000))})
    settle(page)  # the app is idle after the resize's reflow
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})
    settle(page)


def choose(page, label: str, option: str, nth: int = 0) -> None:
    """Open the select labelled ``label`` (the ``nth`` such) and pick ``option``, once the
    rerun of the previous choice has drawn the page again (it replaces the selects)."""
    settle(page)
    pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text=label).nth(nth), option)


def upload(page, server: str, path: Path) -> None:
    page.goto(f"{server}/upload")
    page.get_by_role("heading", name="Upload").first.wait_for()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text("File loaded.").wait_for(timeout=60_000)
    settle(page)


def download(page, tmp_path: Path) -> list[dict]:
    open_page(page, "Export")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download JSONL").click()
    path = tmp_path / "export.jsonl"
    info.value.save_as(path)
    check = subprocess.run([sys.executable, "-m", "validators", "check", "--json", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert json.loads(check.stdout)["errors"] == []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_unknown_headers_mapped_in_the_page_then_fixed_and_exported(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    rows = [[a, q] for q, a in zip(QUESTIONS, ANSWERS)]
    rows[3][0] = ""  # one answer missing: the row to fix
    path = write_csv(tmp_path / "faq.csv", ["col1", "col2"], rows)
    shots = shots_dir(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(90_000)  # a busy machine: wait for state, longer
        upload(page, server, path)
        page.get_by_text("A guess: check the preview").wait_for()  # the longer texts look like answers: wrong here
        shot(page, shots, "a1_uploaded")
        choose(page, "Question: what the user says", "col2")
        choose(page, "Answer: the reply the model should learn", "col1")
        page.get_by_text("Example 1, from row 2").wait_for()
        shot(page, shots, "a2_chosen")
        page.get_by_role("button", name="Apply these choices and re-check").click()
        page.get_by_text("Mapping applied.").wait_for(timeout=60_000)
        settle(page)
        page.get_by_text("Chosen by you.").wait_for()
        shot(page, shots, "a3_applied")

        open_page(page, "Validate")
        edit_and_confirm(page, "assistant", FIX, 4)  # example 4 (row 5): the empty answer
        expect_metric(page, "Errors", "0")
        shot(page, shots, "a4_fixed")
        lines = download(page, tmp_path)
        browser.close()
    assert len(lines) == 12
    assert lines[0]["messages"] == [{"role": "user", "content": QUESTIONS[0]}, {"role": "assistant", "content": ANSWERS[0]}]
    assert lines[3]["messages"][-1] == {"role": "assistant", "content": FIX}


def test_speaker_labels_relabelled_in_the_page(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    rows: list[list[str]] = []
    for i in range(12):
        rows += [[f"d{i}", "0", "USER", f"hello, I need help with order {i}"], [f"d{i}", "1", "WHISPER", f"supervisor whisper {i}"],
                 [f"d{i}", "2", "SYSTEM", f"Sure, order {i} ships tomorrow."]]
    path = write_csv(tmp_path / "dialogues.csv", ["dialogue_id", "turn_idx", "participant", "utterance"], rows)
    shots = shots_dir(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(90_000)  # a busy machine: wait for state, longer
        upload(page, server, path)
        page.get_by_text("speaker “SYSTEM” takes turns with the user", exact=False).wait_for()
        shot(page, shots, "b1_uploaded")
        row = page.locator('[data-testid="stHorizontalBlock"]').filter(has_text="WHISPER  (12 rows)")
        pick_option(page, row.locator('[data-testid="stSelectbox"]'), "leave these rows out")
        shot(page, shots, "b2_relabelled")
        page.get_by_role("button", name="Apply these choices and re-check").click()
        page.get_by_text("Mapping applied.").wait_for(timeout=60_000)
        settle(page)
        lines = download(page, tmp_path)
        browser.close()
    assert len(lines) == 12
    for i, line in enumerate(lines):
        assert line["messages"] == [{"role": "user", "content": f"hello, I need help with order {i}"},
                                    {"role": "assistant", "content": f"Sure, order {i} ships tomorrow."}]
