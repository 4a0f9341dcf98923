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

import ftfy
from ftfy.badness import is_bad

from .model import Example, Finding, finding

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, line feed, carriage return are text


def repair(text: str) -> str:
    """``text`` with mojibake undone and control characters removed (unchanged when clean)."""
    if text.isascii() and not _CONTROL.search(text):
        return text
    fixed = ftfy.fix_encoding(text) if not text.isascii() and is_bad(text) else text
    return _CONTROL.sub("", fixed)


def problems(text: str) -> tuple[str | None, bool]:
    """(the repaired text when ``text`` is mojibake ftfy can undo, whether it holds control characters)."""
    if text.isascii():
        return None, bool(_CONTROL.search(text))
    fixed = ftfy.fix_encoding(text) if is_bad(text) else text
    return (fixed if fixed != text else None), bool(_CONTROL.search(text))


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
