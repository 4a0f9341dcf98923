"""Export targets: rules, preview, next steps, and independent checks of the written files.

Independent means not our code: OpenAI lines are validated with the ``openai`` package's own
message/tool types (pydantic TypeAdapter), TRL/AutoTrain/Unsloth files are loaded with
``datasets.load_dataset("json")`` as those tools load them, and the AutoTrain config is read
by AutoTrain's own config parser when it is installed.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from tests.target_data import dpo_rows, export, mixed_rows, plain_rows, read_jsonl, write_jsonl
from validators.checking import checks
from validators.cli import main
from validators.exporting import targets
from validators.exporting.export import dumps_line
from validators.exporting.matrix import target_matrix
from validators.exporting.next_steps import autotrain_config, next_step, to_yaml
from validators.reading import ingest


def _result(path: Path) -> checks.CheckResult:
    return checks.check_dataset(ingest.load_file(str(path)))


# --- registry, rules, matrix ---------------------------------------------------------------

def test_every_family_and_layout_resolves() -> None:
    assert set(targets.FAMILIES) == {t.family for t in targets.TARGETS.values()}
    assert targets.resolve("trl", "prompt-completion").name == "trl-prompt-completion"
    assert targets.resolve("unsloth").name == "unsloth" and targets.layouts("autotrain") == ["messages", "text"]
    with pytest.raises(Exception, match="Layouts: messages, text"):
        targets.resolve("autotrain", "csv")


def test_matrix_says_what_each_failure_needs(tmp_path: Path) -> None:
    rows = {r["target"]: r for r in target_matrix(_result(write_jsonl(tmp_path / "m.jsonl", mixed_rows())))["rows"]}
    assert {n for n, r in rows.items() if r["pass"]} == {"openai", "azure", "trl", "trl-prompt-completion", "unsloth-messages", "together", "fireworks"}
    assert "without tools" in rows["autotrain"]["needs"][0] and "Export for TRL" in rows["autotrain"]["needs"][0]
    assert "unsloth-messages" in rows["unsloth"]["needs"][0] and "6 examples (2, 4, 6, 8, 10 and 1 more)" in rows["unsloth"]["needs"][0]


def test_azure_rules_minimum_and_suffix(tmp_path: Path) -> None:
    rows = {r["target"]: r for r in target_matrix(_result(write_jsonl(tmp_path / "few.jsonl", plain_rows(7))))["rows"]}
    assert not rows["azure"]["pass"] and "at least 10 training examples; this export has 7" in rows["azure"]["needs"][0]
    assert rows["trl"]["pass"]
    assert targets.suffix_problems("support-v1") == []
    assert "contains '.'" in targets.suffix_problems("support.v1")[0]
    assert targets.suffix_problems("support.v1", azure=False) == []


def test_dpo_pairs_pass_through_to_openai_and_azure_and_map_for_trl(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "dpo.jsonl", dpo_rows())
    for fam in ("openai", "azure"):
        assert read_jsonl(export(src, fam, tmp_path / f"{fam}.jsonl")) == dpo_rows()
    trl = read_jsonl(export(src, "trl", tmp_path / "trl.jsonl"))[0]
    assert set(trl) == {"prompt", "chosen", "rejected"} and trl["chosen"][0]["role"] == "assistant"
    auto = read_jsonl(export(src, "autotrain", tmp_path / "auto.jsonl"))[0]
    assert auto["chosen"][:-1] == auto["prompt"] == auto["rejected"][:-1]  # AutoTrain takes the prompt from chosen[:-1]


def test_preview_is_the_exported_line(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "m.jsonl", mixed_rows())
    example = ingest.load_file(str(src)).examples[1]  # a tool-calling example
    shown = targets.preview(example)
    assert set(shown) == set(targets.TARGETS)
    for name in ("openai", "trl", "trl-prompt-completion", "unsloth-messages"):
        family, _, layout = name.partition("-")
        out = export(src, family, tmp_path / f"{name}.jsonl", layout or None)
        assert shown[name] == out.read_text(encoding="utf-8").splitlines()[1]
    assert shown["unsloth"].startswith("(not exported: ") and "unsloth-messages" in shown["unsloth"]


def test_hf_layouts_convert_what_templates_need(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "m.jsonl", mixed_rows())
    rows = read_jsonl(export(src, "trl", tmp_path / "trl.jsonl"))
    call = rows[1]["messages"][2]
    assert call["tool_calls"][0]["function"]["arguments"] == {"order_id": "B-1"} and "content" not in call
    assert isinstance(rows[1]["tools"], str) and json.loads(rows[1]["tools"]) == mixed_rows()[1]["tools"]
    assert "tools" not in rows[0] and all("weight" not in m for r in rows for m in r["messages"])
    parts = read_jsonl(export(write_jsonl(tmp_path / "p.jsonl", plain_rows()), "trl", tmp_path / "parts.jsonl"))[1]["messages"][1]
    assert parts == {"role": "user", "content": "Wheel size 21:\nrepairable?", "name": "Kim"}  # text parts joined for text templates
    pc = read_jsonl(export(src, "trl", tmp_path / "pc.jsonl", "prompt-completion"))
    assert all(len(r["completion"]) == 1 and r["completion"][0]["role"] == "assistant" for r in pc)
    sg = read_jsonl(export(write_jsonl(tmp_path / "p.jsonl", plain_rows()), "unsloth", tmp_path / "sg.jsonl"))
    assert sg[0]["conversations"][:2] == [{"from": "system", "value": plain_rows()[0]["messages"][0]["content"]},
                                          {"from": "human", "value": "Do you repair wheels of size 20?"}]
    assert all(set(t) == {"from", "value"} and isinstance(t["value"], str) for r in sg for t in r["conversations"])  # standardize_sharegpt demands it
    text = read_jsonl(export(tmp_path / "p.jsonl", "autotrain", tmp_path / "txt.jsonl", "text"))[0]["text"]
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_end|>\n")


# --- OpenAI / Azure: independent structural check with the openai package's own types ------

def _role_types() -> dict[str, Any]:
    from openai.types.chat import ChatCompletionMessageParam

    out = {}
    for cls in typing.get_args(ChatCompletionMessageParam):
        role = typing.get_args(typing.get_type_hints(cls, include_extras=True)["role"])
        out[typing.get_args(role[0])[0] if role and typing.get_origin(role[0]) else role[0]] = cls
    return out


def check_openai_line(line: dict[str, Any]) -> None:
    """Validate one SFT line with openai's TypedDicts, and refuse keys those types do not declare."""
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
    from pydantic import TypeAdapter

    assert set(line) <= {"messages", "tools", "parallel_tool_calls", "functions"}, set(line)
    TypeAdapter(list[ChatCompletionMessageParam]).validate_python(line["messages"])
    TypeAdapter(list[ChatCompletionToolParam]).validate_python(line.get("tools", []))
    roles = _role_types()
    for m in line["messages"]:
        allowed = set(roles[m["role"]].__annotations__) | ({"weight"} if m["role"] == "assistant" else set())  # weight: fine-tuning only
        assert set(m) <= allowed, (m["role"], set(m) - allowed)


@pytest.mark.parametrize("target", ["openai", "azure"])
def test_openai_lines_match_the_published_types_and_recheck_clean(tmp_path: Path, target: str) -> None:
    out = export(write_jsonl(tmp_path / "m.jsonl", mixed_rows()), target, tmp_path / "out.jsonl")
    for line in read_jsonl(out):
        check_openai_line(line)
    assert _result(out).errors == []  # the project's own validator: 0 errors on re-check
    raw = out.read_bytes()
    # Azure's docs: UTF-8 "and include a byte-order mark (BOM)"; OpenAI: plain UTF-8
    assert raw.startswith(b"\xef\xbb\xbf") == (target == "azure") and raw.decode("utf-8")


def test_structural_check_catches_a_bad_line() -> None:
    from pydantic import ValidationError

    with pytest.raises((ValidationError, AssertionError)):
        check_openai_line({"messages": [{"role": "robot", "content": "x"}]})
    with pytest.raises(AssertionError):
        check_openai_line({"messages": [{"role": "user", "content": "x", "weight": 1}]})


# --- datasets: the exported files load as written --------------------------------------------

def _strip_none(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_none(x) for x in v]
    return v


@pytest.mark.parametrize("target,layout,rows", [("trl", None, mixed_rows), ("trl", "prompt-completion", mixed_rows), ("trl", None, dpo_rows),
                                                ("unsloth", "messages", mixed_rows), ("unsloth", None, plain_rows),
                                                ("autotrain", None, plain_rows), ("autotrain", None, dpo_rows), ("autotrain", "text", plain_rows)])
def test_load_dataset_reads_every_line_exactly(tmp_path: Path, target: str, layout: str | None, rows: Any) -> None:
    datasets = pytest.importorskip("datasets")
    out = export(write_jsonl(tmp_path / "src.jsonl", rows()), target, tmp_path / "out.jsonl", layout)
    ds = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert [_strip_none(r) for r in ds] == [_strip_none(r) for r in read_jsonl(out)]  # no keys invented by Arrow's struct merging


# --- next steps -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(targets.TARGETS))
def test_next_step_is_valid_code_or_config(name: str) -> None:
    text = next_step(name, "out/my data.jsonl", "Qwen/Qwen2.5-0.5B-Instruct", "out/my data.validation.jsonl")
    assert "my data.jsonl" in text and "Qwen/Qwen2.5-0.5B-Instruct" in text and "sk-" not in text
    if targets.get(name).family == "autotrain":
        yaml = pytest.importorskip("yaml")
        cfg = yaml.safe_load("\n".join(line for line in text.splitlines() if not line.startswith("#")))
        assert cfg["data"]["column_mapping"]["text_column"] == ("text" if name.endswith("text") else "messages")
        assert cfg["params"]["lr"] == pytest.approx(2e-5)
    else:
        compile("\n".join(line for line in text.splitlines() if not line.startswith("#")), name, "exec")


def test_autotrain_config_is_read_by_autotrains_own_parser(tmp_path: Path) -> None:
    pytest.importorskip("autotrain.parser")
    from autotrain.parser import AutoTrainConfigParser
    from autotrain.trainers.clm.params import LLMTrainingParams

    for kind, trainer in (("sft", "sft"), ("dpo", "dpo")):
        path = tmp_path / f"{kind}.yml"
        path.write_text(to_yaml(autotrain_config(targets.get("autotrain"), "my/model", True, kind)), encoding="utf-8")  # type: ignore[arg-type]
        parsed = AutoTrainConfigParser(str(path)).parsed_config
        params = LLMTrainingParams(**parsed)
        assert params.trainer == trainer and params.chat_template == "tokenizer" and params.valid_split == "valid"
        assert params.text_column == ("chosen" if kind == "dpo" else "messages")


def test_cli_export_layout_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "p.jsonl", plain_rows())
    assert main(["export", str(src), "--to", "autotrain", "--layout", "nope", "-o", str(tmp_path / "x.jsonl")]) == 2
    assert "Layouts: messages, text" in capsys.readouterr().err
    assert dumps_line(read_jsonl(export(src, "unsloth", tmp_path / "u.jsonl", "messages"))[0]).startswith('{"messages"')
