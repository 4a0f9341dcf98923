"""Which spreadsheet column plays which chat role, and how rows become conversations.

:func:`suggest` reads the headers (any case, plural, eight languages, see
:mod:`validators.reading.headers`) and, when they say nothing, the cells themselves: ID-like and
constant columns are never used as text, a column of short texts ending in "?" next to a
column of longer texts is a question and its answer.  It says how sure it is ("sure",
"likely", "guess") and why, and never raises: a file it cannot map gets a plain
``problem`` and the user chooses.  :func:`resolve` applies the user's choices and checks
them; a choice that names a column the file does not have is an
:class:`~validators.reading.readers.InputError`, never a ``KeyError``.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from . import headers, speakers
from .readers import InputError

ROLES = ("system", "user", "assistant", "context", "weight", "chosen", "rejected", "conversation", "turn", "role", "content", "alternating")
TEXT_ROLES = ("system", "user", "assistant", "context", "chosen", "rejected", "content", "alternating")
CONFIDENCE = ("sure", "likely", "guess", "none")
PROFILE_ROWS = 2000  # cells looked at per column: enough to judge, cheap on 100k rows


@dataclass
class Mapping:
    """Column per role (``None`` = not used), a default system prompt, and for one message
    per row the role each speaker label plays (``{"SYSTEM": "assistant", "USER": "user"}``)."""

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
    alternating: str | None = None  # one column holding a question, its answer below it, the next question…
    default_system: str | None = None
    speakers: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        names = {f.name for f in fields(cls)}
        return cls(**{k: (v or None) for k, v in data.items() if k in names})

    @property
    def long_format(self) -> bool:
        """One message per row (speaker + text columns) rather than one exchange per row."""
        return bool(self.role and self.content)

    @property
    def preference(self) -> bool:
        return bool(self.chosen and self.rejected)


# ---------------------------------------------------------------- column profiles

_ID_VALUE = re.compile(r"^[\w\-.:/#]*\d[\w\-.:/#]*$")
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")


@dataclass
class Profile:
    """What a column's cells look like (from the first :data:`PROFILE_ROWS` rows)."""

    name: str
    filled: int = 0
    distinct: int = 0
    median_len: float = 0.0
    qmark: float = 0.0  # share of filled cells ending with a question mark
    numeric: float = 0.0
    id_values: float = 0.0  # share of filled cells that look like identifiers (digits, no spaces)
    samples: list[str] = field(default_factory=list)

    @property
    def constant(self) -> bool:
        return self.filled >= 2 and self.distinct == 1

    @property
    def id_like(self) -> bool:
        unique = self.filled >= 2 and self.distinct >= 0.95 * self.filled
        return headers.id_like(self.name) or (unique and self.id_values >= 0.9) or self.numeric >= 0.95

    @property
    def text(self) -> bool:
        """Could hold training text: filled, not an identifier, not the same value everywhere."""
        return self.filled > 0 and not self.constant and not self.id_like


def profile(columns: list[str], rows: list[list[str]]) -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    head = rows[:PROFILE_ROWS]
    for i, name in enumerate(columns):
        cells = [r[i].strip() for r in head if i < len(r) and r[i].strip()]
        p = Profile(name, filled=len(cells), distinct=len(set(cells)))
        if cells:
            p.median_len = statistics.median(len(c) for c in cells)
            p.qmark = sum(c.endswith(("?", "？", "؟")) for c in cells) / len(cells)
            p.numeric = sum(bool(_NUMBER.match(c)) for c in cells) / len(cells)
            p.id_values = sum(bool(_ID_VALUE.match(c)) for c in cells) / len(cells)
            p.samples = list(dict.fromkeys(cells))[:3]
        out[name] = p
    return out


# ---------------------------------------------------------------- suggestion


@dataclass
class Suggestion:
    """A proposed mapping, how sure it is, why, and what stops it (if anything)."""

    mapping: Mapping
    confidence: str = "none"
    reasons: list[str] = field(default_factory=list)
    problem: str | None = None  # a plain sentence (columns, no CLI flags) when nothing can be trained on
    speaker_counts: dict[str, int] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {"confidence": self.confidence, "reasons": list(self.reasons), "problem": self.problem,
                "speaker_counts": dict(self.speaker_counts)}


class _Picker:
    """Assigns columns to roles, one column per role, remembering how sure each pick was."""

    def __init__(self, columns: list[str], profiles: dict[str, Profile]) -> None:
        self.columns, self.profiles = columns, profiles
        self.found: dict[str, str] = {}
        self.level: dict[str, str] = {}
        self.reasons: list[str] = []

    def free(self, col: str) -> bool:
        return col not in self.found.values()

    def by_header(self, role: str, allow_constant: bool = False, text: bool = True, exact_only: bool = False) -> str | None:
        for score in (2, 1):
            if exact_only and score == 1:
                break
            for col in self.columns:
                p = self.profiles[col]
                if not self.free(col) or headers.match(col, role) != score or (p.filled == 0 and score < 2):
                    continue
                ident = headers.id_like(col) or (p.id_like and score < 2)  # a header that names the role beats short ids like "q1"
                # a named column of a few equal rows is still that column; a column named exactly "answer" or
                # "question" is that column however alike its rows (the same reply to many questions is data)
                same = p.constant and (score < 2 or (p.filled >= 5 and role not in ("user", "assistant")))
                if text and (ident or (same and not allow_constant)):
                    self.reasons.append(f"column “{col}” is not used as {ROLE_WORDS.get(role, role)}: " + ("it holds identifiers" if ident else "every row holds the same value"))
                    continue
                self.take(role, col, "sure" if score == 2 else "likely", "from its name" if score == 2 else "from a word of its name")
                return col
        return None

    def take(self, role: str, col: str, level: str, why: str) -> None:
        self.found[role], self.level[role] = col, level
        self.reasons.append(f"“{col}” → {ROLE_WORDS.get(role, role)} ({why})")


ROLE_WORDS = {"user": "question (user)", "assistant": "answer (assistant)", "system": "system prompt", "context": "extra input",
              "conversation": "conversation id", "turn": "turn order", "role": "speaker", "content": "message text",
              "chosen": "preferred answer", "rejected": "rejected answer", "weight": "weight",
              "alternating": "questions and answers taking turns"}


def suggest(columns: list[str], rows: list[list[str]] | None = None) -> Suggestion:
    """Propose a mapping from the headers and, when they say nothing, from the cells."""
    rows = rows or []
    profiles = profile(columns, rows)
    pick = _Picker(columns, profiles)
    long_ok = _long_format(pick, rows)
    if not long_ok:
        pick = _Picker(columns, profiles)
        _wide(pick)
        _infer_from_content(pick)
        _alternating(pick, rows)
    m = Mapping(**pick.found)
    sug = Suggestion(m, reasons=pick.reasons, profiles=profiles)
    levels = list(pick.level.values())
    if m.long_format:
        sp, counts, why, level = speaker_plan(m, columns, rows)
        m.speakers, sug.speaker_counts = sp or None, counts
        sug.reasons += why
        levels.append(level)
    used = set(pick.found.values())
    unused = [c for c in columns if c not in used]
    if unused:
        sug.reasons.append("not used: " + ", ".join(f"“{c}”" for c in unused))
    sug.problem = problem(m, columns)
    sug.confidence = "none" if sug.problem else max(levels or ["none"], key=CONFIDENCE.index)  # as sure as the weakest pick
    return sug


def _long_format(pick: _Picker, rows: list[list[str]]) -> bool:
    """One message per row: a speaker column (few labels) and a text column."""
    role = _speaker_column(pick, rows)
    if role is None:
        return False
    pick.by_header("conversation", text=False)
    if "conversation" not in pick.found:
        return False
    pick.by_header("turn", text=False)
    content = pick.by_header("content")
    if content is None and pick.by_header("user"):
        pick.found["content"], pick.level["content"] = pick.found.pop("user"), pick.level.pop("user")
        content = pick.found["content"]
    if content is None:
        texts = [c for c in pick.columns if pick.free(c) and pick.profiles[c].text]
        if not texts:
            return False
        pick.take("content", max(texts, key=lambda c: pick.profiles[c].median_len), "guess", "the longest texts")
    return True


def _speaker_column(pick: _Picker, rows: list[list[str]]) -> str | None:
    """A column named like a speaker, or one whose few distinct values are speaker names."""
    for col in pick.columns:
        p = pick.profiles[col]
        score = headers.match(col, "role")
        few = 1 <= p.distinct <= 30 and (score == 2 or p.distinct * 2 <= p.filled)
        if few and score:
            pick.take("role", col, "sure" if score == 2 else "likely", "from its name")
            return col
    for i, col in enumerate(pick.columns):
        p = pick.profiles[col]
        if not (2 <= p.distinct <= 10 and p.distinct * 2 <= p.filled):
            continue
        labels = Counter(r[i].strip() for r in rows[:PROFILE_ROWS] if i < len(r) and r[i].strip())
        named = sum(n for lb, n in labels.items() if speakers.known(lb))
        if named >= 0.8 * sum(labels.values()) and len({speakers.known(lb) for lb in labels} - {None}) >= 2:
            pick.take("role", col, "likely", "its values are speaker names: " + ", ".join(list(labels)[:4]))
            return col
    return None


def _wide(pick: _Picker) -> None:
    """One exchange per row: preference pairs, system, answer, question, Alpaca input."""
    if pick.by_header("chosen", exact_only=True) and pick.by_header("rejected", exact_only=True):
        pick.by_header("user", exact_only=True)
        pick.by_header("system", allow_constant=True, exact_only=True)
        return
    pick.found.pop("chosen", None)
    pick.by_header("system", allow_constant=True, exact_only=True)
    if pick.by_header("weight", text=False, exact_only=True) and pick.profiles[pick.found["weight"]].distinct > 4:
        pick.found.pop("weight")
    _alpaca(pick)
    pick.by_header("assistant")
    pick.by_header("user")
    conv = pick.by_header("conversation", text=False, exact_only=True)
    if conv and pick.profiles[conv].distinct >= pick.profiles[conv].filled:
        pick.found.pop("conversation")  # every row its own id: one exchange per row after all
    elif conv:
        pick.by_header("turn", text=False, exact_only=True)


def _alpaca(pick: _Picker) -> None:
    """``instruction`` + ``input``/``context`` + ``output``/``response``: the input is extra text
    joined to the instruction, unless it holds the same value in every row."""
    cols = {headers.key(c): c for c in pick.columns}
    instruction = cols.get("instruction")
    extra = cols.get("input") or cols.get("context")
    answer = next((c for c in pick.columns if headers.match(c, "assistant") == 2), None)
    if not (instruction and extra and answer):
        return
    p = pick.profiles[extra]
    if p.constant or p.id_like:
        pick.reasons.append(f"column “{extra}” is not joined to the instruction: every row holds the same value")
        return
    pick.take("user", instruction, "sure", "its name says instruction")
    pick.take("context", extra, "sure", "instruction + input + output layout: it is joined to the instruction")


def _infer_from_content(pick: _Picker) -> None:
    """Headers silent: the column of short texts ending in "?" is the question, the column of
    longer texts the answer."""
    need = [r for r in ("user", "assistant") if r not in pick.found]
    if not need or "chosen" in pick.found:
        return
    texts = [c for c in pick.columns if pick.free(c) and pick.profiles[c].text]
    prof = pick.profiles
    if need == ["user", "assistant"]:
        best: tuple[float, str, str, str, str] | None = None
        for u in texts:
            for a in texts:
                if u != a:
                    score, level, why = _pair(prof[u], prof[a])
                    if level and (best is None or score > best[0]):
                        best = (score, u, a, level, why)
        if best:
            _, u, a, level, why = best
            pick.take("user", u, level, why)
            pick.take("assistant", a, level, why)
        return
    known = pick.found["assistant" if need == ["user"] else "user"]
    scored = []
    for c in texts:
        u, a = (c, known) if need == ["user"] else (known, c)
        score, level, why = _pair(prof[u], prof[a])
        if level:
            scored.append((score, c, level, why))
    if scored:
        _, c, level, why = max(scored)
        pick.take(need[0], c, level, why)


def _alternating(pick: _Picker, rows: list[list[str]]) -> None:
    """A single text column where questions (ending in "?") and answers take turns, row by row."""
    if "user" in pick.found or "assistant" in pick.found or "chosen" in pick.found:
        return
    texts = [c for c in pick.columns if pick.profiles[c].filled and not pick.profiles[c].constant]
    if len(texts) != 1:
        return
    i = pick.columns.index(texts[0])
    cells = [r[i].strip() for r in rows[:PROFILE_ROWS] if i < len(r) and r[i].strip()]
    odd, even = cells[0::2], cells[1::2]
    if len(cells) < 4:
        return
    share = [sum(c.endswith(("?", "？", "؟")) for c in part) / len(part) for part in (odd, even)]
    if share[0] >= 0.6 and share[1] <= 0.2:
        pick.take("alternating", texts[0], "likely", f"{share[0]:.0%} of its odd rows end with “?” and the rows below them do not: question, answer, question, answer")


def _pair(u: Profile, a: Profile) -> tuple[float, str | None, str]:
    """How well ``u`` reads as questions and ``a`` as their answers.  A column that repeats a
    few values (a category, a department) is neither."""
    if _categorical(u) or _categorical(a):
        return 0.0, None, ""
    longer = a.median_len / max(u.median_len, 1.0)
    unique = (u.distinct / max(u.filled, 1) + a.distinct / max(a.filled, 1)) / 4  # a column may be all blank
    if u.qmark >= 0.5 and a.qmark <= 0.2:
        return 2 + u.qmark - a.qmark + min(longer, 3) / 10 + unique, "likely", f"most of “{u.name}” end with “?” and “{a.name}” does not"
    if longer >= 2 and u.qmark >= a.qmark:
        return 1 + min(longer, 5) / 10 + unique, "guess", f"“{a.name}” holds texts about {longer:.0f}× longer than “{u.name}”"
    return 0.0, None, ""


def _categorical(p: Profile) -> bool:
    return p.filled >= 8 and p.distinct <= 0.5 * p.filled


# ---------------------------------------------------------------- speakers


def speaker_plan(m: Mapping, columns: list[str], rows: list[list[str]]) -> tuple[dict[str, str], dict[str, int], list[str], str]:
    """(role per label, rows per label, reasons, how sure) for the speaker column of ``m``."""
    if not m.role or m.role not in columns:
        return {}, {}, [], "sure"
    idx = columns.index(m.role)
    conv_idx = columns.index(m.conversation) if m.conversation in columns else None
    turn_idx = columns.index(m.turn) if m.turn in columns else None
    counts: Counter[str] = Counter()
    convs: dict[str, list[tuple[Any, str]]] = {}
    for n, r in enumerate(rows):
        label = r[idx].strip() if idx < len(r) else ""
        if not label:
            continue
        counts[label] += 1
        conv = r[conv_idx] if conv_idx is not None and conv_idx < len(r) else ""
        order = turn_key(r[turn_idx]) if turn_idx is not None and turn_idx < len(r) else (0, n, "")
        convs.setdefault(conv, []).append((order, label))
    seqs = [[lb for _, lb in sorted(v, key=lambda x: x[0])] for v in list(convs.values())[:5000]]
    roles, reasons, level = speakers.infer(seqs)
    return roles, dict(counts.most_common()), reasons, level


def turn_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


# ---------------------------------------------------------------- the user's choices


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


def parse_speaker_args(pairs: list[str]) -> dict[str, str]:
    """``["SYSTEM=assistant", "USER=user"]`` → dict; the label keeps its case, the role is checked."""
    out: dict[str, str] = {}
    for item in pairs:
        label, sep, role = item.rpartition("=")
        role = role.strip().lower()
        if not sep or not label.strip():
            raise InputError(f"--speaker {item!r}: write LABEL=ROLE, for example --speaker SYSTEM=assistant")
        if role not in speakers.CHOICES:
            raise InputError(f"--speaker {item!r}: unknown role {role!r}. Roles: {', '.join(speakers.CHOICES)}")
        out[label.strip()] = role
    return out


def resolve(
    columns: list[str],
    overrides: dict[str, Any] | None = None,
    default_system: str | None = None,
    rows: list[list[str]] | None = None,
    suggestion: Suggestion | None = None,
) -> Mapping:
    """The suggested mapping with the user's choices applied, checked against the real columns.

    Raises :class:`InputError` when the result cannot produce conversations: the user chose
    it, so saying so is better than a file full of errors."""
    rows = rows or []
    sug = suggestion or suggest(columns, rows)
    base = sug.mapping.to_dict()
    overrides = dict(overrides or {})
    chosen_speakers = dict(overrides.pop("speakers", None) or {})
    if "user" in overrides and "context" not in overrides:
        base.pop("context", None)  # the extra input only goes with a detected instruction
    if any(k in overrides for k in ("role", "conversation", "turn")):
        base.pop("speakers", None)
    base.update(overrides)
    mapping = Mapping.from_dict(base)
    if default_system is not None:
        mapping.default_system = default_system or None
    check_columns(mapping, columns)
    if mapping.long_format:
        inferred = mapping.speakers or speaker_plan(mapping, columns, rows)[0]
        mapping.speakers = {**inferred, **chosen_speakers} or None
    else:
        mapping.speakers = None
    why = problem(mapping, columns)
    if why:
        raise InputError(why)
    return mapping


def check_columns(mapping: Mapping, columns: list[str]) -> None:
    """Every mapped column exists (any case); raise a plain InputError naming it otherwise."""
    lookup = {c.lower(): c for c in columns}
    for f in fields(mapping):
        if f.name in ("default_system", "speakers"):
            continue
        col = getattr(mapping, f.name)
        if col is None or col in columns:
            continue
        if col.lower() in lookup:
            setattr(mapping, f.name, lookup[col.lower()])
            continue
        raise InputError(f"Column {col!r} (mapped to {f.name}) is not in the file. Columns are: {', '.join(columns)}.")


def problem(mapping: Mapping, columns: list[str]) -> str | None:
    """Why this mapping cannot produce training examples, in words about the columns; or None."""
    if mapping.long_format or mapping.preference or mapping.alternating:
        return None
    cols = ", ".join(columns)
    if not mapping.user and not mapping.assistant:
        return f"No column is mapped to the user or the assistant, so there is nothing to train on. Columns are: {cols}."
    if not mapping.assistant:
        return f"No column is mapped to the assistant (the reply the model should learn). Columns are: {cols}."
    return None


def check(mapping: Mapping, columns: list[str]) -> None:
    """Raise a plain InputError when the mapping cannot produce conversations from these columns."""
    check_columns(mapping, columns)
    why = problem(mapping, columns)
    if why:
        raise InputError(why)


def detect(columns: list[str], rows: list[list[str]] | None = None) -> Mapping:
    """The suggested mapping alone (see :func:`suggest` for how sure it is)."""
    return suggest(columns, rows).mapping
