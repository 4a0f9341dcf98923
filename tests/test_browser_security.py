"""Untrusted text in a real browser: every page renders a hostile spreadsheet as inert text.

A "pixel" server on 127.0.0.1 records any request the page makes to it: an image, iframe or
link that came alive from user text would hit it.  Also checks that a fresh server's very
first request for an inner page is served through app.py (sidebar, navigation).
"""

from __future__ import annotations

import csv
import io
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser_util import ARGS, CHROMIUM, NEEDS_CHROMIUM, PAINTED, running_app, settle

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]
PAGES = ["Validate", "Tokens", "Cost", "Duplicates", "Export"]


@pytest.fixture
def pixel() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that logs every path asked of it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a")

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()


def hostile_csv(evil: str) -> bytes:
    payloads = [
        "<script>window.__pwned=1</script>",
        f'<img src="{evil}/img.gif" onerror="window.__pwned=2">',
        f"![tracker]({evil}/md.gif)",
        "[click me](javascript:window.__pwned=3)",
        '<a href="javascript:window.__pwned=4">link</a>',
        f'<iframe src="{evil}/frame"></iframe>',
        f"<{evil}/autolink>",
    ]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["question", "answer"])
    for i in range(14):
        p = payloads[(i % 12) % len(payloads)]  # rows 13-14 repeat rows 1-2: duplicate groups
        w.writerow([f"Q{i % 12} {p} what now?", f"A{i % 12} {p} here is a long enough answer for the check."])
    return out.getvalue().encode()


def assert_inert(page, label: str) -> None:
    state = page.evaluate("""() => ({
        pwned: window.__pwned ?? null,
        imgs: [...document.querySelectorAll('img')].map(i => i.src).filter(s => s.includes('gif') || s.includes('frame')),
        frames: document.querySelectorAll('iframe[src*="frame"]').length,
        jsLinks: [...document.querySelectorAll('a')].filter(a => (a.getAttribute('href') || '').toLowerCase().includes('javascript')).length,
        liveScript: document.body.innerHTML.includes('<script>window.__pwned'),
    })""")
    assert state == {"pwned": None, "imgs": [], "frames": 0, "jsLinks": 0, "liveScript": False}, (label, state)


def test_hostile_text_renders_inert_on_every_page(tmp_path: Path, pixel: tuple[str, list[str]]) -> None:
    from playwright.sync_api import sync_playwright

    evil, hits = pixel
    data = tmp_path / "hostile.csv"
    data.write_bytes(hostile_csv(evil))
    dialogs: list[str] = []
    with running_app(tmp_path) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        page.goto(f"{app.url}/tokens")  # the fresh server's first run asks for an inner page
        page.get_by_text("Go to Upload").first.wait_for(timeout=60_000)
        nav = page.locator('[data-testid="stSidebarNav"]')
        assert nav.get_by_role("link", name="Validate").count() == 1  # served through app.py

        page.goto(f"{app.url}/upload")
        page.locator("input[type=file]").set_input_files(str(data))
        page.get_by_text("File loaded.").wait_for(timeout=60_000)
        settle(page)
        assert_inert(page, "Upload")
        for title in PAGES:
            nav.get_by_role("link", name=title).click()
            page.get_by_role("heading", name=title).first.wait_for()
            settle(page)
            page.mouse.wheel(0, 4000)
            page.evaluate(PAINTED)  # the scrolled-to part has been drawn
            assert_inert(page, title)
            if title == "Duplicates":  # user text shown here as DOM text: visible, and only text
                assert "<script>window.__pwned=1</script>" in page.locator('[data-testid="stMain"]').inner_text()
        browser.close()
    assert dialogs == []
    assert hits == [], f"user text made the browser fetch {hits}"


def test_canary_key_through_the_browser_submit_flow(tmp_path: Path) -> None:
    """Type a canary API key into the Export page, run the job on a local fake OpenAI, then
    search every file the server wrote (the SQLite database and its WAL), the server's log
    (with the SDK's debug logging on), the downloads and the uploaded training file."""
    from playwright.sync_api import sync_playwright

    from tests.fake_openai import Behaviour, FakeOpenAI

    canary = "sk-canary-" + secrets.token_hex(16)
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    with FakeOpenAI(Behaviour(api_key=canary, steps=1)) as fake, \
            running_app(data_dir, {"OPENAI_LOG": "debug", "OPENAI_API_KEY": ""}) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(f"{app.url}/upload")
        page.get_by_role("button", name="Try a sample").click()
        page.get_by_text("File loaded.").wait_for(timeout=60_000)
        settle(page)
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Export").click()
        page.get_by_role("heading", name="Export").first.wait_for()
        settle(page)
        with page.expect_download() as info:
            page.get_by_role("button", name="Download JSONL").click()
        info.value.save_as(tmp_path / "download.jsonl")
        page.get_by_label("Base URL (OpenAI-compatible services; empty = OpenAI)").fill(fake.base_url)
        page.keyboard.press("Enter")
        settle(page)
        page.get_by_role("textbox", name="API key").fill(canary)
        page.keyboard.press("Enter")
        settle(page)
        page.get_by_role("button", name="Submit fine-tuning job").click()
        page.get_by_text("Fine-tuned model ready").wait_for(timeout=90_000)
        settle(page)
        page.reload()  # a new session: the key must not come back from anywhere
        page.get_by_role("heading", name="Export").first.wait_for()
        settle(page)
        assert page.get_by_role("textbox", name="API key").input_value() == ""
        browser.close()
        uploads = b"".join(fake.state.uploads.values()).decode("utf-8", "replace")
    assert uploads and canary not in uploads
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.name.startswith("ws.sqlite3") for f in written) and any(f.name == "server.log" for f in written)
    for f in written:
        text = f.read_bytes().decode("utf-8", "replace")
        assert canary not in text and canary[-12:] not in text, f"the key reached {f}"
    from validators.storing import workspace

    db = next(f for f in written if f.name == "ws.sqlite3")
    stored = "\n".join(workspace.all_text(workspace.connect(db)))  # inside the compressed chunks too
    assert len(stored) > 1000, "the store's text was read"
    assert canary not in stored and canary[-12:] not in stored, "the key reached the workspace store"
