"""Proof with the real consumers: each Hugging Face export trains 2 steps on CPU, offline.

TRL's SFTTrainer / DPOTrainer train a 2-layer Llama built here from a config, with a BPE
tokenizer trained here on the exported text (tests/tiny_lm.py).  Unsloth's own formatting
functions run in a subprocess (importing unsloth patches transformers/TRL globally), and
AutoTrain's own config parser and data pipeline prepare its file before TRL trains on it.

Run with ``pytest -m training``; each test skips when its library is not installed
(``pip install -r requirements-train.txt``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.target_data import dpo_rows, export, mixed_rows, plain_rows, read_jsonl, write_jsonl
from validators.exporting import targets
from validators.exporting.next_steps import autotrain_config, to_yaml

pytestmark = pytest.mark.training
pytest.importorskip("torch")
pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")

from tests.tiny_lm import sft_two_steps, texts_of_jsonl, tiny_model, train_tokenizer  # noqa: E402  (after the skips)


def _load(path: Path, tmp_path: Path) -> Any:
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache"))


def test_trl_messages_with_tools_apply_template_and_train(tmp_path: Path) -> None:
    out = export(write_jsonl(tmp_path / "mixed.jsonl", mixed_rows()), "trl", tmp_path / "trl.jsonl")
    tok = train_tokenizer(texts_of_jsonl(out))
    ds = _load(out, tmp_path)
    rendered = [tok.apply_chat_template(r["messages"], tools=json.loads(r["tools"]) if r["tools"] else None, tokenize=False) for r in ds]
    assert '"arguments": {"order_id": "B-1"}' in rendered[1] and rendered[1].startswith("<|im_start|>system\nTools: [")
    assert "Tools:" not in rendered[0]
    sft_two_steps(ds, tok, tmp_path / "run", assistant_only_loss=True)


def test_trl_prompt_completion_trains(tmp_path: Path) -> None:
    out = export(write_jsonl(tmp_path / "mixed.jsonl", mixed_rows()), "trl", tmp_path / "pc.jsonl", "prompt-completion")
    tok = train_tokenizer(texts_of_jsonl(out))
    sft_two_steps(_load(out, tmp_path), tok, tmp_path / "run")


def test_trl_preference_pairs_train_with_dpo(tmp_path: Path) -> None:
    from trl import DPOConfig, DPOTrainer

    out = export(write_jsonl(tmp_path / "dpo.jsonl", dpo_rows()), "trl", tmp_path / "dpo-trl.jsonl")
    tok = train_tokenizer(texts_of_jsonl(out))
    args = DPOConfig(output_dir=str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=2, logging_steps=1, report_to="none",
                     save_strategy="no", use_cpu=True, max_length=256, disable_tqdm=True)
    trainer = DPOTrainer(model=tiny_model(tok), ref_model=tiny_model(tok), args=args, train_dataset=_load(out, tmp_path), processing_class=tok)
    trainer.train()
    assert trainer.state.global_step == 2


_UNSLOTH_SCRIPT = textwrap.dedent("""
    import json, sys
    from datasets import load_dataset
    from transformers import PreTrainedTokenizerFast
    from unsloth.chat_templates import get_chat_template, standardize_sharegpt

    data_file, tok_dir, out_file, mapping = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    data = load_dataset("json", data_files=data_file, split="train", cache_dir=tok_dir + "/cache")
    tokenizer = get_chat_template(PreTrainedTokenizerFast.from_pretrained(tok_dir), chat_template="chatml", mapping=mapping)
    texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in data["conversations"]]
    standard = [r["conversations"] for r in standardize_sharegpt(data)]
    json.dump({"texts": texts, "standard": standard}, open(out_file, "w"))
""")


def _unsloth_format(data: Path, tok_dir: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "UNSLOTH_DISABLE_STATISTICS": "1"}
    return subprocess.run([sys.executable, "-c", _UNSLOTH_SCRIPT, str(data), str(tok_dir), str(out), json.dumps(targets.unsloth.MAPPING)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_unsloth_sharegpt_through_unsloths_own_functions_then_trl(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "plain.jsonl", plain_rows())
    out = export(src, "unsloth", tmp_path / "sharegpt.jsonl")
    tok = train_tokenizer(texts_of_jsonl(out))
    tok.save_pretrained(tmp_path / "tok")
    proc = _unsloth_format(out, tmp_path / "tok", tmp_path / "formatted.json")
    if proc.returncode != 0 and "No module named 'unsloth'" in proc.stderr:
        pytest.skip("unsloth is not installed (see requirements-train.txt)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / "formatted.json").read_text())
    trl_messages = [[{k: v for k, v in m.items() if k != "name"} for m in r["messages"]] for r in read_jsonl(export(src, "trl", tmp_path / "trl.jsonl"))]
    assert got["standard"] == trl_messages  # standardize_sharegpt gives back the TRL conversation (ShareGPT has no `name`)
    assert got["texts"][0].startswith("<|im_start|>system\n") and "<|im_start|>user\nDo you repair wheels of size 20?<|im_end|>" in got["texts"][0]
    sft_two_steps(datasets.Dataset.from_dict({"text": got["texts"]}), tok, tmp_path / "run")


def test_unsloth_sharegpt_with_the_documented_mapping_trains_in_trl(tmp_path: Path) -> None:
    """Without Unsloth: the same file, roles mapped as Unsloth documents (human→user, gpt→assistant), in TRL."""
    out = export(write_jsonl(tmp_path / "plain.jsonl", plain_rows()), "unsloth", tmp_path / "sharegpt.jsonl")
    tok = train_tokenizer(texts_of_jsonl(out))
    m = targets.unsloth.MAPPING
    roles = {m["user"]: "user", m["assistant"]: "assistant", "system": "system"}

    def to_messages(row: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [{"role": roles[t[m["role"]]], "content": t[m["content"]]} for t in row["conversations"]]}

    ds = _load(out, tmp_path).map(to_messages, remove_columns=["conversations"])
    sft_two_steps(ds, tok, tmp_path / "run", assistant_only_loss=True)


def test_autotrain_own_config_and_data_pipeline_then_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("autotrain.parser")
    from autotrain.parser import AutoTrainConfigParser
    from autotrain.project import llm_munge_data
    from autotrain.trainers.clm import utils as clm_utils
    from autotrain.trainers.clm.params import LLMTrainingParams

    monkeypatch.chdir(tmp_path)
    out = export(write_jsonl(tmp_path / "plain.jsonl", plain_rows()), "autotrain", tmp_path / "export.jsonl")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_bytes(out.read_bytes())  # the next step's `cp OUT data/train.jsonl`
    tok = train_tokenizer(texts_of_jsonl(out))
    tok.save_pretrained(tmp_path / "base")
    tiny_model(tok).save_pretrained(tmp_path / "base")
    cfg = autotrain_config(targets.get("autotrain"), str(tmp_path / "base"), False, "sft", data_dir="data", project="proj")
    (tmp_path / "config.yml").write_text(to_yaml(cfg), encoding="utf-8")

    params = LLMTrainingParams(**AutoTrainConfigParser(str(tmp_path / "config.yml")).parsed_config)
    params = llm_munge_data(params, local=True)  # AutoTrain's own reader + column mapping (→ autotrain_text)
    train, _ = clm_utils.process_input_data(params)
    tokenizer = clm_utils.get_tokenizer(params)
    train, _ = clm_utils.process_data_with_chat_template(params, tokenizer, train, None)
    text = train[0][params.text_column]
    assert isinstance(text, str) and text.startswith("<|im_start|>system\n") and "Do you repair wheels of size 20?" in text
    sft_two_steps(train.select_columns([params.text_column]), tokenizer, tmp_path / "run", dataset_text_field=params.text_column)


_AUTOTRAIN_SETUP = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tests.tiny_lm import texts_of_jsonl, tiny_model, train_tokenizer
    from validators.exporting import targets
    from validators.exporting.next_steps import autotrain_config, to_yaml

    kind, root = sys.argv[1], Path(sys.argv[2])
    tok = train_tokenizer(texts_of_jsonl(root / "data" / "train.jsonl"))
    tok.save_pretrained(root / "base")
    tiny_model(tok).save_pretrained(root / "base")
    cfg = autotrain_config(targets.get("autotrain"), str(root / "base"), False, kind, data_dir=str(root / "data"), project="proj")
    # CPU-sized run; peft off because AutoTrain's pinned bitsandbytes does not import with the triton it resolves to.
    cfg["params"].update(epochs=1, batch_size=2, gradient_accumulation=1, block_size=128, model_max_length=256, peft=False,
                         merge_adapter=False, logging_steps=1, max_prompt_length=64, max_completion_length=64)
    (root / "config.yml").write_text(to_yaml(cfg))
""")


@pytest.mark.parametrize("kind,rows", [("sft", plain_rows), ("dpo", dpo_rows)])
def test_autotrain_cli_end_to_end(tmp_path: Path, kind: str, rows: Any) -> None:
    """``autotrain --config`` on our export, with AutoTrain's own pinned stack (opt-in).

    autotrain-advanced 0.8.36 pins transformers 4.48 / trl 0.13 / datasets 3.2 and a CUDA torch,
    so it lives in its own virtualenv: set AUTOTRAIN_CLI to that venv's ``bin/autotrain``.
    """
    cli = os.environ.get("AUTOTRAIN_CLI")
    if not cli:
        pytest.skip("set AUTOTRAIN_CLI to an autotrain executable (its own venv: pip install autotrain-advanced)")
    out = export(write_jsonl(tmp_path / "src.jsonl", rows()), "autotrain", tmp_path / "export.jsonl")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_bytes(out.read_bytes())
    python = str(Path(cli).with_name("python"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "PATH": f"{Path(cli).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # AutoTrain launches `accelerate` from PATH
    subprocess.run([python, "-c", _AUTOTRAIN_SETUP, kind, str(tmp_path)], check=True, env=env, timeout=300)
    proc = subprocess.run([cli, "--config", "config.yml"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    log = proc.stdout + proc.stderr
    assert "Finished training" in log and "'train_loss'" in log, log[-3000:]
    assert (tmp_path / "proj" / "model.safetensors").exists()
