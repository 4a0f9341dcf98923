"""The Export page's submit panel, driven with Streamlit's AppTest against the local fake API."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.fake_openai import Behaviour, FakeOpenAI
from tests.target_data import plain_rows, write_jsonl

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest

SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from validators.checking import checks; from validators.exporting import export; from validators.reading import ingest
from ui import submit_panel
submit_panel.POLL_SECONDS = 0

ds = ingest.load_file({src!r})
result = checks.check_dataset(ds)
out = export.build(result, {target!r}, 0.2, "none", 0, ds.source_rows)
submit_panel.render(result, out, "gpt-4o-mini-2024-07-18")
"""


def _app(tmp_path: Path, target: str = "openai") -> AppTest:
    src = write_jsonl(tmp_path / "data.jsonl", plain_rows(12))
    root = str(Path(__file__).resolve().parents[1])
    return AppTest.from_string(SCRIPT.format(root=root, src=str(src), target=target), default_timeout=60)


def test_panel_submits_follows_and_keeps_the_key_out_of_session_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    canary = "sk-canary-" + secrets.token_hex(12)
    with FakeOpenAI(Behaviour(api_key=canary)) as fake:
        at = _app(tmp_path).run()
        assert any("winding down" in w.value for w in at.warning)
        at.text_input(key="submit_base_url").input(fake.base_url)
        at.text_input(key="submit_key_openai").input(canary)
        at.number_input(key="submit_epochs").set_value(2)
        at.button(key="submit_go").click().run()
        assert not at.exception, at.exception
        assert any("Fine-tuned model ready: ft:gpt-4o-mini" in s.value for s in at.success), [e.value for e in at.error]
        create = next(r["json"] for r in fake.state.requests if r["method"] == "POST" and r["path"].endswith("/jobs"))
    assert create["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2} and create.get("validation_file")
    others = {k: v for k, v in at.session_state.to_dict().items() if k != "submit_key_openai"}
    assert canary not in json.dumps(others, default=str)  # only the password widget itself holds the key
    assert at.session_state["submit_last_job"] == {"job_id": "ftjob-0001", "status": "succeeded"}


def test_panel_shows_a_bad_key_in_plain_words(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        at = _app(tmp_path).run()
        at.text_input(key="submit_base_url").input(fake.base_url)
        at.text_input(key="submit_key_openai").input("sk-wrong-" + secrets.token_hex(8))
        at.button(key="submit_go").click().run()
    assert any("refused the API key (401)" in e.value and "sk-wrong" not in e.value for e in at.error)


def test_panel_points_hf_targets_to_their_next_step(tmp_path: Path) -> None:
    at = _app(tmp_path, "trl").run()
    assert not at.exception and any("next-step" in i.value for i in at.info)


def test_panel_starts_a_together_job_with_its_own_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("together")
    from tests.fake_together import Behaviour as TogetherBehaviour
    from tests.fake_together import FakeTogether

    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    canary = "tgp_v1_canary" + secrets.token_hex(12)
    with FakeTogether(TogetherBehaviour(api_key=canary)) as fake:
        at = _app(tmp_path, "together").run()
        assert not at.exception and not any("winding down" in w.value for w in at.warning)
        assert at.text_input(key="submit_model_together").value == "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
        at.text_input(key="submit_base_url").input(fake.base_url)
        at.text_input(key="submit_key_together").input(canary)
        at.button(key="submit_go").click().run()
        assert not at.exception, at.exception
        assert any("Fine-tuned model ready" in s.value for s in at.success), [e.value for e in at.error]
        assert any(r["path"] == "/v1/fine-tunes" and r["method"] == "POST" for r in fake.state.requests)
    others = {k: v for k, v in at.session_state.to_dict().items() if k != "submit_key_together"}
    assert canary not in json.dumps(others, default=str)
