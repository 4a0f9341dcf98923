"""Hosted services beyond OpenAI: each export checked by something that is not our code.

* Together AI: the official ``together`` SDK's own file check (``together files check``,
  ``together.lib.utils.files.check_file``) run on our files;
* Fireworks AI: a JSON Schema written here from Fireworks' "Supervised fine-tuning: dataset
  format" docs (chat JSONL, roles, weight 0/1, system only first);
* Google Vertex AI: a JSON Schema written here from Google's "Prepare supervised fine-tuning
  data for Gemini" page, plus Google's own ``google-genai`` ``Content`` type (extra keys forbidden);
* Amazon Bedrock: the checks of AWS's sample validator (aws-samples/amazon-bedrock-samples,
  custom-models/bedrock-fine-tuning/nova/understanding/dataset_validation/nova_ft_dataset_validator.py),
  re-implemented independently below (role order, text blocks, reserved strings, 8-20,000 records).

Plus a round trip of the sample data through each layout and back, and the pass/fail matrix.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.target_data import dpo_rows, mixed_rows, plain_rows, read_jsonl, write_jsonl
from validators import catalog
from validators.checking import checks
from validators.cli import main
from validators.exporting import export, targets
from validators.exporting.matrix import target_matrix
from validators.exporting.next_steps import base_model, next_step
from validators.model import Example
from validators.reading import ingest

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
NEW = ["together", "together-instruction", "together-preference", "fireworks", "vertex", "bedrock", "bedrock-prompt-completion"]


def _result(path: Path) -> checks.CheckResult:
    return checks.check_dataset(ingest.load_file(str(path)))


def _write(tmp_path: Path, source: Path, target: str) -> tuple[export.ExportResult, Path]:
    out = export.build(_result(source), target)
    path = tmp_path / f"{source.stem}.{target}.jsonl"
    path.write_bytes(out.train)
    return out, path


# --- Together AI: its own file check ----------------------------------------------------------

together_files = pytest.importorskip("together.lib.utils.files")


@pytest.mark.parametrize("source,target", [
    (SAMPLES / "support_desk.csv", "together"), (SAMPLES / "support_desk.csv", "together-instruction"),
    (SAMPLES / "tool_calls.jsonl", "together"), (SAMPLES / "multi_turn.csv", "together"), ("plain", "together"), ("mixed", "together"), ("dpo", "together-preference"),
])
def test_together_exports_pass_togethers_own_file_check(tmp_path: Path, source: Any, target: str) -> None:
    if isinstance(source, str):  # tools, text parts, weight 0, a named user (tests/target_data.py)
        source = write_jsonl(tmp_path / f"{source}.jsonl", {"plain": plain_rows, "mixed": mixed_rows, "dpo": dpo_rows}[source]())
    out, path = _write(tmp_path, source, target)
    report = together_files.check_file(path)
    assert report["is_check_passed"], report["message"]
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    if target == "together-preference":
        assert set(read_jsonl(path)[0]) == {"input", "preferred_output", "non_preferred_output"}


def test_a_bom_fails_togethers_check_and_our_export_never_writes_one(tmp_path: Path) -> None:
    _, path = _write(tmp_path, SAMPLES / "support_desk.csv", "together")
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert together_files.check_file(path)["is_check_passed"]
    assert not together_files.check_file(bom)["is_check_passed"]


def _ex(msgs: list[dict[str, Any]], index: int = 1, kind: str = "sft", record: dict[str, Any] | None = None) -> Example:
    return Example(index=index, rows=(index,), record=record or {"messages": msgs}, kind=kind)  # type: ignore[arg-type]


BAD_FOR_TOGETHER = {
    "unknown role": [{"role": "function", "name": "f", "content": "x"}, {"role": "assistant", "content": "y"}],
    "no assistant": [{"role": "user", "content": "x"}],
    "weight 2": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 2}],
    "image in a reply": [{"role": "user", "content": "x"},
                         {"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}],
    "image by web link": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
                          {"role": "assistant", "content": "y"}],
}


@pytest.mark.parametrize("case", list(BAD_FOR_TOGETHER))
def test_our_together_rules_refuse_what_togethers_check_refuses(tmp_path: Path, case: str) -> None:
    tgt = targets.get("together")
    ex = _ex(BAD_FOR_TOGETHER[case])
    assert tgt.rules([ex]), f"our rules let '{case}' through"
    path = tmp_path / "bad.jsonl"
    path.write_bytes(export.render([ex], tgt))  # written anyway, to ask Together's check
    assert not together_files.check_file(path)["is_check_passed"], f"Together's check accepted '{case}'"


def test_together_rules_from_its_docs_beyond_the_sdk_check() -> None:
    tgt = targets.get("together")
    twice = _ex([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}])
    reply_first = _ex([{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}])
    assert "same role in a row" in " ".join(tgt.rules([twice]))
    assert "system or user first" in " ".join(tgt.rules([reply_first]))
    mixed = tgt.rules([twice, _ex([], 2, "dpo", dpo_rows(1)[0])])
    assert any("preference layout" in p for p in mixed)


def test_together_images_are_written_as_parts_throughout_the_conversation(tmp_path: Path) -> None:
    img = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    ex = _ex([{"role": "system", "content": "Describe."}, {"role": "user", "content": [img]}, {"role": "assistant", "content": "A dot."}])
    tgt = targets.get("together")
    assert tgt.rules([ex]) == []
    path = tmp_path / "img.jsonl"
    path.write_bytes(export.render([ex], tgt))
    line = read_jsonl(path)[0]
    assert line["messages"][0]["content"] == [{"type": "text", "text": "Describe."}]  # Together refuses string + list in one example
    assert together_files.check_file(path)["is_check_passed"]


def test_together_instruction_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    rows = {r["target"]: r for r in target_matrix(_result(SAMPLES / "multi_turn.csv"), NEW)["rows"]}
    assert not rows["together-instruction"]["pass"] and "Use the Together conversational layout" in rows["together-instruction"]["needs"][0]


# --- Fireworks AI: JSON Schema from its docs --------------------------------------------------

_FW_MESSAGE = {"type": "object", "required": ["role"],
               "properties": {"role": {"enum": ["system", "user", "assistant", "tool"]},
                              "content": {"type": ["string", "array", "null"]}, "weight": {"enum": [0, 1]},
                              "tool_calls": {"type": "array"}, "tool_call_id": {"type": "string"}, "name": {"type": "string"},
                              "reasoning_content": {"type": "string"}},
               "additionalProperties": False}
FIREWORKS_SFT = {"type": "object", "required": ["messages"], "additionalProperties": False,
                 "properties": {"messages": {"type": "array", "minItems": 1, "items": _FW_MESSAGE}, "tools": {"type": "array"}}}
FIREWORKS_DPO = {"type": "object", "required": ["input", "preferred_output", "non_preferred_output"], "additionalProperties": False,
                 "properties": {"input": {"type": "object", "required": ["messages"], "additionalProperties": False,
                                          "properties": {"messages": {"type": "array", "items": _FW_MESSAGE}, "tools": {"type": "array"}}},
                                "preferred_output": {"type": "array", "minItems": 1, "maxItems": 1, "items": _FW_MESSAGE},
                                "non_preferred_output": {"type": "array", "minItems": 1, "maxItems": 1, "items": _FW_MESSAGE}}}


def _system_only_first(line: dict[str, Any]) -> bool:
    msgs = line.get("messages") or line["input"]["messages"]
    return all(m["role"] != "system" for m in msgs[1:])


@pytest.mark.parametrize("source", ["support_desk.csv", "multi_turn.csv", "tool_calls.jsonl", "dpo"])
def test_fireworks_lines_match_its_documented_format(tmp_path: Path, source: str) -> None:
    src = write_jsonl(tmp_path / "dpo.jsonl", dpo_rows()) if source == "dpo" else SAMPLES / source
    out, path = _write(tmp_path, src, "fireworks")
    schema = FIREWORKS_DPO if source == "dpo" else FIREWORKS_SFT
    for line in read_jsonl(path):
        jsonschema.validate(line, schema)
        assert _system_only_first(line)
    assert out.problems == []


def test_fireworks_needs_three_examples_and_respects_its_maximum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    few = export.build(_result(write_jsonl(tmp_path / "two.jsonl", plain_rows(2))), "fireworks")
    assert any("at least 3 training examples; this export has 2" in p for p in few.problems)
    assert catalog.service("fireworks").max_examples == 3_000_000
    monkeypatch.setitem(targets.TARGETS, "fireworks", replace(targets.TARGETS["fireworks"], max_examples=5))
    many = export.build(_result(write_jsonl(tmp_path / "six.jsonl", plain_rows(6))), "fireworks")
    assert any("at most 5 training examples; this export has 6" in p for p in many.problems)


# --- Google Vertex AI: JSON Schema from Google's page, and google-genai's own types -----------

_PARTS = {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}}}
_CONTENT = {"type": "object", "required": ["role", "parts"], "properties": {"role": {"enum": ["user", "model"]}, "parts": _PARTS}}
GEMINI_SFT = {"type": "object", "required": ["contents"], "additionalProperties": False,
              "properties": {"systemInstruction": {"type": "object", "required": ["parts"], "properties": {"parts": _PARTS}},
                             "contents": {"type": "array", "minItems": 2, "items": _CONTENT}}}
GEMINI_PREFERENCE = {"type": "object", "required": ["contents", "completions"], "additionalProperties": False,
                     "properties": {"systemInstruction": GEMINI_SFT["properties"]["systemInstruction"],
                                    "contents": {"type": "array", "minItems": 1, "items": _CONTENT},
                                    "completions": {"type": "array", "minItems": 2, "items": {
                                        "type": "object", "required": ["score", "completion"],
                                        "properties": {"score": {"type": "number"}, "completion": _CONTENT}}}}}


def _gemini_types(line: dict[str, Any]) -> None:
    genai_types = pytest.importorskip("google.genai.types")
    for content in line["contents"] + [c["completion"] for c in line.get("completions", [])]:
        genai_types.Content.model_validate(content)  # Google's type: extra keys forbidden
    if "systemInstruction" in line:
        genai_types.Content.model_validate(line["systemInstruction"])


@pytest.mark.parametrize("source", ["support_desk.csv", "multi_turn.csv", "dpo"])
def test_vertex_lines_match_googles_schema_and_types(tmp_path: Path, source: str) -> None:
    src = write_jsonl(tmp_path / "dpo.jsonl", dpo_rows()) if source == "dpo" else SAMPLES / source
    _, path = _write(tmp_path, src, "vertex")
    for line in read_jsonl(path):
        jsonschema.validate(line, GEMINI_PREFERENCE if source == "dpo" else GEMINI_SFT)
        _gemini_types(line)
        roles = [c["role"] for c in line["contents"]]
        if source == "dpo":
            assert roles[-1] == "user" and [c["score"] for c in line["completions"]] == [1, 0]
        else:
            assert roles[0] == "user" and roles[-1] == "model"


def test_vertex_validation_set_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(targets.TARGETS, "vertex", replace(targets.TARGETS["vertex"], max_validation_examples=2))
    result = _result(write_jsonl(tmp_path / "p.jsonl", plain_rows(12)))
    assert any("at most 2 validation examples; this split has 3" in p for p in export.build(result, "vertex", 0.25).problems)
    assert export.build(result, "vertex", 0.1).problems == []
    assert catalog.service("vertex").max_validation_examples == 5000 and catalog.service("vertex").context_tokens == 131072


def test_vertex_refuses_tools_and_a_late_system_message(tmp_path: Path) -> None:
    rows = {r["target"]: r for r in target_matrix(_result(SAMPLES / "tool_calls.jsonl"), ["vertex"])["rows"]}
    assert not rows["vertex"]["pass"] and "text only" in rows["vertex"]["needs"][0]
    late = _ex([{"role": "user", "content": "a"}, {"role": "system", "content": "b"}, {"role": "assistant", "content": "c"}])
    assert "system message after the first" in " ".join(targets.get("vertex").rules([late]))


# --- Amazon Bedrock: AWS's sample validator's checks, re-implemented here -----------------------

AWS_INVALID = ["System:", "SYSTEM:", "User:", "USER:", "Bot:", "BOT:", "Assistant:", "ASSISTANT:", "Thought:", "[EOS]", "<image>", "<video>"]


def aws_nova_problems(samples: list[dict[str, Any]], bounds: tuple[int, int] = (8, 20000)) -> list[str]:
    """What nova_ft_dataset_validator.py refuses (model 'lite'), written from its source, not ours."""
    out = [] if bounds[0] <= len(samples) <= bounds[1] else [f"{len(samples)} samples out of bounds {bounds}"]
    for i, s in enumerate(samples):
        if set(s) - {"schemaVersion", "system", "messages"}:
            out.append(f"{i}: extra keys")
        texts = [t["text"] for t in s.get("system") or []]
        msgs = s.get("messages")
        if not isinstance(msgs, list) or len(msgs) < 2:
            out.append(f"{i}: fewer than two messages")
            continue
        for j, m in enumerate(msgs):
            if m.get("role") != ("user" if j % 2 == 0 else "assistant"):
                out.append(f"{i}: role order")
            content = m.get("content")
            if not isinstance(content, list) or not content or any(set(c) - {"text", "image", "video"} for c in content):
                out.append(f"{i}: content blocks")
                continue
            block_texts = [c.get("text") for c in content if c.get("text") is not None]
            if block_texts and sum(len(t) for t in block_texts) == 0:
                out.append(f"{i}: empty text")
            texts += block_texts
        if msgs[-1].get("role") != "assistant":
            out.append(f"{i}: last turn not assistant")
        if any(tok in t.strip() for t in texts for tok in AWS_INVALID):
            out.append(f"{i}: invalid token")
    return out


@pytest.mark.parametrize("source", ["support_desk.csv", "multi_turn.csv"])
def test_bedrock_nova_lines_pass_aws_validator_checks(tmp_path: Path, source: str) -> None:
    out, path = _write(tmp_path, SAMPLES / source, "bedrock")
    lines = read_jsonl(path)
    assert all(line["schemaVersion"] == "bedrock-conversation-2024" for line in lines)
    bad = {int(p.split(":")[0]) + 1 for p in aws_nova_problems(lines) if ":" in p}
    ours = {e.index for e in out.train_examples if targets.get("bedrock").rules([e])}
    assert bad == ours  # the same examples refused by AWS's checks and by ours (multi_turn: example 2's repeated user turn)
    assert (source == "support_desk.csv") == (bad == set())


def test_bedrock_reserved_strings_refused_by_both(tmp_path: Path) -> None:
    ex = _ex([{"role": "user", "content": "Transcript - User: my bike is broken"}, {"role": "assistant", "content": "Sorry to hear that."}])
    tgt = targets.get("bedrock")
    assert "Nova reserves" in " ".join(tgt.rules([ex]))
    assert any("invalid token" in p for p in aws_nova_problems([json.loads(export.render([ex], tgt))], (1, 10)))


def test_bedrock_record_bounds_come_from_the_catalogue(tmp_path: Path) -> None:
    info = catalog.service("bedrock")
    assert (info.min_examples, info.max_examples) == (8, 20000)
    few = export.build(_result(write_jsonl(tmp_path / "seven.jsonl", plain_rows(7))), "bedrock")
    assert any("at least 8 training examples; this export has 7" in p for p in few.problems)


def test_bedrock_prompt_completion_lines(tmp_path: Path) -> None:
    out, path = _write(tmp_path, SAMPLES / "support_desk.csv", "bedrock-prompt-completion")
    for line in read_jsonl(path):
        assert set(line) == {"prompt", "completion"} and all(isinstance(v, str) and v for v in line.values())
    rows = {r["target"]: r for r in target_matrix(_result(SAMPLES / "multi_turn.csv"), ["bedrock-prompt-completion"])["rows"]}
    assert not rows["bedrock-prompt-completion"]["pass"] and "Nova conversation layout" in rows["bedrock-prompt-completion"]["needs"][0]


# --- round trip of the sample data: each layout read back into messages -------------------------

def _text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if p.get("type", "text") == "text")
    return content or ""


def back_to_messages(target: str, line: dict[str, Any]) -> list[tuple[str, str]]:
    """Read one exported line back as (role, text) pairs, with each service's documented meaning."""
    if target in ("together-instruction", "bedrock-prompt-completion"):
        return [("user", line["prompt"]), ("assistant", line["completion"])]
    if target == "vertex":
        system = [("system", line["systemInstruction"]["parts"][0]["text"])] if "systemInstruction" in line else []
        return system + [("assistant" if c["role"] == "model" else "user", "".join(p["text"] for p in c["parts"])) for c in line["contents"]]
    if target == "bedrock":
        system = [("system", line["system"][0]["text"])] if "system" in line else []
        return system + [(m["role"], "".join(c["text"] for c in m["content"])) for m in line["messages"]]
    return [(m["role"], _text(m.get("content"))) for m in line["messages"]]


@pytest.mark.parametrize("target", ["together", "together-instruction", "fireworks", "vertex", "bedrock", "bedrock-prompt-completion"])
@pytest.mark.parametrize("source", ["support_desk.csv", "multi_turn.csv", "tool_calls.jsonl"])
def test_sample_data_round_trips(tmp_path: Path, target: str, source: str) -> None:
    result = _result(SAMPLES / source)
    out = export.build(result, target)
    lines = [json.loads(line) for line in out.train.decode("utf-8").splitlines()]
    assert len(lines) == len(out.train_examples) > 0
    assert out.exported_rows + len(out.left_out) == sum(len(e.rows) for e in result.examples)  # every row accounted for
    tgt = targets.get(target)
    for ex, line in zip(out.train_examples, lines):
        if tgt.rules([ex]):
            continue  # refused with a reason in the matrix; its line is not promised to be faithful
        want = [(m["role"], _text(m.get("content"))) for m in ex.messages]
        assert back_to_messages(target, line) == want, f"example {ex.index}"


def test_matrix_shows_every_new_target(tmp_path: Path) -> None:
    code = main(["check", str(SAMPLES / "support_desk.csv"), "--targets", "all", "--json"])
    assert code in (0, 1)
    rows = {r["target"]: r for r in target_matrix(_result(SAMPLES / "support_desk.csv"))["rows"]}
    assert set(NEW) <= set(rows)
    assert {n for n in NEW if rows[n]["pass"]} == set(NEW) - {"together-preference"}
    assert "not a preference pair" in rows["together-preference"]["needs"][0]


# --- Azure OpenAI: a BOM, as Microsoft's docs say ----------------------------------------------

def test_azure_export_has_a_bom_and_reads_back_clean(tmp_path: Path) -> None:
    src = tmp_path / "bom.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + write_jsonl(tmp_path / "p.jsonl", plain_rows()).read_bytes())
    result = _result(src)
    out = export.build(result, "azure", 0.2)
    assert out.train.startswith(b"\xef\xbb\xbf") and out.validation and out.validation.startswith(b"\xef\xbb\xbf")
    assert out.problems == []
    again = tmp_path / "azure.jsonl"
    again.write_bytes(out.train)
    assert _result(again).errors == [] and read_jsonl(again) == [e.record for e in out.train_examples]
    assert not export.build(result, "openai").train.startswith(b"\xef\xbb\xbf")


# --- the default target follows the catalogue's wind-down date ----------------------------------

def test_default_target_is_date_driven() -> None:
    day = catalog.openai_wind_down()
    assert day == date(2027, 1, 6)
    assert catalog.default_target(date(2027, 1, 5)) == "openai"
    assert catalog.default_target(day) == catalog.default_target(date(2030, 1, 1)) == "azure"
    assert not catalog.openai_wound_down(date(2026, 11, 26)) and catalog.openai_wound_down(day)
    assert "6 January 2027" in targets.get("openai").notes[0] and "still exports" in targets.get("openai").notes[0]


def test_cli_export_without_a_target_uses_the_dated_default(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["export", str(write_jsonl(tmp_path / "p.jsonl", plain_rows())), "-o", str(out), "--quiet"]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") == (catalog.default_target() == "azure")


# --- prices and next steps ----------------------------------------------------------------------

def test_every_service_has_a_price_or_says_there_is_none() -> None:
    for fam in ("together", "fireworks", "vertex", "bedrock", "azure", "openai"):
        info = catalog.service(fam)
        assert info.price_source.startswith("https://") and date.fromisoformat(info.price_as_of)
        text = catalog.price_text(info)
        assert text.startswith("$") == (info.price_per_1m is not None)  # a figure only where one is recorded
        assert info.price_per_1m is not None or any(w in text for w in ("no public price", "priced per model", "price not in the catalogue"))
    assert catalog.service("fireworks").price_per_1m == 0.50


def test_prices_found_are_recorded_with_their_source_and_the_rest_say_why_not() -> None:
    """Nova Micro's rate comes from AWS's own blog; Together, Vertex AI and Bedrock's prompt-completion
    models publish rate tables that no stored copy let us read, so the catalogue says so (no guess)."""
    nova = catalog.service("bedrock")
    assert (nova.price_per_1m, nova.storage_usd_per_month) == (1.00, 1.95)  # $0.001 per 1,000 tokens; $1.95 a month
    assert nova.price_source.startswith("https://aws.amazon.com/blogs/machine-learning/") and nova.price_as_of == "2026-04-16"
    text = catalog.price_text(nova)
    assert text.startswith("$1.00 per 1M training tokens + $1.95 a month to store each custom model") and "Nova Micro" in text
    assert "Nova Lite and Nova Pro" in text  # the rate is not claimed for them
    for fam, page in (("together", "together.ai/pricing"), ("vertex", "cloud.google.com/vertex-ai/generative-ai/pricing"),
                      ("bedrock-prompt-completion", "aws.amazon.com/bedrock/pricing")):
        info = catalog.service(fam)
        assert info.price_per_1m is None and info.storage_usd_per_month is None
        text = catalog.price_text(info)
        assert text.startswith("price not in the catalogue") and page in text and "no figure is copied" in text, fam


def test_counts_for_services_with_their_own_tokenizer_are_called_estimates() -> None:
    for fam in ("openai", "azure"):
        assert catalog.token_note(catalog.service(fam)) == ""
    for fam in ("together", "fireworks", "vertex", "bedrock", "bedrock-prompt-completion"):
        assert "OpenAI's tokenizer" in catalog.token_note(catalog.service(fam)) and "estimates, not exact" in catalog.token_note(catalog.service(fam))
    vertex = targets.facts("vertex")
    assert "context 131,072 tokens per example" in vertex["limits"]
    assert "limit of 131,072 tokens per example is shown, not checked" in vertex["tokens"]
    assert targets.facts("openai")["tokens"] == "" and targets.facts("trl")["tokens"] == ""


def test_service_rows_price_the_same_charged_tokens_where_a_price_is_known() -> None:
    rows = {r["service"]: r for r in catalog.service_rows(3_000_000)}
    assert "OpenAI" not in rows  # OpenAI is priced per model in the models table
    assert rows["Amazon Bedrock (Nova)"]["estimate USD"] == 3.0 and rows["Amazon Bedrock (Nova)"]["storage USD per month"] == 1.95
    assert rows["Fireworks AI"]["estimate USD"] == 1.50
    for label in ("Together AI", "Google Vertex AI (Gemini)", "Amazon Bedrock (prompt-completion)", "Azure OpenAI"):
        assert rows[label]["USD per 1M training tokens"] is None and rows[label]["estimate USD"] is None
    assert all(r["source"].startswith("https://") and date.fromisoformat(r["as of"]) for r in rows.values())
    assert rows["Azure OpenAI"]["token counts"] == "OpenAI's tokenizer"
    assert rows["Google Vertex AI (Gemini)"]["token counts"] == "estimate (OpenAI's tokenizer)"


def test_cli_matrix_prints_each_targets_price_and_the_tokenizer_caveat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", str(write_jsonl(tmp_path / "p.jsonl", plain_rows())), "--targets", "vertex,bedrock,openai"])
    out = capsys.readouterr().out
    assert "training price: price not in the catalogue: published per base model on Google's Vertex AI pricing page" in out
    assert "training price: $1.00 per 1M training tokens + $1.95 a month" in out
    assert out.count("counts with its own, so for it these counts and costs are estimates") == 2  # Vertex and Bedrock, not OpenAI
    assert "Its limit of 131,072 tokens per example is shown, not checked." in out


def test_cost_page_lists_every_service_price_with_its_source(ftprep_db: Path) -> None:
    from tests.test_pages import go, loaded

    at = go(loaded(), "cost")
    assert not at.exception
    table = at.dataframe[1].value
    nova = table[table["service"] == "Amazon Bedrock (Nova)"].iloc[0]
    charged = int(at.code[0].value.split(" = ")[1].split(" tokens")[0].replace(",", ""))  # "... = 9,333 tokens; ..."
    assert nova["USD per 1M training tokens"] == "$1.00" and nova["storage USD per month"] == "$1.95"
    assert nova["estimate USD"] == f"${charged / 1e6:,.2f}"  # 1 USD per 1M tokens x the charged tokens above
    assert nova["source"].startswith("https://aws.amazon.com/blogs/") and nova["as of"] == "2026-04-16"
    vertex = table[table["service"] == "Google Vertex AI (Gemini)"].iloc[0]
    assert vertex["price"] == "price not in the catalogue" and "cloud.google.com" in vertex["source"]
    assert vertex["USD per 1M training tokens"] == "—" and vertex["estimate USD"] == "—"
    fireworks = table[table["service"] == "Fireworks AI"].iloc[0]
    assert fireworks["estimate USD"] == ("under $0.01" if charged * 0.5 / 1e6 < 0.005 else f"${charged * 0.5 / 1e6:,.2f}")
    assert any("counted with OpenAI's tokenizer" in c.value and "approximate, not exact" in c.value for c in at.caption)


@pytest.mark.parametrize("target", NEW)
def test_next_step_quotes_the_path_for_the_shell(target: str) -> None:
    path = "out/it's my data.jsonl"
    text = next_step(target, path, base_model(target, "gpt-4.1-mini-2025-04-14"), None)
    shell = [line for line in text.splitlines() if " cp " in line or "files check" in line or "create dataset" in line]
    assert shell, text
    words = shlex.split(shell[0].split(":", 1)[-1] if shell[0].startswith("# Shell:") else shell[0].lstrip("#").split(".", 1)[-1])
    assert path in words
    assert "sk-" not in text and "API_KEY=" not in text.replace("API_KEY=...", "")


# --- property: any plain conversation survives every layout that accepts it ---------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(lambda t: t.strip() and not any(r in t for r in AWS_INVALID))


@st.composite
def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
    turns = draw(st.integers(1, 4))
    msgs = [{"role": "system", "content": draw(_TEXT)}] if draw(st.booleans()) else []
    for _ in range(turns):
        msgs += [{"role": "user", "content": draw(_TEXT)}, {"role": "assistant", "content": draw(_TEXT)}]
    return msgs


@settings(max_examples=60, deadline=None)
@given(conversations())
def test_every_accepting_layout_round_trips_any_plain_conversation(msgs: list[dict[str, Any]]) -> None:
    ex = _ex(msgs)
    for name in ["together", "together-instruction", "fireworks", "vertex", "bedrock", "bedrock-prompt-completion"]:
        tgt = targets.get(name)
        if tgt.rules([ex]):
            assert name in ("together-instruction", "bedrock-prompt-completion") and (len(msgs) != 2 or msgs[0]["role"] == "system")
            continue
        line = json.loads(export.render([ex], tgt))
        assert back_to_messages(name, line) == [(m["role"], m["content"]) for m in msgs], name


# --- the Export page after the wind-down date (today injected through the catalogue's clock) ----

class _AfterWindDown(date):
    @classmethod
    def today(cls) -> date:  # type: ignore[override]
        return date(2027, 2, 1)


def test_export_page_defaults_to_azure_after_the_wind_down_and_still_offers_openai(ftprep_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_pages import go, loaded

    monkeypatch.setattr(catalog, "date", _AfterWindDown)
    at = go(loaded(), "export")
    assert at.selectbox(key="exp_target").value == "azure"
    assert {"OpenAI", "Together AI (conversational)", "Google Vertex AI (Gemini)"} <= set(at.selectbox(key="exp_target").options)
    at.selectbox(key="exp_target").set_value("openai").run()
    assert not at.exception and any("6 January 2027" in i.value and "still exports" in i.value for i in at.info)
    at.selectbox(key="exp_target").set_value("together").run()
    assert any("price not in the catalogue" in c.value and "together.ai/pricing" in c.value for c in at.caption)
    assert any("Together AI counts with its own" in c.value for c in at.caption) and any("client.files.upload" in c.value for c in at.code)
    at.selectbox(key="exp_target").set_value("vertex").run()
    assert any("131,072 tokens per example is shown, not checked" in c.value for c in at.caption)
