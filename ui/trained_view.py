"""What is trained: one example through the chat template, loss-carrying tokens highlighted.

The view is HTML because colour per token needs it, so it follows ui/safe.py's rule in the
only way HTML can: every piece of text (the user's, and the template's) goes through
``html.escape`` and sits inside a fixed ``<span class=…>`` of our own; no attribute, tag or
style comes from the data.  :func:`to_html` is pure (tested without a browser).
"""

from __future__ import annotations

import html
from typing import Any

MAX_TOKENS = 3000  # a preview, not the whole of a 100k-token example

STYLE = (
    "<style>"
    ".ftp-tt{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:0.85rem;line-height:1.7;"
    "white-space:pre-wrap;word-break:break-word;padding:0.6rem 0.8rem;border:1px solid #d0d4dc;border-radius:0.4rem;background:#fafbfc}"
    ".ftp-tt .n{color:#9aa0a6}"
    ".ftp-tt .t{background:#c8f0d0;color:#0b3d17;border-bottom:2px solid #2e9e4f;border-radius:2px}"
    ".ftp-tt .t:nth-child(even){background:#b1e7be}"
    ".ftp-tt .s{font-weight:600}"
    ".ftp-legend{font-size:0.8rem;margin:0.2rem 0 0.4rem 0}"
    ".ftp-legend .t{background:#c8f0d0;color:#0b3d17;border-bottom:2px solid #2e9e4f;padding:0 0.3rem}"
    ".ftp-legend .n{color:#9aa0a6;padding:0 0.3rem;border:1px dashed #c0c4cc}"
    "</style>"
)


def _shown(piece: str) -> str:
    """A token's text made visible: each newline shows as ↵, then the line breaks once."""
    return piece.replace("\n", "↵") + "\n" if "\n" in piece else piece


def to_html(pieces: list[str], trained: list[bool], special: set[str] | frozenset[str] = frozenset()) -> str:
    """The highlighted view.  Untrained runs are merged into one grey span; each trained token
    is its own span (alternating shades show where one token ends)."""
    parts: list[str] = []
    grey: list[str] = []

    def flush() -> None:
        if grey:
            parts.append('<span class="n">' + html.escape("".join(grey)) + "</span>")
            grey.clear()

    for piece, on in zip(pieces[:MAX_TOKENS], trained[:MAX_TOKENS]):
        text = _shown(piece)
        if on:
            flush()
            cls = "t s" if piece in special else "t"
            parts.append(f'<span class="{cls}">' + html.escape(text) + "</span>")
        else:
            grey.append(text)
    flush()
    more = len(pieces) - MAX_TOKENS
    tail = f'<span class="n">\n… {more:,} more token(s) not shown</span>' if more > 0 else ""
    legend = ('<div class="ftp-legend"><span class="t">trained (carries the loss)</span> '
              '<span class="n">not trained (prompt, template, weight 0)</span></div>')
    return STYLE + legend + '<div class="ftp-tt">' + "".join(parts) + tail + "</div>"


def summary(rendered: Any) -> str:
    """One plain sentence: how many of the example's tokens are trained."""
    n, t = len(rendered.ids), int(sum(rendered.trained))
    share = f" ({t / n:.0%})" if n else ""
    return f"{t:,} of {n:,} tokens carry the loss{share}."
