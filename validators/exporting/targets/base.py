"""The :class:`Target` record and helpers every target shares.

A target renders one example to one JSON object (one JSONL line), and says what its system
requires of the file as a whole (``rules``: each problem is a sentence saying what is wrong
and what the user needs to do).
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ...model import Example

Rules = Callable[[list[Example]], list[str]]


def _no_rules(_examples: list[Example]) -> list[str]:
    return []


@dataclass
class Target:
    """One export layout of one fine-tuning system (``family``), e.g. TRL prompt–completion."""

    name: str
    label: str
    render: Callable[[Example], dict[str, Any]]
    extension: str = "jsonl"
    min_examples: int = 1
    notes: list[str] = field(default_factory=list)
    rules: Rules = _no_rules
    family: str = ""  # openai, azure, trl, autotrain, unsloth, together, fireworks, vertex, bedrock
    layout: str = "default"
    max_examples: int | None = None  # the service refuses more training examples than this
    max_file_bytes: int | None = None  # the service's file-size limit (None: the app's own 512 MB reading limit)
    bom: bool = False  # write a UTF-8 byte-order mark first (Azure OpenAI's docs ask for one)
    max_validation_examples: int | None = None  # e.g. Vertex AI's 5,000
    # When this target's line is the example's own record written as JSON (the OpenAI line), so the
    # exporter writes it once for every such target (export.RenderCache): "always", "plain" (for a
    # plain example, see :func:`is_plain`; tests/test_render_cache.py checks each target so marked), or "".
    line_is_record: str = ""


def is_plain(ex: Example) -> bool:
    """A supervised example whose record is only ``messages``, each exactly ``{"role": ..., "content": "text"}``
    (in that order) with a role other than ``function``: most data.  Its line for a target marked
    ``line_is_record="plain"`` is its record's, and tests marked ``false_when_plain`` are False for it."""
    if ex.kind != "sft" or ex.dropped or ex.record is None or len(ex.record) != 1:
        return False
    msgs = ex.record.get("messages")
    if type(msgs) is not list:
        return False
    for m in msgs:
        if type(m) is not dict or len(m) != 2 or type(m.get("content")) is not str or type(m.get("role")) is not str:
            return False
        if next(iter(m)) != "role" or m["role"] == "function":
            return False
    return True


def false_when_plain(test: Callable[[Example], bool]) -> Callable[[Example], bool]:
    """Mark a rule's test as False for every plain example (:func:`is_plain`): a rules pass with the
    plain examples known (``remembered(memo, plain)``) asks it only of the others."""
    test.false_when_plain = True  # type: ignore[attr-defined]
    return test


def service_limits(key: str) -> dict[str, Any]:
    """``min_examples`` / ``max_examples`` / ``max_file_bytes`` / ``max_validation_examples`` of a service, from the catalogue,
    so the limits live in one editable file with their source."""
    from ...catalog import service

    info = service(key)
    return {"min_examples": info.min_examples, "max_examples": info.max_examples, "max_file_bytes": info.max_file_bytes,
            "max_validation_examples": info.max_validation_examples}


def some(indices: list[int], limit: int = 5) -> str:
    """``"3 examples (3, 7, 9)"`` or ``"9 examples (1, 2, 4, 6, 8 and 4 more)"``: enough to find them."""
    head = ", ".join(str(i) for i in indices[:limit])
    more = f" and {len(indices) - limit} more" if len(indices) > limit else ""
    return f"{len(indices)} example{'s' if len(indices) > 1 else ''} ({head}{more})"


def count_rule(examples: list[Example], test: Callable[[Example], bool], text: str) -> list[str]:
    """One problem sentence naming the examples for which ``test`` holds, or nothing."""
    hits = _hits(examples, test, text)
    return [f"{some(hits)}: {text}"] if hits else []


_MEMO = threading.local()
Memo = dict[Any, tuple[dict[int, Example], set[int]]]  # per test: (example number → object tested, numbers it holds for)


@contextmanager
def remembered(memo: Memo, plain: frozenset[int] | None = None) -> Iterator[None]:
    """While the body runs (in this thread), :func:`count_rule` keeps each example's answer to
    each test in ``memo`` and asks the test again only for example objects it has not seen
    (an edit makes a new object).  Why: a target's rules test every example, a second or two
    at 100,000 examples, and after an edit all but one answer are the same.  ``plain``: the
    numbers of the plain examples (:func:`is_plain`) of the very list the rules are asked about;
    tests marked :func:`false_when_plain` skip them."""
    before = getattr(_MEMO, "memo", None), getattr(_MEMO, "plain", None)
    _MEMO.memo, _MEMO.plain = memo, plain
    try:
        yield
    finally:
        _MEMO.memo, _MEMO.plain = before


def _test_key(test: Callable[[Example], bool], text: str) -> Any:
    """What makes two tests the same: the function's code, the values it closes over and its
    defaults (a lambda is made afresh on every call of a rule), and the sentence; None when
    that cannot be told (not a plain function, or unhashable values): not remembered."""
    if not isinstance(test, types.FunctionType):
        return None
    key = (test.__code__, tuple(c.cell_contents for c in test.__closure__ or ()), test.__defaults__, text)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _hits(examples: list[Example], test: Callable[[Example], bool], text: str) -> list[int]:
    memo: Memo | None = getattr(_MEMO, "memo", None)
    key = _test_key(test, text) if memo is not None else None
    if memo is None or key is None:
        return [e.index for e in examples if test(e)]
    tested, holds = memo.setdefault(key, ({}, set()))
    plain = getattr(_MEMO, "plain", None) if getattr(test, "false_when_plain", False) else None
    out: list[int] = []
    for e in examples:
        n = e.index
        if plain is not None and n in plain:
            continue
        if tested.get(n) is not e:
            if test(e):
                holds.add(n)
            else:
                holds.discard(n)
            tested[n] = e
        if n in holds:
            out.append(n)
    return out

