"""Open base models: our per-example counts equal the model's own tokenizer with its chat
template (Llama 3 against llama-models' ChatFormat and transformers' apply_chat_template,
Mistral against mistral-common's encode_chat_completion), offline with the network refused;
any model through a tokenizer made here; truncation, trained tokens, control tokens, images."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validators.checking import checks, fixes
from validators.counting import image_tokens, open_tokenizers, reserved_tokens, tokens
from validators.model import Example

ROOT = Path(__file__).resolve().parent.parent
LLAMA = "meta-llama/Meta-Llama-3-8B-Instruct"
MISTRAL = "mistralai/Mistral-7B-Instruct-v0.3"

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi, how can I help?"}],
    [{"role": "system", "content": "You are Ada, a support assistant."}, {"role": "user", "content": "Où est ma commande NW-5000 ? 🙂"},
     {"role": "assistant", "content": "Elle est expédiée."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
     {"role": "user", "content": "And 3+3?\nExplain."}, {"role": "assistant", "content": "6, because 3 and 3 make 6."}],
    [{"role": "user", "content": "def f(x):\n    return x  # code"}, {"role": "assistant", "content": "That function returns its input.\n\n```py\nf(1)\n```"}],
    [{"role": "user", "content": "日本語で答えて"}, {"role": "assistant", "content": "はい、わかりました。"}],
]


def ex(messages: list[dict], i: int = 1, **extra: object) -> Example:
    return Example(index=i, rows=(i + 1,), kind="sft", record={"messages": messages, **extra})


# --- Llama 3: llama-models' own ChatFormat, and transformers' apply_chat_template ---


def llama_models_tokens(messages: list[dict]) -> list[int]:
    """Meta's reference encoder (llama-models ChatFormat), without the trailing assistant header
    it adds for generation.  The HF template trims content; ChatFormat does not, so we pass it trimmed."""
    from llama_models.datatypes import RawMessage
    from llama_models.llama3.chat_format import ChatFormat
    from llama_models.llama3.tokenizer import Tokenizer

    fmt = ChatFormat(Tokenizer.get_instance())
    out = fmt.encode_dialog_prompt([RawMessage(role=m["role"], content=m["content"].strip()) for m in messages]).tokens
    header = fmt._encode_header("assistant")
    assert out[-len(header):] == header
    return out[: -len(header)]


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_llama3_counts_equal_llama_models_chat_format(messages):
    ours = open_tokenizers.load(LLAMA).render(messages)
    assert ours.ids == llama_models_tokens(messages)
    counts = tokens.count([ex(messages)], open_tokenizers.PREFIX + LLAMA)
    assert int(counts.total[0]) == len(llama_models_tokens(messages))


def test_llama3_template_is_meta_template_plus_generation_markers():
    """The training template renders byte for byte what the original Llama 3 template renders."""
    from transformers.utils.chat_template_utils import render_jinja_template

    original = (ROOT / "validators/data/chat_templates/llama3.jinja").read_text()
    tok = open_tokenizers.load(LLAMA)
    for messages in CONVERSATIONS:
        plain = render_jinja_template([messages], chat_template=original, bos_token="<|begin_of_text|>")[0][0]
        assert tok.text(messages)[0] == plain
    assert tok.markers and not open_tokenizers.GENERATION.search(original)


@pytest.fixture(scope="module")
def llama_hf():
    """A transformers fast tokenizer converted from the same Meta file (as Meta's HF repo was),
    with Meta's original Llama 3 chat template: what TRL's apply_chat_template sees."""
    from importlib import resources

    from llama_models.llama3.tokenizer import Tokenizer
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    meta = Tokenizer.get_instance()
    path = str(resources.files("llama_models").joinpath("llama3", "tokenizer.model"))
    converted = TikTokenConverter(vocab_file=path, pattern=meta.pat_str, extra_special_tokens=list(meta.special_tokens)).converted()
    return PreTrainedTokenizerFast(tokenizer_object=converted, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                   chat_template=(ROOT / "validators/data/chat_templates/llama3.jinja").read_text())


@pytest.mark.slow
def test_llama3_counts_equal_transformers_apply_chat_template(llama_hf):
    with_control = [{"role": "user", "content": "Stop <|eot_id|> here  "}, {"role": "assistant", "content": " padded reply "}]
    for messages in [*CONVERSATIONS, with_control]:
        theirs = llama_hf.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
        assert open_tokenizers.load(LLAMA).render(messages).ids == list(theirs)


@pytest.mark.slow
@pytest.mark.parametrize("name,template", [("meta-llama/Llama-3.1-8B-Instruct", "llama3_1.jinja"), ("meta-llama/Llama-3.2-1B-Instruct", "llama3_2.jinja")])
def test_llama31_32_counts_equal_apply_chat_template(llama_hf, name, template):
    """Llama 3.1 / 3.2: Meta's templates add a system block with the knowledge and today's date."""
    llama_hf.chat_template = (ROOT / "validators/data/chat_templates" / template).read_text()
    tok = open_tokenizers.load(name)
    for messages in CONVERSATIONS:
        theirs = llama_hf.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
        ours = tok.render(messages)
        assert ours.ids == list(theirs) and "Cutting Knowledge Date" in "".join(ours.pieces)
    assert not tok.markers  # no generation markers: the page warns that assistant-only loss cannot mask here
    llama_hf.chat_template = (ROOT / "validators/data/chat_templates/llama3.jinja").read_text()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(min_size=1, max_size=40).filter(lambda t: t.strip() == t and t), min_size=2, max_size=6))
def test_llama3_property_any_text(texts):
    """Whatever the text (no control tokens in it), our ids equal Meta's encoder."""
    texts = [t.replace("<|", "< |") for t in texts]
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]
    assert open_tokenizers.load(LLAMA).render(messages).ids == llama_models_tokens(messages)


def test_llama3_trained_tokens_are_the_replies_and_weight_zero_is_not_trained():
    messages = CONVERSATIONS[2]
    tok = open_tokenizers.load(LLAMA)
    r = tok.render(messages)
    trained = "".join(p for p, t in zip(r.pieces, r.trained) if t)
    assert trained == "4<|eot_id|>6, because 3 and 3 make 6.<|eot_id|>"
    weighted = [dict(m) for m in messages]
    weighted[2]["weight"] = 0
    r0 = tok.render(weighted)
    assert r0.ids == r.ids  # weight changes what is trained, not the tokens
    assert "".join(p for p, t in zip(r0.pieces, r0.trained) if t) == "6, because 3 and 3 make 6.<|eot_id|>"


# --- Mistral: mistral-common's own encode_chat_completion in fine-tuning mode ---


def mistral_common_tokens(messages: list[dict], file: str = "mistral_instruct_tokenizer_240323.model.v3") -> list[int]:
    from importlib import resources

    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.protocol.instruct.validator import ValidationMode
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    mt = MistralTokenizer.from_file(str(resources.files("mistral_common").joinpath("data", file)), mode=ValidationMode.finetuning)
    return mt.encode_chat_completion(ChatCompletionRequest.from_openai(messages)).tokens


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_mistral_counts_equal_mistral_common(messages):
    ours = open_tokenizers.load(MISTRAL).render(messages)
    assert ours.ids == mistral_common_tokens(messages)
    counts = tokens.count([ex(messages)], open_tokenizers.PREFIX + MISTRAL)
    assert int(counts.total[0]) == len(ours.ids)


@pytest.mark.parametrize("name,file", [("mistralai/Mistral-7B-Instruct-v0.1", "tokenizer.model.v1"),
                                       ("mistralai/Mistral-Nemo-Instruct-2407", "tekken_240718.json")])
def test_other_mistral_files(name, file):
    for messages in CONVERSATIONS[:3]:
        assert open_tokenizers.load(name).render(messages).ids == mistral_common_tokens(messages, file)


def test_mistral_trained_tokens_are_replies_with_eos():
    tok = open_tokenizers.load(MISTRAL)
    r = tok.render(CONVERSATIONS[2])
    trained = [p for p, t in zip(r.pieces, r.trained) if t]
    assert trained[-1] == "</s>" and "".join(trained).count("</s>") == 2
    assert "[INST]" not in trained and sum(r.trained) < len(r.ids)


# --- offline: a fresh HOME, no HF cache, the network refused ---


def test_counts_offline_with_the_network_refused(tmp_path):
    script = textwrap.dedent(
        f"""
        import socket
        def refuse(*a, **k):
            raise RuntimeError("network used")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from validators.counting import open_tokenizers
        import json, sys
        msgs = json.loads(sys.argv[1])
        for name in ("{LLAMA}", "{MISTRAL}", "mistralai/Mistral-Nemo-Instruct-2407"):
            r = open_tokenizers.load(name).render(msgs)
            print(name, len(r.ids), sum(r.trained))
        try:
            open_tokenizers.load("Qwen/Qwen2.5-0.5B-Instruct")
        except open_tokenizers.OpenTokenizerError as exc:
            print("REFUSED", exc)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS", "FTPREP_ALLOW"))}
    env.update(HOME=str(tmp_path / "home"), HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT),
               FTPREP_TIKTOKEN_CACHE=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", script, json.dumps(CONVERSATIONS[1])], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"{LLAMA} {len(llama_models_tokens(CONVERSATIONS[1]))} {sum(open_tokenizers.load(LLAMA).render(CONVERSATIONS[1]).trained)}"
    assert lines[1].startswith(f"{MISTRAL} {len(mistral_common_tokens(CONVERSATIONS[1]))} ")
    assert lines[3].startswith("REFUSED") and "not on this machine" in lines[3]
    assert "network used" not in out.stderr


def test_tokenizer_files_are_inside_the_installed_packages():
    from importlib import resources

    assert resources.files("llama_models").joinpath("llama3", "tokenizer.model").is_file()
    for m in open_tokenizers.OFFLINE.values():
        if m.family == "mistral":
            assert resources.files("mistral_common").joinpath("data", m.file).is_file(), m.file


# --- any model: a tokenizer made in the test, saved to a folder, loaded by path ---


def tiny_folder(tmp_path: Path, template: str) -> Path:
    from tests.tiny_lm import train_tokenizer

    tok = train_tokenizer([m["content"] for c in CONVERSATIONS for m in c] * 3, vocab_size=400)
    tok.chat_template = template
    folder = tmp_path / "tiny-tokenizer"
    tok.save_pretrained(folder)
    return folder


CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' }}{% if m['role'] == 'assistant' %}{% generation %}"
          "{{ m['content'] + '<|im_end|>' }}{% endgeneration %}{% else %}{{ m['content'] + '<|im_end|>' }}{% endif %}{{ '\n' }}{% endfor %}")
CHATML_PLAIN = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"


def test_any_model_from_a_local_folder_equals_apply_chat_template(tmp_path):
    from transformers import AutoTokenizer

    folder = tiny_folder(tmp_path, CHATML)
    ref = AutoTokenizer.from_pretrained(folder)
    tok = open_tokenizers.load(str(folder))
    for messages in CONVERSATIONS:
        theirs = ref.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        r = tok.render(messages)
        assert r.ids == list(theirs["input_ids"])
        assert r.trained == [bool(x) for x in theirs["assistant_masks"]]
    assert tok.markers
    counts = tokens.count([ex(m, i + 1) for i, m in enumerate(CONVERSATIONS)], open_tokenizers.PREFIX + str(folder))
    assert counts.total.tolist() == [len(ref.apply_chat_template(m, tokenize=True, return_dict=True)["input_ids"]) for m in CONVERSATIONS]


def test_template_without_generation_markers_trains_on_everything(tmp_path):
    tok = open_tokenizers.load(str(tiny_folder(tmp_path, CHATML_PLAIN)))
    r = tok.render(CONVERSATIONS[0])
    assert not r.markers and all(r.trained)


def test_unknown_model_is_a_plain_error_never_another_tokenizer(tmp_path):
    with pytest.raises(open_tokenizers.OpenTokenizerError, match="does not hold a tokenizer"):
        open_tokenizers.load(str(tmp_path))
    with pytest.raises(open_tokenizers.OpenTokenizerError, match="not on this machine"):
        open_tokenizers.load("someone/not-a-cached-model", online=False)


# --- the whole check: truncation, where, fixes, control tokens, JSON and CLI ---


def long_examples() -> list[Example]:
    out = []
    for i in range(1, 13):
        out.append(ex([{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Question {i}: " + "word " * (30 * i)},
                       {"role": "assistant", "content": f"Answer {i}."}], i))
    return out


@pytest.mark.parametrize("model", [LLAMA, MISTRAL])
def test_truncation_at_max_seq_length_names_the_message(model):
    res = checks.run(long_examples(), model=model, max_seq_length=200, near=False)
    per = res.counts.total
    over = res.over_limit()
    assert over == [e.index for e, t in zip(res.examples, per) if t > 200] and over
    msgs = [f.message for f in res.findings if f.code == "over_token_limit"]
    assert len(msgs) == len(over) and all("max sequence length of 200" in m for m in msgs)
    assert "message 2 (user)" in msgs[-1]  # the longest question: the cut falls in it
    for e, m in zip([e for e in res.examples if e.index in over], msgs):
        if model == LLAMA:  # Meta's own encoder on the prefix says where the 200th token lies
            k = 2 if len(llama_models_tokens(e.messages[:2])) > 200 else 3
        else:
            k = 2 if open_tokenizers.load(model).render(e.messages).message_ends[0] > 200 else 3
        assert f"message {k} ({e.messages[k - 1]['role']})" in m
    trimmed = fixes.drop_over_limit(res.examples, per.tolist(), 200)
    assert sorted(trimmed.changed) == over
    assert res.to_json()["tokens"]["per_example"] == per.tolist()
    assert res.to_json()["tokens"]["limit"] == 200


def test_cut_in_the_reply():
    msgs = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "word " * 400}]
    tok = open_tokenizers.load(LLAMA)
    assert open_tokenizers.cut_message(tok, msgs, 100) == 2
    assert open_tokenizers.cut_message(tok, msgs, 10_000) is None


def test_control_tokens_are_flagged_per_model_and_fixed():
    examples = [ex([{"role": "user", "content": "Stop here <|eot_id|> and [INST] do this"}, {"role": "assistant", "content": "ok"}], 1),
                ex([{"role": "user", "content": "code <|fim_suffix|> more"}, {"role": "assistant", "content": "ok"}], 2)]
    llama = checks.run(examples, model=LLAMA, near=False)
    mistral = checks.run(examples, model=MISTRAL, near=False)
    openai = checks.run(examples, model="gpt-3.5-turbo-0125", near=False)

    def flagged(res):
        return {(f.example, f.message_index) for f in res.findings if f.code == "reserved_token"}

    assert flagged(llama) == {(1, 1)}  # <|eot_id|> is Llama 3's end of turn
    assert flagged(mistral) == {(1, 1)}  # [INST] is Mistral's
    assert flagged(openai) == {(2, 1)}  # <|fim_suffix|> is a control token of cl100k_base
    # As the trainer sees it: the control text becomes one control token in Llama 3.
    ids = open_tokenizers.load(LLAMA).render(examples[0].messages).ids
    assert ids.count(128009) == 3  # two turns' <|eot_id|> + the one in the user's text
    fixed = fixes.break_control_tokens(examples, reserved_tokens.special_tokens(llama.model))
    assert fixed.changed == [1]
    assert open_tokenizers.load(LLAMA).render(fixed.examples[0].messages).ids.count(128009) == 2
    assert not checks.run(fixed.examples, model=LLAMA, near=False).findings or not flagged(checks.run(fixed.examples, model=LLAMA, near=False))


def test_cli_check_with_base_model_and_max_seq_length(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps({"messages": c}) for c in CONVERSATIONS * 3), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "validators", "check", str(path), "--base-model", MISTRAL, "--max-seq-length", "20", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=180)
    data = json.loads(out.stdout)
    assert data["model"] == MISTRAL and data["tokens"]["encoding"] == "open:" + MISTRAL
    assert data["tokens"]["per_example"] == [len(mistral_common_tokens(c)) for c in CONVERSATIONS * 3]
    assert data["tokens"]["limit"] == 20 and data["tokens"]["max_seq_length"] == 20
    assert "mistral-common" in data["tokens"]["tokenizer"] and data["tokens"]["generation_markers"] is True
    wrong = subprocess.run([sys.executable, "-m", "validators", "check", str(path), "--max-seq-length", "20"],
                           capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert wrong.returncode == 2 and "applies to an open --base-model" in wrong.stderr
    assert data["tokens"]["trained_total"] == sum(sum(open_tokenizers.load(MISTRAL).render(c).trained) for c in CONVERSATIONS * 3)
    assert data["tokens"]["over_limit"] == [i + 1 for i, c in enumerate(CONVERSATIONS * 3) if len(mistral_common_tokens(c)) > 20]
    human = subprocess.run([sys.executable, "-m", "validators", "check", str(path), "--base-model", "no/such-model"],
                           capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert human.returncode == 2 and "not on this machine" in human.stderr and "Traceback" not in human.stderr


# --- images: OpenAI's published rule ---


def png_data_url(w: int, h: int) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("w,h,expected", [(1024, 1024, 765), (2048, 4096, 1105), (512, 512, 255), (100, 100, 255), (4096, 8192, 1105)])
def test_high_detail_matches_openai_examples(w, h, expected):
    assert image_tokens.high_detail(w, h) == expected


def test_images_in_vision_examples_are_counted():
    def vision(url: str, detail: str) -> Example:
        content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url, "detail": detail}}]
        return ex([{"role": "user", "content": content}, {"role": "assistant", "content": "A cat."}])

    text_only = tokens.count([ex([{"role": "user", "content": [{"type": "text", "text": "What is this?"}]},
                                  {"role": "assistant", "content": "A cat."}])], "o200k_base").total[0]
    high = tokens.count([vision(png_data_url(1024, 1024), "high")], "o200k_base")
    low = tokens.count([vision("https://example.com/cat.png", "low")], "o200k_base")
    web = tokens.count([vision("https://example.com/cat.png", "high")], "o200k_base")
    assert high.total[0] == text_only + 765 and high.images_uncounted[0] == 0
    assert low.total[0] == text_only + 85
    assert web.total[0] == text_only and web.images_uncounted[0] == 1
    res = checks.run([vision("https://example.com/cat.png", "auto")], near=False)
    assert any(f.code == "image_not_counted" for f in res.findings)


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_preview_pieces_spell_the_rendered_text(messages):
    """The preview shows each token's text; together they are exactly what the template rendered
    (a character split over tokens is shown once, never as replacement marks)."""
    tok = open_tokenizers.load(LLAMA)
    assert "".join(tok.render(messages).pieces) == tok.text(messages)[0]
    mistral = open_tokenizers.load(MISTRAL).render(messages)
    assert "�" not in "".join(mistral.pieces) and len(mistral.pieces) == len(mistral.ids)


def test_preview_html_escapes_everything():
    from ui import trained_view

    pieces = ["<s>", '<img src="x" onerror="alert(1)">', " **b** ", "[l](javascript:alert(1))", "</s>"]
    out = trained_view.to_html(pieces, [False, False, True, True, True], {"</s>"})
    body = out.split("</style>", 1)[1]
    assert "<img" not in body and "<s>" not in body and "&lt;img src=&quot;x&quot;" in body
    assert body.count('<span class="t') == 3 + 1  # three trained tokens + the legend
    assert '<span class="t s">&lt;/s&gt;</span>' in body


def test_export_with_an_open_base_model(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps({"messages": c}) for c in CONVERSATIONS * 3), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run = subprocess.run([sys.executable, "-m", "validators", "export", str(path), "--to", "trl", "-o", str(out), "--base-model", LLAMA],
                         capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert run.returncode == 0, run.stderr
    assert f"'{LLAMA}'" in run.stdout and "note:" not in run.stderr
    unknown = subprocess.run([sys.executable, "-m", "validators", "export", str(path), "--to", "trl", "-o", str(out), "--base-model", "my-org/tiny"],
                             capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert unknown.returncode == 0 and "note: The tokenizer of my-org/tiny is not on this machine" in unknown.stderr
    assert "encoding instead" in unknown.stderr  # said, not silently counted with another tokenizer


def test_worker_process_gives_the_same_counts(monkeypatch):
    """Large data: half the examples are counted in a worker process; same numbers, same refusals."""
    examples = [ex(c, i + 1) for i, c in enumerate(CONVERSATIONS * 4)]
    examples.append(ex([{"role": "user", "content": "only a question"}], len(examples) + 1))  # refused in fine-tuning mode
    from validators.counting import open_token_worker

    answered: list[int] = []
    real_count = open_token_worker.Worker.count

    def recording(self, items, timeout=1800):  # calls the real worker; only notes that it answered
        out = real_count(self, items, timeout)
        answered.append(len(out["total"]))
        return out

    monkeypatch.setattr(open_token_worker.Worker, "count", recording)
    for model in (LLAMA, MISTRAL):
        serial = open_tokenizers.count(examples, model)
        monkeypatch.setattr(open_tokenizers, "PARALLEL_MIN_EXAMPLES", 4)
        parallel = open_tokenizers.count(examples, model)
        monkeypatch.setattr(open_tokenizers, "PARALLEL_MIN_EXAMPLES", 10**9)
        assert parallel.total.tolist() == serial.total.tolist() and parallel.trained.tolist() == serial.trained.tolist()
        assert parallel.problems == serial.problems and parallel.counted.tolist() == serial.counted.tolist()
    assert list(serial.problems) == [len(examples)]  # Mistral wants the last turn to be the assistant's
    assert answered == [11, 11]  # the worker counted the second half, for each model


def test_control_tokens_by_target():
    examples = [ex([{"role": "user", "content": "a <|eot_id|> b"}, {"role": "assistant", "content": "ok"}], 1),
                ex([{"role": "user", "content": "c <|fim_suffix|> d"}, {"role": "assistant", "content": "ok"}], 2),
                ex([{"role": "user", "content": "e [INST] f"}, {"role": "assistant", "content": "ok"}], 3),
                ex([{"role": "user", "content": "User: hello"}, {"role": "assistant", "content": "ok"}], 4)]
    rows = {r["targets"]: r for r in checks.run(examples, model=MISTRAL, near=False).to_json()["tokens"]["control_tokens_by_target"]}
    assert rows["TRL, Unsloth, AutoTrain"]["example numbers"] == [3] and "[INST]" in rows["TRL, Unsloth, AutoTrain"]["found"]
    assert rows["Together AI, Fireworks AI"]["example numbers"] == [1]
    assert rows["OpenAI, Azure OpenAI"]["example numbers"] == []  # the default gpt-4.1-mini: o200k has no <|fim_suffix|>
    assert rows["Amazon Bedrock (Nova)"]["example numbers"] == [4]
    assert rows["Google Vertex AI (Gemini)"]["examples"] is None
    old = {r["targets"]: r for r in checks.run(examples, model="gpt-3.5-turbo-0125", near=False).to_json()["tokens"]["control_tokens_by_target"]}
    assert old["OpenAI, Azure OpenAI"]["example numbers"] == [2] and old["TRL, Unsloth, AutoTrain"]["examples"] is None


def test_images_with_an_open_model_are_said_not_counted():
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": png_data_url(64, 64), "detail": "low"}}]
    res = checks.run([ex([{"role": "user", "content": content}, {"role": "assistant", "content": "A cat."}])], model=LLAMA, near=False)
    text_only = open_tokenizers.load(LLAMA).render([{"role": "user", "content": "What is this?"}, {"role": "assistant", "content": "A cat."}])
    assert int(res.counts.total[0]) == len(text_only.ids)
    assert res.to_json()["tokens"]["images_not_counted"] == 1
    assert any(f.code == "image_not_counted" and "open vision model" in f.message for f in res.findings)
