"""Open base models: each example counted as the trainer sees it, with the model's own
tokenizer and chat template, and which tokens carry the loss.

Three sources, never mixed up (a model we cannot load is an error, not a guess):

* **Llama 3** – the ``tokenizer.model`` (tiktoken BPE) shipped inside the ``llama-models``
  wheel, with Meta's chat template (vendored from TRL's ``chat_templates/llama3*.jinja``)
  rendered by transformers' own ``render_jinja_template``, exactly as
  ``apply_chat_template`` does.  Offline.
* **Mistral** – the SentencePiece / Tekken files shipped inside ``mistral-common``, encoded
  by mistral-common in fine-tuning mode (Mistral's reference tokenizer, which transformers
  also delegates to).  Offline.
* **Any other model** – a local tokenizer folder (``AutoTokenizer`` from a path), or a
  Hugging Face id when the machine is online; the folder's own chat template.

What is trained follows TRL's ``assistant_only_loss``: only tokens inside the template's
``{% generation %}`` blocks; an assistant turn with ``weight: 0`` is not trained either.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..reading.readers import InputError

PREFIX = "open:"  # a TokenCounts.encoding that names a base model, not a tiktoken encoding
DEFAULT_MAX_SEQ_LENGTH = 1024  # TRL SFTConfig's max_length default
GENERATION = re.compile(r"\{%-?\s*generation\s*-?%\}")
_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
_LOCK = threading.Lock()


class OpenTokenizerError(InputError):
    """The base model's tokenizer cannot be loaded here; the message says why and what to do."""


@dataclass(frozen=True)
class BaseModel:
    name: str
    family: str  # "llama3" | "mistral" | "hf"
    file: str = ""  # file inside the package (llama3, mistral)
    source: str = ""  # where the tokenizer comes from, in words
    template: str = ""  # chat template file in validators/data/chat_templates (llama3 family)


OFFLINE: dict[str, BaseModel] = {
    m.name: m
    for m in (
        BaseModel("meta-llama/Meta-Llama-3-8B-Instruct", "llama3", "llama3/tokenizer.model", "llama-models", "llama3_training.jinja"),
        BaseModel("meta-llama/Meta-Llama-3-70B-Instruct", "llama3", "llama3/tokenizer.model", "llama-models", "llama3_training.jinja"),
        BaseModel("meta-llama/Llama-3.1-8B-Instruct", "llama3", "llama3/tokenizer.model", "llama-models", "llama3_1.jinja"),
        BaseModel("meta-llama/Llama-3.1-70B-Instruct", "llama3", "llama3/tokenizer.model", "llama-models", "llama3_1.jinja"),
        BaseModel("meta-llama/Llama-3.2-1B-Instruct", "llama3", "llama3/tokenizer.model", "llama-models", "llama3_2.jinja"),
        BaseModel("meta-llama/Llama-3.2-3B-Instruct", "llama3", "llama3/tokenizer.model", "llama-models", "llama3_2.jinja"),
        BaseModel("mistralai/Mistral-7B-Instruct-v0.3", "mistral", "mistral_instruct_tokenizer_240323.model.v3", "mistral-common"),
        BaseModel("mistralai/Mistral-7B-Instruct-v0.2", "mistral", "tokenizer.model.v1", "mistral-common"),
        BaseModel("mistralai/Mistral-7B-Instruct-v0.1", "mistral", "tokenizer.model.v1", "mistral-common"),
        BaseModel("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistral", "tokenizer.model.v1", "mistral-common"),
        BaseModel("mistralai/Mistral-Nemo-Instruct-2407", "mistral", "tekken_240718.json", "mistral-common"),
    )
}


def is_open(name: str | None) -> bool:
    """True when ``name`` is an open base model (offline entry, local folder or HF id), not an OpenAI model."""
    return bool(name) and (name in OFFLINE or "/" in name or Path(name).is_dir())


@dataclass
class Rendered:
    """One example through the template: token ids, which ones carry loss, the text of each token."""

    ids: list[int]
    trained: list[bool]
    markers: bool  # the template marks the assistant's output ({% generation %})
    message_ends: list[int] = field(default_factory=list)  # token index where each input message ends (if known)
    token_bytes: Callable[[int], bytes] | None = None  # the bytes of a token id (for the preview)

    @property
    def pieces(self) -> list[str]:
        """The text of each token (computed on demand: counting does not need it)."""
        return text_pieces([self.token_bytes(i) for i in self.ids]) if self.token_bytes else []


def text_pieces(chunks: list[bytes]) -> list[str]:
    """The text of each token from its bytes: a character split over several tokens is shown
    on the last of them (the others show nothing), never as replacement marks."""
    out: list[str] = []
    buf = b""
    for chunk in chunks:
        buf += chunk
        try:
            out.append(buf.decode("utf-8"))
            buf = b""
        except UnicodeDecodeError:
            out.append("")
    if buf and out:
        out[-1] = buf.decode("utf-8", "replace")
    return out


class ChatTokenizer:
    """The interface every source implements."""

    name: str
    source: str
    special_tokens: list[str]
    markers: bool

    def render(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> Rendered:
        raise NotImplementedError

    def count(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> tuple[int, int]:
        """(tokens, trained tokens)."""
        r = self.render(messages, tools)
        return len(r.ids), sum(r.trained)


def _weights(messages: list[dict[str, Any]]) -> list[bool]:
    """Per assistant turn, in order: is it trained (``weight`` 0 means no)."""
    return [m.get("weight", 1) != 0 for m in messages if m.get("role") == "assistant"]


def clean_messages(messages: list[Any]) -> list[dict[str, Any]]:
    """Messages as chat templates expect them: text content (list parts joined), no ``weight``."""
    out = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        m = {k: v for k, v in m.items() if k != "weight"}
        content = m.get("content")
        if isinstance(content, list):
            m["content"] = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        elif content is None:
            m["content"] = ""
        out.append(m)
    return out


# --- templates rendered by transformers, tokenized with offsets (Llama 3 and any HF tokenizer) ---


class TemplateTokenizer(ChatTokenizer):
    """A chat template rendered with transformers' renderer, then tokenized; the tokens
    whose text starts inside a ``{% generation %}`` block are the trained ones."""

    def __init__(self, name: str, source: str, template: str, special: dict[str, str], special_tokens: list[str],
                 encode: Callable[[str], tuple[list[int], np.ndarray]], piece: Callable[[int], bytes]) -> None:
        self.name, self.source, self.template = name, source, template
        self.special, self.special_tokens = special, special_tokens
        self.markers = bool(GENERATION.search(template))
        self._encode, self._piece = encode, piece

    def text(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> tuple[str, list[tuple[int, int]]]:
        from transformers.utils.chat_template_utils import render_jinja_template

        texts, spans = render_jinja_template([clean_messages(messages)], tools=tools or None, chat_template=self.template,
                                             return_assistant_tokens_mask=self.markers, **self.special)
        return texts[0], (spans[0] if spans else [])

    def render(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> Rendered:
        text, spans = self.text(messages, tools)
        ids, starts = self._encode(text)
        trained = np.zeros(len(ids), dtype=bool)
        if not self.markers:
            trained[:] = True  # assistant-only loss cannot tell the reply from the prompt
        else:
            weights = _weights(messages)
            for k, (a, b) in enumerate(spans):
                if k >= len(weights) or weights[k]:
                    trained |= (starts >= a) & (starts < b)
        return Rendered(ids, trained.tolist(), self.markers, token_bytes=self._piece)

    def count(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> tuple[int, int]:
        r = self.render(messages, tools)
        return len(r.ids), int(sum(r.trained))


def _template(name: str) -> str:
    return resources.files("validators").joinpath("data", "chat_templates", name).read_text("utf-8")


@cache
def _llama3(template: str = "llama3_training.jinja") -> TemplateTokenizer:
    from llama_models.llama3.tokenizer import Tokenizer

    path = resources.files("llama_models").joinpath("llama3", "tokenizer.model")
    if not path.is_file():
        raise OpenTokenizerError("The Llama 3 tokenizer file is not installed. Run: pip install -r requirements.txt")
    tok = Tokenizer(Path(str(path)))
    enc = tok.model
    n = enc.n_vocab
    byte_len = np.array([len(enc.decode_single_token_bytes(i)) for i in range(n)], dtype=np.int64)

    def encode(text: str) -> tuple[list[int], np.ndarray]:
        ids = enc.encode(text, allowed_special="all")  # as the HF tokenizer: special-token text is a control token
        ends = np.cumsum(byte_len[ids]) if ids else np.zeros(0, dtype=np.int64)
        return ids, _char_starts(text, ends - byte_len[ids] if ids else ends)

    special = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    version = {"llama3_1.jinja": "Llama 3.1", "llama3_2.jinja": "Llama 3.2"}.get(template, "Llama 3")
    return TemplateTokenizer("llama3", f"Meta's Llama 3 tokenizer (tokenizer.model from the llama-models package) and {version} chat template",
                             _template(template), special, list(tok.special_tokens), encode, enc.decode_single_token_bytes)


def _char_starts(text: str, byte_starts: np.ndarray) -> np.ndarray:
    """Character index of each token start, from its byte index in the UTF-8 text."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) == len(text):
        return byte_starts
    char_of_byte = np.cumsum(np.frombuffer(raw, dtype=np.uint8) & 0xC0 != 0x80) - 1
    return char_of_byte[np.minimum(byte_starts, len(raw) - 1)]


def from_hf_tokenizer(tok: Any, name: str, source: str) -> TemplateTokenizer:
    """Any transformers tokenizer with a chat template (a local folder, a hub id, or one made in a test)."""
    template = tok.chat_template
    if isinstance(template, dict):
        template = template.get("default") or next(iter(template.values()))
    if not template:
        raise OpenTokenizerError(f"The tokenizer of {name} has no chat template, so the trainer cannot format chat examples with it.")

    def encode(text: str) -> tuple[list[int], np.ndarray]:
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        starts = np.array([a for a, _ in enc["offset_mapping"]], dtype=np.int64)
        return list(enc["input_ids"]), starts

    def piece(i: int) -> bytes:
        return tok.decode([i]).encode("utf-8")

    special = {k: v for k, v in tok.special_tokens_map.items() if isinstance(v, str)}
    return TemplateTokenizer(name, source, template, special, list(tok.all_special_tokens) + list(tok.added_tokens_encoder), encode, piece)


def _hf(name: str, online: bool) -> TemplateTokenizer:
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:  # pragma: no cover - transformers is in requirements.txt
        raise OpenTokenizerError("transformers is not installed. Run: pip install -r requirements.txt") from exc
    local = Path(name).expanduser()
    if local.is_dir():
        try:
            tok = AutoTokenizer.from_pretrained(str(local), local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes a sentence
            raise OpenTokenizerError(f"The folder {local} does not hold a tokenizer transformers can load ({type(exc).__name__}).") from exc
        return from_hf_tokenizer(tok, name, f"the tokenizer in the folder {local}")
    try:
        tok = AutoTokenizer.from_pretrained(name, local_files_only=not online)
    except Exception as exc:  # noqa: BLE001
        where = "could not be downloaded" if online else "is not on this machine, and this app counts offline"
        raise OpenTokenizerError(
            f"The tokenizer of {name} {where}. Pick a model counted offline ({', '.join(OFFLINE)}), "
            "or give the path of a folder holding its tokenizer files (tokenizer.json, tokenizer_config.json)."
        ) from exc
    return from_hf_tokenizer(tok, name, f"the Hugging Face tokenizer of {name}")


# --- Mistral: mistral-common in fine-tuning mode ---


class MistralChatTokenizer(ChatTokenizer):
    """mistral-common's own encoder, message by message (so the trained tokens and where
    each message ends are known); the whole equals ``encode_chat_completion``."""

    def __init__(self, name: str, file: str) -> None:
        from mistral_common.protocol.instruct.validator import ValidationMode
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

        path = resources.files("mistral_common").joinpath("data", file)
        if not path.is_file():
            raise OpenTokenizerError(f"The Mistral tokenizer file {file} is not installed. Run: pip install -r requirements.txt")
        self.tok = MistralTokenizer.from_file(str(path), mode=ValidationMode.finetuning)
        self.name, self.source = name, f"Mistral's own tokenizer and chat format (mistral-common, {file}, fine-tuning mode)"
        self.markers = True
        inner = self.tok.instruct_tokenizer.tokenizer
        self.special_tokens = sorted({inner.id_to_piece(i) for i in range(inner.n_words) if inner.is_special(i)} - {""})
        self._inner = inner

    def request(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> Any:
        from mistral_common.protocol.instruct.request import ChatCompletionRequest

        return ChatCompletionRequest.from_openai(clean_messages(messages), tools=tools or None)

    def render(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> Rendered:
        from mistral_common.protocol.instruct.messages import AssistantMessage, SystemMessage, ToolMessage, UserMessage

        mt, it = self.tok, self.tok.instruct_tokenizer
        req = mt._instruct_request_normalizer.from_chat_completion_request(
            mt._chat_completion_request_validator.validate_request(self.request(messages, tools)))
        it.validate_messages(req.messages)
        first, last = it.find_first_last_user(req)
        ids: list[int] = list(it.start())
        trained = [False] * len(ids)
        ends: list[int] = []
        weights = iter(_weights(messages))
        for k, msg in enumerate(req.messages):
            if isinstance(msg, UserMessage):
                new = it.encode_user_message(msg, req.available_tools, k == last, k == first, system_prompt=req.system_prompt,
                                             force_img_first=True)[0]
            elif isinstance(msg, ToolMessage):
                new = it.encode_tool_message(msg, k < last)
            elif isinstance(msg, AssistantMessage):
                new = it.encode_assistant_message(msg, k < last, continue_message=False)
            elif isinstance(msg, SystemMessage):
                new = it.encode_system_message(msg)
            else:  # pragma: no cover
                raise OpenTokenizerError(f"unknown message type {type(msg).__name__}")
            new = new or []
            train = isinstance(msg, AssistantMessage) and next(weights, True)
            ids += new
            trained += [bool(train)] * len(new)
            ends.append(len(ids))
        return Rendered(ids, trained, True, ends, self._piece)

    def _piece(self, i: int) -> bytes:
        inner = self._inner
        if inner.is_special(i):
            return inner.id_to_piece(i).encode("utf-8")
        if hasattr(inner, "id_to_byte_piece"):  # Tekken
            from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy

            return inner.id_to_byte_piece(i, SpecialTokenPolicy.KEEP)
        piece = inner.id_to_piece(i)
        if _BYTE_PIECE.match(piece):  # SentencePiece byte fallback, e.g. <0x0A>
            return bytes([int(piece[3:5], 16)])
        return piece.replace("▁", " ").encode("utf-8")


# --- the registry ---

_LOADED: dict[str, ChatTokenizer] = {}


def downloads_allowed() -> bool:
    """Hugging Face downloads happen only when the person running the app asks for them
    (``FTPREP_ALLOW_DOWNLOADS=1``): by default every count is offline."""
    return os.environ.get("FTPREP_ALLOW_DOWNLOADS") == "1"


def load(name: str, online: bool | None = None) -> ChatTokenizer:
    """The tokenizer for a base model (cached); :class:`OpenTokenizerError` when unavailable."""
    with _LOCK:
        if name in _LOADED:
            return _LOADED[name]
        entry = OFFLINE.get(name)
        if entry is not None and entry.family == "llama3":
            tok: ChatTokenizer = copy.copy(_llama3(entry.template))
            tok.name = name
        elif entry is not None and entry.family == "mistral":
            tok = MistralChatTokenizer(name, entry.file)
        else:
            tok = _hf(name, downloads_allowed() if online is None else online)
        _LOADED[name] = tok
        return tok


def special_token_strings(name: str) -> list[str]:
    """The special tokens of ``name``'s tokenizer.  For Llama 3 (not loaded yet) they come
    from llama-models' own constructor fed a one-entry vocabulary: the list is fixed in its
    code, and loading the real 128k vocabulary (0.25 s) only to read it is waste."""
    with _LOCK:
        loaded = _LOADED.get(name)
    entry = OFFLINE.get(name)
    if loaded is None and entry is not None and entry.family == "llama3":
        with _LOCK:  # the stub vocabulary is patched in while no real Llama 3 load can run
            return _llama3_specials()
    return list((loaded or load(name)).special_tokens)


@cache
def _llama3_specials() -> list[str]:
    import llama_models.llama3.tokenizer as llama

    path = resources.files("llama_models").joinpath("llama3", "tokenizer.model")
    real = llama.load_bpe_file
    llama.load_bpe_file = lambda _path: {b"\x00": 0}
    try:
        return list(llama.Tokenizer(Path(str(path))).special_tokens)
    except Exception:  # noqa: BLE001 - the library changed shape: read the real vocabulary
        llama.load_bpe_file = real
        return list(_llama3().special_tokens)
    finally:
        llama.load_bpe_file = real


def register(name: str, tok: ChatTokenizer) -> None:
    """Use ``tok`` for ``name`` (a tokenizer made elsewhere, e.g. in a test or by the page)."""
    with _LOCK:
        _LOADED[name] = tok


def example_messages(ex: Any) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """The messages the trainer formats for an example (a preference pair: prompt + chosen reply)."""
    rec = ex.record if isinstance(ex.record, dict) else {}
    if ex.kind == "dpo":
        inp = rec.get("input") if isinstance(rec.get("input"), dict) else {}
        msgs = list(inp.get("messages") or []) + list(rec.get("preferred_output") or [])
        return [m for m in msgs if isinstance(m, dict)], inp.get("tools")
    return [m for m in (ex.messages or []) if isinstance(m, dict)], rec.get("tools")


@dataclass
class OpenCounts:
    total: np.ndarray
    trained: np.ndarray
    counted: np.ndarray
    problems: dict[int, str]  # example number -> why it could not be formatted


PARALLEL_MIN_EXAMPLES = 4000  # below this, starting a worker process costs more than it saves


def count(examples: list[Any], name: str) -> OpenCounts:
    """Tokens and trained tokens of each example, in file order, with this base model.

    On large data the second half is counted by a worker process on the other core
    (:mod:`validators.counting.open_token_worker`); if it fails, this process counts it: same numbers."""
    tok = load(name)
    n = len(examples)
    out = OpenCounts(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool), {})
    todo = [pos for pos, ex in enumerate(examples) if ex.record is not None]
    out.counted[todo] = True
    worker = _worker(name) if len(todo) >= PARALLEL_MIN_EXAMPLES else None
    later = todo[len(todo) // 2:] if worker is not None else []
    answer = _in_worker(worker, [example_messages(examples[p]) for p in later]) if worker is not None else None
    _count_here(tok, examples, todo[: len(todo) - len(later)], out)
    done = answer.result() if answer is not None else None
    if done is None:
        _count_here(tok, examples, later, out)  # no worker, or it failed: same numbers, here
    else:
        out.total[later], out.trained[later] = done["total"], done["trained"]
        out.problems.update({examples[later[int(k)]].index: v for k, v in done["problems"].items()})
    if out.problems:
        out.counted &= np.fromiter((e.index not in out.problems for e in examples), dtype=bool, count=n)
    return out


def _count_here(tok: ChatTokenizer, examples: list[Any], positions: list[int], out: OpenCounts) -> None:
    for pos in positions:
        msgs, tools = example_messages(examples[pos])
        try:
            out.total[pos], out.trained[pos] = tok.count(msgs, tools)
        except Exception as exc:  # noqa: BLE001 - a template's refusal is a finding, not a crash
            out.problems[examples[pos].index] = reason(exc)


def _worker(name: str) -> Any:
    """A worker for ``name`` when one can load the same tokenizer (a packaged model or a folder)."""
    from . import open_token_worker

    if (os.cpu_count() or 1) < 2 or not (name in OFFLINE or Path(name).is_dir()):
        return None
    try:
        return open_token_worker.Worker(name)
    except open_token_worker.WorkerError:
        return None


def _in_worker(worker: Any, items: list[tuple[list[dict[str, Any]], Any]]) -> Any:
    """Send ``items`` to the worker; a future whose result is its answer, or None if it failed."""
    from concurrent.futures import Future

    from . import open_token_worker

    done: Future[Any] = Future()

    def wait() -> None:
        try:
            done.set_result(worker.count(items))
        except (open_token_worker.WorkerError, ValueError):
            done.set_result(None)

    threading.Thread(target=wait, daemon=True).start()
    return done


def reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300].rstrip(". ")


def cut_message(tok: ChatTokenizer, messages: list[dict[str, Any]], limit: int, tools: list[Any] | None = None) -> int | None:
    """1-based number of the message in which an example longer than ``limit`` is cut."""
    r = tok.render(messages, tools)
    if len(r.ids) <= limit:
        return None
    if r.message_ends:
        # Mistral folds system messages into a user turn: its ends follow the other messages
        idx = list(range(len(messages)))
        if len(r.message_ends) != len(messages):
            idx = [i for i, m in enumerate(messages) if m.get("role") != "system"]
        if len(idx) == len(r.message_ends):
            return next(idx[k] + 1 for k, end in enumerate(r.message_ends) if end > limit)
    for k in range(1, len(messages) + 1):
        try:
            if tok.count(messages[:k], tools)[0] > limit:
                return k
        except Exception:  # noqa: BLE001 - some templates refuse a partial conversation
            return None
    return len(messages)


def copy_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(messages)


def model_info(name: str | None, max_seq_length: int | None = None) -> Any:
    """The catalogue entry for an OpenAI model, or one made for an open base model: its
    tokens counted with its own tokenizer, its limit the trainer's ``max_seq_length``, and no
    per-token price (training runs on your own hardware)."""
    from .. import catalog

    if name and is_open(name) and name not in catalog.models():
        load(name)  # an unavailable tokenizer is a plain error now, not a guess later
        limit = int(max_seq_length or DEFAULT_MAX_SEQ_LENGTH)
        return catalog.ModelInfo(name=name, encoding=PREFIX + name, limit=limit, training=0.0, input=0.0, output=0.0)
    return catalog.model(name)


def over_limit_message(ex: Any, info: Any, total: int) -> str:
    """The over-the-limit finding's text: for an open model, the message where the cut falls."""
    if not info.encoding.startswith(PREFIX):
        return (f"has {total:,} tokens, over the {info.limit:,}-token limit of {info.name}; the end would be cut off in training. "
                "Drop it or trim its earliest turns.")
    where = ""
    try:
        msgs, tools = example_messages(ex)
        k = cut_message(load(info.name), msgs, info.limit, tools)
        if k is not None:
            role = msgs[k - 1].get("role", "?") if k - 1 < len(msgs) else "?"
            where = f" The cut falls in message {k} ({role})" + ("; that reply is learned only in part" if role == "assistant" else "; the replies after it are not learned") + "."
    except Exception:  # noqa: BLE001 - the count stands even if the cut cannot be located
        where = ""
    return (f"has {total:,} tokens with {info.name}'s chat template, over the max sequence length of {info.limit:,}: "
            f"the trainer cuts it at token {info.limit:,}.{where} Drop it, trim its earliest turns, or raise the max sequence length.")
