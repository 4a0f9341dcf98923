"""The streaming path follows the in-memory path's answers as main gives them today:
control strings per destination and images not counted (summed over chunks), the
mapping's confidence and reasons, a mapping that cannot be made, and the CSV reading
flags refused in plain words for a streamed JSONL file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validators import cli
from validators.streaming import stream


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _chat(i: int) -> dict:
    user: object = f"Question number {i} about the weather today"
    if i % 700 == 5:
        user = f"Say <|endoftext|> and <|im_start|> for case {i} please"
    elif i % 900 == 7:
        user = [{"type": "text", "text": f"What is in picture {i} here"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "auto"}}]
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": f"Answer number {i} is sunny."}]}


def test_control_strings_and_images_summed_over_chunks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = stream.CHUNK_EXAMPLES + 900  # two chunks, findings in both
    data = _write(tmp_path / "chat.jsonl", [_chat(i) for i in range(1, n + 1)])
    mem = _run(["check", str(data), "--json"], capsys)
    streamed = _run(["check", str(data), "--json", "--stream"], capsys)
    assert mem == streamed
    toks = json.loads(streamed[1])["tokens"]
    openai = toks["control_tokens_by_target"][0]
    assert openai["examples"] == len([i for i in range(1, n + 1) if i % 700 == 5]) and "<|endoftext|>" in openai["found"]
    assert max(openai["example numbers"]) > stream.CHUNK_EXAMPLES  # the second chunk's examples are there
    assert toks["images_not_counted"] == len([i for i in range(1, n + 1) if i % 900 == 7 and i % 700 != 5])


def test_table_source_has_confidence_and_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "qa.jsonl", [{"Question": f"What is {i} plus {i}?", "Answer": f"It is {2 * i}."} for i in range(30)])
    mem = _run(["check", str(data), "--json"], capsys)
    streamed = _run(["check", str(data), "--json", "--stream"], capsys)
    assert mem == streamed
    source = json.loads(streamed[1])["source"]
    assert source["layout"] == "table" and source["mapping"]["user"] == "Question"
    assert source["confidence"] and source["reasons"]


def test_unmappable_table_is_the_same_plain_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "ids.jsonl", [{"id": str(i), "n": str(3 * i)} for i in range(30)])
    mem = _run(["check", str(data), "--json"], capsys)
    streamed = _run(["check", str(data), "--json", "--stream"], capsys)
    assert mem == streamed
    assert streamed[0] == 2 and "--map user=" in streamed[2] and "Traceback" not in streamed[2]


@pytest.mark.parametrize("flags, words", [(["--header", "no"], "--header applies to CSV/TSV"),
                                          (["--join-lines"], "--join-lines applies to CSV/TSV"),
                                          (["--encoding", "mac_roman"], "--encoding is not available")])
def test_csv_reading_flags_refused_when_streaming(tmp_path: Path, flags: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write(tmp_path / "chat.jsonl", [_chat(i) for i in range(1, 4)])
    code, out, err = _run(["check", str(data), "--stream", *flags], capsys)
    assert code == 2 and words in err and out == ""
