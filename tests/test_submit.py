"""Starting and following a fine-tuning job, against a local fake of OpenAI's API (no network)."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

import pytest

from tests.fake_openai import Behaviour, FakeOpenAI
from validators.cli import main
from validators.submitting import submit

MODEL = "gpt-4o-mini-2024-07-18"


def chat_lines(n: int = 12) -> bytes:
    rows = [{"messages": [{"role": "system", "content": "You answer questions about opening hours."},
                          {"role": "user", "content": f"Are you open on day {i}?"},
                          {"role": "assistant", "content": f"Yes, on day {i} we open at {8 + i % 3} am."}]} for i in range(n)]
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


def settings(fake: FakeOpenAI, **kw: object) -> submit.JobSettings:
    return submit.JobSettings(provider="openai", model=MODEL, base_url=fake.base_url, **kw)  # type: ignore[arg-type]


def test_happy_path_uploads_creates_and_follows_to_success() -> None:
    seen: list[submit.Progress] = []
    with FakeOpenAI() as fake:
        out = submit.submit(chat_lines(), settings(fake, n_epochs=3, batch_size=4, learning_rate_multiplier=0.5, suffix="hours", seed=7),
                            api_key="sk-test", validation=chat_lines(3), on_progress=seen.append, poll_interval=0)
        create = next(r["json"] for r in fake.state.requests if r["path"] == "/v1/fine_tuning/jobs" and r["method"] == "POST")
        uploads = dict(fake.state.uploads)
    assert out.status == "succeeded" and out.fine_tuned_model and out.fine_tuned_model.startswith(f"ft:{MODEL}")
    assert out.validation_file and uploads[out.training_file] == chat_lines() and uploads[out.validation_file] == chat_lines(3)
    assert create["method"] == {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 0.5}}}
    assert create["suffix"] == "hours" and create["seed"] == 7 and create["validation_file"] == out.validation_file
    statuses = [p.status for p in seen]
    assert [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s] == ["validating_files", "queued", "running", "succeeded"]
    assert seen[-1].fraction == 1.0
    events = [e for p in seen for e in p.new_events]
    assert "Step 2/4: training loss=0.50" in events and len(events) == len(set(events))  # every event shown once, oldest first


def test_dpo_method_and_auto_hyperparameters() -> None:
    with FakeOpenAI() as fake:
        submit.submit(chat_lines(), settings(fake, method="dpo", beta=0.2), api_key="sk-test", follow_job=False)
        create = next(r["json"] for r in fake.state.requests if r["method"] == "POST" and r["path"].endswith("/jobs"))
    assert create["method"] == {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}}
    assert "suffix" not in create and "seed" not in create


def test_azure_client_paths_api_version_header_and_training_type() -> None:
    with FakeOpenAI(Behaviour(api_key="azure-key-123")) as fake:
        s = submit.JobSettings(provider="azure", model="gpt-4.1-mini-2025-04-14", azure_endpoint=fake.root, api_version="2025-04-01-preview",
                               training_type="GlobalStandard", suffix="hours-v1")
        out = submit.submit(chat_lines(), s, api_key="azure-key-123", poll_interval=0)
        reqs = list(fake.state.requests)
    assert out.status == "succeeded"
    assert all(r["path"].startswith("/openai/") and r["query"].get("api-version") == ["2025-04-01-preview"] for r in reqs)
    create = next(r["json"] for r in reqs if r["method"] == "POST" and r["path"].endswith("/fine_tuning/jobs"))
    assert create["trainingType"] == "GlobalStandard"


def test_azure_suffix_with_dot_is_refused_before_any_request() -> None:
    with FakeOpenAI() as fake:
        s = submit.JobSettings(provider="azure", model="m", azure_endpoint=fake.root, suffix="v1.2")
        with pytest.raises(submit.SubmitError, match="contains '.'"):
            submit.submit(chat_lines(), s, api_key="sk-test")
        assert fake.state.requests == []


def test_bad_key_401_in_plain_words_without_the_key() -> None:
    key = "sk-wrong-" + secrets.token_hex(12)
    with FakeOpenAI() as fake, pytest.raises(submit.SubmitError) as err:
        submit.submit(chat_lines(), settings(fake), api_key=key)
    text = str(err.value)
    assert "refused the API key (401)" in text
    assert key not in text and key[:8] + "*" not in text and key[-4:] + "." not in text


def test_training_not_available_403_explains_the_wind_down() -> None:
    b = Behaviour(job_create_error=(403, "training_not_available", "Fine-tuning is not available for your organization.", None))
    with FakeOpenAI(b) as fake, pytest.raises(submit.SubmitError) as err:
        submit.submit(chat_lines(), settings(fake), api_key="sk-test")
    assert "training_not_available" in str(err.value) and "January 2027" in str(err.value) and "Azure OpenAI" in str(err.value)


def test_invalid_file_400_names_the_example() -> None:
    b = Behaviour(job_create_error=(400, "invalid_training_file", "Invalid file format. Example 100, message 2 Discriminator 'role' is missing in value", "training_file"))
    with FakeOpenAI(b) as fake, pytest.raises(submit.SubmitError) as err:
        submit.submit(chat_lines(), settings(fake), api_key="sk-test")
    assert "example 100" in str(err.value) and "(400, invalid_training_file)" in str(err.value)


def test_failed_job_reports_its_error() -> None:
    b = Behaviour(fail_job=("invalid_training_file", "Training file has 7 example(s), but must have at least 10 examples"))
    with FakeOpenAI(b) as fake:
        out = submit.submit(chat_lines(), settings(fake), api_key="sk-test", poll_interval=0)
    assert out.status == "failed" and out.error and "at least 10 examples" in out.error


def test_missing_key_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    with pytest.raises(submit.SubmitError, match="AZURE_OPENAI_API_KEY"):
        submit.submit(chat_lines(), submit.JobSettings(provider="azure", model="m", azure_endpoint="https://x.openai.azure.com"))


def test_unreachable_service_in_plain_words() -> None:
    s = submit.JobSettings(provider="openai", model=MODEL, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(submit.SubmitError, match="Could not reach OpenAI"):
        submit.submit(chat_lines(), s, api_key="sk-test")


def test_scrub_hides_whole_and_masked_keys() -> None:
    key = "sk-proj-" + secrets.token_hex(16)
    assert key not in submit.scrub(f"bad key {key}!", key)
    assert "sk-proj-" not in submit.scrub("Incorrect API key provided: sk-proj-********abcd.", key)


def _all_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


def test_canary_key_never_written_logged_or_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    canary = "sk-canary-" + secrets.token_hex(16)
    src = tmp_path / "data.jsonl"
    src.write_bytes(chat_lines())
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("openai").setLevel(logging.DEBUG)
    with FakeOpenAI(Behaviour(api_key=canary)) as fake:
        assert main(["export", str(src), "--to", "openai", "-o", str(tmp_path / "out" / "train.jsonl"), "--validation-split", "0.2"]) == 0
        ok = main(["submit", str(src), "--provider", "openai", "--model", MODEL, "--base-url", fake.base_url, "--poll", "0",
                   "--validation-file", str(tmp_path / "out" / "train.validation.jsonl"), "--suffix", "canary"])
        uploads = b"".join(fake.state.uploads.values())
        monkeypatch.setenv("OPENAI_API_KEY", canary + "x")  # a wrong key: the 401 path must not leak it either
        bad = main(["submit", str(src), "--provider", "openai", "--model", MODEL, "--base-url", fake.base_url])
    captured = capsys.readouterr()
    assert ok == 0 and "succeeded" in captured.out and bad == 1 and "401" in captured.err
    for text in (_all_text(tmp_path), captured.out, captured.err, caplog.text, uploads.decode()):
        assert canary not in text and canary[:14] not in text and canary[-8:] not in text
    assert caplog.records, "the SDK's debug logging was captured"


def test_azure_v1_base_url_with_the_plain_client() -> None:
    with FakeOpenAI() as fake:
        s = submit.JobSettings(provider="azure", model="gpt-4.1-mini-2025-04-14", base_url=fake.root + "/openai/v1/", training_type="Standard")
        out = submit.submit(chat_lines(), s, api_key="sk-test", poll_interval=0)
        paths = {r["path"] for r in fake.state.requests}
    assert out.status == "succeeded" and "/openai/v1/fine_tuning/jobs" in paths


def test_cli_submit_refuses_a_file_the_provider_would_refuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeOpenAI() as fake:
        src = tmp_path / "few.jsonl"
        src.write_bytes(chat_lines(7))
        assert main(["submit", str(src), "--model", MODEL, "--base-url", fake.base_url]) == 1
        assert fake.state.requests == []
    assert "at least 10 training examples" in capsys.readouterr().err


def test_cli_submit_no_follow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "sk-test")
    with FakeOpenAI() as fake:
        src = tmp_path / "data.jsonl"
        src.write_bytes(chat_lines())
        code = main(["submit", str(src), "--provider", "azure", "--model", "gpt-4.1-mini-2025-04-14", "--azure-endpoint", fake.root,
                     "--training-type", "developerTier", "--suffix", "hours_v1", "--no-follow"])
        gets = [r for r in fake.state.requests if r["method"] == "GET"]
    assert code == 0 and gets == [] and "is validating_files" in capsys.readouterr().out
