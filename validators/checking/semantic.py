"""Rules a JSON Schema cannot express, per example and across the whole file.

Errors break the file or leave nothing to train on; warnings hurt training without
breaking the file.  Every finding points at the example, its source row, the message and
the key, and says what to do.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..model import Example, Finding, finding
from . import mojibake, plain_text

MIN_EXAMPLES = 10  # the API refuses fewer
RECOMMENDED_EXAMPLES = 50
SHORT_REPLY_CHARS = 3
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def text_of(content: Any) -> str:
    """The text inside a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def column_names(mapping: dict[str, Any] | None) -> dict[str, str]:
    """Role (or preference key) → the user's own column holding that text, so findings on
    an example read from a table say ``answer is empty``, not ```content` is empty``."""
    m = mapping or {}
    if m.get("content") and m.get("role"):  # one message per row: one text column for every speaker
        return {role: m["content"] for role in ("system", "user", "assistant")}
    out = {role: m[role] for role in ("system", "user", "assistant") if m.get(role)}
    out.update({key: m[col] for key, col in (("preferred_output", "chosen"), ("non_preferred_output", "rejected")) if m.get(col)})
    return out


def _at(severity: Any, code: str, text: str, ex: Example, i: int | None, key: str, named: bool) -> Finding:
    """A finding on ``key`` of message ``i``; when the text names the user's column the
    prefix leaves the JSON key out (it stays in ``Finding.key`` for programs)."""
    if not named:
        return finding(severity, code, text, ex, i, key)
    f = finding(severity, code, text, ex, i)
    f.key = key
    return f


def check_example(ex: Example, names: dict[str, str] | None = None) -> list[Finding]:
    """Semantic findings for one example; ``names`` from :func:`column_names`."""
    if ex.dropped:
        return []
    if ex.record is None:
        what = ex.problem or "could not be read"
        code = "empty_row" if not (ex.raw or "").strip() else "unreadable"  # by the source text, not the wording
        return [finding("error", code, f"{what}. Fix the source row or leave it out.", ex)]
    names = names or {}
    if ex.kind == "dpo":
        return _check_dpo(ex, names)
    msgs = ex.record.get("messages")
    if not isinstance(msgs, list):
        return []
    if _plainly_fine(ex.record, msgs):
        return []
    out: list[Finding] = []
    dicts = [m for m in msgs if isinstance(m, dict)]
    roles = [m.get("role") for m in dicts]
    assistants = [(i, m) for i, m in enumerate(msgs, 1) if isinstance(m, dict) and m.get("role") == "assistant"]
    if not assistants:
        out.append(finding("error", "no_assistant", "has no assistant message, so there is nothing to train on. Add the assistant's reply.", ex))
    elif all(m.get("weight") == 0 for _, m in assistants):
        out.append(finding("warning", "all_weight_zero", "every assistant message has `weight: 0`, so the model learns nothing from it. Set one to 1 or drop the example.", ex))
    if "user" not in roles:
        out.append(finding("warning", "no_user", "has no user message. Add what the user said.", ex))
    if "system" in roles and roles.index("system") != 0:
        out.append(finding("warning", "system_not_first", "the system message is not first. Use the fix 'Move the system message first'.", ex, roles.index("system") + 1, "role"))
    out.extend(_message_findings(ex, msgs, names))
    out.extend(_tool_findings(ex, msgs))
    out.extend(mojibake.check(ex, msgs, {i: names[m.get("role")] for i, m in enumerate(msgs, 1) if isinstance(m, dict) and m.get("role") in names}))
    return out


def check_examples(examples: Iterable[Example], names: dict[str, str] | None = None) -> list[Finding]:
    """:func:`check_example` of each example, in order.  The control-character test of
    the plainly fine examples' texts (:func:`_plainly_fine`'s one pass per text) is made
    for all of them at once (:func:`plain_text.controls`); an example with a control
    character, or any other, takes :func:`check_example` itself."""
    examples = list(examples)
    fine: list[int] = []  # positions of the examples plainly fine but for control characters
    firsts: list[int] = []
    texts: list[str] = []
    for k, ex in enumerate(examples):
        if ex.dropped or ex.record is None or ex.kind == "dpo":
            continue
        msgs = ex.record.get("messages")
        contents = _plain_contents(ex.record, msgs) if isinstance(msgs, list) else None
        if contents is not None:
            fine.append(k)
            firsts.append(len(texts))
            texts += contents
    skip = np.zeros(len(examples), dtype=bool)
    if fine:
        control = plain_text.controls(texts)
        # an example is skipped when none of its texts holds one (every fine example has texts)
        skip[np.asarray(fine)] = ~np.logical_or.reduceat(control, np.asarray(firsts))
    out: list[Finding] = []
    for k in np.flatnonzero(~skip).tolist():
        out += check_example(examples[k], names)
    return out


def _plainly_fine(record: dict[str, Any], msgs: list[Any]) -> bool:
    """True for the common example no check below can fault, found in one cheap pass:
    plain ``{"role", "content"}`` messages of ASCII text without control characters or
    surrounding whitespace, no tools, a user message, an assistant reply of at least
    :data:`SHORT_REPLY_CHARS` characters, the system message (if any) first, no role
    twice in a row.  Anything else (``False``) takes the full checks."""
    contents = _plain_contents(record, msgs)
    return contents is not None and not any(map(mojibake.has_control, contents))


def _plain_contents(record: dict[str, Any], msgs: list[Any]) -> list[str] | None:
    """The texts of a plainly fine example (:func:`_plainly_fine`) but for their control
    characters, which are left to the caller; ``None`` when it is not."""
    if "tools" in record:
        return None
    prev, user, assistant = None, False, False
    contents = []
    for i, m in enumerate(msgs):
        if type(m) is not dict or len(m) != 2:
            return None
        role, content = m.get("role"), m.get("content")
        if type(role) is not str or type(content) is not str or role == prev or not content:
            return None
        if content.strip() is not content or not content.isascii():
            return None  # str.strip returns the very same object when there is nothing to strip
        contents.append(content)
        if role == "assistant":
            if len(content) < SHORT_REPLY_CHARS:
                return None
            assistant = True
        elif role == "user":
            user = True
        elif role == "system" and i:
            return None
        prev = role
    return contents if user and assistant else None


def _message_findings(ex: Example, msgs: list[Any], names: dict[str, str]) -> list[Finding]:
    out: list[Finding] = []
    prev_role = None
    last_assistant = max((i for i, m in enumerate(msgs, 1) if isinstance(m, dict) and m.get("role") == "assistant"), default=None)
    for i, m in enumerate(msgs, 1):
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        content = m.get("content")
        if role == prev_role and role in ("user", "assistant", "system"):
            out.append(finding("warning", "consecutive_same_role", f"follows another {role} message. Use the fix 'Merge consecutive turns' or add the missing turn.", ex, i, "role"))
        prev_role = role
        if not isinstance(content, (str, list)):
            continue
        text = text_of(content)
        has_calls = bool(m.get("tool_calls") or m.get("function_call"))
        column = names.get(role) if isinstance(role, str) else None
        it = column or "`content`"
        if not text.strip() and not has_calls and not (isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content)):
            if role == "assistant" and i == last_assistant:
                out.append(_at("error", "empty_content", f"{it} is empty. Write the assistant's reply or drop the example.", ex, i, "content", bool(column)))
            else:
                what = f"{column} ({role} message)" if column else f"`content` of this {role} message"
                out.append(_at("warning", "empty_message", f"{what} is empty. Write it or use the fix 'Drop empty messages'.", ex, i, "content", bool(column)))
            continue
        if isinstance(content, str) and content != content.strip():
            out.append(_at("warning", "surrounding_whitespace", f"{it} starts or ends with spaces or blank lines. Use the fix 'Trim whitespace'.", ex, i, "content", bool(column)))
        if role == "assistant" and not has_calls and len(text.strip()) < SHORT_REPLY_CHARS:
            what = column or "the assistant reply"
            out.append(finding("warning", "short_reply", f"{what} is only {len(text.strip())} character(s). Check it is complete.", ex, i, "content"))
    return out


def _tool_findings(ex: Example, msgs: list[Any]) -> list[Finding]:
    out: list[Finding] = []
    declared = set()
    for t in ex.record.get("tools") or [] if isinstance(ex.record.get("tools"), list) else []:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            declared.add(fn["name"])
            if not _TOOL_NAME.match(fn["name"]):
                out.append(finding("error", "invalid_tool_name", f"tool name {fn['name']!r} may use only a-z, A-Z, 0-9, _ and -, at most 64 characters.", ex, None, "tools"))
    open_calls: dict[str, int] = {}
    for i, m in enumerate(msgs, 1):
        if not isinstance(m, dict):
            continue
        for call in m.get("tool_calls") or [] if isinstance(m.get("tool_calls"), list) else []:
            if not isinstance(call, dict):
                continue
            if isinstance(call.get("id"), str):
                open_calls[call["id"]] = i
            fn = call.get("function") if isinstance(call.get("function"), dict) else {}
            name = fn.get("name")
            if declared and isinstance(name, str) and name not in declared:
                out.append(finding("warning", "undeclared_tool", f"calls tool {name!r}, which is not in this example's `tools`. Declare it or fix the name.", ex, i, "tool_calls"))
        if m.get("role") == "tool":
            tid = m.get("tool_call_id")
            if isinstance(tid, str) and tid not in open_calls:
                out.append(finding("error", "unknown_tool_call_id", f"answers tool call {tid!r}, but no earlier assistant message made a call with that id. Fix the id.", ex, i, "tool_call_id"))
            open_calls.pop(tid, None) if isinstance(tid, str) else None
    for tid, i in open_calls.items():
        out.append(finding("warning", "unanswered_tool_call", f"tool call {tid!r} gets no tool message with its result. Add one after it.", ex, i, "tool_calls"))
    return out


def _check_dpo(ex: Example, names: dict[str, str]) -> list[Finding]:
    out: list[Finding] = []
    rec = ex.record or {}
    inp = rec.get("input") if isinstance(rec.get("input"), dict) else {}
    msgs = inp.get("messages") if isinstance(inp.get("messages"), list) else []
    if msgs and isinstance(msgs[-1], dict) and msgs[-1].get("role") != "user":
        out.append(finding("warning", "dpo_input_not_user", "the input should end with a user message that both outputs answer.", ex, len(msgs), "role"))
    pref, non = rec.get("preferred_output"), rec.get("non_preferred_output")
    for key, val in (("preferred_output", pref), ("non_preferred_output", non)):
        if isinstance(val, list) and len(val) == 1 and isinstance(val[0], dict) and not text_of(val[0].get("content")).strip():
            column = names.get(key)
            out.append(_at("error", "empty_content", f"{column or f'`{key}`'} is empty. Write the reply or drop the pair.", ex, None, key, bool(column)))
    same = _one_reply(pref) and _one_reply(non) and text_of(pref[0].get("content")).strip() == text_of(non[0].get("content")).strip()
    if same and text_of(pref[0].get("content")).strip():
        out.append(finding("warning", "dpo_same_outputs", "the preferred and non-preferred replies are the same, so there is nothing to prefer.", ex))
    return out


def _one_reply(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict)


def normalise(text: str) -> str:
    """NFKC, collapsed whitespace, case-folded: the text two examples are compared on."""
    nfkc = unicodedata.normalize("NFKC", text)
    return (nfkc if _collapsed(nfkc) else " ".join(nfkc.split())).casefold()


def _collapsed(text: str) -> bool:
    """Whether ``" ".join(text.split())`` would give ``text`` back, checked in C speed:
    a printable text holds no whitespace but the plain space (every other whitespace
    character is a control or separator, which ``isprintable`` rejects), so only doubled,
    leading and trailing spaces are left to look for.  The split and join cost more than
    the rest of the normalisation together."""
    return mojibake.printable(text) and "  " not in text and text[:1] != " " and text[-1:] != " "


def _normalise_lines(lines: Iterable[str]) -> str:
    """``normalise("\n".join(lines))``, one line at a time: NFKC and case folding never act
    across a line break (a starter that composes with nothing), and the collapsed
    whitespace joins the lines' words with single spaces, so the lines can be normalised
    apart, each by the fast path of :func:`normalise`."""
    return " ".join(n for n in map(normalise, lines) if n)


def check_dataset(examples: list[Example], prompt_replies: dict[int, tuple[str, str]] | None = None) -> list[Finding]:
    """File-level findings: example count, system prompts, conflicting answers."""
    live = [e for e in examples if not e.dropped and e.record is not None]
    sft = [e for e in live if e.kind == "sft"]
    systems = [_system_of(e) for e in sft]
    with_system = [s for s in systems if s is not None]
    distinct = len({normalise(s) for s in set(with_system)})  # each different prompt normalised once
    out = count_findings(len(live))
    out += system_findings(len(sft), len(with_system), distinct, (e for e, s in zip(sft, systems) if s is None))
    out.extend(_conflicts(sft, prompt_replies or {}))
    return out


# The file-level findings from counts, so a check that streams a file too large for memory
# (validators/streaming/stream.py) gathers the counts in a database and words them the same way.


def count_findings(n: int) -> list[Finding]:
    """Too few usable examples (an error below the API's minimum, a warning below 50)."""
    if n < MIN_EXAMPLES:
        return [Finding("error", "too_few_examples", f"The file has {n} usable example(s); a fine-tuning job needs at least {MIN_EXAMPLES}. Add more examples.")]
    if n < RECOMMENDED_EXAMPLES:
        return [Finding("warning", "few_examples", f"The file has {n} examples; 50–100 is the usual starting point for a useful fine-tune.")]
    return []


def system_findings(n_sft: int, n_with_system: int, n_distinct: int, without_system: Iterable[Example]) -> list[Finding]:
    """No system prompt anywhere, some examples without one, or too many different ones."""
    out: list[Finding] = []
    if n_sft and not n_with_system:
        out.append(Finding("warning", "no_system_prompt", "No example has a system message. Consider a default system prompt (the fix 'Fill default system prompt'); use the same one when you call the model."))
    elif n_with_system and n_with_system < n_sft:
        for e in without_system:
            out.append(finding("warning", "missing_system", f"has no system message while {n_with_system} others have one. Use the fix 'Fill default system prompt'.", e))
    if n_distinct > max(5, n_sft // 10):
        out.append(Finding("warning", "many_system_prompts", f"{n_distinct} different system prompts across {n_sft} examples. Training works best with one or a few fixed system prompts."))
    return out


def system_of(e: Example) -> str | None:
    """The text of the example's first system message, or None."""
    return _system_of(e)


def _system_of(e: Example) -> str | None:
    for m in e.messages:
        if isinstance(m, dict) and m.get("role") == "system":
            return text_of(m.get("content"))
    return None


def prompt_replies(examples: Iterable[Example]) -> dict[int, tuple[str, str]]:
    """:func:`prompt_and_reply` of every usable example, by example number (computed once,
    shared by the conflicting-answers check and the duplicate search).

    The texts are normalised together (:func:`plain_text.lowered_if_plain`), a batch of
    examples at a time (so the joined prompts never all stay in memory at once): a
    prompt's lines joined by single spaces, when that is plain text, normalise to what
    :func:`_normalise_lines` makes of them line by line (every line is then non-empty and
    plain itself); any other prompt or reply takes :func:`prompt_and_reply`'s own path."""
    out: dict[int, tuple[str, str]] = {}
    batch: list[tuple[int, list[str] | None]] = []
    texts: list[str] = []  # per example of the batch: its prompt's lines joined, then its reply
    size = 0
    for e in examples:
        if e.record is None or e.dropped:
            continue
        msgs = [m for m in e.messages if isinstance(m, dict)]
        last = len(msgs) - 1
        while last >= 0 and msgs[last].get("role") != "assistant":
            last -= 1
        if last < 0:
            batch.append((e.index, None))
            texts += ("", "")
            continue
        lines = [f"{m.get('role')}: {c if type(c := m.get('content')) is str else text_of(c)}" for m in msgs[:last]]
        c = msgs[last].get("content")
        joined, reply = " ".join(lines), c if type(c) is str else text_of(c)
        batch.append((e.index, lines))
        texts += (joined, reply)
        size += len(joined) + len(reply)
        if size >= plain_text.CHUNK_CHARS:
            _normalise_batch(batch, texts, out)
            batch, texts, size = [], [], 0
    _normalise_batch(batch, texts, out)
    return out


def _normalise_batch(batch: list[tuple[int, list[str] | None]], texts: list[str], out: dict[int, tuple[str, str]]) -> None:
    fast = plain_text.lowered_if_plain(texts)
    for k, (number, lines) in enumerate(batch):
        if lines is None:
            out[number] = ("", "")
            continue
        prompt, reply = fast[2 * k], fast[2 * k + 1]
        out[number] = (_normalise_lines(lines) if prompt is None else prompt, normalise(texts[2 * k + 1]) if reply is None else reply)


def prompt_and_reply(e: Example) -> tuple[str, str]:
    """Normalised (everything before the last assistant turn, the last assistant turn)."""
    msgs = [m for m in e.messages if isinstance(m, dict)]
    last = max((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), default=None)
    if last is None:
        return "", ""
    prompt = _normalise_lines(f"{m.get('role')}: {text_of(m.get('content'))}" for m in msgs[:last])
    return prompt, normalise(text_of(msgs[last].get("content")))


def _conflicts(examples: Iterable[Example], known: dict[int, tuple[str, str]]) -> list[Finding]:
    groups: dict[str, list[tuple[Example, str]]] = defaultdict(list)
    for e in examples:
        prompt, reply = known.get(e.index) or prompt_and_reply(e)
        if prompt:
            groups[prompt].append((e, reply))
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue  # one example: one answer (no set to build for each of 100,000 prompts)
        replies = {r for _, r in members}
        if len(replies) > 1:
            out.extend(conflict_findings([e for e, _ in members], len(replies)))
    return out


def conflict_findings(members: list[Example], n_replies: int) -> list[Finding]:
    """One warning per example of a prompt that gets ``n_replies`` different answers."""
    first = members[0]
    others = ", ".join(f"{e.index} (row {e.row})" for e in members[1:6])
    text = f"the same prompt gets {n_replies} different answers in examples {first.index} (row {first.row}), {others}. Keep the right one."
    return [finding("warning", "conflicting_answers", text, e) for e in members]
