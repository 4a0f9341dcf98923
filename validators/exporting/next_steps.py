"""The ready next step shown beside each download: what starts training on *this* file and model.

Each function returns text the user can paste: a shell command, a Python script, or an
AutoTrain config plus its command.  Paths and model names are quoted for where they land:
:func:`sh` in shell lines (a file named ``q'$(touch X)'.csv`` must stay a name, never run),
``repr`` in Python, JSON strings in YAML.  No key ever appears: the snippets read it from
the environment.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import PurePath
from typing import Any, Literal

from . import targets
from .targets.unsloth import MAPPING as UNSLOTH_MAPPING

Kind = Literal["sft", "dpo"]
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\ud7ff\ue000-\U0010ffff]|[\u2028\u2029]")


def sh(value: str) -> str:
    """``value`` as one shell word that pastes safely: POSIX single quotes (nothing inside
    is expanded), or bash's ``$'…'`` with escapes when it holds a newline or another control
    character, so a snippet line never breaks in two."""
    if not _UNPRINTABLE.search(value):
        return shlex.quote(value)
    out = []
    for ch in value:
        if ch in "\\'":
            out.append("\\" + ch)
        elif _UNPRINTABLE.match(ch):
            out.append(_escape(ord(ch)))
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def _escape(code: int) -> str:
    """One character for bash's ``$'…'``; a surrogate-escaped byte of a non-UTF-8 file name
    (``\\udc80``–``\\udcff``, how Python reads such names) becomes that byte again."""
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def next_step(target: str, train_path: str, model: str, validation_path: str | None = None, kind: Kind = "sft") -> str:
    """The command / snippet / config that starts training on ``train_path`` with ``model``."""
    tgt = targets.get(target)
    make = {"openai": _openai, "azure": _azure, "trl": _trl, "autotrain": _autotrain, "unsloth": _unsloth,
            "together": _together, "fireworks": _fireworks, "vertex": _vertex, "bedrock": _bedrock}[tgt.family]
    return make(tgt, train_path, model, validation_path, kind)


# A small open chat model people fine-tune on one GPU; the user can name another.
HF_BASE_MODEL = {"trl": "Qwen/Qwen2.5-0.5B-Instruct", "autotrain": "Qwen/Qwen2.5-0.5B-Instruct",
                 "unsloth": "unsloth/Qwen2.5-0.5B-Instruct"}


# A base model each hosted service fine-tunes (its own model id); the user can name another.
HOSTED_BASE_MODEL = {"together": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
                     "fireworks": "accounts/fireworks/models/llama-v3p1-8b-instruct",
                     "vertex": "gemini-2.5-flash",
                     "bedrock": "amazon.nova-lite-v1:0:300k",
                     "bedrock-prompt-completion": "meta.llama3-1-8b-instruct-v1:0:128k"}


def base_model(target: str, openai_model: str, chosen: str | None = None) -> str:
    """The model the snippet trains: the user's choice, else the priced OpenAI model for
    OpenAI/Azure, else a small open model for the Hugging Face families."""
    if chosen:
        return chosen
    tgt = targets.get(target)
    if tgt.family in HF_BASE_MODEL and "/" in openai_model and not openai_model.startswith(("/", ".", "~")):
        return openai_model  # the open base model the tokens were counted with (a Hugging Face id)
    return HOSTED_BASE_MODEL.get(tgt.name) or HOSTED_BASE_MODEL.get(tgt.family) or HF_BASE_MODEL.get(tgt.family, openai_model)


def for_export(target: str, train_path: str, validation_path: str | None, openai_model: str, examples: list[Any],
               chosen_model: str | None = None) -> str:
    """:func:`next_step` for a finished export: preference pairs get the DPO recipe."""
    kind: Kind = "dpo" if any(e.kind == "dpo" for e in examples) else "sft"
    return next_step(target, train_path, base_model(target, openai_model, chosen_model), validation_path, kind)


def _method(kind: Kind) -> str:
    if kind == "dpo":
        return '{"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": "auto", "beta": "auto"}}}'
    return '{"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": "auto"}}}'


def _upload_lines(train_path: str, validation_path: str | None) -> list[str]:
    lines = [f'train = client.files.create(file=open({train_path!r}, "rb"), purpose="fine-tune")']
    if validation_path:
        lines.append(f'valid = client.files.create(file=open({validation_path!r}, "rb"), purpose="fine-tune")')
    return lines


def _openai(_t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    val = ", validation_file=valid.id" if validation_path else ""
    cli_val = f" --validation-file {sh(validation_path)}" if validation_path else ""
    return "\n".join([
        f"# {targets.OPENAI_WIND_DOWN}",
        f"# Shell: OPENAI_API_KEY=... python -m validators submit {sh(train_path)} --provider openai --model {sh(model)}{cli_val}",
        "from openai import OpenAI",
        "",
        "client = OpenAI()  # reads OPENAI_API_KEY",
        *_upload_lines(train_path, validation_path),
        f"job = client.fine_tuning.jobs.create(model={model!r}, training_file=train.id{val}, method={_method(kind)})",
        "print(job.id, job.status)",
        "for event in client.fine_tuning.jobs.list_events(job.id, limit=20):",
        "    print(event.message)",
    ])


def _azure(_t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    val = ", validation_file=valid.id" if validation_path else ""
    cli_val = f" --validation-file {sh(validation_path)}" if validation_path else ""
    return "\n".join([
        f"# Shell: AZURE_OPENAI_API_KEY=... python -m validators submit {sh(train_path)} --provider azure --model {sh(model)} "
        f'--azure-endpoint "$AZURE_OPENAI_ENDPOINT" --training-type GlobalStandard{cli_val}',
        "import os",
        "",
        "from openai import AzureOpenAI",
        "",
        'client = AzureOpenAI(azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"], api_key=os.environ["AZURE_OPENAI_API_KEY"],',
        '                     api_version="2025-04-01-preview")',
        *_upload_lines(train_path, validation_path),
        f"job = client.fine_tuning.jobs.create(model={model!r}, training_file=train.id{val}, method={_method(kind)},",
        '                                     suffix="my-model",  # no "." on Azure',
        '                                     extra_body={"trainingType": "GlobalStandard"})  # or "Standard", "developerTier"',
        "print(job.id, job.status)",
    ])


def _data_files(train_path: str, validation_path: str | None) -> str:
    files = {"train": train_path, **({"validation": validation_path} if validation_path else {})}
    return repr(files)


def _trl(t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    trainer, config = ("DPOTrainer", "DPOConfig") if kind == "dpo" else ("SFTTrainer", "SFTConfig")
    extra = "" if kind == "dpo" else ", assistant_only_loss=False"  # True needs a template with {% generation %}
    return "\n".join([
        "# pip install -r requirements-train.txt   (torch, transformers, trl, datasets)",
        "from datasets import load_dataset",
        f"from trl import {config}, {trainer}",
        "",
        f'data = load_dataset("json", data_files={_data_files(train_path, validation_path)})',
        f"args = {config}(output_dir={PurePath(train_path).stem + '-' + model.split('/')[-1]!r}, num_train_epochs=3,",
        f"                 per_device_train_batch_size=2, gradient_accumulation_steps=4, learning_rate=2e-5, logging_steps=10{extra})",
        f"trainer = {trainer}(model={model!r}, args=args, train_dataset=data[\"train\"],",
        '                     eval_dataset=data.get("validation"))',
        "trainer.train()",
        "trainer.save_model()",
    ])


def autotrain_config(t: targets.Target, model: str, has_validation: bool, kind: Kind, data_dir: str = "autotrain-data",
                     project: str = "my-finetune") -> dict[str, Any]:
    """The AutoTrain Advanced LLM config (``autotrain --config``) matching the exported columns."""
    if kind == "dpo":
        task, mapping = "llm-dpo", {"text_column": "chosen", "rejected_text_column": "rejected", "prompt_text_column": "prompt"}
    else:
        task, mapping = "llm-sft", {"text_column": "text" if t.layout == "text" else "messages"}
    return {
        "task": task, "base_model": model, "project_name": project, "log": "tensorboard", "backend": "local",
        "data": {"path": data_dir, "train_split": "train", "valid_split": "valid" if has_validation else None,
                 "chat_template": None if t.layout == "text" else "tokenizer", "column_mapping": mapping},
        "params": {"block_size": 1024, "model_max_length": 2048, "epochs": 3, "batch_size": 2, "lr": 2e-5, "peft": True, "quantization": None,
                   "target_modules": "all-linear", "padding": "right", "optimizer": "adamw_torch", "scheduler": "linear",
                   "gradient_accumulation": 4, "merge_adapter": True},
        "hub": {"username": "${HF_USERNAME}", "token": "${HF_TOKEN}", "push_to_hub": False},
    }


def to_yaml(value: Any, indent: int = 0) -> str:
    """A small YAML writer for nested dicts of scalars (JSON scalars are valid YAML)."""
    pad = "  " * indent
    lines = []
    for k, v in value.items():
        if isinstance(v, dict):
            lines.append(f"{pad}{k}:\n{to_yaml(v, indent + 1)}")
        elif isinstance(v, float):  # PyYAML reads 2e-05 as a string: write 0.00002
            lines.append(f"{pad}{k}: {f'{v:.12f}'.rstrip('0')}")
        else:
            lines.append(f"{pad}{k}: {json.dumps(v)}")
    return "\n".join(lines)


def _autotrain(t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    cfg = autotrain_config(t, model, validation_path is not None, kind)
    copy = f"mkdir -p autotrain-data && cp -- {sh(train_path)} autotrain-data/train.jsonl"
    if validation_path:
        copy += f" && cp -- {sh(validation_path)} autotrain-data/valid.jsonl"
    note = "# chat_template: tokenizer uses the model's own template; chatml or zephyr force one." if t.layout != "text" else \
        "# The text column is already ChatML; chat_template stays null."
    note += "\n# quantization: int4 saves GPU memory on large models (needs bitsandbytes + a CUDA GPU)."
    return "\n".join([
        "# pip install autotrain-advanced   (AutoTrain reads FOLDER/train.jsonl)",
        f"# 1. {copy}",
        "# 2. save this as config.yml, then run:  autotrain --config config.yml",
        note,
        to_yaml(cfg),
    ])


def _unsloth(t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    if t.layout == "messages" or kind == "dpo":
        fmt = ["# messages layout: the chat template is applied by SFTTrainer itself (as in TRL)."]
        field = []
    else:
        fmt = [
            "from unsloth.chat_templates import get_chat_template",
            'tokenizer = get_chat_template(tokenizer, chat_template="chatml",  # or the model family\'s template',
            f"                              mapping={UNSLOTH_MAPPING!r})",
            "def to_text(batch):",
            '    return {"text": [tokenizer.apply_chat_template(c, tokenize=False) for c in batch["conversations"]]}',
            'data = data.map(to_text, batched=True)',
        ]
        field = ['dataset_text_field="text", ']
    return "\n".join([
        "# Colab / GPU notebook:  pip install unsloth",
        "from unsloth import FastLanguageModel",
        "from datasets import load_dataset",
        "from trl import SFTConfig, SFTTrainer",
        "",
        f"model, tokenizer = FastLanguageModel.from_pretrained({model!r}, max_seq_length=2048, load_in_4bit=True)",
        'model = FastLanguageModel.get_peft_model(model, r=16, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])',
        f'data = load_dataset("json", data_files={_data_files(train_path, validation_path)})',
        *fmt,
        'trainer = SFTTrainer(model=model, tokenizer=tokenizer, train_dataset=data["train"],',
        f'                     args=SFTConfig({"".join(field)}per_device_train_batch_size=2, gradient_accumulation_steps=4,',
        '                                    num_train_epochs=3, learning_rate=2e-4, output_dir="outputs"))',
        "trainer.train()",
    ])


# --- hosted services beyond OpenAI (paths quoted with shlex.quote in shell lines, repr in Python) ---

def _together(_t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    val_cli = f" --validation-file {sh(validation_path)}" if validation_path else ""
    lines = [
        f"# Shell: together files check {sh(train_path)}",
        f"# Shell: TOGETHER_API_KEY=... python -m validators submit {sh(train_path)} --provider together --model {sh(model)}{val_cli}",
        "from together import Together",
        "",
        "client = Together()  # reads TOGETHER_API_KEY",
        f'train = client.files.upload(file={train_path!r}, purpose="fine-tune", check=True)',
    ]
    val = ""
    if validation_path:
        lines.append(f'valid = client.files.upload(file={validation_path!r}, purpose="fine-tune", check=True)')
        val = ", validation_file=valid.id, n_evals=1"
    method = "dpo" if kind == "dpo" else "sft"
    return "\n".join([
        *lines,
        f"job = client.fine_tuning.create(training_file=train.id, model={model!r}, n_epochs=3, lora=True, training_method={method!r}{val})",
        "print(job.id, job.status)",
        "for event in client.fine_tuning.list_events(job.id).data:",
        "    print(event.message)",
    ])


def _fireworks(_t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    name = "my-dataset"
    job = "dpo-jobs" if kind == "dpo" else "sftj"
    lines = [
        "# pip install fireworks-ai   (or download firectl); FIREWORKS_API_KEY=... in the environment",
        f"# 1. firectl create dataset {name} {sh(train_path)}",
    ]
    eval_arg = ""
    if validation_path:
        lines.append(f"#    firectl create dataset {name}-eval {sh(validation_path)}")
        eval_arg = f" --evaluation-dataset {name}-eval"
    lines.append(f"# 2. firectl create {job} --base-model {sh(model)} --dataset {name}{eval_arg} --output-model my-model --epochs 3")
    lines.append("# 3. firectl get " + ("dpoj" if kind == "dpo" else "sftj") + " JOB_ID   (follow the job)")
    return "\n".join(lines)


def _vertex(_t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    bucket = "gs://my-bucket/tuning"
    copy = [f"# 1. gsutil cp {sh(train_path)} {bucket}/train.jsonl"]
    val = ""
    if validation_path:
        copy.append(f"#    gsutil cp {sh(validation_path)} {bucket}/validation.jsonl")
        val = f', validation_dataset=types.TuningValidationDataset(gcs_uri="{bucket}/validation.jsonl")'
    return "\n".join([
        "# pip install google-genai; gcloud auth application-default login",
        *copy,
        "# 2. then, in Python:",
        "from google import genai",
        "from google.genai import types",
        "",
        'client = genai.Client(vertexai=True, project="my-project", location="us-central1")',
        f'job = client.tunings.tune(base_model={model!r}, training_dataset=types.TuningDataset(gcs_uri="{bucket}/train.jsonl"),',
        f'                         config=types.CreateTuningJobConfig(epoch_count=3, tuned_model_display_name="my-model"{val}))',
        "print(job.name, job.state)",
    ])


def _bedrock(_t: targets.Target, train_path: str, model: str, validation_path: str | None, kind: Kind) -> str:
    bucket = "s3://my-bucket/fine-tuning"
    copy = [f"# 1. aws s3 cp {sh(train_path)} {bucket}/train.jsonl"]
    val = ""
    if validation_path:
        copy.append(f"#    aws s3 cp {sh(validation_path)} {bucket}/validation.jsonl")
        val = f'validationDataConfig={{"validators": [{{"s3Uri": "{bucket}/validation.jsonl"}}]}},\n    '
    return "\n".join([
        "# pip install boto3; AWS credentials in the environment; an IAM role Bedrock can assume",
        *copy,
        "# 2. then, in Python:",
        "import boto3",
        "",
        'bedrock = boto3.client("bedrock", region_name="us-east-1")',
        "job = bedrock.create_model_customization_job(",
        '    jobName="my-job", customModelName="my-model", roleArn="arn:aws:iam::123456789012:role/MyBedrockRole",',
        f'    baseModelIdentifier={model!r}, customizationType="FINE_TUNING",',
        f'    trainingDataConfig={{"s3Uri": "{bucket}/train.jsonl"}}, outputDataConfig={{"s3Uri": "{bucket}/output/"}},',
        f'    {val}hyperParameters={{"epochCount": "2"}})',
        'print(bedrock.get_model_customization_job(jobIdentifier=job["jobArn"])["status"])',
    ])
