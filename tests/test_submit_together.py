"""Starting and following a Together AI job with Together's official SDK, against a local fake
of Together's published API (tests/fake_together.py; a real HTTP server, no network, no mocks)."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

import pytest

pytest.importorskip("together")

from tests.fake_together import Behaviour, FakeTogether  # noqa: E402
from tests.target_data import dpo_rows, plain_rows, write_jsonl  # noqa: E402
from validators.cli import main  # noqa: E402
from validators.exporting import export, targets  # noqa: E402
from validators.model import Example  # noqa: E402
from validators.submitting import submit  # noqa: E402

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def together_lines(n: int = 12, dpo: bool = False) -> bytes:
    """What the Together export writes for ``n`` examples (preference pairs with ``dpo``)."""
    rows = dpo_rows(n) if dpo else plain_rows(n)
    examples = [Example(index=i, rows=(i,), record=r, kind="dpo" if dpo else "sft") for i, r in enumerate(rows, 1)]
    return export.render(examples, targets.get("together-preference" if dpo else "together"))


def settings(fake: FakeTogether, **kw: object) -> submit.JobSettings:
    return submit.JobSettings(**{"provider": "together", "model": MODEL, "base_url": fake.base_url, **kw})  # type: ignore[arg-type]


def test_together_upload_create_and_follow_to_success() -> None:
    seen: list[submit.Progress] = []
    with FakeTogether() as fake:
        out = submit.submit(together_lines(), settings(fake, n_epochs=3, batch_size=8, suffix="bikes", seed=7), api_key=fake.behaviour.api_key,
                            validation=together_lines(3), on_progress=seen.append, poll_interval=0)
        reqs = list(fake.state.requests)
        uploads = dict(fake.state.uploads)
    assert out.status == "succeeded" and out.fine_tuned_model and "bikes" in out.fine_tuned_model
    assert uploads[out.training_file] == together_lines() and out.validation_file and uploads[out.validation_file] == together_lines(3)
    create = next(r["json"] for r in reqs if r["method"] == "POST" and r["path"] == "/v1/fine-tunes")
    assert create["model"] == MODEL and create["n_epochs"] == 3 and create["batch_size"] == 8 and create["suffix"] == "bikes"
    assert create["random_seed"] == 7 and create["validation_file"] == out.validation_file and create["n_evals"] == 1
    assert create["training_method"]["method"] == "sft" and create["training_type"]["type"] == "Lora"
    statuses = [p.status for p in seen]
    assert [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s] == ["queued", "running", "succeeded"]
    events = [e for p in seen for e in p.new_events]
    assert "Training step 2 of 3" in events and len(events) == len(set(events)) and seen[-1].fraction == 1.0


def test_together_dpo_sends_the_dpo_method() -> None:
    with FakeTogether() as fake:
        submit.submit(together_lines(dpo=True), settings(fake, method="dpo", beta=0.3), api_key=fake.behaviour.api_key, follow_job=False)
        create = next(r["json"] for r in fake.state.requests if r["method"] == "POST" and r["path"] == "/v1/fine-tunes")
    assert create["training_method"]["method"] == "dpo" and create["training_method"]["dpo_beta"] == 0.3


def test_togethers_own_check_refuses_a_bom_before_anything_is_sent() -> None:
    with FakeTogether() as fake:
        with pytest.raises(submit.SubmitError, match="Together's own file check refused"):
            submit.submit(b"\xef\xbb\xbf" + together_lines(), settings(fake), api_key=fake.behaviour.api_key)
        assert fake.state.requests == []


def test_together_bad_key_in_plain_words_without_the_key() -> None:
    key = "tgp_v1_" + secrets.token_hex(16)
    with FakeTogether() as fake, pytest.raises(submit.SubmitError) as err:
        submit.submit(together_lines(), settings(fake), api_key=key)
    assert "refused the API key (401)" in str(err.value) and key not in str(err.value)


def test_together_unknown_model_and_failed_job() -> None:
    with FakeTogether() as fake, pytest.raises(submit.SubmitError, match="404"):
        submit.submit(together_lines(), settings(fake, model="no/such-model"), api_key=fake.behaviour.api_key)
    with FakeTogether(Behaviour(fail_job="Example 4 has no assistant message")) as fake:
        out = submit.submit(together_lines(), settings(fake), api_key=fake.behaviour.api_key, poll_interval=0)
    assert out.status == "failed" and out.error and "Example 4 has no assistant message" in out.error


def test_together_settings_refused_before_any_request() -> None:
    with FakeTogether() as fake:
        with pytest.raises(submit.SubmitError, match="learning-rate multiplier"):
            submit.submit(together_lines(), settings(fake, learning_rate_multiplier=2.0), api_key=fake.behaviour.api_key)
        with pytest.raises(submit.SubmitError, match="at most 40 characters"):
            submit.submit(together_lines(), settings(fake, suffix="x" * 41), api_key=fake.behaviour.api_key)
        assert fake.state.requests == []


def test_cli_submit_together_with_the_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    canary = "tgp_v1_canary" + secrets.token_hex(16)
    src = write_jsonl(tmp_path / "data.jsonl", plain_rows(12))
    monkeypatch.setenv("TOGETHER_API_KEY", canary)
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    with FakeTogether(Behaviour(api_key=canary)) as fake:
        code = main(["submit", str(src), "--provider", "together", "--model", MODEL, "--base-url", fake.base_url, "--poll", "0"])
        uploaded = b"".join(fake.state.uploads.values())
        requests_seen = json.dumps(fake.state.requests)
    captured = capsys.readouterr()
    assert code == 0 and "succeeded" in captured.out, captured.err
    assert [json.loads(line)["messages"][1]["role"] for line in uploaded.decode().splitlines()][:1] == ["user"]
    for text in (captured.out, captured.err, caplog.text, requests_seen, "\n".join(p.read_text("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file())):
        assert canary not in text and canary[-10:] not in text


def test_cli_submit_together_refuses_what_together_would_refuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    rows = plain_rows(3)
    rows[1]["messages"].insert(2, {"role": "assistant", "content": "A second reply in a row."})
    src = write_jsonl(tmp_path / "data.jsonl", rows)
    monkeypatch.setenv("TOGETHER_API_KEY", "tgp_v1_test-key-0123456789")
    with FakeTogether() as fake:
        assert main(["submit", str(src), "--provider", "together", "--model", MODEL, "--base-url", fake.base_url]) == 1
        assert fake.state.requests == []
    assert "same role in a row" in capsys.readouterr().err


def test_settings_beyond_the_models_limits_in_plain_words() -> None:
    with FakeTogether() as fake:
        with pytest.raises(submit.SubmitError, match="limits for this model refuse the settings: Requested batch size of 64"):
            submit.submit(together_lines(), settings(fake, batch_size=64), api_key=fake.behaviour.api_key, follow_job=False)  # model max: 32
        assert not any(r["path"] == "/v1/fine-tunes" for r in fake.state.requests)  # refused before the job was created
