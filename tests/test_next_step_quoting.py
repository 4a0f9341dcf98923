"""The pasted next step treats every file and model name as a name, never as code.

A file named ``q'$(touch INJECTED)'.csv`` made the AutoTrain ``cp`` line run ``touch`` when
pasted.  Here each snippet's shell lines are really run by bash in a folder holding files
with hostile names (the copy must copy them; nothing else may happen), and each Python
snippet is compiled and must hold the names as plain string constants.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from validators.exporting import next_steps, targets

HOSTILE = [
    "q'$(touch INJECTED)'.jsonl",
    'a"b`touch INJECTED`$HOME.jsonl',
    "x; touch INJECTED #.jsonl",
    "-rf.jsonl",
    "new\nline $(touch INJECTED).jsonl",
    "tab\there \\back\u2028sep.jsonl",
    os.fsdecode(b"caf\xe9 $(touch INJECTED).jsonl"),  # not UTF-8: Python reads it with surrogate escapes
]
MODEL = "org/model'$(touch INJECTED)'"


def _bash(line: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, timeout=30)


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_autotrain_copy_line_copies_and_runs_nothing(tmp_path: Path, name: str) -> None:
    train, val = name, "v " + name
    (tmp_path / train).write_bytes(b"TRAIN\n")  # surrogate escapes give back the original bytes
    (tmp_path / val).write_bytes(b"VALID\n")
    for target in ("autotrain", "autotrain-text"):
        snippet = next_steps.next_step(target, train, MODEL, val)
        (line,) = [ln.removeprefix("# 1. ") for ln in snippet.splitlines() if ln.startswith("# 1. ")]
        proc = _bash(line, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "autotrain-data" / "train.jsonl").read_bytes() == b"TRAIN\n"
        assert (tmp_path / "autotrain-data" / "valid.jsonl").read_bytes() == b"VALID\n"
        assert not (tmp_path / "INJECTED").exists()
        config = yaml.safe_load("\n".join(ln for ln in snippet.splitlines() if not ln.startswith("#")))
        assert config["base_model"] == MODEL


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("target", ["openai", "azure"])
def test_submit_shell_line_passes_names_as_single_arguments(tmp_path: Path, name: str, target: str) -> None:
    snippet = next_steps.next_step(target, name, MODEL, "v " + name)
    (line,) = [ln.removeprefix("# Shell: ") for ln in snippet.splitlines() if ln.startswith("# Shell: ")]
    command = line.split(" python -m validators submit ", 1)[1]
    proc = _bash("printf '%s\\0' " + command, tmp_path)  # each argument as the shell would pass it
    assert proc.returncode == 0, proc.stderr
    args = [os.fsdecode(a) for a in proc.stdout.split(b"\0")[:-1]]
    assert args[0] == name
    assert args[args.index("--model") + 1] == MODEL
    assert args[args.index("--validation-file") + 1] == "v " + name
    assert not (tmp_path / "INJECTED").exists()


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("target", [t for t in targets.TARGETS if targets.get(t).family != "autotrain"])
def test_python_snippets_compile_with_names_as_constants(name: str, target: str) -> None:
    for kind in ("sft", "dpo"):
        snippet = next_steps.next_step(target, name, MODEL, "v " + name, kind)  # type: ignore[arg-type]
        tree = ast.parse(snippet)  # a hostile name never breaks a comment line into code
        compile(tree, "<next step>", "exec")
        if targets.get(target).family in ("fireworks", "vertex", "bedrock"):
            continue  # their files travel by shell (firectl, gsutil, aws s3): the shell test covers them
        constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert name in constants and "v " + name in constants and MODEL in constants


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("target", ["together", "fireworks", "vertex", "bedrock", "bedrock-prompt-completion"])
def test_hosted_shell_lines_pass_names_as_single_arguments(tmp_path: Path, name: str, target: str) -> None:
    """Every shell line of a hosted service's next step that names the file gives the shell
    exactly that name as one argument (the command itself is replaced by printf)."""
    snippet = next_steps.next_step(target, name, MODEL, "v " + name)
    quoted = next_steps.sh(name)
    lines = [ln for ln in snippet.splitlines() if ln.startswith("#") and quoted in ln]
    assert lines, snippet
    for line in lines:
        words = line.lstrip("# ").removeprefix("Shell: ")
        words = words.split(". ", 1)[1] if words[:2].rstrip(".").isdigit() else words
        env_free = words.split(" python -m ", 1)[1] if " python -m " in words else words.split(" ", 1)[1]
        proc = _bash("printf '%s\\0' " + env_free.split("  ", 1)[0], tmp_path)
        assert proc.returncode == 0, proc.stderr
        args = [os.fsdecode(a) for a in proc.stdout.split(b"\0")[:-1]]
        assert name in args or "v " + name in args, (line, args)
        assert not (tmp_path / "INJECTED").exists()
