"""``json.dumps(data, ensure_ascii=False, indent=1)``, written by orjson where that gives the same text.

The check's answer at 100,000 examples is 2.4 MB of JSON (150,000 lines of findings);
the standard encoder takes 0.07 s to write it, on one core after the forked work has
joined, so it is all on the critical path.  orjson writes the same text in 0.004 s but
indents by two spaces, not one, and words a few values its own way.  So:

* the data is walked first (0.013 s): only dicts with text keys, lists, tuples, text,
  whole numbers, booleans, None and floats that orjson spells as ``repr`` does
  (``1e-07`` in Python, ``1e-7`` in orjson; NaN and infinities are null in orjson) go
  to orjson; anything else, or anything orjson refuses (lone surrogates, integers past
  64 bits), is written by ``json.dumps`` as before;
* the indent is halved: in orjson's output every line starts with two spaces a level
  and nothing else in it puts two spaces in a row but a text that holds them (after
  ``:`` or ``,`` comes one space or a line break).  The walk notes such texts; without
  one, replacing every pair of spaces by one halves the indent in one pass.  With one,
  the line starts are rewritten level by level (a line break inside a text is written
  ``\\n``, so a raw line break is always followed by indentation), deepest first through
  a placeholder byte that JSON text never holds raw (NUL is written ``\\u0000``).

Text escaping is the same in both with ``ensure_ascii=False``: ``"``, ``\\`` and the
characters below U+0020 are escaped (``\\n``, ``\\u001b``), everything else is written as
it is.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(data: Any) -> str:
    """The text ``json.dumps(data, ensure_ascii=False, indent=1)`` gives."""
    plain = _plain(data)
    if plain is not None:
        try:
            out = orjson.dumps(data, option=orjson.OPT_INDENT_2)
        except orjson.JSONEncodeError:
            return json.dumps(data, ensure_ascii=False, indent=1)
        # With no doubled space in any text, every pair of spaces is indentation: one pass.
        return (_halve_indent(out) if plain else out.replace(b"  ", b" ")).decode()
    return json.dumps(data, ensure_ascii=False, indent=1)


def _plain(data: Any) -> bool | None:
    """None unless every value in ``data`` is one orjson writes exactly as ``json.dumps``
    does; else whether some text (key or value) holds two spaces in a row (an iterative
    walk: no recursion limit, no generator per container)."""
    stack = [data]
    pop, push = stack.pop, stack.extend
    spaced = False
    while stack:
        x = pop()
        t = type(x)
        if t is str:
            spaced = spaced or "  " in x
        elif t is dict:
            for k in x:
                if type(k) is not str:
                    return None
                spaced = spaced or "  " in k
            push(x.values())
        elif t is list or t is tuple:
            push(x)
        elif t is float:
            if orjson.dumps(x) != repr(x).encode():
                return None
        elif t is not int and t is not bool and x is not None:
            return None
    return spaced


def _halve_indent(out: bytes) -> bytes:
    """Two spaces a level at the start of each line become one."""
    depth = 0
    while b"\n" + b"  " * (depth + 1) in out:
        depth += 1
    for d in range(depth, 0, -1):  # deepest first: a shallower pattern is a prefix of a deeper line's
        out = out.replace(b"\n" + b"  " * d, b"\n" + b"\0" * d)
    return out.replace(b"\0", b" ") if depth else out
