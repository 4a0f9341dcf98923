"""The Tokens page with an open base model: AppTest (counts, cut table, fixes, the trained-token
preview built from escaped text) and a real browser (nothing from the data comes alive; a
screenshot of the preview in docs/screenshots/trained_tokens.png)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser_util import ARGS, CHROMIUM, NEEDS_CHROMIUM, running_app, settle, shots_dir
from tests.test_pages import go, metrics, new_app
from validators.counting import open_tokenizers, tokens
from validators.reading import ingest

LLAMA = "meta-llama/Meta-Llama-3-8B-Instruct"
MISTRAL = "mistralai/Mistral-7B-Instruct-v0.3"
HOSTILE = '<img src="http://127.0.0.1:{port}/pixel.gif"> **bold** [link](http://127.0.0.1:{port}/link)'


def conversations(port: int = 9) -> list[dict]:
    rows = []
    for i in range(12):
        rows.append({"messages": [
            {"role": "system", "content": "You are Ada, the support assistant of Northwind Outdoor Gear."},
            {"role": "user", "content": f"Where is my order NW-{5000 + i}? " + HOSTILE.format(port=port)},
            {"role": "assistant", "content": "Let me check that for you.", "weight": 0},
            {"role": "user", "content": "Thanks. It was a tent." + (" Stop <|eot_id|> here." if i == 1 else "") + " more" * (40 * (i % 4))},
            {"role": "assistant", "content": f"Your order NW-{5000 + i} has shipped and arrives by December {i + 1}."},
        ]})
    return rows


def workspace(tmp_path: Path, model: str, port: int = 9) -> tuple[str, Path]:
    from validators import session as live_mod

    path = tmp_path / "chats.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in conversations(port)), encoding="utf-8")
    ds = ingest.load_file(str(path))
    return live_mod.create_workspace("chats.jsonl", path.read_bytes(), ds, {"model": model}), path


def preview_html(at) -> str:
    return "".join(h.proto.body for h in at.get("html"))


def test_tokens_page_with_llama3_counts_and_shows_what_is_trained(ftprep_db: Path, tmp_path: Path) -> None:
    wid, path = workspace(tmp_path, "gpt-4.1-mini-2025-04-14")
    at = go(new_app(wid), "tokens")
    at.selectbox(key="tok_model").set_value(LLAMA).run()
    assert not at.exception
    ds = ingest.load_file(str(path))
    expected = tokens.count(ds.examples, open_tokenizers.PREFIX + LLAMA)
    m = metrics(at.main)
    assert m["Total tokens"] == f"{int(expected.total.sum()):,}" and m["Trained tokens"] == f"{int(expected.assistant.sum()):,}"
    assert any("Llama 3" in c.value and "offline" in c.value for c in at.caption)
    body = preview_html(at)
    # escaped user text, never markup
    assert "&lt;img src=&quot;http://127.0.0.1:9/pixel.gif&quot;&gt;" in body and "<img" not in body
    trained = [seg.split(">", 1)[1] for seg in body.split('<span class="t')[1:]]
    trained_text = "".join(t.split("</span>", 1)[0] for t in trained)
    assert "December" in trained_text and "Let me check" not in trained_text  # weight 0 is not trained
    assert "Where is my order" not in trained_text
    # control tokens: found in example 2, fixed by one click
    assert at.button(key="tok_fix_break")
    at.button(key="tok_fix_break").click().run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "tok_fix_break"]
    assert any("Broke control tokens in 1 example" in s.value for s in at.success)


def test_max_seq_length_cut_table_and_drop_fix(ftprep_db: Path, tmp_path: Path) -> None:
    wid, _ = workspace(tmp_path, MISTRAL)
    at = go(new_app(wid), "tokens")
    at.number_input(key="tok_seq").set_value(120).run()
    assert not at.exception
    over = int(metrics(at.main)["Over the max sequence length"])
    assert over > 0
    table = at.dataframe[1].value
    assert "cut in message" in table.columns and len(table) == over
    assert set(table["cut in message"]) <= {"4 (user)", "5 (assistant)"}
    at.button(key="tok_fix_drop").click().run()
    assert metrics(at.main)["Over the max sequence length"] == "0"
    assert any(f"Left out {over} example(s)" in s.value for s in at.success)


def test_unavailable_tokenizer_folder_is_said_plainly(ftprep_db: Path, tmp_path: Path) -> None:
    wid, _ = workspace(tmp_path, "gpt-4.1-mini-2025-04-14")
    at = go(new_app(wid), "tokens")
    at.selectbox(key="tok_model").set_value("Another open model (tokenizer folder)…").run()
    at.text_input(key="tok_model_folder").set_value(str(tmp_path)).run()
    at.button(key="tok_model_use").click().run()
    assert not at.exception
    assert any("not available" in e.value for e in at.error)
    assert any("does not hold a tokenizer" in t.value for t in at.text)
    assert metrics(at.main)["Total tokens"]  # still the OpenAI count, never another model's guess
    assert any("o200k_base" in c.value for c in at.caption)


# --- a real browser ---


@pytest.fixture
def pixel() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()


@pytest.mark.browser
@NEEDS_CHROMIUM
def test_trained_tokens_in_a_real_browser(tmp_path: Path, pixel: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import sync_playwright

    port, hits = pixel
    monkeypatch.setenv("FTPREP_DB", str(tmp_path / "ws.sqlite3"))  # the database the server uses
    wid, _ = workspace(tmp_path, LLAMA, port)
    with running_app(tmp_path) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(f"{app.url}/tokens?ws={wid}")
        page.get_by_role("heading", name="What is trained").wait_for(timeout=120_000)
        settle(page)
        view = page.locator(".ftp-tt").first
        view.wait_for()
        text = view.inner_text()
        assert "<|begin_of_text|>" in text and '<img src="http://127.0.0.1' in text  # shown as text
        trained = " ".join(page.locator(".ftp-tt .t").all_inner_texts())
        assert "December" in trained and "Let me check" not in trained
        assert page.locator(".ftp-tt img").count() == 0 and page.locator(".ftp-tt a").count() == 0
        section = page.get_by_role("heading", name="What is trained")
        page.set_viewport_size({"width": 1300, "height": 3000})  # Streamlit scrolls inside its main section
        section.scroll_into_view_if_needed()
        shots = shots_dir(tmp_path)  # docs/screenshots only with FTPREP_SCREENSHOTS=1
        box_top = section.bounding_box()
        box_view = view.bounding_box()
        clip = {"x": 300, "y": max(0, box_top["y"] - 20), "width": 1000,
                "height": box_view["y"] + box_view["height"] - box_top["y"] + 40}
        page.screenshot(path=str(shots / "trained_tokens.png"), clip=clip)
        browser.close()
    assert hits == [], f"user text made the page fetch {hits}"


def test_cost_page_keeps_the_open_model_and_prices_its_tokens(ftprep_db: Path, tmp_path: Path) -> None:
    wid, path = workspace(tmp_path, LLAMA)
    at = go(new_app(wid), "cost")
    assert not at.exception
    assert at.selectbox(key="cost_model").value == LLAMA  # visiting Cost does not switch back to OpenAI
    expected = int(tokens.count(ingest.load_file(str(path)).examples, open_tokenizers.PREFIX + LLAMA).total.sum())
    assert f"× {expected:,} billed tokens" in at.code[0].value
    table = at.dataframe[0].value
    assert table.iloc[0]["model"] == LLAMA and int(table.iloc[0]["billed tokens"]) == expected
    at.number_input(key=f"cost_price_{LLAMA}").set_value(2.0).run()
    assert "$2.00" in at.code[0].value
    assert at.selectbox(key="cost_model").value == LLAMA


def test_tool_call_sample_with_an_open_model_never_crashes(ftprep_db: Path) -> None:
    from tests.test_pages import loaded

    at = go(loaded("tool_calls.jsonl"), "tokens")
    at.selectbox(key="tok_model").set_value(MISTRAL).run()
    assert not at.exception
    # mistral-common refuses OpenAI-style tool call ids ("call_0": it wants 9 letters/digits): said, not crashed
    assert any("cannot be formatted with this model's chat template" in w.value for w in at.warning)
    at.selectbox(key="tok_model").set_value(LLAMA).run()
    assert not at.exception and metrics(at.main)["Total tokens"] != "0"
    go(at, "validate")
    go(at, "export")


def test_any_model_from_a_tokenizer_folder_and_the_no_markers_warning(ftprep_db: Path, tmp_path: Path) -> None:
    from tests.test_open_tokens import CHATML_PLAIN, tiny_folder

    folder = tiny_folder(tmp_path, CHATML_PLAIN)
    wid, path = workspace(tmp_path, "gpt-4.1-mini-2025-04-14")
    at = go(new_app(wid), "tokens")
    at.selectbox(key="tok_model").set_value("Another open model (tokenizer folder)…").run()
    at.text_input(key="tok_model_folder").set_value(str(folder)).run()
    at.button(key="tok_model_use").click().run()
    assert not at.exception
    expected = tokens.count(ingest.load_file(str(path)).examples, open_tokenizers.PREFIX + str(folder))
    assert metrics(at.main)["Total tokens"] == f"{int(expected.total.sum()):,}"
    assert any(str(folder) in c.value for c in at.caption)
    assert any("does not mark the assistant's replies" in w.value for w in at.warning)
    body = preview_html(at)
    assert '<span class="n">' not in body.split("</style>", 1)[1].split('<div class="ftp-tt">', 1)[1]  # all trained


def test_a_tokenizer_folder_that_disappeared_is_said_not_crashed(ftprep_db: Path, tmp_path: Path) -> None:
    gone = tmp_path / "was-a-tokenizer"
    wid, _ = workspace(tmp_path, str(gone))
    at = new_app(wid)  # the first page opened says it (the sidebar's summary needs the counts)
    assert not at.exception
    assert any("not available any more" in w.value for w in at.warning)
    assert any(str(gone) in t.value for t in at.text)  # the path, shown as plain text
    go(at, "tokens")
    assert any("o200k_base" in c.value for c in at.caption)  # counted again with the default model
