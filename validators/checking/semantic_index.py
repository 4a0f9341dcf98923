"""The dataset-wide semantic findings again after a few edits, redoing only the edited examples.

Why: :func:`semantic.check_dataset` (example count, system prompts, conflicting answers)
walks every example: ~1-2 s at 380,000 examples, and it ran again after every grid edit,
one-click fix and undo.  :class:`SemanticIndex` keeps, per example *object* (an edit or a
fix makes a new one), what that check needs of it: whether it counts, whether it is a
supervised example, its normalised system prompt, and digests of its normalised prompt and
reply (only their equality counts; the texts would take as much memory as the data).  Around those it
keeps the counts and groups the findings are worded from: how many examples have a
system prompt, how many of each normalised prompt there are, and per prompt its members
and how many of them give each reply.  An update looks each example up once (a dictionary
look-up and an identity test) and moves only the changed ones between groups; the findings
are then worded from the groups that conflict.

The answer is :func:`semantic.check_dataset`'s, finding for finding and in the same order
(``tests/test_incremental.py`` compares the two after random edits).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..model import Example, Finding
from . import semantic


@dataclass(frozen=True, slots=True)
class Entry:
    """What :func:`semantic.check_dataset` needs of one example."""

    position: int  # in the dataset's list: the order findings are listed in
    live: bool  # read and not left out
    sft: bool  # a live supervised example
    system: str | None  # its first system message's text, normalised (None: it has none)
    prompt: bytes | None  # digest of the normalised prompt (None when there is no assistant turn: never grouped)
    reply: bytes  # digest of the normalised reply


class SemanticIndex:
    """:func:`semantic.check_dataset` of a workspace's examples, kept current per example."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a background refresh and a page's own may ask at once
        self._reset()

    def _reset(self) -> None:
        self._seen: dict[int, tuple[Example, Entry]] = {}  # example number → (object, entry)
        self._live = self._sft = self._with_system = 0
        self._systems: Counter[str] = Counter()  # normalised system prompt → live sft examples with it
        self._without: set[int] = set()  # live sft examples without a system prompt
        # Prompts and replies by their 128-bit digests (as the exact-duplicate search compares texts):
        # the normalised texts themselves are as large as the data, and only equality is asked.
        self._members: dict[bytes, dict[int, bytes]] = {}  # prompt → {example number: its reply}
        self._replies: dict[bytes, Counter[bytes]] = {}  # prompt → reply → how many members give it

    def findings(self, examples: list[Example], prompt_replies: dict[int, tuple[str, str]] | None = None) -> list[Finding]:
        """``semantic.check_dataset(examples, prompt_replies)``, redoing only the examples
        that are new objects since the last call."""
        with self._lock:
            self._update(examples, prompt_replies or {})
            return self._words()

    # -- keeping the entries and groups current ----------------------------------------------
    def _update(self, examples: list[Example], pr: dict[int, tuple[str, str]]) -> None:
        seen = self._seen
        norms: dict[str, str] = {}  # raw system text → normalised, within this update
        for p, e in enumerate(examples):
            held = seen.get(e.index)
            if held is not None and held[0] is e and held[1].position == p:
                continue
            if held is not None:
                self._remove(e.index, held[1])
            entry = _entry(e, p, pr, norms)
            seen[e.index] = (e, entry)
            self._add(e.index, entry)
        if len(seen) != len(examples):  # examples gone (the file was read again): start afresh
            self._reset()
            self._update(examples, pr)

    def _add(self, n: int, entry: Entry) -> None:
        self._live += entry.live
        if not entry.sft:
            return
        self._sft += 1
        if entry.system is None:
            self._without.add(n)
        else:
            self._with_system += 1
            self._systems[entry.system] += 1
        if entry.prompt is not None:
            self._members.setdefault(entry.prompt, {})[n] = entry.reply
            self._replies.setdefault(entry.prompt, Counter())[entry.reply] += 1

    def _remove(self, n: int, entry: Entry) -> None:
        self._live -= entry.live
        if not entry.sft:
            return
        self._sft -= 1
        if entry.system is None:
            self._without.discard(n)
        else:
            self._with_system -= 1
            _decrement(self._systems, entry.system)
        if entry.prompt is not None:
            members = self._members[entry.prompt]
            del members[n]
            replies = self._replies[entry.prompt]
            _decrement(replies, entry.reply)
            if not members:
                del self._members[entry.prompt], self._replies[entry.prompt]

    # -- wording the findings, in check_dataset's order ------------------------------------
    def _words(self) -> list[Finding]:
        seen = self._seen
        out = semantic.count_findings(self._live)
        without = sorted((seen[n][1].position, n) for n in self._without) if 0 < self._with_system < self._sft else []
        out += semantic.system_findings(self._sft, self._with_system, len(self._systems), (seen[n][0] for _, n in without))
        conflicts = []
        for prompt, replies in self._replies.items():
            if len(replies) > 1:
                members = sorted((seen[n][1].position, n) for n in self._members[prompt])
                conflicts.append((members, len(replies)))
        conflicts.sort(key=lambda c: c[0][0])  # check_dataset meets each prompt first at its first member
        for members, n_replies in conflicts:
            out.extend(semantic.conflict_findings([seen[n][0] for _, n in members], n_replies))
        return out


def _entry(e: Example, position: int, pr: dict[int, tuple[str, str]], norms: dict[str, str]) -> Entry:
    live = not e.dropped and e.record is not None
    if not live or e.kind != "sft":
        return Entry(position, live, False, None, None, b"")
    raw = semantic.system_of(e)
    system = None
    if raw is not None:
        system = norms.get(raw)
        if system is None:
            system = norms[raw] = semantic.normalise(raw)
    prompt, reply = pr.get(e.index) or semantic.prompt_and_reply(e)
    return Entry(position, True, True, system, _digest(prompt) if prompt else None, _digest(reply))


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _decrement(counter: Counter[Any], key: Any) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
