"""Which spreadsheet column plays which chat role, and how rows become conversations.

Detection looks for the usual column names (``question/answer``, ``prompt/completion``,
``input/output``, ``instruction/response``, ``user/assistant``, ``human/gpt``, ``system``,
any case).  The user can override any of it; a mapping that names a column the file does
not have is an :class:`~validators.readers.InputError`, never a ``KeyError``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from .readers import InputError

ROLES = ("system", "user", "assistant", "context", "weight", "chosen", "rejected", "conversation", "turn", "role", "content")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "system": ("system", "system_prompt", "system_message", "sys", "persona"),
    "user": ("user", "question", "prompt", "instruction", "input", "human", "query", "customer_message", "customer", "request", "user_message"),
    "assistant": ("assistant", "answer", "completion", "output", "response", "gpt", "reply", "agent_reply", "agent", "bot", "assistant_message", "target"),
    "context": ("input", "context"),  # Alpaca's optional input next to an instruction
    "weight": ("weight", "assistant_weight", "train", "train_on"),
    "chosen": ("chosen", "preferred", "preferred_output", "preferred_response"),
    "rejected": ("rejected", "non_preferred", "non_preferred_output", "rejected_response", "dispreferred"),
    "conversation": ("conversation_id", "conversation", "conv_id", "dialog_id", "dialogue_id", "thread_id", "session_id", "chat_id"),
    "turn": ("turn", "turn_id", "turn_index", "turn_number", "step", "position", "order", "seq"),
    "role": ("role", "speaker", "from", "author"),
    "content": ("content", "text", "message", "value", "utterance"),
}


def norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


@dataclass
class Mapping:
    """Column per role (``None`` = not used) plus a default system prompt."""

    system: str | None = None
    user: str | None = None
    assistant: str | None = None
    context: str | None = None
    weight: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    conversation: str | None = None
    turn: str | None = None
    role: str | None = None
    content: str | None = None
    default_system: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        names = {f.name for f in fields(cls)}
        return cls(**{k: (v or None) for k, v in data.items() if k in names})

    @property
    def long_format(self) -> bool:
        """One message per row (role + content columns) rather than one exchange per row."""
        return bool(self.role and self.content)

    @property
    def preference(self) -> bool:
        return bool(self.chosen and self.rejected)


def detect(columns: list[str]) -> Mapping:
    """Guess the mapping from column names; the first synonym found wins for each role."""
    by_norm = {norm(c): c for c in reversed(columns)}
    taken: set[str] = set()
    found: dict[str, str] = {}
    order = ["conversation", "turn", "role", "content", "chosen", "rejected", "system", "weight", "assistant", "user", "context"]
    for role in order:
        for syn in SYNONYMS[role]:
            col = by_norm.get(syn)
            if col and col not in taken:
                found[role] = col
                taken.add(col)
                break
    mapping = Mapping(**found)
    if not mapping.long_format:  # "content"/"role" alone are ordinary columns, not a layout
        mapping.role = mapping.content = None
    if mapping.context and not (mapping.user and norm(mapping.user) == "instruction"):
        mapping.context = None
    if mapping.preference and not mapping.user:
        for syn in ("prompt", "question", "input"):
            if syn in by_norm:
                mapping.user = by_norm[syn]
    if mapping.preference:
        mapping.assistant = None
    return mapping


def parse_map_args(pairs: list[str]) -> dict[str, str]:
    """``["user=Question", "assistant=Answer"]`` → dict, with a plain error for bad items."""
    out: dict[str, str] = {}
    for item in pairs:
        if "=" not in item:
            raise InputError(f"--map {item!r}: write ROLE=COLUMN, for example --map user=Question")
        role, column = item.split("=", 1)
        role = role.strip().lower()
        if role not in ROLES:
            raise InputError(f"--map {item!r}: unknown role {role!r}. Roles: {', '.join(ROLES)}")
        out[role] = column.strip()
    return out


def resolve(columns: list[str], overrides: dict[str, Any] | None = None, default_system: str | None = None) -> Mapping:
    """Detected mapping with the user's overrides applied, checked against the real columns."""
    base = detect(columns).to_dict()
    overrides = dict(overrides or {})
    if "user" in overrides and "context" not in overrides:
        base.pop("context", None)  # Alpaca's "input" only goes with a detected "instruction"
    base.update(overrides)
    mapping = Mapping.from_dict(base)
    if default_system is not None:
        mapping.default_system = default_system or None
    check(mapping, columns)
    return mapping


def check(mapping: Mapping, columns: list[str]) -> None:
    """Raise a plain InputError when the mapping cannot produce conversations from these columns."""
    lookup = {c.lower(): c for c in columns}
    for f in fields(mapping):
        if f.name == "default_system":
            continue
        col = getattr(mapping, f.name)
        if col is None:
            continue
        if col not in columns:
            if col.lower() in lookup:
                setattr(mapping, f.name, lookup[col.lower()])
                continue
            raise InputError(f"Column {col!r} (mapped to {f.name}) is not in the file. Columns are: {', '.join(columns)}.")
    if mapping.long_format or mapping.preference:
        return
    if not mapping.user and not mapping.assistant:
        raise InputError(
            "No column is mapped to the user or the assistant, so there is nothing to train on. "
            f"Columns are: {', '.join(columns)}. Map them, e.g. --map user=Question --map assistant=Answer."
        )
    if not mapping.assistant:
        raise InputError(
            "No column is mapped to the assistant (the reply the model should learn). "
            f"Columns are: {', '.join(columns)}. Map one, e.g. --map assistant=Answer."
        )
