"""Personal data and secrets inside the training text, found before it is sent to a third party.

Fine-tuning data is uploaded to a provider and can be memorised by the model, so an
e-mail address, phone number, card number or API key pasted into a support transcript is
worth a warning, and a one-click redaction.  Detection is one pass of one compiled regular
expression per text; candidates a pattern alone over-matches (cards, IBANs, phones) are
confirmed by a checksum or digit count, so order numbers, dates and prices stay quiet.
Findings never repeat the secret itself: reports and logs are files too.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..model import Example, Finding, finding
from . import sieve
from .fixes import FixResult

KINDS = ("email", "phone", "card", "iban", "secret")
PLACEHOLDER = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "iban": "[IBAN]", "secret": "[SECRET]"}
CODE = {"email": "pii_email", "phone": "pii_phone", "card": "pii_card", "iban": "pii_iban", "secret": "secret_api_key", "private_key": "secret_private_key"}
LABEL = {
    "email": "an e-mail address", "phone": "a phone number", "card": "a payment card number", "iban": "a bank account number (IBAN)",
    "openai": "an OpenAI API key", "aws": "an AWS access key id", "github": "a GitHub token", "slack": "a Slack token",
    "stripe": "a Stripe secret key", "google": "a Google API key", "bearer": "a bearer token", "private_key": "a private key",
}
# Keys whose values are identifiers or enums, never free text worth scanning or redacting.
_SKIP_KEYS = frozenset({"role", "type", "tool_call_id", "id", "name", "weight", "detail", "url"})

# Each secret pattern starts with a fixed literal and no look-behind, so the regex engine
# skips ahead with its fast prefix search; the character before a match is checked after.
_SECRETS: dict[str, tuple[str, ...]] = {
    "openai": (r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",),
    "stripe": (r"sk_(?:live|test)_[A-Za-z0-9]{16,}", r"rk_(?:live|test)_[A-Za-z0-9]{16,}"),
    "aws": (r"AKIA[0-9A-Z]{16}(?![A-Za-z0-9])", r"ASIA[0-9A-Z]{16}(?![A-Za-z0-9])"),
    "github": (r"gh[pousr]_[A-Za-z0-9]{36,}", r"github_pat_[A-Za-z0-9_]{22,}"),
    "slack": (r"xox[abposr]-[A-Za-z0-9-]{10,}",),
    "google": (r"AIza[0-9A-Za-z_-]{35}",),
    "bearer": (r"Bearer\s+[A-Za-z0-9._~+/=-]{20,}", r"bearer\s+[A-Za-z0-9._~+/=-]{20,}"),
}
_SECRET_RX = [(name, re.compile(rx)) for name, rxs in _SECRETS.items() for rx in rxs]
# A private key runs from its BEGIN line to the first END line after it (not across the
# NUL that separates texts).  One regex with a lazy body re-scanned the rest of the text
# for every BEGIN line without an END: 25,000 such lines in one reply took 193 s.  The
# BEGIN lines, END lines and NULs are found once each and paired by bisection instead.
_PK_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_PK_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])")
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?")
_IBAN_HEAD = re.compile(r"[A-Z]{2}\d{2}")
# Digit runs (with the separators people type) are the only candidates for cards and phones;
# the pattern starts with a character class so the regex engine skips ahead quickly.
_DIGIT_RUN = re.compile(r"\d[\d ().-]{7,}\d")
_CARD = re.compile(r"\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1(?:\d{4}\1\d{1,3}|\d{1,7})|\d{4}([ -])\d{6}\2\d{4,5}")
_PHONE = re.compile(
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    r"|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|0\d{2,4} \d{3,4} \d{3,4}"
)


@dataclass(frozen=True)
class Hit:
    """One confirmed match: ``kind`` is one of :data:`KINDS`, ``detail`` the pattern name."""

    kind: str
    detail: str
    start: int
    end: int


# Issuer identification number (IIN) ranges and card lengths of the networks that issue
# cards people pay with (ISO/IEC 7812 ranges as the networks publish them).  Luhn alone
# lets one order number in ten through; a real issuer prefix with that network's length
# rules out almost all the rest (an order number 113542617735902 passes Luhn, but no
# network issues cards starting with 1: UATP's airline-only 1-range is left out on purpose).
# Each entry: (network, lowest prefix, highest prefix, lengths); prefixes compare on their
# own number of digits.
_RANGES: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("Visa", "4", "4", (13, 16, 19)),
    ("Mastercard", "51", "55", (16,)),
    ("Mastercard", "2221", "2720", (16,)),
    ("American Express", "34", "34", (15,)),
    ("American Express", "37", "37", (15,)),
    ("Discover", "6011", "6011", (16, 17, 18, 19)),
    ("Discover", "644", "649", (16, 17, 18, 19)),
    ("Discover", "65", "65", (16, 17, 18, 19)),
    ("Discover", "622126", "622925", (16, 17, 18, 19)),
    ("JCB", "3528", "3589", (16, 17, 18, 19)),
    ("Diners Club", "300", "305", (14, 15, 16, 17, 18, 19)),
    ("Diners Club", "3095", "3095", (14, 15, 16, 17, 18, 19)),
    ("Diners Club", "36", "36", (14, 15, 16, 17, 18, 19)),
    ("Diners Club", "38", "39", (14, 15, 16, 17, 18, 19)),
    ("UnionPay", "62", "62", (16, 17, 18, 19)),
    ("UnionPay", "81", "81", (16, 17, 18, 19)),
    ("Maestro", "50", "50", tuple(range(12, 20))),
    ("Maestro", "56", "58", tuple(range(12, 20))),
    ("Maestro", "6304", "6304", tuple(range(12, 20))),
    ("Maestro", "67", "67", tuple(range(12, 20))),
    ("Mir", "2200", "2204", (16, 17, 18, 19)),
    ("Hipercard", "606282", "606282", (16, 19)),
    ("RuPay", "60", "60", (16,)),
    ("RuPay", "508", "508", (16,)),
    ("RuPay", "353", "353", (16,)),
    ("RuPay", "356", "356", (16,)),
    ("RuPay", "82", "82", (16,)),
    ("Troy", "9792", "9792", (16,)),
    ("InterPayment", "636", "636", (16, 17, 18, 19)),
    ("InstaPayment", "637", "639", (16,)),
    ("Verve", "506099", "506198", (16, 18, 19)),
    ("Verve", "650002", "650027", (16, 18, 19)),
)


def card_network(digits: str) -> str | None:
    """The network that issues cards with this number's prefix and length, or ``None``.

    Only the prefix and length: call :func:`luhn_ok` as well to tell a card from a typo.
    """
    n = len(digits)
    for network, low, high, lengths in _RANGES:
        if n in lengths and low <= digits[: len(low)] <= high:
            return network
    return None


def is_card_number(digits: str) -> bool:
    """A payment card: a real issuer prefix, that network's length, and the Luhn checksum."""
    return len(set(digits)) > 1 and card_network(digits) is not None and luhn_ok(digits)


def luhn_ok(digits: str) -> bool:
    """The payment-card checksum: rules out almost every order number of card length."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """ISO 13616 mod-97 check, so capitalised words and codes are not taken for accounts."""
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_SEP = "\n\x00\n"  # joins texts for one pass; no pattern can match across it


def scan(text: str) -> list[Hit]:
    """Every confirmed hit in ``text``, left to right, overlaps resolved to the first found."""
    return scan_many([text])[0]


def scan_many(texts: list[str]) -> list[list[Hit]]:
    """:func:`scan` for many texts at once: they are joined and searched in one pass per
    pattern, which is several times faster than a Python loop over short texts."""
    subset = candidates(texts)
    sub = texts if subset is None else [texts[i] for i in subset]
    return _spread(len(texts), subset, _split(sub, _scan_joined(_SEP.join(sub))))


# Large data is first sifted by one linear-time RE2 pass (Arrow's regex kernel): a text
# can hold a hit only if it holds an "@", a secret's fixed prefix, a private key line or a
# run of digits long enough for a card, phone or IBAN.  Most texts hold none, and the
# Python patterns then run over the few that do (a fifth of the time on 100,000 chat
# examples).  Each text is scanned with enough of the text before it for the IBAN
# look-back (36 characters, see :func:`_iban_before`), so every hit is the one the full
# scan finds.
PREFILTER_MIN_CHARS = sieve.MIN_CHARS  # below this, starting Arrow costs more than it saves
PREFILTER = (r"@|PRIVATE KEY-----|sk-|sk_|rk_|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abposr]-|AIza|Bearer|bearer"
              r"|\p{Nd}[\p{Nd} ().-]{7,}\p{Nd}")
_LOOK_BACK = 40


def candidates(texts: list[str]) -> list[int] | None:
    """Positions of the texts that can hold a hit (with the texts just before them, for
    the look-back), in order; ``None`` when every text is to be scanned (small data, or
    Arrow unavailable or unable to take the text)."""
    if sum(map(len, texts)) < PREFILTER_MIN_CHARS:
        return None
    flags = sieve.flags(texts, PREFILTER)
    if flags is None:
        return None
    keep: set[int] = set()
    for i in np.flatnonzero(flags).tolist():
        keep.add(i)
        j, covered = i - 1, 0
        while j >= 0 and covered < _LOOK_BACK:
            keep.add(j)
            covered += len(texts[j]) + len(_SEP)
            j -= 1
    return sorted(keep)


def _spread(n: int, subset: list[int] | None, hits: list[list[Hit]]) -> list[list[Hit]]:
    """Hits of the scanned subset → hits of all ``n`` texts."""
    if subset is None:
        return hits
    out: list[list[Hit]] = [[] for _ in range(n)]
    for i, h in zip(subset, hits):
        out[i] = h
    return out


def _split(texts: list[str], hits: Iterable[Hit]) -> list[list[Hit]]:
    """Hits in the joined text → hits per text, offsets relative to that text."""
    starts = list(itertools.accumulate((len(t) + len(_SEP) for t in texts[:-1]), initial=0))
    out: list[list[Hit]] = [[] for _ in texts]
    for h in hits:
        i = bisect.bisect_right(starts, h.start) - 1
        out[i].append(Hit(h.kind, h.detail, h.start - starts[i], h.end - starts[i]))
    return out


PARALLEL_MIN_CHARS = 20_000_000  # below this, starting a worker process costs more than it saves


def scan_many_later(texts: list[str]) -> Callable[[], list[list[Hit]]]:
    """Start :func:`scan_many`; the returned function waits for it.  Large inputs are scanned
    by a worker process (:mod:`validators.checking.pii_worker`) on another core while the caller goes
    on with other checks; if the worker fails, the scan runs here: same hits, slower."""
    pending = _scan_sparse_later(texts)

    def wait() -> list[list[Hit]]:
        subset, hits = pending()
        return _spread(len(texts), subset, hits)

    return wait


def _scan_sparse_later(texts: list[str], workers: bool = True) -> Callable[[], tuple[list[int] | None, list[list[Hit]]]]:
    """:func:`scan_many_later` without spreading the answer over every text: (the positions
    scanned, or ``None`` for all; the hits of each scanned text)."""
    subset = candidates(texts)
    sub = texts if subset is None else [texts[i] for i in subset]

    def here() -> tuple[list[int] | None, list[list[Hit]]]:
        return subset, _split(sub, _scan_joined(_SEP.join(sub)))

    if not workers or sum(map(len, sub)) < PARALLEL_MIN_CHARS:
        return here
    from . import pii_worker

    try:
        job = pii_worker.Scan(sub, _SEP)
    except pii_worker.WorkerError:
        return here

    def wait() -> tuple[list[int] | None, list[list[Hit]]]:
        try:
            return subset, _split(sub, (Hit(*h) for h in job.hits()))
        except pii_worker.WorkerError:
            return here()

    return wait


def _scan_joined(text: str) -> list[Hit]:
    if not text:
        return []
    hits: list[Hit] = _private_keys(text) if "PRIVATE KEY-----" in text else []
    for name, rx in _SECRET_RX:
        hits += [Hit("secret", name, m.start(), m.end()) for m in rx.finditer(text) if _free_start(text, m.start())]
    if "@" in text:
        hits += _emails(text)
    for m in _DIGIT_RUN.finditer(text):
        run, start = m.group(), m.start()
        if len(run) < 9 or sum(c.isdigit() for c in run) < 9:
            continue  # dates, times, prices: too few digits for a card, phone or IBAN
        hits += _iban_before(text, start)
        while start and text[start - 1] in "+(":
            start -= 1
            run = text[start] + run
        if _bounded(text, start, m.end()):
            hits += _numbers(text, start, run)
    return _without_overlaps(hits)


_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


def _emails(text: str) -> list[Hit]:
    """The hits of ``_EMAIL.finditer(text)``, found from each ``@`` instead of trying the
    pattern at every character (0.6 s per 25 MB of text, most of the personal-data scan).

    Every match holds exactly one ``@``, and its local part is the whole run of local-part
    characters just before it: a later start would fail the look-behind, which rejects
    those same characters.  So the only start to try for an ``@`` is that run's start,
    when the run is 1–64 characters long and begins after the previous match."""
    out: list[Hit] = []
    last_end = 0
    at = text.find("@")
    while at != -1:
        start = at
        while start > 0 and at - start <= 64 and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        if start < at and at - start <= 64 and start >= last_end:
            m = _EMAIL.match(text, start)
            if m:
                out.append(Hit("email", "email", m.start(), m.end()))
                last_end = m.end()
        at = text.find("@", max(at + 1, last_end))
    return out


def _private_keys(text: str) -> list[Hit]:
    """Each BEGIN … PRIVATE KEY----- line, through the first END line after it when no NUL
    (text separator) comes between; in time linear in the text."""
    ends = [(m.start(), m.end()) for m in _PK_END.finditer(text)]
    end_starts = [e[0] for e in ends]
    nuls = [m.start() for m in re.finditer("\x00", text)] if "\x00" in text else []
    hits: list[Hit] = []
    covered = -1
    for m in _PK_BEGIN.finditer(text):
        if m.start() < covered or not _free_start(text, m.start()):
            continue  # inside the key found before, or the tail of a longer token
        stop = m.end()
        i = bisect.bisect_left(end_starts, m.end())
        if i < len(ends):
            j = bisect.bisect_left(nuls, m.end())
            if j == len(nuls) or nuls[j] >= ends[i][1]:
                stop = ends[i][1]
        hits.append(Hit("secret", "private_key", m.start(), stop))
        covered = stop
    return hits


def _free_start(text: str, start: int) -> bool:
    """A token starts a word: not the tail of a longer identifier."""
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_-")


def _iban_before(text: str, run_start: int) -> list[Hit]:
    """An IBAN holds a long run of digits; look for its country code and check digits just
    before the run (up to 34 characters back), so plain text never runs the IBAN pattern."""
    lo = max(0, run_start - 36)
    for m in _IBAN_HEAD.finditer(text, lo, run_start + 2):
        full = _IBAN.match(text, m.start())
        if full and _bounded(text, full.start(), full.end()) and iban_ok(full.group()):
            return [Hit("iban", "iban", full.start(), full.end())]
    return []


def _bounded(text: str, start: int, end: int) -> bool:
    """Not glued to letters or digits on either side (part of a longer code or word)."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before in "_-/") and not (after.isalnum() or after == "_")


def _numbers(text: str, offset: int, run: str) -> list[Hit]:
    """Cards (issuer prefix, length and Luhn) and phones (8–15 digits) inside one run of digits and separators."""
    out = []
    for m in _CARD.finditer(run):
        digits = re.sub(r"[ -]", "", m.group())
        if _bounded(text, offset + m.start(), offset + m.end()) and is_card_number(digits):
            out.append(Hit("card", "card", offset + m.start(), offset + m.end()))
    if out or _CARD.fullmatch(run):
        return out  # card-shaped but no card: an order or reference number, not a phone
    for m in _PHONE.finditer(run):
        digits = [c for c in m.group() if c.isdigit()]
        if _bounded(text, offset + m.start(), offset + m.end()) and 8 <= len(digits) <= 15 and len(set(digits)) > 2:
            out.append(Hit("phone", "phone", offset + m.start(), offset + m.end()))
    return out


def _without_overlaps(hits: list[Hit]) -> list[Hit]:
    hits.sort(key=lambda h: (h.start, -h.end))
    out: list[Hit] = []
    for h in hits:
        if not out or h.start >= out[-1].end:
            out.append(h)
    return out


def _strings(value: Any, key: str | None = None) -> Iterator[tuple[str | None, str]]:
    """(top key, text) for every free-text string inside one message or output."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in _SKIP_KEYS:
                yield from _strings(v, key or k)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)


def _places(ex: Example) -> Iterator[tuple[int | None, str | None, str]]:
    """(1-based message index, key, text) for the texts of one example."""
    rec = ex.record
    if not isinstance(rec, dict):
        return
    msgs = rec.get("messages")
    if ex.kind != "dpo" and type(msgs) is list:
        common = _common_texts(msgs)
        if common is not None:
            yield from common  # the common case, fast
            return
    if ex.kind == "dpo":
        inp = rec.get("input")
        msgs = inp.get("messages") if isinstance(inp, dict) else None
        for out_key in ("preferred_output", "non_preferred_output"):
            for _k, text in _strings(rec.get(out_key)):
                yield None, out_key, text
    else:
        msgs = rec.get("messages")
    if isinstance(msgs, list):
        for i, msg in enumerate(msgs, start=1):
            content = msg.get("content") if type(msg) is dict else None
            if type(content) is str and len(msg) == 2:  # the common {"role", "content"} message
                yield i, "content", content
            else:
                for key, text in _strings(msg):
                    yield i, key, text


def _common_texts(msgs: list[Any]) -> list[tuple[int | None, str | None, str]] | None:
    """The places of the common ``[{"role", "content": str}, ...]`` messages; ``None`` for
    any other shape (a plain loop: a generator inside all() costs a third more)."""
    out = []
    for i, m in enumerate(msgs, start=1):
        if type(m) is not dict or len(m) != 2:
            return None
        content = m.get("content")
        if type(content) is not str:
            return None
        out.append((i, "content", content))
    return out


def check(examples: Iterable[Example]) -> list[Finding]:
    """One warning per example, message, key and kind of personal data or secret."""
    return check_later(examples)()


def check_later(examples: Iterable[Example], workers: bool = True) -> LaterScan:
    """:func:`check`, started now (on another core for large data, unless ``workers`` is
    false: a forked child scans in itself); call the result for the findings."""
    texts: list[str] = []
    # Where each text comes from, kept per example: (example, its first text's position,
    # its places, or None for the common {"role", "content": str} messages, whose n-th text
    # is message n's content).  Only texts with a hit are looked up.
    owners: list[tuple[Example, int, list[tuple[int | None, str | None]] | None]] = []
    common = True  # every example so far the common shape
    for ex in examples:
        if ex.dropped or ex.record is None:
            continue
        rec = ex.record
        msgs = rec.get("messages") if ex.kind != "dpo" and type(rec) is dict else None
        contents = _common_contents(msgs) if type(msgs) is list else None
        if contents is not None:
            owners.append((ex, len(texts), None))
            texts += contents
            continue
        common = False
        places = list(_places(ex))
        owners.append((ex, len(texts), [(index, key) for index, key, _ in places]))
        texts += [text for _, _, text in places]
    firsts = [first for _, first, _ in owners]
    return LaterScan(texts, owners, firsts, common, _scan_sparse_later(texts, workers))


class LaterScan:
    """A scan :func:`check_later` started: call it for the findings (waiting for the scan)."""

    def __init__(self, texts: list[str], owners: list[tuple[Example, int, list[tuple[int | None, str | None]] | None]],
                 firsts: list[int], common: bool, pending: Callable[[], tuple[list[int] | None, list[list[Hit]]]]) -> None:
        self.texts, self.owners, self.firsts, self.common, self.pending = texts, owners, firsts, common, pending

    def __call__(self) -> list[Finding]:
        out: list[Finding] = []
        subset, hits = self.pending()
        for i, found in zip(range(len(self.texts)) if subset is None else subset, hits):
            if found:
                ex, first, places = self.owners[bisect.bisect_right(self.firsts, i) - 1]
                index, key = (i - first + 1, "content") if places is None else places[i - first]
                out.extend(_findings(ex, index, key, found))
        return out

    def gathered(self) -> tuple[list[str], list[Example], list[int]] | None:
        """With every example read the common shape, the texts are exactly those the
        control-token scan gathers (each message's content, in order): (the texts, the
        examples, each one's first text's position) for it to take; else ``None``."""
        return (self.texts, [ex for ex, _, _ in self.owners], self.firsts) if self.common else None


def _common_contents(msgs: list[Any]) -> list[str] | None:
    """The texts :func:`_common_texts` places, without the places."""
    out = []
    for m in msgs:
        if type(m) is not dict or len(m) != 2:
            return None
        content = m.get("content")
        if type(content) is not str:
            return None
        out.append(content)
    return out


def _findings(ex: Example, index: int | None, key: str | None, hits: list[Hit]) -> list[Finding]:
    grouped: dict[str, list[Hit]] = {}
    for h in hits:
        grouped.setdefault("private_key" if h.detail == "private_key" else h.kind, []).append(h)
    out = []
    for group, items in grouped.items():
        labels = sorted({LABEL[h.detail] for h in items})
        what = labels[0] if len(items) == 1 else f"{len(items)} items ({', '.join(labels)})"
        advice = "Revoke it and redact it" if group in ("secret", "private_key") else "Redact it"
        text = f"holds {what}. This text is sent to the provider and can be memorised by the model. {advice} (fix 'Redact personal data and secrets')."
        out.append(finding("warning", CODE[group], text, ex, index, key))
    return out


def redact_text(text: str, kinds: Iterable[str] | None = None) -> tuple[str, int]:
    """``text`` with each hit of ``kinds`` (default all) replaced by its placeholder; and how many."""
    wanted = set(KINDS if kinds is None else kinds)
    hits = [h for h in scan(text) if h.kind in wanted]
    if not hits:
        return text, 0
    parts, last = [], 0
    for h in hits:
        parts.append(text[last:h.start])
        parts.append(PLACEHOLDER[h.kind])
        last = h.end
    parts.append(text[last:])
    return "".join(parts), len(hits)


def _redact_value(value: Any, wanted: set[str], counter: list[int]) -> Any:
    if isinstance(value, str):
        new, n = redact_text(value, wanted)
        counter[0] += n
        return new
    if isinstance(value, dict):
        return {k: v if k in _SKIP_KEYS else _redact_value(v, wanted, counter) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, wanted, counter) for v in value]
    return value


def redact_pii(examples: list[Example], kinds: Iterable[str] | None = None) -> FixResult:
    """One-click fix: replace personal data and secrets with placeholders such as ``[EMAIL]``.

    Like every fix it returns new examples and leaves the input untouched, so it can be undone.
    """
    wanted = set(KINDS if kinds is None else kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; use {KINDS}")
    out: list[Example] = []
    changed: list[int] = []
    total = 0
    for ex in examples:
        if ex.record is None or ex.dropped:
            out.append(ex)
            continue
        counter = [0]
        record = _redact_value(ex.record, wanted, counter)
        if counter[0]:
            out.append(replace(ex, record=record))
            changed.append(ex.index)
            total += counter[0]
        else:
            out.append(ex)
    return FixResult(out, changed, f"Redacted {total} item(s) of personal data or secrets in {len(changed)} example(s).")
