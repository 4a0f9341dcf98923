"""Garbled characters inside the text: mojibake and invisible control characters.

Mojibake is UTF-8 text that was once decoded in a legacy code page and saved again
(``doesnâ€™t`` for ``doesn’t``, ``cafÃ©`` for ``café``): the file itself is valid UTF-8,
so only the text shows it.  ftfy, the library made for exactly this, decides whether a
text is mojibake and undoes it; a finding is raised only when ftfy can repair the text,
so a warning always comes with a working fix.  Control characters (``\\x02`` from an
Excel ``_x0002_`` escape, a stray ``\\x1b``) are invisible in the grid, break some
tokenizers' and providers' parsers, and are removed by the same fix.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..model import Example, Finding, finding

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, line feed, carriage return are text
# A cheap first look (ftfy's own test costs ~0.1 ms per message, 10 s per 100,000): UTF-8
# read as a legacy code page always leaves a lead byte's character followed by a
# continuation byte's character (0x80-0xBF): Ã© â€™ Â£ (Latin-1 / cp1252), Ð¿ Рї (Cyrillic
# via Latin-1 / cp1251), √© ‚Äô (Mac Roman).  Only text with such a pair goes to ftfy.
_CONT = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022"
    "\u2026\u2030\u2039\u203a\u20ac\u2122\u0401-\u040f\u0451-\u045f\u0490\u0491"
)
_SUSPECT = re.compile(f"[\u00c2-\u00f4\u0420\u0421][{_CONT}]|[\u221a\u00ac\u2248\u201a\u2206\u0192][^\x00-\x7f]")


_PRINTABLE = bytes(range(0x20, 0x7F))  # the printable ASCII characters
_TEXT = _PRINTABLE + b"\t\n\r"
TEXT_BYTES = _TEXT  # the ASCII characters that are not controls (for validators.checking.plain_text)


def printable(text: str) -> bool:
    """``text.isprintable()``, four times faster for ASCII text: ``isprintable`` looks
    every character up in the Unicode tables (9 ns each, a second per 100,000 examples),
    while in ASCII the printable characters are exactly 0x20-0x7E, which one
    ``bytes.translate`` deletes at memory speed; whatever is left is not printable."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE)
    return text.isprintable()


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character of ``_CONTROL``; ``_CONTROL.search`` tries every
    character (8 ns each, 0.2 s per 100,000 messages).  In ASCII the characters that are
    neither printable nor tab, line feed or carriage return are exactly those controls, so
    deleting the others with ``bytes.translate`` leaves something if and only if one is
    there; other text that is printable holds none."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _TEXT))
    if text.isprintable():
        return False
    return _CONTROL.search(text) is not None


def repair(text: str) -> str:
    """``text`` with mojibake undone and control characters removed (unchanged when clean)."""
    if text.isascii() and not has_control(text):
        return text
    fixed = _fix_encoding(text) if _suspect(text) else text
    return _CONTROL.sub("", fixed)


def _suspect(text: str) -> bool:
    if text.isascii() or _SUSPECT.search(text) is None:
        return False
    from ftfy.badness import is_bad  # imported here: 0.3 s of every start, needed only for suspect text

    return is_bad(text)


def _fix_encoding(text: str) -> str:
    import ftfy

    return ftfy.fix_encoding(text)


def problems(text: str) -> tuple[str | None, bool]:
    """(the repaired text when ``text`` is mojibake ftfy can undo, whether it holds control characters)."""
    if text.isascii():
        return None, has_control(text)
    fixed = _fix_encoding(text) if _suspect(text) else text
    return (fixed if fixed != text else None), has_control(text)


def check(ex: Example, msgs: list[Any], names: dict[int, str] | None = None) -> list[Finding]:
    """A ``mojibake`` and a ``control_characters`` warning per affected message.

    ``names`` (message number → what the user calls that text, e.g. the column ``answer``)
    lets the sentence name the user's own column instead of the JSON key."""
    out: list[Finding] = []
    for i, m in enumerate(msgs, 1):
        content = m.get("content") if isinstance(m, dict) else None
        if not isinstance(content, str):
            continue
        fixed, control = problems(content)
        what = (names or {}).get(i) or f"the {m.get('role')} message"
        if fixed is not None:
            before, after = _first_difference(content, fixed)
            out.append(finding("warning", "mojibake", f"{what} holds garbled characters ({before!r} where {after!r} was meant): "
                               "the text was once read with the wrong encoding. Use the fix 'Repair garbled characters'.", ex, i, "content"))
        if control:
            code = _CONTROL.search(content).group()  # type: ignore[union-attr]
            out.append(finding("warning", "control_characters", f"{what} holds an invisible control character (U+{ord(code):04X}). "
                               "Use the fix 'Repair garbled characters' to remove it.", ex, i, "content"))
    return out


def _first_difference(text: str, fixed: str) -> tuple[str, str]:
    """The first garbled stretch and its repair, for the message."""
    start = next((i for i, (a, b) in enumerate(zip(text, fixed)) if a != b), 0)
    window = slice(start, start + 40)
    matcher = difflib.SequenceMatcher(None, text[window], fixed[window], autojunk=False)
    op = next((o for o in matcher.get_opcodes() if o[0] != "equal"), ("replace", 0, 1, 0, 1))
    return text[window][op[1]:op[2]][:12], fixed[window][op[3]:op[4]][:6]
